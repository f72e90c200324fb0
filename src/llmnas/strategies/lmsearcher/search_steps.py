"""NCode training steps taken from the search loop itself, beside the pruned-subspace samples.

The pruning-based sampler (:mod:`~llmnas.strategies.lmsearcher.sampler`) draws histories of
random cells of a random subspace. The deployed ranker sees something else: a warm-up of
random cells of the whole space, then the cells it picked, and pools of unvisited random cells
of the whole space. These steps come from that loop: on each training table, ``warmup`` random
cells, then ``budget - warmup`` steps, each a pool of ``pool_size`` distinct unvisited random
cells labelled with its best signal; the picked cell is the label (a perfect ranker acts, so no
model is needed to make the data and the same seed gives the same file). Pool sizes cycle over
``pools`` by trajectory (e.g. 10, 10, 50: two of three trajectories at the paper's 10).

Steps are ncode-format records (``history``, ``pool`` with signals, ``label``, ``meta``) that
:func:`~llmnas.strategies.lmsearcher.ncode_train.read_steps` reads like the sampler's;
``meta.source`` is ``"on-policy"`` (the loop's own states, not a pruned subspace).
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np

from ...errors import ConfigError
from ...seeding import child_rng
from .rankers import oracle
from .sampler import Subspace
from .sources import Source

DEFAULT_POOLS = (10, 10, 50)
DEFAULT_BUDGET = 100
DEFAULT_WARMUP = 5


def check(pools: Sequence[int], budget: int, warmup: int, sources: Sequence[Source]) -> None:
    if not pools or any(p < 2 for p in pools):
        raise ConfigError(f"--search-pools {','.join(map(str, pools))}: every pool size must be at least 2")
    if warmup < 1 or budget <= warmup:
        raise ConfigError(f"--search-budget {budget} must exceed the warm-up ({warmup})")
    for src in sources:
        if len(src) < budget + max(pools):
            raise ConfigError(f"{src.key} holds {len(src)} architectures, too few for a search of {budget} with pools "
                              f"of {max(pools)}; lower --search-budget or --search-pools, or --exclude it")


def search_steps(order: Sequence[Source], seed: int, pools: Sequence[int] = DEFAULT_POOLS,
                 budget: int = DEFAULT_BUDGET, warmup: int = DEFAULT_WARMUP) -> Iterator[tuple[str, dict[str, Any]]]:
    """(table key, record) of every step, trajectory ``t`` on table ``order[t % len(order)]``
    with its own random stream (seed, table, t), endlessly; the caller stops."""
    t = 0
    while True:
        src = order[t % len(order)]
        rng = child_rng(seed, f"onpolicy:{src.key}:{t}")
        whole = Subspace(tuple(tuple(range(k)) for k in src.n_options), np.arange(len(src)), False)
        pool_size = int(pools[t % len(pools)])
        history = [int(r) for r in rng.permutation(len(src))[:warmup]]
        visited = set(history)
        memo: dict[int, str] = {}

        def code(r: int) -> str:
            if r not in memo:
                memo[r] = whole.ncode(src.rows[r])
            return memo[r]

        for step in range(budget - warmup):
            cand: list[int] = []
            while len(cand) < pool_size:
                r = int(rng.integers(len(src)))
                if r not in visited and r not in cand:
                    cand.append(r)
            sig = [float(src.signal[r]) for r in cand]
            label = oracle(sig)
            rec = {"history": [[code(r), float(src.signal[r])] for r in history],
                   "pool": [[code(r), s] for r, s in zip(cand, sig)], "label": label,
                   "meta": {"benchmark": src.benchmark, "dataset": src.dataset, "trajectory": t, "step": step,
                            "pool_size": pool_size, "format": "ncode", "source": "on-policy"}}
            yield src.key, rec
            history.append(cand[label])
            visited.add(cand[label])
        t += 1
