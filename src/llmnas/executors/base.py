"""The executor contract: where the evaluations of one batch of candidates run.

The runner classifies a batch (legality, dedup, constraints) in proposal order, then hands the
candidates that need an evaluation to an :class:`Executor` as :class:`EvalJob` s. The executor
yields one :class:`EvalOutcome` per job *as it finishes* (any order); the runner commits each
to the store the moment it arrives and tells the strategy in proposal order once the batch is
complete, so the same seed gives the same trials on every executor.

Three kinds (``executor.kind`` in the run config, ``--executor`` on the command line):

* ``local``: in this process, one at a time (the default);
* ``process``: a pool of spawned worker processes on this machine (``workers``);
* ``ray``: Ray tasks on a local Ray instance or a cluster (``ray_address``), each asking for
  ``num_cpus`` / ``num_gpus``.

Workers rebuild the evaluator from the run config (never from a pickled object), once per
worker process. An evaluator that raises gives a ``failed`` outcome with its message (never
re-queued: it would fail again); a worker that dies mid-evaluation gets its job re-queued up
to ``max_requeues`` times, then a ``failed`` outcome that says so.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterator

from ..errors import LlmnasError
from ..types import Arch


class ExecutorError(LlmnasError):
    """An executor that cannot start or whose workers cannot build the evaluator."""


@dataclass(frozen=True)
class EvalJob:
    """One evaluation to run: the trial's position in the run and its (encoded) arch."""

    seq: int
    arch: Arch


@dataclass
class EvalOutcome:
    """What came back for one job.

    Exactly one of ``metrics`` (with ``signal`` and ``report``) or ``error`` is set. ``attempts``
    counts how many times the job was started (more than 1 after a worker died).
    """

    seq: int
    signal: float | None = None
    report: float | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    error: str | None = None
    eval_seconds: float = 0.0
    attempts: int = 1
    worker: str = ""
    lost_workers: list[str] = field(default_factory=list)  # why earlier attempts were lost

    @property
    def ok(self) -> bool:
        return self.error is None


class Executor(ABC):
    """Runs batches of evaluations; see the module docstring."""

    kind: str = ""

    @abstractmethod
    def run(self, jobs: list[EvalJob]) -> Iterator[EvalOutcome]:
        """Evaluate ``jobs``; yield one outcome per job as each finishes (any order)."""

    def start(self) -> None:
        """Start the workers now and let each build the evaluator (otherwise the first batch
        does it); idempotent."""

    def close(self) -> None:
        """Stop workers and release resources (idempotent)."""

    def describe(self) -> dict[str, Any]:
        return {"kind": self.kind}

    def __enter__(self) -> "Executor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def usable_cores() -> int:
    """CPU cores this process may use."""
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def error_text(exc: BaseException) -> str:
    """The one-line reason a failed evaluation records."""
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]


def lost_text(reasons: list[str], limit: int) -> str:
    """The reason recorded for a job whose workers kept dying."""
    last = reasons[-1] if reasons else "unknown cause"
    return (f"the evaluation was lost {len(reasons)} time(s), its worker died or was stopped (last: {last}); "
            f"gave up after {limit} re-queue(s): check the evaluator's memory and time use, or raise "
            "executor.max_requeues / executor.eval_timeout_s")


def requeue_or_fail(job: EvalJob, why: str, lost: dict[int, list[str]], queue: Any, limit: int) -> EvalOutcome | None:
    """Record why ``job``'s worker was lost; re-queue it (None) or, past ``limit`` re-queues, the failed outcome."""
    reasons = lost.setdefault(job.seq, [])
    reasons.append(why)
    if len(reasons) <= limit:
        queue.appendleft(job)
        return None
    return EvalOutcome(job.seq, error=lost_text(reasons, limit), attempts=len(reasons), lost_workers=reasons)
