"""`llmnas lmsearcher ...`: make-data (this module), train (llmnas.strategies.lmsearcher.finetune.cli; the NCode ranker
presets in llmnas.strategies.lmsearcher.ncode_cli) and rank-probe (llmnas.strategies.lmsearcher.ncode_cli)."""

from __future__ import annotations

from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from .finetune.cli import train_cmd
from . import prompt as lp
from .ncode_cli import rank_probe_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False)
app.command("train")(train_cmd)
app.command("rank-probe")(rank_probe_cmd)


def _split(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _int_list(value: str, flag: str) -> list[int]:
    from ...errors import ConfigError

    try:
        return [int(v) for v in _split(value) or []]
    except ValueError:
        raise ConfigError(f"{flag} {value!r}: give whole numbers separated by commas, e.g. 10,10,50") from None


@app.command("make-data")
def make_data_cmd(
    out: str = typer.Option(..., "--out", help="JSONL file to write (chat messages + meta per line)."),
    samples: int = typer.Option(20000, "--samples", help="Number of training samples."),
    seed: int = typer.Option(0, "--seed", help="Random seed (same seed, same file)."),
    benchmarks: Optional[str] = typer.Option(
        None, "--benchmarks", help="Comma list of benchmarks or benchmark:dataset (default: all): "
        "nb201, nb-macro, transnas-micro, transnas-macro, nb301."),
    exclude: Optional[str] = typer.Option(
        None, "--exclude", help="Comma list to leave out, e.g. nb201:cifar100,nb201:imagenet16-120 or nb301."),
    pool_size: int = typer.Option(lp.DEFAULT_POOL_SIZE, "--pool-size", help="Candidates per sample."),
    max_history: int = typer.Option(lp.DEFAULT_MAX_HISTORY, "--max-history",
                                    help="History entries shown per prompt, best first (as the search)."),
    min_history: int = typer.Option(5, "--min-history", help="Fewest evaluated architectures before a sample."),
    max_start_history: int = typer.Option(100, "--max-start-history",
                                          help="Most evaluated architectures a trajectory starts from."),
    steps: int = typer.Option(4, "--steps", help="Samples per trajectory (the label joins the history)."),
    p_fix: float = typer.Option(0.2, "--p-fix", help="Probability that pruning fixes a decision."),
    p_drop: float = typer.Option(0.3, "--p-drop", help="Probability that pruning drops an option."),
    fmt: str = typer.Option("chat", "--format", help="chat (messages for an LLM ranker) or ncode "
                            "(history and pool with signals, for the NCode ranker model)."),
    search_samples: int = typer.Option(
        0, "--search-samples", help="With --format ncode: this many more steps from the search loop itself (warm-up, "
        "then pools of unvisited random cells of the whole table, best of each pool picked), after the sampler's."),
    search_pools: str = typer.Option("10,10,50", "--search-pools",
                                     help="Pool sizes of those search steps, cycled by trajectory."),
    search_budget: int = typer.Option(100, "--search-budget", help="Evaluations per search trajectory (5 warm-up)."),
    search_exclude: Optional[str] = typer.Option(
        None, "--search-exclude", help="Comma list of tables to leave out of the search steps only, e.g. nb201 "
        "(its whole-space codes are the same cells as the held-out NB-201 tables')."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Training data by pruning-based subspace sampling over the packaged benchmark tables."""
    from .make_data import make_data
    from .sampler import SamplerSettings

    settings = SamplerSettings(pool_size=pool_size, max_history=max_history, min_history=min_history,
                               max_start_history=max_start_history, steps=steps, p_fix=p_fix, p_drop=p_drop)
    console, err = Console(), Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TimeRemainingColumn(), console=err, disable=quiet)
    pools = _int_list(search_pools, "--search-pools")
    with progress:
        task = progress.add_task("samples", total=samples + search_samples)
        result = make_data(out, samples, seed, _split(benchmarks), _split(exclude), settings,
                           on_sample=lambda _key: progress.advance(task), fmt=fmt, search_samples=search_samples,
                           search_pools=pools, search_budget=search_budget, search_exclude=_split(search_exclude))
    table = Table(title=f"{sum(result.counts.values()) + sum(result.search_counts.values())} samples written to {result.path}")
    for col in ("benchmark:dataset", "samples", "trajectories"):
        table.add_column(col)
    if result.search_counts:
        table.add_column("search steps")
    for key, n in result.counts.items():
        extra = [str(result.search_counts.get(key, 0))] if result.search_counts else []
        table.add_row(key, str(n), str(result.trajectories[key]), *extra)
    console.print(table)
    if result.unpruned:
        console.print(f"{result.unpruned} trajectories used the whole space (no subspace held enough rows)")
