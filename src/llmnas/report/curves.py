"""Best-so-far curves per study: the incumbent (best eligible signal) after each query."""

from __future__ import annotations

import numpy as np

from ..types import OK, Trial


def incumbent_curve(trials: list[Trial], metric: str = "report") -> np.ndarray:
    """Value of ``metric`` ("report" or "signal") of the best-by-signal eligible trial after
    each evaluated query; NaN until the first eligible evaluation."""
    out, best = [], None
    for t in trials:
        if t.status != OK:
            continue
        if t.feasible and t.score is not None and (best is None or t.score > best.score):
            best = t
        out.append(np.nan if best is None else getattr(best, metric))
    return np.array(out, dtype=float)


def round_starts(trials: list[Trial]) -> list[int]:
    """Query numbers (1-based) at which a new round (an LLM iteration) began evaluating;
    empty when every round proposed a single architecture."""
    starts, last, sizes, n = [], None, {}, 0
    for t in trials:
        sizes[t.round] = sizes.get(t.round, 0) + 1
        if t.status != OK:
            continue
        n += 1
        if t.round != last:
            starts.append(n)
            last = t.round
    return starts if sizes and max(sizes.values()) > 1 else []
