"""Tabular NAS-Bench-201 evaluator over the packaged table (see data/nb201/PROVENANCE.md).

Splits follow the NB201 protocol: the CIFAR-10 validation column is the ``cifar10-valid``
split and its test column is ``cifar10`` ori-test; CIFAR-100 and ImageNet16-120 take both from
the same dataset entry. The search signal is 200-epoch validation accuracy (``val_200``) by
default or 12-epoch validation (``val_12``); the report metric is 200-epoch test accuracy.
"""

from __future__ import annotations

from functools import lru_cache

from ..data import load_nb201
from ..errors import ConfigError
from .nb201 import NB201Space, code_to_row_map, ops_code
from ..types import Arch
from ..evaluators.base import Evaluator, Result

DATASETS = {"cifar10": "c10", "cifar100": "c100", "imagenet16-120": "in16"}
SIGNALS = ("val_200", "val_12")


class NB201Evaluator(Evaluator):
    report_name = "test_200"
    higher_is_better = True
    lookup = True

    def __init__(self, space: NB201Space, dataset: str = "cifar10", signal: str = "val_200") -> None:
        if dataset not in DATASETS:
            from ..registry import Registry

            reg: Registry[str] = Registry("dataset")
            for d in DATASETS:
                reg.register(d)(d)
            reg.get(dataset)  # raises with a did-you-mean message
        if signal not in SIGNALS:
            raise ConfigError(f"unknown nb201 signal {signal!r} (choices: {', '.join(SIGNALS)})")
        self.space = space
        self.dataset = dataset
        self.signal_name = signal
        self._cols, self._costs = _columns(DATASETS[dataset])
        self._signal = self._cols[signal]
        self._report = self._cols["test_200"]

    def _code(self, arch: Arch) -> int:
        return ops_code(self.space.to_indices(arch))

    def evaluate(self, arch: Arch) -> Result:
        c = self._code(arch)
        metrics = {k: v[c] for k, v in self._cols.items()}
        metrics["params_M"] = self._costs["params_M"][c]
        metrics["flops_M"] = self._costs["flops_M"][c]
        return Result(self._signal[c], self._report[c], metrics)

    def cost_metrics(self) -> list[str]:
        return list(self._costs) + [f"latency_ms[{d}]" for d in _devices()]

    def measure(self, arch: Arch, metric: str) -> float:
        col = self._costs.get(metric)
        if col is None:
            if not (metric.startswith("latency_ms[") and metric[11:-1] in _devices()):
                raise ConfigError(self.unknown_metric(metric))
            col = _latency(metric[11:-1])
        return col[self._code(arch)]

    def describe(self) -> dict:
        return {**super().describe(), "type": "nb201", "dataset": self.dataset}


# Columns re-indexed by base-5 ops code, as plain lists for fast scalar access; cached per
# process because the packaged table never changes (bench workers build many evaluators).
@lru_cache(maxsize=None)
def _columns(p: str) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    table = load_nb201()
    rows = code_to_row_map(table["ops"])
    cols = {k: table[f"{p}_{k}"][rows].tolist() for k in ("val_200", "test_200", "val_12", "test_12")}
    costs = {k: table[f"{p}_{k}"][rows].tolist() for k in ("params_M", "flops_M")}
    return cols, costs


@lru_cache(maxsize=1)
def _devices() -> tuple[str, ...]:
    return tuple(c[len("lat_ms_"):] for c in load_nb201() if c.startswith("lat_ms_"))


@lru_cache(maxsize=None)
def _latency(device: str) -> list[float]:
    table = load_nb201()
    return table[f"lat_ms_{device}"][code_to_row_map(table["ops"])].tolist()
