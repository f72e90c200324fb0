"""The search-space contract.

A :class:`SearchSpace` is an ordered list of categorical :class:`Decision` s. It owns the
choice sets and the legality rules, and nothing else: it never evaluates and never remembers.
Every function that draws takes an explicit ``rng`` (``numpy.random.Generator``).

An architecture (``Arch``) is a dict ``decision name -> option value``. Three encodings exist:

* the dict itself (``encode``/``decode``), what configs, stores and JSON LLM replies use;
* option indices (``to_indices``/``from_indices``), what strategies do arithmetic on;
* the **NCode** of LM-Searcher (``to_ncode``/``from_ncode``): one base-10 field per decision,
  holding the option index. A decision with at most 10 options takes one digit. A decision with
  more than 10 options takes a fixed-width, zero-padded field of ``ceil(log10(k))`` digits
  (20 options -> 2 digits, ``"07"`` is option 7), so every code of a space has the same length,
  stays a pure digit string, and decodes without separators; a field whose value is not a valid
  option index is rejected with the position named. ``ncode_layout()`` documents the widths.

Each space class declares what it implements (``implements``, a subset of ``CAPABILITIES``);
an instance's ``capabilities`` narrow that by its own facts (no ``mutate``/``neighbors`` with
fewer than two architectures, no ``enumerate`` above ``ENUMERATE_LIMIT``). The runner checks a
strategy's ``requires`` against them before the space is searched.

Example::

    space = SearchSpace("toy", [Decision("depth", (2, 3, 4)), Decision("act", ("relu", "gelu"))])
    arch = space.sample(np.random.default_rng(0))     # {"depth": 3, "act": "relu"}
    space.to_ncode(arch)                              # "10"
    space.check({"depth": 5, "act": "relu"})          # "depth: 5 is not an option (choices: 2, 3, 4)"
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Iterable, Iterator, Sequence

import numpy as np

from ..errors import ConfigError, SpaceError
from ..types import Arch

#: Largest space that ``enumerate`` / exhaustive helpers will walk.
ENUMERATE_LIMIT = 2_000_000
#: everything a strategy can ask of a space (``Strategy.requires``)
CAPABILITIES: frozenset[str] = frozenset({"sample", "mutate", "neighbors", "ncode", "describe", "enumerate"})


@dataclass(frozen=True)
class Decision:
    """One categorical choice: its name, its options (JSON scalars) and a line of meaning."""

    name: str
    options: tuple[Any, ...]
    description: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            raise ConfigError("a decision needs a non-empty name")
        if len(self.options) < 1:
            raise ConfigError(f"decision {self.name!r} needs at least one option")
        if len({_norm(o) for o in self.options}) != len(self.options):
            raise ConfigError(f"decision {self.name!r} lists an option twice: {list(self.options)}")
        if any(a == b for j, b in enumerate(self.options) for a in self.options[:j]):  # 1 == True, 0 == False
            raise ConfigError(f"decision {self.name!r} has options that Python counts as equal (1 and true, 0 and "
                              f"false): {list(self.options)}; give distinct options")

    @property
    def width(self) -> int:
        """Digits this decision takes in an NCode."""
        return max(1, math.ceil(math.log10(len(self.options)))) if len(self.options) > 1 else 1


def _norm(value: Any) -> str:
    """Loose identity of an option value, so "3" from an LLM matches the option 3."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


