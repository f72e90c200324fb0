"""LM-Searcher (Hu et al., EMNLP 2025; arXiv 2509.05657): NAS as a sequence of ranking steps.

Each ``ask`` proposes one architecture. The first ``warmup`` are uniform random unvisited
architectures. After that, every step draws a pool of ``pool_size`` distinct unvisited random
architectures and shows the ranker the evaluated NCodes with their scores and the pool
(:mod:`llmnas.strategies.lmsearcher.prompt`); the ranker answers with one candidate. The default (the
paper's *listed form*) lists the pool's NCodes in the prompt after the normalised history; the
*cached form* (``candidates=grammar``) shows the whole history in evaluation order with raw
scores and gives the pool only through the reply's grammar (each code's unique prefix), so every
step re-reads just its newest entry: 8x less LLM time on the embedded model, whose picks in that
form searched worse than its listed-form picks (docs/lmsearcher.md §4.2). Ranker ``llm`` asks the model (one call, bounded re-asks by
``llm.max_reasks``; with the embedded backend the reply is constrained to the listed codes);
when no listed candidate comes back the step takes a recorded fallback (the candidate closest to
the best so far, or a random one). Rankers ``closest`` and ``random`` do the same job without a
model, as baselines; ``additive`` scores each candidate with the in-context per-decision model;
``ncode`` asks the NCode ranker model (:mod:`llmnas.strategies.lmsearcher.ncode_model`; the packaged one,
or a training folder named by ``ncode_model``), whose answer is always a pool member. Trial sources say who chose: ``warmup``, ``ranker`` (first answer),
``ranker-reask`` (after a re-ask), ``fallback-closest`` / ``fallback-random``, ``closest``,
``random-pick``, ``additive``, ``ncode``, ``only-candidate`` (a pool of one). Decisions and departures from the released
code: docs/lmsearcher.md.
"""

from __future__ import annotations

from typing import Any, Literal, Optional, Union

from pydantic import Field

from ...errors import ConfigError, LLMReplyError
from . import prompt as lp
from .rankers import additive, closest_to_best, oracle
from ...types import Arch, Proposal, Trial
from ..base import STRATEGIES, Strategy, StrategyReport, StrategySettings, rank

COUNTERS = ("steps", "warmup", "llm_steps", "listed_first", "listed_reask", "fallback",
            "constrained_steps", "single_candidate")


HISTORY_TOKENS = 4096  # the cached form's default history budget (llm.n_ctx is 8,192 a slot)

Ranker = Literal["llm", "closest", "random", "additive", "ncode", "oracle"]


class LMSearcherSettings(StrategySettings):
    ranker: Ranker = Field(
        "llm", description="who picks from the pool: the LLM, the candidate closest to the best so far, chance, "
        "the in-context additive per-decision model, the NCode ranker model, or (lmsearcher-oracle only) the "
        "candidate with the best table signal")
    ncode_model: str = Field("ncode-ranker", description="ranker=ncode: the packaged model (ncode-ranker) or a "
                             "folder written by llmnas lmsearcher train --preset ncode-ranker")
    ncode_head: Literal["pick", "bins"] = Field("pick", description="ranker=ncode: answer by the pick logits, or "
                                                "by the expected score bin")
    warmup: int = Field(5, ge=1, description="uniform random architectures before the first ranking step (paper: 5)")
    pool_size: int = Field(lp.DEFAULT_POOL_SIZE, ge=1, le=100, description="candidates per step (paper: 10)")
    max_history: Optional[int] = Field(
        None, ge=1, description="evaluated entries shown, the best ones (paper: 200); None: 30 with listed candidates "
        "and history_order=best-first, else 200 (the whole history of a 200-query run, so no entry leaves the "
        "cached prompt; fewer for codes longer than 12 digits, to stay near 4,096 prompt tokens)")
    history_order: Literal["chronological", "best-first"] = Field(
        "chronological", description="order of the shown entries: evaluation order (the prompt grows at its end, "
        "so the server's prompt cache reuses it; not in the paper) or best first (the paper's, and what make-data "
        "writes: use it with a model fine-tuned on make-data samples)")
    candidates: Literal["listed", "grammar"] = Field(
        "listed", description="how the model learns the pool: listed in the prompt (the paper's), or only through the "
        "reply's grammar, which admits each pool code's unique prefix (the cached form: with scores=auto and "
        "max_history unset the prompt then only grows at its end, so the server's cache reuses all of it; needs "
        "constrained replies; 8x faster on the embedded model, but its picks searched worse there, docs/lmsearcher.md §4.2)")
    scores: Literal["auto", "normalised", "raw"] = Field(
        "auto", description="scores shown min-max normalised over the history (the paper's; earlier entries change "
        "when a new best or worst arrives, so the server re-reads the prompt from there) or raw (two decimals; "
        "nothing rescales; not in the paper); auto: normalised with listed candidates in best-first order, else raw "
        "(docs/lmsearcher.md §6, row 6b)")
    fallback: Literal["closest", "random"] = Field(
        "closest", description="what a step takes when the model names no listed candidate")
    constrained: Union[bool, Literal["auto"]] = Field(
        "auto", description="constrain the reply to the listed codes: true/on, false/off, or auto (on for the "
        "embedded backend, whose grammar cannot change the prompt)")
    temperature: Optional[float] = Field(0.0, ge=0.0, description="ranker sampling temperature; None: the llm setting")
    max_tokens: Optional[int] = Field(None, ge=4, description="reply budget; None: NCode length + 16")


