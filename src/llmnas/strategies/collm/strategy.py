"""CoLLM-NAS (Li, Lin & Wang, CVPR 2026 workshop; arXiv 2509.26037), Algorithm 1 as ask/tell.

One ``ask`` is one iteration t: the Navigator turns the results of iteration t-1 into the
strategy S_{t-1} (iteration 1 starts from the exploration strategy S_0), the Generator turns
S_{t-1} into 10-20 candidates, and the new legal ones are returned; the runner evaluates them
(over-constraint ones too, by default) and ``tell`` keeps R_t for the next Navigator turn.
Target and budget stops are the runner's (``--target`` is the paper's P_target, checked after
each whole iteration). Departures from the paper are named in docs/collm.md.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Optional

import numpy as np
from pydantic import Field, model_validator

from ...errors import ConfigError, LLMReplyError
from ...types import Proposal, Trial
from ...wording import plural
from ..base import STRATEGIES, Strategy, StrategyReport, StrategySettings, rank
from . import prompts
from .coordinator import counts_line, extract_candidates, results_block, screen, trial_result
from .local import (EXPLORE_DISTANCE, elites, elites_block, halves, neighbourhood, position_groups,
                    stats_block, stats_preferences, trie_pattern)
from .memory import Conversation, estimate_tokens

REPLY_MARGIN = 32  # tokens kept free between the prompt window and the reply
PAPER_NAVIGATOR_TOKENS = 512  # the Markdown strategy's budget (cut replies are marked as cut)
#: the brief strategy: a short finding, options to favour / avoid (decision=option, from the
#: space's own options), elites to vary (codes) and how far to explore; every field is bounded,
#: so the reply always fits its token budget and never stops mid-word
BRIEF_FINDINGS_CHARS = 160
BRIEF_MAX_ITEMS = 8
#: local proposals: the statistics do the counting, so the strategy is shorter (a third fewer tokens)
LOCAL_FINDINGS_CHARS = 100
LOCAL_MAX_ITEMS = 4
BRIEF_MAX_VARY = 3
EXPLORE = ("little", "some", "much")
STATS_ELITES = 5  # best architectures listed in the Navigator's statistics
BRIEF_VARY_POOL = 10  # in local mode the strategy's "vary" codes are among the best this many
POOL_PER_ITEM = 20  # first iteration of local mode: random unvisited codes per answer slot


#: what each preset sets when the field is not given (``preset`` is applied first)
PRESETS: dict[str, dict[str, Any]] = {
    # not in the paper: NCode answers, the brief strategy, the Coordinator's statistics and
    # elites, and Generator decoding held to unvisited local edits of the named elites; the
    # compact results turn and no free-text findings (a third less LLM time, docs/collm.md §8); no
    # list of the latest results beside the statistics (docs/collm.md §8, "Shorter turns")
    "local": {"encoding": "code", "navigator_format": "brief", "proposals": "local", "statistics": True,
              "generator_reasks": 2, "navigator_memory": False, "feedback": "compact", "findings_chars": 0,
              "results_list": False},
    # stop-20 default: compact forms, free proposals
    "compact": {"encoding": "code", "navigator_format": "brief", "proposals": "free", "statistics": False,
                "generator_reasks": 0},
    # the paper's prompts and forms (for strong endpoints)
    "paper": {"encoding": "json", "navigator_format": "paper", "proposals": "free", "statistics": False,
              "generator_reasks": 0},
}


class CoLLMSettings(StrategySettings):
    preset: Literal["local", "compact", "paper"] = Field(
        "local", description="defaults of encoding, navigator_format, proposals and statistics: 'local' (small "
        "models: computed statistics, local edits of named elites), 'compact' (free proposals in codes) or "
        "'paper' (the paper's JSON and Markdown forms); a field given explicitly wins")
    proposals: Literal["local", "free"] = Field(
        "local", description="'local': the Generator's decoding is held to unvisited codes within the strategy's "
        "edit distance of the named elites (not in the paper); 'free': any architecture")
    statistics: bool = Field(True, description="the Navigator reads per-option mean/best/count and the best "
                             "architectures so far, computed by the Coordinator (not in the paper)")
    feedback: Literal["full", "compact"] = Field(
        "full", description="the Navigator's results turn: 'full' (every result line labelled; mean/best/count "
        "of every option) or 'compact' (the signal named once; per decision only the options used so far, best "
        "mean first, with mean and count; no separate best line when the elites list shows it: a third fewer "
        "tokens a turn; not in the paper); the 'local' preset sets 'compact', docs/collm.md §8")
    findings_chars: Optional[int] = Field(
        None, ge=0, description="length bound of the brief strategy's free-text 'findings' field; 0: no such field "
        "(the 0.5B model's findings echo its prompt; 25-30 generated tokens a turn; the 'local' preset's "
        f"value); None: {BRIEF_FINDINGS_CHARS}, or {LOCAL_FINDINGS_CHARS} with local proposals")
    strategy_items: Optional[int] = Field(
        None, ge=0, le=BRIEF_MAX_ITEMS, description="most options in each of the brief strategy's 'favour' and "
        f"'avoid' lists; None: {LOCAL_MAX_ITEMS} with local proposals, else {BRIEF_MAX_ITEMS} (an option pair "
        "costs the 0.5B model ~15 generated tokens; 2 or 3 searched no better at 5 seeds, docs/collm.md §8)")
    results_list: bool = Field(
        True, description="the Navigator's refine turn lists the latest iteration's results one by one; the "
        "'local' preset turns it off, as its elites and per-option statistics carry them (~180 prompt "
        "tokens a turn on NB201; not in the paper); off needs statistics: true")
    generator: Literal["llm", "random"] = Field(
        "llm", description="'random': the LLM-off control, candidates drawn uniformly from the same allowed set")
    navigator: Literal["llm", "fixed", "stats"] = Field(
        "llm", description="'fixed': the LLM-off control, a fixed strategy (vary the best `anchors`, explore "
        "`fixed_explore`); 'stats': the same plus favour/avoid computed from the statistics (per decision "
        "the option of highest / lowest mean), the non-LLM analyst the Navigator is measured against")
    anchors: int = Field(3, ge=1, le=10, description="elites the Generator varies (the strategy's 'vary' codes "
                         "first, then the best so far)")
    fixed_explore: Literal["little", "some", "much"] = Field(
        "little", description="the fixed strategy's distance, and the distance when a strategy names none")
    allowed_cap: int = Field(1000, ge=10, description="most codes in one iteration's allowed set (a seeded "
                             "uniform draw beyond it)")
    elite_anchor: bool = Field(False, description="the best architecture so far is always the first anchor, "
                               "before the strategy's 'vary' codes")
    slot_groups: Literal["random", "position"] = Field(
        "random", description="how the allowed set is dealt into answer slots: 'random', or 'position' (each slot "
        "holds the edits of one anchor at one set of decisions, the slots spread over anchors and decisions)")
    generator_reasks: int = Field(2, ge=0, description="re-asks of the Generator when its reply holds fewer "
                                  "than n_min new candidates, told which it repeated (not in the paper)")
    n_min: int = Field(10, ge=1, description="fewest candidates the Generator is asked for")
    n_max: int = Field(20, ge=1, description="most candidates the Generator is asked for (= batch size)")
    sillm: bool = Field(False, description="SiLLM-NAS ablation: one LLM, one conversation, both roles")
    navigator_memory: bool = Field(True, description="Navigator keeps its conversation (paper default; the "
                                   "'local' preset turns it off: its statistics carry the history)")
    generator_memory: bool = Field(False, description="Generator keeps its conversation (ablation; hurts)")
    max_iterations: Optional[int] = Field(None, ge=1, description="T of Algorithm 1; None: until the budget")
    max_empty_iterations: int = Field(3, ge=1, description="stop after this many empty iterations in a row")
    fallback: Literal["none", "mutation", "top-up"] = Field(
        "none", description="not in the paper: 'mutation' fills empty iterations, 'top-up' fills every iteration "
        "to n_min new candidates, with single-decision mutations of the best so far")
    navigator_temperature: Optional[float] = Field(0.6, ge=0.0, description="paper: 0.6; None: the llm setting")
    generator_temperature: Optional[float] = Field(0.6, ge=0.0, description="paper: 0.6; None: the llm setting")
    encoding: Literal["code", "json"] = Field(
        "code", description="how architectures are written in prompts and Generator replies: 'code' (the "
        "NCode digit string, grammar-enforced; not in the paper, ~10x fewer tokens) or 'json' (the paper's objects)")
    navigator_format: Literal["brief", "paper"] = Field(
        "brief", description="the strategy's form: 'brief' (a JSON object of four length-limited fields, "
        "so it always fits its budget; not in the paper) or 'paper' (free Markdown sections)")
    navigator_max_tokens: Optional[int] = Field(
        None, ge=16, description="reply budget of one strategy; None: the brief format's bound, or 512 for 'paper'")
    generator_max_tokens: Optional[int] = Field(None, ge=16, description="None: estimated from n_max")
    context_tokens: Optional[int] = Field(None, ge=256, description="context window to fit; None: llm n_ctx")
    max_exchanges: Optional[int] = Field(None, ge=0, description="recent exchanges kept; None: all that fit")
    report_rejections: bool = Field(True, description="report rejected candidates to the Navigator")
    result_metrics: list[str] = Field(default_factory=list, description="metrics shown besides the constrained ones")
    prompt_dir: Optional[str] = Field(None, description="folder of <template>.md overrides")
    hide_space_name: bool = Field(True, description="keep the space name out of prompts (paper §5)")

    @model_validator(mode="before")
    @classmethod
    def _preset(cls, data: Any) -> Any:
        if isinstance(data, dict):
            preset = data.get("preset", "local")
            if preset in PRESETS:
                given = dict(data)
                data = {**PRESETS[preset], **data}
                if given.get("encoding") == "json" and "proposals" not in given:
                    data["proposals"] = "free"  # local proposals are sets of codes
                    if "generator_reasks" not in given:
                        data["generator_reasks"] = 0
                if given.get("sillm", cls.model_fields["sillm"].default) and "results_list" not in given:
                    data["results_list"] = True  # SiLLM keeps the list: measured with it (docs/collm.md §9)
        return data

    @model_validator(mode="after")
    def _check(self) -> "CoLLMSettings":
        if self.n_min > self.n_max:
            raise ValueError(f"n_min ({self.n_min}) must not exceed n_max ({self.n_max})")
        if self.proposals == "local" and self.encoding != "code":
            raise ValueError("proposals 'local' needs encoding 'code' (its grammar is a set of codes); "
                             "set encoding: code or proposals: free")
        if (self.generator == "random" or self.navigator != "llm") and self.proposals != "local":
            raise ValueError("the LLM-off controls (generator: random, navigator: fixed) draw from the local "
                             "allowed set; set proposals: local")
        if not self.results_list and not self.statistics:
            raise ValueError("results_list: false leaves the Navigator no results to read without the "
                             "Coordinator's statistics; set statistics: true or results_list: true")
        if self.sillm and (self.generator != "llm" or self.navigator != "llm"):
            raise ValueError("sillm has one LLM for both roles; the LLM-off controls belong to collm")
        if self.sillm and self.generator_memory:
            raise ValueError("generator_memory has no meaning with sillm (one shared conversation); "
                             "use navigator_memory")
        return self


@STRATEGIES.register("collm")
class CoLLM(Strategy):
    """Navigator (stateful) + Generator (stateless) + the Coordinator's algorithm logic."""

    name = "collm"
    requires = frozenset({"describe"})
    Settings = CoLLMSettings
    settings: CoLLMSettings
    uses_llm = True

    def __init__(self, ctx, settings=None) -> None:  # type: ignore[no-untyped-def]
        super().__init__(ctx, settings)
        s = self.settings
        if ctx.llm is None and (s.generator == "llm" or s.navigator == "llm"):
            raise ConfigError(f"strategy {self.name!r} needs an LLM; run it with --llm (e.g. --llm embedded) "
                              "or pass llm= to llmnas.api.Run")
        if s.fallback != "none" and "mutate" not in ctx.space.capabilities:
            raise ConfigError(f"{self.name}: fallback {s.fallback!r} needs a space that can mutate; set fallback: none")
        self.batch_size = s.n_max
        self.facts = _facts(ctx, s)
        example = self.facts["encoding_example"]
        self.metrics = _constraint_metrics(ctx.run_info) + [m for m in s.result_metrics]
        space = ctx.space
        if s.encoding == "code":
            item: dict[str, Any] = {"type": "string", "pattern": space.ncode_pattern()}
            per_arch = space.ncode_length() + 4  # a digit a token, plus quotes and separator
        else:
            item = space.arch_json_schema()
            # JSON of short names and numbers: small models' tokenizers often split every digit,
            # so count 2 characters a token (3 cut SPOS-sized candidate lists off with SmolLM2)
            per_arch = len(example) / 2 + 2
        self.schema = {"type": "object", "additionalProperties": False, "required": ["candidates"],
                       "properties": {"candidates": {"type": "array", "items": item,
                                                     "minItems": s.n_min, "maxItems": s.n_max}}}
        self.gen_tokens = s.generator_max_tokens or int(s.n_max * per_arch * 1.25) + 32
        bounds = (LOCAL_FINDINGS_CHARS, LOCAL_MAX_ITEMS) if s.proposals == "local" else \
            (BRIEF_FINDINGS_CHARS, BRIEF_MAX_ITEMS)
        self._set_brief_bounds((bounds[0] if s.findings_chars is None else s.findings_chars,
                                bounds[1] if s.strategy_items is None else s.strategy_items))
        self.hib = bool((ctx.run_info or {}).get("higher_is_better", True))
        self.anchor_codes: list[str] = []  # the elites this iteration's Generator varies
        self.distance = EXPLORE_DISTANCE[s.fixed_explore]
        self.avoid: list[tuple[int, int]] = []  # (decision, option) indices the strategy avoids
        self.favour: list[tuple[int, int]] = []  # ... and favours
        #: the feedback form this run began with (pinned in the state, so a resume keeps it)
        self.feedback_form: str = s.feedback
        self.results_list: bool = s.results_list  # pinned like the feedback form
        self.iteration = 0  # Generator rounds done (t of Algorithm 1)
        self.strategy = ""  # the Navigator's latest strategy S_t
        self.feedback: dict[str, Any] | None = None  # R_t waiting for the Navigator
        self.current: dict[str, Any] = {}  # counts of the latest Generator reply
        self.empty_streak = 0
        self.stopped = ""
        self.log: list[dict[str, Any]] = []  # one entry per iteration
        if s.sillm:
            system = self._render("sillm_system", **self._system_values(target=True))
            self.nav = Conversation(system, s.navigator_memory)
            self.gen = self.nav
        else:
            self.nav = Conversation(self._render("navigator_system", **self._system_values(target=True)),
                                    s.navigator_memory)
            self.gen = Conversation(self._render("generator_system", **self._system_values(target=False)),
                                    s.generator_memory)

    # ----- Algorithm 1 ---------------------------------------------------------------------------
    def ask(self, n: int) -> list[Proposal]:
        s = self.settings
        for _ in range(s.max_empty_iterations):  # bounded: each pass is one iteration
            if self.stopped:
                return []
            if s.max_iterations is not None and self.iteration >= s.max_iterations:
                self.stopped = f"max_iterations ({s.max_iterations}) reached"
                return []
            self._navigate()
            proposals = self._generate(n)
            if (s.fallback == "mutation" and not proposals) or (s.fallback == "top-up" and len(proposals) < min(n, s.n_min)):
                proposals = proposals + self._fallback(min(n, s.n_min) - len(proposals),
                                                       {self.ctx.space.canonical_key(p.arch) for p in proposals},
                                                       [p.arch for p in proposals])
            if proposals:
                return proposals
            if self.empty_streak >= s.max_empty_iterations:
                self.stopped = f"{self.empty_streak} iterations in a row without a new legal candidate"
        return []

    def tell(self, trials: list[Trial]) -> None:
        self.feedback = {"iteration": self.current.get("iteration", self.iteration), "stats": self.current,
                         "results": [trial_result(t, self.metrics) for t in trials]}

    # ----- Navigator -------------------------------------------------------------------------------
    def _navigate(self) -> None:
        """S_t <- Navigator(H): the initial strategy, or a refinement from the pending results."""
        s, conv = self.settings, self.nav
        if self.strategy and self.feedback is None:
            return  # nothing new to report (cannot happen in the runner's ask/tell order)
        if s.navigator != "llm":
            self._fixed_strategy()
            return
        conv.begin()
        if self.feedback is None:
            name = "navigator_init"
            text = self._render(name, decision_names=", ".join(self.ctx.space.names))
        else:
            name = "navigator_refine"
            text = self._refine_text(self.feedback)
        max_tokens = self.nav_tokens
        messages = conv.request(text, self._window_budget(max_tokens), s.max_exchanges)
        try:
            reply = self.ctx.llm.chat(messages, schema=self._nav_schema_now(), purpose="navigator",
                                      temperature=s.navigator_temperature, max_tokens=max_tokens,
                                      seed=self._seed())
            raw, parsed, finish = reply.text, reply.parsed, reply.finish_reason
        except LLMReplyError as exc:  # unusable after the client's re-asks: keep the old strategy
            last = getattr(exc, "reply", None)
            raw, parsed, finish = (last.text if last else ""), None, "failed"
        conv.exchange(text, raw)
        strategy, cut = _strategy_text(raw, parsed, finish, max_tokens)
        self.strategy = strategy or self.strategy  # an empty or unusable reply keeps the old strategy
        self.feedback = None
        self.current = {"navigator_prompt": name, "strategy_chars": len(strategy),
                        "navigator_cut": cut, "navigator_reply": "ok" if strategy else finish or "empty"}
        if s.proposals == "local":
            self._set_anchors(parsed if isinstance(parsed, dict) else None)

    def _fixed_strategy(self) -> None:
        """The LLM-off Navigator: vary the best ``anchors`` so far, at the fixed distance."""
        s = self.settings
        brief: dict[str, Any] = {"favour": [], "avoid": []}
        if s.navigator == "stats":
            brief = stats_preferences(self.ctx.history.evaluated(), self.ctx.space, self.hib)
        self._set_anchors(brief)
        lines = []
        if brief["favour"]:
            lines.append("Favour: " + ", ".join(brief["favour"]))
        if brief["avoid"]:
            lines.append("Avoid: " + ", ".join(brief["avoid"]))
        if self.anchor_codes:
            lines.append("Vary these architectures: " + ", ".join(self.anchor_codes))
        lines.append(f"How far to move from them: {s.fixed_explore}")
        self.strategy = "\n".join(lines)
        self.feedback = None
        self.current = {"navigator_prompt": s.navigator, "strategy_chars": len(self.strategy),
                        "navigator_cut": False, "navigator_reply": s.navigator}

    def _nav_schema_now(self) -> dict[str, Any] | None:
        """The brief schema; in local mode its "vary" items are held to evaluated codes (the best
        ``BRIEF_VARY_POOL``), so the Navigator names real elites rather than invented codes."""
        schema = self.nav_schema
        if schema is None or self.settings.proposals != "local" or "vary" not in schema["properties"]:
            return schema
        done = self.ctx.history.evaluated()
        top = elites(done, BRIEF_VARY_POOL, rank)
        if not top:
            return schema
        props = dict(schema["properties"])
        props["vary"] = {**props["vary"], "items": {"type": "string", "pattern": trie_pattern(
            [self.ctx.space.to_ncode(t.arch) for t in top])}}
        better, worse = halves(done, self.ctx.space, self.hib)
        for name, pairs in (("favour", better), ("avoid", worse)):
            if pairs:
                props[name] = {**props[name], "items": {"enum": pairs}}
            else:
                props[name] = {**props[name], "maxItems": 0}
        return {**schema, "properties": props}

    def _set_anchors(self, parsed: dict[str, Any] | None) -> None:
        """Anchors: the strategy's legal 'vary' codes first, then the best so far, ``anchors`` in
        all; the distance from its 'explore' word (the fixed one when it gives none)."""
        s, space = self.settings, self.ctx.space
        codes: list[str] = []
        if s.elite_anchor:  # the Coordinator keeps the best so far among the anchors
            codes += [space.to_ncode(t.arch) for t in elites(self.ctx.history.evaluated(), 1, rank)]
        for c in (parsed or {}).get("vary") or []:
            try:
                arch = space.from_ncode(c)
            except Exception:  # noqa: BLE001 - the grammar normally rules this out
                continue
            if space.check(arch) is None and space.to_ncode(arch) not in codes:
                codes.append(space.to_ncode(arch))
        for t in elites(self.ctx.history.evaluated(), s.anchors, rank):
            if len(codes) >= s.anchors:
                break
            c = space.to_ncode(t.arch)
            if c not in codes:
                codes.append(c)
        self.anchor_codes = codes[:s.anchors]
        word = (parsed or {}).get("explore")
        self.distance = EXPLORE_DISTANCE.get(str(word), EXPLORE_DISTANCE[s.fixed_explore])
        self.avoid = _pairs(space, (parsed or {}).get("avoid") or [])
        self.favour = _pairs(space, (parsed or {}).get("favour") or [])

    def _refine_text(self, fb: dict[str, Any]) -> str:
        s, stats = self.settings, fb["stats"]
        reasons = stats.get("reasons") if s.report_rejections else None
        # without memory the previous strategy is shown, unless the Coordinator's statistics carry
        # the history (the 0.5B model copied a strategy it was shown, word for word, every turn)
        previous = "" if s.navigator_memory or s.statistics or not self.strategy else \
            "\n" + self._render("navigator_previous", strategy=self.strategy) + "\n"
        counts = counts_line(stats, stats.get("cut", 0), s.report_rejections)
        if s.statistics and not self.results_list:  # the elites and statistics carry the results
            best = "" if self.feedback_form == "compact" else f"Best so far: {self._best_line()}\n"
            return self._render("navigator_refine_stats", iteration=fb["iteration"], counts=counts,
                                signal=self.facts["signal"], statistics=self._statistics_text(), best=best)
        if self.feedback_form == "compact":
            best = "" if s.statistics else f"Best so far: {self._best_line()}\n"
            return self._render("navigator_refine_compact", iteration=fb["iteration"], counts=counts,
                                signal=self.facts["signal"], statistics=self._statistics_text(),
                                results=results_block(fb["results"], self.facts["signal"], reasons,
                                                      self.arch_text, compact=True),
                                best=best + previous)
        return self._render("navigator_refine", iteration=fb["iteration"], counts=counts,
                            results=results_block(fb["results"], self.facts["signal"], reasons, self.arch_text),
                            statistics=self._statistics_text(), best=self._best_line(),
                            previous_strategy=previous)

    def _statistics_text(self) -> str:
        """The Coordinator's computed context (``statistics``): the best architectures so far and
        per-option mean / best / count over every evaluated architecture (mean and count in the
        compact feedback); empty when off."""
        if not self.settings.statistics:
            return ""
        done = self.ctx.history.evaluated()
        top = elites(done, STATS_ELITES, rank)
        compact = self.feedback_form == "compact"
        return ("\n" + elites_block(top, self.arch_text, self.facts["signal"]) + "\n"
                + stats_block(done, self.ctx.space, self.hib, compact=compact, signal=self.facts["signal"])
                + "\n")

    # ----- Generator -------------------------------------------------------------------------------
    def _generate(self, n: int) -> list[Proposal]:
        """C_t <- Generator(S_{t-1}); keep the new legal candidates (at most n)."""
        s = self.settings
        it = self.iteration + 1
        allowed = self._allowed() if s.proposals == "local" else None
        if s.generator == "random":
            return self._random_candidates(n, it, allowed or [])
        want = min(n, s.n_min)
        if s.sillm:
            name = "sillm_generate_local" if allowed is not None else "sillm_generate"
            values: dict[str, Any] = dict(n_min=s.n_min, n_max=s.n_max, candidates_form=self._candidates_form())
        else:
            name = "generator_local" if allowed is not None else "generator_user"
            self.gen.begin()
            values = dict(strategy=self.strategy, n_min=s.n_min, n_max=s.n_max)
        if allowed is not None:  # one answer slot per group of the allowed set (``_gen_schema``)
            values.pop("n_max")
            values.update(anchors=self._anchors_text(), distance=plural(self.distance, "decision"),
                          n_min=max(1, min(s.n_min, len(allowed))))
        text = self._render(name, **values)
        taken: list[tuple[int, Any]] = []
        taken_keys: set[str] = set()
        totals: dict[str, int] = {}
        reasons: list[str] = []
        extra: list[dict[str, str]] = []  # re-ask turns, sent after the first exchange
        status, asks, found_by, reply_text, reasks = "ok", 0, "schema", "", 0
        offset = 0
        while True:
            schema = self._gen_schema(allowed, taken_keys)
            messages = self.gen.request(text, self._window_budget(self.gen_tokens), s.max_exchanges) + extra
            max_tokens = self._fit(messages, self.gen_tokens)
            try:
                reply = self.ctx.llm.chat(messages, schema=schema, purpose="generator",
                                          temperature=s.generator_temperature, max_tokens=max_tokens,
                                          seed=self._seed())
                reply_text, parsed, status, a = reply.text, reply.parsed, reply.parse_status, reply.asks
            except LLMReplyError as exc:  # unusable after the client's re-asks: salvage what we can
                last = getattr(exc, "reply", None)
                reply_text, parsed, status = (last.text if last else ""), None, "failed"
                a = last.asks if last else 0
            asks += a
            code_length = self.ctx.space.ncode_length() if s.encoding == "code" else None
            items, found_by = extract_candidates(parsed, reply_text, code_length)
            sc = screen(items, self.ctx.space, self.ctx.history.is_visited, taken_keys)
            for k, v in sc.counts.items():
                totals[k] = totals.get(k, 0) + v
            reasons += sc.reasons[:max(0, 5 - len(reasons))]
            for i, arch in sc.new:
                taken.append((offset + i, arch))
                taken_keys.add(self.ctx.space.canonical_key(arch))
            offset += len(items)
            short = want - len(taken)
            if short <= 0 or reasks >= s.generator_reasks or not items \
                    or (allowed is not None and len(allowed) <= len(taken_keys)):
                break
            reasks += 1
            repeated = [self.arch_text(a) for a in sc.repeats]
            again = self._render("generator_again", got=plural(len(taken), "new architecture"),
                                 repeated=", ".join(repeated[:10]) or "none", short=short,
                                 taken=", ".join(self.arch_text(a) for _, a in taken) or "none")
            extra = extra + [{"role": "assistant", "content": reply_text}, {"role": "user", "content": again}]
        self.iteration = it
        self.gen.exchange(text, reply_text if not extra else extra[0]["content"])
        take = taken[:n]
        stats = {**self.current, "iteration": it, **totals, "proposed": len(take), "cut": len(taken) - len(take),
                 "reply": status, "asks": asks, "reasks": reasks, "found_by": found_by, "reasons": reasons,
                 "empty_before": self.empty_streak}
        if allowed is not None:
            stats.update(allowed=len(allowed), distance=self.distance, anchors=list(self.anchor_codes))
        return self._proposals(take, it, name, stats, "generator")

    def _proposals(self, take: list[tuple[int, Any]], it: int, name: str | None, stats: dict[str, Any],
                   role: str) -> list[Proposal]:
        self.current = stats
        self.log.append({k: v for k, v in stats.items() if k != "reasons"})
        if not take:
            self.empty_streak += 1
            self.feedback = {"iteration": it, "stats": stats, "results": []}
            return []
        self.empty_streak = 0
        counts = {k: stats.get(k, 0) for k in ("attempted", "parsed", "legal", "new", "proposed", "cut")}
        out = []
        for j, (i, arch) in enumerate(take):
            meta: dict[str, Any] = {"iteration": it, "role": role, "prompt": name, "candidate": i + 1,
                                    "counts": counts, "reply": stats.get("reply"), "empty_before": stats["empty_before"]}
            if j == 0:
                meta["strategy"] = self.strategy  # once per iteration, for `llmnas show`
            note = f"iteration {it}: {counts['new']} new of {counts['attempted']} proposed"
            out.append(Proposal(arch, f"{role}#{it}", note, meta))
        return out

    def _random_candidates(self, n: int, it: int, allowed: list[str]) -> list[Proposal]:
        """The LLM-off Generator: ``n_min`` codes drawn uniformly from the allowed set (before any
        anchor, the random pool of ``_allowed``). No LLM call."""
        s, space = self.settings, self.ctx.space
        want = min(n, s.n_min)
        # an empty allowed set means the random pool of ``_allowed`` found no unvisited architecture
        pick = self.ctx.rng.choice(len(allowed), size=min(want, len(allowed)), replace=False) if allowed else []
        archs = [space.from_ncode(allowed[int(i)]) for i in pick]
        self.iteration = it
        take = [(i, space.encode(a)) for i, a in enumerate(archs)]
        stats = {**self.current, "iteration": it, "attempted": len(take), "parsed": len(take), "legal": len(take),
                 "new": len(take), "proposed": len(take), "cut": 0, "reply": "random", "asks": 0, "reasks": 0,
                 "found_by": "random", "reasons": [], "empty_before": self.empty_streak,
                 "allowed": len(allowed), "distance": self.distance, "anchors": list(self.anchor_codes)}
        return self._proposals(take, it, None, stats, "random")

    def _allowed(self) -> list[str] | None:
        """This iteration's allowed codes (``proposals: local``): the unvisited codes within the
        strategy's distance of the anchors, without changes to avoided options, and, when at least
        ``n_min`` of them change a decision to a favoured option, only those. Before any anchor
        exists (the first iteration) a uniform random sample of unvisited architectures. An empty
        neighbourhood widens the distance one step at a time, then falls back to the sample."""
        s, space, hist = self.settings, self.ctx.space, self.ctx.history
        if self.anchor_codes:
            anchors = [space.from_ncode(c) for c in self.anchor_codes]
            for dist in range(self.distance, max(self.distance, 3) + 1):
                codes = neighbourhood(space, anchors, dist, hist.is_visited, self.ctx.rng, s.allowed_cap,
                                      avoid=self.avoid)
                if codes:
                    self.distance = dist
                    return self._favoured(codes, anchors)
        keys: set[str] = set()
        codes = []
        for _ in range(min(s.allowed_cap, POOL_PER_ITEM * s.n_min)):
            arch = self.random_unvisited(keys)
            if arch is None:
                break
            keys.add(space.canonical_key(arch))
            codes.append(space.to_ncode(arch))
        return codes or None

    def _favoured(self, codes: list[str], anchors: list[Any]) -> list[str]:
        if not self.favour:
            return codes
        fav = set(self.favour)
        layout = self.ctx.space.ncode_layout()
        base = [self.ctx.space.to_ncode(a) for a in anchors]
        keep = []
        for c in codes:
            for b in base:
                moved = [(i, int(c[p:p + w])) for i, (_, p, w) in enumerate(layout) if c[p:p + w] != b[p:p + w]]
                if moved and len(moved) <= self.distance and any(m in fav for m in moved):
                    keep.append(c)
                    break
        return keep if len(keep) >= self.settings.n_min else codes

    def _gen_schema(self, allowed: list[str] | None, taken: set[str]) -> dict[str, Any]:
        """The Generator's schema. In local mode the allowed codes not yet taken are dealt at random
        into one disjoint group per answer slot (``prefixItems``): each slot's grammar is its group,
        so a reply can neither leave the allowed set nor repeat itself, and the model's choice is
        which code of each group to write."""
        if allowed is None:
            return self.schema
        space, s = self.ctx.space, self.settings
        left = [c for c in allowed if space.canonical_key(space.from_ncode(c)) not in taken] or allowed
        k = max(1, min(s.n_min, len(left)))
        if s.slot_groups == "position" and self.anchor_codes:
            groups = position_groups(space, left, self.anchor_codes, k, self.ctx.rng)
        else:
            order = self.ctx.rng.permutation(len(left))
            groups = [sorted(left[int(i)] for i in order[j::k]) for j in range(k)]
        k = len(groups)
        arr = {"type": "array", "prefixItems": [{"type": "string", "pattern": trie_pattern(g)} for g in groups],
               "items": False, "minItems": k, "maxItems": k}
        return {**self.schema, "properties": {"candidates": arr}}

    def _anchors_text(self) -> str:
        if not self.anchor_codes:
            return "- none yet: nothing has been evaluated, so write any architectures the strategy suggests"
        done = {self.ctx.space.to_ncode(t.arch): t for t in self.ctx.history.evaluated()}
        lines = []
        for c in self.anchor_codes:
            t = done.get(c)
            lines.append(f"- {c}" + (f" ({self.facts['signal']} {t.signal:.4g})" if t is not None and t.signal is not None
                                      else " (not evaluated yet)"))
        return "\n".join(lines)

    def _fallback(self, want: int, taken: set[str], fresh: list[Any] | None = None) -> list[Proposal]:
        """Not in the paper (``fallback: mutation | top-up``): unvisited single-decision mutations
        of the best evaluated architecture, then of the next best (up to 10) once a
        neighbourhood is used up. Before anything is evaluated (iteration 1) there is no best:
        the parents are then this iteration's own Generator candidates (``fresh``, in reply
        order), and only when there are none a random architecture."""
        space, rng, hist = self.ctx.space, self.ctx.rng, self.ctx.history
        ranked = sorted(hist.evaluated(), key=rank, reverse=True)[:10]
        best = ranked[0] if ranked else None
        if ranked:
            parents, parent_kind = [t.arch for t in ranked], "best so far"
        elif fresh:
            parents, parent_kind = list(fresh), "this iteration's Generator candidates (nothing evaluated yet)"
        else:
            parents, parent_kind = [space.sample(rng)], "a random architecture (nothing evaluated yet)"
        out, seen = [], set(taken)
        for parent in parents:  # the best first; the next when its neighbourhood is used up
            for _ in range(20 * max(want, 1)):  # bounded
                if len(out) >= want:
                    break
                child = space.mutate(parent, rng)
                k = space.canonical_key(child)
                if not hist.is_visited(k) and k not in seen:
                    seen.add(k)
                    out.append(child)
        it = self.iteration
        self.current["fallback"] = len(out)
        self.log[-1]["fallback"] = len(out)
        why = "Generator gave no new legal candidate" if not taken else f"Generator gave {plural(len(taken), 'new candidate')}"
        meta = {"iteration": it, "role": "fallback", "prompt": None, "parent": best.key if best else None,
                "parents": parent_kind, "fallback": self.settings.fallback}
        return [Proposal(a, "fallback-mutation", f"iteration {it}: {why}", dict(meta)) for a in out]

    # ----- helpers -------------------------------------------------------------------------------
    def _render(self, name: str, **values: Any) -> str:
        return prompts.render(name, self.settings.prompt_dir, **values)

    def _system_values(self, target: bool) -> dict[str, Any]:
        f, s = self.facts, self.settings
        keys = ["objective", "constraint", "space_description"]
        values: dict[str, Any] = {k: f[k] for k in keys}
        if s.encoding == "code":
            values["arch_format"] = self._render("arch_format_code", **{k: f[k] for k in (
                "code_length", "field_widths", "first_decision", "last_decision")})
        else:
            values["arch_format"] = self._render("arch_format_json", encoding_example=f["encoding_example"])
        if target:
            values["target"] = f["target"]
            if s.navigator_format == "brief":
                vary = (f'- "vary": up to {BRIEF_MAX_VARY} of the best architectures so far (their codes) for the '
                        "Generator to vary;\n") if s.encoding == "code" else ""
                chars = self.brief_bounds[0]
                findings = ('- "findings": one short sentence on what separates strong from weak designs so far '
                            f"(in iteration 0: the design principle you rely on), at most {chars} characters;\n"
                            ) if chars else ""
                values["reply_format"] = self._render(
                    "reply_format_brief", findings_line=findings,
                    max_items=min(self.brief_bounds[1], len(self.ctx.space.decisions)), vary_line=vary)
            else:
                values["reply_format"] = self._render("reply_format_paper", dimension_headings=f["dimension_headings"])
        else:
            values["candidates_form"] = self._candidates_form()
        return {**values, "n_min": s.n_min, "n_max": s.n_max}

    def _candidates_form(self) -> str:
        if self.settings.encoding == "code":
            return '{"candidates": ["<code>", ...]}'
        return '{"candidates": [...]}'

    def arch_text(self, arch: dict[str, Any]) -> str:
        """An architecture as the prompts write it (its code, or its JSON object)."""
        if self.settings.encoding == "code":
            return self.ctx.space.to_ncode(arch)
        return json.dumps(arch, separators=(", ", ": "))

    def _llm_setting(self, name: str, default: Any) -> Any:
        return getattr(getattr(self.ctx.llm, "settings", None), name, default)

    def _window_budget(self, reply_tokens: int) -> int:
        ctx_tokens = self.settings.context_tokens or self._llm_setting("n_ctx", 4096)
        return max(256, ctx_tokens - reply_tokens - REPLY_MARGIN)

    def _fit(self, messages: list[dict[str, str]], want: int) -> int:
        """Reply tokens that still fit the context after the prompt (at least 64)."""
        ctx_tokens = self.settings.context_tokens or self._llm_setting("n_ctx", 4096)
        return max(64, min(want, ctx_tokens - estimate_tokens(messages) - REPLY_MARGIN))

    def _seed(self) -> int:
        return int(self.ctx.rng.integers(2**31 - 1))

    def _best_line(self) -> str:
        best = self.ctx.history.best()
        if best is None or best.signal is None:
            return "none yet (no evaluated architecture meets the constraints)"
        return f"{self.facts['signal']} {best.signal:.4g} for {self.arch_text(best.arch)}"

    def _set_brief_bounds(self, bounds: tuple[int, int]) -> None:
        """The brief strategy's (findings length, items per list), its schema and token budget."""
        s = self.settings
        self.brief_bounds = bounds
        self.nav_schema = _brief_schema(self.ctx.space, s.encoding, *bounds) if s.navigator_format == "brief" \
            else None
        self.nav_tokens = s.navigator_max_tokens or (
            _brief_tokens(self.nav_schema) if self.nav_schema else PAPER_NAVIGATOR_TOKENS)

    # ----- state -----------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "strategy": self.strategy, "feedback": self.feedback,
                "current": self.current, "empty_streak": self.empty_streak, "stopped": self.stopped,
                "log": self.log, "navigator": self.nav.to_json(), "anchors": list(self.anchor_codes),
                "distance": self.distance, "avoid": [list(p) for p in self.avoid],
                "favour": [list(p) for p in self.favour],
                "generator": None if self.settings.sillm else self.gen.to_json(),
                "feedback_form": self.feedback_form, "findings_chars": self.brief_bounds[0],
                "strategy_items": self.brief_bounds[1], "results_list": self.results_list}

    def _load(self, state: dict[str, Any]) -> None:
        self.iteration, self.strategy = int(state["iteration"]), state["strategy"]
        self.feedback, self.current = state["feedback"], dict(state["current"])
        self.empty_streak, self.stopped = int(state["empty_streak"]), state["stopped"]
        self.log = [dict(e) for e in state["log"]]
        self.anchor_codes = list(state.get("anchors", []))
        self.distance = int(state.get("distance", EXPLORE_DISTANCE[self.settings.fixed_explore]))
        self.avoid = [(int(a), int(b)) for a, b in state.get("avoid", [])]
        self.favour = [(int(a), int(b)) for a, b in state.get("favour", [])]
        self.nav = Conversation.from_json(state["navigator"])
        self.gen = self.nav if state["generator"] is None else Conversation.from_json(state["generator"])
        # a state from before the compact feedback resumes with the form it began with
        self.feedback_form = str(state.get("feedback_form", "full" if self.iteration else self.settings.feedback))
        # ... and with the findings bound it began with (the 'local' preset's bound changed with the
        # compact turn: a state without it, past its first turn, had the bound of its proposals)
        s = self.settings
        given = s.findings_chars is not None and (s.findings_chars > 0 or self.feedback_form == "compact")
        old_bound = s.findings_chars if given else (LOCAL_FINDINGS_CHARS if s.proposals == "local" else
                                                    BRIEF_FINDINGS_CHARS)
        bound = int(state.get("findings_chars", old_bound if self.iteration else self.brief_bounds[0]))
        # ... and with its items per list and results list (states from before these settings had
        # the items of their proposals and the list)
        old_items = LOCAL_MAX_ITEMS if s.proposals == "local" else BRIEF_MAX_ITEMS
        items = int(state.get("strategy_items", old_items if self.iteration else self.brief_bounds[1]))
        self.results_list = bool(state.get("results_list", True if self.iteration else s.results_list))
        if (bound, items) != self.brief_bounds:
            self._set_brief_bounds((bound, items))

    @classmethod
    def report(cls, state: dict[str, Any]) -> StrategyReport:
        """The per-iteration log: the Generator's raw candidates (attempted / legal / new,
        counted before the runner saw them) and one row per iteration."""
        log = [dict(e) for e in state.get("log") or []]
        attempted = sum(int(e.get("attempted", 0)) for e in log)
        rows = []
        for e in log:
            note = "; ".join(x for x in (f"fallback {e['fallback']}" if e.get("fallback") else "",
                                         "strategy cut at its budget" if e.get("navigator_cut") else "") if x)
            rows.append({**{k: e.get(k, "") for k in ITERATION_COLUMNS}, "note": note})
        return StrategyReport(
            candidates=(attempted, sum(int(e.get("legal", 0)) for e in log),
                        sum(int(e.get("new", 0)) for e in log)) if attempted else None,
            iterations=tuple(rows),
            iterations_title="iterations (Generator candidates: attempted / parsed / legal / new / proposed)",
            stopped=str(state.get("stopped") or ""))


