"""`llmnas lmsearcher ...`: make-data (this module) and train (llmnas.finetune.cli)."""

from __future__ import annotations

import typer

from ..finetune.cli import train_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False)
app.command("train")(train_cmd)
