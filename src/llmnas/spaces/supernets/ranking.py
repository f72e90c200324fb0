"""How well inherited-weight accuracy ranks subnets: Kendall tau against stand-alone training."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from ...types import Arch


def kendall_tau(a: list[float] | np.ndarray, b: list[float] | np.ndarray) -> float:
    """Kendall's tau-b (ties handled); nan when either side is constant."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(a) != len(b):
        raise ValueError("kendall_tau needs two sequences of the same length")
    conc = disc = ties_a = ties_b = 0
    for i, j in itertools.combinations(range(len(a)), 2):
        da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
        if da == 0 and db == 0:
            continue
        if da == 0:
            ties_a += 1
        elif db == 0:
            ties_b += 1
        elif da == db:
            conc += 1
        else:
            disc += 1
    denom = np.sqrt((conc + disc + ties_a) * (conc + disc + ties_b))
    return float((conc - disc) / denom) if denom > 0 else float("nan")


def random_tau(n: int, draws: int = 2000, seed: int = 0) -> tuple[float, float]:
    """Mean and std of tau between a random ranking and a fixed one (chance level)."""
    rng = np.random.default_rng(seed)
    ref = np.arange(n)
    taus = [kendall_tau(ref, rng.permutation(n)) for _ in range(draws)]
    return float(np.mean(taus)), float(np.std(taus))


@dataclass
class RankRow:
    arch: Arch
    key: str
    inherited: float
    standalone: float
    params: int
    flops: int
    train_s: float


@dataclass
class RankCheck:
    space: str
    rows: list[RankRow] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0

    @property
    def tau(self) -> float:
        return kendall_tau([r.inherited for r in self.rows], [r.standalone for r in self.rows])

    def tau_flops(self) -> float:
        """The trivial predictor "more FLOPs, more accuracy", for comparison."""
        return kendall_tau([r.flops for r in self.rows], [r.standalone for r in self.rows])

    def to_dict(self) -> dict[str, Any]:
        mean, std = random_tau(len(self.rows))
        return {"space": self.space, "tau": self.tau, "tau_flops": self.tau_flops(), "random_tau_mean": mean,
                "random_tau_std": std, "standalone_steps": self.steps, "seconds": self.seconds,
                "rows": [r.__dict__ for r in self.rows]}


def run_rank_check(evaluator: Any, archs: list[Arch], steps: int, batch_size: int, seed: int,
                   on_subnet: Callable[[int, RankRow], None] | None = None) -> RankCheck:
    """Inherited-weight val accuracy vs val accuracy after ``steps`` of training from scratch."""
    import time

    import torch

    from .stage1 import train_standalone
    from .training import accuracy

    out = RankCheck(evaluator.space.name, steps=steps)
    t_all = time.perf_counter()
    for i, arch in enumerate(archs):
        inherited = evaluator.evaluate(arch).signal
        costs = evaluator.costs(arch)
        t0 = time.perf_counter()
        trainer = train_standalone(evaluator.ckpt, arch, evaluator.data, steps, batch_size, seed + i,
                                   device=str(evaluator.device))
        acc = accuracy(trainer.net, arch, evaluator.val_x, evaluator.val_y, evaluator.batch_size)
        row = RankRow(arch, evaluator.space.canonical_key(arch), inherited, acc, int(costs["params"]),
                      int(costs["flops"]), time.perf_counter() - t0)
        out.rows.append(row)
        del trainer
        torch.set_grad_enabled(True)
        if on_subnet is not None:
            on_subnet(i, row)
    out.seconds = time.perf_counter() - t_all
    return out
