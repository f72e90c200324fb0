"""The one lookup evaluator of llmnas: an architecture's metrics are a row of a measured table.

It imports no search space (only their interface, for typing), so the spaces that own tables
(``spaces/tables``) and the user-table evaluator (``evaluators/table.py``) can both build on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError, DataError
from ..types import Arch
from .base import Evaluator, Result

if TYPE_CHECKING:
    from ..spaces.base import SearchSpace


class RowTableEvaluator(Evaluator):
    """Looks an architecture up in a table of measured rows: the one lookup evaluator of llmnas.

    A subclass reads its table and fills ``_rows`` (option indices -> row), ``_metrics`` (numeric
    column -> value per row), ``_signal`` / ``_report`` (the columns the search sees and tables
    show), ``_costs`` (the columns constraints may name) and ``_table`` (the table's name for
    errors). Used by user CSV tables (:class:`TableEvaluator`) and the packaged benchmark tables
    (:class:`~llmnas.spaces.tables.tables.BenchTableEvaluator`)."""

    lookup = True
    space: "SearchSpace"
    _rows: dict[tuple[int, ...], int]
    _metrics: dict[str, list[float]]
    _signal: list[float]
    _report: list[float]
    _costs: list[str]
    _table: str

    def _row(self, arch: Arch) -> int:
        try:
            return self._rows[self.space.to_indices(arch)]
        except KeyError:
            raise DataError(f"architecture {self.space.to_ncode(arch)} is not in {self._table}") from None

    def evaluate(self, arch: Arch) -> Result:
        r = self._row(arch)
        return Result(self._signal[r], self._report[r], {c: v[r] for c, v in self._metrics.items()})

    def cost_metrics(self) -> list[str]:
        return list(self._costs)

    def measure(self, arch: Arch, metric: str) -> float:
        if metric not in self._costs:
            raise ConfigError(self.unknown_metric(metric))
        return self._metrics[metric][self._row(arch)]
