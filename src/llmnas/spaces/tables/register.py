"""Registers every packaged table benchmark (``--space nb-macro`` ...) in :data:`llmnas.spaces.registry.SPACES`.
They take no space options."""

from __future__ import annotations

from ...config import RunConfig
from ...errors import ConfigError
from ..registry import Problem, SpaceOptions, register_space
from .catalog import BENCHMARKS, BenchmarkSpec
from .tables import BenchTableEvaluator, BenchTableSpace


def _register(spec: BenchmarkSpec) -> None:
    @register_space(spec.name)
    def build(cfg: RunConfig, opts: SpaceOptions) -> Problem:
        if cfg.signal not in (None, spec.signal):
            raise ConfigError(f"space {spec.name} has one signal, {spec.signal}; drop --signal {cfg.signal}")
        space = BenchTableSpace(spec, cfg.dataset)
        return Problem(space, BenchTableEvaluator(space))


for _spec in BENCHMARKS.values():
    _register(_spec)
