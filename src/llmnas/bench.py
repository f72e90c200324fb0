"""Benchmark grid: strategies x datasets x budgets x seeds, run in parallel processes.

Every run is a study in a SQLite store under the output folder (one store file per task), so
``llmnas plot``/``show`` read bench results like any other run. Per-run results go to
``runs.csv``; the aggregate (mean +- population std over seeds) to ``summary.csv`` and
``summary.md``.

Protocol (peers.md §4.3): the budget counts unique evaluated architectures; the search signal
is the evaluator's (NB201: 200-epoch validation); ``test`` is the report metric (200-epoch test)
of the architecture with the best signal; ``best_test`` is the best report metric seen.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .api import prepare, start
from .config import make_config
from .store import Store
from .report.sources import study_report
from .strategies import StrategyReport

#: Reference table, peers.md §4.3 (200 seeds, budget 100, 200-epoch validation signal).
REFERENCE_NB201_100 = {
    ("rs", "cifar10"): 93.78, ("rs", "cifar100"): 71.44, ("rs", "imagenet16-120"): 45.42,
    ("rea", "cifar10"): 94.11, ("rea", "cifar100"): 72.60, ("rea", "imagenet16-120"): 46.11,
    ("ls", "cifar10"): 94.17, ("ls", "cifar100"): 73.07, ("ls", "imagenet16-120"): 46.14,
}


@dataclass(frozen=True)
class Task:
    strategy: str
    dataset: str | None
    budget: int
    seeds: tuple[int, ...]
    base: dict[str, Any]  # the rest of the run config (space, signal, constraints, llm ...)
    store: str
    label: str = ""  # the row name: ``strategy`` or a variant ``strategy@name``

    @property
    def name(self) -> str:
        return self.label or self.strategy


def plan(strategies: list[str], datasets: list[str | None], budgets: list[int], seeds: list[int],
         base: dict[str, Any], out: Path, chunk: int | None = None) -> list[Task]:
    """Validate every cell up front (bad input fails before any process starts), then split seeds."""
    from .strategies import STRATEGIES

    from .errors import ConfigError

    if len(set(strategies)) != len(strategies):
        raise ConfigError(f"--strategies {','.join(strategies)} names a strategy twice; give variants their own name, e.g. lmsearcher@tuned")
    tasks = []
    for label in strategies:
        strategy, at, variant = label.partition("@")
        if at and not variant.replace("-", "").replace("_", "").isalnum():
            raise ConfigError(f"strategy variant {label!r}: the name after @ must be letters, digits, - or _ (e.g. lmsearcher@tuned)")
        cell = strategy_cell(base, label, strategies)
        size = chunk or (1 if STRATEGIES.get(strategy).uses_llm else 25)
        for dataset in datasets:
            for budget in budgets:
                prepare(make_config({**cell, "strategy": strategy, "dataset": dataset, "budget": budget}))
                for i in range(0, len(seeds), size):
                    part = tuple(seeds[i : i + size])
                    name = f"{label}-{dataset or 'default'}-b{budget}-s{part[0]}-{part[-1]}.sqlite"
                    tasks.append(Task(strategy, dataset, budget, part, cell, str(out / "stores" / name), label))
    return tasks


def bench_datasets(space: str, datasets: str | None) -> list[str | None]:
    """The datasets of ``--datasets`` (comma-separated), checked against the space; without
    the flag, the space's default dataset (a YAML space: the first it declares)."""
    from .errors import ConfigError
    from .spaces.tables.catalog import table_datasets
    from .spaces.registry import is_space_file

    names = [d.strip() for d in (datasets or "").split(",") if d.strip()]
    if is_space_file(space):
        from .spaces.yaml_space import space_datasets

        declared = space_datasets(space)
        if names and not declared:
            raise ConfigError(f"--datasets {datasets}: space file {Path(space).name} declares no datasets; drop "
                              "--datasets, or give its table evaluator 'datasets' and a path with {dataset}")
        return list(names) if names else [declared[0] if declared else None]
    return list(names) if names else [table_datasets().get(space, (None,))[0]]


