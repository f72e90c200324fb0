"""``llmnas llm``: the ``check`` command, which loads the configured model and measures it."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.table import Table

from llmnas.cli_options import LLMBackend, LLMBaseURL, LLMKeyEnv, LLMModel
from llmnas.errors import LLMReplyError
from llmnas.llm.base import LLMSettings, Reply
from llmnas.llm.client import ChatClient
from llmnas.llm.embedded import EmbeddedTransport
from llmnas.llm.factory import make_client, parse_llm_spec
from llmnas.llm.models import ResolvedModel

app = typer.Typer(help="Check and measure the LLM used by LLM-guided strategies.",
                  no_args_is_help=True)

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
CHECK_SCHEMA = {
    "type": "object",
    "properties": {"ops": {"type": "array", "items": {"enum": OPS}, "minItems": 6, "maxItems": 6}},
    "required": ["ops"],
    "additionalProperties": False,
}
_WORDS = ("search space cell edge node operation convolution pooling skip connection accuracy "
          "epoch budget network layer channel kernel stride block stage width depth model "
          "training validation result candidate proposal history mutation parent child "
          "population sample score rank better worse small large fast slow").split()


@app.callback()
def _group() -> None:
    """Check and measure the LLM used by LLM-guided strategies."""


@dataclass(frozen=True)
class Speed:
    """Prompt-processing and generation rates (tokens/s) and where they came from."""

    pp: float | None
    tg: float | None
    source: str


def speed_of(reply: Reply) -> Speed:
    """From llama.cpp ``timings`` when present, else from token usage over latency."""
    t = reply.timings or {}
    if t.get("prompt_per_second") or t.get("predicted_per_second"):
        return Speed(t.get("prompt_per_second"), t.get("predicted_per_second"), "timings")
    lat = reply.latency_s or float("nan")
    tg = reply.usage.completion_tokens / lat if reply.usage.completion_tokens else None
    return Speed(None, tg, "usage/latency (prompt time included)")


def synthetic_prompt(n_tokens: int, seed: int = 0) -> str:
    """About ``n_tokens`` tokens of NAS-flavoured filler (1.1-1.25 tokens per word, measured)."""
    rng = random.Random(seed)
    words = [rng.choice(_WORDS) for _ in range(max(1, int(n_tokens / 1.17)))]
    lines = [" ".join(words[i:i + 12]) + "." for i in range(0, len(words), 12)]
    return f"Run {time.time_ns()}. Notes:\n" + "\n".join(lines) + "\nSummarise in one word."


@app.command()
def check(
    llm: LLMBackend = None,
    llm_model: LLMModel = None,
    llm_base_url: LLMBaseURL = None,
    llm_api_key_env: LLMKeyEnv = None,
    prompt_tokens: int = typer.Option(0, "--prompt-tokens", min=0,
                                      help="Also time prompt processing on ~N tokens."),
    timeout_s: float = typer.Option(None, "--timeout", help="Per-request timeout in seconds."),
    threads: int = typer.Option(None, "--threads", min=1,
                                help="Embedded: CPU threads (default: the threads rule of docs/llm.md: every usable core on an idle machine, one fewer on a busy one)."),
) -> None:
    """Load the model, send one chat and one schema-constrained request, print the speeds."""
    settings = parse_llm_spec(llm, model=llm_model, base_url=llm_base_url,
                              api_key_env=llm_api_key_env, timeout_s=timeout_s, n_threads=threads,
                              max_reasks=0, max_retries=1, backoff_base_s=0.5)
    if prompt_tokens and settings.backend == "embedded":
        need = int(prompt_tokens * 1.3) + 512
        settings = settings.model_copy(update={"n_ctx": max(settings.n_ctx, need)})
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    with make_client(settings) as client:
        rows = _run_check(client, settings, prompt_tokens)
    table = Table(title="llmnas llm check", show_header=False)
    from llmnas.report.safe_text import safe

    for key, value in rows:
        table.add_row(key, safe(value))
    console.print(table)


def _run_check(client: ChatClient, settings: LLMSettings, prompt_tokens: int) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("backend", settings.backend)]
    transport = client.transport
    if isinstance(transport, EmbeddedTransport):
        server = transport.start()
        rows += [("model file", str(server.model.path)),
                 ("sha256", server.model.sha256 or "not pinned (user file)"),
                 *_adapter_rows(server.model),
                 ("load time", f"{server.load_s:.2f} s"),
                 ("threads", f"{server.threads}" + ("" if settings.n_threads else " (default rule)")),
                 ("slots", f"{server.slots} (one KV cache of {settings.n_ctx} tokens each)")]
    rows.append(("endpoint", transport.endpoint))
    chat = client.chat([{"role": "user", "content":
                         "In three sentences: what is neural architecture search?"}],
                       purpose="check", temperature=0.0, max_tokens=96)
    sp = speed_of(chat)
    rows += [("model id", chat.model), ("reply", _clip(chat.text)),
             ("generation", _rate(sp.tg, chat.usage.completion_tokens, "generated")),
             ("prompt processing", _rate(sp.pp, chat.usage.prompt_tokens, "prompt")),
             ("speed source", sp.source)]
    rows += _structured(client)
    if prompt_tokens:
        long = client.chat([{"role": "user", "content": synthetic_prompt(prompt_tokens)}],
                           purpose="check-pp", temperature=0.0, max_tokens=1)
        lp = speed_of(long)
        pp = lp.pp if lp.pp else long.usage.prompt_tokens / max(long.latency_s, 1e-9)
        rows.append((f"prompt processing (~{prompt_tokens})",
                     _rate(pp, long.usage.prompt_tokens, "prompt")))
    return rows


def _adapter_rows(model: ResolvedModel) -> list[tuple[str, str]]:
    """A fine-tuned model's LoRA adapter (file, sha256, scale); none for a plain model."""
    if model.adapter is None:
        return []
    return [("base model", str(model.base_name)), ("adapter", str(model.adapter)),
            ("adapter sha256", model.adapter_sha256 or "not pinned (user file)"),
            ("adapter scale", f"{model.adapter_scale:g}")]


def _structured(client: ChatClient) -> list[tuple[str, str]]:
    start = time.perf_counter()
    try:
        reply = client.chat([{"role": "user", "content": "Propose one NAS-Bench-201 cell: six "
                              f"operations, each one of {', '.join(OPS)}. Reply as JSON."}],
                            schema=CHECK_SCHEMA, purpose="check-schema", temperature=0.7,
                            max_tokens=200)
    except LLMReplyError as exc:
        return [("structured output held", f"no ({exc})")]
    held = "yes" if reply.parse_status == "ok" else f"repaired ({reply.parse_reason})"
    return [("structured output held", held), ("structured reply", _clip(reply.text)),
            ("structured call", f"{time.perf_counter() - start:.2f} s")]


def _rate(rate: float | None, tokens: int, what: str) -> str:
    return "n/a" if rate is None else f"{rate:.1f} tok/s ({tokens} {what} tokens)"


def _clip(text: str, n: int = 100) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= n else flat[:n - 1] + "…"
