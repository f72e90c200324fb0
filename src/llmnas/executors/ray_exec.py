"""Ray tasks (``--executor ray``): a local Ray instance, or a cluster with ``--ray-address``.

Ray is imported only here, only when this executor is built. Each evaluation is one Ray task
asking for ``num_cpus`` / ``num_gpus``; Ray's own retries are off (``max_retries=0``) because
this executor re-queues a job whose worker died itself, bounded by ``max_requeues``, so the
reason of every lost attempt is recorded. An exception in the evaluator is not a lost worker:
it comes back as a ``failed`` outcome and is never retried.
"""

from __future__ import annotations

import math
import time
from collections import deque
from typing import Any, Iterator

from . import worker as W
from .base import EvalJob, EvalOutcome, Executor, ExecutorError, requeue_or_fail, usable_cores
from .process import check_setup, outcome_from_reply

INSTALL_HINT = "pip install 'llmnas[ray]'"


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ExecutorError(f"--executor ray needs the ray package, which is not installed: {INSTALL_HINT} "
                            "(or run/resume with --executor process or local)") from None
    return ray


class RayExecutor(Executor):
    kind = "ray"

    def __init__(self, spec: str, *, address: str | None, workers: int | None, num_cpus: float, num_gpus: float,
                 max_requeues: int, object_store_mb: int | None = None, timeout_s: float | None = None) -> None:
        self.ray = import_ray()
        self.spec, self.address, self.workers = spec, address, workers
        self.num_cpus, self.num_gpus, self.max_requeues = num_cpus, num_gpus, max_requeues
        self.object_store_mb, self.timeout_s = object_store_mb, timeout_s
        self._own = False
        self._fn: Any = None
        self._spec_ref: Any = None

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "address": self.address or "local", "workers": self.workers,
                "num_cpus": self.num_cpus, "num_gpus": self.num_gpus}

    def _start(self) -> None:
        ray = self.ray
        if self._fn is not None:
            return
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": "ERROR", "log_to_driver": False,
                                      "configure_logging": True}
            if self.address:
                _probe(self.address)
                kwargs["address"] = self.address
            else:
                slots = self.workers if self.workers is not None else usable_cores()
                kwargs["num_cpus"] = max(1, math.ceil(slots * self.num_cpus)) if self.num_cpus > 0 else slots
                kwargs["object_store_memory"] = (self.object_store_mb or 100) * 1024 * 1024
            try:
                ray.init(**kwargs)
            except Exception as exc:  # connection refused, bad address, ...
                where = self.address or "a local Ray instance"
                raise ExecutorError(f"cannot start or reach {where} ({type(exc).__name__}: "
                                    f"{str(exc).splitlines()[0][:300] if str(exc) else ''}); check --ray-address "
                                    "(e.g. ray://HOST:10001 or auto) or run without it to start a local instance") from None
            self._own = True
        self._warm = ray.remote(W.warm).options(max_retries=0, num_cpus=self.num_cpus, num_gpus=self.num_gpus)
        self._fn = ray.remote(W.evaluate).options(max_retries=0, retry_exceptions=False,
                                                  num_cpus=self.num_cpus, num_gpus=self.num_gpus)
        self._spec_ref = ray.put(self.spec)

    def start(self) -> None:
        if self._fn is not None:
            return
        self._start()
        n = self.workers or int(self.ray.available_resources().get("CPU", 1) // max(self.num_cpus, 1e-9)) or 1
        for reply in self.ray.get([self._warm.remote(self._spec_ref, 0.5) for _ in range(min(n, 64))]):
            check_setup(reply)

    def run(self, jobs: list[EvalJob]) -> Iterator[EvalOutcome]:
        self._start()
        ray = self.ray
        queue = deque(jobs)
        lost: dict[int, list[str]] = {}
        running: dict[Any, EvalJob] = {}
        started: dict[Any, float] = {}
        timed_out: set[Any] = set()
        limit = self.workers or len(jobs) or 1
        try:
            while queue or running:
                while queue and len(running) < limit:
                    job = queue.popleft()
                    ref = self._fn.remote(self._spec_ref, job.arch)
                    running[ref], started[ref] = job, time.monotonic()
                done, _ = ray.wait(list(running), num_returns=1, timeout=self._next_deadline(started, timed_out))
                if not done:  # an evaluation ran past eval_timeout_s: stop it (and its worker)
                    now = time.monotonic()
                    for ref, t0 in started.items():
                        if ref not in timed_out and self.timeout_s is not None and now - t0 >= self.timeout_s:
                            timed_out.add(ref)
                            ray.cancel(ref, force=True)
                    continue
                for ref in done:
                    job = running.pop(ref)
                    started.pop(ref, None)
                    try:
                        reply = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        if ref in timed_out:
                            why = f"no result within eval_timeout_s={self.timeout_s:g} s (task cancelled)"
                        elif isinstance(exc, ray.exceptions.RayTaskError) and not _is_worker_death(exc):
                            raise ExecutorError(f"a Ray task failed outside the evaluator: {str(exc).splitlines()[0][:300]}") from None
                        else:
                            why = f"{type(exc).__name__}: {_first_line(exc)}"
                        timed_out.discard(ref)
                        failed = requeue_or_fail(job, why, lost, queue, self.max_requeues)
                        if failed is not None:
                            yield failed
                        continue
                    yield outcome_from_reply(job, reply, lost.get(job.seq, []))
        except BaseException:
            for ref in running:
                try:
                    ray.cancel(ref, force=True)
                except Exception:
                    pass
            raise

    def _next_deadline(self, started: dict[Any, float], timed_out: set[Any]) -> float | None:
        if self.timeout_s is None:
            return None
        pending = [t0 for r, t0 in started.items() if r not in timed_out]
        if not pending:
            return None
        return max(0.0, min(pending) + self.timeout_s - time.monotonic()) + 0.01

    def close(self) -> None:
        if self._own and self.ray.is_initialized():
            self.ray.shutdown()
        self._own = False
        self._fn = None


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (instead of Ray's minutes of retries) when a ``host:port`` address does not answer."""
    import socket

    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return  # "auto", "local" or a name Ray resolves itself
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except OSError as exc:
        raise ExecutorError(f"cannot reach the Ray cluster at {address} ({exc.strerror or type(exc).__name__}); "
                            "start it (ray start --head) or fix --ray-address, or drop --ray-address to use a local "
                            "Ray instance") from None


def _is_worker_death(exc: BaseException) -> bool:
    """A task error whose cause is the worker exiting (``sys.exit``/``os._exit`` in user code)."""
    cause = getattr(exc, "cause", None)
    return isinstance(cause, (SystemExit, KeyboardInterrupt))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
