"""What each packaged tabular benchmark is: its decisions, datasets (tasks), signal and data folder.

The numbers live in ``llmnas/data/<folder>/<folder>.npz`` (built by
``scripts/build_benchmark_tables.py``; provenance and licences beside each archive). A table
restricts its space to the architectures it has rows for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..base import Decision

Indices = tuple[int, ...]


@dataclass(frozen=True)
class BenchmarkSpec:
    """One tabular benchmark: a space, one signal column per dataset, optional cost columns."""

    name: str  # the --space name
    folder: str  # llmnas/data/<folder>/<folder>.npz
    title: str
    description: str  # shown to LLM strategies that describe the space
    decisions: tuple[Decision, ...]
    datasets: tuple[str, ...]
    signal: str  # what the signal column measures, e.g. "val_acc"
    higher_is_better: bool = True
    canonical: Callable[[Indices], Indices] | None = None  # folds rows that are the same network
    notes: dict[str, str] = field(default_factory=dict)  # per dataset: what the number is

    @property
    def default_dataset(self) -> str:
        return self.datasets[0]


# ----- NAS-Bench-Macro ----------------------------------------------------------------------------
MACRO_OPS = ("identity", "mb3_k3", "mb6_k5")
MACRO_STAGES = ((0, 2), (2, 5), (5, 8))


def macro_canonical(idx: Indices) -> Indices:
    """NAS-Bench-Macro's own aliasing: an identity that is not the first layer of its stage is a
    no-op, so each stage keeps its first layer, then its non-identity layers in order, then pads
    with identities (upstream ``get_real_arch``)."""
    out: list[int] = []
    for lo, hi in MACRO_STAGES:
        rest = [i for i in idx[lo + 1:hi] if i != 0]
        out += [idx[lo], *rest, *[0] * (hi - lo - 1 - len(rest))]
    return tuple(out)


NB_MACRO = BenchmarkSpec(
    name="nb-macro", folder="nbmacro", title="NAS-Bench-Macro (Su et al., CVPR 2021)",
    description=("A MobileNet-style macro network for CIFAR-10: a 3x3 stem, then 8 searchable layers in "
                 "3 stages of 2, 3 and 3 layers (the first layer of each stage has stride 2 and doubles the "
                 "width), then a 1x1 conv to 1280 channels and a classifier. Each layer is an identity, an "
                 "inverted residual block with kernel 3 and expansion 3, or one with kernel 5 and expansion 6."),
    decisions=tuple(Decision(f"layer_{i}", MACRO_OPS, f"block of searchable layer {i}") for i in range(8)),
    datasets=("cifar10",), signal="test_acc", canonical=macro_canonical,
    notes={"cifar10": "mean over 3 runs of the best CIFAR-10 test accuracy in 50 epochs (%); the benchmark has "
                      "no validation split, so signal and report are the same number"},
)

# ----- TransNAS-Bench-101 (NASLib zero-cost subsets) --------------------------------------------------
TRANSNAS_TASKS = ("class_scene", "class_object", "autoencoder", "normal", "jigsaw", "room_layout",
                  "segmentsemantic")
_TASK_METRIC = {"class_scene": "valid top-1 (%)", "class_object": "valid top-1 (%)", "jigsaw": "valid top-1 (%)",
                "segmentsemantic": "valid pixel accuracy (%)", "autoencoder": "valid SSIM", "normal": "valid SSIM",
                "room_layout": "valid negative L2 loss"}
TRANSNAS_NOTES = {t: f"best-epoch {m}, TransNAS-Bench-101 via NASLib's zero-cost subset" for t, m in _TASK_METRIC.items()}
MICRO_OPS = ("none", "skip_connect", "conv1x1", "conv3x3")
MICRO_EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))
MACRO_MODULES = ("absent", "normal", "channel_x2", "downsample", "channel_x2+downsample")

TRANSNAS_MICRO = BenchmarkSpec(
    name="transnas-micro", folder="transnasmicro", title="TransNAS-Bench-101 micro (cell) space, 711-row subset",
    description=("A 4-node cell (node 0 input, node 3 output) stacked in a fixed ResNet-like skeleton with "
                 "base width 64. Each of the 6 edges applies one operation; nodes sum their inputs."),
    decisions=tuple(Decision(f"edge_{j}_{i}", MICRO_OPS, f"operation on the edge from node {j} to node {i}")
                    for i, j in MICRO_EDGES),
    datasets=TRANSNAS_TASKS, signal="val", notes=TRANSNAS_NOTES,
)

TRANSNAS_MACRO = BenchmarkSpec(
    name="transnas-macro", folder="transnasmacro", title="TransNAS-Bench-101 macro (skeleton) space, 725-row subset",
    description=("A network of 4 to 6 modules (each two ResNet basic blocks) with base width 64. Each slot holds "
                 "a module that keeps the shape, doubles the channels, halves the resolution, or both; absent "
                 "slots come last. 1-4 modules downsample and 1-3 double the channels."),
    decisions=tuple(Decision(f"module_{i}", MACRO_MODULES, f"module in slot {i}") for i in range(6)),
    datasets=TRANSNAS_TASKS, signal="val", notes=TRANSNAS_NOTES,
)

# ----- NAS-Bench-301 (NASLib zero-cost subset) ----------------------------------------------------------
DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
             "dil_conv_3x3", "dil_conv_5x5")


def _darts_decisions() -> tuple[Decision, ...]:
    out = []
    for cell in ("normal", "reduce"):
        for e in range(8):
            node = e // 2 + 2
            out.append(Decision(f"{cell}_e{e}_input", tuple(range(node)),
                                f"{cell} cell, edge {e} into node {node}: input node (0, 1: previous cells)"))
            out.append(Decision(f"{cell}_e{e}_op", DARTS_OPS, f"{cell} cell, edge {e} into node {node}: operation"))
    return tuple(out)


NB301 = BenchmarkSpec(
    name="nb301", folder="nb301", title="NAS-Bench-301 (DARTS space) on CIFAR-10, 725-row subset",
    description=("The DARTS cell space: a normal and a reduction cell, each with 4 intermediate nodes; every node "
                 "takes two edges, each from an earlier node (0 and 1 are the two previous cells) through one "
                 "operation. The network stacks 8 cells."),
    decisions=_darts_decisions(), datasets=("cifar10",), signal="val_acc",
    notes={"cifar10": "CIFAR-10 validation accuracy (%) predicted by the NAS-Bench-301 v1.0 XGB surrogate "
                      "(one noisy draw), from NASLib's zero-cost subset"},
)

BENCHMARKS: dict[str, BenchmarkSpec] = {b.name: b for b in (NB_MACRO, TRANSNAS_MICRO, TRANSNAS_MACRO, NB301)}


def table_datasets() -> dict[str, tuple[str, ...]]:
    """Every packaged table space (NAS-Bench-201 first) and its datasets, the default first."""
    from ..nb201_evaluator import DATASETS as NB201_DATASETS

    out = {"nb201": tuple(NB201_DATASETS)}
    out.update({name: spec.datasets for name, spec in BENCHMARKS.items()})
    return out
