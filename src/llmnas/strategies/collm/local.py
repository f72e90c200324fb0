"""The Coordinator's computed context and local proposals (``proposals: local``; not in the paper).

A small model proposing freely copies and drifts (docs/collm.md §9): it repeats codes already
evaluated and edits at random. Here the Coordinator (plain code) takes that freedom away where it
only harms, and hands the models what a careful analyst computes first:

* :func:`option_stats` / :func:`stats_block`: per decision and option, how many evaluated
  architectures use it and their mean and best signal (the Navigator's table);
* :func:`elites_block`: the best architectures so far, as codes with their signal;
* :func:`neighbourhood`: the *allowed set* of an iteration, every legal, unvisited code within
  ``distance`` changed decisions of the anchors (the elites the strategy names), without options the
  strategy says to avoid; capped at ``cap`` codes by a seeded uniform draw;
* :func:`trie_pattern`: that set as one anchored regular expression (a trie, so it stays small),
  which becomes the Generator's JSON-schema ``pattern``: decoding cannot leave the allowed set, so
  every code the model writes is legal and new, and the model's choice is *which* edits to make.

The LLM-off control (``generator: random``) draws its candidates uniformly from the same allowed
set, so the difference between the two is what the model's choices add.
"""

from __future__ import annotations

import itertools
import math
import statistics
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from ...spaces.base import SearchSpace
from ...types import Trial

#: how far the strategy's ``explore`` word lets candidates move from their anchor (changed decisions)
EXPLORE_DISTANCE = {"little": 1, "some": 2, "much": 3}


@dataclass(frozen=True)
class OptionStat:
    decision: str
    option: Any
    count: int
    mean: float | None
    best: float | None


def option_stats(trials: Iterable[Trial], space: SearchSpace, higher: bool = True) -> list[list[OptionStat]]:
    """Per decision (in space order), per option: count, mean and best signal of the trials that
    use it. Trials without a signal (failed, not evaluated) are left out; "best" is the largest
    signal when ``higher`` (a maximised objective), else the smallest."""
    values: list[list[list[float]]] = [[[] for _ in d.options] for d in space.decisions]
    for t in trials:
        if t.signal is None:
            continue
        try:
            idx = space.to_indices(t.arch)
        except Exception:  # noqa: BLE001 - an arch that no longer fits is simply not counted
            continue
        for i, j in enumerate(idx):
            values[i][j].append(float(t.signal))
    out = []
    for d, per in zip(space.decisions, values):
        row = []
        for o, v in zip(d.options, per):
            best = (max(v) if higher else min(v)) if v else None
            row.append(OptionStat(d.name, o, len(v), float(np.mean(v)) if v else None, best))
        out.append(row)
    return out


def stats_block(trials: Sequence[Trial], space: SearchSpace, higher: bool = True, limit: int = 40,
                compact: bool = False, signal: str = "signal") -> str:
    """The Navigator's table: one line per decision, ``option index=name mean/best (count)``.

    ``compact``: per decision only the options used so far, best mean first, as ``name mean
    (count)``; the best per option is left out (the elites list shows the best architectures),
    which halves the block's tokens.
    Decisions with a single option are skipped; beyond ``limit`` decisions only the ``limit``
    with the widest spread of option means are shown (the rest named by count)."""
    rows = [r for r in option_stats(trials, space, higher) if len(r) > 1]
    n = sum(1 for t in trials if t.signal is not None)
    if not n:
        return "Per-option statistics: none yet (no architecture has a score)."
    if len(rows) > limit:
        def spread(r: list[OptionStat]) -> float:
            means = [s.mean for s in r if s.mean is not None]
            return max(means) - min(means) if len(means) > 1 else 0.0
        keep = set(map(id, sorted(rows, key=spread, reverse=True)[:limit]))
        hidden = len(rows) - limit
        rows = [r for r in rows if id(r) in keep]
    else:
        hidden = 0
    if compact:
        lines = [f"Mean {signal} per option over the {n} evaluated architectures, best first, with counts "
                 "(options not used yet are left out):"]
        for r in rows:
            used = sorted((s for s in r if s.count), key=lambda s: s.mean if higher else -s.mean,  # type: ignore[operator]
                          reverse=True)
            sep = ": " if any(_numeric(s.option) for s in r) else " "  # "5: 71.2 (4)", not "5 71.2 (4)"
            lines.append(f"- {r[0].decision}: "
                         + ", ".join(f"{s.option}{sep}{_num(s.mean)} ({s.count})" for s in used))
    else:
        lines = [f"Per-option statistics over the {n} evaluated architectures (option: mean / best signal, count):"]
        for r in rows:
            parts = [f"{j}={s.option} " + (f"{_num(s.mean)}/{_num(s.best)} ({s.count})" if s.count else "-")
                     for j, s in enumerate(r)]
            lines.append(f"- {r[0].decision}: " + "; ".join(parts))
    if hidden:
        lines.append(f"({hidden} more decisions with a narrower spread of means are not shown)")
    return "\n".join(lines)


