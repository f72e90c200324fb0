"""The Python API builds a run's problem (space + evaluator) once per start, load-if-exists and
resume, not once to validate and again to run (a supernet's problem loads a checkpoint)."""

from __future__ import annotations

import pytest

import llmnas.api as api
from llmnas.config import make_config


class _ClientMade(Exception):
    """Raised by the stand-in for make_run_client once it has seen the run's LLM settings."""


@pytest.fixture
def client_settings(monkeypatch) -> list:
    """The LLM settings each run hands to make_run_client (which then stops the run)."""
    import llmnas.llm_wiring as wiring

    seen: list = []

    def fake_client(s, store, study_id, resume_from):
        seen.append(s)
        raise _ClientMade

    monkeypatch.setattr(wiring, "make_run_client", fake_client)
    return seen


@pytest.fixture
def builds(monkeypatch):
    calls: list[str] = []
    real = api.build_problem

    def counting(cfg):
        calls.append(cfg.space)
        return real(cfg)

    monkeypatch.setattr(api, "build_problem", counting)
    return calls


def test_each_way_into_a_run_builds_its_problem_once(tmp_path, builds) -> None:
    cfg = make_config({"space": "nb201", "strategy": "rea", "budget": 12, "seed": 1})
    path = tmp_path / "r.sqlite"
    run = api.start(cfg, path, "s")
    try:
        assert builds == ["nb201"]
        run.run()
    finally:
        run.store.close()
    builds.clear()
    again = api.start(cfg, path, "s", load_if_exists=True)
    again.store.close()
    assert builds == ["nb201"]
    builds.clear()
    more = api.reopen(path, "s", budget=20)  # a new budget re-validates and rewrites the stored config
    try:
        assert builds == ["nb201"]
        summary = more.run()
    finally:
        more.store.close()
    assert summary.n_evaluated == 20 and builds == ["nb201"]


def test_the_llm_section_is_typed_once_and_that_object_reaches_the_client(tmp_path, monkeypatch,
                                                                           client_settings) -> None:
    """``llm`` is validated into LLMSettings when the config is made; the run's client is built
    from that very object, not from the dict validated a second time."""
    from llmnas.llm.base import LLMSettings

    validated: list[dict] = []
    real_validate = LLMSettings.model_validate.__func__

    def counting(cls, obj, *a, **k):
        validated.append(obj)
        return real_validate(cls, obj, *a, **k)

    monkeypatch.setattr(LLMSettings, "model_validate", classmethod(counting))
    cfg = make_config({"strategy": "collm", "budget": 4,
                       "llm": {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "temperature": 0.3}})
    settings = cfg.llm_settings()
    assert isinstance(settings, LLMSettings) and settings.temperature == 0.3 and len(validated) == 1
    assert cfg.llm == {"backend": "openai", "base_url": "http://127.0.0.1:9/v1", "model": "m", "temperature": 0.3}

    with pytest.raises(_ClientMade):
        api.start(cfg, tmp_path / "r.sqlite", "s")
    seen = client_settings
    assert seen == [settings] and seen[0] is settings and len(validated) == 1
    assert make_config({"strategy": "rea"}).llm_settings() == LLMSettings()  # no section: the defaults


def test_an_llm_section_error_names_the_key() -> None:
    from llmnas.errors import ConfigError

    with pytest.raises(ConfigError, match=r"^config: llm: unknown key 'temprature'"):
        make_config({"strategy": "collm", "llm": {"temprature": 0.2}})
    with pytest.raises(ConfigError, match=r"^config: llm: temperature: "):
        make_config({"strategy": "collm", "llm": {"temperature": "hot"}})


def test_a_resumed_run_without_a_model_keeps_the_embedded_model_its_calls_used(tmp_path, client_settings):
    """The default model changed once (the Q4_K_M file, then its Q4_0 form): a study stored with no
    ``llm`` section resumes on the named model its calls recorded, not on today's default."""
    from llmnas.llm import LLMSettings
    from llmnas.store import Store

    seen = client_settings
    path = tmp_path / "r.sqlite"
    with pytest.raises(_ClientMade):
        api.start(make_config({"strategy": "collm", "budget": 4}), path, "s")
    assert seen[-1] == LLMSettings()  # no calls yet: the default
    for used, expect in (("qwen2.5-coder-0.5b", "qwen2.5-coder-0.5b"),  # a named embedded model: kept
                         ("gpt-4o-mini", LLMSettings().model)):  # not an embedded name: the default
        store = Store(path)
        store.add_llm_call(store.get_study("s").id, 0, {"purpose": "navigator", "model": used, "messages": []})
        store.close()
        with pytest.raises(_ClientMade):
            api.reopen(path, "s")
        assert seen[-1].model == expect and seen[-1].backend == "embedded"
