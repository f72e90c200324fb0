"""The one search loop: ask -> check -> dedup -> constrain -> evaluate -> record -> tell.

The runner owns the budget (unique evaluated architectures), deduplication by canonical key,
the constraint policy, the store writes and the stop reason. Strategies only propose.
Every finished trial is committed the moment it is finished; a killed run resumes from the
store (pending proposals of an interrupted round are finished first, without a new ask).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .config import RunConfig
from .constraints import ConstraintSet
from .errors import ConfigError, LlmnasError
from .problem import Problem
from .store import Store, StudyInfo
from .strategies.base import Strategy
from .types import DUPLICATE, FAILED, ILLEGAL, OK, OVER_BUDGET, PENDING, Proposal, Trial

STOP_REASONS = ("budget", "target", "exhausted", "stalled", "interrupted")


class History:
    """The run's trials as strategies may read them (read-only to them)."""

    def __init__(self) -> None:
        self.by_key: dict[str, Trial] = {}
        self._evaluated: list[Trial] = []
        self._best: Trial | None = None

    def is_visited(self, key: str) -> bool:
        return key in self.by_key

    def lookup(self, key: str) -> Trial | None:
        return self.by_key.get(key)

    def evaluated(self) -> list[Trial]:
        return list(self._evaluated)

    def best(self) -> Trial | None:
        """Best eligible (feasible) evaluated trial by score."""
        return self._best

    @property
    def n_evaluated(self) -> int:
        return len(self._evaluated)

    def add(self, t: Trial) -> None:
        if t.status in (OK, OVER_BUDGET, FAILED) and t.key:
            self.by_key.setdefault(t.key, t)
        if t.status == OK:
            self._evaluated.append(t)
            if t.feasible and t.score is not None and (self._best is None or t.score > self._best.score):  # type: ignore[operator]
                self._best = t


@dataclass
class RunSummary:
    study: str
    store: str
    stop_reason: str
    n_evaluated: int
    n_trials: int
    counts: dict[str, int]
    best: Trial | None  # best eligible by search signal
    best_report_seen: float | None  # best report metric among eligible evaluated trials
    wall_s: float
    config: dict[str, Any] = field(default_factory=dict)


TrialCallback = Callable[[Trial, "Runner"], None]


