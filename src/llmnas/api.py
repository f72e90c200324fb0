"""Python API: start, resume and open runs.

```python
import llmnas
summary = llmnas.search(space="nb201", dataset="cifar100", strategy="rea", budget=100, seed=1,
                        store="runs/demo.sqlite")
print(summary.best.report, summary.best.arch)
```
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from .config import RunConfig, make_config
from .errors import ConfigError, DataError
from .spaces.registry import Problem, build_problem
from .runner import History, Runner, RunSummary, TrialCallback, check_requirements, summarize
from .seeding import child_rng
from .store import Store, StudyInfo
from .strategies import STRATEGIES
from .strategies.base import Strategy, StrategyContext
from .versions import versions


def _settings(strategy_cls: type[Strategy], options: dict[str, Any]):  # type: ignore[no-untyped-def]
    from pydantic import ValidationError

    from .config import validation_message

    try:
        return strategy_cls.Settings.model_validate(options)
    except ValidationError as exc:
        fields = strategy_cls.Settings.model_fields
        msg = validation_message(exc, f"strategy {strategy_cls.name!r} option", fields)
        if exc.errors()[0]["type"] != "extra_forbidden":  # the unknown-key line lists them already
            msg += f"; valid options: {', '.join(fields) or 'none'}"
        raise ConfigError(msg) from None


def prepare(cfg: RunConfig) -> tuple[Problem, type[Strategy], Any]:
    """Validate everything a run needs before anything is written."""
    strategy_cls = STRATEGIES.get(cfg.strategy)
    settings = _settings(strategy_cls, cfg.strategy_options)
    problem = build_problem(cfg)
    check_requirements(strategy_cls, problem)
    from .constraints import ConstraintSet

    ConstraintSet(cfg.parsed_constraints(), problem.evaluator)  # unknown metric -> error now
    size = problem.space.size()
    if cfg.budget > size:
        raise ConfigError(f"budget {cfg.budget} is larger than the space ({size:,} architectures); lower --budget")
    return problem, strategy_cls, settings


def resolved_config(cfg: RunConfig, problem: Problem) -> dict[str, Any]:
    """The config stored with a run; credentials in LLM URLs (``user:pass@``) are redacted."""
    from .redact import redact_all

    data = cfg.model_dump(mode="json")
    if data.get("llm"):
        data["llm"] = redact_all(data["llm"])
    from .space_fingerprint import space_fingerprint

    return {**data, "resolved": {**problem.describe(), "space_fingerprint": space_fingerprint(problem.space)}}


def _pinned_llm_settings(cfg: RunConfig, store: Store, study: StudyInfo) -> Any:
    """The run's LLM settings; a study whose ``llm`` section names no model keeps the named
    embedded model its calls used, so a resume after the default model changed does not switch."""
    settings = cfg.llm_settings()
    if "model" not in (cfg.llm or {}) and settings.backend == "embedded":
        from .llm.models import LLM_MODELS

        used = store.last_llm_model(study.id)
        if used in LLM_MODELS and used != settings.model:
            settings = settings.model_copy(update={"model": used})
    return settings


def default_study_name(cfg: RunConfig) -> str:
    space = Path(cfg.space).stem if cfg.space.endswith((".yaml", ".yml")) else cfg.space
    parts = [space, cfg.dataset or "", cfg.strategy, f"s{cfg.seed}"]
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(p for p in parts if p))


def default_store_path(cfg: RunConfig) -> Path:
    return Path("runs") / f"{default_study_name(cfg)}-{time.strftime('%Y%m%d-%H%M%S')}.sqlite"


_SETUP_ERRORS = (ConfigError, DataError)  # a setting to fix, not a fault of a server or the store


class Run:
    """An open study: its store, runner and strategy, ready to ``run()``."""

    def __init__(self, store: Store, study: StudyInfo, cfg: RunConfig, on_trial: TrialCallback | None = None,
                 llm: Any = None, prepared: tuple[Problem, type[Strategy], Any] | None = None) -> None:
        # ``prepared``: what :func:`prepare` returned for this config (start and reopen have it
        # already; building a problem can mean loading a supernet checkpoint)
        problem, strategy_cls, settings = prepared if prepared is not None else prepare(cfg)
        from .space_fingerprint import check_space_unchanged

        check_space_unchanged(study.config, problem.space, study.name)
        self.store, self.study, self.cfg, self.problem = store, study, cfg, problem
        self.history = History()
        interrupted = _interrupted_round(store, study)
        for t in store.trials(study.id):  # an interrupted round re-enters in proposal order on resume
            if t.status != "pending" and t.round != interrupted:
                self.history.add(t)
        sink = None
        if llm is None and strategy_cls.uses_llm:
            from .llm_wiring import make_run_client

            llm, sink = make_run_client(_pinned_llm_settings(cfg, store, study), store, study.id,
                                        _interrupted_step(store, study))
        self.llm = llm
        ctx = StrategyContext(
            space=problem.space, rng=child_rng(cfg.seed, "strategy"), history=self.history, llm=llm, seed=cfg.seed,
            run_info={"constraints": cfg.constraints, "signal": problem.evaluator.signal_name,
                      "higher_is_better": problem.evaluator.higher_is_better, "budget": cfg.budget,
                      "dataset": cfg.dataset, "target": cfg.target, "over_budget": cfg.over_budget},
            peek_signal=_table_peek(strategy_cls, problem),
        )
        self.strategy = strategy_cls(ctx, settings)
        from .executors import make_executor

        self.executor = make_executor(cfg.executor, cfg.model_dump(mode="json"), problem.evaluator)
        self.runner = Runner(store, study, cfg, problem, self.strategy, self.history, on_trial, self.executor)
        self.runner.sink = sink

    created_here = False  # the study was created by this session (see :func:`start`)

    def run(self) -> RunSummary:
        try:
            self.runner.run()
        except _SETUP_ERRORS:
            # a config error found only when the run began (e.g. a prompt template): a study with
            # no trial yet is taken back, so the corrected command can create it again (an
            # endpoint fault keeps its stopped study: `resume` continues once the server is fixed)
            if self.created_here and not self.store.trials(self.study.id):
                self.store.discard_new_study(self.study.id)
            raise
        finally:
            try:
                self.executor.close()
            finally:
                if self.llm is not None and hasattr(self.llm, "close"):
                    self.llm.close()
        return self.summary()

    def summary(self) -> RunSummary:
        study = self.store.get_study(self.study.name)
        return summarize(self.store, study)


def _table_peek(strategy_cls: type[Strategy], problem: Problem):  # type: ignore[no-untyped-def]
    """The table lookup a ceiling strategy reads (None for every other strategy)."""
    if not strategy_cls.peeks_at_table:
        return None
    ev = problem.evaluator
    if not ev.lookup:
        raise ConfigError(f"strategy {strategy_cls.name!r} reads the table's signal of every candidate (a ceiling, "
                          "not a search method), so it runs only on tabular spaces (e.g. nb201, nb301, nb-macro, "
                          "transnas-micro, or a YAML space with `type: table`); this space evaluates by training "
                          "or a supernet")
    sign = 1.0 if ev.higher_is_better else -1.0
    return lambda arch: sign * float(ev.evaluate(arch).signal)


def _interrupted_round(store: Store, study: StudyInfo) -> int | None:
    """The round that was asked but not told (its trials are finished on resume), if any."""
    state = store.load_state(study.id)
    return state[0] if state is not None and state[1] == "asked" else None


def _interrupted_step(store: Store, study: StudyInfo) -> tuple[int, str] | None:
    """(round, phase) whose LLM calls may have happened after the last stored state."""
    state = store.load_state(study.id)
    if state is None:
        return (0, "ask") if store.llm_calls(study.id) else None
    round_, phase, _ = state
    return (round_, "tell") if phase == "asked" else (round_ + 1, "ask")


def start(cfg: RunConfig, store_path: str | Path, study: str | None = None, *, load_if_exists: bool = False,
          on_trial: TrialCallback | None = None, store: Store | None = None) -> Run:
    """Create (or, with ``load_if_exists``, reopen) a study and return it ready to run."""
    prepared = prepare(cfg)
    problem = prepared[0]
    own = store is None
    new_file = own and not Path(store_path).exists()
    store = store or Store(store_path)
    created: StudyInfo | None = None
    try:
        name = study or default_study_name(cfg)
        existed = store.find_study(name) is not None
        info = store.create_study(name, resolved_config(cfg, problem), cfg.seed,
                                  versions(), load_if_exists=load_if_exists)
        created = None if existed else info
        if load_if_exists and existed:
            from .load_conflicts import check_load_if_exists

            cfg = check_load_if_exists(cfg, info)  # differs from the prepared one in LLM runtime keys at most
        run = Run(store, info, cfg, on_trial, prepared=prepared)
        run.created_here = created is not None
        return run
    except BaseException as exc:
        if created is not None and isinstance(exc, _SETUP_ERRORS):
            store.discard_new_study(created.id)  # the corrected command can create it again
        if own:
            store.close()
            if new_file and created is not None and isinstance(exc, _SETUP_ERRORS):
                store.remove_files()
        raise


def reopen(store_path: str | Path, study: str | None = None, *, budget: int | None = None,
           on_trial: TrialCallback | None = None, executor: dict[str, Any] | None = None,
           llm_base_url: str | None = None, llm_api_key_env: str | None = None,
           trust_stored_llm: bool = False) -> Run:
    """Reopen a stored study to continue it (``llmnas resume``); ``budget`` may extend it and
    ``executor`` (keys of :class:`~llmnas.config.ExecutorSettings`) may move it elsewhere: the
    trials do not depend on where evaluations run. A stored LLM endpoint or API-key variable is
    used only when named again (``llm_base_url``, ``llm_api_key_env``) or ``trust_stored_llm``
    (see :mod:`llmnas.resume_llm`)."""
    from .resume_llm import confirm_llm

    store = Store(store_path, create=False)
    try:
        info = store.get_study(study)
        data = {k: v for k, v in info.config.items() if k != "resolved"}
        _check_writer(info)
        llm = confirm_llm(data.get("llm"), info.name, base_url=llm_base_url, api_key_env=llm_api_key_env,
                          trust=trust_stored_llm)
        llm_moved = llm != data.get("llm")
        if llm_moved:
            data["llm"] = llm
        if budget is not None:
            data["budget"] = budget
        if executor:
            data["executor"] = executor if "kind" in executor else {**data.get("executor", {}), **executor}
        cfg = make_config(data, where="stored config")
        prepared = None
        if budget is not None or executor or llm_moved:
            prepared = prepare(cfg)
            from .space_fingerprint import check_space_unchanged

            check_space_unchanged(info.config, prepared[0].space, info.name)
            store.update_config(info.id, resolved_config(cfg, prepared[0]))
            info = store.get_study(info.name)
        return Run(store, info, cfg, on_trial, prepared=prepared)
    except BaseException:
        store.close()
        raise


def _check_writer(info: StudyInfo) -> None:
    """A run written by a newer llmnas gets a clear error before its config is read."""
    from .versions import versions as now

    theirs, ours = str(info.versions.get("llmnas", "")), now().get("llmnas", "")
    if theirs and ours and _vtuple(theirs) > _vtuple(ours):
        cfg_v = info.config.get("config_version", 1)
        from .config import CONFIG_VERSION

        if not isinstance(cfg_v, int) or cfg_v > CONFIG_VERSION or set(info.config) - set(RunConfig.model_fields) - {"resolved"}:
            raise ConfigError(f"study {info.name!r} was written by llmnas {theirs}, newer than this llmnas {ours}; "
                              "upgrade llmnas (pip install -U llmnas) to continue it")


def _vtuple(v: str) -> tuple[int, ...]:
    out = []
    for part in v.split("."):
        digits = "".join(ch for ch in part if ch.isdigit())
        out.append(int(digits) if digits else 0)
    return tuple(out)


def search(store: str | Path | None = None, study: str | None = None, **config: Any) -> RunSummary:
    """Run a search from keyword config (see :class:`~llmnas.config.RunConfig`)."""
    cfg = make_config(config)
    run = start(cfg, store or default_store_path(cfg), study)
    try:
        return run.run()
    finally:
        run.store.close()


def finished_summary(store_path: str | Path, study: str | None, budget: int | None) -> RunSummary | None:
    """The summary of a finished study when a resume would add nothing (no new budget), read
    without building its space or evaluator (which may import code); else None."""
    if budget is not None:
        return None
    with Store(store_path, create=False, readonly=True) as store:
        info = store.get_study(study)
        _check_writer(info)
        return summarize(store, info) if info.status == "finished" else None


def resume(store: str | Path, study: str | None = None, budget: int | None = None,
           executor: dict[str, Any] | None = None, *, llm_base_url: str | None = None,
           llm_api_key_env: str | None = None, trust_stored_llm: bool = False) -> RunSummary:
    done = finished_summary(store, study, budget)
    if done is not None:
        return done
    run = reopen(store, study, budget=budget, executor=executor, llm_base_url=llm_base_url,
                 llm_api_key_env=llm_api_key_env, trust_stored_llm=trust_stored_llm)
    try:
        return run.run()
    finally:
        run.store.close()
