"""Plain data passed between strategies, the runner and the store (JSON-able)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Dict

#: An architecture: decision name -> chosen option (JSON scalars).
Arch = Dict[str, Any]

#: Trial statuses. Only ``ok`` trials were evaluated and count towards the budget.
OK = "ok"
DUPLICATE = "duplicate"  # same canonical key as an earlier trial: free, never re-evaluated
ILLEGAL = "illegal"  # not a member of the space; ``reason`` says why
OVER_BUDGET = "over_budget"  # violates a constraint and was not evaluated (policy skip/penalize)
FAILED = "failed"  # the evaluator raised; ``reason`` holds the message
PENDING = "pending"  # proposed, not finished yet (only ever seen in the store)
STATUSES = (OK, DUPLICATE, ILLEGAL, OVER_BUDGET, FAILED, PENDING)


@dataclass
class Proposal:
    """One candidate a strategy asks the runner to consider."""

    arch: Arch
    source: str = ""  # who produced it, e.g. "random", "mutation", "generator#3"
    note: str = ""
    meta: Dict[str, Any] = field(default_factory=dict)


@dataclass
class Trial:
    """What happened to one proposal.

    ``score`` is the search signal oriented so that higher is better; strategies read it.
    ``feasible`` is False when the arch violates a constraint; such a trial is never reported
    as the best. For a duplicate, the metrics are those of the earlier trial with the same key.
    """

    seq: int  # position in the run's proposal order (0-based)
    round: int  # the ask() call that produced it
    arch: Arch
    key: str
    status: str
    source: str = ""
    note: str = ""
    reason: str = ""
    number: int | None = None  # 0-based index among evaluated trials (the budget counter)
    signal: float | None = None
    score: float | None = None
    report: float | None = None
    metrics: Dict[str, float] = field(default_factory=dict)
    feasible: bool = True
    eval_seconds: float = 0.0
    meta: Dict[str, Any] = field(default_factory=dict)

    @property
    def evaluated(self) -> bool:
        return self.status == OK

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)
