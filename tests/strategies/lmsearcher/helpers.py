"""Shared helpers of the LM-Searcher tests: scripted rankers and a real runner on NB201."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from llmnas.api import Run, prepare, resolved_config
from llmnas.config import make_config
from llmnas.strategies.lmsearcher import prompt as lp
from llmnas.llm import LLMSettings, ScriptedClient
from llmnas.llm_wiring import StoreSink
from llmnas.store import Store
from llmnas.versions import versions


def candidates(messages: list[dict[str, str]]) -> list[str]:
    """The candidate NCodes listed in a step prompt."""
    lines = messages[1]["content"].splitlines()
    return lines[lines.index(lp.CANDIDATES) + 1].split(";")


def pick(rule: Callable[[list[str]], str]) -> Callable[[list[dict[str, str]]], str]:
    """A scripted ranker answering with ``rule(candidates)``."""
    return lambda messages: rule(candidates(messages))


def make_run(tmp_path: Path, script: Any, *, budget: int = 15, options: dict[str, Any] | None = None,
             max_reasks: int = 2, store: Store | None = None, study: str = "t", **cfg: Any) -> tuple[Run, ScriptedClient]:
    """A run of ``lmsearcher`` on NB201 whose ranker is ``script``; its calls go to the run store."""
    config = make_config(dict(strategy="lmsearcher", budget=budget, seed=0, strategy_options=options or {}, **cfg))
    store = store or Store(tmp_path / "run.sqlite")
    problem, _, _ = prepare(config)
    info = store.create_study(study, resolved_config(config, problem), config.seed, versions(), load_if_exists=True)
    sink = StoreSink(store, info.id)
    client = ScriptedClient(script, settings=LLMSettings(model="scripted", max_reasks=max_reasks), sink=sink)
    run = Run(store, info, config, llm=client)
    run.runner.sink = sink
    return run, client
