"""CIFAR-10 (Krizhevsky, 2009) from a directory in the standard python (pickle) format.

llmnas does not download it: point ``data_dir`` to ``cifar-10-batches-py`` (the folder holding
``data_batch_1`` ... ``data_batch_5`` and ``test_batch``) or to its parent.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..errors import DataError

TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST = "test_batch"
CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def _root(data_dir: str | Path | None) -> Path:
    if not data_dir:
        raise DataError("cifar10 needs its directory: pass the space option data_dir=PATH/cifar-10-batches-py "
                        "(the python version from https://www.cs.toronto.edu/~kriz/cifar.html)")
    root = Path(data_dir)
    if (root / "cifar-10-batches-py").is_dir():
        root = root / "cifar-10-batches-py"
    missing = [n for n in (*TRAIN, TEST) if not (root / n).is_file()]
    if missing:
        raise DataError(f"{root} is not a CIFAR-10 python-format directory (missing {', '.join(missing)}); "
                        f"point data_dir to cifar-10-batches-py")
    return root


class _DataOnly(pickle.Unpickler):
    """Unpickles plain data and numpy arrays only: a batch file that names any other class (as a
    crafted pickle must, to run code) is refused instead of executed."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
               ("numpy", "ndarray"), ("numpy", "dtype"),
               ("_codecs", "encode")}  # how protocol-2 pickles written by Python 3 carry bytes

    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: a CIFAR-10 batch holds only data")
        return super().find_class(module, name)


def _batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as fh:
            d = _DataOnly(fh, encoding="bytes").load()
    except Exception as exc:  # a truncated or foreign pickle
        raise DataError(f"cannot read CIFAR-10 batch {path}: {exc}") from None
    data = d.get(b"data", d.get("data"))
    labels = d.get(b"labels", d.get("labels"))
    if data is None or labels is None:
        raise DataError(f"{path} is not a CIFAR-10 batch (no data/labels)")
    x = np.asarray(data, dtype=np.uint8)
    if x.ndim != 2 or x.shape[1] != 3072:
        raise DataError(f"{path}: expected rows of 3072 bytes (3x32x32), got shape {x.shape}")
    return x.reshape(-1, 3, 32, 32), np.asarray(labels, dtype=np.int64)


def load_cifar10(data_dir: str | Path | None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(train images [50000, 3, 32, 32] uint8, train labels, test images, test labels)."""
    root = _root(data_dir)
    parts = [_batch(root / n) for n in TRAIN]
    xt, yt = _batch(root / TEST)
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]), xt, yt
