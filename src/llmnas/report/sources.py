"""Where each trial came from, in three kinds a reader can tell apart: the LLM, a fallback, other.

"LLM": proposed by a model (CoLLM's Generator, LM-Searcher's ranker); "fallback": what an LLM
strategy proposed without the model (CoLLM's mutation/top-up fallback, LM-Searcher's fallback
pick); "other": everything else (random warm-up, a classical strategy's proposals).
"""

from __future__ import annotations

from ..store import Store
from ..strategies.base import StrategyReport, stored_report
from ..types import ILLEGAL, OK, Trial

KINDS = ("LLM", "fallback", "other")
_LLM_SOURCES = ("generator", "ranker")


def source_kind(source: str) -> str:
    """"LLM", "fallback" or "other" for a trial's ``source``."""
    if source.startswith("fallback") or source.endswith("-fallback"):
        return "fallback"
    if source.startswith(_LLM_SOURCES):
        return "LLM"
    return "other"


def source_counts(trials: list[Trial]) -> dict[str, dict[str, int]]:
    """kind -> {"proposed", "evaluated", "illegal"} over ``trials``."""
    out = {k: {"proposed": 0, "evaluated": 0, "illegal": 0} for k in KINDS}
    for t in trials:
        c = out[source_kind(t.source)]
        c["proposed"] += 1
        c["evaluated"] += t.status == OK
        c["illegal"] += t.status == ILLEGAL
    return out


def sources_line(trials: list[Trial], report: StrategyReport | None = None) -> str | None:
    """One line for ``llmnas show``: how many proposals came from the LLM and from fallbacks
    (None when no trial came from an LLM strategy). ``report`` is the strategy's report of its
    stored state: where the strategy screened the LLM's raw candidates before the runner saw
    them (CoLLM), it adds the share of those that were illegal."""
    counts = source_counts(trials)
    if not (counts["LLM"]["proposed"] or counts["fallback"]["proposed"]):
        return None
    parts = []
    for kind, label in (("LLM", "from the LLM"), ("fallback", "from fallbacks"), ("other", "other")):
        c = counts[kind]
        if c["proposed"] or kind != "other":
            parts.append(f"{c['proposed']} {label} ({c['evaluated']} evaluated)")
    line = "proposals: " + ", ".join(parts)
    if report is not None and report.candidates is not None:
        attempted, legal, _ = report.candidates
        line += f"; LLM candidates not legal: {attempted - legal} of {attempted} ({(attempted - legal) / attempted:.0%})"
    return line


def study_report(store: Store, study_id: int, strategy: str | None) -> StrategyReport:
    """The strategy's report of a study's stored state (empty when none is stored)."""
    state = store.load_state(study_id)
    return stored_report(strategy, state[2] if state else None)
