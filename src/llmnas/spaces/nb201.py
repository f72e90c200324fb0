"""NAS-Bench-201 cell space: 6 edges x 5 operations (Dong & Yang, ICLR 2020)."""

from __future__ import annotations

from typing import Any, Literal

from ..config import RunConfig
from ..errors import ConfigError, SpaceError
from ..types import Arch
from .base import CAPABILITIES, Decision, SearchSpace
from .registry import Problem, SpaceOptions, register_space

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: Edges in NB201 order: (target node, source node). The cell string lists them as
#: |op~0| + |op~0|op~1| + |op~0|op~1|op~2| for targets 1, 2, 3.
EDGES = ((1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2))

DESCRIPTION = (
    "A cell is a DAG with 4 nodes (node 0 = cell input, node 3 = cell output). Each of the 6 edges "
    "j->i applies one operation to node j; node i sums its incoming edges. 'none' removes the edge, "
    "'skip_connect' is identity, nor_conv_KxK is ReLU-Conv-BN, avg_pool_3x3 is 3x3 average pooling. "
    "The network stacks the cell 15 times (3 stages of 5) with residual reduction blocks between "
    "stages. The NCode is the 6 op indices in edge order (0->1, 0->2, 1->2, 0->3, 1->3, 2->3)."
)


class NB201Space(SearchSpace):
    """The 15,625-cell NAS-Bench-201 space.

    ``canonical="ops"`` (default) deduplicates by the cell as written, the unit of the
    benchmark's table and of the reference budgets; ``canonical="isomorphism"`` folds cells that
    compute the same function (6,466 classes, from NATS-Bench's unique strings).
    """

    implements = CAPABILITIES

    def __init__(self, canonical: str = "ops") -> None:
        if canonical not in ("ops", "isomorphism"):
            raise ConfigError(f"nb201 canonical must be 'ops' or 'isomorphism', not {canonical!r}")
        decisions = [
            Decision(f"edge_{j}_{i}", OPS, f"operation on the edge from node {j} to node {i}")
            for i, j in EDGES
        ]
        super().__init__("nb201", decisions, DESCRIPTION)
        self.canonical = canonical
        self._iso = None
        if canonical == "isomorphism":
            from ..data import load_nb201

            table = load_nb201()
            self._iso = table["iso"][code_to_row_map(table["ops"])]

    def size(self) -> int:
        if self._iso is not None:
            return int(len(set(self._iso.tolist())))
        return super().size()

    def canonical_key(self, arch: Arch) -> str:
        if self._iso is None:
            return self.to_ncode(arch)
        return f"iso{int(self._iso[ops_code(self.to_indices(arch))])}"

    def to_cell_string(self, arch: Arch) -> str:
        idx = self.to_indices(arch)
        ops = [OPS[i] for i in idx]
        return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)

    def from_cell_string(self, cell: str) -> Arch:
        nodes = [n for n in cell.strip().split("+")]
        if len(nodes) != 3:
            raise SpaceError(f"NB201 cell string {cell!r} must have 3 nodes joined by '+'")
        ops: list[Any] = []
        for i, node in enumerate(nodes, start=1):
            parts = [p for p in node.strip("|").split("|") if p]
            if len(parts) != i:
                raise SpaceError(f"node {i} of {cell!r} must have {i} edges")
            for j, part in enumerate(parts):
                op, _, src = part.partition("~")
                if op not in OPS or src != str(j):
                    raise SpaceError(f"bad edge {part!r} in {cell!r} (expected op~{j}, op in {', '.join(OPS)})")
                ops.append(op)
        return {d.name: op for d, op in zip(self.decisions, ops)}


def ops_code(idx: tuple[int, ...]) -> int:
    """Base-5 number of the 6 op indices (first edge most significant)."""
    code = 0
    for i in idx:
        code = code * 5 + i
    return code


def code_to_row_map(ops):  # type: ignore[no-untyped-def]
    """Array mapping base-5 ops code -> row of the official table."""
    import numpy as np

    codes = (ops.astype(np.int64) * (5 ** np.arange(5, -1, -1))).sum(axis=1)
    rows = np.empty(len(codes), dtype=np.int64)
    rows[codes] = np.arange(len(codes))
    return rows


class NB201Options(SpaceOptions):
    #: ``ops``: a cell as written (the benchmark's unit); ``isomorphism``: cells computing the same function fold
    canonical: Literal["ops", "isomorphism"] = "ops"


@register_space("nb201", NB201Options)
def build_nb201(cfg: RunConfig, opts: NB201Options) -> Problem:
    """``--space nb201``: the cell space and the packaged NAS-Bench-201 table (space option ``canonical``)."""
    from .nb201_evaluator import NB201Evaluator

    space = NB201Space(canonical=opts.canonical)
    return Problem(space, NB201Evaluator(space, cfg.dataset or "cifar10", cfg.signal or "val_200"))
