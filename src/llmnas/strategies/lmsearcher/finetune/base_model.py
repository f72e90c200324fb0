"""The base model of a fine-tuning run, as a transformers model, from a named embedded GGUF.

transformers can read the GGUF files that the embedded runtime serves (it dequantises them to
float32), so training starts from exactly the weights that are later served, with no model hub.
Reading and dequantising a GGUF is slow (SmolLM2-135M about 20 s, Qwen2.5-0.5B about 50 s on
two cores), so the first load writes a plain safetensors checkpoint into the llmnas cache
(``<cache>/hf/<name>-<sha12>/``), which reloads in about a second. The folder name carries the
GGUF's sha256, so a different file never reuses a stale checkpoint.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ....errors import ConfigError
from ....llm.models import LLM_MODELS, ResolvedModel, default_cache_dir, resolve_model


@dataclass
class LoadedBase:
    """A base model ready for training and the embedded model it came from."""

    resolved: ResolvedModel
    model: Any  # transformers PreTrainedModel
    tokenizer: Any  # transformers PreTrainedTokenizer
    from_cache: bool
    load_s: float


def require_finetune_deps() -> None:
    """Raise one clear error if the ``finetune`` extra is not installed."""
    missing = []
    for module in ("torch", "transformers", "peft", "gguf"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if missing:
        raise ConfigError(f"fine-tuning needs {', '.join(missing)}; install them with: "
                          "pip install 'llmnas[finetune]'")


def resolve_base(name: str, cache_dir: str | None = None) -> ResolvedModel:
    """The pinned embedded model to fine-tune (only named models: their sha256 is known)."""
    if name not in LLM_MODELS:
        raise ConfigError(f"unknown base model {name!r}; fine-tune one of the named embedded "
                          f"models: {', '.join(LLM_MODELS)}")
    resolved = resolve_model(name, cache_dir)
    if resolved.adapter is not None:
        raise ConfigError(f"{name!r} already carries an adapter; fine-tune its base "
                          f"{resolved.base_name!r} instead")
    return resolved


def hf_cache_dir(resolved: ResolvedModel, cache_dir: str | None = None) -> Path:
    """Where the dequantised safetensors checkpoint of ``resolved`` lives."""
    assert resolved.sha256 is not None
    return default_cache_dir(cache_dir) / "hf" / f"{resolved.name}-{resolved.sha256[:12]}"


def load_base(name: str, cache_dir: str | None = None, *, dtype: Any = None,
              log: Any = None) -> LoadedBase:
    """Load the named embedded model into transformers (float32 unless ``dtype``)."""
    import time

    require_finetune_deps()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    resolved = resolve_base(name, cache_dir)
    target = hf_cache_dir(resolved, cache_dir)
    dtype = dtype or torch.float32
    start = time.perf_counter()
    if (target / "config.json").is_file():
        model = AutoModelForCausalLM.from_pretrained(str(target), dtype=dtype)
        tokenizer = AutoTokenizer.from_pretrained(str(target))
        return LoadedBase(resolved, model, tokenizer, True, time.perf_counter() - start)
    if log:
        log(f"reading {resolved.path.name} into transformers (once; cached in {target})")
    folder, fname = str(resolved.path.parent), resolved.path.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=fname)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=fname, dtype=torch.float32)
    _save_checkpoint(model, tokenizer, target)
    if dtype != torch.float32:
        model = model.to(dtype)
    return LoadedBase(resolved, model, tokenizer, False, time.perf_counter() - start)


def _save_checkpoint(model: Any, tokenizer: Any, target: Path) -> None:
    """Write the checkpoint into a temporary folder, then rename it into place (atomic)."""
    model.hf_quantizer = None  # transformers refuses to save a "quantized" (GGUF-loaded) model
    for attr in ("is_quantized", "quantization_method"):
        if hasattr(model, attr):
            try:
                setattr(model, attr, False if attr == "is_quantized" else None)
            except AttributeError:
                pass
    if getattr(model.config, "quantization_config", None) is not None:
        del model.config.quantization_config
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=target.name + ".part"))
    try:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        try:
            os.replace(tmp, target)
        except OSError:  # another process won the race; its copy is the same
            pass
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
