"""llmnas runs as Optuna studies, through Optuna's own API.

:class:`RunMirror` copies a run store (or every store under a bench folder) into an Optuna
storage: one Optuna study per llmnas study, one Optuna trial per llmnas trial, in proposal
order (Optuna trial number = llmnas ``seq``). It reads the run store read-only and is
incremental: call :meth:`RunMirror.sync` again and it adds what was written since (new
trials, pending trials that finished, new studies and store files), which is how
``llmnas dashboard`` follows a search that another process is running.

Mapping of a trial:

* parameters: one ``CategoricalDistribution`` per decision of the space (all its options);
* value: the search signal (the study's direction follows the evaluator: maximize for
  accuracy); ``ok`` trials and duplicates (which carry the earlier trial's metrics) are
  ``COMPLETE``; illegal, failed and unevaluated over-budget trials are ``FAIL``; pending ones
  are ``RUNNING``;
* constraints (runs with ``--constraint``): one Optuna constraint per constraint, ``<= 0``
  when it holds, so ``study.best_trial`` is the best feasible trial, as in ``llmnas show``;
* user attributes: ``status``, ``source``, ``iteration``, ``evaluation`` (the budget counter),
  the report metric (e.g. ``test_200``, test accuracy), ``feasible``, every cost metric
  (``params_M``, ``flops_M``, ``latency_ms[...]`` ...), ``eval_seconds``, ``reason``, ``note``,
  the role of the LLM strategies (generator / fallback) and ``llmnas_seq``;
* CoLLM: the Navigator's strategy text of an iteration goes to the first trial of that
  iteration, as the user attribute ``navigator_strategy`` and, when optuna-dashboard is
  installed, as that trial's note; the study note lists every iteration's strategy.

Study user attributes hold the run's space, dataset, strategy, budget, seed, signal, report
metric, constraints, status and stop reason, and the path of the llmnas store.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError, LlmnasError
from ..store import Store, StudyInfo
from ..store.sqlite import iter_store_files
from ..strategies.optuna_samplers import constraint_values, quiet_optuna
from ..types import DUPLICATE, OK, PENDING, Trial


def open_storage(out: str | Path) -> Any:
    """An Optuna storage: an RDB URL (``sqlite:///x.db``, ``postgresql://...``) or a journal file path."""
    import optuna

    text = str(out)
    if "://" in text:
        try:
            return optuna.storages.RDBStorage(text)
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds for a bad URL
            raise ConfigError(f"cannot open Optuna storage {text!r}: {exc}") from None
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    Path(text).parent.mkdir(parents=True, exist_ok=True)
    return JournalStorage(JournalFileBackend(text))


def study_name(store_path: Path, study: str, folder: Path | None) -> str:
    """``study`` for a single store; ``<store file>/<study>`` under a bench folder, with the
    bench's seed-chunk suffix dropped (``rea-cifar10-b100-s0-24.sqlite`` + ``s3`` ->
    ``rea-cifar10-b100/s3``)."""
    if folder is None:
        return study
    rel = store_path.relative_to(folder).with_suffix("")
    parts = list(rel.parts)
    if parts and parts[0] == "stores":
        parts = parts[1:]
    parts[-1] = re.sub(r"-s\d+-\d+$", "", parts[-1])
    return "/".join(parts + [study])


@dataclass
class _Problem:
    distributions: dict[str, Any]
    check: Any  # arch -> reason or None
    report: str
    higher_is_better: bool


def _problem(config: dict[str, Any], cache: dict[str, _Problem]) -> _Problem:
    """The study's space as Optuna distributions (rebuilt from the stored config, cached)."""
    from optuna.distributions import CategoricalDistribution

    from ..config import make_config
    from ..spaces.registry import build_problem

    data = {k: v for k, v in config.items() if k != "resolved"}
    key = json.dumps({k: data.get(k) for k in ("space", "space_options", "dataset", "signal")}, sort_keys=True, default=str)
    if key not in cache:
        try:
            problem = build_problem(make_config(data, where="stored config"))
        except LlmnasError as exc:
            raise LlmnasError(f"cannot rebuild the search space of this run ({exc}); its decisions name the Optuna parameters") from None
        space, ev = problem.space, problem.evaluator
        dists = {d.name: CategoricalDistribution(list(d.options)) for d in space.decisions}
        cache[key] = _Problem(dists, space.check, ev.report_name, bool(ev.higher_is_better))
    return cache[key]


def _scalar(v: Any) -> bool:
    return v is None or isinstance(v, (bool, int, float, str))


def _attrs(t: Trial, p: _Problem) -> dict[str, Any]:
    out: dict[str, Any] = {
        "llmnas_seq": t.seq, "status": t.status, "source": t.source,
        "iteration": t.meta.get("iteration", t.round), "feasible": bool(t.feasible),
    }
    if t.number is not None:
        out["evaluation"] = t.number + 1
    if t.report is not None and math.isfinite(t.report):
        out[p.report] = t.report
    for k, v in t.metrics.items():
        if isinstance(v, (int, float)) and math.isfinite(v):
            out[k] = v
    if t.status in (OK,):
        out["eval_seconds"] = round(float(t.eval_seconds), 6)
    for k in ("role", "fallback", "reply", "parent"):
        v = t.meta.get(k)
        if v is not None and _scalar(v):
            out[k] = v
    if t.reason:
        out["reason"] = t.reason
    if t.note:
        out["note"] = t.note
    return out


def _state_value(t: Trial) -> tuple[Any, float | None]:
    from optuna.trial import TrialState

    if t.status == PENDING:
        return TrialState.RUNNING, None
    if t.status in (OK, DUPLICATE) and t.signal is not None and math.isfinite(t.signal):
        return TrialState.COMPLETE, float(t.signal)
    return TrialState.FAIL, None


def _strategy_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    return json.dumps(value, indent=1, default=str)


@dataclass
class _StudyMirror:
    """One llmnas study mirrored into one Optuna study."""

    study: Any  # optuna.Study
    problem: _Problem
    constraints: list[str]
    frontier: int = 0  # every seq below it is final in the mirror
    n: int = 0  # trials in the Optuna study (= the next seq to add)
    running: dict[int, int] = field(default_factory=dict)  # seq -> Optuna trial number, still RUNNING
    status: tuple[str, str | None] = ("", None)
    strategies: list[tuple[int, str]] = field(default_factory=list)  # (iteration, Navigator strategy)

    def sync(self, store: Store, info: StudyInfo) -> int:
        """Mirror what changed since the last call; returns the number of trials added or finished."""
        import optuna

        changed = 0
        times = store.trial_times(info.id, from_seq=self.frontier)
        for t in store.trials(info.id, from_seq=self.frontier):
            if t.seq in self.running:
                if t.status != PENDING:
                    self._finish(t)
                    changed += 1
            elif t.seq >= self.n:
                if t.seq != self.n:
                    raise LlmnasError(f"study {info.name!r}: trial seq {t.seq} follows {self.n - 1}; the store is not in proposal order")
                self._add(t, optuna, *times.get(t.seq, (None, None)))
                changed += 1
        while self.frontier < self.n and self.frontier not in self.running:
            self.frontier += 1
        if (info.status, info.stop_reason) != self.status:
            self.status = (info.status, info.stop_reason)
            self.study.set_user_attr("status", info.status)
            self.study.set_user_attr("stop_reason", info.stop_reason)
        return changed

    def _add(self, t: Trial, optuna: Any, created: float | None, finished: float | None) -> None:
        state, value = _state_value(t)
        params, dists = self._params(t)
        attrs = _attrs(t, self.problem)
        text = t.meta.get("strategy")
        if text:
            attrs["navigator_strategy"] = _strategy_text(text)
        cons = self._constraints(t) if state != optuna.trial.TrialState.RUNNING else None
        frozen = optuna.trial.create_trial(state=state, value=value, params=params, distributions=dists,
                                           user_attrs=attrs, constraints=cons)
        if created is not None:  # the run's own times (proposed, finished), for the timeline
            frozen.datetime_start = datetime.fromtimestamp(created)
            if frozen.state.is_finished() and finished is not None:
                frozen.datetime_complete = datetime.fromtimestamp(max(finished, created))
        self.study.add_trial(frozen)
        number = self.n
        self.n += 1
        if state == optuna.trial.TrialState.RUNNING:
            self.running[t.seq] = number
        if text:
            self._note(number, int(attrs["iteration"]), attrs["navigator_strategy"])

    def _finish(self, t: Trial) -> None:
        import optuna

        number = self.running.pop(t.seq)
        trial_id = self.study._storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)
        live = optuna.trial.Trial(self.study, trial_id)
        for k, v in _attrs(t, self.problem).items():
            live.set_user_attr(k, v)
        for k, v in (self._constraints(t) or {}).items():
            live.set_constraint(k, v)
        state, value = _state_value(t)
        self.study.tell(number, value) if value is not None else self.study.tell(number, state=state)

    def _params(self, t: Trial) -> tuple[dict[str, Any], dict[str, Any]]:
        if not t.arch or self.problem.check(t.arch) is not None:
            return {}, {}  # an illegal proposal: no parameters (its reason is a user attribute)
        return dict(t.arch), dict(self.problem.distributions)

    def _constraints(self, t: Trial) -> dict[str, float] | None:
        if not self.constraints or not t.metrics:
            return None
        return constraint_values(self.constraints, t.metrics) or None

    def _note(self, number: int, iteration: int, text: str) -> None:
        self.strategies.append((iteration, text))
        try:
            from optuna_dashboard import save_note
        except ImportError:
            return
        import optuna

        trial_id = self.study._storage.get_trial_id_from_study_id_trial_number(self.study._study_id, number)
        body = f"## Navigator strategy, iteration {iteration}\n\n{text}\n"
        save_note(optuna.trial.Trial(self.study, trial_id), body)
        doc = "\n\n".join(f"### Iteration {it}\n\n{s}" for it, s in self.strategies)
        save_note(self.study, f"## Navigator strategies (CoLLM-NAS)\n\n{doc}\n")


