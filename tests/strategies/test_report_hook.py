"""Strategy.report(): generic code (show, bench, the search summary) reads a stored strategy
state only through the strategy's own report."""

from __future__ import annotations

from llmnas.strategies import StrategyReport, stored_report


def test_collm_report_counts_raw_candidates_and_rows() -> None:
    state = {"stopped": "", "log": [
        {"iteration": 1, "attempted": 10, "parsed": 10, "legal": 8, "new": 6, "proposed": 6, "reply": "ok"},
        {"iteration": 2, "attempted": 5, "parsed": 5, "legal": 5, "new": 4, "proposed": 4, "reply": "ok",
         "fallback": 2, "navigator_cut": True}]}
    r = stored_report("collm", state)
    assert r.candidates == (15, 13, 10)
    assert [row["iteration"] for row in r.iterations] == [1, 2]
    assert r.iterations[1]["note"] == "fallback 2; strategy cut at its budget"
    assert "note" in r.iterations[0] and r.iterations_title.startswith("iterations")


def test_lmsearcher_report_gives_listed_share_and_line() -> None:
    counts = {"warmup": 3, "steps": 7, "llm_steps": 4, "listed_first": 2, "listed_reask": 1, "fallback": 1}
    r = stored_report("lmsearcher", {"ranker_counts": counts, "stopped": "pool empty"})
    assert r.listed_share == 0.75 and "3 warm-up, 7 ranking steps" in r.choices
    assert r.stopped == "pool empty" and r.candidates is None


def test_unknown_or_missing_state_gives_an_empty_report() -> None:
    assert stored_report("collm", None) == StrategyReport()
    plain = stored_report("a-plugin-not-imported", {"log": [{"attempted": 3, "legal": 3, "new": 3}]})
    assert plain.candidates is None and plain.iterations == ()
    assert stored_report("rea", {"rng": {}}) == StrategyReport()
