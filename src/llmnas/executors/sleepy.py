"""A stand-in for a slow evaluation: sleeps, then returns deterministic metrics.

Used by ``llmnas bench-executors`` and by ``examples/sleepy/space.yaml`` to measure what
parallel evaluation buys when each evaluation takes a fixed time (as training does) and the
evaluator itself does no work. The sleep is ``LLMNAS_SLEEP_S`` seconds (default 1); worker
processes and a local Ray instance inherit it from the driver's environment.
"""

from __future__ import annotations

import math
import os
import time
from pathlib import Path
from typing import Any

SLEEP_ENV = "LLMNAS_SLEEP_S"

#: 6 x 6 x 4 x 3 = 432 architectures
SPACE_YAML = """\
# A space whose evaluator sleeps LLMNAS_SLEEP_S seconds (default 1) per architecture and then
# returns made-up but deterministic metrics: a stand-in for training, to measure executors.
#   llmnas search --space space.yaml --strategy rs --budget 200 --batch-size 20 --executor ray --workers 4
name: sleepy
description: A made-up CNN family; every evaluation takes a fixed time.
decisions:
  - {name: depth, options: [1, 2, 3, 4, 5, 6]}
  - {name: width, options: [16, 24, 32, 48, 64, 96]}
  - {name: kernel, options: [1, 3, 5, 7]}
  - {name: activation, options: [relu, gelu, swish]}
evaluator:
  type: function
  callable: "llmnas.executors.sleepy:evaluate"
  signal: val_acc
  report: test_acc
"""


def sleep_seconds() -> float:
    raw = os.environ.get(SLEEP_ENV, "1")
    try:
        value = float(raw)
    except ValueError:
        from ..errors import ConfigError

        raise ConfigError(f"{SLEEP_ENV}={raw!r} is not a number of seconds") from None
    return max(0.0, value)


def evaluate(arch: dict[str, Any]) -> dict[str, float]:
    """Sleep, then score ``arch`` with a smooth made-up function of its decisions."""
    time.sleep(sleep_seconds())
    depth, width, kernel = int(arch["depth"]), int(arch["width"]), int(arch["kernel"])
    act = {"relu": 0.0, "gelu": 0.35, "swish": 0.25}[str(arch["activation"])]
    capacity = math.log2(width) * math.sqrt(depth) * (1.0 + 0.08 * kernel)
    val = 80.0 + 12.0 * math.tanh(capacity / 14.0) + act - 0.15 * abs(kernel - 3) - 0.3 * max(0, depth - 4)
    params_m = (depth * width * width * kernel * kernel) / 1e6
    return {"val_acc": round(val, 4), "test_acc": round(val - 0.5, 4), "params_M": params_m}


def write_space(folder: str | Path) -> Path:
    """Write the sleepy space file into ``folder``; returns its path."""
    path = Path(folder) / "sleepy-space.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(SPACE_YAML)
    return path
