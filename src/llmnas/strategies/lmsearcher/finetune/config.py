"""Settings of a LoRA fine-tuning run (``llmnas lmsearcher train``), checked by pydantic."""

from __future__ import annotations

from typing import Literal

import pydantic

from ....errors import ConfigError

#: modules LoRA may adapt (Hugging Face names inside each decoder layer)
TARGETS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


class TrainConfig(pydantic.BaseModel, extra="forbid"):
    """Everything that decides the trained adapter; stored with it and checked on resume."""

    data: str
    out: str
    base: str = "smollm2-135m"
    steps: int = pydantic.Field(200, ge=1)
    grad_accum: int = pydantic.Field(4, ge=1)  # examples per optimiser step
    lr: float = pydantic.Field(2e-4, gt=0, le=1)
    warmup: float = pydantic.Field(0.1, ge=0, lt=1)  # share of steps with a linear warm-up
    weight_decay: float = pydantic.Field(0.0, ge=0)
    rank: int = pydantic.Field(8, ge=1, le=256)
    alpha: float = pydantic.Field(16.0, gt=0)
    dropout: float = pydantic.Field(0.0, ge=0, lt=1)
    targets: list[str] = ["q_proj", "k_proj", "v_proj", "o_proj"]
    #: adapt only the last N decoder layers (0: all); the backward pass then stops at the first
    #: adapted layer, which makes a CPU step much cheaper
    last_layers: int = pydantic.Field(0, ge=0)
    max_tokens: int = pydantic.Field(1024, ge=16)  # longer examples are left out (counted)
    val_examples: int = pydantic.Field(32, ge=0)  # held out from training, scored at the end
    seed: int = 0
    checkpoint_every: int = pydantic.Field(25, ge=1)
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = pydantic.Field(0, ge=0)  # torch CPU threads; 0: torch's default
    cache_dir: str | None = None

    @pydantic.field_validator("targets")
    @classmethod
    def _known_targets(cls, value: list[str]) -> list[str]:
        bad = [t for t in value if t not in TARGETS]
        if bad or not value:
            raise ValueError(f"unknown LoRA target {bad[0] if bad else '(none)'}; choose from "
                             f"{', '.join(TARGETS)}")
        return list(dict.fromkeys(value))


#: fields that may differ when a run is resumed (the rest must match the checkpoint; the data
#: file may move but its sha256 must match)
RESUMABLE = frozenset({"steps", "checkpoint_every", "threads", "device", "cache_dir", "out",
                       "data"})


def make_config(**fields: object) -> TrainConfig:
    """A :class:`TrainConfig`, or one :class:`ConfigError` that names the bad field."""
    try:
        return TrainConfig(**fields)  # type: ignore[arg-type]
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "config"
        raise ConfigError(f"train option {where}: {err['msg']}") from None
