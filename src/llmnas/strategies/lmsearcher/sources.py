"""The tabular benchmarks LM-Searcher training data can be drawn from, and how to select them.

A :class:`Source` is one (benchmark, dataset) table: every distinct architecture as option
indices, its search signal (higher is better; NAS-Bench-201 uses 200-epoch validation accuracy,
never test) and the number of options of each decision. Selection strings: ``nb201`` (every
dataset of a benchmark) or ``nb201:cifar100`` (one dataset).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ...errors import ConfigError
from ...spaces.nb201_evaluator import DATASETS as NB201_DATASETS
from ...spaces.tables.catalog import table_datasets


@dataclass(frozen=True)
class Source:
    benchmark: str
    dataset: str
    signal_name: str
    n_options: tuple[int, ...]
    rows: np.ndarray  # (n, decisions) int16 option indices, one row per distinct architecture
    signal: np.ndarray  # (n,) float64, higher is better

    @property
    def key(self) -> str:
        return f"{self.benchmark}:{self.dataset}"

    def __len__(self) -> int:
        return len(self.rows)


@lru_cache(maxsize=None)
def load_source(benchmark: str, dataset: str) -> Source:
    if benchmark == "nb201":
        from ...data import load_nb201

        table = load_nb201()
        rows = table["ops"].astype(np.int16)
        signal = table[f"{NB201_DATASETS[dataset]}_val_200"].astype(np.float64)
        return Source("nb201", dataset, "val_200", (5,) * 6, rows, signal)
    from ...spaces.tables.tables import table_rows

    space, rows, signal = table_rows(benchmark, dataset)
    sign = 1.0 if space.spec.higher_is_better else -1.0
    return Source(benchmark, dataset, space.spec.signal, tuple(len(d.options) for d in space.decisions),
                  np.array(rows, dtype=np.int16), sign * np.array(signal, dtype=np.float64))


def select(benchmarks: list[str] | None, exclude: list[str] | None) -> list[tuple[str, str]]:
    """(benchmark, dataset) pairs named by ``benchmarks`` (None: all) minus ``exclude``.

    Both take ``name`` or ``name:dataset``; unknown names fail with the valid choices.
    """
    known = table_datasets()

    def expand(item: str, flag: str) -> list[tuple[str, str]]:
        name, _, ds = item.strip().partition(":")
        if name not in known:
            raise ConfigError(f"{flag}: unknown benchmark {name!r}; choose from {', '.join(known)}")
        if ds and ds not in known[name]:
            raise ConfigError(f"{flag}: benchmark {name} has no dataset {ds!r}; choose from {', '.join(known[name])}")
        return [(name, ds)] if ds else [(name, d) for d in known[name]]

    wanted = [p for item in (benchmarks or list(known)) if item.strip() for p in expand(item, "--benchmarks")]
    dropped = {p for item in (exclude or []) if item.strip() for p in expand(item, "--exclude")}
    chosen = [p for p in dict.fromkeys(wanted) if p not in dropped]
    if not chosen:
        raise ConfigError("--benchmarks minus --exclude leaves no benchmark dataset; exclude less")
    return chosen
