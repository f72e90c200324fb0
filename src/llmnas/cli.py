"""Command line: ``llmnas search | resume | show | export | dashboard | bench | plot``.

Errors a user can fix print one line and exit with code 2 (``--debug`` shows the traceback).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path
from typing import Any, List, Optional

import typer
from rich.table import Table

from .errors import ConfigError, LlmnasError
from .wording import plural
from . import cli_help as H
from .cli_options import (ExecutorKind, ExecutorOptions, LLMBackend, LLMBaseURL, LLMKeyEnv, LLMModel, LLMOptions,
                          RayAddress, Workers)
from .report.safe_text import safe
from .cli_common import (config_from_flags, console, err_console, executor_config_from_flags, fmt, parse_kv,
                         progress_bar, run_with_progress)

app = typer.Typer(
    name="llmnas",
    help="LLM-guided neural architecture search with classical baselines on real search spaces.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        from . import __version__

        console.print(f"llmnas {__version__}")
        raise typer.Exit()


@app.callback()
def _main(debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
          version: bool = typer.Option(False, "--version", callback=_print_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """``--debug`` is read by :func:`main`, which decides how errors are shown."""
    from .evaluators.function import ON_CODE

    if _say_code not in ON_CODE:
        ON_CODE.append(_say_code)


def _say_code(yaml_path: Path, found: list[tuple[str, Optional[str]]]) -> None:
    """Before a space's Python code runs: which code, from where (once per module)."""
    for spec, file in found:
        if spec in _SAID:
            continue
        _SAID.add(spec)
        where = file or "the Python path"
        err_console.print(f"note: space {yaml_path} runs Python code: {spec} from {where}", markup=False, highlight=False,
                          soft_wrap=True)


_SAID: set[str] = set()


# ----- helpers -------------------------------------------------------------------------------

def _execute(run: Any, quiet: bool) -> None:
    """Run an opened study to its end, close its store, print the summary."""
    from .report.sources import sources_line, study_report

    try:
        summary = run_with_progress(run, quiet)
        report = study_report(run.store, run.study.id, run.cfg.strategy)
        sources = sources_line(run.store.trials(run.study.id), report)
    finally:
        run.store.close()
    _print_summary(summary)
    if sources:
        console.print(sources, markup=False, highlight=False)



def _print_summary(summary: Any) -> None:
    best = summary.best
    console.print(
        f"[bold]{safe(summary.study)}[/bold]: stopped on [cyan]{safe(summary.stop_reason)}[/cyan] after "
        f"{summary.n_evaluated} evaluations ({summary.n_trials} proposals) in {summary.wall_s:.1f} s"
    )
    if best is None:
        console.print("no eligible architecture was evaluated")
        return
    console.print(
        f"best by signal: signal {best.signal:.3f}, report {best.report:.3f}; best report seen "
        f"{fmt(summary.best_report_seen, 3)}; arch {safe(json.dumps(best.arch))}"
    )
    console.print(f"store: {safe(summary.store)}")


