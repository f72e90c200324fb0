"""Non-LLM rankers that do the LLM ranker's job: pick one candidate from a pool.

``closest`` is the baseline the LLM ranker has to beat (and the fallback when the model never
names a listed candidate): the candidate nearest, in number of differing decisions, to the best
architecture so far; ties go to the candidate nearest the second best, then the third, and so
on, then to pool order. ``oracle`` (used to label training data) picks the best true score.
"""

from __future__ import annotations

from typing import Sequence

Indices = Sequence[int]


def hamming(a: Indices, b: Indices) -> int:
    """Number of decisions on which two option-index tuples differ."""
    return sum(1 for x, y in zip(a, b) if x != y)


def closest_to_best(ranked_history: Sequence[Indices], pool: Sequence[Indices]) -> int:
    """Index into ``pool`` of the candidate closest to the best history entry.

    ``ranked_history`` is best first. With an empty history the first candidate is chosen.
    """
    if not pool:
        raise ValueError("closest_to_best needs a non-empty pool")
    alive = list(range(len(pool)))
    for ref in ranked_history:
        dists = [hamming(pool[i], ref) for i in alive]
        low = min(dists)
        alive = [i for i, d in zip(alive, dists) if d == low]
        if len(alive) == 1:
            break
    return alive[0]


def oracle(scores: Sequence[float]) -> int:
    """Index of the highest score (the first one on ties)."""
    if not scores:
        raise ValueError("oracle needs at least one score")
    best = 0
    for i, s in enumerate(scores):
        if s > scores[best]:
            best = i
    return best
