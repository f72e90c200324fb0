"""What runs inside a worker process (spawned or Ray): rebuild the evaluator, evaluate one arch.

The evaluator comes from the run config (a JSON string), built once per worker process and
cached, so nothing but plain JSON data ever travels to a worker: no pickled evaluator, no
user object. The reply is a plain dict as well.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any

from .base import error_text

_CACHE: dict[str, Any] = {}
_SPACE_DIRS: set[str] = set()  # folders of the YAML spaces this worker has loaded


def worker_spec(cfg_data: dict[str, Any], cwd: str | None = None) -> str:
    """The JSON a worker needs to rebuild the evaluator: the run config (space paths made
    absolute) plus the driver's working directory and import path."""
    from pathlib import Path

    data = dict(cfg_data)
    data.pop("resolved", None)
    space = str(data.get("space", ""))
    if space.endswith((".yaml", ".yml")):
        data["space"] = str(Path(space).resolve())
    return json.dumps({"config": data, "cwd": cwd or os.getcwd(),
                       "sys_path": [p for p in sys.path if p]}, sort_keys=True)


def _evaluator(spec: str) -> Any:
    ev = _CACHE.get(spec)
    if ev is None:
        from ..config import make_config
        from ..spaces.registry import build_problem

        data = json.loads(spec)
        space = str(data["config"].get("space", ""))
        if space.endswith((".yaml", ".yml")):
            _SPACE_DIRS.add(os.path.dirname(space))
        _forget_space_modules()  # a reused worker (Ray) re-imports the evaluator module of this run
        driver_path = [p for p in data["sys_path"] if p]
        sys.path[:] = driver_path + [p for p in sys.path if p not in driver_path]  # the driver's order first
        if os.path.isdir(data["cwd"]):
            os.chdir(data["cwd"])
        cfg = make_config(data["config"], where="run config in the worker")
        ev = build_problem(cfg).evaluator
        _CACHE.clear()  # one run per worker at a time
        _CACHE[spec] = ev
    return ev


def _forget_space_modules() -> None:
    """Drop modules imported from a YAML space's folder, so a worker that served another run
    (or an older version of the file) imports the evaluator module of this run afresh."""
    for name, mod in list(sys.modules.items()):
        path = getattr(mod, "__file__", None)
        if path and os.path.dirname(os.path.abspath(path)) in _SPACE_DIRS:
            del sys.modules[name]


def evaluate(spec: str, arch: dict[str, Any]) -> dict[str, Any]:
    """Evaluate ``arch``; returns ``{"ok": ...}``, ``{"error": ...}`` or ``{"setup_error": ...}``."""
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        ev = _evaluator(spec)
    except Exception as exc:  # the worker cannot build the evaluator: the run must stop
        return {"setup_error": error_text(exc), "worker": worker}
    t0 = time.perf_counter()
    try:
        res = ev.evaluate(arch)
        out = {"ok": True, "signal": float(res.signal), "report": float(res.report),
               "metrics": {str(k): float(v) for k, v in res.metrics.items()}}
    except Exception as exc:  # a user's evaluator may raise anything: record it
        out = {"error": error_text(exc)}
    out["eval_seconds"] = time.perf_counter() - t0
    out["worker"] = worker
    return out


def warm(spec: str, hold_s: float = 0.0) -> dict[str, Any]:
    """Build (and cache) the evaluator in this worker; the reply says whether that worked.
    ``hold_s`` keeps the worker busy a moment so that parallel warm-ups land on distinct workers."""
    worker = f"{os.uname().nodename}:{os.getpid()}"
    try:
        _evaluator(spec)
    except Exception as exc:
        return {"setup_error": error_text(exc), "worker": worker}
    time.sleep(hold_s)
    return {"worker": worker}


def init_process_worker(parent_pid: int, env: dict[str, str] | None = None) -> None:
    """Initializer of spawned workers: set the slot's environment (e.g. its GPU) before anything
    imports CUDA, and exit when the driver is gone (e.g. SIGKILLed), so no orphan keeps evaluating."""
    os.environ.update(env or {})

    def watch() -> None:
        while True:
            time.sleep(0.5)
            if os.getppid() != parent_pid:
                os._exit(3)

    threading.Thread(target=watch, name="llmnas-parent-watch", daemon=True).start()
