"""Export a trained peft LoRA adapter as a GGUF LoRA adapter for the embedded runtime.

llama.cpp applies a GGUF adapter at load time: for each adapted weight ``W`` of the base file
(``blk.N.attn_q.weight``) it reads ``<name>.lora_a`` (shape r x in) and ``<name>.lora_b``
(out x r) and adds ``scale * alpha / r * B @ A`` to ``W x``, which is exactly what peft does
with ``lora_alpha / r``. So the export renames peft's tensors to the base file's tensor names
and writes them with ``general.type = adapter``, ``adapter.type = lora`` and the alpha.

One layout detail: llama.cpp stores the query and key projections of ``llama`` models with
the rows of each head interleaved differently from Hugging Face (the rotary embedding pairs
dimensions ``(i, i + d/2)`` in HF and ``(2i, 2i + 1)`` in GGUF; transformers undoes this when it
reads the GGUF). The output side of the LoRA update (``lora_b``'s rows) of ``q_proj`` and
``k_proj`` must get the same reordering, or the served model would apply the update to the
wrong rotary dimensions. Qwen2 files keep HF's layout.

The adapter also records its base (``llmnas.base_model``, ``llmnas.base_sha256``), so
``--llm-model path/to/adapter.gguf`` finds the base by itself.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ....errors import ConfigError
from ....llm.models import META_BASE, META_BASE_SHA, ResolvedModel, read_gguf_metadata

#: Hugging Face module name -> llama.cpp tensor name (inside ``blk.N.``)
HF_TO_GGUF: dict[str, str] = {
    "self_attn.q_proj": "attn_q",
    "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output",
    "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
#: architectures whose q/k rows llama.cpp's converter reorders for its rotary layout
_PERMUTED_ARCHS = {"llama"}
_LORA_KEY = re.compile(r"layers\.(\d+)\.(self_attn\.[a-z_]+|mlp\.[a-z_]+)\.lora_([AB])\.")


def hf_rows_to_gguf(weight: Any, n_head: int) -> Any:
    """Reorder the output rows of a q/k projection from HF's rotary layout to llama.cpp's."""
    head_dim = weight.shape[0] // n_head
    return (weight.reshape(n_head, 2, head_dim // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))


def lora_tensors(peft_model: Any) -> dict[str, tuple[Any, Any]]:
    """``{hf module path: (A, B)}`` from a peft model's adapter weights (float32 numpy)."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(peft_model)
    pairs: dict[str, dict[str, Any]] = {}
    for key, tensor in state.items():
        match = _LORA_KEY.search(key)
        if not match:
            raise ConfigError(f"cannot export adapter weight {key!r}: only LoRA on the "
                              f"projections {', '.join(HF_TO_GGUF)} maps to GGUF")
        layer, module, which = match.groups()
        pairs.setdefault(f"{layer}.{module}", {})[which] = (
            tensor.detach().float().cpu().numpy())
    return {k: (v["A"], v["B"]) for k, v in pairs.items()}


def export_gguf_adapter(peft_model: Any, base: ResolvedModel, alpha: float, out: Path) -> Path:
    """Write the LoRA weights of ``peft_model`` as a GGUF adapter for ``base`` at ``out``."""
    import gguf
    import numpy as np

    meta = read_gguf_metadata(base.path)
    arch = str(meta["general.architecture"])
    base_tensors = {t.name for t in gguf.GGUFReader(str(base.path)).tensors}
    n_head = int(meta[f"{arch}.attention.head_count"])  # type: ignore[call-overload]
    n_head_kv = int(meta.get(f"{arch}.attention.head_count_kv", n_head))  # type: ignore[call-overload]

    tmp = out.with_name(out.name + ".part")
    writer = gguf.GGUFWriter(str(tmp), arch)
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(alpha))
    writer.add_string(META_BASE, base.name)
    writer.add_string(META_BASE_SHA, base.sha256 or "")
    pairs = lora_tensors(peft_model)
    if not pairs:
        raise ConfigError("the model has no LoRA weights to export")
    for key in sorted(pairs, key=lambda k: (int(k.split(".")[0]), k)):
        layer, module = key.split(".", 1)
        target = f"blk.{layer}.{HF_TO_GGUF[module]}.weight"
        if target not in base_tensors:
            raise ConfigError(f"the base GGUF {base.path.name} has no tensor {target} for "
                              f"{module} of layer {layer}")
        a, b = pairs[key]
        if arch in _PERMUTED_ARCHS and module == "self_attn.q_proj":
            b = hf_rows_to_gguf(b, n_head)
        elif arch in _PERMUTED_ARCHS and module == "self_attn.k_proj":
            b = hf_rows_to_gguf(b, n_head_kv)
        writer.add_tensor(f"{target}.lora_a", np.ascontiguousarray(a, dtype=np.float32))
        writer.add_tensor(f"{target}.lora_b", np.ascontiguousarray(b, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    tmp.replace(out)
    return out