#: the columns of a CoLLM run's iterations table (``llmnas show``), then "note"
ITERATION_COLUMNS = ("iteration", "attempted", "parsed", "legal", "new", "proposed", "reply")


class CoLLMOffSettings(CoLLMSettings):
    generator: Literal["llm", "random"] = Field("random", description="the LLM-off control's Generator")
    navigator: Literal["llm", "fixed", "stats"] = Field("fixed", description="the LLM-off control's Navigator")

    @model_validator(mode="after")
    def _no_llm(self) -> "CoLLMOffSettings":
        if self.generator == "llm" or self.navigator == "llm":
            raise ValueError("collm-off loads no model, so generator and navigator cannot be 'llm'; for one LLM "
                             "role use --strategy collm with --option generator=random or --option navigator=stats")
        return self


@STRATEGIES.register("collm-off")
class CoLLMOff(CoLLM):
    """The LLM-off control of ``collm`` (not in the paper): the same loop, allowed sets and
    Coordinator, with the Navigator's strategy fixed (vary the best so far) and the Generator's
    answer drawn uniformly from the allowed set. It makes no LLM call; the gap to ``collm`` is
    what the two models add."""

    name = "collm-off"
    Settings = CoLLMOffSettings
    settings: CoLLMOffSettings
    uses_llm = False


