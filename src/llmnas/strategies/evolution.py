"""Regularized (aging) evolution, REA (Real et al., AAAI 2019).

The first ``population_size`` architectures are random; then each step samples
``sample_size`` members of the population, mutates the best one in a single decision and
replaces the oldest member. A child that was already visited is re-drawn (bounded), as in the
dedup-aware protocol of peers.md §4.3. Defaults P=10, S=3 suit budgets of about 100 queries.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import Proposal, Trial
from .base import STRATEGIES, Strategy, StrategySettings, rank


class REASettings(StrategySettings):
    population_size: int = Field(10, ge=2)
    sample_size: int = Field(3, ge=1)
    max_mutation_tries: int = Field(100, ge=1)


@STRATEGIES.register("rea")
class RegularizedEvolution(Strategy):
    name = "rea"
    requires = frozenset({"sample", "mutate"})
    Settings = REASettings
    settings: REASettings

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        if self.settings.sample_size > self.settings.population_size:
            from ..errors import ConfigError

            raise ConfigError("rea: sample_size must not exceed population_size")
        self.population: list[Trial] = []  # oldest first
        self.n_random = 0

    def ask(self, n: int) -> list[Proposal]:
        s = self.settings
        if self.n_random < s.population_size:
            arch = self.random_unvisited()
            self.n_random += 1
            return [] if arch is None else [Proposal(arch, "random")]
        if not self.population:  # every initial member was skipped (e.g. over budget)
            arch = self.random_unvisited()
            return [] if arch is None else [Proposal(arch, "random")]
        rng, space = self.ctx.rng, self.ctx.space
        picks = rng.choice(len(self.population), size=min(s.sample_size, len(self.population)), replace=False)
        parent = max((self.population[int(i)] for i in picks), key=rank)
        for _ in range(s.max_mutation_tries):
            child = space.mutate(parent.arch, rng)
            if not self.ctx.history.is_visited(space.canonical_key(child)):
                return [Proposal(child, "mutation", f"parent {parent.key}")]
        arch = self.random_unvisited()
        return [] if arch is None else [Proposal(arch, "random-fallback", "no unvisited mutation of the parent")]

    def tell(self, trials: list[Trial]) -> None:
        for t in trials:
            if t.score is None:
                continue
            self.population.append(t)
            if len(self.population) > self.settings.population_size:
                self.population.pop(0)

    def _state(self) -> dict[str, Any]:
        return {"n_random": self.n_random, "population": [[t.arch, t.key, t.score, t.feasible] for t in self.population]}

    def _load(self, state: dict[str, Any]) -> None:
        self.n_random = state["n_random"]
        self.population = [
            Trial(seq=-1, round=-1, arch=a, key=k, status="ok", score=s, feasible=f) for a, k, s, f in state["population"]
        ]
