"""``llmnas show``: a study's summary, best architecture, metrics, trajectory and LLM use."""

from __future__ import annotations

import json
from datetime import datetime

from rich.console import Console
from rich.table import Table

from ..runner import summarize
from ..store import Store, StudyInfo
from ..strategies import StrategyReport
from ..types import OK
from .llm_usage import llm_line, llm_table
from .safe_text import clean, safe
from .sources import sources_line, study_report


def show_study(console: Console, store: Store, study: StudyInfo, last_trials: int = 0,
               strategy_text: bool = False) -> None:
    """The summary first (model, LLM use, where proposals came from), then the best
    architecture, the trajectory and the iterations; the Navigator's strategy texts only with
    ``strategy_text`` (they run to ~100 lines)."""
    trials = store.trials(study.id)
    s = summarize(store, study, trials)
    cfg = study.config
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column()
    created = datetime.fromtimestamp(study.created_at).strftime("%Y-%m-%d %H:%M:%S")
    resolved = cfg.get("resolved", {})
    rows = [
        ("study", f"{study.name} ({store.path})"),
        ("space", f"{cfg.get('space')} ({resolved.get('space_size', '?'):,} architectures)" if isinstance(resolved.get("space_size"), int) else str(cfg.get("space"))),
        ("dataset", str(cfg.get("dataset") or resolved.get("evaluator", {}).get("dataset") or "-")),
        ("strategy", f"{cfg.get('strategy')} {json.dumps(cfg.get('strategy_options') or {})}"),
        ("budget / seed", f"{cfg.get('budget')} / {study.seed}"),
        ("signal / report", f"{resolved.get('evaluator', {}).get('signal')} / {resolved.get('evaluator', {}).get('report')}"),
        ("constraints", ", ".join(cfg.get("constraints") or []) or "none" + ""),
        ("status", f"{study.status} ({s.stop_reason}), started {created}, {s.wall_s:.1f} s"),
        ("trials", f"{s.n_evaluated} evaluated of {s.n_trials} proposals: " + ", ".join(f"{k} {v}" for k, v in sorted(s.counts.items()))),
        ("versions", ", ".join(f"{k} {v}" for k, v in study.versions.items() if k != "platform")),
    ]
    if cfg.get("constraints"):
        rows.insert(7, ("over budget", str(cfg.get("over_budget"))))
    if cfg.get("llm"):
        from ..resume_llm import describe_llm

        rows.insert(4, ("LLM setup", describe_llm(cfg["llm"])))
    llm = store.llm_totals(study.id)
    if llm["calls"]:
        llm_cfg = cfg.get("llm") or {}
        line = llm_line(llm, llm_cfg.get("price_in_per_mtok"), llm_cfg.get("price_out_per_mtok"))
        model = _model_name(store, study)
        rows.append(("LLM", (f"{model}: " if model else "") + line))
    report = study_report(store, study.id, cfg.get("strategy"))
    sources = sources_line(trials, report)
    if sources:
        rows.append(("sources", sources))
    for k, v in rows:
        head.add_row(k, safe(v))
    console.print(head)

    best = s.best
    if best is not None:
        bt = Table(title="best architecture (by search signal, eligible only)")
        bt.add_column("field")
        bt.add_column("value")
        bt.add_row("trial", safe(f"#{best.number} (seq {best.seq}, source {best.source})"))
        bt.add_row("key", safe(best.key))
        bt.add_row("arch", safe(json.dumps(best.arch)))
        bt.add_row("signal", f"{best.signal:.4f}")
        bt.add_row("report", f"{best.report:.4f}")
        for k, v in best.metrics.items():
            bt.add_row(safe(k), f"{v:.6g}" if isinstance(v, float) else safe(v))
        bt.add_row("best report seen", "-" if s.best_report_seen is None else f"{s.best_report_seen:.4f}")
        console.print(bt)

    traj = Table(title="trajectory (each new best by signal)")
    for c in ("query", "round", "signal", "report", "key", "source"):
        traj.add_column(c)
    inc = None
    for t in trials:
        if t.status == OK and t.feasible and t.score is not None and (inc is None or t.score > inc.score):
            inc = t
            traj.add_row(str((t.number or 0) + 1), str(t.round), f"{t.signal:.3f}", f"{t.report:.3f}", safe(t.key), safe(t.source))
    console.print(traj)

    usage = llm_table(store, study.id)
    if usage is not None:
        console.print(usage)
    _show_iterations(console, store, study, report, strategy_text)

    if last_trials:
        tt = Table(title=f"last {last_trials} trials")
        for c in ("seq", "round", "status", "key", "signal", "report", "source", "reason"):
            tt.add_column(c)
        for t in trials[-last_trials:]:
            tt.add_row(str(t.seq), str(t.round), safe(t.status), safe(t.key), "-" if t.signal is None else f"{t.signal:.3f}",
                       "-" if t.report is None else f"{t.report:.3f}", safe(t.source), safe(t.reason[:60]))
        console.print(tt)


def _model_name(store: Store, study: StudyInfo) -> str:
    """The model that answered the run's LLM calls (as the server named it), else the configured one."""
    return store.last_llm_model(study.id) or str((study.config.get("llm") or {}).get("model") or "")


def _show_iterations(console: Console, store: Store, study: StudyInfo, report: StrategyReport,
                     strategy_text: bool) -> None:
    """LLM strategies: who chose each step, per-iteration counts and (with ``strategy_text``)
    the Navigator's strategies."""
    if report.choices:
        console.print(safe(report.choices))
    if report.iterations:
        columns = list(report.iterations[0])
        it = Table(title=report.iterations_title or "iterations")
        for c in columns:
            it.add_column(c)
        for row in report.iterations:
            it.add_row(*(safe(row.get(c, "")) for c in columns))
        console.print(it)
        if report.stopped:
            console.print(f"strategy stopped: {safe(report.stopped)}")
    nav = [c for c in store.llm_calls(study.id) if c.get("purpose") == "navigator" and not c.get("error")]
    if nav and not strategy_text:
        console.print(f"{len(nav)} Navigator strategies stored; show them with --strategy-text")
        return
    for i, c in enumerate(nav, start=1):
        cut = ", cut at its budget" if c.get("finish_reason") == "length" else ""
        console.rule(safe(f"Navigator strategy {i} (round {c.get('_round')}, {c.get('completion_tokens', 0)} tokens{cut})"))
        console.print(clean(c.get("text", "")).strip() or "(empty reply)", markup=False, highlight=False)
