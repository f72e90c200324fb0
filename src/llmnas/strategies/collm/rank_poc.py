"""The paper's proof of concept (§3.1, App. C): can the LLM rank NB201 cells by accuracy?

Each trial draws one cell from each accuracy decile of the chosen dataset's 200-epoch test
accuracy, shows the cells in random order under letter labels (no accuracies, no benchmark
name), asks for a schema-constrained ranking, and scores it with Kendall's tau-b against the
truth. A uniformly random ranking of the same cells is scored beside it as the chance level.
"""

from __future__ import annotations

import string
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from ...errors import ConfigError, LLMReplyError
from . import prompts

DATASET_NAMES = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16-120": "ImageNet16-120"}


def kendall_tau(x: list[float] | np.ndarray, y: list[float] | np.ndarray) -> float:
    """Kendall's tau-b of two equally long sequences (ties allowed; 0.0 when one is constant)."""
    a, b = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("kendall_tau needs two 1-D sequences of the same length")
    i, j = np.triu_indices(len(a), k=1)
    da, db = np.sign(a[i] - a[j]), np.sign(b[i] - b[j])
    n_a, n_b = int(np.count_nonzero(da)), int(np.count_nonzero(db))
    if n_a == 0 or n_b == 0:
        return 0.0
    return float(np.sum(da * db) / np.sqrt(n_a * n_b))


@dataclass
class RankPoCResult:
    """Per-trial taus of the LLM (None where its reply was unusable) and of a random ranking."""

    dataset: str
    metric: str
    n_trials: int
    llm_taus: list[float | None]
    random_taus: list[float]
    llm_mean: float | None
    llm_std: float | None
    random_mean: float
    random_std: float
    parse_failures: int
    best_first_rate: float | None  # share of usable trials ranking the true best first
    worst_last_rate: float | None
    failures: list[str] = field(default_factory=list)
    trials: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def rank_poc(llm: Any, *, dataset: str = "cifar10", trials: int = 40, seed: int = 0, n: int = 10,
             temperature: float | None = 0.6, max_tokens: int | None = None,
             prompt_dir: str | None = None) -> RankPoCResult:
    """Run ``trials`` ranking trials of ``n`` cells (one per accuracy ``n``-tile) with ``llm``."""
    from ...data import load_nb201
    from ...spaces.nb201_evaluator import DATASETS
    from ...spaces.nb201 import NB201Space

    if dataset not in DATASETS:
        raise ConfigError(f"rank-poc: unknown dataset {dataset!r} (choices: {', '.join(DATASETS)})")
    if not 2 <= n <= 26 or trials < 1:
        raise ConfigError("rank-poc: n must be 2..26 and trials at least 1")
    table, space = load_nb201(), NB201Space()
    acc = table[f"{DATASETS[dataset]}_test_200"]
    tiles = np.array_split(np.argsort(acc, kind="stable"), n)
    labels = list(string.ascii_uppercase[:n])
    schema = {"type": "object", "additionalProperties": False, "required": ["ranking"],
              "properties": {"ranking": {"type": "array", "items": {"enum": labels}, "minItems": n, "maxItems": n}}}
    description = space.describe().replace(f"Search space {space.name!r}", "Search space")
    rng = np.random.default_rng(seed)
    llm_taus: list[float | None] = []
    random_taus, failures, records = [], [], []
    for t in range(trials):
        rows = [int(tile[rng.integers(len(tile))]) for tile in tiles]
        rows = [rows[k] for k in rng.permutation(n)]  # shown order carries no information
        truth = [float(acc[r]) for r in rows]
        cells = [space.to_cell_string(space.from_indices(table["ops"][r])) for r in rows]
        text = prompts.render("rank_poc", prompt_dir, n=n, dataset=DATASET_NAMES[dataset],
                              space_description=description, labels=", ".join(labels),
                              items="\n".join(f"{lab}: {c}" for lab, c in zip(labels, cells)))
        order, reason = _ask(llm, text, schema, labels, temperature, max_tokens, int(rng.integers(2**31 - 1)))
        random_taus.append(kendall_tau(_scores(list(rng.permutation(labels)), labels), truth))
        tau = None if order is None else kendall_tau(_scores(order, labels), truth)
        llm_taus.append(tau)
        if order is None:
            failures.append(f"trial {t}: {reason}")
        records.append({"trial": t, "cells": dict(zip(labels, cells)), "truth": dict(zip(labels, truth)),
                        "llm_order": order, "tau": tau, "random_tau": random_taus[-1]})
    return _summary(dataset, trials, llm_taus, random_taus, failures, records)


def _ask(llm: Any, text: str, schema: dict, labels: list[str], temperature: float | None,
         max_tokens: int | None, seed: int) -> tuple[list[str] | None, str]:
    def permutation(value: Any) -> str | None:
        got = value.get("ranking", []) if isinstance(value, dict) else []
        missing = [lab for lab in labels if lab not in got]
        return f"list every label exactly once; missing {', '.join(missing)}" if missing else None

    try:
        reply = llm.chat([{"role": "user", "content": text}], schema=schema, validate=permutation,
                         purpose="rank-poc", temperature=temperature, max_tokens=max_tokens, seed=seed)
    except LLMReplyError as exc:
        return None, str(exc)
    return list(reply.parsed["ranking"]), ""


def _scores(order: list[str], labels: list[str]) -> list[float]:
    """Per label (in label order) a score that is higher the earlier the label is ranked."""
    pos = {lab: i for i, lab in enumerate(order)}
    return [float(len(order) - pos[lab]) for lab in labels]


def _summary(dataset: str, trials: int, llm_taus: list[float | None], random_taus: list[float],
             failures: list[str], records: list[dict[str, Any]]) -> RankPoCResult:
    ok = [x for x in llm_taus if x is not None]
    used = [r for r in records if r["llm_order"] is not None]

    def rate(pick: Any) -> float | None:
        if not used:
            return None
        return float(np.mean([pick(r) for r in used]))

    best = rate(lambda r: r["llm_order"][0] == max(r["truth"], key=r["truth"].get))
    worst = rate(lambda r: r["llm_order"][-1] == min(r["truth"], key=r["truth"].get))
    return RankPoCResult(
        dataset=dataset, metric="test_200", n_trials=trials, llm_taus=llm_taus, random_taus=random_taus,
        llm_mean=float(np.mean(ok)) if ok else None, llm_std=float(np.std(ok)) if ok else None,
        random_mean=float(np.mean(random_taus)), random_std=float(np.std(random_taus)),
        parse_failures=len(failures), best_first_rate=best, worst_last_rate=worst,
        failures=failures, trials=records)