def strategy_cell(base: dict[str, Any], label: str, labels: list[str]) -> dict[str, Any]:
    """The run config (before ``make_config``) of one strategy of a multi-strategy command
    (``bench``, ``supernet compare``): ``base`` with that strategy's options picked out of
    ``strategy_options`` (see :func:`strategy_options`), its ``llm.*`` options merged into the
    ``llm`` section, and no ``llm`` section for a strategy that uses no LLM. ``label`` is a
    strategy name or a variant ``strategy@name``; ``labels`` are all of the command's."""
    from .errors import ConfigError
    from .strategies import STRATEGIES

    strategy = label.partition("@")[0]
    uses_llm = STRATEGIES.get(strategy).uses_llm
    options = strategy_options(base.get("strategy_options", {}), label, labels)
    llm_over = {k[4:]: options.pop(k) for k in list(options) if k.startswith("llm.")}
    cell = {**base, "strategy_options": options}
    if llm_over:
        if not uses_llm:
            raise ConfigError(f"--option {label}.llm.*: {strategy} uses no LLM")
        cell["llm"] = {**(base.get("llm") or {}), **llm_over}
    if not uses_llm:
        cell.pop("llm", None)
    return cell


def strategy_options(options: dict[str, Any], strategy: str, strategies: list[str]) -> dict[str, Any]:
    """Options for one strategy of a bench: ``key`` applies to all, ``name.key`` to ``name`` only.

    ``name`` may be a variant ``strategy@label``; ``name.llm.KEY=VALUE`` sets that run's LLM
    setting (e.g. ``lmsearcher@tuned.llm.model=lmsearcher-ranker``), so one table can compare
    models."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        name, dot, rest = key.partition(".")
        if not dot:
            out[key] = value
        elif name not in strategies:
            from .errors import ConfigError

            raise ConfigError(f"--option {key}: {name!r} is not one of this command's strategies ({', '.join(strategies)})")
        elif name == strategy:
            out[rest] = value
    return out


def run_task(task: Task) -> list[dict[str, Any]]:
    """Run (or continue) each seed of a task in its own study; returns one row per run."""
    rows = []
    with Store(task.store) as store:
        for seed in task.seeds:
            cfg = make_config({**task.base, "strategy": task.strategy, "dataset": task.dataset,
                               "budget": task.budget, "seed": seed})
            run = start(cfg, task.store, f"s{seed}", load_if_exists=True, store=store)
            t0, began = time.perf_counter(), time.time()
            summary = run.run() if run.summary().stop_reason not in ("budget", "target", "exhausted", "stalled") else run.summary()
            # this session's wall time, plus the busy time of earlier sessions of a resumed run
            wall = time.perf_counter() - t0 + store.session_seconds(run.study.id, before=began)
            best = summary.best
            totals = store.llm_totals(run.study.id)
            trials = store.trials(run.study.id)
            report = study_report(store, run.study.id, cfg.strategy)
            rows.append({
                "strategy": task.name, "space": cfg.space, "dataset": task.dataset, "budget": task.budget,
                "seed": seed, "test": best.report if best else math.nan, "val": best.signal if best else math.nan,
                "best_test": summary.best_report_seen if summary.best_report_seen is not None else math.nan,
                "evaluated": summary.n_evaluated, "proposals": summary.n_trials,
                **proposal_shares(store, run.study.id, summary.counts, bool(cfg.constraints), report),
                "llm_calls": totals["calls"], "tokens": totals["prompt_tokens"] + totals["completion_tokens"],
                "prompt_tokens": totals["prompt_tokens"], "cached_tokens": totals["cached_tokens"],
                "generated_tokens": totals["completion_tokens"], "cut_replies": totals["cut"],
                "llm_share": llm_share(trials),
                "llm_s": totals["llm_seconds"], "wall_s": wall, "stop": summary.stop_reason,
                "listed_share": math.nan if report.listed_share is None else float(report.listed_share),
                "store": task.store, "study": f"s{seed}",
            })
    return rows


def llm_share(trials: list[Any]) -> float:
    """Share of the evaluated architectures that an LLM chose: CoLLM's Generator candidates
    (``generator#k``) and LM-Searcher's ranker picks, not warm-up, fallback or baseline picks."""
    evaluated = [t for t in trials if t.status in ("ok", "over_budget")]
    if not evaluated:
        return math.nan
    return sum(t.source.startswith("generator#") or t.source in LLM_SOURCES for t in evaluated) / len(evaluated)


LLM_SOURCES = ("ranker", "ranker-reask")


def proposal_shares(store: Store, study_id: int, counts: dict[str, int], constrained: bool,
                    report: StrategyReport) -> dict[str, float]:
    """Shares of proposals that were legal, new (legal and never seen) and within the constraint.

    For strategies that screen their LLM's candidates before the runner sees them (CoLLM's
    report counts attempted / legal / new), the shares are of the raw LLM candidates;
    otherwise of the proposals the runner received. "within" is the share of evaluated or
    over-budget candidates that met every constraint (NaN without constraints)."""
    if report.candidates is not None:
        attempted, legal, new = report.candidates
        legal_share, new_share = legal / attempted, new / attempted
    else:
        total = max(sum(counts.values()), 1)
        legal_share = 1 - counts.get("illegal", 0) / total
        new_share = counts.get("ok", 0) / total
    within = store.feasible_share(study_id) if constrained else None
    return {"legal_share": legal_share, "new_share": new_share,
            "within_share": math.nan if within is None else within}


def execute(tasks: list[Task], workers: int, on_rows: Callable[[list[dict[str, Any]]], None] | None = None) -> list[dict[str, Any]]:
    """Run tasks on ``workers`` processes (1: in this process); rows come back as tasks finish."""
    rows: list[dict[str, Any]] = []
    tasks = [share_cores(t, workers) for t in tasks]
    if workers <= 1:
        for t in tasks:
            r = run_task(t)
            rows.extend(r)
            if on_rows:
                on_rows(r)
        return rows
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_task, t) for t in tasks}
        while futures:
            done, futures = wait(futures, return_when=FIRST_COMPLETED)
            for f in done:
                r = f.result()
                rows.extend(r)
                if on_rows:
                    on_rows(r)
    return rows


