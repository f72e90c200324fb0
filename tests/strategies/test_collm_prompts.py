"""Prompt templates: strict placeholders, every template renders, overrides by file name."""

from __future__ import annotations

from importlib import resources

import pytest

from llmnas.errors import ConfigError
from llmnas.strategies.collm import prompts


def test_every_packaged_template_is_known_and_renders():
    folder = resources.files("llmnas.strategies.collm").joinpath("prompts")
    files = sorted(p.name[:-3] for p in folder.iterdir() if p.name.endswith(".md"))
    assert files == sorted(prompts.TEMPLATES)
    for name in prompts.TEMPLATES:
        names = prompts.fields(prompts.load(name), name)
        text = prompts.render(name, None, **{k: f"<{k}>" for k in names})
        assert all(f"<{k}>" in text for k in names)
        leftover = text
        for k in names:
            leftover = leftover.replace(f"<{k}>", "")
        assert "{" not in leftover.replace('{"candidates"', "").replace('{"ranking"', ""), name
        for word in ("NAS-Bench", "nb201", "NATS"):
            assert word.lower() not in text.lower(), (name, word)


def test_missing_and_unused_placeholders_fail():
    names = prompts.fields(prompts.load("generator_user"))
    assert names == {"strategy", "n_min", "n_max"}
    with pytest.raises(ConfigError, match="no value for n_max"):
        prompts.render("generator_user", None, strategy="s", n_min=1)
    with pytest.raises(ConfigError, match="unused value.*extra"):
        prompts.render("generator_user", None, strategy="s", n_min=1, n_max=2, extra=3)


def test_only_plain_placeholders_are_allowed():
    with pytest.raises(ConfigError, match="plain name"):
        prompts.fields("value {x.attr}", "t")
    with pytest.raises(ConfigError, match="plain name"):
        prompts.fields("value {x:>4}", "t")
    with pytest.raises(ConfigError, match="malformed"):
        prompts.fields("value {x", "t")


def test_a_user_folder_overrides_a_template_by_file_name(tmp_path):
    (tmp_path / "generator_user.md").write_text("Use {strategy} for {n_min}-{n_max}.")
    assert prompts.render("generator_user", tmp_path, strategy="S", n_min=1, n_max=2) == "Use S for 1-2."
    # Other templates still come from the package.
    assert prompts.render("sillm_generate", tmp_path, n_min=1, n_max=2, candidates_form="{}").startswith("Now follow")
    with pytest.raises(ConfigError, match="not found"):
        prompts.load("no_such_template")
