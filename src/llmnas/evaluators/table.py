"""Lookup-table evaluator for user benchmarks: a CSV/CSV.gz with one row per architecture.

Decision columns carry the option values (matched loosely, so ``3`` and ``"3"`` agree); metric
columns carry numbers. The user names the ``signal`` column (what the search sees) and the
``report`` column (what tables show); other numeric columns are kept as metrics and may be
named as ``costs`` for constraints. Architectures absent from the table are not part of the
space (the space is restricted to the table's rows).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from ..errors import ConfigError, DataError
from ..spaces.base import SearchSpace, _norm
from .rows import RowTableEvaluator


MAX_TABLE_ROWS = 5_000_000  # rows read at most, whatever the space's size


class TableEvaluator(RowTableEvaluator):
    def __init__(
        self,
        space: SearchSpace,
        path: str | Path,
        signal: str,
        report: str | None = None,
        higher_is_better: bool = True,
        costs: Sequence[str] | None = None,
    ) -> None:
        import pandas as pd

        path = Path(path)
        if not path.is_file():
            raise DataError(f"table file {str(path)!r} not found; fix the evaluator 'path' (relative paths start at the YAML file)")
        # at most one row per architecture (plus one, to notice more): a small .csv.gz that
        # expands to millions of rows is refused after reading that many, not after all of them
        limit = min(space.size(), MAX_TABLE_ROWS)
        try:
            with warnings.catch_warnings():  # rows longer than the header: an error, not dropped fields
                warnings.simplefilter("error", pd.errors.ParserWarning)
                df = pd.read_csv(path, dtype=str, keep_default_na=False, index_col=False, nrows=limit + 1)
        except Exception as exc:  # pandas raises many parser error types
            raise DataError(f"cannot read table {str(path)!r}: {exc}".splitlines()[0]) from None
        if len(df) > limit:
            raise DataError(f"table {path.name} has more than {limit:,} rows, more than "
                            + (f"the space has architectures ({space.size():,})" if limit == space.size()
                               else "llmnas reads") + "; remove duplicate rows or give the table of this space")
        report = report or signal
        wanted = list(space.names) + [signal, report] + list(costs or [])
        missing = [c for c in dict.fromkeys(wanted) if c not in df.columns]
        if missing:
            raise DataError(
                f"table {path.name} lacks column(s) {', '.join(missing)}; it has: {', '.join(df.columns)}"
            )
        self.space, self.path = space, path
        self.signal_name, self.report_name, self.higher_is_better = signal, report, higher_is_better
        metric_cols = [c for c in df.columns if c not in space.names]
        numeric = {}
        for c in metric_cols:
            vals = pd.to_numeric(df[c], errors="coerce").to_numpy(dtype=np.float64)
            finite = np.isfinite(vals)
            if finite.all():
                numeric[c] = vals
            elif c in (signal, report) or c in (costs or []):
                bad = int((~finite).argmax())
                what = "a non-number" if np.isnan(vals[bad]) else "an infinite value"
                raise DataError(f"table {path.name}: column {c!r} has {what} {df[c].iloc[bad]!r} at row {bad + 2}; "
                                "give finite numbers")
        self._costs = list(costs) if costs is not None else [c for c in numeric if c not in (signal, report)]
        self._rows: dict[tuple[int, ...], int] = {}
        loose = [{_norm(o): i for i, o in enumerate(d.options)} for d in space.decisions]
        cols = [df[n].tolist() for n in space.names]
        for r in range(len(df)):
            idx = []
            for d, lk, col in zip(space.decisions, loose, cols):
                i = lk.get(_norm(col[r]))
                if i is None:
                    raise DataError(f"table {path.name} row {r + 2}: {d.name}={col[r]!r} is not an option of the space")
                idx.append(i)
            first = self._rows.setdefault(tuple(idx), r)
            if first != r:
                same = all(self._value(df, c, first) == self._value(df, c, r) for c in metric_cols)
                raise DataError(f"table {path.name} rows {first + 2} and {r + 2} are the same architecture"
                                + ("" if same else " with different values") + "; keep one row per architecture")
        self._metrics = {c: v.tolist() for c, v in numeric.items()}
        self._signal, self._report = self._metrics[signal], self._metrics[report]
        self._table = f"table {path.name}"

    dataset: str | None = None  # the dataset this table is of (a YAML space with several)

    def numeric_columns(self) -> list[str]:
        return list(self._metrics)

    def use_signal(self, name: str) -> None:
        """Search on another numeric column of the table (``--signal``); the report stays."""
        from ..wording import did_you_mean

        if name not in self._metrics:
            raise ConfigError(f"--signal {name!r} is not a numeric column of table {self.path.name}"
                              f"{did_you_mean(name, self._metrics)} (choices: {', '.join(self._metrics)})")
        self.signal_name, self._signal = name, self._metrics[name]

    @staticmethod
    def _value(df: Any, column: str, row: int) -> str:
        return str(df[column].iloc[row]).strip()

    def row_keys(self) -> set[tuple[int, ...]]:
        return set(self._rows)

    def describe(self) -> dict:
        out = {**super().describe(), "type": "table", "path": str(self.path)}
        return {**out, "dataset": self.dataset} if self.dataset else out
