"""The one search loop: ask -> check -> dedup -> constrain -> evaluate -> record -> tell.

The runner owns the budget (unique evaluated architectures), deduplication by canonical key,
the constraint policy, the store writes and the stop reason. Strategies only propose.

One round: the strategy's proposals are classified in proposal order (illegal, duplicate,
over budget, or to evaluate: those get the next evaluation ``number``) and written as pending
trials with the strategy state; the ones to evaluate go to the executor (local, worker
processes or Ray, see :mod:`llmnas.executors`), which returns results as they finish. Each
result is committed to the store the moment it arrives. The run's history (what strategies
read) and the progress callback advance in proposal order, and the strategy is told the
whole round in proposal order, so the same seed gives the same trials on every executor and
with any number of workers. A killed run resumes from the store: the pending proposals of an
interrupted round are finished first, without a new ask.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from . import progress_events
from .config import RunConfig
from .constraints import ConstraintSet
from .errors import ConfigError, LlmnasError
from .executors.base import EvalJob, EvalOutcome, Executor
from .executors.local import LocalExecutor
from .spaces.registry import Problem
from .store import Store, StudyInfo
from .strategies.base import Strategy
from .types import DUPLICATE, FAILED, ILLEGAL, OK, OVER_BUDGET, PENDING, Proposal, Trial
from .wording import plural

STOP_REASONS = ("budget", "target", "exhausted", "stalled", "interrupted", "error")


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
    wall_s: float  # busy seconds over every session (pauses between sessions excluded)
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
        executor: Executor | None = None,
    ) -> None:
        self.store, self.study, self.cfg = store, study, cfg
        self.space, self.evaluator = problem.space, problem.evaluator
        self.strategy, self.history = strategy, history
        self.constraints = ConstraintSet(cfg.parsed_constraints(), problem.evaluator)
        self.on_trial = on_trial
        self.executor: Executor = executor if executor is not None else LocalExecutor(problem.evaluator)
        self.sign = 1.0 if problem.evaluator.higher_is_better else -1.0
        self.stall = 0
        self.next_seq = 0
        self.next_number = 0
        self.round = 0
        self.sink: Any = None  # LLM call recorder: told the round and phase of each call

    def _phase(self, round_: int, phase: str) -> None:
        if self.sink is not None:
            self.sink.round, self.sink.phase = round_, phase

    # ----- the loop ----------------------------------------------------------------------------
    def run(self) -> str:
        """Run until a stop reason; returns it. Ctrl-C records 'interrupted' and re-raises; an
        error a user can fix (e.g. an LLM endpoint that stays down) records 'error' and re-raises."""
        sid = self.study.id
        self.store.set_status(sid, "running", None)
        self.store.add_event(sid, "session", "started")  # durations count from here (Store.session_seconds)
        try:
            self._finish_interrupted_round()
            reason = self._loop()
        except KeyboardInterrupt:
            self.store.set_status(sid, "interrupted", "interrupted")
            self.store.add_event(sid, "stop", "interrupted by the user; `llmnas resume` continues")
            raise
        except LlmnasError as exc:
            self.store.set_status(sid, "stopped", "error")
            self.store.add_event(sid, "error", f"{exc}; fix it, then `llmnas resume` continues")
            raise
        self.store.set_status(sid, "finished", reason)
        self.store.add_event(sid, "stop", reason)
        return reason

    def _loop(self) -> str:
        while True:
            reason = self._stop_reason()
            if reason:
                return reason
            n = min(self.cfg.batch_size or self.strategy.batch_size, self.cfg.budget - self.history.n_evaluated)
            self._phase(self.round, "ask")
            progress_events.phase("proposing", f"{self.strategy.name}, round {self.round + 1}")
            proposals = self.strategy.ask(n)
            if not proposals:
                # keep what the strategy did while finding nothing (its LLM calls are stored too)
                self.store.save_told(self.study.id, self.round, self.strategy.state_dict())
                why = getattr(self.strategy, "stopped", "") or "the strategy had nothing new to propose"
                self.store.add_event(self.study.id, "exhausted", str(why))
                return "exhausted"
            pending = [self._pending(p) for p in proposals]
            told = self._run_round(pending, state=self.strategy.state_dict())
            self._tell(told)

    def _finish_interrupted_round(self) -> None:
        """Resume: finish the proposals of a round that was asked but not told."""
        trials = self.store.trials(self.study.id)
        self.next_seq = trials[-1].seq + 1 if trials else 0
        self.next_number = max((t.number for t in trials if t.number is not None), default=-1) + 1
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
            self.round = round_
            self._tell(self._run_round(this_round, state=None))

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

    # ----- one round ---------------------------------------------------------------------------
    def _pending(self, p: Proposal) -> Trial:
        t = Trial(seq=self.next_seq, round=self.round, arch=p.arch, key="", status=PENDING,
                  source=p.source, note=p.note, meta=dict(p.meta))
        self.next_seq += 1
        return t

    def _run_round(self, trials: list[Trial], state: dict[str, Any] | None) -> list[Trial]:
        """Classify, store, evaluate and release one round's trials (in seq order).

        ``state`` is the strategy state after the ask: given for a new round (its trials are
        written as pending first); None when finishing an interrupted round from the store,
        whose final trials are kept as they are and whose pending ones are done now."""
        rows = [replace(t, meta=dict(t.meta)) for t in trials]  # the proposals as asked
        first: dict[str, Trial] = {}  # key -> first trial of this round the history will index
        waiting: dict[int, list[Trial]] = {}  # seq of a trial being evaluated -> its duplicates
        to_eval: list[Trial] = []
        evaluating: set[int] = set()
        ready: list[Trial] = []  # final before any evaluation (illegal, duplicate, over budget)
        for t in trials:
            if t.status != PENDING:
                if t.key and t.status in (OK, OVER_BUDGET, FAILED):
                    first.setdefault(t.key, t)
                continue
            orig = self._classify(t, first, evaluating)
            if orig is not None:
                waiting.setdefault(orig.seq, []).append(t)
            elif t.status == PENDING:  # to evaluate
                if t.number is None:
                    t.number = self.next_number
                    self.next_number += 1
                to_eval.append(t)
                evaluating.add(t.seq)
                first[t.key] = t
            else:
                if t.status == OVER_BUDGET:
                    first.setdefault(t.key, t)
                ready.append(t)
        if state is not None:
            for row, t in zip(rows, trials):
                row.key, row.number = t.key, t.number
            self.store.add_pending(self.study.id, rows, state, self.round)
        for t in ready:
            self._commit(t)
        cursor = self._release(trials, 0)
        if to_eval:
            self.executor.start()  # workers up and evaluators built (once per run)
            progress_events.phase("evaluating", plural(len(to_eval), "architecture"))
        by_seq = {t.seq: t for t in to_eval}
        for out in self.executor.run([EvalJob(t.seq, t.arch) for t in to_eval]):
            t = by_seq.pop(out.seq)
            self._apply(t, out)
            self._commit(t)
            for d in waiting.pop(t.seq, []):
                self._copy_from(d, t)
                self._commit(d)
            cursor = self._release(trials, cursor)
        assert not by_seq and not waiting, "the executor lost jobs"
        return trials

    def _release(self, trials: list[Trial], cursor: int) -> int:
        """Hand final trials to the history and the callback in proposal order."""
        while cursor < len(trials) and trials[cursor].status != PENDING:
            t = trials[cursor]
            self.stall = 0 if t.status == OK else self.stall + 1
            self.history.add(t)
            if self.on_trial is not None:
                self.on_trial(t, self)
            cursor += 1
        return cursor

    def _commit(self, t: Trial) -> None:
        self.store.finish_trial(self.study.id, t)

    def _classify(self, t: Trial, first: dict[str, Trial], evaluating: set[int]) -> Trial | None:
        """Make ``t`` final (illegal, duplicate, over budget) or leave it pending: to evaluate,
        or, when it duplicates an earlier trial of this round still being evaluated, waiting
        for that one (which is returned)."""
        t.reason, t.signal, t.score, t.report, t.metrics, t.feasible = "", None, None, None, {}, True
        reason = self.space.check(t.arch)
        if reason is not None:
            t.status, t.reason, t.key, t.number = ILLEGAL, reason, "", None
            return None
        t.arch = self.space.encode(t.arch)
        t.key = self.space.canonical_key(t.arch)
        earlier = self.history.lookup(t.key) or first.get(t.key)
        if earlier is not None:
            t.number = None
            if earlier.seq in evaluating:
                return earlier  # final once the earlier one's evaluation is back
            self._copy_from(t, earlier)
            return None
        if self.constraints:
            ok, values, why = self.constraints.check(t.arch)
            t.metrics.update(values)
            if not ok:
                t.feasible, t.reason = False, why
                if self.cfg.over_budget == "skip":
                    t.status, t.number = OVER_BUDGET, None
                    return None
                if self.cfg.over_budget == "penalize":
                    t.status, t.score, t.number = OVER_BUDGET, float(self.cfg.penalty), None
                    return None
        t.status = PENDING  # to evaluate
        return None

    @staticmethod
    def _copy_from(t: Trial, earlier: Trial) -> None:
        t.status, t.reason, t.number = DUPLICATE, f"same as trial {earlier.seq}", None
        t.signal, t.score, t.report = earlier.signal, earlier.score, earlier.report
        t.metrics, t.feasible = dict(earlier.metrics), earlier.feasible

    def _apply(self, t: Trial, out: EvalOutcome) -> None:
        """Fill a trial from its evaluation outcome."""
        t.eval_seconds = out.eval_seconds
        if out.lost_workers:
            t.meta = {**t.meta, "lost_workers": list(out.lost_workers)}
        if out.error is not None:
            t.status, t.reason = FAILED, out.error
            return
        assert out.signal is not None and out.report is not None
        t.status = OK
        t.signal, t.report = float(out.signal), float(out.report)
        t.score = self.sign * t.signal
        t.metrics.update(out.metrics)


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
    return RunSummary(
        study=study.name, store=str(store.path), stop_reason=study.stop_reason or study.status,
        n_evaluated=len(ok), n_trials=len(trials), counts=counts, best=best,
        best_report_seen=best_report, wall_s=store.session_seconds(study.id), config=study.config,
    )


def check_requirements(strategy_cls: type[Strategy], problem: Problem) -> None:
    missing = set(strategy_cls.requires) - set(problem.space.capabilities)
    if missing:
        raise ConfigError(
            f"strategy {strategy_cls.name!r} needs space capabilities {', '.join(sorted(missing))} "
            f"that space {problem.space.name!r} lacks; pick another strategy"
        )
