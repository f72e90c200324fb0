"""Command-line options that several commands share (one definition, one help text).

Use them as annotations: ``llm: LLMBackend = None``. Typer reads the ``Annotated`` metadata."""

from __future__ import annotations

from typing import Annotated, List, Optional, get_args

import typer

from .config import ExecutorSettings
from .llm.backends import usage as _llm_usage

LLMBackend = Annotated[Optional[str], typer.Option(
    "--llm", help=f"LLM backend: {', '.join(_llm_usage())} (default: embedded).")]
LLMModel = Annotated[Optional[str], typer.Option(
    "--llm-model", help="Model name (embedded: a packaged model, a .gguf, a fine-tuned adapter or lmsearcher-ranker) or id (remote).")]
LLMBaseURL = Annotated[Optional[str], typer.Option(
    "--llm-base-url", help="OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1; several, comma-separated, "
    "form a pool (with --llm-option max_concurrency=N).")]
LLMKeyEnv = Annotated[Optional[str], typer.Option(
    "--llm-api-key-env", help="Name of the env variable holding the API key.")]
LLMOptions = Annotated[List[str], typer.Option(
    "--llm-option", help="LLM setting KEY=VALUE, e.g. temperature=0.5 (repeatable).")]

# ----- where evaluations run: the kinds and settings of ExecutorSettings ------------------------
_KINDS = get_args(ExecutorSettings.model_fields["kind"].annotation)
_EXEC_KEYS = [k for k in ExecutorSettings.model_fields if k not in ("kind", "workers", "ray_address")]
ExecutorKind = Annotated[Optional[str], typer.Option(
    "--executor", help=f"Where evaluations run: {', '.join(_KINDS)} (default: local; resume: as the stored run, "
    "or elsewhere: the trials are the same).")]
Workers = Annotated[Optional[int], typer.Option(
    "--workers", help="Parallel evaluations (process/ray; default: CPU cores).")]
RayAddress = Annotated[Optional[str], typer.Option(
    "--ray-address", help="Ray cluster to join (auto, ray://HOST:10001); default: a local Ray instance.")]
ExecutorOptions = Annotated[List[str], typer.Option(
    "--executor-option", help=f"Executor setting KEY=VALUE: {', '.join(_EXEC_KEYS)} (repeatable).")]
