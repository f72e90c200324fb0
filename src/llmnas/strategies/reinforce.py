"""REINFORCE with a per-decision softmax policy and a moving-average baseline
(Williams 1992; the NAS-Bench-201 paper's RL baseline: Adam, EMA baseline momentum 0.9).

Each decision has its own logits; an arch is sampled decision by decision. After each result,
``loss = -(reward - baseline) * log p(arch)`` is minimised by one Adam step. Draws of an
already-visited arch are re-drawn (bounded), then a random unvisited arch is used and labelled.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from ..types import Proposal, Trial
from .base import STRATEGIES, Strategy, StrategySettings


class ReinforceSettings(StrategySettings):
    learning_rate: float = Field(0.01, gt=0, le=10)
    ema_momentum: float = Field(0.9, ge=0, lt=1)
    max_draws: int = Field(100, ge=1)


@STRATEGIES.register("reinforce")
class Reinforce(Strategy):
    name = "reinforce"
    Settings = ReinforceSettings
    settings: ReinforceSettings

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        sizes = [len(d.options) for d in ctx.space.decisions]
        self.logits = [np.zeros(k) for k in sizes]
        self.m = [np.zeros(k) for k in sizes]
        self.v = [np.zeros(k) for k in sizes]
        self.step = 0
        self.baseline: float | None = None

    def _probs(self) -> list[np.ndarray]:
        out = []
        for z in self.logits:
            e = np.exp(z - z.max())
            out.append(e / e.sum())
        return out

    def ask(self, n: int) -> list[Proposal]:
        space, rng = self.ctx.space, self.ctx.rng
        probs = self._probs()
        for _ in range(self.settings.max_draws):
            idx = [int(rng.choice(len(p), p=p)) for p in probs]
            arch = space.from_indices(idx)
            if space.rule_problem(arch) is None and not self.ctx.history.is_visited(space.canonical_key(arch)):
                return [Proposal(arch, "policy")]
        arch = self.random_unvisited()
        return [] if arch is None else [Proposal(arch, "random-fallback", "policy kept drawing visited archs")]

    def tell(self, trials: list[Trial]) -> None:
        for t in trials:
            if t.score is not None and t.status == "ok":
                self._update(self.ctx.space.to_indices(t.arch), t.score)

    def _update(self, idx: tuple[int, ...], reward: float) -> None:
        mom = self.settings.ema_momentum
        self.baseline = reward if self.baseline is None else mom * self.baseline + (1 - mom) * reward
        adv = reward - self.baseline
        self.step += 1
        b1, b2, eps, lr = 0.9, 0.999, 1e-8, self.settings.learning_rate
        for d, (z, p) in enumerate(zip(self.logits, self._probs())):
            grad = p.copy()  # d(-adv * log p[i]) / dz = -adv * (onehot - p)
            grad[idx[d]] -= 1.0
            grad *= adv
            self.m[d] = b1 * self.m[d] + (1 - b1) * grad
            self.v[d] = b2 * self.v[d] + (1 - b2) * grad * grad
            mhat = self.m[d] / (1 - b1**self.step)
            vhat = self.v[d] / (1 - b2**self.step)
            self.logits[d] = z - lr * mhat / (np.sqrt(vhat) + eps)

    def _state(self) -> dict[str, Any]:
        return {
            "logits": [z.tolist() for z in self.logits],
            "m": [a.tolist() for a in self.m],
            "v": [a.tolist() for a in self.v],
            "step": self.step,
            "baseline": self.baseline,
        }

    def _load(self, state: dict[str, Any]) -> None:
        self.logits = [np.array(z, dtype=float) for z in state["logits"]]
        self.m = [np.array(z, dtype=float) for z in state["m"]]
        self.v = [np.array(z, dtype=float) for z in state["v"]]
        self.step, self.baseline = state["step"], state["baseline"]