@STRATEGIES.register("lmsearcher")
class LMSearcher(Strategy):
    """Warm-up, then one ranking step per ask over a pool of unvisited random candidates."""

    name = "lmsearcher"
    requires = frozenset({"sample", "ncode"})
    Settings = LMSearcherSettings
    settings: LMSearcherSettings
    uses_llm = True

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        s = self.settings
        if s.ranker == "llm" and ctx.llm is None:
            raise ConfigError(f"strategy {self.name!r} with ranker=llm needs an LLM; run it with --llm "
                              "(e.g. --llm embedded), or use --option ranker=closest")
        self.batch_size = 1
        self.ncode = None
        if s.ranker == "ncode":
            from .ncode_ranker import load_ncode_ranker

            self.ncode = load_ncode_ranker(s.ncode_model)
        self.counts = {k: 0 for k in COUNTERS}
        self.stopped = ""
        self.form: dict[str, Any] | None = None  # pinned at the first LLM step, kept in the state
        if (s.ranker == "oracle") != (ctx.peek_signal is not None):
            raise ConfigError("ranker=oracle reads the table's signal of every candidate: it is the ceiling strategy "
                              "lmsearcher-oracle, and only that strategy may use it; pick another ranker")
        if s.ranker == "llm" and s.candidates == "grammar" and not self._constrained():
            raise ConfigError("lmsearcher candidates=grammar shows the pool only through a constrained reply, and "
                              "replies are not constrained here; use candidates=listed, or constrained=true with an "
                              "endpoint that supports JSON-schema output")

    def prompt_form(self) -> dict[str, Any]:
        """The step prompt's resolved form: candidates listed or not, score form, entries shown.

        Resolved once and kept in the strategy state, so a resumed run keeps the form it began
        with even if the defaults (or the backend behind ``auto``) change."""
        if self.form is not None:
            return dict(self.form)
        s = self.settings
        listed = s.candidates == "listed"
        # the paper's form (normalised, 30 best) only where the text is re-sorted anyway: best first
        paper_form = listed and s.history_order == "best-first"
        scores = s.scores if s.scores != "auto" else ("normalised" if paper_form else "raw")
        max_history = s.max_history or (lp.DEFAULT_MAX_HISTORY if paper_form else self._history_fit())
        return {"listed": listed, "scores": scores, "max_history": max_history}

    # ----- ask / tell ------------------------------------------------------------------------
    def ask(self, n: int) -> list[Proposal]:
        if self.stopped or n < 1:
            return []
        s, space = self.settings, self.ctx.space
        evaluated = self._ranked()
        if self.counts["warmup"] < s.warmup and len(evaluated) < s.warmup:
            arch = self.random_unvisited()
            if arch is None:
                self.stopped = "every architecture of the space has been visited"
                return []
            self.counts["warmup"] += 1
            return [Proposal(arch, "warmup", f"random warm-up {self.counts['warmup']} of {s.warmup}")]
        pool = self._pool(s.pool_size)
        if not pool:
            self.stopped = "no unvisited architecture left for a candidate pool"
            return []
        self.counts["steps"] += 1
        step = self.counts["steps"]
        codes = [space.to_ncode(a) for a in pool]
        meta: dict[str, Any] = {"step": step, "pool": codes, "history_len": len(evaluated), "ranker": s.ranker}
        if len(pool) == 1:
            self.counts["single_candidate"] += 1
            return [Proposal(pool[0], "only-candidate", f"step {step}: one unvisited candidate left", meta)]
        if s.ranker == "closest":
            i = self._closest(evaluated, pool)
            return [Proposal(pool[i], "closest", f"step {step}: closest to the best so far", meta)]
        if s.ranker == "random":
            i = int(self.ctx.rng.integers(len(pool)))
            return [Proposal(pool[i], "random-pick", f"step {step}: random pick from the pool", meta)]
        if s.ranker == "additive":
            hist = [space.to_indices(t.arch) for t in evaluated]
            i = additive(hist, [float(t.score) for t in evaluated], [space.to_indices(a) for a in pool])  # type: ignore[arg-type]
            return [Proposal(pool[i], "additive", f"step {step}: best under the additive per-decision model", meta)]
        if s.ranker == "oracle":
            peek = self.ctx.peek_signal
            assert peek is not None
            i = oracle([peek(a) for a in pool])
            return [Proposal(pool[i], "oracle", f"step {step}: the best table signal of {len(codes)} (a ceiling)", meta)]
        if s.ranker == "ncode":
            assert self.ncode is not None
            history = [(space.to_ncode(t.arch), float(t.score)) for t in evaluated]  # type: ignore[arg-type]
            i = self.ncode.choose(history, codes, s.ncode_head)
            return [Proposal(pool[i], "ncode", f"step {step}: the NCode ranker chose {codes[i]} of {len(codes)}", meta)]
        return [self._llm_step(step, evaluated, pool, codes, meta)]

    def tell(self, trials: list[Trial]) -> None:
        pass  # everything the next step needs is in the run's history

    # ----- one LLM ranking step ----------------------------------------------------------------
    def _llm_step(self, step: int, evaluated: list[Trial], pool: list[Arch], codes: list[str],
                  meta: dict[str, Any]) -> Proposal:
        s, space = self.settings, self.ctx.space
        # in evaluation order: the prompt builder sorts it for best-first, keeps it for chronological
        history = [(space.to_ncode(t.arch), float(t.score)) for t in sorted(evaluated, key=lambda t: t.seq)]  # type: ignore[arg-type]
        form = self.form = self.prompt_form()
        messages = lp.build_messages(history, codes, form["max_history"], s.history_order, form["scores"],
                                     form["listed"])
        constrained = self._constrained()
        listed = form["listed"]
        # unlisted: the grammar admits each code's unique prefix, so the reply ends at the choice
        answers = codes if listed else lp.unique_prefixes(codes)
        schema = lp.answer_schema(answers) if constrained else None
        max_tokens = s.max_tokens or space.ncode_length() + 16
        parse = lp.parse_choice if listed else lp.parse_prefix

        def validate(value: Any) -> str | None:
            choice, reason = parse(value, codes)
            return None if choice is not None else reason

        self.counts["llm_steps"] += 1
        self.counts["constrained_steps"] += int(constrained)
        meta.update(constrained=constrained, listed=listed)
        try:
            reply = self.ctx.llm.chat(messages, schema=schema, validate=validate, purpose="ranker",
                                      temperature=s.temperature, max_tokens=max_tokens, seed=self._seed())
        except LLMReplyError as exc:
            last = getattr(exc, "reply", None)
            meta.update(asks=last.asks if last else 0, reply=(last.text if last else "")[:200],
                        reason=last.parse_reason if last else str(exc))
            return self._fallback(step, evaluated, pool, meta)
        value = reply.parsed if isinstance(reply.parsed, str) else reply.text
        choice, how = parse(value, codes)
        if choice is None:  # cannot happen: validate accepted it; treat it as unusable anyway
            meta.update(asks=reply.asks, reply=reply.text[:200], reason=how)
            return self._fallback(step, evaluated, pool, meta)
        first = reply.asks == 1
        self.counts["listed_first" if first else "listed_reask"] += 1
        meta.update(asks=reply.asks, parse=how, choice=choice, cached=reply.cached)
        source = "ranker" if first else "ranker-reask"
        note = f"step {step}: the model chose {choice} of {len(codes)} candidates"
        if not listed:
            note += " (pool given by the grammar)"
        return Proposal(pool[codes.index(choice)], source, note + ("" if first else f" after {reply.asks} asks"), meta)

    def _fallback(self, step: int, evaluated: list[Trial], pool: list[Arch], meta: dict[str, Any]) -> Proposal:
        s = self.settings
        self.counts["fallback"] += 1
        if s.fallback == "closest":
            i = self._closest(evaluated, pool)
        else:
            i = int(self.ctx.rng.integers(len(pool)))
        meta["fallback"] = s.fallback
        why = f"step {step}: no listed candidate in {meta.get('asks', 0)} asks; {s.fallback} candidate taken"
        return Proposal(pool[i], f"fallback-{s.fallback}", why, meta)

    # ----- helpers ---------------------------------------------------------------------------
    def _ranked(self) -> list[Trial]:
        """Evaluated, eligible trials with a score, best first (stable on ties)."""
        ok = [t for t in self.ctx.history.evaluated() if t.feasible and t.score is not None]
        return sorted(ok, key=rank, reverse=True)

    def _pool(self, size: int) -> list[Arch]:
        """Up to ``size`` distinct unvisited architectures, uniform at random."""
        out: list[Arch] = []
        keys: set[str] = set()
        for _ in range(size):
            arch = self.random_unvisited(exclude=keys)
            if arch is None:
                break
            keys.add(self.key(arch))
            out.append(arch)
        return out

    def _closest(self, evaluated: list[Trial], pool: list[Arch]) -> int:
        space = self.ctx.space
        return closest_to_best([space.to_indices(t.arch) for t in evaluated], [space.to_indices(a) for a in pool])

    def _constrained(self) -> bool:
        mode = self.settings.constrained
        if mode != "auto":
            return bool(mode)
        return getattr(getattr(self.ctx.llm, "settings", None), "backend", None) == "embedded"

    def _history_fit(self) -> int:
        """Entries the cached form shows by default: the paper's 200, or fewer when long codes
        would take more than about 4,096 prompt tokens (a digit a token, plus ~8 for the score)."""
        per_entry = self.ctx.space.ncode_length() + 8
        return max(lp.DEFAULT_MAX_HISTORY, min(200, HISTORY_TOKENS // per_entry))

    def _seed(self) -> int:
        return int(self.ctx.rng.integers(2**31 - 1))

    # ----- state -----------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"ranker_counts": dict(self.counts), "stopped": self.stopped, "prompt_form": self.form}

    def _load(self, state: dict[str, Any]) -> None:
        self.counts = {k: int(state["ranker_counts"].get(k, 0)) for k in COUNTERS}
        self.stopped = state.get("stopped", "")
        if "prompt_form" in state:
            self.form = state["prompt_form"]
        elif self.counts["llm_steps"]:  # a run begun before the cached form: it always listed the pool
            self.form = {"listed": True, "scores": "normalised",
                         "max_history": self.settings.max_history or lp.DEFAULT_MAX_HISTORY}

    @classmethod
    def report(cls, state: dict[str, Any]) -> StrategyReport:
        counts = {k: int(v) for k, v in (state.get("ranker_counts") or {}).items()}
        return StrategyReport(choices=ranker_line(counts) if counts else "",
                              listed_share=listed_share(counts),
                              stopped=str(state.get("stopped") or ""))


def listed_share(counts: dict[str, int]) -> float | None:
    """Share of LLM ranking steps whose answer named a listed candidate (first try or re-ask)."""
    steps = counts.get("llm_steps", 0)
    if not steps:
        return None
    return (counts.get("listed_first", 0) + counts.get("listed_reask", 0)) / steps


def ranker_line(counts: dict[str, int]) -> str:
    """One line for ``llmnas show``: ranking steps and how each got its architecture."""
    share = listed_share(counts)
    line = (f"lmsearcher: {counts.get('warmup', 0)} warm-up, {counts.get('steps', 0)} ranking steps")
    if counts.get("llm_steps"):
        line += (f"; LLM steps {counts['llm_steps']}: listed candidate {counts.get('listed_first', 0)} at the first "
                 f"ask + {counts.get('listed_reask', 0)} after a re-ask ({share:.0%}), fallback "
                 f"{counts.get('fallback', 0)}, constrained {counts.get('constrained_steps', 0)}")
    if counts.get("single_candidate"):
        line += f"; {counts['single_candidate']} steps had one candidate left"
    return line


class LMSearcherClosestSettings(LMSearcherSettings):
    ranker: Ranker = Field("closest", description="the non-LLM baseline ranker")


@STRATEGIES.register("lmsearcher-closest")
class LMSearcherClosest(LMSearcher):
    """The same loop with the "closest to the best so far" ranker: the baseline for the LLM."""

    name = "lmsearcher-closest"
    Settings = LMSearcherClosestSettings
    settings: LMSearcherClosestSettings
    uses_llm = False


class LMSearcherAdditiveSettings(LMSearcherSettings):
    ranker: Ranker = Field("additive", description="the in-context additive per-decision ranker")


@STRATEGIES.register("lmsearcher-additive")
class LMSearcherAdditive(LMSearcher):
    """The same loop; each candidate scored by the mean normalised score of the history entries
    sharing each of its options (averaged over decisions)."""

    name = "lmsearcher-additive"
    Settings = LMSearcherAdditiveSettings
    settings: LMSearcherAdditiveSettings
    uses_llm = False


#: lmsearcher-ncode's pool: 50 searched better than 10 on both held-out tables over 50 seeds, and no ranker
#: can lift pool 10 much above REA there (lmsearcher-oracle; docs/lmsearcher.md §5.4)
NCODE_POOL_SIZE = 50


class LMSearcherNCodeSettings(LMSearcherSettings):
    ranker: Ranker = Field("ncode", description="the NCode ranker model (packaged, or ncode_model=DIR)")
    pool_size: int = Field(NCODE_POOL_SIZE, ge=1, le=100, description="candidates per step (50: measured better "
                           "than the paper's 10 for this model, docs/lmsearcher.md §5.4; the paper: 10)")


@STRATEGIES.register("lmsearcher-ncode")
class LMSearcherNCode(LMSearcher):
    """The same loop with the NCode ranker model (trained from scratch, shipped in the package), over
    pools of 50 unvisited candidates by default (the paper's LLM loop: 10)."""

    name = "lmsearcher-ncode"
    Settings = LMSearcherNCodeSettings
    settings: LMSearcherNCodeSettings
    uses_llm = False


class LMSearcherOracleSettings(LMSearcherSettings):
    ranker: Ranker = Field("oracle", description="the candidate with the best table signal (reads the table)")


@STRATEGIES.register("lmsearcher-oracle")
class LMSearcherOracle(LMSearcher):
    """The same loop with a perfect ranker: each step takes the pool's candidate with the best table
    signal, read before it is evaluated. A ceiling for every ranker on this loop (what picking the
    best of a pool of random unvisited candidates can reach), not a search method: it runs only on
    tabular spaces, and bench rows name it."""

    name = "lmsearcher-oracle"
    Settings = LMSearcherOracleSettings
    settings: LMSearcherOracleSettings
    uses_llm = False
    peeks_at_table = True
