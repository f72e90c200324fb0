"""Pruning-based subspace sampling (LM-Searcher §3.2 / Fig. 2): training samples from a table.

One *trajectory* is drawn at a time from one :class:`~llmnas.strategies.lmsearcher.sources.Source`:

1. **Prune.** Each decision is fixed to one random option with probability ``p_fix`` (it then
   drops out of the NCode, as a pruned edge does in the paper's figure); each option of a free
   decision is dropped with probability ``p_drop``, keeping at least two. Surviving options are
   re-indexed 0..k'-1 in their original order, so a digit's meaning is local to the subspace.
   The subspace must hold at least ``min_rows`` table architectures; otherwise it is drawn again
   (bounded: after every ``PRUNE_TRIES`` failures both probabilities are halved, and after
   ``PRUNE_LEVELS`` such rounds the whole space is used, marked ``pruned: false``; sparse
   tables such as the 725-row NAS-Bench-301 subset get mild subspaces this way).
2. **Simulate a search.** A random history of ``h0`` subspace architectures is "evaluated";
   then each of ``steps`` steps draws a pool of ``pool_size`` distinct unvisited architectures,
   labels the one with the best table signal (the oracle), writes the sample (prompt built by
   :func:`llmnas.strategies.lmsearcher.prompt.build_messages`, answer = the label's NCode), and adds the
   label to the history, as a search adds the ranker's choice.

Decisions the paper leaves open, and why these: docs/lmsearcher.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np

from . import prompt as lp
from .rankers import oracle
from .sources import Source

PRUNE_TRIES = 50
PRUNE_LEVELS = 4


@dataclass(frozen=True)
class SamplerSettings:
    pool_size: int = lp.DEFAULT_POOL_SIZE
    max_history: int = lp.DEFAULT_MAX_HISTORY
    min_history: int = 5  # the search's warm-up
    max_start_history: int = 100  # histories grow to about a 100-query budget
    steps: int = 4  # samples per trajectory
    p_fix: float = 0.2
    p_drop: float = 0.3

    @property
    def min_rows(self) -> int:
        return self.min_history + self.pool_size + self.steps


@dataclass(frozen=True)
class Subspace:
    kept: tuple[tuple[int, ...], ...]  # per decision, the surviving original option indices
    rows: np.ndarray  # indices into source.rows of the table architectures inside it
    pruned: bool

    @property
    def free(self) -> list[int]:
        return [i for i, k in enumerate(self.kept) if len(k) > 1]

    def widths(self) -> list[int]:
        return [len(str(len(self.kept[i]) - 1)) for i in self.free]

    def ncode(self, original: np.ndarray) -> str:
        """The subspace NCode of one original option-index row (re-indexed, fixed decisions dropped)."""
        parts = []
        for i, w in zip(self.free, self.widths()):
            parts.append(str(self.kept[i].index(int(original[i]))).zfill(w))
        return "".join(parts)


_MASKS: dict[str, list[np.ndarray]] = {}


def _rows_inside(source: Source, kept: list[tuple[int, ...]], need: int) -> np.ndarray | None:
    """Table rows whose every decision takes a kept option; None as soon as fewer than ``need`` remain."""
    masks = _MASKS.get(source.key)
    if masks is None:  # per decision, an (options x rows) table of "row takes this option"
        masks = [source.rows[:, i][None, :] == np.arange(k)[:, None] for i, k in enumerate(source.n_options)]
        _MASKS[source.key] = masks
    mask = None
    for i, k in enumerate(kept):
        if len(k) == source.n_options[i]:
            continue
        m = masks[i][list(k)].any(axis=0)
        mask = m if mask is None else mask & m
        if np.count_nonzero(mask) < need:
            return None
    return np.flatnonzero(mask) if mask is not None else np.arange(len(source))


def prune(source: Source, s: SamplerSettings, rng: np.random.Generator) -> Subspace:
    """A random subspace holding at least ``s.min_rows`` architectures of the table (bounded)."""
    need = min(s.min_rows, len(source))
    for attempt in range(PRUNE_LEVELS * PRUNE_TRIES):
        level = attempt // PRUNE_TRIES  # milder pruning after each PRUNE_TRIES failures
        p_fix, p_drop = s.p_fix / 2 ** level, s.p_drop / 2 ** level
        kept = []
        for k in source.n_options:
            if k == 1 or rng.random() < p_fix:
                kept.append((int(rng.integers(k)),))
                continue
            keep = [o for o in range(k) if rng.random() >= p_drop]
            if len(keep) < 2:
                extra = [o for o in rng.permutation(k).tolist() if o not in keep]
                keep = sorted(keep + extra[:2 - len(keep)])
            kept.append(tuple(keep))
        if all(len(k) == 1 for k in kept):
            continue
        rows = _rows_inside(source, kept, need)
        if rows is not None:
            return Subspace(tuple(kept), rows, True)
    whole = tuple(tuple(range(k)) for k in source.n_options)
    return Subspace(whole, np.arange(len(source)), False)


FORMATS = ("chat", "ncode")


def trajectory(source: Source, s: SamplerSettings, rng: np.random.Generator, seed: int,
               trajectory_id: int, fmt: str = "chat") -> Iterator[dict[str, Any]]:
    """The training samples of one simulated search in one random subspace.

    ``fmt="chat"``: the chat messages of the LLM ranker (prompt + answer). ``fmt="ncode"``: the
    same step as data for the NCode ranker model: ``history`` (NCode, raw signal) in the order
    the simulated search evaluated them (all of it, not capped), ``pool`` (NCode, raw signal) and
    ``label`` (index of the best candidate). Both formats draw the same random numbers, so the
    same seed gives the same steps in either format."""
    sub = prune(source, s, rng)
    order = rng.permutation(sub.rows)
    most = max(1, min(s.max_start_history, len(order) - s.pool_size - s.steps))
    h0 = int(rng.integers(min(s.min_history, most), most + 1))
    history, unvisited = list(order[:h0]), list(order[h0:])
    memo: dict[int, str] = {}

    def code(r: int) -> str:  # only the rows a sample shows are encoded
        r = int(r)
        if r not in memo:
            memo[r] = sub.ncode(source.rows[r])
        return memo[r]

    for step in range(s.steps):
        if len(unvisited) < 2:
            return
        take = min(s.pool_size, len(unvisited))
        picks = rng.choice(len(unvisited), size=take, replace=False)
        pool = [unvisited[int(i)] for i in picks]
        scores = [float(source.signal[r]) for r in pool]
        label = pool[oracle(scores)]
        meta: dict[str, Any] = {
            "benchmark": source.benchmark, "dataset": source.dataset, "space": source.benchmark,
            "seed": seed, "trajectory": trajectory_id, "step": step, "pool_size": take,
            "history_len": len(history), "label_score": float(source.signal[label]),
            "signal": source.signal_name, "subspace": [list(k) for k in sub.kept],
            "pruned": sub.pruned, "subspace_size": int(len(sub.rows)),
            "prompt_version": lp.PROMPT_VERSION,
        }
        if fmt == "ncode":
            meta["format"] = "ncode"
            yield {"history": [[code(r), float(source.signal[r])] for r in history],
                   "pool": [[code(r), float(source.signal[r])] for r in pool],
                   "label": pool.index(label), "meta": meta}
        else:
            shown = [(code(r), float(source.signal[r])) for r in history]
            messages = lp.build_messages(shown, [code(r) for r in pool], s.max_history)
            yield {"messages": [*messages, lp.answer_message(code(label))], "meta": meta}
        history.append(label)
        unvisited.remove(label)
