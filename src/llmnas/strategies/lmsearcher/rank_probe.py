"""The rank probe: how well each ranker picks from a pool on held-out steps (``llmnas lmsearcher rank-probe``).

Steps come from the same pruning sampler as the training data (:func:`llmnas.strategies.lmsearcher.sampler.
trajectory`), on tables left out of the packaged models' training (NAS-Bench-201 CIFAR-100 and
ImageNet16-120 by default), from a seed of their own. For each step every ranker picks one
candidate; its *true rank* is 1 + the number of pool candidates with a strictly higher table
signal. Reported: mean true rank (random: the exact expectation over the pool, about 5.5 with 10
candidates; oracle 1.0) with its standard error, top-1 share and mean regret (signal points).

Rankers: ``ncode`` (the NCode ranker model), ``closest``, ``additive``, ``random``, ``oracle``,
and ``llm`` (a model served by the embedded runtime, e.g. the LoRA ``lmsearcher-ranker``, asked
with the search's own prompt and constrained to the listed codes; slow on a CPU, so it may be
limited to the first ``llm_steps`` steps of each table).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from ...seeding import child_rng
from . import prompt as lp
from .rankers import additive, closest_to_best
from .sampler import SamplerSettings, trajectory
from .sources import load_source, select

DEFAULT_TABLES = ["nb201:cifar100", "nb201:imagenet16-120"]
UNLISTED = -1  # what a picker returns when its model named no pool candidate


@dataclass
class ProbeStep:
    history: list[tuple[str, float]]
    pool: list[str]
    scores: np.ndarray

    def rank_of(self, i: int) -> int:
        return 1 + int(np.sum(self.scores > self.scores[i]))


@dataclass
class RankerRow:
    table: str
    ranker: str
    ranks: list[float] = field(default_factory=list)
    top1: list[float] = field(default_factory=list)
    regret: list[float] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""
    unlisted: int = 0  # steps whose answer named no pool candidate (counted at the random expectation)

    @property
    def n(self) -> int:
        return len(self.ranks)

    def mean_rank(self) -> float:
        return float(np.mean(self.ranks)) if self.ranks else math.nan

    def se(self) -> float:
        return float(np.std(self.ranks, ddof=1) / math.sqrt(self.n)) if self.n > 1 else math.nan


STEP_KINDS = ("sampler", "search")


def probe_steps(table: str, n: int, seed: int, pool_size: int = lp.DEFAULT_POOL_SIZE,
                kind: str = "sampler") -> list[ProbeStep]:
    """``n`` steps on one table (``benchmark:dataset``): of the training-data sampler (pruned
    subspaces, re-indexed codes), or of the search loop itself (``kind="search"``: warm-up and
    earlier picks as history, pools of unvisited cells of the whole space, whole-space codes;
    :mod:`~llmnas.strategies.lmsearcher.search_steps`, a perfect ranker acting)."""
    from ...errors import ConfigError

    pairs = select([table], None)
    if len(pairs) != 1:
        raise ConfigError(f"--tables {table!r}: name one benchmark:dataset (e.g. nb201:cifar100)")
    if kind not in STEP_KINDS:
        raise ConfigError(f"--steps-from {kind!r}: choose one of {', '.join(STEP_KINDS)}")
    src = load_source(*pairs[0])
    if kind == "search":
        from .search_steps import search_steps

        out = []
        for _key, rec in search_steps([src], seed, pools=(pool_size,)):
            if len(out) >= n:
                break
            out.append(ProbeStep([(c, float(v)) for c, v in rec["history"]], [c for c, _ in rec["pool"]],
                                 np.array([v for _, v in rec["pool"]], dtype=np.float64)))
        return out
    settings = SamplerSettings(pool_size=pool_size)
    rng = child_rng(seed, f"rank-probe:{src.key}")
    out: list[ProbeStep] = []
    t = 0
    while len(out) < n:
        for rec in trajectory(src, settings, rng, seed, t, fmt="ncode"):
            out.append(ProbeStep([(c, float(s)) for c, s in rec["history"]], [c for c, _ in rec["pool"]],
                                 np.array([s for _, s in rec["pool"]], dtype=np.float64)))
            if len(out) >= n:
                break
        t += 1
    return out


def _digits(code: str) -> tuple[int, ...]:
    return tuple(int(ch) for ch in code)


def pick_closest(step: ProbeStep) -> int:
    ranked = sorted(step.history, key=lambda e: -e[1])
    return closest_to_best([_digits(c) for c, _ in ranked], [_digits(c) for c in step.pool])


def pick_additive(step: ProbeStep) -> int:
    return additive([_digits(c) for c, _ in step.history], [s for _, s in step.history],
                    [_digits(c) for c in step.pool])


def run_probe(tables: Sequence[str], n: int, seed: int, rankers: dict[str, Callable[[ProbeStep], int]],
              limits: dict[str, int] | None = None, on_step: Callable[[str, str], None] | None = None,
              kind: str = "sampler") -> list[RankerRow]:
    """One row per (table, ranker); ``limits`` caps the steps of a slow ranker (its first ones);
    ``kind``: the steps' origin (:func:`probe_steps`)."""
    rows: list[RankerRow] = []
    for table in tables:
        steps = probe_steps(table, n, seed, kind=kind)
        random_row = RankerRow(table, "random (exact expectation)")
        for s in steps:
            ranks = [s.rank_of(i) for i in range(len(s.pool))]
            random_row.ranks.append(float(np.mean(ranks)))
            random_row.top1.append(float(np.mean([r == 1 for r in ranks])))
            random_row.regret.append(float(s.scores.max() - s.scores.mean()))
        oracle_row = RankerRow(table, "oracle")
        for s in steps:
            i = int(np.argmax(s.scores))
            oracle_row.ranks.append(s.rank_of(i))
            oracle_row.top1.append(1.0)
            oracle_row.regret.append(0.0)
        for name, pick in rankers.items():
            row = RankerRow(table, name)
            limit = (limits or {}).get(name, n)
            began = time.perf_counter()
            for s in steps[:limit]:
                i = pick(s)
                if i == UNLISTED:
                    ranks = [s.rank_of(j) for j in range(len(s.pool))]
                    row.ranks.append(float(np.mean(ranks)))
                    row.top1.append(float(np.mean([r == 1 for r in ranks])))
                    row.regret.append(float(s.scores.max() - s.scores.mean()))
                    row.unlisted += 1
                    continue
                if not 0 <= i < len(s.pool):
                    raise AssertionError(f"ranker {name} answered index {i} outside the pool of {len(s.pool)}")
                row.ranks.append(s.rank_of(i))
                row.top1.append(float(s.rank_of(i) == 1))
                row.regret.append(float(s.scores.max() - s.scores[i]))
                if on_step is not None:
                    on_step(table, name)
            row.seconds = time.perf_counter() - began
            if limit < n:
                row.note = f"first {limit} of {n} steps"
            rows.append(row)
        rows += [random_row, oracle_row]
    return rows


def llm_picker(model: str, max_reasks: int = 1) -> tuple[Callable[[ProbeStep], int], Any]:
    """A picker that asks an embedded model with the search's own prompt, constrained to the pool.

    A step whose reply names no listed candidate (after ``max_reasks``) returns ``UNLISTED``
    and counts at the random expectation of its pool."""
    from ...errors import LLMReplyError
    from ...llm import LLMSettings, make_client

    client = make_client(LLMSettings(backend="embedded", model=model, max_reasks=max_reasks, temperature=0.0))

    def pick(step: ProbeStep) -> int:
        messages = lp.build_messages(step.history, step.pool)
        try:
            reply = client.chat(messages, schema=lp.answer_schema(step.pool), purpose="ranker", temperature=0.0,
                                max_tokens=len(step.pool[0]) + 16, seed=0,
                                validate=lambda v: None if lp.parse_choice(v, step.pool)[0] else "not listed")
            value = reply.parsed if isinstance(reply.parsed, str) else reply.text
            choice, _ = lp.parse_choice(value, step.pool)
        except LLMReplyError:
            choice = None
        return UNLISTED if choice is None else step.pool.index(choice)

    return pick, client
