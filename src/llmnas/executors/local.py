"""The in-process executor: evaluations one at a time, in proposal order."""

from __future__ import annotations

import os
import time
from typing import Iterator

from ..evaluators.base import Evaluator
from .base import EvalJob, EvalOutcome, Executor, error_text


class LocalExecutor(Executor):
    kind = "local"

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.worker = f"local:{os.getpid()}"

    def run(self, jobs: list[EvalJob]) -> Iterator[EvalOutcome]:
        for job in jobs:
            t0 = time.perf_counter()
            try:
                res = self.evaluator.evaluate(job.arch)
            except (KeyboardInterrupt, SystemExit):
                raise
            except Exception as exc:  # a user's evaluator may raise anything: record it, go on
                yield EvalOutcome(job.seq, error=error_text(exc), eval_seconds=time.perf_counter() - t0,
                                  worker=self.worker)
                continue
            yield EvalOutcome(job.seq, float(res.signal), float(res.report), dict(res.metrics),
                              eval_seconds=time.perf_counter() - t0, worker=self.worker)
