"""Resource constraints on cheap cost metrics, and the run's over-budget policy.

A constraint is written ``METRIC OP BOUND``, e.g. ``flops_M <= 50`` or
``latency_ms[pixel3] <= 10`` (OP is one of ``<=``, ``<``, ``>=``, ``>``). It is measured before
the evaluation. What happens to a candidate that violates one is the run's ``over_budget`` policy:

* ``evaluate-but-not-eligible`` (default; CoLLM-NAS): evaluate it, tell the strategy its real
  score, count it in the budget, but never report it as the best;
* ``skip``: do not evaluate it; the strategy is told it was over budget (no score);
* ``penalize``: do not evaluate it; the strategy is told the ``penalty`` score (NNI's
  ``metric_for_invalid``).
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass
from typing import Callable

from .errors import ConfigError
from .evaluators.base import Evaluator
from .types import Arch

POLICIES = ("evaluate-but-not-eligible", "skip", "penalize")
_OPS: dict[str, Callable[[float, float], bool]] = {
    "<=": operator.le,
    "<": operator.lt,
    ">=": operator.ge,
    ">": operator.gt,
}
_RE = re.compile(r"^\s*([A-Za-z_][\w.]*(?:\[[^\]]+\])?)\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclass(frozen=True)
class Constraint:
    metric: str
    op: str
    bound: float

    @classmethod
    def parse(cls, text: str) -> "Constraint":
        m = _RE.match(text)
        if not m:
            raise ConfigError(
                f"cannot read constraint {text!r}; write METRIC OP NUMBER, e.g. 'flops_M <= 50' or 'latency_ms[pixel3] <= 10'"
            )
        try:
            bound = float(m.group(3))
        except ValueError:
            raise ConfigError(f"constraint {text!r}: {m.group(3)!r} is not a number") from None
        return cls(m.group(1), m.group(2), bound)

    def holds(self, value: float) -> bool:
        return _OPS[self.op](value, self.bound)

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound:g}"


class ConstraintSet:
    """All constraints of a run, bound to the evaluator that measures them."""

    def __init__(self, constraints: list[Constraint], evaluator: Evaluator) -> None:
        known = set(evaluator.cost_metrics())
        for c in constraints:
            if c.metric not in known:
                raise ConfigError(evaluator.unknown_metric(c.metric))
        self.constraints = constraints
        self.evaluator = evaluator

    def __bool__(self) -> bool:
        return bool(self.constraints)

    def check(self, arch: Arch) -> tuple[bool, dict[str, float], str]:
        """(all hold, measured values, reason naming the first violated constraint)."""
        values: dict[str, float] = {}
        reason = ""
        for c in self.constraints:
            v = self.evaluator.measure(arch, c.metric)
            values[c.metric] = v
            if not reason and not c.holds(v):
                reason = f"{c.metric} = {v:g} violates {c}"
        return (not reason, values, reason)
