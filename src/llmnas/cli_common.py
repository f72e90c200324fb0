"""What every command group shares: the consoles, ``KEY=VALUE`` flags, the progress bar, number
formatting, the ``--llm*`` and executor flags merged into a run config's sections, and running a
study under a live status line. ``llmnas.cli`` and the sub-apps (``supernet``, ``lmsearcher``,
``collm``, ``llm``) import from here, not from each other."""

from __future__ import annotations

import os
from typing import Any, List, Optional, Sequence

import typer
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from .errors import ConfigError
from .report.safe_text import safe

# Printed into a file or a pipe, rich would fold tables to 80 columns; logs get 160 (COLUMNS wins).
_WIDTH = None if Console().is_terminal or os.environ.get("COLUMNS") else 160
console = Console(width=_WIDTH)
err_console = Console(stderr=True, width=_WIDTH)


def parse_kv(items: List[str], flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {item!r} must look like KEY=VALUE")
        out[key.strip()] = yaml.safe_load(value) if value.strip() else ""
    return out


def progress_bar(total: int) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[info]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=False,
    )


def fmt(x: Any, nd: int = 2) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{nd}f}"
    return str(x)


def run_with_progress(run: Any, quiet: bool) -> Any:
    """Run a study with a progress bar over the budget."""
    try:
        return _run_inner(run, quiet)
    except KeyboardInterrupt:
        err_console.print(f"interrupted: every finished trial is stored; continue with `llmnas resume {run.store.path} --study {run.study.name}`",
                          markup=False, highlight=False)
        raise typer.Exit(130) from None


def _run_inner(run: Any, quiet: bool) -> Any:
    from .progress_view import LiveStatus
    from .runner import Runner

    if quiet:
        return run.run()
    with LiveStatus(err_console, safe(run.study.name), run.cfg.budget, run.history.n_evaluated) as status:

        def on_trial(t: Any, runner: Runner) -> None:
            best = runner.history.best()
            info = f"best {runner.evaluator.signal_name} {best.signal:.4g}" if best and best.signal is not None else ""
            status.trial(runner.history.n_evaluated, info)

        run.runner.on_trial = on_trial
        return run.run()


def llm_config_from_flags(base: Optional[dict], llm: Optional[str], model: Optional[str], base_url: Optional[str],
                          api_key_env: Optional[str], options: List[str]) -> Optional[dict]:
    """The run config's ``llm`` section from a config file's section plus the --llm* flags."""
    if not any((llm, model, base_url, api_key_env, options)):
        return base
    from .llm import parse_llm_spec
    from .llm_wiring import llm_settings

    merged = {**(base or {}), **parse_kv(options, "--llm-option")}
    if not (llm or model or base_url or api_key_env):
        return llm_settings(merged).model_dump(mode="json")
    rest = {k: v for k, v in merged.items() if k not in ("backend", "model", "base_url", "replay_run", "api_key_env")}
    settings = parse_llm_spec(llm, model=model, base_url=base_url, api_key_env=api_key_env, **rest)
    return settings.model_dump(mode="json")


def executor_config_from_flags(base: Optional[dict], kind: Optional[str], workers: Optional[int],
                               ray_address: Optional[str], options: List[str]) -> Optional[dict]:
    """The run config's ``executor`` section from a config file's section plus the flags."""
    if kind is None and workers is None and ray_address is None and not options:
        return base
    out: dict[str, Any] = {} if kind is not None and base and kind != base.get("kind") else dict(base or {})
    out.update(parse_kv(options, "--executor-option"))
    if kind is not None:
        out["kind"] = kind
    if workers is not None:
        out["workers"] = workers
    if ray_address is not None:
        out["ray_address"] = ray_address
        out.setdefault("kind", "ray")
    return out


def config_from_flags(base: Optional[dict], values: dict[str, Any], *, constraints: Sequence[str] = (),
                      options: Sequence[str] = (), space_options: Sequence[str] = (),
                      llm: tuple[Any, ...] = (None, None, None, None, ()),
                      executor: Optional[tuple[Any, ...]] = None) -> dict[str, Any]:
    """The one mapping from command-line flags to a run config's fields (before
    :func:`~llmnas.config.make_config` types and checks them): ``base`` (a config file's
    contents, or what a command fixes) overlaid with the flags. ``values`` are plain fields (None:
    not given); ``--option`` and ``--space-option`` items add to the file's options; ``llm`` is
    (``--llm``, ``--llm-model``, ``--llm-base-url``, ``--llm-api-key-env``, ``--llm-option`` items);
    ``executor`` is (``--executor``, ``--workers``, ``--ray-address``, ``--executor-option`` items)."""
    data: dict[str, Any] = dict(base or {})
    data.update({k: v for k, v in values.items() if v is not None})
    if constraints:
        data["constraints"] = list(constraints)
    if options:
        data["strategy_options"] = {**data.get("strategy_options", {}), **parse_kv(list(options), "--option")}
    if space_options:
        data["space_options"] = {**data.get("space_options", {}), **parse_kv(list(space_options), "--space-option")}
    llm_cfg = llm_config_from_flags(data.get("llm"), llm[0], llm[1], llm[2], llm[3], list(llm[4]))
    if llm_cfg is not None:
        data["llm"] = llm_cfg
    if executor is not None:
        exec_cfg = executor_config_from_flags(data.get("executor"), executor[0], executor[1], executor[2],
                                              list(executor[3]))
        if exec_cfg is not None:
            data["executor"] = exec_cfg
    return data