class SiLLMSettings(CoLLMSettings):
    sillm: bool = Field(True, description="SiLLM-NAS ablation: one LLM, one conversation, both roles")


@STRATEGIES.register("sillm")
class SiLLM(CoLLM):
    """SiLLM-NAS (paper §4.4 ablation): one LLM reflects and then proposes in one conversation."""

    name = "sillm"
    Settings = SiLLMSettings
    settings: SiLLMSettings


# ----- facts for the prompts ---------------------------------------------------------------------
def _constraint_metrics(run_info: dict[str, Any] | None) -> list[str]:
    from ...constraints import Constraint

    return [Constraint.parse(c).metric for c in (run_info or {}).get("constraints", [])]


def _facts(ctx: Any, s: CoLLMSettings) -> dict[str, Any]:
    """Values shared by the system prompts, built from the space and the run facts."""
    info, space = ctx.run_info or {}, ctx.space
    signal = str(info.get("signal") or "score")
    hib = bool(info.get("higher_is_better", True))
    dataset, budget, target = info.get("dataset"), info.get("budget"), info.get("target")
    objective = f"Find the architecture with the {'highest' if hib else 'lowest'} {signal}"
    objective += f" on {dataset}" if dataset else ""
    objective += f", evaluating at most {budget} architectures." if budget else "."
    if target is not None:
        target_text = f"Aim for a {signal} of {'at least' if hib else 'at most'} {target}."
    else:
        target_text = "There is no fixed target value: keep improving until the evaluation budget is spent."
    cons = list(info.get("constraints") or [])
    if cons:
        skip = info.get("over_budget") in ("skip", "penalize")
        constraint = (f"Resource constraint: {'; '.join(cons)}. Candidates that break it "
                      + ("are not evaluated." if skip
                         else "are still evaluated and reported, but cannot be the final answer.")
                      + " Designs far inside the limit usually under-perform, so use the allowance.")
    else:
        constraint = "There is no resource constraint."
    description = space.describe()
    if s.hide_space_name:
        description = description.replace(f"Search space {space.name!r}", "Search space")
    sample = space.sample(np.random.default_rng(0))
    facts = {"signal": signal, "objective": objective, "target": target_text, "constraint": constraint,
             "space_description": description, "dimension_headings": _headings(space.names)}
    if s.encoding == "code":
        widths = {d.width for d in space.decisions}
        # no example code: the small models copied it into every candidate (and the grammar
        # already keeps each field within its decision's options)
        facts.update(encoding_example=space.to_ncode(sample), code_length=space.ncode_length(),
                     field_widths="one digit each" if widths == {1} else
                     ", ".join(f"{d.name} {d.width} digit{'s' if d.width > 1 else ''}" for d in space.decisions),
                     first_decision=space.names[0], last_decision=space.names[-1])
    else:
        facts["encoding_example"] = json.dumps(space.encode(sample), separators=(", ", ": "))
    return facts


