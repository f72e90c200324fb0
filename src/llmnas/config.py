"""The run configuration: one strict pydantic tree, the only home of defaults.

A config comes from CLI flags (which reuse these key names) or a YAML file (``--config``);
unknown keys fail and name the valid ones. The resolved config is stored with the run.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Literal, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator, model_validator

from .constraints import POLICIES, Constraint
from .errors import ConfigError

if TYPE_CHECKING:
    from .llm.base import LLMSettings


#: Version of the run-config format. A config (YAML file or stored with a run) from a newer
#: llmnas is refused with a clear error; one without ``config_version`` is version 1.
CONFIG_VERSION = 1
MIN_CONFIG_VERSION = 1


class ExecutorSettings(BaseModel):
    """Where evaluations run (``executor:`` in a run config; ``--executor`` and friends)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["local", "process", "ray"] = Field("local", description="local (in this process), process (worker processes on this machine) or ray")
    workers: Optional[int] = Field(None, ge=1, description="parallel evaluations (process: worker processes, default the CPU cores; ray: tasks in flight and, for a local instance, its size)")
    ray_address: Optional[str] = Field(None, description="Ray cluster to join (e.g. auto or ray://HOST:10001); default: start a local Ray instance")
    num_cpus: float = Field(1.0, ge=0.0, description="CPUs each evaluation asks Ray for")
    num_gpus: float = Field(0.0, ge=0.0, description="GPUs each evaluation asks Ray for (fractions share a GPU)")
    max_requeues: int = Field(2, ge=0, description="times a job whose worker died is re-queued before it is recorded as failed")
    object_store_mb: Optional[int] = Field(None, ge=50, description="object store of a local Ray instance, MiB (default 100)")
    eval_timeout_s: Optional[float] = Field(None, gt=0, description="an evaluation running longer is stopped (its worker too) and re-queued like a dead worker's")
    gpu_ids: Optional[List[int]] = Field(None, min_length=1, description="process: GPUs handed to the workers round robin (CUDA_VISIBLE_DEVICES); ray assigns GPUs itself (num_gpus)")

    @model_validator(mode="after")
    def _check(self) -> "ExecutorSettings":
        if self.kind == "local" and self.workers not in (None, 1):
            raise ValueError("workers applies to the process and ray executors; add --executor process or --executor ray")
        if self.kind != "ray" and (self.ray_address or self.num_gpus):
            raise ValueError("ray_address and num_gpus apply to the ray executor only; add --executor ray")
        if self.kind == "local" and self.eval_timeout_s is not None:
            raise ValueError("eval_timeout_s needs worker processes to stop; add --executor process or --executor ray")
        if self.gpu_ids is not None and self.kind != "process":
            raise ValueError("gpu_ids applies to the process executor (with ray, ask for num_gpus per evaluation)")
        return self


class RunConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    config_version: int = Field(CONFIG_VERSION, description="version of this config format")

    space: str = Field("nb201", description="built-in space name or path to a YAML space file")
    dataset: Optional[str] = Field(None, description="dataset of a built-in benchmark (nb201: cifar10 [default], cifar100, imagenet16-120)")
    signal: Optional[str] = Field(None, description="search signal (nb201: val_200 [default] or val_12)")
    space_options: Dict[str, Any] = Field(default_factory=dict, description="extra options of the space, e.g. canonical=isomorphism")
    strategy: str = Field("collm", description="search strategy; collm (the default) runs on the embedded LLM")
    strategy_options: Dict[str, Any] = Field(default_factory=dict)
    budget: int = Field(100, ge=1, description="unique architectures to evaluate")
    seed: int = Field(0, ge=0, lt=2**63, description="run seed (0 to 2^63-1)")
    constraints: List[str] = Field(default_factory=list, description="e.g. 'flops_M <= 50'")
    over_budget: Literal["evaluate-but-not-eligible", "skip", "penalize"] = "evaluate-but-not-eligible"
    penalty: float = Field(0.0, description="score told to the strategy for an over-budget arch under 'penalize'")
    target: Optional[float] = Field(None, description="stop once the best eligible signal reaches this value")
    max_stall: int = Field(1000, ge=1, description="stop after this many proposals in a row that add no evaluation")
    llm: Optional[Dict[str, Any]] = Field(None, description="LLM settings (LLM strategies only)")
    batch_size: Optional[int] = Field(None, ge=1, description="proposals asked per round (default: the strategy's own, e.g. CoLLM's n_max; 1 for rs/rea/ls); raise it to use parallel workers")
    executor: ExecutorSettings = Field(default_factory=ExecutorSettings, description="where evaluations run")

    _llm: Any = PrivateAttr(default=None)  # the llm section typed (LLMSettings), see llm_settings()

    @field_validator("space")
    @classmethod
    def _resolve_space_file(cls, v: str) -> str:
        """A YAML space file is stored as an absolute path, so a run resumes from any folder."""
        if v.endswith((".yaml", ".yml")) and Path(v).is_file():
            return str(Path(v).resolve())
        return v

    @field_validator("constraints")
    @classmethod
    def _parse_constraints(cls, v: List[str]) -> List[str]:
        for text in v:
            Constraint.parse(text)
        return v

    @model_validator(mode="after")
    def _type_llm(self) -> "RunConfig":
        """The ``llm`` section is validated once, here, into :class:`~llmnas.llm.LLMSettings`
        (:meth:`llm_settings`); the dict itself is what is stored, as the user gave it."""
        if self.llm is not None:
            from .llm_check import check_llm_section

            try:
                self._llm = check_llm_section(self.llm)
            except ValueError as exc:
                raise ValueError(f"llm: {exc}") from None
        return self

    def llm_settings(self) -> "LLMSettings":
        """The typed ``llm`` section (the defaults when the config has none)."""
        if self._llm is None:
            from .llm.base import LLMSettings

            self._llm = LLMSettings()
        return self._llm

    def with_llm(self, other: "RunConfig") -> "RunConfig":
        """This config with ``other``'s ``llm`` section (dict and typed settings together)."""
        out = self.model_copy(update={"llm": other.llm})
        out._llm = other._llm
        return out

    @model_validator(mode="after")
    def _default_dataset(self) -> "RunConfig":
        if self.dataset is None and self.space == "nb201":
            self.dataset = "cifar10"
        return self

    def parsed_constraints(self) -> list[Constraint]:
        return [Constraint.parse(c) for c in self.constraints]


assert set(POLICIES) == {"evaluate-but-not-eligible", "skip", "penalize"}


def validation_message(err: ValidationError, where: str = "config", fields: Any = None) -> str:
    """One line from a pydantic error: the key, the problem, the fix. ``fields``: the valid
    keys of the model validated (default: the run config's, or the executor's)."""
    e = err.errors()[0]
    loc = ".".join(str(p) for p in e["loc"])
    if e["type"] == "extra_forbidden":
        if fields is None:
            fields = ExecutorSettings.model_fields if loc.startswith("executor.") else RunConfig.model_fields
        from .wording import did_you_mean

        key = loc.rsplit(".", 1)[-1]
        return f"{where}: unknown key {loc!r}{did_you_mean(key, fields)} (valid keys: {', '.join(fields)})"
    got = e.get("input")
    shown = f" (got {got!r})" if got is not None and not isinstance(got, (dict, list)) else ""
    msg = str(e["msg"]).removeprefix("Value error, ")
    return f"{where}: {loc}: {msg}{shown}" if loc else f"{where}: {msg}{shown}"


def check_config_version(data: dict[str, Any], where: str = "config") -> None:
    """A config written by a newer (or an unsupported older) llmnas gets one clear error."""
    v = data.get("config_version", CONFIG_VERSION)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ConfigError(f"{where}: config_version must be an integer (got {v!r})")
    if v > CONFIG_VERSION:
        raise ConfigError(f"{where}: config_version {v} comes from a newer llmnas (this one reads versions "
                          f"{MIN_CONFIG_VERSION}-{CONFIG_VERSION}); upgrade llmnas: pip install -U llmnas")
    if v < MIN_CONFIG_VERSION:
        raise ConfigError(f"{where}: config_version {v} is older than this llmnas supports ({MIN_CONFIG_VERSION}-"
                          f"{CONFIG_VERSION}); rewrite the config with the keys of `llmnas search --help`")


def make_config(data: dict[str, Any], where: str = "config") -> RunConfig:
    check_config_version(data, where)
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
