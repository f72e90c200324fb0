"""Named NCode ranker recipes: ``llmnas lmsearcher train --preset NAME --out DIR``.

``ncode-ranker`` is the recipe of the model inside the package (``--option ranker=ncode``,
strategy ``lmsearcher-ncode``): ``make-data --format ncode`` over every packaged table except
NAS-Bench-201 CIFAR-100 and ImageNet16-120 (held out for the benchmark and the rank probe), 40,000
pruned-subspace steps then 39,900 search-loop steps (``--search-samples``), then the training
settings below. ``ncode-ranker-no-transnas-micro`` is the same with TransNAS-Bench-101 micro left
out too, for the cross-space comparison; ``ncode-ranker-no-nb201-search`` leaves the NB-201
search-loop steps out (the control); ``ncode-ranker-v1`` is the first packaged model's recipe.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ...errors import ConfigError
from .ncode_train import NCodeTrainConfig, make_ncode_config

HELD_OUT = ["nb201:cifar100", "nb201:imagenet16-120"]


@dataclass(frozen=True)
class NCodePreset:
    name: str
    description: str
    data: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)

    def data_command(self, out: str) -> str:
        parts = [f"llmnas lmsearcher make-data --format ncode --out {out}", f"--samples {self.data['samples']}",
                 f"--seed {self.data['seed']}"]
        if self.data.get("exclude"):
            parts.append(f"--exclude {','.join(self.data['exclude'])}")
        if self.data.get("search_samples"):
            parts.append(f"--search-samples {self.data['search_samples']} "
                         f"--search-pools {','.join(map(str, self.data['search_pools']))}")
            if self.data.get("search_exclude"):
                parts.append(f"--search-exclude {','.join(self.data['search_exclude'])}")
        return " ".join(parts)

    def sources(self) -> list[str]:
        from .sources import select

        return [f"{b}:{d}" for b, d in select(None, list(self.data.get("exclude", [])))]


_TRAIN = {"steps": 3000, "batch": 32, "lr": 1e-3, "warmup": 0.05, "weight_decay": 0.01, "bin_weight": 1.0,
          "d_model": 128, "layers": 4, "heads": 8, "ff": 512, "bins": 32, "max_history": 128, "max_len": 40,
          "val_examples": 500, "seed": 0, "checkpoint_every": 50}
#: the search-loop steps beside the sampler's (search_steps.py): 420 searches of 100, pools 10, 10, 50
_SEARCH = {"search_samples": 39900, "search_pools": [10, 10, 50]}

NCODE_PRESETS: dict[str, NCodePreset] = {p.name: p for p in (
    NCodePreset("ncode-ranker", "the packaged NCode ranker model (v2: sampler and search-loop steps); NB201 "
                "CIFAR-100 and ImageNet16-120 held out",
                {"samples": 40000, "seed": 0, "exclude": HELD_OUT, **_SEARCH}, dict(_TRAIN)),
    NCodePreset("ncode-ranker-no-nb201-search",
                "the packaged recipe without NB-201 search-loop steps (no whole-space NB-201 codes: the control "
                "that shows what the same-space prior adds)",
                {"samples": 40000, "seed": 0, "exclude": HELD_OUT, **_SEARCH, "search_exclude": ["nb201"]},
                dict(_TRAIN)),
    NCodePreset("ncode-ranker-no-transnas-micro",
                "the packaged recipe with TransNAS-Bench-101 micro held out too (cross-space comparison)",
                {"samples": 40000, "seed": 0, "exclude": HELD_OUT + ["transnas-micro"], **_SEARCH}, dict(_TRAIN)),
    NCodePreset("ncode-ranker-v1", "the first packaged model's recipe: sampler steps only, 1,500 optimiser steps",
                {"samples": 40000, "seed": 0, "exclude": HELD_OUT}, {**_TRAIN, "steps": 1500}),
)}


def get_ncode_preset(name: str) -> NCodePreset:
    if name not in NCODE_PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(NCODE_PRESETS)}")
    return NCODE_PRESETS[name]


def prepare_ncode(preset: NCodePreset, out: str, overrides: dict[str, Any],
                  on_sample: Callable[[str], None] | None = None) -> NCodeTrainConfig:
    """Write the preset's data into ``out/data.jsonl`` (unless there) and return its config."""
    from .make_data import make_data
    from .search_steps import DEFAULT_POOLS

    data = Path(out) / "data.jsonl"
    if not data.is_file():
        data.parent.mkdir(parents=True, exist_ok=True)
        make_data(data, int(preset.data["samples"]), int(preset.data["seed"]),
                  exclude=list(preset.data.get("exclude", [])), on_sample=on_sample, fmt="ncode",
                  search_samples=int(preset.data.get("search_samples", 0)),
                  search_pools=tuple(preset.data.get("search_pools", DEFAULT_POOLS)),
                  search_exclude=list(preset.data.get("search_exclude", [])) or None)
    return make_ncode_config(**{**preset.train, **overrides, "data": str(data), "out": out})
