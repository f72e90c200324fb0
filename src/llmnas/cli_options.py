"""Command-line options that several commands share (one definition, one help text).

Use them as annotations: ``llm: LLMBackend = None``. Typer reads the ``Annotated`` metadata."""

from __future__ import annotations

from typing import Annotated, List, Optional

import typer

LLMBackend = Annotated[Optional[str], typer.Option(
    "--llm", help="LLM backend: embedded (default), embedded:<name|path.gguf>, openai, replay:<run.sqlite>.")]
LLMModel = Annotated[Optional[str], typer.Option(
    "--llm-model", help="Model name (embedded: a packaged model, a .gguf, a fine-tuned adapter or lmsearcher-ranker) or id (remote).")]
LLMBaseURL = Annotated[Optional[str], typer.Option(
    "--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1; several, comma-separated, "
    "form a pool (with --llm-option max_concurrency=N).")]
LLMKeyEnv = Annotated[Optional[str], typer.Option(
    "--llm-api-key-env", help="Name of the env variable holding the API key.")]
LLMOptions = Annotated[List[str], typer.Option(
    "--llm-option", help="LLM setting KEY=VALUE, e.g. temperature=0.5 (repeatable).")]