def share_cores(task: Task, workers: int) -> Task:
    """The thread rule for parallel runs on the embedded model: each of ``workers`` runs gets
    cores // workers threads (at least 1), unless ``llm.n_threads`` was set. One run alone keeps
    the embedded default (every core on an otherwise idle machine)."""
    llm = task.base.get("llm")
    if workers <= 1 or llm is None or (llm.get("backend") or "embedded") != "embedded" or llm.get("n_threads"):
        return task
    from .executors.base import usable_cores

    threads = max(1, usable_cores() // workers)
    return dataclasses.replace(task, base={**task.base, "llm": {**llm, "n_threads": threads}})


def llm_runs_table(rows: list[dict[str, Any]]) -> str:
    """Markdown, one row per LLM run: seconds, calls, prompt / cached / generated tokens, the
    share of evaluations chosen by the LLM, replies cut at max_tokens, test of best-by-val."""
    head = ["strategy", "dataset", "seed", "LLM s", "calls", "prompt tokens", "cached", "generated",
            "from LLM", "cut", "evaluated", "stop", "test (best-by-val)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if not r.get("llm_calls"):
            continue
        cached = f"{r['cached_tokens'] / r['prompt_tokens']:.0%}" if r["prompt_tokens"] else "-"
        lines.append("| " + " | ".join([
            r["strategy"], str(r["dataset"]), str(r["seed"]), f"{r['llm_s']:.0f}", str(r["llm_calls"]),
            f"{r['prompt_tokens']:,}", cached, f"{r['generated_tokens']:,}", _pct(r["llm_share"]),
            str(r["cut_replies"]), str(r["evaluated"]), str(r["stop"]), f"{r['test']:.2f}"]) + " |")
    return "\n".join(lines) + "\n" if len(lines) > 2 else ""


def aggregate(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean +- population std per (strategy, space, dataset, budget), in first-seen order."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["strategy"], r["space"], r["dataset"], r["budget"]), []).append(r)
    out = []
    for (strategy, space, dataset, budget), rs in groups.items():
        def col(k: str) -> np.ndarray:
            return np.array([r[k] for r in rs], dtype=float)

        test, val, best = col("test"), col("val"), col("best_test")
        out.append({
            "strategy": strategy, "space": space, "dataset": dataset, "budget": budget, "seeds": len(rs),
            "test_mean": float(np.mean(test)), "test_std": float(np.std(test)),
            "val_mean": float(np.mean(val)), "best_test_mean": float(np.mean(best)),
            "best_test_std": float(np.std(best)), "val_std": float(np.std(val)),
            "evaluated_mean": float(np.mean(col("evaluated"))),
            "evaluated_min": int(np.min(col("evaluated"))),
            "short": sum(1 for r in rs if r["evaluated"] < budget),
            "stop": stop_reasons(rs),
            "legal_share": float(np.mean(col("legal_share"))), "new_share": float(np.mean(col("new_share"))),
            "within_share": float(np.nanmean(col("within_share"))) if any(not math.isnan(r["within_share"]) for r in rs) else math.nan,
            "llm_calls_mean": float(np.mean(col("llm_calls"))), "tokens_mean": float(np.mean(col("tokens"))),
            "llm_share_mean": float(np.nanmean(col("llm_share"))) if any(not math.isnan(r.get("llm_share", math.nan)) for r in rs) else math.nan,
            "llm_s_mean": float(np.mean(col("llm_s"))), "wall_s_mean": float(np.mean(col("wall_s"))),
            "listed_share": float(np.nanmean(col("listed_share"))) if any(not math.isnan(r.get("listed_share", math.nan)) for r in rs) else math.nan,
            "reference": REFERENCE_NB201_100.get((strategy, dataset)) if space == "nb201" and budget == 100 else None,
        })
    return out


#: what the ``reference`` column holds (printed under the tables)
REFERENCE_NOTE = ("reference: mean test accuracy of the same strategy at budget 100 in an independent simulation "
                  "(200 seeds, 200-epoch validation signal) on the NAS-Bench-201 table (docs/benchmarks.md)")


def stop_reasons(rows: list[dict[str, Any]]) -> str:
    """The runs' stop reasons, e.g. "budget" or "budget 8, exhausted 2"."""
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["stop"]] = counts.get(r["stop"], 0) + 1
    if len(counts) == 1:
        return next(iter(counts))
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))


