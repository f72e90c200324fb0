"""The LM-Searcher step prompt and reply parser, shared by the search and the training data.

One search step shows the model the evaluated NCodes with their min-max normalised scores
(best first, at most ``max_history`` entries) and a pool of unevaluated candidate NCodes; the
model answers with one candidate, copied exactly. ``llmnas search --strategy lmsearcher`` and
``llmnas lmsearcher make-data`` both build their messages with :func:`build_messages`, so a
fine-tuned model is trained on exactly the prompts it sees in a search.

The prompt says nothing about the domain (no decision names, no option values): as in the paper
the model only ever sees option indices, which is what lets one ranker move between spaces.

Format (decisions in ``docs/lmsearcher.md``)::

    system: INSTRUCTIONS
    user:   Evaluated (NCode|score, best first, 1 = best so far, 0 = worst so far):
            110013|1.00,210013|0.87,...,000000|0.00
            Candidates:
            012334;331123;...
            Answer with one candidate NCode.
    assistant: 331123

Scores are normalised over the *whole* history (its min and max), not only over the shown
entries, so the scale does not drift once the history outgrows the cap; equal scores all print
as ``1.00``.

Example::

    >>> msgs = build_messages([("110", 91.2), ("010", 90.0)], ["111", "210"])
    >>> msgs[1]["content"].splitlines()[1]
    '110|1.00,010|0.00'
    >>> parse_choice(" 210\\n", ["111", "210"])
    ('210', 'exact')
"""

from __future__ import annotations

import math
import re
from typing import Any, Sequence

#: Bump when the prompt text changes: it is written into every training sample's meta.
PROMPT_VERSION = "lmsearcher-v1"
SCORE_DECIMALS = 2
DEFAULT_MAX_HISTORY = 30
DEFAULT_POOL_SIZE = 10

SYSTEM = ("You select neural architectures. An architecture is an NCode: a digit string with one "
          "field per design decision, each field the index of the chosen option. Reply with only "
          "the candidate NCode you predict will score highest, copied exactly.")
HEADER = "Evaluated (NCode|score, best first, 1 = best so far, 0 = worst so far):"
HEADER_CHRONOLOGICAL = "Evaluated (NCode|score, in evaluation order, 1 = best so far, 0 = worst so far):"
NO_HISTORY = "(none yet)"
CANDIDATES = "Candidates:"
ASK = "Answer with one candidate NCode."

_DIGIT_RUN = re.compile(r"\d+")
_WRAP = " \t\r\n\"'`.,;:!()[]{}<>"


def normalise(scores: Sequence[float]) -> list[float]:
    """Min-max normalise to [0, 1]; all-equal scores (max == min) all become 1.0."""
    if not scores:
        return []
    lo, hi = min(scores), max(scores)
    if not hi > lo:
        return [1.0] * len(scores)
    return [(s - lo) / (hi - lo) for s in scores]


def history_lines(history: Sequence[tuple[str, float]], max_history: int = DEFAULT_MAX_HISTORY,
                  order: str = "best-first") -> str:
    """``CODE|SCORE,...``: at most ``max_history`` entries, scaled over all of ``history``.

    ``history`` holds (ncode, score) with higher = better, in evaluation order; non-finite
    scores are dropped. ``order="best-first"`` (the paper's) shows the best entries first; ties
    keep their order in ``history`` (a stable sort), so the text is deterministic.
    ``order="chronological"`` shows the same entries (the best ``max_history``) in evaluation
    order, so the text grows at its end from one step to the next and a server's prompt cache
    reuses all of it, until a new best or worst rescales the scores or an entry leaves the cap.
    """
    kept = [(c, float(s)) for c, s in history if s is not None and math.isfinite(float(s))]
    if not kept:
        return NO_HISTORY
    norm = normalise([s for _, s in kept])
    shown = sorted(range(len(kept)), key=lambda i: -kept[i][1])[:max(1, max_history)]
    if order == "chronological":
        shown.sort()
    elif order != "best-first":
        raise ValueError(f"history order {order!r}: use best-first or chronological")
    return ",".join(f"{kept[i][0]}|{norm[i]:.{SCORE_DECIMALS}f}" for i in shown)


def header(order: str = "best-first") -> str:
    return HEADER if order == "best-first" else HEADER_CHRONOLOGICAL


def build_messages(history: Sequence[tuple[str, float]], candidates: Sequence[str],
                   max_history: int = DEFAULT_MAX_HISTORY, order: str = "best-first") -> list[dict[str, str]]:
    """The chat messages (system, user) of one step; the reply must be one of ``candidates``."""
    if not candidates:
        raise ValueError("an LM-Searcher step needs at least one candidate")
    user = "\n".join([header(order), history_lines(history, max_history, order), CANDIDATES,
                      ";".join(candidates), ASK])
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def answer_schema(candidates: Sequence[str]) -> dict[str, Any]:
    """JSON schema that admits exactly the listed candidates (a JSON string), for constrained decoding."""
    return {"type": "string", "enum": list(dict.fromkeys(candidates))}


def parse_choice(reply: Any, candidates: Sequence[str]) -> tuple[str | None, str]:
    """The candidate a reply names, and how it was found; or (None, the reason it was not).

    * ``exact``: the reply, stripped of whitespace, quotes, backticks and punctuation, is a
      candidate (a constrained reply ``"331123"`` is exact too);
    * ``extracted``: the reply contains exactly one distinct candidate as a whole digit run
      (e.g. ``The best is 331123.``).

    A reply that names several different candidates, or none, is rejected with the reason.
    """
    pool = list(dict.fromkeys(str(c) for c in candidates))
    text = "" if reply is None else str(reply)
    core = text.strip(_WRAP)
    if not core:
        return None, "empty reply"
    if core in pool:
        return core, "exact"
    named = list(dict.fromkeys(run for run in _DIGIT_RUN.findall(text) if run in pool))
    if len(named) == 1:
        return named[0], "extracted"
    if len(named) > 1:
        return None, f"the reply names {len(named)} listed candidates ({', '.join(named[:4])}); name one"
    short = " ".join(core.split())[:60]
    return None, f"{short!r} is not one of the listed candidates"


def answer_message(ncode: str) -> dict[str, str]:
    """The assistant turn a training sample ends with: the chosen NCode, nothing else."""
    return {"role": "assistant", "content": str(ncode)}
