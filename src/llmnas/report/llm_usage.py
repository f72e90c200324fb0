"""How a run used its LLM: calls, prompt / cached / generated tokens and seconds, per role.

``llmnas show`` prints :func:`llm_line` in its summary and :func:`llm_table` below it; the
cache-hit share is the part of the prompt tokens the server took from its KV / prompt cache
(reported per call as ``usage.prompt_tokens_details.cached_tokens`` or llama.cpp's
``timings.cache_n``), so a conversation that grows at the end shows a high share.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from ..store import Store


def cache_share(usage: dict[str, Any]) -> float | None:
    """Cached prompt tokens / prompt tokens (None without prompt tokens)."""
    prompt = usage.get("prompt_tokens") or 0
    return (usage.get("cached_tokens") or 0) / prompt if prompt else None


def llm_line(usage: dict[str, Any], price_in: float | None = None, price_out: float | None = None) -> str:
    """One line: calls, tokens (with the cache-hit share), seconds, cut replies, cost."""
    share = cache_share(usage)
    cached = f" ({usage['cached_tokens']:,} cached, {share:.0%})" if share is not None else ""
    line = (f"{usage['calls']} calls, {usage['prompt_tokens']:,} prompt{cached} + "
            f"{usage['completion_tokens']:,} generated tokens, {usage['llm_seconds']:.1f} s")
    if usage.get("cut"):
        line += f"; {usage['cut']} replies cut at max_tokens"
    if price_in is not None or price_out is not None:
        cost = (price_in or 0) * usage["prompt_tokens"] / 1e6 + (price_out or 0) * usage["completion_tokens"] / 1e6
        line += f", cost {cost:.4f}"
    return line


def llm_table(store: Store, study_id: int) -> Table | None:
    """Per role (call purpose): calls, prompt tokens, cache-hit share, generated tokens, seconds,
    replies cut at max_tokens. None when the run made no LLM call."""
    usage = store.llm_usage(study_id)
    if not usage[""]["calls"]:
        return None
    t = Table(title="LLM use by role")
    for c in ("role", "calls", "prompt tokens", "cached", "generated tokens", "seconds", "cut"):
        t.add_column(c, justify="left" if c == "role" else "right")
    for purpose, u in usage.items():
        share = cache_share(u)
        t.add_row(purpose or "all", str(u["calls"]), f"{u['prompt_tokens']:,}",
                  "-" if share is None else f"{share:.0%}", f"{u['completion_tokens']:,}",
                  f"{u['llm_seconds']:.1f}", str(u["cut"]))
    return t
