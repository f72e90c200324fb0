"""Random search without replacement."""

from __future__ import annotations

from ..types import Proposal, Trial
from .base import STRATEGIES, Strategy


@STRATEGIES.register("rs")
class RandomSearch(Strategy):
    name = "rs"
    requires = frozenset({"sample"})

    def ask(self, n: int) -> list[Proposal]:
        out: list[Proposal] = []
        taken: set[str] = set()
        for _ in range(n):
            arch = self.random_unvisited(taken)
            if arch is None:
                break
            taken.add(self.key(arch))
            out.append(Proposal(arch, "random"))
        return out

    def tell(self, trials: list[Trial]) -> None:
        pass
