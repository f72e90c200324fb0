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
from collections import deque
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Iterator

from . import worker as W
from .base import EvalJob, EvalOutcome, Executor, ExecutorError, lost_text


class _Slot:
    def __init__(self, index: int) -> None:
        self.index = index
        self.pool: ProcessPoolExecutor | None = None

    def ensure(self) -> ProcessPoolExecutor:
        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"),
                                            initializer=W.init_process_worker, initargs=(os.getpid(),))
        return self.pool

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
            self.pool.shutdown(wait=not kill, cancel_futures=True)
            self.pool = None


class ProcessExecutor(Executor):
    kind = "process"

    def __init__(self, spec: str, workers: int, max_requeues: int) -> None:
        if workers < 1:
            raise ExecutorError("executor.workers must be at least 1")
        self.spec, self.workers, self.max_requeues = spec, workers, max_requeues
        self.slots = [_Slot(i) for i in range(workers)]

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind, "workers": self.workers}

    def start(self) -> None:
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
        free = list(self.slots)
        try:
            while queue or running:
                while queue and free:
                    slot, job = free.pop(0), queue.popleft()
                    fut = slot.ensure().submit(W.evaluate, self.spec, job.arch)
                    running[fut] = (slot, job)
                done, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for fut in sorted(done, key=lambda f: running[f][1].seq):
                    slot, job = running.pop(fut)
                    try:
                        reply = fut.result()
                    except BrokenProcessPool:
                        why = slot.exit_text()
                        slot.drop()
                        free.append(slot)
                        reasons = lost.setdefault(job.seq, [])
                        reasons.append(why)
                        if len(reasons) <= self.max_requeues:
                            queue.appendleft(job)
                        else:
                            yield EvalOutcome(job.seq, error=lost_text(reasons, self.max_requeues),
                                              attempts=len(reasons), lost_workers=reasons)
                        continue
                    free.append(slot)
                    yield outcome_from_reply(job, reply, lost.get(job.seq, []))
        except BaseException:
            self.close(kill=True)
            raise

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
