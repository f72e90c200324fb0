"""Network configurations of the three supernets, with named presets (no torch here).

Each supernet keeps the decision structure of its paper and is scaled to a 2-core CPU by its
widths, depths and input size. ``tiny`` trains in seconds (tests), ``small`` (the default) in a
few minutes on 2 CPU cores; every field can be overridden with ``--option KEY=VALUE``.
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, List, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from ...errors import ConfigError

SPOS_CHOICES = ("shuffle3x3", "shuffle5x5", "shuffle7x7", "xception")


class NetConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    space: ClassVar[str] = ""
    image_size: Optional[int] = Field(None, ge=8, description="input side (images are resized); None = the dataset's own")


class SPOSConfig(NetConfig):
    """ShuffleNetV2 of SPOS: per layer one of four choice blocks (3x3/5x5/7x7 units, Xception)."""

    space: ClassVar[str] = "spos"
    stem: int = Field(16, ge=4)
    widths: List[int] = Field(default_factory=lambda: [24, 48, 96], description="output channels per stage")
    blocks: List[int] = Field(default_factory=lambda: [2, 4, 2], description="layers per stage (one decision each)")
    last: int = Field(192, ge=8, description="channels of the final 1x1 convolution")

    @model_validator(mode="after")
    def _check(self) -> "SPOSConfig":
        if not self.widths or len(self.widths) != len(self.blocks):
            raise ValueError("widths and blocks need one entry per stage")
        prev = self.stem
        for w, b in zip(self.widths, self.blocks):
            if w % 2 or w <= prev or b < 1:
                raise ValueError(f"stage width {w} must be even and larger than its input {prev}; blocks >= 1")
            prev = w
        return self

    @property
    def n_layers(self) -> int:
        return sum(self.blocks)


class OFAConfig(NetConfig):
    """MobileNetV3 of OFA: elastic depth per stage, kernel and expand ratio per block, resolution."""

    space: ClassVar[str] = "ofa"
    stem: int = Field(16, ge=4)
    stem_stride: int = Field(2, ge=1, le=2)
    widths: List[int] = Field(default_factory=lambda: [16, 24, 32, 48])
    strides: List[int] = Field(default_factory=lambda: [1, 2, 2, 1])
    se: List[bool] = Field(default_factory=lambda: [False, True, False, True], description="squeeze-excite per stage")
    act: List[Literal["relu", "hswish"]] = Field(default_factory=lambda: ["relu", "relu", "hswish", "hswish"])
    depths: List[int] = Field(default_factory=lambda: [1, 2, 3], description="depth options per stage")
    kernels: List[int] = Field(default_factory=lambda: [3, 5, 7])
    expands: List[int] = Field(default_factory=lambda: [3, 4, 6])
    resolutions: List[int] = Field(default_factory=lambda: [20, 24, 28], description="[] = no resolution decision")
    final_expand: int = Field(4, ge=1, description="head 1x1 conv: last width x this")
    feature: int = Field(128, ge=8, description="width of the feature-mix layer before the classifier")

    @model_validator(mode="after")
    def _check(self) -> "OFAConfig":
        n = len(self.widths)
        if not n or any(len(v) != n for v in (self.strides, self.se, self.act)):
            raise ValueError("widths, strides, se and act need one entry per stage")
        for name in ("depths", "kernels", "expands"):
            vals = getattr(self, name)
            if not vals or sorted(set(vals)) != vals or vals[0] < 1:
                raise ValueError(f"{name} must be a non-empty increasing list of positive integers")
        if any(k % 2 == 0 for k in self.kernels):
            raise ValueError("kernels must be odd")
        if self.resolutions != sorted(set(self.resolutions)) or any(r < 8 for r in self.resolutions):
            raise ValueError("resolutions must be an increasing list of sides >= 8")
        return self

    @property
    def max_depth(self) -> int:
        return max(self.depths)


class AutoFormerConfig(NetConfig):
    """ViT of AutoFormer: elastic depth and embedding dim; MLP ratio and heads per layer."""

    space: ClassVar[str] = "autoformer"
    patch: int = Field(7, ge=1, description="patch side; must divide the image side")
    head_dim: int = Field(16, ge=2, description="width of one attention head (q/k/v dim = heads x head_dim)")
    depths: List[int] = Field(default_factory=lambda: [3, 4, 5])
    embed_dims: List[int] = Field(default_factory=lambda: [48, 56, 64])
    mlp_ratios: List[float] = Field(default_factory=lambda: [3.0, 3.5, 4.0])
    heads: List[int] = Field(default_factory=lambda: [2, 3, 4])

    @model_validator(mode="after")
    def _check(self) -> "AutoFormerConfig":
        for name in ("depths", "embed_dims", "mlp_ratios", "heads"):
            vals = getattr(self, name)
            if not vals or sorted(set(vals)) != list(vals) or vals[0] <= 0:
                raise ValueError(f"{name} must be a non-empty increasing list of positive numbers")
        return self

    @property
    def max_depth(self) -> int:
        return max(self.depths)


CONFIGS: Dict[str, type[NetConfig]] = {"spos": SPOSConfig, "ofa": OFAConfig, "autoformer": AutoFormerConfig}

#: preset -> space -> overrides of the defaults ("small" is the defaults themselves)
PRESETS: Dict[str, Dict[str, Dict[str, Any]]] = {
    "tiny": {
        "spos": {"stem": 8, "widths": [16, 32], "blocks": [1, 2], "last": 64},
        "ofa": {"stem": 8, "widths": [16, 24], "strides": [1, 2], "se": [False, True], "act": ["relu", "hswish"],
                "depths": [1, 2], "kernels": [3, 5], "expands": [2, 3], "resolutions": [24, 28], "feature": 32},
        "autoformer": {"patch": 7, "head_dim": 8, "depths": [1, 2], "embed_dims": [16, 24], "mlp_ratios": [2.0, 3.0],
                       "heads": [1, 2]},
    },
    "small": {"spos": {}, "ofa": {}, "autoformer": {}},
}


def space_names() -> list[str]:
    return list(CONFIGS)


def make_net_config(space: str, preset: str = "small", overrides: Dict[str, Any] | None = None) -> NetConfig:
    """The config of ``space`` from a preset plus overrides; one clear error on bad input."""
    if space not in CONFIGS:
        raise ConfigError(f"unknown supernet space {space!r} (choices: {', '.join(CONFIGS)})")
    if preset not in PRESETS:
        raise ConfigError(f"unknown preset {preset!r} (choices: {', '.join(PRESETS)})")
    data = {**PRESETS[preset][space], **(overrides or {})}
    cls = CONFIGS[space]
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "extra_forbidden":
            raise ConfigError(f"{space}: unknown network option {loc!r} (valid: {', '.join(cls.model_fields)})") from None
        raise ConfigError(f"{space}: {loc + ': ' if loc else ''}{e['msg'].removeprefix('Value error, ')}") from None


def config_from_dict(space: str, data: Dict[str, Any]) -> NetConfig:
    return make_net_config(space, "small", data)
