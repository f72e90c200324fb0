"""`llmnas supernet ...` and `llmnas retrain RUN` (torch is imported inside the commands)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, List, Optional

import typer

from ... import cli_common as ui
from ...cli_options import LLMBackend, LLMBaseURL, LLMKeyEnv, LLMModel, LLMOptions

app = typer.Typer(no_args_is_help=True, add_completion=False)


def _torch() -> None:
    from .register import require_torch

    require_torch()


@app.command("train")
def train_cmd(
    space: str = typer.Option("spos", help="spos (SPOS ShuffleNetV2), ofa (OFA MobileNetV3) or autoformer."),
    out: Path = typer.Option(..., "--out", help="Checkpoint file to write (.pt)."),
    preset: str = typer.Option("small", help="tiny (seconds, for tests) or small (minutes on 2 CPU cores)."),
    option: List[str] = typer.Option([], "--option", "-o", help="Network, training or data option KEY=VALUE, e.g. steps=2000, widths=[32,64,128], dataset=cifar10, data_dir=PATH, device=cuda."),
    resume: bool = typer.Option(False, "--resume", help="Continue the checkpoint at --out."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Stage 1: train a weight-sharing supernet on real data and checkpoint it."""
    _torch()
    from .stage1 import prepare, train_supernet

    opts = ui.parse_kv(option, "--option")
    prepare(space, preset, opts, out, resume)  # bad options fail before the progress bar shows
    t0 = time.perf_counter()
    try:
        if quiet:
            res = train_supernet(space, out, preset, opts, resume)
        else:
            with ui.progress_bar(0) as progress:
                task = progress.add_task(f"supernet {space}", total=None, info="")

                def on_step(step: int, total: int, loss: float) -> None:
                    info = "" if loss != loss else f"loss {loss:.3f}"
                    progress.update(task, completed=step, total=total, info=info)

                res = train_supernet(space, out, preset, opts, resume, on_step)
    except KeyboardInterrupt:
        ui.err_console.print(f"interrupted: checkpoint saved; continue with `llmnas supernet train --resume --out {out}`")
        raise typer.Exit(130) from None
    wall = time.perf_counter() - t0
    ui.console.print(
        f"supernet {space}: {res.steps} steps ({res.steps - res.resumed_from} this run) in {wall:.1f} s wall "
        f"({res.seconds:.1f} s of training in all); last loss {res.final_loss if res.final_loss is None else round(res.final_loss, 3)}"
    )
    ui.console.print(
        f"inherited-weight val accuracy (2000 images): largest subnet {res.largest_acc:.2f}% "
        f"({res.params_range[1]:,} params, {res.flops_range[1] / 1e6:.2f} MFLOPs), smallest {res.smallest_acc:.2f}% "
        f"({res.params_range[0]:,} params, {res.flops_range[0] / 1e6:.2f} MFLOPs)"
    )
    ui.console.print(f"checkpoint: {res.path}; search it with `llmnas search --space {space} --space-option supernet={res.path}`")


@app.command("info")
def info_cmd(checkpoint: Path = typer.Argument(..., help="Supernet checkpoint (.pt).")) -> None:
    """What a checkpoint holds: space, network, data, training progress and cost range."""
    _torch()
    from .core import load_checkpoint, make_space_from

    ck = load_checkpoint(checkpoint)
    sp = make_space_from(ck)
    ui.console.print(f"space {ck['space']} (preset {ck.get('preset', '?')}): {len(sp.decisions)} decisions, {sp.size():,} subnets")
    ui.console.print(f"network: {json.dumps(ck['net'])}")
    ui.console.print(f"data: {json.dumps(ck['data'])}")
    ui.console.print(f"training: step {ck['step']} of {ck['train']['steps']} ({'done' if ck['done'] else 'unfinished'}), "
                     f"{ck['seconds']:.1f} s, sampling {ck['train']['sampling']}, seed {ck['train']['seed']}")
    if ck["log"]:
        ui.console.print("loss: " + ", ".join(f"{e['step']}: {e['loss']:.3f}" for e in ck["log"][-6:]))