# ----- commands ------------------------------------------------------------------------------
@app.command()
def search(
    space: Optional[str] = typer.Option(None, help=H.space_help()),
    dataset: Optional[str] = typer.Option(None, help=H.dataset_help()),
    strategy: Optional[str] = typer.Option(None, help=H.strategy_help()),
    budget: Optional[int] = typer.Option(None, help="Unique architectures to evaluate. (default: 100)"),
    seed: Optional[int] = typer.Option(None, help="Run seed. (default: 0)"),
    signal: Optional[str] = typer.Option(None, help=H.SIGNAL_HELP),
    constraint: List[str] = typer.Option([], "--constraint", "-c", help="e.g. 'flops_M <= 50' (repeatable)."),
    over_budget: Optional[str] = typer.Option(None, help="evaluate-but-not-eligible | skip | penalize. (default: evaluate-but-not-eligible)"),
    penalty: Optional[float] = typer.Option(None, help="Score for over-budget archs under 'penalize'. (default: 0)"),
    target: Optional[float] = typer.Option(None, help="Stop once the best signal reaches this value."),
    option: List[str] = typer.Option([], "--option", "-o", help="Strategy option KEY=VALUE (repeatable); an unknown key is refused with the valid ones."),
    space_option: List[str] = typer.Option([], "--space-option", help="Space option KEY=VALUE, e.g. canonical=isomorphism."),
    config: Optional[Path] = typer.Option(None, "--config", help="YAML run config; flags override it."),
    out: Optional[Path] = typer.Option(None, "--out", help="Run store (.sqlite); default runs/<name>-<time>.sqlite."),
    study: Optional[str] = typer.Option(None, help="Study name inside the store."),
    load_if_exists: bool = typer.Option(False, help="Continue the study if it already exists."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
    llm: LLMBackend = None,
    llm_model: LLMModel = None,
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    llm_option: LLMOptions = [],
    executor: ExecutorKind = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
    executor_option: ExecutorOptions = [],
    batch_size: Optional[int] = typer.Option(None, "--batch-size", help="Proposals per round (default: the strategy's); parallel executors evaluate a round at once."),
) -> None:
    """Run a search and store every trial."""
    from .api import default_store_path, start
    from .config import load_config_file, make_config

    data = config_from_flags(
        load_config_file(config) if config else {},
        {"space": space, "dataset": dataset, "strategy": strategy, "budget": budget, "seed": seed, "signal": signal,
         "over_budget": over_budget, "penalty": penalty, "target": target, "batch_size": batch_size},
        constraints=constraint, options=option, space_options=space_option,
        llm=(llm, llm_model, llm_base_url, llm_api_key_env, llm_option),
        executor=(executor, workers, ray_address, executor_option))
    cfg = make_config(data, where="config" if config else "option")
    path = out or default_store_path(cfg)
    if not quiet:  # the first sign of life, before the space and the strategy are built
        err_console.print(f"preparing {cfg.space}{' / ' + cfg.dataset if cfg.dataset else ''}: {cfg.strategy}, "
                          f"budget {cfg.budget}, seed {cfg.seed}", markup=False, highlight=False, soft_wrap=True)
    _execute(start(cfg, path, study, load_if_exists=load_if_exists), quiet)


@app.command()
def resume(
    run: Path = typer.Argument(..., help="Run store (.sqlite)."),
    study: Optional[str] = typer.Option(None, help="Study name (needed when the store holds several)."),
    budget: Optional[int] = typer.Option(None, help="New total budget, to extend a finished run."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    executor: ExecutorKind = None,
    workers: Workers = None,
    ray_address: RayAddress = None,
    executor_option: ExecutorOptions = [],
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    trust_stored_llm: bool = typer.Option(False, "--trust-stored-llm", help="Use the LLM endpoint and API-key variable the run file names (else name them again)."),
) -> None:
    """Continue a stopped or killed run where it left off (on any executor: the trials are the same)."""
    from .api import finished_summary, reopen

    exec_cfg = executor_config_from_flags(None, executor, workers, ray_address, executor_option)
    done = finished_summary(run, study, budget) if not exec_cfg else None
    if done is not None:
        err_console.print(f"study {done.study!r} is finished ({done.stop_reason}); nothing to resume (extend it with --budget N)",
                          markup=False, highlight=False)
        _print_summary(done)
        return
    _execute(reopen(run, study, budget=budget, executor=exec_cfg, llm_base_url=llm_base_url,
                    llm_api_key_env=llm_api_key_env, trust_stored_llm=trust_stored_llm), quiet)


@app.command()
def show(
    run: Path = typer.Argument(..., help="Run store (.sqlite)."),
    study: Optional[str] = typer.Option(None),
    trials: int = typer.Option(0, help="Also list the last N trials."),
    strategy_text: bool = typer.Option(False, "--strategy-text", help="Also print each Navigator strategy (CoLLM)."),
) -> None:
    """Summary, best architecture, its metrics and the trajectory of a run."""
    from .report.show import show_study
    from .store import Store

    with Store(run, create=False, readonly=True) as store:
        show_study(console, store, store.get_study(study), trials, strategy_text)


@app.command()
def export(
    run: Path = typer.Argument(..., help="Run store (.sqlite); for --format optuna also a bench output folder."),
    format: str = typer.Option("csv", "--format", "-f", help="csv, json or optuna."),
    study: Optional[str] = typer.Option(None),
    output: Optional[str] = typer.Option(None, "--output", "--out", "-o", help="File to write; default stdout. optuna: a journal file or an RDB URL (sqlite:///runs.db)."),
) -> None:
    """Export a run's trials (optuna: every study into Optuna storage, see docs/optuna.md)."""
    from .report.export import export_study
    from .store import Store

    if format == "optuna":
        from .report.optuna_export import export_optuna

        if not output:
            raise ConfigError("--format optuna needs --out: a journal file (runs.journal) or an RDB URL (sqlite:///runs.db)")
        names = export_optuna(run, output)
        err_console.print(f"wrote {len(names)} Optuna {'study' if len(names) == 1 else 'studies'} to {output}")
        return
    if format not in ("csv", "json"):
        raise ConfigError(f"unknown export format {format!r} (choices: csv, json, optuna)")
    with Store(run, create=False, readonly=True) as store:
        text = export_study(store, store.get_study(study), format)
    if output:
        try:
            Path(output).write_text(text)
        except OSError as exc:
            raise ConfigError(f"cannot write {output} ({exc.strerror}); check that its folder exists and is writable") from None
        err_console.print(f"wrote {safe(output)}")
    else:
        sys.stdout.write(text)


@app.command()
def dashboard(
    run: Path = typer.Argument(..., help="Run store (.sqlite) or bench output folder."),
    port: int = typer.Option(8080, help="Port on 127.0.0.1 (0: any free port)."),
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    interval: float = typer.Option(1.0, help="Seconds between reads of the run store."),
) -> None:
    """Look at a run in the browser (optuna-dashboard), live while it runs; read-only."""
    from .report.dashboard import serve

    serve(run, host, port, interval, say=lambda line: console.print(line, markup=False, highlight=False))


def _split(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def _seeds(text: str, start: int) -> list[int]:
    """'10' -> 10 seeds from ``start``; '1,5,9' -> those; '1000-1199' -> that range."""
    text = text.strip()
    try:
        if "," in text:
            seeds = [int(s) for s in _split(text)]
            dupes = sorted({s for s in seeds if seeds.count(s) > 1})
            if dupes:
                raise ConfigError(f"--seeds {text!r} lists seed {dupes[0]} more than once; each seed is one run, "
                                  "give distinct seeds")
            if not seeds:
                raise ConfigError(f"--seeds {text!r} lists no seed; give a count (10), a list (1,2,3) or a range (1000-1199)")
            return seeds
        if "-" in text.lstrip("-"):
            a, b = text.split("-", 1)
            if int(b) < int(a):
                raise ConfigError(f"--seeds {text!r} is an empty range; write the smaller seed first, e.g. {b}-{a}")
            return list(range(int(a), int(b) + 1))
        n = int(text)
    except ValueError:
        raise ConfigError(f"--seeds {text!r}: give a count (10), a list (1,2,3) or a range (1000-1199)") from None
    if n < 1:
        raise ConfigError("--seeds must be at least 1")
    return list(range(start, start + n))


@app.command()
def bench(
    space: str = typer.Option("nb201", help=H.space_help().removesuffix(" (default: nb201)")),
    space_option: List[str] = typer.Option([], "--space-option", help="Space option KEY=VALUE, e.g. supernet=runs/spos.pt."),
    datasets: Optional[str] = typer.Option(None, help="Comma-separated datasets (" + H.dataset_choices() + "). (default: the space's first)"),
    strategies: str = typer.Option("rs,rea,ls", help="Comma-separated strategies (" + H.strategy_choices() + "); a variant NAME@LABEL runs NAME with its own options, e.g. lmsearcher@tuned with --option lmsearcher@tuned.llm.model=lmsearcher-ranker."),
    budgets: str = typer.Option("100", help="Comma-separated budgets."),
    seeds: str = typer.Option("10", help="Seed count (from --seed-start), list or range a-b."),
    seed_start: int = typer.Option(0, help="First seed when --seeds is a count."),
    signal: Optional[str] = typer.Option(None, help=H.SIGNAL_HELP),
    constraint: List[str] = typer.Option([], "--constraint", "-c", help="e.g. 'flops_M <= 50' (repeatable)."),
    over_budget: Optional[str] = typer.Option(None),
    option: List[str] = typer.Option([], "--option", "-o", help="Strategy option KEY=VALUE for every strategy, or NAME.KEY=VALUE for one (e.g. collm.fallback=top-up)."),
    workers: Optional[int] = typer.Option(None, help="Parallel runs (default: CPU cores; LLM strategies: 1, or the total max_concurrency of an endpoint pool)."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder; default bench-out/<time>."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per table row."),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
    llm: LLMBackend = None,
    llm_model: LLMModel = None,
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    llm_option: LLMOptions = [],
) -> None:
    """Run strategies x datasets x budgets x seeds in parallel and print mean +- std."""
    from . import bench as B

    base = config_from_flags({"space": space}, {"signal": signal or None, "over_budget": over_budget or None},
                             constraints=constraint, options=option, space_options=space_option,
                             llm=(llm, llm_model, llm_base_url, llm_api_key_env, llm_option))
    try:
        budget_list = [int(b) for b in _split(budgets)]
    except ValueError:
        raise ConfigError(f"--budgets {budgets!r} must be comma-separated integers") from None
    for flag, items in (("--strategies", _split(strategies)), ("--budgets", budget_list), ("--datasets", _split(datasets or ""))):
        if flag != "--datasets" and not items:
            raise ConfigError(f"{flag} names nothing; give e.g. {'rs,rea,ls' if flag == '--strategies' else '100'}")
        if len(set(items)) != len(items):
            raise ConfigError(f"{flag} names {sorted({i for i in items if items.count(i) > 1})[0]} twice; give each once")
    ds = B.bench_datasets(space, datasets)
    out = out or Path("bench-out") / time.strftime("%Y%m%d-%H%M%S")
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; bench writes a folder of runs, give a folder path")
    tasks = B.plan(_split(strategies), ds, budget_list, _seeds(seeds, seed_start), base, out)
    n_runs = sum(len(t.seeds) for t in tasks)
    t0 = time.perf_counter()
    nw = workers or B.default_workers(_split(strategies), base.get("llm"))
    if quiet or as_json:
        rows = B.execute(tasks, nw)
    else:
        with progress_bar(n_runs) as progress:
            task = progress.add_task("bench", total=n_runs, info=plural(nw, "worker"))
            rows = B.execute(tasks, nw, on_rows=lambda r: progress.advance(task, len(r)))
    wall = time.perf_counter() - t0
    order = {(t.name, t.dataset, t.budget, s): i for i, t in enumerate(tasks) for s in t.seeds}
    rows.sort(key=lambda r: order[(r["strategy"], r["dataset"], r["budget"], r["seed"])])
    table = B.aggregate(rows)
    B.write_outputs(out, rows, table)
    if as_json:
        keys = ["strategy", "space", "dataset", "budget", "seeds", "test_mean", "test_std", "val_mean", "best_test_mean"]
        for r in table:
            extra = {k: v for k, v in r.items() if k not in keys}
            print(json.dumps({**{k: r[k] for k in keys}, **extra}))
        return
    _print_bench_table(table)
    per_run = B.llm_runs_table(rows)
    if per_run:
        console.print("LLM use per run (also in llm_runs.md):\n" + per_run, markup=False, highlight=False)
    n_trials = sum(r["proposals"] for r in rows)
    console.print(f"{n_runs} runs, {n_trials:,} trials in {wall:.1f} s on {plural(nw, 'worker')}; results in {safe(out)}/ (summary.md, summary.csv, runs.csv)")


@app.command("bench-executors")
def bench_executors(
    executors: str = typer.Option("local,ray:2,ray:4", "--executors", help="Setups to compare, e.g. local,process:2,ray:2,ray:4."),
    space: Optional[str] = typer.Option(None, help="Space to search (default: the built-in sleepy space, 432 archs, one sleep per evaluation)."),
    strategy: str = typer.Option("rs", help="Search strategy (the same for every setup)."),
    budget: int = typer.Option(200, help="Unique architectures to evaluate."),
    batch_size: int = typer.Option(20, "--batch-size", help="Proposals per round (what the workers share)."),
    seed: int = typer.Option(0, help="Run seed (the same for every setup)."),
    sleep: float = typer.Option(1.0, help="Seconds each sleepy evaluation takes (sets LLMNAS_SLEEP_S)."),
    option: List[str] = typer.Option([], "--option", "-o", help="Strategy option KEY=VALUE."),
    out: Optional[Path] = typer.Option(None, "--out", help="Output folder; default bench-out/executors-<time>."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object per setup."),
) -> None:
    """The same seeded search on several executors: wall time, speed-up and identical trials."""
    from .executors.bench import parse_setups, run_setups

    setups = parse_setups(executors)
    out = out or Path("bench-out") / time.strftime("executors-%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    base: dict[str, Any] = {"strategy": strategy, "budget": budget, "batch_size": batch_size, "seed": seed}
    if space:
        base["space"] = space
    if option:
        base["strategy_options"] = parse_kv(option, "--option")
    with progress_bar(budget * len(setups)) as progress:
        tasks = {s.label: progress.add_task(s.label, total=budget, info="") for s in setups}
        rows = run_setups(setups, base, out, sleep if not space else None,
                          on_trial=lambda label, n: progress.update(tasks[label], completed=n))
    if as_json:
        for r in rows:
            print(json.dumps(r))
        return
    t = Table(title=f"{strategy}, budget {budget}, batch {batch_size}, seed {seed}"
                    + ("" if space else f", {sleep:g} s per evaluation") + " (measured in this run)")
    first = rows[0]["executor"]
    t.caption = f"speed-ups relative to {first}; start = workers up and evaluator built; search = the run itself"
    for col in ("executor", "evaluated", "start s", "search s", "wall s", "speed-up search", "speed-up wall", "same trials"):
        t.add_column(col, justify="left" if col in ("executor", "same trials") else "right", no_wrap=True)
    for r in rows:
        t.add_row(r["executor"], str(r["evaluated"]), f"{r['start_s']:.1f}", f"{r['search_s']:.1f}", f"{r['wall_s']:.1f}",
                  f"{r['speedup_search']:.2f}x", f"{r['speedup_wall']:.2f}x", "yes" if r["same_trials"] else "NO")
    console.print(t)
    console.print(f"stores in {out}/ (one study 'bench' per setup)")
    if not all(r["same_trials"] for r in rows):
        raise LlmnasError("the setups produced different trials; the evaluator or the strategy is not deterministic")


def _print_bench_table(table: list[dict[str, Any]]) -> None:
    from .bench import REFERENCE_NOTE, fixed, mean_std, ms_per_evaluation, short_note

    t = Table(title="report metric (test) of the best-by-signal architecture (mean ± std over seeds)")
    has_ref = any(r["reference"] is not None for r in table)
    for col in ("strategy", "dataset", "budget", "seeds", "evaluated", "stop", "test", "val", "best test seen",
                *(("reference",) if has_ref else ()), "wall s/run", "ms/eval"):
        t.add_column(col, justify="right" if col not in ("strategy", "dataset", "stop") else "left")
    has_llm = any(r["llm_calls_mean"] for r in table)
    if has_llm:
        for col in ("legal", "new", "from LLM", "LLM calls", "tokens", "LLM s"):
            t.add_column(col, justify="right")
    has_listed = any(not math.isnan(r.get("listed_share", math.nan)) for r in table)
    if has_listed:
        t.add_column("listed answer", justify="right")
    for r in table:
        cells = [r["strategy"] + (" !" if r["short"] else ""), str(r["dataset"]), str(r["budget"]), str(r["seeds"]),
                 f"{r['evaluated_mean']:g}", r["stop"], mean_std(r["test_mean"], r["test_std"]),
                 fixed(r["val_mean"], r["val_std"]), mean_std(r["best_test_mean"], r["best_test_std"]),
                 *(("" if r["reference"] is None else f"{r['reference']:.2f}",) if has_ref else ()),
                 f"{r['wall_s_mean']:.3g}", ms_per_evaluation(r)]
        if has_llm:
            share = r.get("llm_share_mean", math.nan)
            cells += [f"{r['legal_share']:.0%}", f"{r['new_share']:.0%}", "-" if math.isnan(share) else f"{share:.0%}",
                      f"{r['llm_calls_mean']:.0f}", f"{r['tokens_mean']:.0f}", f"{r['llm_s_mean']:.0f}"]
        if has_listed:
            share = r.get("listed_share", math.nan)
            cells.append("-" if math.isnan(share) else f"{share:.0%}")
        t.add_row(*cells, style="yellow" if r["short"] else None)
    notes = [REFERENCE_NOTE] if has_ref else []
    t.caption = "\n".join(notes) or None
    console.print(t)
    if (note := short_note(table)) is not None:
        err_console.print(f"warning: {note}", markup=False, highlight=False, soft_wrap=True)


@app.command()
def plot(
    runs: List[str] = typer.Argument(..., help="Run stores and/or bench output folders."),
    out: Path = typer.Option(Path("llmnas-plot.png"), "--out", help="Output file (.png or .svg)."),
    metric: str = typer.Option("report", help="report (test of best-by-signal) or signal."),
    title: Optional[str] = typer.Option(None),
) -> None:
    """Plot best-so-far versus queries, mean ± std over seeds, per dataset and strategy."""
    from .report.plots import plot as make_plot

    if metric not in ("report", "signal"):
        raise ConfigError(f"--metric must be 'report' or 'signal', not {metric!r}")
    if out.parent and not out.parent.is_dir():
        raise ConfigError(f"--out {out}: folder {out.parent} does not exist; create it or choose another path")
    try:
        path = make_plot(runs, out, metric, title)
    except OSError as exc:
        raise ConfigError(f"cannot write {out} ({exc.strerror}); check that its folder is writable") from None
    console.print(f"wrote {safe(path)}")



def _mount_subcommands() -> None:
    from .llm.cli import app as llm_app

    from .spaces.supernets.cli import app as supernet_app
    from .spaces.supernets.cli import retrain_cmd
    from .strategies.collm.cli import app as collm_app
    from .strategies.collm.cli import rank_poc_cmd
    from .strategies.lmsearcher.cli import app as lmsearcher_app

    app.add_typer(llm_app, name="llm", help="Check and measure the LLM used by LLM-guided strategies.")
    app.add_typer(lmsearcher_app, name="lmsearcher", help="LM-Searcher: make training data, fine-tune a ranker.")
    app.add_typer(supernet_app, name="supernet", help="Weight-sharing supernets: train (stage 1) and inspect.")
    app.add_typer(collm_app, name="collm", help="CoLLM-NAS experiments: the rank-poc proof of concept.")
    # `llmnas collm rank-poc` from before the collm group: same command, not listed in --help
    app.command("rank-poc", hidden=True)(rank_poc_cmd)
    app.command("retrain")(retrain_cmd)


_mount_subcommands()


def main(argv: list[str] | None = None) -> int:
    """Entry point: one line and exit code 2 for user errors; tracebacks only with --debug."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:  # typer vendors click since 0.2x; older ones use the click package
        from typer._click import exceptions as click_errors
    except ImportError:  # pragma: no cover
        from click import exceptions as click_errors  # type: ignore[no-redef]

    try:
        # not standalone: usage errors (an unknown option, a missing value) come back here and
        # get the same one-line ``error:`` form as every other error a user can fix
        code = app(args=args, prog_name="llmnas", standalone_mode=False)
        return code if isinstance(code, int) else 0
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except click_errors.NoArgsIsHelpError as exc:
        sys.stdout.write(exc.ctx.get_help() + "\n")
        return 2
    except click_errors.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx is not None else "llmnas"
        msg = " ".join(exc.format_message().split()).rstrip(".")
        err_console.print(f"error: {msg}; see `{cmd} --help`", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except click_errors.ClickException as exc:
        err_console.print(f"error: {exc.format_message()}", markup=False, highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Abort:
        err_console.print("aborted")
        return 1
    except KeyboardInterrupt:
        err_console.print("interrupted: every finished trial is stored; continue with `llmnas resume RUN`")
        return 130
    except LlmnasError as exc:
        if "--debug" in args:
            raise
        err_console.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
