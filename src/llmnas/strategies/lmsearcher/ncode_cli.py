"""The NCode ranker parts of ``llmnas lmsearcher``: ``train --preset ncode-ranker`` and ``rank-probe``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np
import typer
from rich.console import Console

from .rank_probe import DEFAULT_TABLES


def train_ncode_preset(name: str, out: str, given: dict[str, Any], *, resume: bool, quiet: bool) -> None:
    """Write the preset's data (unless there), train (or resume), write the card."""
    from .ncode_card import render_ncode_card
    from .ncode_presets import get_ncode_preset, prepare_ncode
    from .ncode_train import train_ncode

    recipe = get_ncode_preset(name)
    overrides = {k: v for k, v in given.items() if v is not None}
    err = Console(stderr=True)
    err.print(f"preset {recipe.name}: {recipe.description}")
    err.print(f"data: {recipe.data_command(out + '/data.jsonl')}")
    cfg = prepare_ncode(recipe, out, overrides)
    result = train_ncode(cfg, resume=resume, console=err, progress=not quiet)
    console = Console()
    if not result.finished:
        console.print(f"stopped at step {result.steps_done} of {cfg.steps}; continue with --resume")
        return
    extra = "".join(f" --{k.replace('_', '-')} {v}" for k, v in overrides.items())
    Path(out, "CARD.md").write_text(render_ncode_card(
        Path(out), name=recipe.name, command=f"llmnas lmsearcher train --preset {recipe.name} --out {out}{extra}",
        data_command=recipe.data_command(f"{out}/data.jsonl"), sources=recipe.sources(),
        held_out=list(recipe.data.get("exclude", []))))
    after = result.val_after
    console.print(f"trained {result.steps_done} steps in {result.seconds:.0f} s; loss {result.losses[0]:.4f} "
                  f"(first step) -> {result.losses[-1]:.4f} (last)")
    if after:
        console.print(f"held-out ({int(after['n'])} steps): mean true rank of the pick {after['mean_rank']:.2f}, "
                      f"top-1 {after['top1']:.0%}")
    console.print(f"model: {out}/model.npz; search with: llmnas search --strategy lmsearcher-ncode "
                  f"--option ncode_model={out}")


def rank_probe_cmd(
    steps: int = typer.Option(500, "--steps", help="Held-out steps per table."),
    seed: int = typer.Option(1, "--seed", help="Seed of the probe's steps (its own stream, not the training data's)."),
    tables: str = typer.Option(",".join(DEFAULT_TABLES), "--tables",
                               help="Comma list of benchmark:dataset tables to probe (held out of training)."),
    ncode_model: str = typer.Option("ncode-ranker", "--ncode-model",
                                    help="NCode ranker: the packaged ncode-ranker or a training folder; 'none' to skip."),
    llm_model: str = typer.Option("none", "--llm-model",
                                  help="An embedded model to probe too, e.g. lmsearcher-ranker (the LoRA ranker); "
                                  "none to skip."),
    llm_steps: int = typer.Option(100, "--llm-steps", help="Steps per table for the LLM (about 1 s each on a CPU)."),
    json_out: Optional[str] = typer.Option(None, "--json", help="Also write the rows as JSON here."),
    steps_from: str = typer.Option("sampler", "--steps-from",
                                   help="sampler (the training data's pruned-subspace steps) or search (the search "
                                   "loop's own steps on the whole table: 95 per search of 100, a perfect ranker acting)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
) -> None:
    """Mean true rank of each ranker's pick among the pool on held-out steps (1 = best)."""
    import json as _json

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from ...errors import ConfigError
    from .rank_probe import pick_additive, pick_closest, run_probe

    if steps < 1:
        raise ConfigError(f"--steps must be at least 1 (got {steps})")
    names = [t.strip() for t in tables.split(",") if t.strip()]
    rankers: dict[str, Any] = {}
    limits: dict[str, int] = {}
    client = None
    if ncode_model != "none":
        from .ncode_ranker import load_ncode_ranker

        model = load_ncode_ranker(ncode_model)
        rankers[f"ncode ({ncode_model})"] = lambda s: model.choose(s.history, s.pool)
        rankers[f"ncode ({ncode_model}, score-bin head)"] = lambda s: model.choose(s.history, s.pool, "bins")
    rankers["closest"] = pick_closest
    rankers["additive"] = pick_additive
    if llm_model != "none":
        from .rank_probe import llm_picker

        pick, client = llm_picker(llm_model)
        rankers[f"llm ({llm_model})"] = pick
        limits[f"llm ({llm_model})"] = min(llm_steps, steps)
    total = sum(limits.get(k, steps) for k in rankers) * len(names)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                        console=Console(stderr=True), disable=quiet)
    try:
        with progress:
            task = progress.add_task("rank probe", total=total)
            rows = run_probe(names, steps, seed, rankers, limits,
                             on_step=lambda _t, _r: progress.advance(task), kind=steps_from)
    finally:
        if client is not None:
            client.close()
    table = Table(title=f"rank probe: {steps} held-out {steps_from} steps per table, seed {seed}, pool of 10 "
                  "(mean true rank of the pick; random about 5.5, oracle 1.0)")
    for col in ("table", "ranker", "steps", "mean rank", "± SE", "top-1", "mean regret", "ms / step"):
        table.add_column(col, no_wrap=col in ("table", "ranker"))
    for r in rows:
        ms = f"{1000 * r.seconds / r.n:.2f}" if r.seconds else "-"
        ranker = r.ranker + (f" ({r.note})" if r.note else "") + (f" [{r.unlisted} unlisted]" if r.unlisted else "")
        table.add_row(r.table, ranker, str(r.n), f"{r.mean_rank():.2f}", f"{r.se():.2f}",
                      f"{np.mean(r.top1):.3f}", f"{np.mean(r.regret):.2f}", ms)
    import sys

    Console(width=None if sys.stdout.isatty() else 160).print(table)
    if json_out:
        Path(json_out).write_text(_json.dumps([{"table": r.table, "ranker": r.ranker, "steps": r.n,
                                                 "mean_rank": r.mean_rank(), "se": r.se(),
                                                 "top1": float(np.mean(r.top1)), "regret": float(np.mean(r.regret)),
                                                 "seconds": r.seconds, "unlisted": r.unlisted, "note": r.note}
                                                for r in rows], indent=1))
