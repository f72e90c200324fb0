"""Image datasets read from files the user already has (no downloads).

* Fashion-MNIST: the IDX files of the Debian package ``dataset-fashion-mnist``
  (``/usr/share/datasets/fashion-mnist``), or any directory holding the four IDX files.
* CIFAR-10: a directory in the standard "python version" format (``data_batch_1`` ...
  ``data_batch_5``, ``test_batch``), or its parent holding ``cifar-10-batches-py``.

:func:`load_splits` returns a :class:`~llmnas.datasets.splits.DataSplits`: a train/validation
split drawn (seeded) from the official training set, and the official test set kept apart for
final reporting.
"""

from .splits import DATASETS, DataSplits, load_splits

__all__ = ["DATASETS", "DataSplits", "load_splits"]