class RunMirror:
    """Mirror a run store, or every store under a folder, into an Optuna storage."""

    def __init__(self, source: str | Path, storage: Any) -> None:
        self.source = Path(source)
        list(iter_store_files(self.source))  # a missing path fails now, with the fix
        self.folder = self.source if self.source.is_dir() else None
        self.storage = storage
        self.stores: dict[Path, Store] = {}
        self.mirrors: dict[tuple[Path, int], _StudyMirror] = {}
        self._problems: dict[str, _Problem] = {}

    def sync(self) -> int:
        """One pass: returns how many trials were added or finished in the Optuna storage."""
        changed = 0
        for path in iter_store_files(self.source):
            store = self.stores.get(path)
            if store is None:
                try:
                    store = self.stores[path] = Store(path, readonly=True)
                except LlmnasError:
                    if self.folder is None:
                        raise
                    continue  # a file a bench is still creating: next pass
            with quiet_optuna():
                for info in store.studies():
                    mirror = self.mirrors.get((path, info.id))
                    if mirror is None:
                        mirror = self.mirrors[(path, info.id)] = self._new(path, store, info)
                    changed += mirror.sync(store, info)
        return changed

    def _new(self, path: Path, store: Store, info: StudyInfo) -> _StudyMirror:
        import optuna

        p = _problem(info.config, self._problems)
        name = study_name(path, info.name, self.folder)
        try:
            study = optuna.create_study(storage=self.storage, study_name=name, sampler=optuna.samplers.RandomSampler(0),
                                        direction="maximize" if p.higher_is_better else "minimize")
        except optuna.exceptions.DuplicatedStudyError:
            raise ConfigError(f"the Optuna storage already holds a study {name!r}; write to a new file (--out) "
                              "or delete that study (optuna delete-study)") from None
        cfg = info.config
        ev = cfg.get("resolved", {}).get("evaluator", {})
        attrs = {
            "llmnas_store": str(path.resolve()), "llmnas_study": info.name, "space": cfg.get("space"),
            "dataset": cfg.get("dataset") or ev.get("dataset"), "strategy": cfg.get("strategy"),
            "strategy_options": json.dumps(cfg.get("strategy_options") or {}), "budget": cfg.get("budget"),
            "seed": info.seed, "signal": ev.get("signal"), "report": ev.get("report"),
            "constraints": ", ".join(cfg.get("constraints") or []) or "none", "over_budget": cfg.get("over_budget"),
        }
        for k, v in attrs.items():
            study.set_user_attr(k, v)
        if ev.get("signal"):
            study.set_metric_names([str(ev["signal"])])
        return _StudyMirror(study, p, list(cfg.get("constraints") or []))

    def close(self) -> None:
        for s in self.stores.values():
            s.close()
        self.stores.clear()


def export_optuna(source: str | Path, out: str | Path) -> list[str]:
    """Write a run (or a bench folder) into an Optuna storage; returns the study names."""
    mirror = RunMirror(source, open_storage(out))
    try:
        mirror.sync()
        return [m.study.study_name for m in mirror.mirrors.values()]
    finally:
        mirror.close()