def mean_std(mean: float, std: float) -> str:
    """``mean ± std`` to the precision the spread allows: std with 2 significant digits and
    the mean to the same decimal place (0.8012, 0.0123 -> "0.801 ± 0.012"); with no spread,
    4 significant digits."""
    if math.isnan(mean):
        return "-"
    return f"{fixed(mean, std)} ± {fixed(std, std)}"


def fixed(x: float, spread: float | None = None) -> str:
    """``x`` with 4 significant digits, or to the decimal place of ``spread``'s 2nd digit."""
    if x is None or math.isnan(x):
        return "-"
    if spread is not None and spread > 0 and math.isfinite(spread):
        decimals = max(0, 1 - math.floor(math.log10(spread)))
    else:
        decimals = max(0, 3 - math.floor(math.log10(abs(x)))) if x else 0
    return f"{x:.{min(decimals, 8)}f}"


def short_note(table: list[dict[str, Any]]) -> str | None:
    """A warning line naming the rows whose runs stopped before their budget, else None."""
    short = [r for r in table if r["short"]]
    if not short:
        return None
    names = "; ".join(f"{r['strategy']} {r['dataset']} budget {r['budget']}: {r['short']} of {r['seeds']} runs "
                      f"(fewest {r['evaluated_min']} evaluated; stop: {r['stop']})" for r in short)
    return f"rows marked ! stopped before their budget: {names}"


def write_outputs(out: Path, rows: list[dict[str, Any]], table: list[dict[str, Any]]) -> None:
    import pandas as pd

    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(out / "runs.csv", index=False)
    df = pd.DataFrame(table)
    df.to_csv(out / "summary.csv", index=False)
    (out / "summary.md").write_text(markdown_table(table))
    per_run = llm_runs_table(rows)
    if per_run:
        (out / "llm_runs.md").write_text(per_run)


