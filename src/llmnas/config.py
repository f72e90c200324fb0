"""The run configuration: one strict pydantic tree, the only home of defaults.

A config comes from CLI flags (which reuse these key names) or a YAML file (``--config``);
unknown keys fail and name the valid ones. The resolved config is stored with the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .constraints import POLICIES, Constraint
from .errors import ConfigError


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    space: str = Field("nb201", description="built-in space name or path to a YAML space file")
    dataset: Optional[str] = Field(None, description="dataset of a built-in benchmark (nb201: cifar10 [default], cifar100, imagenet16-120)")
    signal: Optional[str] = Field(None, description="search signal (nb201: val_200 [default] or val_12)")
    space_options: Dict[str, Any] = Field(default_factory=dict, description="extra options of the space, e.g. canonical=isomorphism")
    strategy: str = Field("collm", description="search strategy; collm (the default) runs on the embedded LLM")
    strategy_options: Dict[str, Any] = Field(default_factory=dict)
    budget: int = Field(100, ge=1, description="unique architectures to evaluate")
    seed: int = Field(0, ge=0)
    constraints: List[str] = Field(default_factory=list, description="e.g. 'flops_M <= 50'")
    over_budget: Literal["evaluate-but-not-eligible", "skip", "penalize"] = "evaluate-but-not-eligible"
    penalty: float = Field(0.0, description="score told to the strategy for an over-budget arch under 'penalize'")
    target: Optional[float] = Field(None, description="stop once the best eligible signal reaches this value")
    max_stall: int = Field(1000, ge=1, description="stop after this many proposals in a row that add no evaluation")
    llm: Optional[Dict[str, Any]] = Field(None, description="LLM settings (LLM strategies only)")

    @field_validator("constraints")
    @classmethod
    def _parse_constraints(cls, v: List[str]) -> List[str]:
        for text in v:
            Constraint.parse(text)
        return v

    @model_validator(mode="after")
    def _default_dataset(self) -> "RunConfig":
        if self.dataset is None and self.space == "nb201":
            self.dataset = "cifar10"
        return self

    def parsed_constraints(self) -> list[Constraint]:
        return [Constraint.parse(c) for c in self.constraints]


assert set(POLICIES) == {"evaluate-but-not-eligible", "skip", "penalize"}


def validation_message(err: ValidationError, where: str = "config") -> str:
    """One line from a pydantic error: the key, the problem, the fix."""
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"]) or "top level"
    if e["type"] == "extra_forbidden":
        valid = ", ".join(RunConfig.model_fields) if where == "config" else "see --help"
        return f"{where}: unknown key {loc!r} (valid keys: {valid})"
    got = e.get("input")
    shown = f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) else ""
    return f"{where}: {loc}: {e['msg']}{shown}"


def make_config(data: dict[str, Any], where: str = "config") -> RunConfig:
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_message(exc, where)) from None


def load_config_file(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file {str(p)!r} not found; fix --config")
    try:
        data = yaml.safe_load(p.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: malformed YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: expected a mapping of config keys")
    return data
