"""Serving the NCode ranker model: load it (the packaged one, or a training output folder) and
rank a pool.

The packaged model lives in ``llmnas/strategies/lmsearcher/ncode_ranker/`` (``model.npz``, ``model.json``,
``CARD.md``); its sha256 is pinned here and checked before loading. ``load_ncode_ranker(name)``
takes ``ncode-ranker`` (the packaged model) or the path of a ``llmnas lmsearcher train --preset
ncode-ranker --out DIR`` folder (or its ``model.json``). Needs torch (``llmnas[ncode]``).
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Sequence

import numpy as np

from ...errors import ConfigError
from .ncode_model import ModelShape, build_model, collate, featurise

SHIPPED_NAME = "ncode-ranker"
HEADS = ("pick", "bins")
SHIPPED_DIR = Path(__file__).with_name("ncode_ranker")
#: sha256 of the packaged ``ncode_ranker/model.npz`` (checked before loading)
SHIPPED_SHA256 = "c8e922e50fbd270aec904af9c30a1a44b49d0c62f4aef189831284a88af975dc"


def _sha256(path: Path) -> str:
    from .finetune.data import file_sha256

    return file_sha256(path)


def resolve(name: str) -> tuple[Path, str | None]:
    """The model.json of ``name`` and the sha256 its weights must have (None: take model.json's)."""
    if name == SHIPPED_NAME:
        return SHIPPED_DIR / "model.json", SHIPPED_SHA256
    path = Path(name).expanduser()
    if path.is_dir():
        path = path / "model.json"
    if not path.is_file():
        raise ConfigError(f"ncode_model {name!r}: no such model; use {SHIPPED_NAME} (the packaged one) or a "
                          "folder written by llmnas lmsearcher train --preset ncode-ranker")
    return path, None


class NCodeRanker:
    """A loaded model: ``logits`` of a pool given a history, ``choose`` the best candidate."""

    def __init__(self, meta_path: Path, pinned: str | None) -> None:
        try:
            import torch
        except ImportError:
            raise ConfigError("the NCode ranker needs torch: pip install 'llmnas[ncode]'") from None
        self.torch = torch
        meta = json.loads(meta_path.read_text())
        weights = meta_path.with_name(meta["file"])
        want = pinned or meta["sha256"]
        got = _sha256(weights)
        if got != want:
            raise ConfigError(f"{weights}: sha256 {got[:16]}... is not the pinned {want[:16]}...; the file is "
                              "damaged or was replaced; reinstall llmnas or retrain")
        self.path, self.sha256 = weights, got
        self.shape = ModelShape(**meta["shape"])
        self.model = build_model(self.shape)
        with np.load(weights) as z:
            state = {k: torch.from_numpy(z[k]) for k in z.files}
        self.model.load_state_dict(state)
        self.model.eval()

    def logits(self, history: Sequence[tuple[str, float]], pool: Sequence[str], head: str = "pick") -> np.ndarray:
        """The value of every pool candidate (higher = the model thinks it better).

        ``head="pick"``: the answer logits; ``head="bins"``: the expected score bin (the predicted
        share of the shown history a candidate beats, in bins)."""
        if head not in HEADS:
            raise ConfigError(f"ncode_head {head!r}: choose one of {', '.join(HEADS)}")
        if not pool:
            raise ValueError("the NCode ranker needs at least one candidate")
        step = featurise(history, pool, self.shape)
        torch = self.torch
        threads = torch.get_num_threads()
        torch.set_num_threads(1)  # one step is tiny: more threads only add waiting on a busy machine
        try:
            with torch.inference_mode():
                batch = collate([step], torch)
                pick, bins = self.model(**batch)
        finally:
            torch.set_num_threads(threads)
        if head == "bins":
            probs = torch.softmax(bins[0, step.n_history:].double(), dim=-1)
            return (probs @ torch.arange(probs.shape[-1], dtype=torch.float64)).numpy()
        return pick[0, step.n_history:].double().numpy()

    def choose(self, history: Sequence[tuple[str, float]], pool: Sequence[str], head: str = "pick") -> int:
        """Index into ``pool`` of the answer (the highest value; the first one on ties)."""
        return int(np.argmax(self.logits(history, pool, head)))


@lru_cache(maxsize=4)
def _load(meta_path: str, pinned: str | None) -> NCodeRanker:
    return NCodeRanker(Path(meta_path), pinned)


def load_ncode_ranker(name: str = SHIPPED_NAME) -> NCodeRanker:
    meta, pinned = resolve(name)
    if not meta.is_file():
        raise ConfigError(f"the packaged NCode ranker is missing ({meta}); reinstall llmnas")
    return _load(str(meta.resolve()), pinned)