@app.command("rank-check")
def rank_check_cmd(
    supernet: Path = typer.Option(..., "--supernet", help="Trained supernet checkpoint."),
    subnets: int = typer.Option(10, help="Subnets to sample (uniformly, seeded)."),
    steps: int = typer.Option(300, help="Training steps of each stand-alone subnet (from scratch)."),
    batch_size: int = typer.Option(128),
    val_images: int = typer.Option(2000, help="Validation images for both accuracies (0 = all)."),
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, "--out", help="JSON with every row; an existing file is resumed."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Kendall tau between inherited-weight and stand-alone (trained from scratch) accuracy."""
    _torch()
    from rich.table import Table

    from .core import arch_list
    from .evaluator import SupernetEvaluator
    from .ranking import RankCheck, RankRow, random_tau, run_rank_check

    if subnets < 3:
        from ...errors import ConfigError

        raise ConfigError("--subnets must be at least 3 for a rank correlation")
    ev = SupernetEvaluator(supernet, val_images=val_images)
    archs = arch_list(ev.space, subnets, seed)
    done: list[RankRow] = []
    if out is not None and out.exists():
        prev = json.loads(out.read_text())
        if prev.get("standalone_steps") != steps or prev.get("seed") != seed or prev.get("supernet") != str(supernet):
            from ...errors import ConfigError

            raise ConfigError(f"{out} holds another rank check (steps/seed/supernet differ); choose another --out")
        done = [RankRow(**r) for r in prev["rows"]]
    t0 = time.perf_counter()

    def save(rows: list[RankRow]) -> None:
        if out is not None:
            rc = RankCheck(ev.space.name, rows=rows, steps=steps, seconds=time.perf_counter() - t0)
            tmp = out.with_name(out.name + ".tmp")
            tmp.write_text(json.dumps({**rc.to_dict(), "seed": seed, "supernet": str(supernet)}, indent=1))
            tmp.replace(out)

    todo = archs[len(done):]
    with ui.progress_bar(len(archs)) as progress:
        task = progress.add_task("rank-check", total=len(archs), completed=len(done), info="")

        def on_subnet(i: int, row: RankRow) -> None:
            done.append(row)
            save(done)
            progress.update(task, completed=len(done), info=f"last: inherited {row.inherited:.1f}, stand-alone {row.standalone:.1f}")

        if todo:
            run_rank_check(ev, todo, steps, batch_size, seed + len(done), on_subnet)
    wall = time.perf_counter() - t0
    res = RankCheck(ev.space.name, rows=done, steps=steps)
    t = Table(title=f"{ev.space.name}: inherited-weight vs stand-alone val accuracy ({len(ev.val_y)} images)")
    for col in ("#", "params", "MFLOPs", "inherited %", "stand-alone %", "train s", "key"):
        t.add_column(col, justify="right" if col != "key" else "left")
    for i, r in enumerate(done):
        t.add_row(str(i), f"{r.params:,}", f"{r.flops / 1e6:.2f}", f"{r.inherited:.2f}", f"{r.standalone:.2f}",
                  f"{r.train_s:.1f}", r.key)
    if not quiet:
        ui.console.print(t)
    mean, std = random_tau(len(done), seed=seed)
    ui.console.print(f"Kendall tau (inherited vs stand-alone, {len(done)} subnets, {steps} steps each): {res.tau:.3f}")
    ui.console.print(f"Kendall tau (FLOPs vs stand-alone): {res.tau_flops():.3f}; random ranking: {mean:.3f} ± {std:.3f}")
    ui.console.print(f"wall {wall:.1f} s this run" + (f"; rows in {out}" if out else ""))


def _parse_runs(runs: str) -> list[tuple[str, int, str]]:
    """``--runs`` items STRATEGY:BUDGET[:LABEL] as (strategy, budget, study suffix)."""
    from ...errors import ConfigError

    pairs = []
    for item in [s.strip() for s in runs.split(",") if s.strip()]:
        parts = [p.strip() for p in item.split(":")]
        try:
            if len(parts) not in (2, 3):
                raise ValueError
            pairs.append((parts[0], int(parts[1]), "-".join(parts[1:])))
        except ValueError:
            raise ConfigError(f"--runs item {item!r} must look like STRATEGY:BUDGET or STRATEGY:BUDGET:LABEL, "
                              f"e.g. collm:250") from None
    if not pairs:
        raise ConfigError("--runs names no run; give STRATEGY:BUDGET items, e.g. collm:250,supernet-ea:1000")
    return pairs


def _compare_row(out: Path, name: str, budget: int, study: str) -> dict[str, Any]:
    """One row of the comparison, read from the run store."""
    from ...runner import summarize
    from ...store import Store

    with Store(out, create=False) as st:
        info = st.get_study(study)
        trials = st.trials(info.id)
        llm_tot = st.llm_totals(info.id)
        summary = summarize(st, info, trials)
        wall = st.session_seconds(info.id)
    evaluated = [t for t in trials if t.status == "ok"]
    best = summary.best
    return {
        "strategy": name, "budget": budget, "evaluated": len(evaluated), "status": summary.stop_reason,
        "over": sum(1 for t in evaluated if not t.feasible),
        "best": None if best is None else best.signal, "flops": None if best is None else best.metrics.get("flops"),
        "params": None if best is None else best.metrics.get("params"),
        "eval_s": sum(t.eval_seconds for t in trials),
        "llm_calls": int(llm_tot["calls"]), "llm_s": float(llm_tot["llm_seconds"]), "study_s": wall,
        "arch": None if best is None else best.arch,
    }


def _compare_table(rows: list[dict[str, Any]], title: str) -> Any:
    from rich.table import Table

    t = Table(title=title)
    for col in ("strategy", "status", "evaluations", "over budget", "best val acc %", "its MFLOPs", "its params", "eval s", "LLM calls", "LLM s", "search s (active)"):
        t.add_column(col, justify="left" if col == "strategy" else "right")
    for r in rows:
        t.add_row(r["strategy"], r["status"], str(r["evaluated"]), str(r["over"]), "-" if r["best"] is None else f"{r['best']:.2f}",
                  "-" if r["flops"] is None else f"{r['flops'] / 1e6:.3f}", "-" if r["params"] is None else f"{int(r['params']):,}",
                  f"{r['eval_s']:.1f}", str(r["llm_calls"]), f"{r['llm_s']:.1f}", f"{r['study_s']:.1f}")
    return t


@app.command("compare")
def compare_cmd(
    supernet: Path = typer.Option(..., "--supernet", help="Trained supernet checkpoint."),
    runs: str = typer.Option("collm:250,supernet-ea:1000", help="STRATEGY:BUDGET[:LABEL], comma-separated; the study is STRATEGY-BUDGET[-LABEL]."),
    constraint: List[str] = typer.Option([], "--constraint", "-c", help="e.g. 'flops_M <= 1.5' (same for every run)."),
    seed: int = typer.Option(0),
    option: List[str] = typer.Option([], "--option", "-o", help="Strategy option: KEY=VALUE for every run, NAME.KEY=VALUE for strategy NAME only (e.g. collm.fallback=top-up); NAME.llm.KEY=VALUE sets that strategy's LLM setting."),
    space_option: List[str] = typer.Option([], "--space-option", help="Evaluator option, e.g. val_images=1000."),
    out: Path = typer.Option(Path("runs/compare.sqlite"), "--out", help="Run store; one study per strategy."),
    report_only: bool = typer.Option(False, "--report-only", help="Print the table of the studies already in --out (finished or not), run nothing."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    llm: LLMBackend = None,
    llm_model: LLMModel = None,
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    llm_option: LLMOptions = [],
) -> None:
    """Search one supernet with several strategies under the same constraint; side-by-side table.

    Each run is a study in --out; a killed comparison continues where it stopped when run again.
    """
    _torch()
    from ...api import start
    from ...bench import strategy_cell
    from ...config import make_config
    from .core import load_checkpoint

    ck = load_checkpoint(supernet)
    pairs = _parse_runs(runs)
    base = ui.config_from_flags({"space": ck["space"], "space_options": {"supernet": str(supernet)}}, {"seed": seed},
                                constraints=constraint, options=option, space_options=space_option,
                                llm=(llm, llm_model, llm_base_url, llm_api_key_env, llm_option))
    names = sorted({name for name, _, _ in pairs})
    configs = [make_config({**strategy_cell(base, name, names), "strategy": name, "budget": budget}, where="option")
               for name, budget, _ in pairs]  # every run's config is checked before the first starts
    rows = []
    for cfg, (name, budget, suffix) in zip(configs, pairs):
        study = f"{name}-{suffix}"
        if not report_only:
            run = start(cfg, out, study, load_if_exists=True)
            try:
                ui.run_with_progress(run, quiet)
            finally:
                run.store.close()
        rows.append(_compare_row(out, name, budget, study))
    ui.console.print(_compare_table(rows, f"{ck['space']} supernet ({ck['data']['dataset']}), constraint: "
                                          f"{', '.join(constraint) or 'none'}, seed {seed}"))
    for r in rows:
        ui.console.print(f"{r['strategy']}: best {json.dumps(r['arch'])}")
    ui.console.print(f"store: {out} (studies {', '.join(f'{n}-{x}' for n, _, x in pairs)}); `llmnas retrain {out} --study NAME` trains one from scratch")


def retrain_cmd(
    run: Path = typer.Argument(..., help="A finished run (.sqlite) on a supernet space."),
    study: Optional[str] = typer.Option(None, help="Study name (needed when the store holds several)."),
    steps: Optional[int] = typer.Option(None, help="Training steps (default: --epochs worth)."),
    epochs: float = typer.Option(3.0, help="Epochs over the training split (when --steps is not given)."),
    batch_size: int = typer.Option(128),
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder; default <run>-<study>-retrain/."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted retrain in --out."),
    device: str = typer.Option("auto", help="auto (GPU when present), cpu or cuda."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Stage 3: train the run's best architecture from scratch, report test accuracy, export it."""
    _torch()
    from .retrain import retrain

    try:
        if quiet:
            res = retrain(run, study, steps, epochs, batch_size, seed, out, resume, device)
        else:
            with ui.progress_bar(0) as progress:
                task = progress.add_task("retrain", total=None, info="")

                def on_step(step: int, total: int, loss: float) -> None:
                    progress.update(task, completed=step, total=total, info="" if loss != loss else f"loss {loss:.3f}")

                res = retrain(run, study, steps, epochs, batch_size, seed, out, resume, device, on_step)
    except KeyboardInterrupt:
        ui.err_console.print("interrupted: checkpoint saved; continue with the same command and --resume")
        raise typer.Exit(130) from None
    ui.console.print(f"retrained {json.dumps(res['arch'])} for {res['steps']} steps in {res['train_seconds']:.1f} s")
    ui.console.print(f"val accuracy {res['val_acc']:.2f}% (search saw {res['search_val_acc']:.2f}% with inherited weights), "
                     f"test accuracy {res['test_acc']:.2f}%; {res['params']:,} params, {res['flops'] / 1e6:.3f} MFLOPs")
    ui.console.print(f"exported {res['model_file']} (TorchScript) and {res['json_file']}")
