"""``llmnas show``: a study's summary, best architecture, metrics, trajectory and LLM use."""

from __future__ import annotations

import json
from datetime import datetime

from rich.console import Console
from rich.table import Table

from ..runner import summarize
from ..store import Store, StudyInfo
from ..types import OK
from .safe_text import clean, safe


def show_study(console: Console, store: Store, study: StudyInfo, last_trials: int = 0) -> None:
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
        line = (f"{llm['calls']} calls, {llm['prompt_tokens']:,} prompt + {llm['completion_tokens']:,} completion tokens, "
                f"{llm['llm_seconds']:.1f} s")
        llm_cfg = cfg.get("llm") or {}
        pin, pout = llm_cfg.get("price_in_per_mtok"), llm_cfg.get("price_out_per_mtok")
        if pin is not None or pout is not None:
            cost = (pin or 0) * llm["prompt_tokens"] / 1e6 + (pout or 0) * llm["completion_tokens"] / 1e6
            line += f", cost {cost:.4f}"
        rows.append(("LLM", line))
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

    _show_iterations(console, store, study)

    if last_trials:
        tt = Table(title=f"last {last_trials} trials")
        for c in ("seq", "round", "status", "key", "signal", "report", "source", "reason"):
            tt.add_column(c)
        for t in trials[-last_trials:]:
            tt.add_row(str(t.seq), str(t.round), safe(t.status), safe(t.key), "-" if t.signal is None else f"{t.signal:.3f}",
                       "-" if t.report is None else f"{t.report:.3f}", safe(t.source), safe(t.reason[:60]))
        console.print(tt)


def _show_iterations(console: Console, store: Store, study: StudyInfo) -> None:
    """LLM strategies: per-iteration counts and the Navigator's strategy text."""
    state = store.load_state(study.id)
    counts = state[2].get("ranker_counts") if state else None
    if counts:  # lmsearcher: who chose each step's architecture
        from ..strategies.lmsearcher import ranker_line

        console.print(safe(ranker_line(counts)))
    log = (state[2].get("log") if state else None) or []
    if log:
        it = Table(title="iterations (Generator candidates: attempted / parsed / legal / new / proposed)")
        for c in ("iteration", "attempted", "parsed", "legal", "new", "proposed", "reply", "note"):
            it.add_column(c)
        for e in log:
            note = f"fallback {e['fallback']}" if e.get("fallback") else ""
            it.add_row(*(safe(e.get(k, "")) for k in ("iteration", "attempted", "parsed", "legal", "new", "proposed", "reply")), safe(note))
        console.print(it)
        if state and state[2].get("stopped"):
            console.print(f"strategy stopped: {safe(state[2]['stopped'])}")
    nav = [c for c in store.llm_calls(study.id) if c.get("purpose") == "navigator" and not c.get("error")]
    for i, c in enumerate(nav, start=1):
        console.rule(safe(f"Navigator strategy {i} (round {c.get('_round')}, {c.get('completion_tokens', 0)} tokens)"))
        console.print(clean(c.get("text", "")).strip() or "(empty reply)", markup=False, highlight=False)
