"""The NCode ranker model: a small transformer that reads one LM-Searcher step and picks a candidate.

One step is what the LLM ranker reads: the evaluated NCodes with their scores and a pool of
candidate NCodes. Here each NCode is one *token*. Its embedding is the sum of learned
embeddings of its (character position, digit) pairs (the vocabulary: 10 digits at each of
``max_len`` positions), plus, for an evaluated entry, the embeddings of two score tokens (its
score quantised into ``bins`` bins twice: rank-normalised within the step and min-max
normalised over the whole history), or, for a candidate, a "candidate" role token. A
stack of pre-norm transformer layers follows, with a mask: every token attends to every evaluated
entry and to itself, so candidates never see one another and no order is encoded (the history is
a set; pool order cannot bias the pick). Two heads read each candidate's final state:

* ``pick``: one logit per candidate; softmax over the pool = the model's answer (trained with
  cross-entropy on the best candidate, the ``make-data`` label);
* ``bins``: the candidate's predicted score bin (the share of the shown history it beats,
  ``bins`` bins; trained with cross-entropy on the true bin), an auxiliary target with ten
  labels per step instead of one.

The answer is the pool candidate with the highest ``pick`` logit, so it can never lie outside
the pool. Pure torch; the same code trains and serves.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Sequence

import numpy as np

HISTORY, CANDIDATE = 0, 1


@dataclass(frozen=True)
class ModelShape:
    d_model: int = 128
    layers: int = 4
    heads: int = 8
    ff: int = 512
    max_len: int = 40  # longest NCode, in characters
    bins: int = 32
    max_history: int = 128  # best entries shown per step

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


@dataclass
class Step:
    """One step as arrays: entry tokens (history first, then the pool)."""

    digits: np.ndarray  # (T, max_len) int64: position * 10 + digit + 1, 0 = no character
    rank_bin: np.ndarray  # (T,) int64, history only (0 for candidates)
    mm_bin: np.ndarray  # (T,) int64
    role: np.ndarray  # (T,) int64: HISTORY or CANDIDATE
    n_history: int
    target_bin: np.ndarray | None = None  # (n_pool,) true score bin of each candidate (training)
    label: int = -1  # index of the best candidate in the pool (training)
    pool_scores: np.ndarray | None = None  # (n_pool,) true signals (validation: true rank)


def _bin(x: np.ndarray, bins: int) -> np.ndarray:
    return np.clip((x * bins).astype(np.int64), 0, bins - 1)


def encode_codes(codes: Sequence[str], max_len: int) -> np.ndarray:
    out = np.zeros((len(codes), max_len), dtype=np.int64)
    for i, code in enumerate(codes):
        if len(code) > max_len:
            raise ValueError(f"NCode {code[:50]!r} has {len(code)} characters; this model reads at most {max_len}")
        for p, ch in enumerate(code):
            d = ord(ch) - 48
            if not 0 <= d <= 9:
                raise ValueError(f"NCode {code[:50]!r} is not a digit string")
            out[i, p] = p * 10 + d + 1
    return out


def beaten_share(history_scores: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Share of ``history_scores`` each score beats (ties count half), in [0, 1]."""
    if len(history_scores) == 0:
        return np.full(len(scores), 0.5)
    h = np.sort(history_scores)
    below = np.searchsorted(h, scores, side="left")
    upto = np.searchsorted(h, scores, side="right")
    return (below + 0.5 * (upto - below)) / len(h)


def featurise(history: Sequence[tuple[str, float]], pool: Sequence[str], shape: ModelShape,
              pool_scores: Sequence[float] | None = None, label: int = -1) -> Step:
    """The arrays of one step. ``history`` holds (NCode, score), higher = better, any order.

    The ``max_history`` best finite entries are shown; min-max bins use the whole history."""
    kept = [(c, float(s)) for c, s in history if s is not None and math.isfinite(float(s))]
    scores = np.array([s for _, s in kept], dtype=np.float64)
    if len(kept):
        lo, hi = scores.min(), scores.max()
        mm = (scores - lo) / (hi - lo) if hi > lo else np.ones_like(scores)
        order = np.argsort(-scores, kind="stable")[:shape.max_history]
    else:
        mm, order = scores, np.zeros(0, dtype=np.int64)
    shown = scores[order]
    n = len(order)
    rank = beaten_share(shown, shown) * n / max(1, n - 1) - 0.5 / max(1, n - 1) if n > 1 else np.ones(n)
    codes = [kept[i][0] for i in order] + list(pool)
    role = np.array([HISTORY] * n + [CANDIDATE] * len(pool), dtype=np.int64)
    rank_bin = np.concatenate([_bin(np.asarray(rank), shape.bins), np.zeros(len(pool), dtype=np.int64)])
    mm_bin = np.concatenate([_bin(mm[order], shape.bins), np.zeros(len(pool), dtype=np.int64)])
    step = Step(encode_codes(codes, shape.max_len), rank_bin, mm_bin, role, n, label=label)
    if pool_scores is not None:
        ps = np.asarray(pool_scores, dtype=np.float64)
        step.pool_scores = ps
        step.target_bin = _bin(beaten_share(shown, ps), shape.bins)
    return step


