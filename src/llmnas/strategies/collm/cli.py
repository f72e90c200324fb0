"""``llmnas collm ...``: CoLLM-NAS experiments beside the search itself (``rank-poc``)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

import typer
from rich.progress import Progress
from rich.table import Table

from ...cli_common import console, fmt, llm_config_from_flags, progress_bar
from ...cli_options import LLMBackend, LLMBaseURL, LLMKeyEnv, LLMModel, LLMOptions
from ...report.safe_text import safe

app = typer.Typer(no_args_is_help=True, add_completion=False)


@app.command("rank-poc")
def rank_poc_cmd(
    dataset: str = typer.Option("cifar10", help="cifar10, cifar100 or imagenet16-120."),
    trials: int = typer.Option(40, help="Ranking trials."),
    n: int = typer.Option(10, help="Architectures per trial (one from each accuracy n-tile)."),
    seed: int = typer.Option(0),
    out: Optional[Path] = typer.Option(None, "--out", help="Write per-trial results and LLM calls as JSON."),
    llm: LLMBackend = None,
    llm_model: LLMModel = None,
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    llm_option: LLMOptions = [],
) -> None:
    """CoLLM-NAS proof of concept: Kendall tau of the LLM's ranking of NB201 cells vs the truth."""
    from ...llm import make_client
    from ...llm_wiring import llm_settings
    from .rank_poc import rank_poc

    class _Calls:
        def __init__(self) -> None:
            self.records: list[dict] = []

        def record_llm_call(self, record: Any) -> None:
            self.records.append(record.to_dict())

    settings = llm_settings(llm_config_from_flags(None, llm, llm_model, llm_base_url, llm_api_key_env, llm_option))
    calls = _Calls()
    client = make_client(settings, sink=calls)
    t0 = time.perf_counter()
    try:
        with progress_bar(trials) as progress:
            task = progress.add_task("rank-poc", total=trials, info=settings.model)
            calls.record_llm_call = _advance(calls.record_llm_call, progress, task)  # type: ignore[method-assign]
            res = rank_poc(client, dataset=dataset, trials=trials, seed=seed, n=n)
    finally:
        client.close()
    wall = time.perf_counter() - t0
    t = Table(title=f"Kendall tau over {trials} trials of {n} NB201 cells ({dataset} test accuracy), model {safe(settings.model)}")
    for col in ("ranker", "tau mean ± std", "usable trials", "best ranked first", "worst ranked last"):
        t.add_column(col)
    ok = trials - res.parse_failures
    t.add_row("LLM", "-" if res.llm_mean is None else f"{res.llm_mean:.3f} ± {res.llm_std:.3f}", f"{ok}/{trials}",
              fmt(res.best_first_rate), fmt(res.worst_last_rate))
    t.add_row("random ranking", f"{res.random_mean:.3f} ± {res.random_std:.3f}", f"{trials}/{trials}", "-", "-")
    console.print(t)
    tokens = sum(c["prompt_tokens"] + c["completion_tokens"] for c in calls.records)
    console.print(f"{len(calls.records)} LLM calls, {tokens:,} tokens, {wall:.1f} s")
    if out:
        out.write_text(json.dumps({**res.to_dict(), "llm": settings.model_dump(mode="json"), "calls": calls.records,
                                   "wall_s": wall}, indent=1))
        console.print(f"wrote {safe(out)}")


def _advance(fn: Any, progress: Progress, task: Any) -> Any:
    def wrapped(record: Any) -> None:
        fn(record)
        if record.purpose == "rank-poc" and record.ask == 0:
            progress.advance(task)

    return wrapped
