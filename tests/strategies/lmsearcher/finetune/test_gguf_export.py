"""The GGUF LoRA export, checked against transformers + peft in the real llama.cpp server.

A LoRA with random (large) weights is exported and served; the server's next-token
distribution must move from the base's to peft's, for an adapter on v/o (a plain rename) and
one on q/k (whose output rows llama.cpp keeps in another rotary layout: a wrong reordering
leaves the served model near the base).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from _ft_stack import require_finetune_stack

require_finetune_stack()

import torch  # noqa: E402

from llmnas.strategies.lmsearcher.finetune.base_model import load_base  # noqa: E402
from llmnas.strategies.lmsearcher.finetune.gguf_export import export_gguf_adapter, hf_rows_to_gguf  # noqa: E402
from llmnas.llm.models import META_BASE, read_gguf_metadata, resolve_model  # noqa: E402

pytestmark = pytest.mark.slow

PROMPTS = [
    [{"role": "user", "content": "Pick one of: 301221, 004312, 443210. Answer with the code only."}],
    [{"role": "user", "content": "Name a colour."}],
]


@pytest.fixture(scope="module")
def base():
    return load_base("smollm2-135m")


@pytest.fixture(scope="module")
def served_base(base) -> list[dict[str, float]]:
    return _served(str(base.resolved.path), None)


def _served(model_path: str, adapter: str | None) -> list[dict[str, float]]:
    """The server's top next-token log-probs for each prompt (base, or base + adapter)."""
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = model_path
    params.n_ctx = 512
    params.cpuparams.n_threads = 2
    params.cpuparams_batch.n_threads = 2
    params.verbosity = 0
    if adapter:
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(adapter, 1.0)]
    server = xllamacpp.Server(params)
    found = []
    try:
        for messages in PROMPTS:
            reply = server.handle_chat_completions({
                "messages": messages, "max_tokens": 1, "temperature": 0.0, "logprobs": True,
                "top_logprobs": 20})
            top = reply["choices"][0]["logprobs"]["content"][0]["top_logprobs"]
            found.append({t["token"]: t["logprob"] for t in top})
    finally:
        del server
    return found


def _hf(model, tokenizer, messages) -> dict[str, float]:
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True,
                                        return_tensors="pt", return_dict=True)
    with torch.no_grad():
        logp = model(**ids).logits[0, -1].log_softmax(-1)
    top = logp.topk(6)
    words = {tokenizer.decode([int(i)]): float(v) for v, i in zip(top.values, top.indices)}
    return {w: v for w, v in words.items() if w.strip() and "\ufffd" not in w}  # whole tokens


def _gap(reference: dict[str, float], served: dict[str, float]) -> float:
    """Mean absolute log-prob difference over the reference's top tokens (missing: -20)."""
    return float(np.mean([abs(v - served.get(k, -20.0)) for k, v in reference.items()]))


@pytest.mark.parametrize("targets", [["v_proj", "o_proj"], ["q_proj", "k_proj"]])
def test_exported_adapter_reproduces_peft_in_the_server(base, served_base, targets,
                                                        tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(0)
    peft_model = get_peft_model(base.model, LoraConfig(r=8, lora_alpha=16, lora_dropout=0.0,
                                                       target_modules=targets))
    try:
        with torch.no_grad():
            for name, p in peft_model.named_parameters():
                if "lora_B" in name:
                    p.normal_(0, 0.3)
        out = export_gguf_adapter(peft_model, base.resolved, 16, tmp_path / "a.gguf")
        meta = read_gguf_metadata(out)
        assert meta["general.type"] == "adapter" and meta["adapter.type"] == "lora"
        assert meta["adapter.lora.alpha"] == 16.0 and meta[META_BASE] == "smollm2-135m"
        served_tuned = _served(str(base.resolved.path), str(out))
        for messages, on_base, on_tuned in zip(PROMPTS, served_base, served_tuned):
            tuned = _hf(peft_model, base.tokenizer, messages)
            assert _gap(tuned, on_tuned) < 0.5 * _gap(tuned, on_base), (tuned, on_tuned, on_base)
            assert max(on_tuned, key=on_tuned.get) == max(tuned, key=tuned.get)
        # and the path form of --llm-model finds the base by itself
        resolved = resolve_model(str(out))
        assert resolved.adapter == out.resolve() and resolved.base_name == "smollm2-135m"
        assert resolved.path == base.resolved.path
    finally:
        base.model = peft_model.unload()


def test_rotary_reordering_is_the_inverse_of_transformers_reader() -> None:
    """transformers undoes llama.cpp's q/k row order when it reads a GGUF; ours must redo it."""
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    reader = LlamaTensorProcessor.__new__(LlamaTensorProcessor)
    w = np.arange(9 * 64 * 3, dtype=np.float32).reshape(9 * 64, 3)
    for heads in (9, 3):
        back = reader._reverse_permute_weights(hf_rows_to_gguf(w, heads), heads)
        np.testing.assert_array_equal(back, w)
        assert not np.array_equal(hf_rows_to_gguf(w, heads), w)
