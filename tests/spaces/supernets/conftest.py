"""A tiny supernet of each kind, trained once per session on real Fashion-MNIST."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from llmnas.spaces.supernets.stage1 import train_supernet  # noqa: E402


@pytest.fixture(scope="session")
def tiny_supernets(tmp_path_factory) -> dict[str, Path]:
    """space -> checkpoint path (preset tiny: 40-100 steps of 64 images from 4,000)."""
    root = tmp_path_factory.mktemp("supernets")
    out = {}
    for space in ("spos", "ofa", "autoformer"):
        path = root / f"{space}.pt"
        train_supernet(space, path, "tiny")
        out[space] = path
    return out
