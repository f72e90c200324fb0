"""Worker processes on this machine (``--executor process``), on ``concurrent.futures``.

Each of the ``workers`` slots is a one-process :class:`~concurrent.futures.ProcessPoolExecutor`
(spawn start method), so when a worker dies the executor knows exactly which job it was
running: that job is re-queued (up to ``max_requeues`` times) and only that slot restarts.
Workers rebuild the evaluator from the run config and exit when the driver dies.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import time
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from . import worker as W
from .base import EvalJob, EvalOutcome, Executor, ExecutorError, requeue_or_fail


class _Slot:
    def __init__(self, index: int, env: dict[str, str]) -> None:
        self.index, self.env = index, env
        self.pool: ProcessPoolExecutor | None = None

    def ensure(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=W.init_process_worker, initargs=(os.getpid(), self.env))
        return self.pool

    def kill(self) -> None:
        """Stop this slot's worker now (its job then ends with BrokenProcessPool)."""
        for p in (getattr(self.pool, "_processes", None) or {}).values():
            if p.is_alive():
                p.kill()

    def exit_text(self) -> str:
        """How this slot's process ended (read before the pool is dropped)."""
        procs = list(getattr(self.pool, "_processes", None) or {})
        codes = []
        for p in (getattr(self.pool, "_processes", None) or {}).values():
            p.join(timeout=1)
            codes.append(p.exitcode)
        code = codes[0] if codes else None
        if code is None:
            return f"worker process {procs[0] if procs else '?'} vanished"
        if code < 0:
            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = str(-code)
            return f"worker process killed by {name}"
        return f"worker process exited with code {code}"

    def drop(self, kill: bool = False) -> None:
        if self.pool is not None:
            if kill:
                for p in (getattr(self.pool, "_processes", None) or {}).values():
                    if p.is_alive():
                        p.kill()
            self.pool.shutdown(wait=False, cancel_futures=True)  # idle workers exit on their own
            self.pool = None


class ProcessExecutor(Executor):
    kind = "process"

    def __init__(self, spec: str, workers: int, max_requeues: int, *, timeout_s: float | None = None,
                 gpu_ids: list[int] | None = None) -> None:
        if workers < 1:
            raise ExecutorError("executor.workers must be at least 1")
        self.spec, self.workers, self.max_requeues, self.timeout_s = spec, workers, max_requeues, timeout_s
        self.gpu_ids = list(gpu_ids or [])
        envs = [{"CUDA_VISIBLE_DEVICES": str(self.gpu_ids[i % len(self.gpu_ids)])} if self.gpu_ids else {}
                for i in range(workers)]
        self.slots = [_Slot(i, envs[i]) for i in range(workers)]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers, "gpu_ids": self.gpu_ids or None}

    def start(self) -> None:
        if all(slot.pool is not None for slot in self.slots):
            return
        futures = [slot.ensure().submit(W.warm, self.spec) for slot in self.slots]
        for fut in futures:
            try:
                check_setup(fut.result())
            except BrokenProcessPool:
                pass  # a worker that dies here is replaced when a job needs it

    def run(self, jobs: list[EvalJob]) -> Iterator[EvalOutcome]:
        queue = deque(jobs)
        lost: dict[int, list[str]] = {}
        running: dict[Future, tuple[_Slot, EvalJob]] = {}
        started: dict[Future, float] = {}
        timed_out: set[Future] = set()
        free = list(self.slots)
        try:
            while queue or running:
                while queue and free:
                    slot, job = free.pop(0), queue.popleft()
                    fresh = slot.pool is None
                    pool = slot.ensure()
                    warm = pool.submit(W.warm, self.spec) if fresh and self.timeout_s is not None else None
                    fut = pool.submit(W.evaluate, self.spec, job.arch)
                    running[fut] = (slot, job)
                    if warm is None:
                        started[fut] = time.monotonic()
                    else:  # the clock starts once a new worker is up and has built the evaluator
                        started[fut] = float("inf")
                        warm.add_done_callback(lambda _w, f=fut: started.__setitem__(f, time.monotonic()) if f in started else None)
                done, _ = wait(list(running), timeout=self._next_deadline(started, timed_out), return_when=FIRST_COMPLETED)
                if not done:  # an evaluation ran past eval_timeout_s: stop its worker
                    now = time.monotonic()
                    for fut, t0 in list(started.items()):
                        if fut not in timed_out and self.timeout_s is not None and now - t0 >= self.timeout_s:
                            timed_out.add(fut)
                            running[fut][0].kill()
                    continue
                for fut in sorted(done, key=lambda f: running[f][1].seq):
                    slot, job = running.pop(fut)
                    started.pop(fut, None)
                    try:
                        reply = fut.result()
                    except BrokenProcessPool:
                        why = (f"no result within eval_timeout_s={self.timeout_s:g} s (worker stopped)"
                               if fut in timed_out else slot.exit_text())
                        timed_out.discard(fut)
                        slot.drop()
                        free.append(slot)
                        failed = requeue_or_fail(job, why, lost, queue, self.max_requeues)
                        if failed is not None:
                            yield failed
                        continue
                    free.append(slot)
                    yield outcome_from_reply(job, reply, lost.get(job.seq, []))
        except BaseException:
            self.close(kill=True)
            raise

    def _next_deadline(self, started: dict[Future, float], timed_out: set[Future]) -> float | None:
        """Seconds until the next evaluation reaches eval_timeout_s (None: wait for a result)."""
        if self.timeout_s is None:
            return None
        pending = [t0 for f, t0 in list(started.items()) if f not in timed_out]
        if not pending:
            return None
        if any(t0 == float("inf") for t0 in pending):  # a worker is still starting: look again soon
            return 0.25
        return max(0.0, min(pending) + self.timeout_s - time.monotonic()) + 0.01

    def close(self, kill: bool = False) -> None:
        for s in self.slots:
            s.drop(kill=kill)


def check_setup(reply: dict[str, Any]) -> None:
    """A worker that cannot build the evaluator stops the run with one clear error."""
    if "setup_error" in reply:
        raise ExecutorError(f"a worker ({reply.get('worker', '?')}) cannot build the evaluator: {reply['setup_error']}; "
                            "the workers need the same files and packages as this process")


def outcome_from_reply(job: EvalJob, reply: dict[str, Any], lost: list[str]) -> EvalOutcome:
    """Turn a worker's reply dict into an outcome; a setup error stops the run."""
    check_setup(reply)
    common = dict(eval_seconds=float(reply.get("eval_seconds", 0.0)), attempts=len(lost) + 1,
                  worker=str(reply.get("worker", "")), lost_workers=list(lost))
    if "error" in reply:
        return EvalOutcome(job.seq, error=str(reply["error"]), **common)
    return EvalOutcome(job.seq, float(reply["signal"]), float(reply["report"]), dict(reply["metrics"]), **common)
