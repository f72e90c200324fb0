"""Registers every packaged table benchmark (``--space nb-macro`` ...) in :data:`llmnas.spaces.registry.SPACES`."""

from __future__ import annotations

from ...config import RunConfig
from ...errors import ConfigError
from ..registry import SPACES, Problem
from .catalog import BENCHMARKS, BenchmarkSpec
from .tables import BenchTableEvaluator, BenchTableSpace


def _builder(spec: BenchmarkSpec):  # type: ignore[no-untyped-def]
    def build(cfg: RunConfig) -> Problem:
        if cfg.space_options:
            raise ConfigError(f"space {spec.name} takes no space options (got {', '.join(sorted(cfg.space_options))})")
        if cfg.signal not in (None, spec.signal):
            raise ConfigError(f"space {spec.name} has one signal, {spec.signal}; drop --signal {cfg.signal}")
        space = BenchTableSpace(spec, cfg.dataset)
        return Problem(space, BenchTableEvaluator(space))

    return build


for _spec in BENCHMARKS.values():
    SPACES.register(_spec.name)(_builder(_spec))
