"""`llmnas lmsearcher train` (torch/transformers/peft are imported inside the command)."""

from __future__ import annotations

import typer


def train_cmd() -> None:
    """LoRA fine-tuning of the LM-Searcher ranker."""
    raise typer.Exit(2)
