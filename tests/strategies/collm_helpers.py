"""Shared helpers of the CoLLM tests: a scripted Navigator/Generator and a real runner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import numpy as np

import llmnas.strategies.collm  # noqa: F401  (registers collm and sillm)
from llmnas.api import Run, prepare, resolved_config
from llmnas.config import make_config
from llmnas.llm import LLMSettings, ScriptedClient
from llmnas.spaces.nb201 import NB201Space
from llmnas.store import Store
from llmnas.versions import versions

SPACE = NB201Space()
STRATEGY_TEXT = ("# SUMMARY\nstrategy {k}\n# KEY PATTERNS\n- convs help\n"
                 "# NAVIGATION DIRECTIONS\n## edge_0_1\nuse nor_conv_3x3")


def random_candidates(seed: int = 0, k: int = 10) -> Callable[[int], str]:
    """A Generator that returns ``k`` random (mostly new) legal cells per call."""
    rng = np.random.default_rng(seed)
    return lambda i: json.dumps({"candidates": [SPACE.encode(SPACE.sample(rng)) for _ in range(k)]})


class Script:
    """Alternates Navigator and Generator replies, as Algorithm 1 does; records both sides."""

    def __init__(self, generator: Callable[[int], str] | list[str]) -> None:
        self.generator = generator
        self.calls: list[tuple[str, list[dict[str, str]]]] = []

    def __call__(self, messages: list[dict[str, str]]) -> str:
        role = "navigator" if len(self.calls) % 2 == 0 else "generator"
        self.calls.append((role, [dict(m) for m in messages]))
        if role == "navigator":
            return STRATEGY_TEXT.format(k=(len(self.calls) + 1) // 2)
        i = len(self.calls) // 2 - 1
        gen = self.generator
        return gen(i) if callable(gen) else gen[min(i, len(gen) - 1)]

    def of(self, role: str) -> list[list[dict[str, str]]]:
        return [m for r, m in self.calls if r == role]


def make_run(tmp_path: Path, script: Any, *, strategy: str = "collm", budget: int = 20,
             options: dict[str, Any] | None = None, store: Store | None = None, study: str = "t",
             **cfg: Any) -> tuple[Run, ScriptedClient]:
    client = ScriptedClient(script, settings=LLMSettings(model="scripted", max_reasks=0))
    # these tests cover the paper-shaped prompts (JSON objects, Markdown strategy); the compact
    # forms have their own tests in test_collm_compact.py
    options = {"preset": "paper", **(options or {})}
    config = make_config(dict(strategy=strategy, budget=budget, seed=0, strategy_options=options, **cfg))
    store = store or Store(tmp_path / "run.sqlite")
    problem, _, _ = prepare(config)
    info = store.create_study(study, resolved_config(config, problem), config.seed, versions(), load_if_exists=True)
    return Run(store, info, config, llm=client), client
