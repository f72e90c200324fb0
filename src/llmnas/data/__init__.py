"""Benchmark tables shipped inside the package (read with importlib.resources)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import DataError


@lru_cache(maxsize=1)
def load_nb201() -> dict[str, np.ndarray]:
    """The NAS-Bench-201 table: ``ops`` (15625 x 6 op indices, official index order), ``iso``
    (isomorphism class id) and one float64 array per metric column (see PROVENANCE.md)."""
    try:
        ref = resources.files(__package__).joinpath("nb201", "nb201.npz")
        with resources.as_file(ref) as path, np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except FileNotFoundError:
        raise DataError(
            "the packaged NAS-Bench-201 table is missing (llmnas/data/nb201/nb201.npz); "
            "reinstall llmnas: pip install --force-reinstall llmnas"
        ) from None
