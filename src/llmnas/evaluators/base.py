"""The evaluator contract.

An :class:`Evaluator` owns its data (a table, supernet weights, a dataset) and what its numbers
mean. ``evaluate(arch)`` returns a :class:`Result` with

* ``signal``: the number the search sees (e.g. 200-epoch validation accuracy),
* ``report``: the number tables show (e.g. 200-epoch test accuracy),
* ``metrics``: every number worth keeping (accuracies, params, FLOPs, latency ...).

It declares ``signal_name``, ``report_name`` and ``higher_is_better``. Cheap cost metrics
(params, FLOPs, a device latency) are listed by ``cost_metrics()`` and measured without a full
evaluation by ``measure(arch, metric)``; only those can carry a :class:`~llmnas.constraints.Constraint`.
An evaluator never sees the strategy or the store.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ..types import Arch


@dataclass(frozen=True)
class Result:
    signal: float
    report: float
    metrics: dict[str, float] = field(default_factory=dict)


class Evaluator(ABC):
    signal_name: str = "signal"
    report_name: str = "report"
    higher_is_better: bool = True
    #: evaluate() is a free, side-effect-free lookup of measured figures (a benchmark table)
    lookup: bool = False

    @abstractmethod
    def evaluate(self, arch: Arch) -> Result:
        """Evaluate one legal arch."""

    def cost_metrics(self) -> list[str]:
        """Names of cheap metrics usable in constraints."""
        return []

    def measure(self, arch: Arch, metric: str) -> float:
        """A cheap cost metric of ``arch`` (no training or full lookup needed)."""
        raise ConfigError(self.unknown_metric(metric))

    def unknown_metric(self, metric: str) -> str:
        names = self.cost_metrics()
        shown = ", ".join(names[:8]) + (f", ... ({len(names)} in all)" if len(names) > 8 else "")
        from ..wording import did_you_mean

        return f"constraint on unknown metric {metric!r}{did_you_mean(metric, names)}; this evaluator measures: {shown or 'none'}"

    def describe(self) -> dict[str, Any]:
        """What to record about the evaluator in the run's config."""
        return {"signal": self.signal_name, "report": self.report_name, "higher_is_better": self.higher_is_better}

    def close(self) -> None:
        """Release resources (processes, files)."""