def stats_preferences(trials: Sequence[Trial], space: SearchSpace, higher: bool = True,
                      min_count: int = 2) -> dict[str, list[str]]:
    """The non-LLM analyst: per decision, favour the option with the best mean signal and avoid the
    one with the worst, among options used at least ``min_count`` times (``decision=option``)."""
    favour, avoid = [], []
    for row in option_stats(trials, space, higher):
        seen = [s for s in row if s.count >= min_count and s.mean is not None]
        if len(seen) < 2:
            continue
        ranked = sorted(seen, key=lambda s: s.mean if higher else -s.mean)  # type: ignore[operator]
        favour.append(f"{ranked[-1].decision}={ranked[-1].option}")
        avoid.append(f"{ranked[0].decision}={ranked[0].option}")
    return {"favour": favour, "avoid": avoid}


def halves(trials: Sequence[Trial], space: SearchSpace, higher: bool = True) -> tuple[list[str], list[str]]:
    """``decision=option`` pairs whose mean signal is at least / at most the median of their
    decision's option means (options not used yet are in neither). In local mode the strategy's
    "favour" is held to the first list and "avoid" to the second: the small model may choose,
    but not favour an option the evaluations so far rate below the middle."""
    better, worse = [], []
    for row in option_stats(trials, space, higher):
        seen = [s for s in row if s.mean is not None]
        if len(seen) < 2:
            continue
        mid = float(statistics.median([s.mean for s in seen]))  # np.median compiles code on first use
        for s in seen:
            good = s.mean >= mid if higher else s.mean <= mid  # type: ignore[operator]
            bad = s.mean <= mid if higher else s.mean >= mid  # type: ignore[operator]
            if good:
                better.append(f"{s.decision}={s.option}")
            if bad:
                worse.append(f"{s.decision}={s.option}")
    return better, worse


def elites(trials: Sequence[Trial], k: int, rank: Callable[[Trial], Any]) -> list[Trial]:
    """The ``k`` best evaluated trials (by ``rank``), one per architecture key."""
    out, seen = [], set()
    for t in sorted((t for t in trials if t.signal is not None), key=rank, reverse=True):
        if t.key in seen:
            continue
        seen.add(t.key)
        out.append(t)
        if len(out) >= k:
            break
    return out


def elites_block(top: Sequence[Trial], code: Callable[[Any], str], signal: str) -> str:
    if not top:
        return "Best architectures so far: none yet."
    lines = [f"Best architectures so far ({signal}):"]
    lines += [f"- {code(t.arch)} {_num(t.signal)}" + ("" if t.feasible else " (breaks the constraint)") for t in top]
    return "\n".join(lines)


def neighbourhood(space: SearchSpace, anchors: Sequence[Any], distance: int, is_visited: Callable[[str], bool],
                  rng: np.random.Generator, cap: int, avoid: Iterable[tuple[int, int]] = ()) -> list[str]:
    """Allowed codes: every legal code within ``distance`` changed decisions of an anchor, whose
    canonical key is not visited, one code per key, without a change *to*
    an avoided ``(decision index, option index)``. Anchors are walked in order (the best first)
    and their neighbourhoods nearest-first; a set larger than ``cap`` is cut to ``cap`` codes by a
    uniform draw (``rng``) that keeps every anchor's distance-1 codes when they fit."""
    avoided = set(avoid)
    seen: set[str] = set()
    near: list[str] = []   # distance 1 of every anchor
    far: list[str] = []    # distance 2..distance
    widths = [len(d.options) for d in space.decisions]
    budget = max(cap * 20, 5000)  # a bound on the walk in very large spaces
    walked = 0
    for anchor in anchors:
        base = space.to_indices(anchor)
        for dist in range(1, max(1, distance) + 1):
            for pos in _positions(len(widths), dist, rng, budget):
                choices = [[j for j in range(widths[p]) if j != base[p] and (p, j) not in avoided] for p in pos]
                if any(not c for c in choices):
                    continue
                for opts in itertools.product(*choices):
                    walked += 1
                    if walked > budget * 4:
                        break
                    idx = list(base)
                    for p, j in zip(pos, opts):
                        idx[p] = j
                    arch = space.from_indices(idx)
                    if space.rule_problem(arch) is not None:
                        continue
                    key = space.canonical_key(arch)
                    if key in seen or is_visited(key):
                        continue
                    seen.add(key)
                    (near if dist == 1 else far).append(space.to_ncode(arch))
    if len(near) + len(far) <= cap:
        return near + far
    if len(near) >= cap:
        pick = rng.choice(len(near), size=cap, replace=False)
        return [near[i] for i in sorted(pick)]
    pick = rng.choice(len(far), size=cap - len(near), replace=False)
    return near + [far[i] for i in sorted(pick)]


