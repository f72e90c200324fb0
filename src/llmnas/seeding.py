"""Seeds flow down as named numpy Generators spawned from the run seed."""

from __future__ import annotations

import zlib

import numpy as np


def child_rng(seed: int, name: str) -> np.random.Generator:
    """A Generator for component ``name`` (e.g. "strategy"), fixed by the run seed."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]))


def rng_state(rng: np.random.Generator) -> dict:
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    rng.bit_generator.state = state
