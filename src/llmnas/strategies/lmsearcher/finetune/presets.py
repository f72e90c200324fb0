"""Named training recipes: ``llmnas lmsearcher train --preset NAME --out DIR`` is one command.

``shipped-ranker`` is the recipe of the ranker inside the package (``--llm-model
lmsearcher-ranker``): it writes the training data with ``make-data`` (NAS-Bench-201 CIFAR-100 and
ImageNet16-120 left out, so they stay held out for the benchmark) into ``DIR/data.jsonl`` and
then fine-tunes on it with the settings below: 15 steps of 4 examples (60 examples, drawn in a
seeded order from the 3,600 that fit ``max_tokens``), LoRA on the last 6 of 30 layers. That is
small on purpose: it was sized to finish in about half an hour on a two-core CPU shared with
other jobs (a forward and backward pass of one 560-token example took about 20 s there).
``--steps`` / ``--grad-accum`` / ``--last-layers 0`` make a larger run on a GPU.
``ranker/CARD.md`` reports the run that produced the shipped file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ....errors import ConfigError
from .config import TrainConfig, make_config


@dataclass(frozen=True)
class Preset:
    """A data recipe (``make-data`` arguments) plus training settings."""

    name: str
    description: str
    data: dict[str, Any]
    train: dict[str, Any] = field(default_factory=dict)

    def data_command(self, out: str) -> str:
        """The ``make-data`` command line this preset runs."""
        parts = [f"llmnas lmsearcher make-data --out {out}",
                 f"--samples {self.data['samples']}", f"--seed {self.data['seed']}"]
        if self.data.get("exclude"):
            parts.append(f"--exclude {','.join(self.data['exclude'])}")
        return " ".join(parts)


PRESETS: dict[str, Preset] = {
    p.name: p for p in (
        Preset(
            name="shipped-ranker",
            description="the packaged lmsearcher-ranker: SmolLM2-135M-Instruct + LoRA r=8, "
                        "NB201 CIFAR-100 and ImageNet16-120 held out",
            data={"samples": 4000, "seed": 0,
                  "exclude": ["nb201:cifar100", "nb201:imagenet16-120"]},
            train={"base": "smollm2-135m", "steps": 15, "grad_accum": 4, "lr": 5e-4,
                   "warmup": 0.1, "rank": 8, "alpha": 16.0, "dropout": 0.0,
                   "targets": ["q_proj", "k_proj", "v_proj", "o_proj"], "last_layers": 6,
                   "max_tokens": 1024, "val_examples": 16, "seed": 0, "checkpoint_every": 5},
        ),
    )
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ConfigError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def prepare(preset: Preset, out: str, overrides: dict[str, Any],
            on_sample: Callable[[str], None] | None = None) -> TrainConfig:
    """Write the preset's data into ``out/data.jsonl`` (unless there) and return its config.

    ``overrides`` (explicit command-line options) win over the preset's training settings."""
    from ..make_data import make_data

    data = Path(out) / "data.jsonl"
    if not data.is_file():
        data.parent.mkdir(parents=True, exist_ok=True)
        make_data(data, int(preset.data["samples"]), int(preset.data["seed"]),
                  exclude=list(preset.data.get("exclude", [])), on_sample=on_sample)
    fields = {**preset.train, **overrides, "data": str(data), "out": out}
    return make_config(**fields)
