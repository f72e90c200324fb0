"""Rewrite a GGUF model's block weights in a format the CPU runtime runs faster.

The default model's file (Q4_K_M) stores most block weights as Q5_0, which llama.cpp's CPU
back-end multiplies with generic kernels. Q4_0 weights are repacked at load into interleaved
rows and multiplied with the wide integer kernels, which on the 2-core reference machine made
prompt processing about 30 % faster and generation about 30 % faster (docs/llm.md, "A faster
runtime form"). The conversion dequantizes each block weight to float32 and quantizes it to
Q4_0 with the ``gguf`` package (the reference implementation that ships with llama.cpp); 1-D
tensors (norms, biases), the token embedding and the output projection keep their bytes. It is
lossy: 5-bit weights become 4-bit ones, so the result is a slightly different model, named as
such and measured as such.

The conversion is deterministic (numpy only), so its output is pinned by sha256 like any
shipped file; see :func:`llmnas.llm.models.resolve_model`.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

from llmnas.errors import ConfigError

GGUF_PIN = "gguf==0.19.0"
#: tensors copied byte for byte: a lookup table and the logits, where 4-bit weights cost most
KEEP = ("token_embd.weight", "output.weight")
RECIPES = ("q4_0-blocks",)


def _gguf():
    try:
        import gguf  # noqa: PLC0415 (optional at import time of llmnas)
    except ImportError:
        raise ConfigError(f"converting a model needs the gguf package; install it with: "
                          f"pip install '{GGUF_PIN}'") from None
    version = importlib.metadata.version("gguf")
    if version != GGUF_PIN.split("==")[1]:
        raise ConfigError(f"converting a model needs {GGUF_PIN} (its output is pinned by "
                          f"sha256), found gguf {version}; install it with: pip install '{GGUF_PIN}'")
    return gguf


def requantize(src: Path, dst: Path, recipe: str = "q4_0-blocks") -> None:
    """Write ``src`` with its 2-D block weights as Q4_0 to ``dst`` (``recipe`` names the rule)."""
    if recipe not in RECIPES:
        raise ConfigError(f"unknown conversion recipe {recipe!r}; choose one of: {', '.join(RECIPES)}")
    gguf = _gguf()
    from gguf.quants import dequantize, quantize  # noqa: PLC0415

    q = gguf.GGMLQuantizationType
    vt = gguf.GGUFValueType
    reader = gguf.GGUFReader(str(src))
    arch_field = reader.fields["general.architecture"]
    arch = bytes(arch_field.parts[arch_field.data[0]]).decode()
    writer = gguf.GGUFWriter(str(dst), arch)
    for name, fld in reader.fields.items():
        if name.startswith("GGUF.") or name in ("general.architecture", "general.file_type"):
            continue
        kind = fld.types[0]
        if kind == vt.ARRAY:
            sub = fld.types[1]
            if sub == vt.STRING:
                items = [bytes(fld.parts[i]).decode("utf-8", "surrogateescape") for i in fld.data]
            else:
                items = [fld.parts[i].tolist()[0] for i in fld.data]
            writer.add_key_value(name, items, kind, sub_type=sub)
        elif kind == vt.STRING:
            writer.add_key_value(name, bytes(fld.parts[fld.data[0]]).decode("utf-8", "surrogateescape"), kind)
        else:
            writer.add_key_value(name, fld.parts[fld.data[0]].tolist()[0], kind)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0)
    writer.add_string("llmnas.converted_from", src.name)
    writer.add_string("llmnas.conversion", f"{recipe} with {GGUF_PIN}")
    for tensor in reader.tensors:
        shape = [int(x) for x in reversed(tensor.shape.tolist())]  # numpy order, rows last
        if len(shape) < 2 or tensor.name in KEEP or shape[-1] % 32:
            writer.add_tensor(tensor.name, tensor.data, raw_shape=tensor.data.shape,
                              raw_dtype=tensor.tensor_type)
            continue
        weights = dequantize(tensor.data, tensor.tensor_type).reshape(shape)
        packed = quantize(weights.astype("float32"), q.Q4_0)
        writer.add_tensor(tensor.name, packed, raw_shape=packed.shape, raw_dtype=q.Q4_0)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
