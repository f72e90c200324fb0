"""Chat-format training data: read and check the JSONL, tokenise with the model's chat template.

Each line is one example, as ``llmnas lmsearcher make-data`` writes it::

    {"messages": [{"role": "system", ...}, {"role": "user", ...},
                  {"role": "assistant", "content": "331123"}], "meta": {...}}

The last message is the answer the model learns; the loss covers only its tokens (and the
end-of-turn token after it), never the prompt, which is tokenised exactly as the serving
runtime formats it (the model's own chat template with the generation prompt).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ....errors import DataError

IGNORE = -100  # label of a token that carries no loss
_ROLES = {"system", "user", "assistant"}


@dataclass(frozen=True)
class Example:
    """One tokenised example: ``labels`` is ``IGNORE`` on every prompt token."""

    input_ids: list[int]
    labels: list[int]
    line: int  # 1-based line number in the JSONL file

    @property
    def answer_tokens(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_conversations(path: Path) -> list[list[dict[str, str]]]:
    """The ``messages`` of every line, checked; one :class:`DataError` names the first bad line."""
    if not path.is_file():
        raise DataError(f"training data {path} does not exist; write it with: llmnas lmsearcher "
                        "make-data --out " + str(path))
    out: list[list[dict[str, str]]] = []
    with open(path, encoding="utf-8") as f:
        for number, raw in enumerate(f, start=1):
            if not raw.strip():
                continue
            where = f"{path}:{number}"
            try:
                record = json.loads(raw)
            except ValueError as exc:
                raise DataError(f"{where} is not JSON ({exc.msg}); each line must be one "
                                "{\"messages\": [...]} object") from None
            messages = record.get("messages") if isinstance(record, dict) else None
            if not isinstance(messages, list) or len(messages) < 2:
                raise DataError(f"{where} needs a \"messages\" list with a prompt and an answer")
            for m in messages:
                if not (isinstance(m, dict) and m.get("role") in _ROLES
                        and isinstance(m.get("content"), str)):
                    raise DataError(f"{where}: every message needs a role (system, user or "
                                    "assistant) and a string content")
            if messages[-1]["role"] != "assistant" or not messages[-1]["content"].strip():
                raise DataError(f"{where}: the last message must be the assistant's answer")
            out.append([{"role": m["role"], "content": m["content"]} for m in messages])
    if not out:
        raise DataError(f"training data {path} holds no examples")
    return out


def tokenise(conversation: list[dict[str, str]], tokenizer: Any, line: int = 0) -> Example:
    """Prompt tokens (labels ignored) followed by the answer tokens and the end-of-turn token."""
    prompt = _ids(tokenizer.apply_chat_template(conversation[:-1], add_generation_prompt=True,
                                                tokenize=True))
    full = _ids(tokenizer.apply_chat_template(conversation, tokenize=True))
    if full[:len(prompt)] != prompt or len(full) <= len(prompt):
        raise DataError(f"line {line}: the chat template does not extend the prompt with the "
                        "answer; this base model's template cannot be used for training")
    answer = full[len(prompt):]
    # keep the answer and its end-of-turn marker; drop whatever the template appends after it
    # (a newline), which the server never generates before stopping
    eos = _end_ids(tokenizer)
    cut = next((i + 1 for i, t in enumerate(answer) if t in eos), len(answer))
    answer = answer[:cut]
    return Example(prompt + answer, [IGNORE] * len(prompt) + answer, line)


_END_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>")


def _end_ids(tokenizer: Any) -> set[int]:
    """Token ids that end an assistant turn (looked up once per tokenizer: ``get_vocab`` is slow)."""
    cached = getattr(tokenizer, "_llmnas_end_ids", None)
    if cached is None:
        vocab = tokenizer.get_vocab()
        cached = {tokenizer.eos_token_id, *(vocab[t] for t in _END_TOKENS if t in vocab)}
        try:
            tokenizer._llmnas_end_ids = cached
        except AttributeError:
            pass
    return cached


def _ids(value: Any) -> list[int]:
    if isinstance(value, dict) or hasattr(value, "keys"):
        value = value["input_ids"]
    return [int(x) for x in value]


def load_examples(path: Path, tokenizer: Any, max_tokens: int,
                  conversations: list[list[dict[str, str]]] | None = None,
                  ) -> tuple[list[Example], int]:
    """Tokenised examples no longer than ``max_tokens``, and how many longer ones were left out.

    ``conversations`` are the file's already-read messages (else they are read from ``path``)."""
    kept: list[Example] = []
    dropped = 0
    if conversations is None:
        conversations = read_conversations(path)
    for line, conversation in enumerate(conversations, start=1):
        example = tokenise(conversation, tokenizer, line)
        if len(example.input_ids) > max_tokens:
            dropped += 1
            continue
        kept.append(example)
    if not kept:
        raise DataError(f"every example in {path} is longer than max_tokens={max_tokens}; raise "
                        "--max-tokens or make shorter prompts (make-data --max-history)")
    return kept, dropped
