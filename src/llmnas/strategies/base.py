"""The strategy contract: ask/tell with a JSON ``state_dict``.

Who calls what, in which order (the runner does all of it):

1. ``strategy = Cls(ctx, **settings)``; the runner has checked ``Cls.requires`` against
   ``ctx.space.capabilities`` and validated ``settings`` with ``Cls.Settings`` (unknown keys fail).
2. Repeatedly: ``proposals = strategy.ask(n)`` (at most ``n``; ``[]`` means the strategy has
   nothing more to propose), then ``strategy.tell(trials)`` with one :class:`~llmnas.types.Trial`
   per proposal, in order: evaluated, duplicate (with the earlier metrics), illegal or
   over budget, each with its ``status`` and ``reason``.
3. After each ask and each tell the runner stores ``state_dict()`` (JSON only, including RNG
   state); ``load_state_dict`` restores it on resume, so a resumed seeded run proposes exactly
   what the uninterrupted run would.

A strategy owns its algorithm state (population, policy, chat memory). It does not evaluate,
deduplicate across the run, count the budget or write to the store; it may read the run's
history through ``ctx.history`` (e.g. to avoid proposing visited architectures).

Example::

    @STRATEGIES.register("first")
    class First(Strategy):
        name = "first"
        def ask(self, n):   return [Proposal(self.ctx.space.sample(self.ctx.rng), "random")]
        def tell(self, trials): pass
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..registry import Registry
from ..seeding import rng_state, set_rng_state
from ..spaces.base import SearchSpace
from ..types import Arch, Proposal, Trial


class History(Protocol):
    """Read-only view of the run's trials, maintained by the runner."""

    def is_visited(self, key: str) -> bool: ...
    def lookup(self, key: str) -> Trial | None: ...
    def evaluated(self) -> list[Trial]: ...
    def best(self) -> Trial | None: ...


@dataclass
class StrategyContext:
    space: SearchSpace
    rng: np.random.Generator
    history: History
    llm: Any = None  # an llmnas.llm.LLMClient for LLM strategies
    seed: int = 0
    run_info: dict[str, Any] | None = None  # evaluator/constraint facts for prompts
    #: the table's search signal of an architecture, read without an evaluation; given only to a
    #: strategy that declares ``peeks_at_table`` (a ceiling such as ``lmsearcher-oracle``, never a
    #: search method) and only on a tabular evaluator
    peek_signal: Callable[[Arch], float] | None = None


@dataclass(frozen=True)
class StrategyReport:
    """What a strategy's stored state says about its run, for ``show``, ``bench`` and the
    search summary; generic code reads this, never a strategy's private state keys."""

    #: an LLM's raw candidates, screened before the runner saw them: (attempted, legal, new);
    #: None when the strategy does not screen (the runner's own counts apply)
    candidates: tuple[int, int, int] | None = None
    #: one row per LLM iteration (column -> value), in order, for the iterations table
    iterations: tuple[dict[str, Any], ...] = ()
    #: title of the iterations table
    iterations_title: str = ""
    #: one line on who chose each step's architecture (ranking strategies)
    choices: str = ""
    #: share of LLM ranking steps answered with a listed candidate; None when not ranking
    listed_share: float | None = None
    #: why the strategy stopped proposing ("" when it did not)
    stopped: str = ""


class StrategySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Strategy(ABC):
    name: ClassVar[str] = ""
    requires: ClassVar[frozenset[str]] = frozenset()
    Settings: ClassVar[type[StrategySettings]] = StrategySettings
    uses_llm: ClassVar[bool] = False
    #: reads the table's signal of unevaluated architectures (an upper bound, not a search method)
    peeks_at_table: ClassVar[bool] = False
    #: Proposals per ask the runner requests (LLM strategies propose batches).
    batch_size: int = 1

    def __init__(self, ctx: StrategyContext, settings: StrategySettings | None = None) -> None:
        self.ctx = ctx
        self.settings = settings if settings is not None else self.Settings()

    @abstractmethod
    def ask(self, n: int) -> list[Proposal]: ...

    @abstractmethod
    def tell(self, trials: list[Trial]) -> None: ...

    # State: subclasses extend ``_state``/``_load`` and keep to JSON types.
    def state_dict(self) -> dict[str, Any]:
        return {"rng": rng_state(self.ctx.rng), **self._state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        set_rng_state(self.ctx.rng, state["rng"])
        self._load(state)

    def _state(self) -> dict[str, Any]:
        return {}

    @classmethod
    def report(cls, state: dict[str, Any]) -> StrategyReport:
        """Read a stored ``state_dict()`` for reports; subclasses add what their state holds."""
        return StrategyReport(stopped=str(state.get("stopped") or ""))

    def _load(self, state: dict[str, Any]) -> None:
        pass

    # Helpers shared by the baselines.
    def key(self, arch: Arch) -> str:
        return self.ctx.space.canonical_key(arch)

    def random_unvisited(self, exclude: set[str] | None = None, max_tries: int = 200) -> Arch | None:
        """A uniform random arch not visited yet (nor in ``exclude``); None when none is left."""
        exclude = exclude if exclude is not None else set()
        space, hist = self.ctx.space, self.ctx.history
        for _ in range(max_tries):
            arch = space.sample(self.ctx.rng)
            k = space.canonical_key(arch)
            if not hist.is_visited(k) and k not in exclude:
                return arch
        if "enumerate" not in space.capabilities:
            return None
        # Nearly exhausted: draw uniformly from what is left (exact "without replacement").
        left, seen = [], set(exclude)
        for arch in space.enumerate():
            k = space.canonical_key(arch)
            if k not in seen and not hist.is_visited(k):
                seen.add(k)
                left.append(arch)
        if not left:
            return None
        return left[int(self.ctx.rng.integers(len(left)))]


def rank(trial: Trial) -> tuple[bool, float]:
    """Sort key: feasible before infeasible, then higher score."""
    return (trial.feasible, trial.score if trial.score is not None else float("-inf"))


STRATEGIES: Registry[type[Strategy]] = Registry("strategy")


def stored_report(strategy: str | None, state: dict[str, Any] | None) -> StrategyReport:
    """The report of a stored run's strategy state (an empty one for no state, or for a
    strategy this installation does not know, such as a plug-in that is not imported)."""
    if not state:
        return StrategyReport()
    cls = STRATEGIES.get(strategy) if strategy and strategy in STRATEGIES else Strategy
    return cls.report(state)
