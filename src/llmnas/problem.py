"""Build the (space, evaluator) pair a run config names."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .config import RunConfig
from .errors import ConfigError
from .evaluators.base import Evaluator
from .registry import Registry
from .spaces.base import SearchSpace

#: name -> builder(config) -> (space, evaluator)
SPACES: Registry[Callable[[RunConfig], "Problem"]] = Registry("space")


@dataclass
class Problem:
    space: SearchSpace
    evaluator: Evaluator

    def describe(self) -> dict[str, Any]:
        return {"space": self.space.name, "space_size": self.space.size(), "evaluator": self.evaluator.describe()}


@SPACES.register("nb201")
def _nb201(cfg: RunConfig) -> Problem:
    from .evaluators.nb201 import NB201Evaluator
    from .spaces.nb201 import NB201Space

    unknown = set(cfg.space_options) - {"canonical"}
    if unknown:
        raise ConfigError(f"unknown nb201 space option(s) {', '.join(sorted(unknown))} (valid: canonical)")
    space = NB201Space(**cfg.space_options)
    return Problem(space, NB201Evaluator(space, cfg.dataset or "cifar10", cfg.signal or "val_200"))


def is_space_file(name: str) -> bool:
    return name.endswith((".yaml", ".yml"))


def build_problem(cfg: RunConfig) -> Problem:
    if is_space_file(cfg.space):
        from .spaces.yaml_space import build_yaml_problem

        if cfg.space_options:
            raise ConfigError("space_options apply to built-in spaces only; put settings in the YAML file")
        space, evaluator = build_yaml_problem(Path(cfg.space), cfg.dataset, cfg.signal)
        return Problem(space, evaluator)
    return SPACES.get(cfg.space)(cfg)


# supernet spaces register themselves (their module imports torch lazily)
from .supernets import problems as _supernet_problems  # noqa: E402,F401

# packaged table benchmarks (nb-macro, transnas-micro, transnas-macro, nb301) register themselves
from .benchmarks import problems as _benchmark_problems  # noqa: E402,F401
