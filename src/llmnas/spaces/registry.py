"""The space registry: ``--space`` name -> builder(config) -> :class:`Problem` (space + evaluator).

Each space registers its own builder where it is defined (``spaces/nb201.py``,
``spaces/tables/register.py``, ``spaces/supernets/register.py``); importing :mod:`llmnas.spaces`
loads them all. This module imports no space, so any of them may import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from ..config import RunConfig
from ..errors import ConfigError
from ..evaluators.base import Evaluator
from ..registry import Registry
from .base import SearchSpace

#: name -> builder(config) -> (space, evaluator)
SPACES: Registry[Callable[[RunConfig], "Problem"]] = Registry("space")


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
