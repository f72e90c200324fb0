"""Stand-in for a training script: returns metrics for an architecture dict.

A real one would build the network from ``arch``, train it and return measured accuracies;
llmnas only needs a function ``evaluate(arch) -> dict`` (and optionally ``costs(arch)``).
"""

import math


def costs(arch: dict) -> dict:
    width, depth = arch["width"], arch["depth"]
    params = 784 * width + (depth - 1) * width * width + width * 10
    return {"params_M": params / 1e6}


def evaluate(arch: dict) -> dict:
    capacity = math.log2(arch["width"]) * arch["depth"] ** 0.5
    act = {"relu": 0.0, "gelu": 0.4, "tanh": -0.8}[arch["activation"]]
    reg = {0.0: -0.3, 0.1: 0.5, 0.3: 0.1}[arch["dropout"]]
    val = 90 + 1.5 * math.tanh(capacity / 8) * 4 + act + reg - 0.2 * max(0, arch["depth"] - 3)
    return {"val_acc": round(val, 3), "test_acc": round(val - 0.4, 3), **costs(arch)}
