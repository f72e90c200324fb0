"""Optuna's samplers as llmnas strategies: ``optuna-tpe`` (TPESampler) and ``optuna-gp`` (GPSampler).

Each decision of the space is one ``CategoricalDistribution`` over its options; the sampler
works on an in-memory Optuna study that holds every trial it proposed, in proposal order.
The llmnas runner keeps everything else, exactly as for the other strategies:

* **budget**: only unique evaluated architectures count;
* **deduplication**: a proposal whose canonical key was seen before is not evaluated again;
  the runner records it as a ``duplicate`` trial carrying the earlier metrics, and this
  strategy tells the Optuna trial that stored value (``COMPLETE``), so the sampler learns
  that the point is known without spending budget. A run stops as ``stalled`` after
  ``max_stall`` proposals in a row that add no evaluation (1000 by default);
* **constraints**: with ``--constraint``, every told trial gets one Optuna constraint per
  constraint (``Trial.set_constraint``: the relative violation, ``<= 0`` when it holds), so
  TPE and GP treat infeasible points as Optuna's constrained optimisation does. Under
  ``--over-budget skip`` an unevaluated candidate is told ``FAIL``; under ``penalize`` the
  penalty score;
* illegal or failed trials are told ``FAIL``.

Seeding and resume: before every Optuna ``ask`` a fresh sampler is built, seeded from the
strategy's RNG (whose state is in ``state_dict``). The sampler therefore carries nothing from
one ask to the next (GPSampler's kernel warm start is dropped), and ``load_state_dict``
rebuilds the Optuna study by replaying the told trials through the same ``ask``/``tell`` calls,
so a resumed run proposes exactly what the uninterrupted run would.
"""

from __future__ import annotations

import contextlib
import logging
import math
import warnings
from typing import Any, Iterator

from pydantic import Field

from ..constraints import Constraint
from ..errors import ConfigError
from ..types import DUPLICATE, OK, OVER_BUDGET, Proposal, Trial
from .base import STRATEGIES, Strategy, StrategyContext, StrategySettings

_INSTALL = {"optuna-tpe": "pip install optuna==5.0.0", "optuna-gp": "pip install 'llmnas[gp]'"}


def _import_optuna(name: str) -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(f"strategy {name!r} needs the optuna package; {_INSTALL[name]}") from None
    return optuna


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """Silence Optuna's per-trial INFO log and experimental warnings for the calls inside."""
    logger = logging.getLogger("optuna")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings():
            from optuna.exceptions import ExperimentalWarning

            warnings.simplefilter("ignore", ExperimentalWarning)
            yield
    finally:
        logger.setLevel(level)


def constraint_values(constraints: list[str], metrics: dict[str, float]) -> dict[str, float]:
    """Optuna constraint values (``<= 0`` is feasible): the violation relative to the bound."""
    out: dict[str, float] = {}
    for text in constraints:
        c = Constraint.parse(text)
        if c.metric not in metrics:
            continue
        v = float(metrics[c.metric])
        scale = max(abs(c.bound), 1e-12)
        gap = (v - c.bound) / scale if c.op in ("<=", "<") else (c.bound - v) / scale
        if c.holds(v):
            gap = min(gap, 0.0)
        elif gap <= 0.0:  # a strict bound met with equality
            gap = 1e-12
        out[str(c)] = gap
    return out


class OptunaSettings(StrategySettings):
    n_startup_trials: int = Field(10, ge=0, description="random trials before the model is used (Optuna's default)")


class TPESettings(OptunaSettings):
    multivariate: bool = Field(False, description="multivariate TPE (Optuna's default: False)")
    n_ei_candidates: int = Field(24, ge=1)
    constant_liar: bool = Field(False, description="for --batch-size > 1: treat running trials as bad")


class GPSettings(OptunaSettings):
    deterministic_objective: bool = Field(False, description="the signal has no noise (true for table benchmarks)")


