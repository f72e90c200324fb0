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
from ..base import STRATEGIES, Strategy, StrategySettings, rank
from . import prompts
from .coordinator import counts_line, extract_candidates, results_block, screen, trial_result
from .memory import Conversation, estimate_tokens

REPLY_MARGIN = 32  # tokens kept free between the prompt window and the reply
PAPER_NAVIGATOR_TOKENS = 512  # the Markdown strategy's budget (cut replies are marked as cut)
#: the brief strategy: a short finding, options to favour / avoid (decision=option, from the
#: space's own options), elites to vary (codes) and how far to explore; every field is bounded,
#: so the reply always fits its token budget and never stops mid-word
BRIEF_FINDINGS_CHARS = 160
BRIEF_MAX_ITEMS = 8
BRIEF_MAX_VARY = 3
EXPLORE = ("little", "some", "much")


class CoLLMSettings(StrategySettings):
    n_min: int = Field(10, ge=1, description="fewest candidates the Generator is asked for")
    n_max: int = Field(20, ge=1, description="most candidates the Generator is asked for (= batch size)")
    sillm: bool = Field(False, description="SiLLM-NAS ablation: one LLM, one conversation, both roles")
    navigator_memory: bool = Field(True, description="Navigator keeps its conversation (paper default)")
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

    @model_validator(mode="after")
    def _check(self) -> "CoLLMSettings":
        if self.n_min > self.n_max:
            raise ValueError(f"n_min ({self.n_min}) must not exceed n_max ({self.n_max})")
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
        if ctx.llm is None:
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
        self.nav_schema = _brief_schema(space, s.encoding) if s.navigator_format == "brief" else None
        self.nav_tokens = s.navigator_max_tokens or (
            _brief_tokens(self.nav_schema) if self.nav_schema else PAPER_NAVIGATOR_TOKENS)
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
            reply = self.ctx.llm.chat(messages, schema=self.nav_schema, purpose="navigator",
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

    def _refine_text(self, fb: dict[str, Any]) -> str:
        s, stats = self.settings, fb["stats"]
        reasons = stats.get("reasons") if s.report_rejections else None
        previous = "" if s.navigator_memory or not self.strategy else \
            "\n" + self._render("navigator_previous", strategy=self.strategy) + "\n"
        return self._render("navigator_refine", iteration=fb["iteration"],
                            counts=counts_line(stats, stats.get("cut", 0), s.report_rejections),
                            results=results_block(fb["results"], self.facts["signal"], reasons, self.arch_text),
                            best=self._best_line(), previous_strategy=previous)

    # ----- Generator -------------------------------------------------------------------------------
    def _generate(self, n: int) -> list[Proposal]:
        """C_t <- Generator(S_{t-1}); keep the new legal candidates (at most n)."""
        s = self.settings
        it = self.iteration + 1
        if s.sillm:
            name = "sillm_generate"
            text = self._render(name, n_min=s.n_min, n_max=s.n_max, candidates_form=self._candidates_form())
        else:
            name = "generator_user"
            self.gen.begin()
            text = self._render(name, strategy=self.strategy, n_min=s.n_min, n_max=s.n_max)
        messages = self.gen.request(text, self._window_budget(self.gen_tokens), s.max_exchanges)
        max_tokens = self._fit(messages, self.gen_tokens)
        try:
            reply = self.ctx.llm.chat(messages, schema=self.schema, purpose="generator",
                                      temperature=s.generator_temperature, max_tokens=max_tokens, seed=self._seed())
            reply_text, parsed, status, asks = reply.text, reply.parsed, reply.parse_status, reply.asks
        except LLMReplyError as exc:  # unusable after the client's re-asks: salvage what we can
            last = getattr(exc, "reply", None)
            reply_text, parsed, status = (last.text if last else ""), None, "failed"
            asks = last.asks if last else 0
        self.iteration = it
        self.gen.exchange(text, reply_text)
        code_length = self.ctx.space.ncode_length() if s.encoding == "code" else None
        items, found_by = extract_candidates(parsed, reply_text, code_length)
        sc = screen(items, self.ctx.space, self.ctx.history.is_visited)
        take = sc.new[:n]
        stats = {**self.current, "iteration": it, **sc.counts, "proposed": len(take), "cut": len(sc.new) - len(take),
                 "reply": status, "asks": asks, "found_by": found_by, "reasons": sc.reasons,
                 "empty_before": self.empty_streak}
        self.current = stats
        self.log.append({k: v for k, v in stats.items() if k != "reasons"})
        if not take:
            self.empty_streak += 1
            self.feedback = {"iteration": it, "stats": stats, "results": []}
            return []
        self.empty_streak = 0
        counts = {k: stats[k] for k in ("attempted", "parsed", "legal", "new", "proposed", "cut")}
        out = []
        for j, (i, arch) in enumerate(take):
            meta: dict[str, Any] = {"iteration": it, "role": "generator", "prompt": name, "candidate": i + 1,
                                    "counts": counts, "reply": status, "empty_before": stats["empty_before"]}
            if j == 0:
                meta["strategy"] = self.strategy  # once per iteration, for `llmnas show`
            note = f"iteration {it}: {counts['new']} new of {counts['attempted']} proposed"
            out.append(Proposal(arch, f"generator#{it}", note, meta))
        return out

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
                values["reply_format"] = self._render(
                    "reply_format_brief", findings_chars=BRIEF_FINDINGS_CHARS,
                    max_items=min(BRIEF_MAX_ITEMS, len(self.ctx.space.decisions)), vary_line=vary)
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

    # ----- state -----------------------------------------------------------------------------------
    def _state(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "strategy": self.strategy, "feedback": self.feedback,
                "current": self.current, "empty_streak": self.empty_streak, "stopped": self.stopped,
                "log": self.log, "navigator": self.nav.to_json(),
                "generator": None if self.settings.sillm else self.gen.to_json()}

    def _load(self, state: dict[str, Any]) -> None:
        self.iteration, self.strategy = int(state["iteration"]), state["strategy"]
        self.feedback, self.current = state["feedback"], dict(state["current"])
        self.empty_streak, self.stopped = int(state["empty_streak"]), state["stopped"]
        self.log = [dict(e) for e in state["log"]]
        self.nav = Conversation.from_json(state["navigator"])
        self.gen = self.nav if state["generator"] is None else Conversation.from_json(state["generator"])


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
def _brief_schema(space: Any, encoding: str) -> dict[str, Any]:
    """JSON schema of the brief strategy (see ``BRIEF_FINDINGS_CHARS``); every field bounded."""
    pairs = [f"{d.name}={o}" for d in space.decisions for o in d.options]
    items = min(BRIEF_MAX_ITEMS, len(space.decisions))
    props: dict[str, Any] = {
        "findings": {"type": "string", "maxLength": BRIEF_FINDINGS_CHARS},
        "favour": {"type": "array", "items": {"enum": pairs}, "maxItems": items},
        "avoid": {"type": "array", "items": {"enum": pairs}, "maxItems": items},
    }
    if encoding == "code":
        props["vary"] = {"type": "array", "items": {"type": "string", "pattern": space.ncode_pattern()},
                         "maxItems": BRIEF_MAX_VARY}
    props["explore"] = {"enum": list(EXPLORE)}
    return {"type": "object", "additionalProperties": False, "required": list(props), "properties": props}


def _brief_tokens(schema: dict[str, Any]) -> int:
    """A budget the brief strategy cannot outgrow: each field's longest form at 2.5 characters a
    token (an option pair or a code plus its quotes and comma), plus the JSON around them."""
    total = 0.0
    for p in schema["properties"].values():
        if "maxLength" in p:
            total += p["maxLength"] / 2.5
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
