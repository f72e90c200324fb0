"""`llmnas supernet ...` and `llmnas retrain RUN` (torch is imported inside the commands)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False)


def retrain_cmd(run: str = typer.Argument(..., help="A finished run (.sqlite)")) -> None:
    """Train the run's best architecture from scratch and report test accuracy."""
    raise typer.Exit(2)
