"""Chat memory of the Navigator (and of the Generator or SiLLM when their memory is on).

Context policy (collm-nas.md §12 #7): the full conversation is kept in the strategy state, and
each request sends a *window* of it that fits the model's context. Tokens are estimated as
characters / 4 plus 4 per message. The window always holds the system prompt and the new user
message; then, while they fit, the first exchange (iteration 0: the initial request and the
initial strategy, which carries the space analysis) and the most recent exchanges, newest first,
at most ``max_exchanges`` of them besides the first. Older middle exchanges are dropped first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Message = dict[str, str]


def estimate_tokens(messages: list[Message]) -> int:
    """Conservative token count: a token per digit, other characters / 2.5, plus 4 per message
    for the chat template.

    Measured on NB201 prompts: about 3.3 characters a token (Qwen2.5), fewer with SmolLM2's
    tokenizer and with JSON-heavy turns; both tokenizers split numbers into single digits, so a
    turn of scores and codes (the statistics block) has about a token per digit (counted at
    chars / 2.5, one such conversation overran an 8,192-token context). Over-counting only drops
    old turns sooner."""
    total = 0
    for m in messages:
        text = m.get("content", "") or ""
        digits = sum(ch.isdigit() for ch in text)
        total += int((len(text) - digits) / 2.5) + digits + 4
    return total


@dataclass
class Conversation:
    """A system prompt plus alternating user/assistant turns; ``memory=False`` forgets each round."""

    system: str
    memory: bool = True
    turns: list[Message] = field(default_factory=list)

    def begin(self) -> None:
        """Start a round: a memoryless conversation drops the previous rounds."""
        if not self.memory:
            self.turns = []

    def add(self, role: str, content: str) -> None:
        self.turns.append({"role": role, "content": content})

    def request(self, user: str, budget_tokens: int, max_exchanges: int | None = None) -> list[Message]:
        """The window of messages to send for a new ``user`` turn (see the module docstring).

        Nothing is stored: after a successful call the caller adds the user turn and the reply
        (:meth:`exchange`), so a call that raised leaves the memory as it was.
        """
        turns = [*self.turns, {"role": "user", "content": user}]
        return window([{"role": "system", "content": self.system}], turns, budget_tokens, max_exchanges)

    def exchange(self, user: str, reply: str) -> None:
        self.add("user", user)
        self.add("assistant", reply)

    def to_json(self) -> dict[str, Any]:
        return {"system": self.system, "memory": self.memory, "turns": [dict(t) for t in self.turns]}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conversation:
        return cls(data["system"], bool(data["memory"]), [dict(t) for t in data["turns"]])


def window(head: list[Message], turns: list[Message], budget_tokens: int,
           max_exchanges: int | None = None) -> list[Message]:
    """``head`` + the last turn, plus as many earlier exchanges as fit (first, then newest)."""
    last, earlier = turns[-1:], turns[:-1]
    pairs = [earlier[i:i + 2] for i in range(0, len(earlier), 2)]  # (user, assistant) exchanges
    used = estimate_tokens(head + last)
    first: list[list[Message]] = []
    if pairs and used + estimate_tokens(pairs[0]) <= budget_tokens:
        first = [pairs[0]]
        used += estimate_tokens(pairs[0])
    recent: list[list[Message]] = []
    limit = len(pairs) if max_exchanges is None else max_exchanges
    for pair in reversed(pairs[len(first):]):
        if len(recent) >= limit:
            break
        cost = estimate_tokens(pair)
        if used + cost > budget_tokens:
            break
        recent.insert(0, pair)
        used += cost
    kept = [m for pair in first + recent for m in pair]
    return head + kept + last
