"""Call records without repeated conversations.

A re-ask sends the whole conversation again: the request, the unusable reply and the reason.
Storing each record's ``messages`` in full writes every earlier turn once more per ask (a
long reply asked about three times was stored four times). So a record whose conversation
starts with an earlier stored call's conversation is stored as

    {"messages_base": <row id of that call>, "messages": [<only the turns after it>], ...}

and a new turn that repeats the base call's reply is stored as
``{"role": "assistant", "content_from": "text"}``. :func:`expand_calls` rebuilds the full
records when reading; a record without ``messages_base`` (every record of a store written
before this format, and the first ask of each conversation) is read as it is.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable

from ..errors import StoreError

REMEMBERED = 256  # recent conversations per store a new record may continue


def _hash(messages: list[Any]) -> str:
    blob = json.dumps(messages, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8", "surrogatepass")).hexdigest()


class Conversations:
    """The writer's memory of recent stored conversations (hash -> row id and reply text)."""

    def __init__(self) -> None:
        self._seen: OrderedDict[tuple[int, str], tuple[int, str]] = OrderedDict()

    def compact(self, study_id: int, record: dict[str, Any]) -> tuple[dict[str, Any], list[Any] | None]:
        """(the record as stored, its full messages or None when it has none)."""
        messages = record.get("messages")
        if not isinstance(messages, list) or not messages:
            return record, None
        for cut in (len(messages), len(messages) - 1, len(messages) - 2):
            if cut < 1:
                break
            base = self._seen.get((study_id, _hash(messages[:cut])))
            if base is None:
                continue
            row_id, text = base
            tail = [dict(m) for m in messages[cut:]]
            for m in tail[:1]:
                if m.get("role") == "assistant" and m.get("content") == text and set(m) == {"role", "content"}:
                    m.pop("content")
                    m["content_from"] = "text"
            return {**record, "messages": tail, "messages_base": row_id}, messages
        return record, messages

    def remember(self, study_id: int, row_id: int | None, messages: list[Any] | None, record: dict[str, Any]) -> None:
        if messages is None or row_id is None:
            return
        key = (study_id, _hash(messages))
        self._seen[key] = (row_id, str(record.get("text") or ""))
        self._seen.move_to_end(key)
        while len(self._seen) > REMEMBERED:
            self._seen.popitem(last=False)


def expand_calls(path: Path, rows: Iterable[tuple[int, Any, str]]) -> list[dict[str, Any]]:
    """Full call records from stored rows (row id, round, record JSON), in order."""
    out: list[dict[str, Any]] = []
    full: dict[int, tuple[list[Any], str]] = {}
    for row_id, round_, blob in rows:
        try:
            rec = json.loads(blob)
        except (ValueError, TypeError, RecursionError):
            raise StoreError(f"{path}: LLM call row {row_id} is not valid JSON; the store was changed outside "
                             "llmnas (restore it from a backup)") from None
        if not isinstance(rec, dict):
            raise StoreError(f"{path}: LLM call row {row_id} is not a call record; the store was changed "
                             "outside llmnas (restore it from a backup)")
        base_id = rec.pop("messages_base", None)
        if base_id is not None:
            base = full.get(base_id) if isinstance(base_id, int) else None
            tail = rec.get("messages")
            if base is None or not isinstance(tail, list):
                raise StoreError(f"{path}: LLM call row {row_id} continues call {base_id!r}, which is not an "
                                 "earlier call of this study; the store was changed outside llmnas")
            turns = []
            for m in tail:
                if isinstance(m, dict) and m.get("content_from") == "text":
                    m = {k: v for k, v in m.items() if k != "content_from"}
                    m["content"] = base[1]
                turns.append(m)
            rec["messages"] = base[0] + turns
        messages = rec.get("messages")
        if isinstance(messages, list):
            full[row_id] = (messages, str(rec.get("text") or ""))
        out.append({**rec, "_round": round_})
    return out