def _headings(names: tuple[str, ...], limit: int = 16) -> str:
    if len(names) <= limit:
        return "\n".join(f"## {n}\nWhich options to favour or avoid for {n}, and why." for n in names)
    shown = ", ".join(names[:limit])
    return (f"One ## subsection per group of related decisions (the decisions are {shown}, ...), "
            "saying which options to favour or avoid and why.")


# ----- the brief strategy ------------------------------------------------------------------------
def _brief_schema(space: Any, encoding: str, findings: int = BRIEF_FINDINGS_CHARS,
                  max_items: int = BRIEF_MAX_ITEMS) -> dict[str, Any]:
    """JSON schema of the brief strategy (see ``BRIEF_FINDINGS_CHARS``); every field bounded."""
    pairs = [f"{d.name}={o}" for d in space.decisions for o in d.options]
    items = min(max_items, len(space.decisions))
    props: dict[str, Any] = {"findings": {"type": "string", "maxLength": findings}} if findings else {}
    props.update({
        "favour": {"type": "array", "items": {"enum": pairs}, "maxItems": items},
        "avoid": {"type": "array", "items": {"enum": pairs}, "maxItems": items},
    })
    if encoding == "code":
        props["vary"] = {"type": "array", "items": {"type": "string", "pattern": space.ncode_pattern()},
                         "maxItems": BRIEF_MAX_VARY}
    props["explore"] = {"enum": list(EXPLORE)}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def _brief_tokens(schema: dict[str, Any]) -> int:
    """A budget the brief strategy cannot outgrow: free text at a token a character (a finding
    full of scores and codes costs about that: digits are single tokens), an option pair or a
    code at 2.5 characters a token plus its quotes and comma, plus the JSON around them."""
    total = 0.0
    for p in schema["properties"].values():
        if "maxLength" in p:
            total += p["maxLength"]
        elif p.get("type") == "array":
            item = p["items"]
            longest = max(map(len, item["enum"])) if "enum" in item else len(item["pattern"]) / 2
            total += p["maxItems"] * (longest / 2.5 + 3)
        else:
            total += max(map(len, p["enum"])) / 2.5 + 3
    return int(total) + 48