def _positions(n: int, k: int, rng: np.random.Generator, budget: int) -> Iterable[tuple[int, ...]]:
    """Every set of ``k`` of ``n`` positions, or a random ``budget`` of them when there are more."""
    total = math.comb(n, k)
    if total <= budget:
        return itertools.combinations(range(n), k)
    return (tuple(sorted(rng.choice(n, size=k, replace=False).tolist())) for _ in range(budget))


def trie_pattern(codes: Sequence[str]) -> str:
    """An anchored regular expression that matches exactly ``codes`` (equal-length digit strings),
    written as a trie with shared suffixes merged into character classes, e.g.
    ``["310", "311", "320"]`` -> ``^3(1[01]|20)$``."""
    if not codes:
        raise ValueError("trie_pattern needs at least one code")
    trie: dict[str, Any] = {}
    for c in codes:
        node = trie
        for ch in c:
            node = node.setdefault(ch, {})
        node[""] = {}
    memo: dict[int, str] = {}

    def emit(node: dict[str, Any]) -> str:
        key = id(node)
        if key in memo:
            return memo[key]
        if not node or set(node) == {""}:
            memo[key] = ""
            return ""
        by_tail: dict[str, list[str]] = {}
        for ch, child in node.items():
            if ch == "":
                continue
            by_tail.setdefault(emit(child), []).append(ch)
        alts = [_char_class(chs) + tail for tail, chs in by_tail.items()]
        alts.sort()
        out = alts[0] if len(alts) == 1 else "(" + "|".join(alts) + ")"
        memo[key] = out
        return out

    return "^" + emit(trie) + "$"


def _char_class(chars: list[str]) -> str:
    chars = sorted(chars)
    if len(chars) == 1:
        return chars[0]
    digits = [int(c) for c in chars]
    if digits == list(range(digits[0], digits[-1] + 1)):
        return f"[{digits[0]}-{digits[-1]}]"
    return "[" + "".join(chars) + "]"


def position_groups(space: SearchSpace, codes: Sequence[str], anchors: Sequence[str], k: int,
                    rng: np.random.Generator) -> list[list[str]]:
    """Deal ``codes`` into ``k`` disjoint groups by what they change: a bucket per (nearest anchor,
    changed decisions), the buckets shuffled and dealt round-robin, so each group holds whole
    buckets and the groups spread over anchors and decisions (a model that copies a code's
    prefix then still edits every position). Fewer buckets than ``k``: the largest are split."""
    layout = space.ncode_layout()
    buckets: dict[tuple[Any, ...], list[str]] = {}
    for c in codes:
        a, _ = changed(space, c, anchors)
        pos = tuple(i for i, (_, p, w) in enumerate(layout) if a is not None and c[p:p + w] != a[p:p + w])
        buckets.setdefault((a, pos), []).append(c)
    parts = [buckets[key] for key in sorted(buckets, key=str)]
    parts = [parts[int(i)] for i in rng.permutation(len(parts))]
    while len(parts) < k:
        big = max(range(len(parts)), key=lambda i: len(parts[i]))
        if len(parts[big]) < 2:
            break
        b = parts.pop(big)
        parts += [b[: len(b) // 2], b[len(b) // 2:]]
    groups: list[list[str]] = [[] for _ in range(min(k, len(parts)))]
    for i, part in enumerate(parts):
        groups[i % len(groups)].extend(part)
    return [sorted(g) for g in groups]


def changed(space: SearchSpace, code: str, anchors: Sequence[str]) -> tuple[str | None, int]:
    """The nearest anchor code of ``code`` and the number of decisions it changes."""
    layout = space.ncode_layout()
    best: tuple[str | None, int] = (None, len(layout) + 1)
    for a in anchors:
        d = sum(code[p:p + w] != a[p:p + w] for _, p, w in layout)
        if d < best[1]:
            best = (a, d)
    return best


def _numeric(option: Any) -> bool:
    try:
        float(str(option))
    except ValueError:
        return False
    return True


def _num(v: float | None) -> str:
    """Three significant digits: both embedded tokenizers spend a token on every digit."""
    if v is None:
        return "-"
    return f"{v:.3g}"
