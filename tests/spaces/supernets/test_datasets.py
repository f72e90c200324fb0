"""Fashion-MNIST IDX files, a CIFAR-10 python-format directory, and the seeded splits."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest

from llmnas.datasets import load_splits
from llmnas.datasets.fashion_mnist import DEBIAN_DIR, load_fashion_mnist
from llmnas.datasets.idx import read_idx
from llmnas.errors import ConfigError, DataError

needs_fmnist = pytest.mark.skipif(not DEBIAN_DIR.is_dir(), reason="apt install dataset-fashion-mnist")


@needs_fmnist
def test_fashion_mnist_idx_files_read_directly():
    x, y, xt, yt = load_fashion_mnist()
    assert x.shape == (60000, 1, 28, 28) and xt.shape == (10000, 1, 28, 28)
    assert x.dtype == np.uint8 and set(np.unique(y)) == set(range(10)) and np.bincount(yt).tolist() == [1000] * 10
    assert 50 < x.mean() < 100  # real images, not zeros


@needs_fmnist
def test_split_is_seeded_disjoint_and_keeps_the_test_set():
    a = load_splits("fashion-mnist", val_size=5000, split_seed=3, train_limit=2000)
    b = load_splits("fashion-mnist", val_size=5000, split_seed=3, train_limit=2000)
    c = load_splits("fashion-mnist", val_size=5000, split_seed=4, train_limit=2000)
    assert np.array_equal(a.val_x, b.val_x) and not np.array_equal(a.val_x, c.val_x)
    assert len(a.val_y) == 5000 and len(a.train_y) == 2000 and len(a.test_y) == 10000
    train_rows = {r.tobytes() for r in a.train_x.reshape(len(a.train_x), -1)}
    assert not any(r.tobytes() in train_rows for r in a.val_x.reshape(len(a.val_x), -1))
    assert abs(float(a.train_x.mean())) < 0.05 and abs(float(a.train_x.std()) - 1) < 0.05


def _write_idx(path, arr):
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in arr.shape)
    with gzip.open(path, "wb") as fh:
        fh.write(header + arr.astype(np.uint8).tobytes())


def test_idx_reader_round_trip_and_bad_file(tmp_path):
    arr = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    _write_idx(tmp_path / "a.gz", arr)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), arr)
    (tmp_path / "b").write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "b")


def test_missing_fashion_mnist_dir_names_the_debian_package(tmp_path):
    with pytest.raises(DataError, match="apt install dataset-fashion-mnist"):
        load_fashion_mnist(tmp_path / "nowhere")


def test_cifar10_python_format_directory(tmp_path):
    root = tmp_path / "cifar-10-batches-py"
    root.mkdir()
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = rng.integers(0, 256, size=(20, 3072), dtype=np.uint8)
        with open(root / name, "wb") as fh:
            pickle.dump({b"data": data, b"labels": list(rng.integers(0, 10, 20))}, fh)
    s = load_splits("cifar10", data_dir=tmp_path, val_size=10, split_seed=0)  # the parent folder works too
    assert s.train_x.shape == (90, 3, 32, 32) and s.val_x.shape == (10, 3, 32, 32) and s.test_x.shape == (20, 3, 32, 32)
    assert s.channels == 3 and s.num_classes == 10
    with pytest.raises(DataError, match="cifar-10-batches-py"):
        load_splits("cifar10", data_dir=tmp_path / "empty")
    with pytest.raises(DataError, match="data_dir"):
        load_splits("cifar10", data_dir=None)
    with pytest.raises(ConfigError, match="unknown dataset"):
        load_splits("mnist-ish")
