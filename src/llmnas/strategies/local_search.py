"""Local search, NASLib style (White et al., 2020 "Local search is state of the art for NAS").

Best of ``num_init`` random architectures; then evaluate every neighbour (one decision changed)
of the current architecture in random order and move to the best one if it improved; at a local
optimum, restart from one new random architecture. Neighbours visited earlier cost nothing:
their known scores are used without a query.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ..types import Arch, Proposal, Trial
from .base import STRATEGIES, Strategy, StrategySettings, rank


class LSSettings(StrategySettings):
    num_init: int = Field(10, ge=1)


def _better(a: list | None, b: list | None) -> bool:
    """Is entry a = [arch, key, score, feasible] better than b?"""
    if a is None:
        return False
    if b is None:
        return True
    return (a[3], a[2]) > (b[3], b[2])


@STRATEGIES.register("ls")
class LocalSearch(Strategy):
    name = "ls"
    requires = frozenset({"sample", "neighbors"})
    Settings = LSSettings
    settings: LSSettings

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        self.n_init = 0
        self.best: list | None = None  # best of the current climb: [arch, key, score, feasible]
        self.chosen: list | None = None  # centre of the current neighbourhood
        self.nbhd: list[Arch] = []
        self.restarting = False

    def _entry(self, t: Trial) -> list:
        return [t.arch, t.key, t.score, t.feasible]

    def ask(self, n: int) -> list[Proposal]:
        if self.n_init < self.settings.num_init:
            self.n_init += 1
            arch = self.random_unvisited()
            return [] if arch is None else [Proposal(arch, "random", "initial sample")]
        hist = self.ctx.history
        for _ in range(self.ctx.space.size() + 2):  # bounded: each pass consumes a neighbour or restarts
            if self.nbhd:
                arch = self.nbhd.pop()
                known = hist.lookup(self.key(arch))
                if known is None:
                    return [Proposal(arch, "neighbor", f"of {self.chosen[1] if self.chosen else '?'}")]
                if known.score is not None and _better(self._entry(known), self.best):
                    self.best = self._entry(known)
                continue
            if self.chosen is not None and not _better(self.best, self.chosen):
                # Local optimum: restart from a fresh random architecture.
                arch = self.random_unvisited()
                if arch is None:
                    return []
                self.restarting = True
                return [Proposal(arch, "restart", "local optimum reached")]
            if self.best is None:
                arch = self.random_unvisited()
                return [] if arch is None else [Proposal(arch, "random")]
            self.chosen = self.best
            self._set_neighbourhood(self.chosen[0])
        return []

    def _set_neighbourhood(self, arch: Arch) -> None:
        nb = self.ctx.space.neighbors(arch)
        order = self.ctx.rng.permutation(len(nb))
        self.nbhd = [nb[int(i)] for i in order]

    def tell(self, trials: list[Trial]) -> None:
        for t in trials:
            if self.restarting:
                self.restarting = False
                if t.score is not None:
                    self.chosen = self.best = self._entry(t)
                    self._set_neighbourhood(t.arch)
                else:
                    self.chosen = None
                continue
            if t.score is not None and _better(self._entry(t), self.best):
                self.best = self._entry(t)

    def _state(self) -> dict[str, Any]:
        return {"n_init": self.n_init, "best": self.best, "chosen": self.chosen, "nbhd": self.nbhd, "restarting": self.restarting}

    def _load(self, state: dict[str, Any]) -> None:
        self.n_init, self.best, self.chosen = state["n_init"], state["best"], state["chosen"]
        self.nbhd, self.restarting = state["nbhd"], state["restarting"]
