"""``llmnas lmsearcher make-data``: write LM-Searcher training samples as chat-format JSONL.

One JSON object per line, the ``messages`` shape TRL, axolotl and LLaMA-Factory (sharegpt/openai
format) read, plus a ``meta`` object the tools ignore::

    {"messages": [{"role": "system", "content": ...}, {"role": "user", "content": ...},
                  {"role": "assistant", "content": "<ncode>"}],
     "meta": {"benchmark": "nb201", "dataset": "cifar10", "space": "nb201", "seed": 0,
              "trajectory": 12, "step": 2, "pool_size": 10, "history_len": 37,
              "label_score": 91.2, "signal": "val_200", "subspace": [[0, 2, 3], [4], ...],
              "pruned": true, "subspace_size": 240, "prompt_version": "lmsearcher-v1"}}

``subspace`` lists, per decision of the benchmark, the original option indices that survived
pruning (one index: the decision was fixed and is not in the NCode), so every code in a sample
decodes back to a table row. Samples are spread evenly over the selected benchmark datasets;
each dataset draws from its own random stream (seed, dataset), so excluding one dataset leaves
the samples of the others unchanged. The file is written to a temporary name and renamed at
the end: an interrupted run leaves no half-written file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from ...errors import ConfigError
from ...seeding import child_rng
from .sampler import FORMATS, SamplerSettings, trajectory
from .search_steps import DEFAULT_BUDGET, DEFAULT_POOLS, DEFAULT_WARMUP, search_steps
from .search_steps import check as check_search
from .sources import Source, load_source, select


@dataclass
class MakeDataResult:
    path: Path
    counts: dict[str, int]  # per "benchmark:dataset"
    trajectories: dict[str, int]
    unpruned: int  # trajectories that fell back to the whole space
    search_counts: dict[str, int] = field(default_factory=dict)  # steps from the search loop, per table


def _turns(sources: list[Source]) -> list[Source]:
    """One round of turns: every benchmark equally often, its datasets in rotation.

    A round holds, for each benchmark, as many turns as the benchmark with the most datasets
    has datasets, so each benchmark gets the same share and each dataset of a benchmark an
    equal part of it (transnas-micro's 7 tasks do not outweigh nb-macro's one dataset)."""
    by_bench: dict[str, list[Source]] = {}
    for src in sources:
        by_bench.setdefault(src.benchmark, []).append(src)
    width = max(len(v) for v in by_bench.values())
    return [group[i % len(group)] for i in range(width) for group in by_bench.values()]


def make_data(out: str | Path, samples: int, seed: int = 0, benchmarks: list[str] | None = None,
              exclude: list[str] | None = None, settings: SamplerSettings | None = None,
              on_sample: Callable[[str], None] | None = None, fmt: str = "chat", search_samples: int = 0,
              search_pools: Sequence[int] = DEFAULT_POOLS, search_budget: int = DEFAULT_BUDGET,
              search_exclude: list[str] | None = None) -> MakeDataResult:
    """Write ``samples`` training samples to ``out`` (JSONL); returns the counts.

    ``fmt``: ``chat`` (messages for an LLM) or ``ncode`` (history, pool with their signals and
    the label, for the NCode ranker model; see :func:`llmnas.strategies.lmsearcher.sampler.trajectory`).
    ``search_samples`` (ncode only): that many more steps after them, from the search loop itself
    on the whole tables (:mod:`llmnas.strategies.lmsearcher.search_steps`), minus ``search_exclude``
    (e.g. ``nb201``: no whole-space NB-201 codes, whose cells recur in the held-out NB-201 tables)."""
    if fmt not in FORMATS:
        raise ConfigError(f"--format {fmt!r}: choose one of {', '.join(FORMATS)}")
    if samples < 1:
        raise ConfigError(f"--samples must be at least 1 (got {samples})")
    s = settings or SamplerSettings()
    if s.pool_size < 2:
        raise ConfigError(f"--pool-size must be at least 2 (got {s.pool_size}): a ranker needs a choice")
    if s.steps < 1 or s.max_history < 1 or s.min_history < 1:
        raise ConfigError("--steps, --max-history and --min-history must be at least 1")
    if not (0.0 <= s.p_fix < 1.0 and 0.0 <= s.p_drop < 1.0):
        raise ConfigError("--p-fix and --p-drop must lie in [0, 1)")
    if search_samples < 0:
        raise ConfigError(f"--search-samples must be at least 0 (got {search_samples})")
    if search_samples and fmt != "ncode":
        raise ConfigError("--search-samples writes steps for the NCode ranker model; use it with --format ncode")
    pairs = select(benchmarks, exclude)
    sources = [load_source(b, d) for b, d in pairs]
    searched = sources
    if search_samples:
        if search_exclude:
            dropped = set(select(search_exclude, None))
            searched = [src for src in sources if (src.benchmark, src.dataset) not in dropped]
            if not searched:
                raise ConfigError(f"--search-exclude {','.join(search_exclude)} leaves no table for the search steps")
        check_search(search_pools, search_budget, DEFAULT_WARMUP, searched)
    rngs = {src.key: child_rng(seed, f"lmsearcher-data:{src.key}") for src in sources}
    counts = {src.key: 0 for src in sources}
    trajs = {src.key: 0 for src in sources}
    unpruned = 0
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    written = 0
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            while written < samples:
                progressed = False
                for src in _turns(sources):  # one trajectory per benchmark in turn
                    if written >= samples:
                        break
                    n_before = written
                    for sample in trajectory(src, s, rngs[src.key], seed, trajs[src.key], fmt):
                        if written >= samples:
                            break
                        fh.write(json.dumps(sample, separators=(",", ":")) + "\n")
                        written += 1
                        counts[src.key] += 1
                        if on_sample is not None:
                            on_sample(src.key)
                        unpruned += int(not sample["meta"]["pruned"] and sample["meta"]["step"] == 0)
                    trajs[src.key] += 1
                    progressed = progressed or written > n_before
                if not progressed:
                    raise ConfigError("the selected tables are too small to make a sample; lower --pool-size")
            search_counts = {src.key: 0 for src in searched} if search_samples else {}
            if search_samples:
                for n, (key, rec) in enumerate(search_steps(_turns(searched), seed, search_pools, search_budget)):
                    if n >= search_samples:
                        break
                    fh.write(json.dumps(rec) + "\n")  # default separators: the packaged v2 model's data file
                    search_counts[key] += 1
                    if on_sample is not None:
                        on_sample(key)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return MakeDataResult(out, counts, trajs, unpruned, search_counts)
