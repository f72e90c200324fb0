"""Packaged benchmark tables as a search space restricted to their rows, and a lookup evaluator.

:class:`BenchTableSpace` accepts exactly the architectures its table has a row for (for the chosen
dataset: a task the table did not measure for an architecture leaves it out). Rows that are the
same network under the benchmark's own aliasing (``BenchmarkSpec.canonical``) share one canonical
key; sampling and enumeration are uniform over those distinct networks.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from ...errors import DataError
from ...evaluators.rows import RowTableEvaluator
from ...registry import Registry
from ..base import CAPABILITIES, SearchSpace
from ...types import Arch
from .catalog import BENCHMARKS, BenchmarkSpec, Indices


@lru_cache(maxsize=None)
def load_table(folder: str) -> dict[str, np.ndarray]:
    """The arrays of ``llmnas/data/<folder>/<folder>.npz`` (``codes``, ``signal__*``, ``cost__*``)."""
    try:
        ref = resources.files("llmnas.data").joinpath(folder, f"{folder}.npz")
        with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError(f"the packaged table llmnas/data/{folder}/{folder}.npz is missing; "
                        "reinstall llmnas: pip install --force-reinstall llmnas") from None


def check_dataset(spec: BenchmarkSpec, dataset: str | None) -> str:
    """The dataset to use (the default when None); an unknown one fails with the choices."""
    if dataset is None:
        return spec.default_dataset
    if dataset not in spec.datasets:
        reg: Registry[str] = Registry(f"{spec.name} dataset")
        for d in spec.datasets:
            reg.register(d)(d)
        reg.get(dataset)  # raises with the choices and a did-you-mean hint
    return dataset


class BenchTableSpace(SearchSpace):
    """A benchmark's decisions, restricted to the rows its table measured for one dataset."""

    implements = CAPABILITIES

    def __init__(self, spec: BenchmarkSpec, dataset: str | None = None) -> None:
        super().__init__(spec.name, spec.decisions, spec.description)
        self.spec = spec
        self.dataset = check_dataset(spec, dataset)
        table = load_table(spec.folder)
        signal = table[f"signal__{self.dataset}"]
        codes = table["codes"]
        self.row_of: dict[Indices, int] = {}
        reps: dict[Indices, Indices] = {}
        for r in np.flatnonzero(np.isfinite(signal)).tolist():
            idx = tuple(int(x) for x in codes[r])
            self.row_of[idx] = r
            reps.setdefault(self._fold(idx), idx)
        # one member per distinct network: its canonical form when the table has it
        self.representatives: list[Indices] = sorted(c if c in self.row_of else m for c, m in reps.items())

    def _fold(self, idx: Indices) -> Indices:
        return self.spec.canonical(idx) if self.spec.canonical is not None else idx

    def size(self) -> int:
        return len(self.representatives)

    def rule_problem(self, arch: Arch) -> str | None:
        if self.to_indices(arch) not in self.row_of:
            return f"this combination is not in the {self.spec.name} table for {self.dataset}"
        return None

    def canonical_key(self, arch: Arch) -> str:
        idx = self._fold(self.to_indices(arch))
        return "".join(str(i).zfill(d.width) for d, i in zip(self.decisions, idx))

    def sample(self, rng: np.random.Generator, max_tries: int = 1000) -> Arch:
        return self.from_indices(self.representatives[int(rng.integers(len(self.representatives)))])

    def enumerate(self):  # type: ignore[no-untyped-def]
        for idx in self.representatives:
            yield self.from_indices(idx)

    def mutate(self, arch: Arch, rng: np.random.Generator, max_tries: int = 100) -> Arch:
        """A random table neighbour (one decision changed); any other row when none exists."""
        near = self.neighbors(arch)
        if near:
            return near[int(rng.integers(len(near)))]
        key = self.canonical_key(arch)
        others = [i for i in self.representatives if self.canonical_key(self.from_indices(i)) != key]
        return self.from_indices(others[int(rng.integers(len(others)))])


class BenchTableEvaluator(RowTableEvaluator):
    """Looks up the benchmark's number for an architecture of a :class:`BenchTableSpace`."""

    def __init__(self, space: BenchTableSpace) -> None:
        spec, table = space.spec, load_table(space.spec.folder)
        self.space = space
        self.signal_name = spec.signal
        self.report_name = spec.signal
        self.higher_is_better = spec.higher_is_better
        self._rows = space.row_of
        self._signal = self._report = table[f"signal__{space.dataset}"].tolist()
        costs = {k[len("cost__"):]: v.tolist() for k, v in table.items() if k.startswith("cost__")}
        self._metrics = {spec.signal: self._signal, **costs}
        self._costs = list(costs)
        self._table = f"the {space.name} table"

    def describe(self) -> dict[str, Any]:
        spec = self.space.spec
        return {**super().describe(), "type": "table", "benchmark": spec.name, "dataset": self.space.dataset,
                "meaning": spec.notes.get(self.space.dataset, "")}


def table_rows(name: str, dataset: str) -> tuple[BenchTableSpace, list[Indices], list[float]]:
    """(space, distinct rows as option indices, their signal) of one benchmark and dataset."""
    space = BenchTableSpace(BENCHMARKS[name], dataset)
    signal = load_table(space.spec.folder)[f"signal__{space.dataset}"]
    rows = list(space.representatives)
    return space, rows, [float(signal[space.row_of[r]]) for r in rows]