def markdown_table(table: list[dict[str, Any]]) -> str:
    has_llm = any(r["llm_calls_mean"] for r in table)
    head = ["strategy", "dataset", "budget", "seeds", "evaluated", "stop", "test (best-by-val)", "val", "best test seen"]
    if any(r["reference"] is not None for r in table):
        head.append("reference")
    if has_llm:
        head += ["legal", "new", "within", "from LLM", "LLM calls", "tokens", "LLM s"]
    has_listed = any(not math.isnan(r.get("listed_share", math.nan)) for r in table)
    if has_listed:
        head.append("listed answer")
    head += ["wall s/run", "ms/evaluation"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in table:
        name = r["strategy"] + (" !" if r["short"] else "") + (" ^" if peeks(r["strategy"]) else "")
        cells = [name, str(r["dataset"]), str(r["budget"]), str(r["seeds"]),
                 f"{r['evaluated_mean']:g}", r["stop"],
                 mean_std(r["test_mean"], r["test_std"]), fixed(r["val_mean"], r["val_std"]),
                 mean_std(r["best_test_mean"], r["best_test_std"])]
        if "reference" in head:
            cells.append("" if r["reference"] is None else f"{r['reference']:.2f}")
        if has_llm:
            cells += [f"{r['legal_share']:.0%}", f"{r['new_share']:.0%}", _pct(r["within_share"]),
                      _pct(r.get("llm_share_mean", math.nan)), f"{r['llm_calls_mean']:.0f}",
                      f"{r['tokens_mean']:.0f}", f"{r['llm_s_mean']:.0f}"]
        if has_listed:
            cells.append(_pct(r.get("listed_share", math.nan)))
        cells += [f"{r['wall_s_mean']:.3f}", ms_per_evaluation(r)]
        lines.append("| " + " | ".join(cells) + " |")
    notes = [n for n in (REFERENCE_NOTE if "reference" in head else None, short_note(table),
                         CEILING_NOTE if any(peeks(r["strategy"]) for r in table) else None) if n]
    return "\n".join(lines) + "\n" + "".join(f"\n{n}\n" for n in notes)


#: printed under a table with a ceiling row (a strategy that reads the table before evaluating)
CEILING_NOTE = ("rows marked ^ read the table's signal of every candidate before choosing: a ceiling for the "
                "strategies on the same loop, not a search method")


def peeks(label: str) -> bool:
    """Whether a bench row's strategy (``name`` or ``name@variant``) reads the table (a ceiling)."""
    from .errors import ConfigError
    from .strategies import STRATEGIES

    try:
        return STRATEGIES.get(label.partition("@")[0]).peeks_at_table
    except ConfigError:  # a row of a strategy no longer registered, read back from an old bench
        return False


def ms_per_evaluation(r: dict[str, Any]) -> str:
    """Wall time of a run per evaluated architecture (strategy, runner and store included)."""
    n = r.get("evaluated_mean") or 0
    return "-" if not n else f"{1000 * r['wall_s_mean'] / n:.1f}"


def _pct(x: float) -> str:
    return "-" if x is None or math.isnan(x) else f"{x:.0%}"


def default_workers(strategies: list[str] | None = None, llm: dict[str, Any] | None = None) -> int:
    """CPU cores; when an LLM strategy runs: 1 on the embedded model (it already uses every
    core), or the total ``max_concurrency`` of an endpoint pool (its slots are shared by the
    bench's processes, so no server gets more than its limit)."""
    from .strategies import STRATEGIES

    cores = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))
    if strategies and any(STRATEGIES.get(s.partition("@")[0]).uses_llm for s in strategies):
        llm = llm or {}
        if llm.get("backend") != "openai":
            return 1
        endpoints = llm.get("endpoints") or [{}]
        limits = [e.get("max_concurrency") or llm.get("max_concurrency") for e in endpoints]
        return max(1, sum(limits)) if all(limits) else 1
    return cores
