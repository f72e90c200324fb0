"""Fashion-MNIST (Xiao et al., 2017; MIT licence) from its four IDX files.

The Debian package ``dataset-fashion-mnist`` installs them under
``/usr/share/datasets/fashion-mnist`` (``apt install dataset-fashion-mnist``); another
directory can be named with ``data_dir`` or the ``LLMNAS_FASHION_MNIST`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataError
from .idx import read_idx

DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
FILES = {
    "train_x": "train-images-idx3-ubyte",
    "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte",
    "test_y": "t10k-labels-idx1-ubyte",
}
CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")


def default_dir() -> Path:
    env = os.environ.get("LLMNAS_FASHION_MNIST")
    return Path(env) if env else DEBIAN_DIR


def _find(root: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (root / name).is_file():
            return root / name
    raise DataError(
        f"Fashion-MNIST file {stem}[.gz] not found in {root}; install it with `apt install dataset-fashion-mnist` "
        f"or point data_dir (or LLMNAS_FASHION_MNIST) to a directory holding the four IDX files"
    )


def load_fashion_mnist(data_dir: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images [60000, 1, 28, 28] uint8, train labels, test images, test labels)."""
    root = Path(data_dir) if data_dir else default_dir()
    if not root.is_dir():
        raise DataError(
            f"Fashion-MNIST directory {root} does not exist; install it with `apt install dataset-fashion-mnist` "
            f"or point data_dir (or LLMNAS_FASHION_MNIST) to a directory holding the four IDX files"
        )
    arrays = {k: read_idx(_find(root, stem)) for k, stem in FILES.items()}
    for part in ("train", "test"):
        x, y = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"Fashion-MNIST {part} files in {root} disagree: images {x.shape}, labels {y.shape}")
    return (arrays["train_x"][:, None].astype(np.uint8), arrays["train_y"].astype(np.int64),
            arrays["test_x"][:, None].astype(np.uint8), arrays["test_y"].astype(np.int64))
