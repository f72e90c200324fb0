"""The space registry: ``--space`` name -> builder(config) -> :class:`Problem` (space + evaluator).

Each space registers its own builder where it is defined (``spaces/nb201.py``,
``spaces/tables/register.py``, ``spaces/supernets/register.py``); importing :mod:`llmnas.spaces`
loads them all. This module imports no space, so any of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, TypeVar

import pydantic

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluators.base import Evaluator
from ..registry import Registry
from .base import SearchSpace

#: name -> builder(config) -> (space, evaluator)
SPACES: Registry[Callable[[RunConfig], "Problem"]] = Registry("space")
#: name -> the space's options model (``space_options`` / ``--space-option KEY=VALUE``)
SPACE_OPTIONS: dict[str, type["SpaceOptions"]] = {}


class SpaceOptions(pydantic.BaseModel, extra="forbid"):
    """A space's ``space_options``, typed: each space declares its own subclass (none: no options)."""


O = TypeVar("O", bound=SpaceOptions)


def register_space(name: str, options: type[O] = SpaceOptions) -> Callable[[Callable[[RunConfig, O], "Problem"]],
                                                                                Callable[[RunConfig, O], "Problem"]]:
    """Register ``builder(config, options) -> Problem`` as ``--space NAME``; the config's
    ``space_options`` are validated once, here, into ``options`` (one clear error otherwise)."""
    def deco(builder: Callable[[RunConfig, O], "Problem"]) -> Callable[[RunConfig, O], "Problem"]:
        def build(cfg: RunConfig) -> Problem:
            return builder(cfg, parse_space_options(name, options, cfg.space_options))

        SPACES.register(name)(build)
        SPACE_OPTIONS[name] = options
        return builder

    return deco


def parse_space_options(name: str, model: type[O], given: dict[str, Any]) -> O:
    fields = list(model.model_fields)
    unknown = sorted(set(given) - set(fields))
    if unknown and not fields:
        raise ConfigError(f"space {name} takes no space options (got {', '.join(unknown)})")
    if unknown:
        raise ConfigError(f"unknown {name} space option(s) {', '.join(unknown)} (valid: {', '.join(fields)})")
    try:
        return model(**given)
    except pydantic.ValidationError as exc:
        err = exc.errors()[0]
        key = ".".join(str(p) for p in err["loc"]) or "?"
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name} space option {key}: {msg} (got {given.get(key, '(missing)')!r})") from None


@dataclass
class Problem:
    space: SearchSpace
    evaluator: Evaluator

    def describe(self) -> dict[str, Any]:
        return {"space": self.space.name, "space_size": self.space.size(), "evaluator": self.evaluator.describe()}


def is_space_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def build_problem(cfg: RunConfig) -> Problem:
    if is_space_file(cfg.space):
        from .yaml_space import build_yaml_problem

        if cfg.space_options:
            raise ConfigError("space_options apply to built-in spaces only; put settings in the YAML file")
        space, evaluator = build_yaml_problem(Path(cfg.space), cfg.dataset, cfg.signal)
        return Problem(space, evaluator)
    return SPACES.get(cfg.space)(cfg)