class Runner:
    def __init__(
        self,
        store: Store,
        study: StudyInfo,
        cfg: RunConfig,
        problem: Problem,
        strategy: Strategy,
        history: History,
        on_trial: TrialCallback | None = None,
    ) -> None:
        self.store, self.study, self.cfg = store, study, cfg
        self.space, self.evaluator = problem.space, problem.evaluator
        self.strategy, self.history = strategy, history
        self.constraints = ConstraintSet(cfg.parsed_constraints(), problem.evaluator)
        self.on_trial = on_trial
        self.sign = 1.0 if problem.evaluator.higher_is_better else -1.0
        self.stall = 0
        self.next_seq = 0
        self.round = 0
        self.sink: Any = None  # LLM call recorder: told the round and phase of each call

    def _phase(self, round_: int, phase: str) -> None:
        if self.sink is not None:
            self.sink.round, self.sink.phase = round_, phase

    # ----- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Run until a stop reason; returns it. Ctrl-C records 'interrupted' and re-raises."""
        sid = self.study.id
        self.store.set_status(sid, "running", None)
        try:
            self._finish_interrupted_round()
            reason = self._loop()
        except KeyboardInterrupt:
            self.store.set_status(sid, "interrupted", "interrupted")
            self.store.add_event(sid, "stop", "interrupted by the user; `llmnas resume` continues")
            raise
        self.store.set_status(sid, "finished", reason)
        self.store.add_event(sid, "stop", reason)
        return reason

    def _loop(self) -> str:
        while True:
            reason = self._stop_reason()
            if reason:
                return reason
            n = min(self.strategy.batch_size, self.cfg.budget - self.history.n_evaluated)
            self._phase(self.round, "ask")
            proposals = self.strategy.ask(n)
            if not proposals:
                why = getattr(self.strategy, "stopped", "") or "the strategy had nothing new to propose"
                self.store.add_event(self.study.id, "exhausted", str(why))
                return "exhausted"
            pending = [self._pending(p) for p in proposals]
            self.store.add_pending(self.study.id, pending, self.strategy.state_dict(), self.round)
            told = [self._process(t) for t in pending]
            self._tell(told)

    def _finish_interrupted_round(self) -> None:
        """Resume: finish the proposals of a round that was asked but not told."""
        trials = self.store.trials(self.study.id)
        self.next_seq = trials[-1].seq + 1 if trials else 0
        state = self.store.load_state(self.study.id)
        if state is None:
            if trials:
                raise LlmnasError("store holds trials but no strategy state; it was not written by this llmnas runner")
            return
        round_, phase, st = state
        self.strategy.load_state_dict(st)
        self.round = round_ + 1
        if phase == "asked":
            this_round = [t for t in trials if t.round == round_]
            done = [t if t.status != PENDING else self._process(t) for t in this_round]
            self.round = round_
            self._tell(done)

    def _tell(self, trials: list[Trial]) -> None:
        self._phase(self.round, "tell")
        self.strategy.tell(trials)
        self.store.save_told(self.study.id, self.round, self.strategy.state_dict())
        self.round += 1

    def _stop_reason(self) -> str | None:
        if self.history.n_evaluated >= self.cfg.budget:
            return "budget"
        best = self.history.best()
        if self.cfg.target is not None and best is not None and best.score is not None:
            if best.score >= self.sign * self.cfg.target:
                return "target"
        if self.stall >= self.cfg.max_stall:
            return "stalled"
        return None

    # ----- one proposal ------------------------------------------------------------------------
    def _pending(self, p: Proposal) -> Trial:
        t = Trial(seq=self.next_seq, round=self.round, arch=p.arch, key="", status=PENDING,
                  source=p.source, note=p.note, meta=dict(p.meta))
        self.next_seq += 1
        return t

    def _process(self, t: Trial) -> Trial:
        """Classify and (maybe) evaluate one pending trial, then commit it."""
        self._classify(t)
        if t.status == OK:
            self._evaluate(t)
        self.stall = 0 if t.status == OK else self.stall + 1
        self.store.finish_trial(self.study.id, t)
        self.history.add(t)
        if self.on_trial is not None:
            self.on_trial(t, self)
        return t

    def _classify(self, t: Trial) -> None:
        reason = self.space.check(t.arch)
        if reason is not None:
            t.status, t.reason = ILLEGAL, reason
            return
        t.arch = self.space.encode(t.arch)
        t.key = self.space.canonical_key(t.arch)
        earlier = self.history.lookup(t.key)
        if earlier is not None:
            t.status, t.reason = DUPLICATE, f"same as trial {earlier.seq}"
            t.signal, t.score, t.report = earlier.signal, earlier.score, earlier.report
            t.metrics, t.feasible = dict(earlier.metrics), earlier.feasible
            return
        if self.constraints:
            ok, values, why = self.constraints.check(t.arch)
            t.metrics.update(values)
            if not ok:
                t.feasible, t.reason = False, why
                if self.cfg.over_budget == "skip":
                    t.status = OVER_BUDGET
                    return
                if self.cfg.over_budget == "penalize":
                    t.status, t.score = OVER_BUDGET, float(self.cfg.penalty)
                    return
        t.status = OK

    def _evaluate(self, t: Trial) -> None:
        t0 = time.perf_counter()
        try:
            res = self.evaluator.evaluate(t.arch)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a user's evaluator may raise anything: record it, go on
            t.status, t.reason = FAILED, f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
            t.eval_seconds = time.perf_counter() - t0
            return
        t.eval_seconds = time.perf_counter() - t0
        t.number = self.history.n_evaluated
        t.signal, t.report = float(res.signal), float(res.report)
        t.score = self.sign * t.signal
        t.metrics.update(res.metrics)


def summarize(store: Store, study: StudyInfo, trials: list[Trial] | None = None) -> RunSummary:
    """Summary of a stored study: best eligible by signal, its report, best report seen."""
    trials = store.trials(study.id) if trials is None else trials
    counts: dict[str, int] = {}
    for t in trials:
        counts[t.status] = counts.get(t.status, 0) + 1
    ok = [t for t in trials if t.status == OK]
    eligible = [t for t in ok if t.feasible and t.score is not None]
    best = max(eligible, key=lambda t: (t.score, -t.seq)) if eligible else None
    hib = study.config.get("resolved", {}).get("evaluator", {}).get("higher_is_better", True)
    reports = [t.report for t in eligible if t.report is not None]
    best_report = (max(reports) if hib else min(reports)) if reports else None
    times = [study.created_at, study.updated_at]
    return RunSummary(
        study=study.name, store=str(store.path), stop_reason=study.stop_reason or study.status,
        n_evaluated=len(ok), n_trials=len(trials), counts=counts, best=best,
        best_report_seen=best_report, wall_s=times[1] - times[0], config=study.config,
    )


def check_requirements(strategy_cls: type[Strategy], problem: Problem) -> None:
    missing = set(strategy_cls.requires) - set(problem.space.capabilities)
    if missing:
        raise ConfigError(
            f"strategy {strategy_cls.name!r} needs space capabilities {', '.join(sorted(missing))} "
            f"that space {problem.space.name!r} lacks; pick another strategy"
        )
