"""The evolutionary search of SPOS and AutoFormer over a trained supernet (peers.md §1.9-1.10).

Generation 0 is ``population_size`` random architectures. Each later generation is
``mutation_num`` mutants and ``crossover_num`` crossovers of the ``top_k`` best architectures
found so far, topped up with random ones to ``population_size`` (SPOS: population 50, top-k 10,
25 + 25 children, mutation probability 0.1; 20 generations = about 1,000 architectures).

* mutation: every decision is re-drawn (uniformly over its options) with probability
  ``mutation_prob``;
* crossover: a per-decision uniform choice between two distinct top-k parents; a child the
  space rejects (``space.check``) is drawn again.

As in SPOS, candidates that violate the constraint never enter the top-k (the runner decides
whether they are evaluated: the run's over-budget policy). A child equal to a visited or
already planned architecture (same canonical key) is drawn again, up to ``max_tries`` per
child on average; what cannot be filled is filled with random architectures.
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field

from ..types import Arch, Proposal, Trial
from .base import STRATEGIES, Strategy, StrategySettings


class SupernetEASettings(StrategySettings):
    population_size: int = Field(50, ge=2)
    top_k: int = Field(10, ge=1)
    mutation_num: int = Field(25, ge=0)
    crossover_num: int = Field(25, ge=0)
    mutation_prob: float = Field(0.1, gt=0, le=1)
    max_tries: int = Field(10, ge=1, description="draws per wanted child before giving up on it")
    generations: Optional[int] = Field(None, ge=1, description="stop after this many generations (None: the budget decides)")


def crossover(space: Any, a: Arch, b: Arch, rng: Any) -> Arch:
    """Per-decision uniform crossover of two architectures of ``space``."""
    pick = rng.random(len(space.names)) < 0.5
    return {n: (a[n] if p else b[n]) for n, p in zip(space.names, pick)}


def mutate_each(space: Any, arch: Arch, prob: float, rng: Any) -> Arch:
    """Re-draw each decision with probability ``prob`` (SPOS/AutoFormer mutation)."""
    out = dict(arch)
    for d in space.decisions:
        if rng.random() < prob:
            out[d.name] = d.options[int(rng.integers(len(d.options)))]
    return out


@STRATEGIES.register("supernet-ea")
class SupernetEA(Strategy):
    name = "supernet-ea"
    requires = frozenset({"sample"})
    Settings = SupernetEASettings
    settings: SupernetEASettings

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        s = self.settings
        if s.top_k > s.population_size:
            from ..errors import ConfigError

            raise ConfigError("supernet-ea: top_k must not exceed population_size")
        self.generation = -1
        self.queue: list[list[Any]] = []  # [arch, source, note] still to ask in this generation
        self.current: list[list[Any]] = []  # [arch, key, score, feasible] told in this generation
        self.top: list[list[Any]] = []  # [arch, key, score, feasible], best first
        self.stopped = ""

    # ----- generations ------------------------------------------------------------------------
    def _merge(self) -> None:
        pool = {e[1]: e for e in self.top}
        for e in self.current:
            if e[2] is not None and e[3]:
                pool.setdefault(e[1], e)
        self.top = sorted(pool.values(), key=lambda e: -e[2])[: self.settings.top_k]
        self.current = []

    def _next_generation(self) -> None:
        s, space, rng, hist = self.settings, self.ctx.space, self.ctx.rng, self.ctx.history
        self._merge()
        self.generation += 1
        planned: set[str] = set()

        def fresh(arch: Arch) -> bool:
            if space.check(arch) is not None:
                return False
            k = space.canonical_key(arch)
            if k in planned or hist.is_visited(k):
                return False
            planned.add(k)
            return True

        if self.generation > 0 and self.top:
            parents = [e[0] for e in self.top]
            made = tries = 0
            while made < s.mutation_num and tries < s.mutation_num * s.max_tries:
                tries += 1
                p = parents[int(rng.integers(len(parents)))]
                child = mutate_each(space, p, s.mutation_prob, rng)
                if fresh(child):
                    self.queue.append([child, "mutation", f"gen {self.generation}, parent {space.canonical_key(p)}"])
                    made += 1
            made = tries = 0
            while len(parents) > 1 and made < s.crossover_num and tries < s.crossover_num * s.max_tries:
                tries += 1
                i, j = rng.choice(len(parents), size=2, replace=False)
                child = crossover(space, parents[int(i)], parents[int(j)], rng)
                if fresh(child):
                    self.queue.append([child, "crossover", f"gen {self.generation}, parents "
                                       f"{space.canonical_key(parents[int(i)])} x {space.canonical_key(parents[int(j)])}"])
                    made += 1
        while len(self.queue) < s.population_size:
            arch = self.random_unvisited(exclude=planned)
            if arch is None:
                break
            planned.add(space.canonical_key(arch))
            self.queue.append([arch, "random", f"gen {self.generation}"])

    def ask(self, n: int) -> list[Proposal]:
        if not self.queue:
            s = self.settings
            if s.generations is not None and self.generation + 1 >= s.generations:
                self._merge()
                self.stopped = f"supernet-ea finished its {s.generations} generations"
                return []
            self._next_generation()
            if not self.queue:
                self.stopped = "no unvisited architecture is left"
                return []
        out, self.queue = self.queue[:n], self.queue[n:]
        return [Proposal(a, src, note, {"generation": self.generation}) for a, src, note in out]

    def tell(self, trials: list[Trial]) -> None:
        for t in trials:
            if t.key:
                self.current.append([t.arch, t.key, t.score, bool(t.feasible)])

    def best_top(self) -> list[list[Any]]:
        """The current top-k (including the generation being evaluated)."""
        keep = (self.top, self.current)
        self._merge()
        top = list(self.top)
        self.top, self.current = keep
        return top

    # ----- state --------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"generation": self.generation, "queue": self.queue, "current": self.current, "top": self.top,
                "stopped": self.stopped}

    def _load(self, state: dict[str, Any]) -> None:
        self.generation = state["generation"]
        self.queue = [list(e) for e in state["queue"]]
        self.current = [list(e) for e in state["current"]]
        self.top = [list(e) for e in state["top"]]
        self.stopped = state.get("stopped", "")
