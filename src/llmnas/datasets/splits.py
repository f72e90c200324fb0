"""Train/validation/test splits of an image dataset, as normalised float arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..errors import ConfigError, DataError

#: name -> loader(data_dir) -> (train x, train y, test x, test y), images NCHW uint8
DATASETS: dict[str, Callable[[Any], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]] = {}


def _register() -> None:
    from .cifar10 import load_cifar10
    from .fashion_mnist import load_fashion_mnist

    DATASETS["fashion-mnist"] = load_fashion_mnist
    DATASETS["cifar10"] = load_cifar10


_register()


@dataclass
class DataSplits:
    """Images (NCHW float32, normalised per channel with train statistics) and int64 labels."""

    name: str
    train_x: np.ndarray
    train_y: np.ndarray
    val_x: np.ndarray
    val_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int

    @property
    def channels(self) -> int:
        return int(self.train_x.shape[1])

    @property
    def image_size(self) -> int:
        return int(self.train_x.shape[2])

    def describe(self) -> dict[str, Any]:
        return {"dataset": self.name, "train": len(self.train_y), "val": len(self.val_y), "test": len(self.test_y),
                "channels": self.channels, "image_size": self.image_size, "classes": self.num_classes}


def load_splits(name: str, data_dir: str | Path | None = None, val_size: int = 10000, split_seed: int = 0,
                train_limit: int | None = None) -> DataSplits:
    """Load ``name``; hold out ``val_size`` training images (seeded) for validation.

    ``train_limit`` keeps only the first N images of the remaining training part (for quick
    runs); the test set is always the official one.
    """
    if name not in DATASETS:
        raise ConfigError(f"unknown dataset {name!r} for a supernet space (choices: {', '.join(DATASETS)})")
    x, y, xt, yt = DATASETS[name](data_dir)
    if not 0 < val_size < len(y):
        raise ConfigError(f"val_size must be between 1 and {len(y) - 1} for {name}, not {val_size}")
    perm = np.random.default_rng(split_seed).permutation(len(y))
    val_idx, train_idx = np.sort(perm[:val_size]), np.sort(perm[val_size:])
    if train_limit is not None:
        if train_limit < 1:
            raise ConfigError(f"train_limit must be at least 1, not {train_limit}")
        train_idx = train_idx[:train_limit]
    classes = int(max(y.max(), yt.max())) + 1
    if classes < 2:
        raise DataError(f"{name}: labels hold fewer than two classes")
    train = x[train_idx].astype(np.float32) / 255.0
    mean = train.mean(axis=(0, 2, 3))
    std = train.std(axis=(0, 2, 3)) + 1e-6

    def norm(a: np.ndarray) -> np.ndarray:
        return ((a.astype(np.float32) / 255.0 - mean[None, :, None, None]) / std[None, :, None, None]).astype(np.float32)

    return DataSplits(
        name=name, train_x=norm(x[train_idx]), train_y=y[train_idx], val_x=norm(x[val_idx]), val_y=y[val_idx],
        test_x=norm(xt), test_y=yt, mean=tuple(float(m) for m in mean), std=tuple(float(s) for s in std),
        num_classes=classes,
    )