def collate(steps: Sequence[Step], torch: Any, device: Any = None) -> dict[str, Any]:
    """Pad a list of steps into batch tensors (pad tokens: role HISTORY, valid False)."""
    T = max(len(s.role) for s in steps)
    B, L = len(steps), steps[0].digits.shape[1]
    digits = np.zeros((B, T, L), dtype=np.int64)
    rank_bin = np.zeros((B, T), dtype=np.int64)
    mm_bin = np.zeros((B, T), dtype=np.int64)
    role = np.zeros((B, T), dtype=np.int64)
    valid = np.zeros((B, T), dtype=bool)
    hist = np.zeros((B, T), dtype=bool)
    cand = np.zeros((B, T), dtype=bool)
    target = np.full((B, T), -100, dtype=np.int64)
    label = np.zeros(B, dtype=np.int64)
    for b, s in enumerate(steps):
        t = len(s.role)
        digits[b, :t], rank_bin[b, :t], mm_bin[b, :t], role[b, :t] = s.digits, s.rank_bin, s.mm_bin, s.role
        valid[b, :t] = True
        hist[b, :s.n_history] = True
        cand[b, s.n_history:t] = True
        if s.target_bin is not None:
            target[b, s.n_history:t] = s.target_bin
        label[b] = s.n_history + max(0, s.label)
    out = {k: torch.from_numpy(v) for k, v in dict(digits=digits, rank_bin=rank_bin, mm_bin=mm_bin, role=role,
                                                     valid=valid, hist=hist, cand=cand, target=target,
                                                     label=label).items()}
    if device is not None:
        out = {k: v.to(device) for k, v in out.items()}
    return out


def build_model(shape: ModelShape) -> Any:
    """The torch module (imported here so that the rest of llmnas never needs torch)."""
    import torch
    from torch import nn

    class NCodeRanker(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            d = shape.d_model
            self.shape = shape
            self.digit = nn.EmbeddingBag(shape.max_len * 10 + 1, d, mode="sum", padding_idx=0)
            self.rank_bin = nn.Embedding(shape.bins, d)
            self.mm_bin = nn.Embedding(shape.bins, d)
            self.role = nn.Embedding(2, d)
            layer = nn.TransformerEncoderLayer(d, shape.heads, shape.ff, dropout=0.0, batch_first=True,
                                               norm_first=True, activation="gelu")
            self.layers = nn.TransformerEncoder(layer, shape.layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(d)
            self.pick = nn.Linear(d, 1)
            self.bins = nn.Linear(d, shape.bins)

        def forward(self, digits, rank_bin, mm_bin, role, valid, hist, **_: Any):  # type: ignore[no-untyped-def]
            B, T, L = digits.shape
            x = self.digit(digits.reshape(B * T, L)).reshape(B, T, -1)
            is_hist = (role == HISTORY).unsqueeze(-1)
            x = x + self.role(role) + torch.where(is_hist, self.rank_bin(rank_bin) + self.mm_bin(mm_bin), 0.0)
            # token i may attend to j when j is an evaluated entry or j == i
            eye = torch.eye(T, dtype=torch.bool, device=digits.device).unsqueeze(0)
            allowed = hist.unsqueeze(1) | eye
            mask = torch.zeros(B, T, T, device=digits.device).masked_fill(~allowed, float("-inf"))
            mask = mask.repeat_interleave(shape.heads, dim=0)
            h = self.norm(self.layers(x, mask=mask))
            return self.pick(h).squeeze(-1), self.bins(h)

    return NCodeRanker()


def pool_logits(pick: Any, batch: dict[str, Any]) -> Any:
    """Pick logits with every non-candidate token at -inf (softmax over the pool only)."""
    return pick.masked_fill(~batch["cand"], float("-inf"))


def losses(model: Any, batch: dict[str, Any], bin_weight: float = 1.0) -> tuple[Any, dict[str, float]]:
    """Pick cross-entropy + ``bin_weight`` x candidate score-bin cross-entropy (batch means)."""
    import torch.nn.functional as F

    pick, bins = model(**batch)
    pick_loss = F.cross_entropy(pool_logits(pick, batch), batch["label"])
    bin_loss = F.cross_entropy(bins.reshape(-1, bins.shape[-1]), batch["target"].reshape(-1), ignore_index=-100)
    total = pick_loss + bin_weight * bin_loss
    return total, {"pick": float(pick_loss.detach()), "bins": float(bin_loss.detach())}