def _strategy_text(raw: str, parsed: Any, finish: str, max_tokens: int) -> tuple[str, bool]:
    """The strategy handed to the Generator, and whether the reply was cut at its budget.

    A brief strategy (a parsed object) becomes labelled lines. A free-form reply cut at
    ``max_tokens`` keeps its complete lines only and says that it was cut, so the Generator is
    never handed a strategy that stops mid-word as if it were whole."""
    if isinstance(parsed, dict):
        lines = [("Findings", " ".join(str(parsed.get("findings", "")).split())),
                 ("Favour", ", ".join(parsed.get("favour") or [])),
                 ("Avoid", ", ".join(parsed.get("avoid") or [])),
                 ("Vary these architectures", ", ".join(parsed.get("vary") or [])),
                 ("How far to move from them", str(parsed.get("explore") or ""))]
        return "\n".join(f"{k}: {v}" for k, v in lines if v), finish == "length"
    text = (raw or "").strip()
    if finish != "length" or not text:
        return text, False
    kept = text.rsplit("\n", 1)[0].rstrip() if "\n" in text else ""
    note = f"(The strategy was cut at its {max_tokens}-token budget; this is its complete part.)"
    return (kept + "\n" + note).strip() if kept else "", True


def _pairs(space: Any, items: list[Any]) -> list[tuple[int, int]]:
    """``decision=option`` strings as (decision index, option index); unknown ones are dropped."""
    pos = {d.name: i for i, d in enumerate(space.decisions)}
    out = []
    for item in items:
        name, _, option = str(item).partition("=")
        i = pos.get(name)
        if i is None:
            continue
        for j, o in enumerate(space.decisions[i].options):
            if str(o) == option:
                out.append((i, j))
    return out