class OptunaSampler(Strategy):
    """Base of the Optuna-backed strategies; subclasses build the sampler."""

    def __init__(self, ctx: StrategyContext, settings: StrategySettings | None = None) -> None:
        super().__init__(ctx, settings)
        self.optuna = _import_optuna(self.name)
        from optuna.distributions import CategoricalDistribution

        self._check_extra()
        self.distributions = {d.name: CategoricalDistribution(list(d.options)) for d in ctx.space.decisions}
        self.constraints: list[str] = list((ctx.run_info or {}).get("constraints") or [])
        self._reset()

    def _check_extra(self) -> None:
        pass

    def _reset(self) -> None:
        with quiet_optuna():
            self.study = self.optuna.create_study(direction="maximize", sampler=self.optuna.samplers.RandomSampler(seed=0))
        #: one row per Optuna trial, in number order: [option indices, state, value, constraints]
        self.records: list[list[Any]] = []
        self.open: dict[int, Any] = {}  # Optuna trial number -> running optuna.Trial

    def make_sampler(self, seed: int) -> Any:
        raise NotImplementedError

    # ----- ask / tell -----------------------------------------------------------------------
    def ask(self, n: int) -> list[Proposal]:
        out = []
        with quiet_optuna():
            for _ in range(n):
                self.study.sampler = self.make_sampler(int(self.ctx.rng.integers(2**31 - 1)))
                trial = self.study.ask(self.distributions)
                arch = dict(trial.params)
                self.open[trial.number] = trial
                self.records.append([list(self.ctx.space.to_indices(arch)), "running", None, None])
                out.append(Proposal(arch, self.name, f"optuna trial {trial.number}", {"optuna_trial": trial.number}))
        return out

    def tell(self, trials: list[Trial]) -> None:
        with quiet_optuna():
            for t in trials:
                number = t.meta.get("optuna_trial")
                if number is None or number not in self.open:
                    continue
                state, value, cons = self._outcome(t)
                self.records[number][1:] = [state, value, cons]
                self._tell(number, state, value, cons)

    def _outcome(self, t: Trial) -> tuple[str, float | None, dict[str, float] | None]:
        """What Optuna is told: (state, value, constraints)."""
        if t.status in (OK, DUPLICATE, OVER_BUDGET) and t.score is not None and math.isfinite(t.score):
            cons = constraint_values(self.constraints, t.metrics) if self.constraints else None
            return "complete", float(t.score), cons or None
        return "fail", None, None

    def _tell(self, number: int, state: str, value: float | None, cons: dict[str, float] | None) -> None:
        trial = self.open.pop(number)
        for key, v in (cons or {}).items():
            trial.set_constraint(key, v)
        if state == "complete":
            self.study.tell(trial, value)
        else:
            self.study.tell(trial, state=self.optuna.trial.TrialState.FAIL)

    # ----- state ----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"optuna_trials": [list(r) for r in self.records]}

    def _load(self, state: dict[str, Any]) -> None:
        """Rebuild the Optuna study: the same asks (with the recorded parameters) and tells."""
        self._reset()
        space = self.ctx.space
        with quiet_optuna():
            for idx, st, value, cons in state["optuna_trials"]:
                self.study.sampler = self.optuna.samplers.RandomSampler(seed=0)
                self.study.enqueue_trial(space.from_indices(idx))
                trial = self.study.ask(self.distributions)
                self.open[trial.number] = trial
                self.records.append([list(idx), st, value, cons])
                if st != "running":
                    self._tell(trial.number, st, value, cons)


@STRATEGIES.register("optuna-tpe")
class OptunaTPE(OptunaSampler):
    """Optuna's TPESampler (Optuna's defaults: 10 random startup trials, independent TPE)."""

    name = "optuna-tpe"
    Settings = TPESettings
    settings: TPESettings

    def make_sampler(self, seed: int) -> Any:
        s = self.settings
        return self.optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=s.n_startup_trials, multivariate=s.multivariate,
            n_ei_candidates=s.n_ei_candidates, constant_liar=s.constant_liar,
        )


@STRATEGIES.register("optuna-gp")
class OptunaGP(OptunaSampler):
    """Optuna's GPSampler (Gaussian process, log EI; needs torch and scipy: ``llmnas[gp]``)."""

    name = "optuna-gp"
    Settings = GPSettings
    settings: GPSettings

    def _check_extra(self) -> None:
        missing = []
        for mod in ("torch", "scipy"):
            try:
                __import__(mod)
            except ImportError:
                missing.append(mod)
        if missing:
            raise ConfigError(f"strategy 'optuna-gp' needs {' and '.join(missing)}; {_INSTALL['optuna-gp']}")

    def make_sampler(self, seed: int) -> Any:
        s = self.settings
        return self.optuna.samplers.GPSampler(
            seed=seed, n_startup_trials=s.n_startup_trials, deterministic_objective=s.deterministic_objective,
        )
