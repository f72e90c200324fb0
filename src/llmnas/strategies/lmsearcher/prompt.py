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

The *cached form* (``scores="raw"``, ``listed=False``; the search's ``candidates=grammar``, not
in the paper nor the default) keeps the step prompt a pure append-only text, so the server's prompt
cache reuses all of it from one step to the next (the question is in the system prompt, so the
text ends with the newest entry):

    system: INSTRUCTIONS_UNLISTED
    user:   Evaluated (NCode|score, in evaluation order, higher is better):
            110013|91.20,210013|90.00,...

Raw scores never rescale (a new best or worst changes no earlier entry), and the pool is not
written in the prompt: the reply's grammar admits exactly the pool's codes, so the model answers
the pool member its own next-code distribution favours, digit by digit. The grammar admits each
code's shortest prefix that no other pool member shares (:func:`unique_prefixes`): once a prefix
is unique, the rest of the code is forced and costs decode steps without a choice, so the reply
ends there. Under constrained decoding this picks exactly the code the full-code grammar would.

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
SYSTEM_UNLISTED = ("You select neural architectures. An architecture is an NCode: a digit string with one "
                   "field per design decision, each field the index of the chosen option. Reply with only "
                   "the NCode of the unevaluated architecture you predict will score highest.")
HEADER_RAW = "Evaluated (NCode|score, in evaluation order, higher is better):"
HEADER_RAW_BEST_FIRST = "Evaluated (NCode|score, best first, higher is better):"
SCORE_FORMS = ("normalised", "raw")

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
                  order: str = "best-first", scores: str = "normalised") -> str:
    """``CODE|SCORE,...``: at most ``max_history`` entries, scaled over all of ``history``.

    ``history`` holds (ncode, score) with higher = better, in evaluation order; non-finite
    scores are dropped. ``order="best-first"`` (the paper's) shows the best entries first; ties
    keep their order in ``history`` (a stable sort), so the text is deterministic.
    ``order="chronological"`` shows the same entries (the best ``max_history``) in evaluation
    order, so the text grows at its end from one step to the next and a server's prompt cache
    reuses all of it, until a new best or worst rescales the scores or an entry leaves the cap.
    ``scores="raw"`` prints each score as it is (two decimals), so nothing rescales.
    """
    if scores not in SCORE_FORMS:
        raise ValueError(f"score form {scores!r}: use normalised or raw")
    kept = [(c, float(s)) for c, s in history if s is not None and math.isfinite(float(s))]
    if not kept:
        return NO_HISTORY
    norm = normalise([s for _, s in kept]) if scores == "normalised" else [s for _, s in kept]
    shown = sorted(range(len(kept)), key=lambda i: -kept[i][1])[:max(1, max_history)]
    if order == "chronological":
        shown.sort()
    elif order != "best-first":
        raise ValueError(f"history order {order!r}: use best-first or chronological")
    return ",".join(f"{kept[i][0]}|{norm[i]:.{SCORE_DECIMALS}f}" for i in shown)


def header(order: str = "best-first", scores: str = "normalised") -> str:
    if scores == "raw":
        return HEADER_RAW_BEST_FIRST if order == "best-first" else HEADER_RAW
    return HEADER if order == "best-first" else HEADER_CHRONOLOGICAL


def build_messages(history: Sequence[tuple[str, float]], candidates: Sequence[str],
                   max_history: int = DEFAULT_MAX_HISTORY, order: str = "best-first",
                   scores: str = "normalised", listed: bool = True) -> list[dict[str, str]]:
    """The chat messages (system, user) of one step; the reply must be one of ``candidates``.

    ``listed=False`` leaves the candidates out of the text (the cached form): the caller must
    then constrain the reply to them (:func:`answer_schema`), since the model cannot see them."""
    if not candidates:
        raise ValueError("an LM-Searcher step needs at least one candidate")
    lines = [header(order, scores), history_lines(history, max_history, order, scores)]
    if listed:
        lines += [CANDIDATES, ";".join(candidates), ASK]
    # unlisted: the system prompt carries the question, so the text ends with the newest entry
    return [{"role": "system", "content": SYSTEM if listed else SYSTEM_UNLISTED},
            {"role": "user", "content": "\n".join(lines)}]


def answer_schema(candidates: Sequence[str]) -> dict[str, Any]:
    """JSON schema that admits exactly the listed candidates (a JSON string), for constrained decoding."""
    return {"type": "string", "enum": list(dict.fromkeys(candidates))}


def unique_prefixes(candidates: Sequence[str]) -> list[str]:
    """Each candidate's shortest prefix that is a prefix of no other candidate (in order).

    The result is prefix-free: if ``p(a)`` were a prefix of ``p(b)``, it would be a prefix of
    ``b``. Equal-length distinct codes always have one (at worst the whole code).

    >>> unique_prefixes(["0123", "0144", "2000"])
    ['012', '014', '2']
    """
    pool = list(dict.fromkeys(str(c) for c in candidates))
    out = []
    for code in pool:
        others = [c for c in pool if c != code]
        for k in range(1, len(code) + 1):
            if not any(o.startswith(code[:k]) for o in others):
                out.append(code[:k])
                break
        else:  # a code that is a prefix of another (unequal lengths): only the whole code names it
            out.append(code)
    return out


def parse_prefix(reply: Any, candidates: Sequence[str]) -> tuple[str | None, str]:
    """The candidate a prefix-grammar reply names (:func:`unique_prefixes`), or (None, why).

    A whole candidate is accepted too (``exact``); a unique prefix gives ``prefix``."""
    pool = list(dict.fromkeys(str(c) for c in candidates))
    core = ("" if reply is None else str(reply)).strip(_WRAP)
    if not core:
        return None, "empty reply"
    if core in pool:
        return core, "exact"
    for prefix, code in zip(unique_prefixes(pool), pool):
        if core == prefix:
            return code, "prefix"
    return None, f"{core[:60]!r} names no candidate of the pool (not one of its unique prefixes)"


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
