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


def additive(history: Sequence[Indices], scores: Sequence[float], pool: Sequence[Indices]) -> int:
    """Index into ``pool`` of the best candidate under the in-context additive per-decision model.

    Scores are min-max normalised over ``history`` (higher = better; all equal: all 1). A
    candidate's value is the mean, over its decisions, of the mean normalised score of the
    history entries that share its option at that decision; a decision whose option no history
    entry has counts at the history's mean score. Ties go to pool order. With an empty history
    the first candidate is chosen."""
    if not pool:
        raise ValueError("additive needs a non-empty pool")
    if not history:
        return 0
    values = additive_values(history, scores, pool)
    return max(range(len(pool)), key=lambda i: (values[i], -i))


def additive_values(history: Sequence[Indices], scores: Sequence[float], pool: Sequence[Indices]) -> list[float]:
    """The additive model's value of every candidate (see :func:`additive`)."""
    lo, hi = min(scores), max(scores)
    norm = [(s - lo) / (hi - lo) if hi > lo else 1.0 for s in scores]
    prior = sum(norm) / len(norm)
    sums: dict[tuple[int, int], list[float]] = {}
    for entry, value in zip(history, norm):
        for pos, opt in enumerate(entry):
            cell = sums.setdefault((pos, int(opt)), [0.0, 0.0])
            cell[0] += value
            cell[1] += 1.0
    out = []
    for cand in pool:
        parts = [sums[(p, int(o))][0] / sums[(p, int(o))][1] if (p, int(o)) in sums else prior
                 for p, o in enumerate(cand)]
        out.append(sum(parts) / len(parts) if parts else prior)
    return out