class SearchSpace:
    """An ordered list of categorical decisions; subclasses add legality rules and keys."""

    #: the operations this class implements (each space class declares its own); an instance
    #: narrows them by its own facts, see :attr:`capabilities`
    implements: ClassVar[frozenset[str]] = CAPABILITIES

    @property
    def capabilities(self) -> frozenset[str]:
        """What a strategy may ask of this space: the class's ``implements``, less ``mutate`` and
        ``neighbors`` when it holds fewer than two architectures, less ``enumerate`` above
        :data:`ENUMERATE_LIMIT`. The runner refuses a strategy whose ``requires`` are not all here."""
        caps = set(self.implements)
        size = self.size()
        if size < 2:
            caps -= {"mutate", "neighbors"}
        if size > ENUMERATE_LIMIT:
            caps.discard("enumerate")
        return frozenset(caps)

    def __init__(self, name: str, decisions: Sequence[Decision], description: str = "") -> None:
        if not decisions:
            raise ConfigError(f"space {name!r} has no decisions")
        names = [d.name for d in decisions]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"space {name!r} names a decision twice: {', '.join(dupes)}")
        self.name = name
        self.decisions: tuple[Decision, ...] = tuple(decisions)
        self.description = description
        self._names = tuple(names)
        self._exact = [{o: i for i, o in enumerate(d.options) if _hashable(o)} for d in decisions]
        self._loose = [{_norm(o): i for i, o in enumerate(d.options)} for d in decisions]
        self._sizes = np.array([len(d.options) for d in decisions], dtype=np.int64)

    # ----- basic facts -------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        return self._names

    def size(self) -> int:
        """Number of distinct architectures (canonical keys) in the space."""
        return int(math.prod(len(d.options) for d in self.decisions))

    # ----- encodings ---------------------------------------------------------------------
    def to_indices(self, arch: Arch) -> tuple[int, ...]:
        """Option indices of a legal-shaped arch; raises :class:`SpaceError` otherwise."""
        try:
            return tuple(ex[arch[n]] for ex, n in zip(self._exact, self._names))
        except (KeyError, TypeError):
            reason = self._shape_problem(arch)
            raise SpaceError(reason or "architecture does not fit the space") from None

    def from_indices(self, idx: Iterable[int]) -> Arch:
        idx = tuple(int(i) for i in idx)
        if len(idx) != len(self.decisions):
            raise SpaceError(f"expected {len(self.decisions)} option indices, got {len(idx)}")
        out = {}
        for d, i in zip(self.decisions, idx):
            if not 0 <= i < len(d.options):
                raise SpaceError(f"{d.name}: option index {i} out of range 0..{len(d.options) - 1}")
            out[d.name] = d.options[i]
        return out

    def encode(self, arch: Arch) -> dict[str, Any]:
        """JSON form of an arch (a plain dict in decision order)."""
        return {n: arch[n] for n in self._names}

    def decode(self, data: Any) -> Arch:
        """Build an arch from a JSON dict, matching values loosely ("3" -> 3); raises SpaceError."""
        if not isinstance(data, dict):
            raise SpaceError(f"an architecture must be an object with keys {', '.join(self._names)}")
        unknown = [k for k in data if k not in self._names]
        if unknown:
            raise SpaceError(f"unknown decision(s) {', '.join(map(str, unknown))}; expected {', '.join(self._names)}")
        out = {}
        for d, loose in zip(self.decisions, self._loose):
            if d.name not in data:
                raise SpaceError(f"missing decision {d.name!r}")
            i = loose.get(_norm(data[d.name])) if _scalar(data[d.name]) else None
            if i is None:
                raise SpaceError(f"{d.name}: {data[d.name]!r} is not an option (choices: {_choices(d)})")
            out[d.name] = d.options[i]
        return out

    def ncode_layout(self) -> list[tuple[str, int, int]]:
        """(decision, first position, width) for each NCode field."""
        pos, out = 0, []
        for d in self.decisions:
            out.append((d.name, pos, d.width))
            pos += d.width
        return out

    def ncode_length(self) -> int:
        return sum(d.width for d in self.decisions)

    def to_ncode(self, arch: Arch) -> str:
        return "".join(str(i).zfill(d.width) for d, i in zip(self.decisions, self.to_indices(arch)))

    def ncode_pattern(self) -> str:
        """A regular expression (anchored) that matches exactly the NCodes whose every field is an
        option index of its decision; the compact answer format's grammar (rules beyond
        per-decision options, like table rows, are checked after decoding)."""
        parts = []
        for d in self.decisions:
            k, w = len(d.options), d.width
            if w == 1:
                parts.append(f"[0-{k - 1}]" if k > 1 else "0")
            else:
                parts.append("(" + "|".join(str(i).zfill(w) for i in range(k)) + ")")
        return "^" + "".join(parts) + "$"

    def from_ncode(self, code: str) -> Arch:
        code = str(code).strip()
        if len(code) != self.ncode_length() or not code.isdigit():
            raise SpaceError(
                f"NCode {code!r} must be {self.ncode_length()} digits (one field per decision)"
            )
        idx = []
        for name, pos, width in self.ncode_layout():
            idx.append(int(code[pos : pos + width]))
        return self.from_indices(idx)

    # ----- legality ----------------------------------------------------------------------
    def check(self, arch: Any) -> str | None:
        """None if ``arch`` is a legal member, else a one-line reason fit to show an LLM."""
        problem = self._shape_problem(arch)
        if problem:
            return problem
        return self.rule_problem(arch)

    def is_legal(self, arch: Any) -> tuple[bool, str]:
        reason = self.check(arch)
        return (reason is None, reason or "")

    def rule_problem(self, arch: Arch) -> str | None:
        """Space-specific rules beyond "every value is an option"; subclasses override."""
        return None

    def _shape_problem(self, arch: Any) -> str | None:
        if not isinstance(arch, dict):
            return f"an architecture must be a dict of {len(self._names)} decisions"
        for d, ex in zip(self.decisions, self._exact):
            if d.name not in arch:
                return f"missing decision {d.name!r}"
            v = arch[d.name]
            if not _hashable(v) or v not in ex or type(v) is not type(d.options[ex[v]]):
                return f"{d.name}: {v!r} is not an option (choices: {_choices(d)})"
        extra = [k for k in arch if k not in self._names]
        if extra:
            return f"unknown decision(s) {', '.join(map(str, extra))}"
        return None

    def canonicalize(self, arch: Arch) -> Arch:
        """The arch that stands for every arch building the same network; by default ``arch``.

        Spaces whose decisions can be inactive (the supernets) fold those decisions here;
        ``enumerate`` yields canonical archs only."""
        return arch

    def canonical_key(self, arch: Arch) -> str:
        """Identity used for deduplication: the NCode of the canonical arch. Subclasses may fold
        more variants (e.g. isomorphic cells)."""
        return self.to_ncode(self.canonicalize(arch))

    # ----- sampling and moves --------------------------------------------------------------
    def sample(self, rng: np.random.Generator, max_tries: int = 1000) -> Arch:
        """A uniformly random legal arch (rejection sampling, bounded)."""
        for _ in range(max_tries):
            idx = (rng.random(len(self._sizes)) * self._sizes).astype(np.int64)
            arch = self.from_indices(idx)
            if self.rule_problem(arch) is None:
                return arch
        raise SpaceError(f"space {self.name!r}: no legal architecture in {max_tries} random draws")

    def mutable_decisions(self, arch: Arch) -> list[int]:
        """Indices of the decisions a mutation of ``arch`` may change (two or more options)."""
        return [i for i, d in enumerate(self.decisions) if len(d.options) > 1]

    def mutate(self, arch: Arch, rng: np.random.Generator, max_tries: int = 100) -> Arch:
        """Change exactly one decision to a different option (legal result, bounded tries)."""
        idx = list(self.to_indices(arch))
        choosable = self.mutable_decisions(arch)
        if not choosable:
            raise SpaceError(f"space {self.name!r} has no decision with two or more options")
        for _ in range(max_tries):
            i = choosable[int(rng.integers(len(choosable)))]
            k = len(self.decisions[i].options)
            new = list(idx)
            new[i] = (idx[i] + 1 + int(rng.integers(k - 1))) % k
            child = self.from_indices(new)
            if self.rule_problem(child) is None:
                return child
        raise SpaceError(f"space {self.name!r}: no legal single-decision mutation in {max_tries} tries")

    def neighbors(self, arch: Arch) -> list[Arch]:
        """Every legal arch that differs from ``arch`` in exactly one decision."""
        idx = self.to_indices(arch)
        out = []
        for i, d in enumerate(self.decisions):
            for j in range(len(d.options)):
                if j != idx[i]:
                    cand = self.from_indices(idx[:i] + (j,) + idx[i + 1 :])
                    if self.rule_problem(cand) is None:
                        out.append(cand)
        return out

    def enumerate(self) -> Iterator[Arch]:
        """Every legal canonical arch (only for spaces up to ``ENUMERATE_LIMIT`` combinations)."""
        if "enumerate" not in self.capabilities:
            why = f"{self.size():,} architectures" if self.size() > ENUMERATE_LIMIT else "its class lists no architectures"
            raise SpaceError(f"space {self.name!r} cannot be enumerated ({why})")
        for idx in itertools.product(*(range(len(d.options)) for d in self.decisions)):
            arch = self.from_indices(idx)
            if self.rule_problem(arch) is None and self.canonicalize(arch) == arch:
                yield arch

    # ----- prompts ---------------------------------------------------------------------------
    def describe(self) -> str:
        """Plain-text description for prompts: the decisions, their options and NCode layout."""
        lines = [f"Search space {self.name!r}: {len(self.decisions)} decisions, {self.size():,} architectures."]
        if self.description:
            lines.append(self.description.strip())
        lines.append("Decisions (option index: value):")
        for d in self.decisions:
            opts = ", ".join(f"{i}: {o}" for i, o in enumerate(d.options))
            meaning = f" - {d.description}" if d.description else ""
            lines.append(f"- {d.name}{meaning}. Options: {opts}")
        return "\n".join(lines)

    def arch_json_schema(self) -> dict[str, Any]:
        """JSON schema of one arch object (each decision an enum of its options)."""
        return {
            "type": "object",
            "properties": {d.name: {"enum": list(d.options)} for d in self.decisions},
            "required": list(self._names),
            "additionalProperties": False,
        }

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r}, {len(self.decisions)} decisions)"


def _hashable(v: Any) -> bool:
    try:
        hash(v)
    except TypeError:
        return False
    return True


def _scalar(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool))


def _choices(d: Decision) -> str:
    opts = ", ".join(map(str, d.options[:12]))
    return opts + (", ..." if len(d.options) > 12 else "")
