"""The Coordinator duties that belong to the algorithm (collm-nas.md §4.3), as pure functions.

The runner already deduplicates, checks legality and constraints, and evaluates. Here: pulling
candidate objects out of a Generator reply (also out of one that failed its schema), screening
them so an ask returns only new legal candidates (with the counts attempted / parsed / legal /
new and the first rejection reasons), and writing the results block the Navigator reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ...errors import SpaceError
from ...spaces.base import SearchSpace
from ...types import Arch, Trial

_FLAT_OBJECT = re.compile(r"\{[^{}]*\}")
MAX_REASONS = 5


def extract_candidates(parsed: Any, text: str, code_length: int | None = None) -> tuple[list[Any], str]:
    """Candidate objects from a reply and how they were found (``schema``, ``lenient``, ``objects``).

    ``parsed`` is the schema-valid value when the client accepted the reply. Otherwise the text
    is parsed leniently without the schema (a list, or an object holding ``candidates``), and
    as a last resort every flat ``{...}`` object in it is tried (collm-nas.md §12 #4: "regex per
    dict"), which also rescues the complete objects of a reply cut off by ``max_tokens``. With
    ``code_length`` (the compact encoding) the last resort is every digit run of that length.
    """
    if isinstance(parsed, dict) and isinstance(parsed.get("candidates"), list):
        return list(parsed["candidates"]), "schema"
    from ...llm.parsing import parse_json  # lazy: importing strategies must stay cheap for the CLI

    value = parse_json(text or "").value
    if isinstance(value, dict) and isinstance(value.get("candidates"), list):
        return list(value["candidates"]), "lenient"
    if isinstance(value, list):
        return value, "lenient"
    if code_length:
        return re.findall(rf"(?<!\d)\d{{{code_length}}}(?!\d)", text or ""), "codes"
    found = []
    for m in _FLAT_OBJECT.finditer(text or ""):
        obj = parse_json(m.group(0)).value
        if isinstance(obj, dict):
            found.append(obj)
    return found, "objects"


@dataclass
class Screened:
    """New legal archs (with their position in the reply) and the counts of one reply."""

    new: list[tuple[int, Arch]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    #: legal items that were not new (already evaluated or taken, or repeated in the reply), once each
    repeats: list[Arch] = field(default_factory=list)


def screen(items: list[Any], space: SearchSpace, is_visited: Any, taken: set[str] | None = None) -> Screened:
    """Decode, check and deduplicate ``items`` (against the run, and within the reply and the
    keys already ``taken`` in this iteration, e.g. by an earlier reply to a re-ask)."""
    out = Screened(counts=dict(attempted=len(items), parsed=0, legal=0, new=0, illegal=0,
                               duplicate_run=0, duplicate_reply=0))
    seen: set[str] = set(taken or ())
    repeated: set[str] = set()
    for i, item in enumerate(items):
        try:
            arch = space.from_ncode(item) if isinstance(item, str) else space.decode(item)
        except SpaceError as exc:
            _reject(out, "illegal", f"candidate {i + 1}: {exc}")
            continue
        out.counts["parsed"] += 1
        why = space.check(arch)
        if why is not None:
            _reject(out, "illegal", f"candidate {i + 1}: {why}")
            continue
        out.counts["legal"] += 1
        key = space.canonical_key(arch)
        if is_visited(key) or key in seen:
            out.counts["duplicate_run" if is_visited(key) else "duplicate_reply"] += 1
            if key not in repeated:
                repeated.add(key)
                out.repeats.append(space.encode(arch))
        else:
            seen.add(key)
            out.counts["new"] += 1
            out.new.append((i, space.encode(arch)))
    return out


def _reject(out: Screened, kind: str, reason: str) -> None:
    out.counts[kind] += 1
    if len(out.reasons) < MAX_REASONS:
        out.reasons.append(reason)


def trial_result(t: Trial, metrics: list[str]) -> dict[str, Any]:
    """The JSON-able part of a told trial that the Navigator's results block needs."""
    return {"arch": t.arch, "status": t.status, "signal": t.signal, "score": t.score,
            "feasible": t.feasible, "reason": t.reason,
            "metrics": {m: t.metrics[m] for m in metrics if m in t.metrics}}


def counts_line(c: dict[str, int], cut: int = 0, report_rejections: bool = True) -> str:
    """One sentence on what the Generator's reply yielded."""
    head = f"The Generator proposed {c.get('attempted', 0)} candidates; {c.get('new', 0)} were new and valid."
    if not report_rejections:
        return head
    parts = [f"{c[k]} {label}" for k, label in (
        ("illegal", "invalid (not in the search space)"), ("duplicate_run", "already evaluated earlier"),
        ("duplicate_reply", "repeated within the reply")) if c.get(k)]
    if cut:
        parts.append(f"{cut} not evaluated because the evaluation budget ran out")
    return head + (f" Rejected: {', '.join(parts)}." if parts else "")


def results_block(results: list[dict[str, Any]], signal: str, reasons: list[str] | None = None,
                  arch_text: Callable[[Arch], str] | None = None, compact: bool = False) -> str:
    """One line per evaluated candidate, best first (collm-nas.md §12 #8); over-constraint marked.
    ``arch_text`` writes an architecture (default: its JSON object). ``compact`` leaves the
    signal's name out of every line (the caller names it once, above the lines): ``- 030323 89.65``."""
    lines = []
    ranked = sorted(results, key=lambda r: (r["score"] is not None, r["score"] or 0.0), reverse=True)
    for r in ranked:
        arch = arch_text(r["arch"]) if arch_text else json.dumps(r["arch"], separators=(", ", ": "))
        cost = "".join(f" | {k} {_num(v)}" for k, v in r["metrics"].items())
        if r["status"] in ("ok", "duplicate") and r["signal"] is not None:
            if compact:  # the score right after the code, costs after it
                arch, score = f"{arch} {_num(r['signal'])}", ""
            else:
                score = f" | {signal} {_num(r['signal'])}"
        elif r["status"] == "over_budget":
            score = " | not evaluated"
        else:
            score = f" | evaluation failed: {r['reason']}" if r["reason"] else " | not evaluated"
        flag = "" if r["feasible"] else f" (breaks the constraint: {r['reason']})"
        lines.append(f"- {arch}{cost}{score}{flag}")
    if not lines:
        lines.append("(no candidate was evaluated in this iteration)")
    if reasons:
        lines.append("Examples of invalid candidates: " + "; ".join(reasons))
    return "\n".join(lines)


def _num(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
