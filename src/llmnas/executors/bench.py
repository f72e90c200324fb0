"""``llmnas bench-executors``: the same seeded search on several executors, wall time of each.

Every setup runs the identical search (same space, strategy, seed, budget and batch size) in
its own store under the output folder; the table reports each wall time, the speed-up over
the first setup measured in the same command, and whether the trials (proposal order, keys,
statuses, signals) are identical to the first setup's.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..errors import ConfigError
from .sleepy import SLEEP_ENV, write_space

KINDS = ("local", "process", "ray")


@dataclass(frozen=True)
class Setup:
    kind: str
    workers: int | None

    @property
    def label(self) -> str:
        return self.kind if self.workers is None else f"{self.kind} x{self.workers}"


def parse_setups(text: str) -> list[Setup]:
    """``local,ray:2,ray:4`` -> setups; ``process:N`` too."""
    out = []
    for item in [s.strip() for s in text.split(",") if s.strip()]:
        kind, _, n = item.partition(":")
        if kind not in KINDS:
            raise ConfigError(f"--executors {item!r}: unknown executor {kind!r} (choices: {', '.join(KINDS)})")
        if kind == "local":
            if n:
                raise ConfigError("--executors: local runs one evaluation at a time; write 'local' without :N")
            out.append(Setup("local", None))
            continue
        try:
            workers = int(n) if n else None
        except ValueError:
            raise ConfigError(f"--executors {item!r}: the worker count after ':' must be an integer") from None
        if workers is not None and workers < 1:
            raise ConfigError(f"--executors {item!r}: the worker count must be at least 1")
        out.append(Setup(kind, workers))
    if not out:
        raise ConfigError("--executors is empty; e.g. local,ray:2,ray:4")
    return out


def run_setups(setups: list[Setup], base: dict[str, Any], out: Path, sleep_s: float | None,
               on_trial: Callable[[str, int], None] | None = None) -> list[dict[str, Any]]:
    """Run the search of ``base`` once per setup; one row per setup."""
    from ..api import start
    from ..config import make_config
    from ..store import Store

    if sleep_s is not None:
        os.environ[SLEEP_ENV] = repr(float(sleep_s))  # inherited by worker processes and local Ray
    if "space" not in base:
        base = {**base, "space": str(write_space(out))}
    cfgs = []
    for s in setups:  # validate everything before the first run starts
        executor = {"kind": s.kind} if s.workers is None else {"kind": s.kind, "workers": s.workers}
        cfgs.append(make_config({**base, "executor": executor}))
    rows: list[dict[str, Any]] = []
    reference: list[tuple] | None = None
    for s, cfg in zip(setups, cfgs):
        path = out / f"{s.kind}-{s.workers or 1}.sqlite"
        for p in out.glob(path.name + "*"):
            p.unlink()
        cb = (lambda t, r, label=s.label: on_trial(label, r.history.n_evaluated)) if on_trial else None
        t0 = time.perf_counter()
        run = start(cfg, path, "bench", on_trial=cb)
        try:
            run.executor.start()
            t1 = time.perf_counter()
            summary = run.run()
        finally:
            run.executor.close()
            run.store.close()
        t2 = time.perf_counter()
        startup, search, wall = t1 - t0, t2 - t1, t2 - t0
        with Store(path, create=False) as st:
            trials = st.trials(st.get_study("bench").id)
        seen = [(t.seq, t.key, t.status, t.signal, t.source) for t in trials]
        reference = seen if reference is None else reference
        eval_s = sum(t.eval_seconds for t in trials)
        rows.append({"executor": s.label, "kind": s.kind, "workers": s.workers or 1, "evaluated": summary.n_evaluated,
                     "start_s": startup, "search_s": search, "wall_s": wall, "eval_s": eval_s, "best_signal": summary.best.signal if summary.best else None,
                     "same_trials": seen == reference, "store": str(path)})
    for r in rows:
        r["speedup_search"] = rows[0]["search_s"] / r["search_s"] if r["search_s"] > 0 else float("nan")
        r["speedup_wall"] = rows[0]["wall_s"] / r["wall_s"] if r["wall_s"] > 0 else float("nan")
    return rows
