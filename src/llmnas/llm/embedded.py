"""The embedded backend: a llama.cpp server (``xllamacpp``) inside this process, on 127.0.0.1.

The server is started lazily on the first request and shared by every client of the same
model in the process (a reference count, not a singleton object: the last client to close
stops it; ``atexit`` stops whatever is left). It listens on a random loopback port and
requires a random per-process bearer token, so other local users cannot borrow it. Requests go
through :class:`~llmnas.llm.openai_compat.OpenAITransport`, the same code path as a remote
server. A schema is enforced by llguidance constrained decoding (one-line JSON when
``compact_json``), falling back to ``response_format`` json_schema.
"""

from __future__ import annotations

import atexit
import dataclasses
import os
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from llmnas import progress_events
from llmnas.errors import ConfigError, EndpointError
from llmnas.executors.base import usable_cores
from llmnas.llm.base import Completion, LLMSettings, Request
from llmnas.llm.models import ResolvedModel, resolve_model
from llmnas.llm.openai_compat import OpenAITransport

XLLAMACPP_PIN = "xllamacpp==2026.10.11549"
_LOCK = threading.Lock()
_RUNNING: dict[tuple, "EmbeddedServer"] = {}  # one per (model file, adapter, scale, n_ctx, slots, speculative, threads)
IDLE_BUSY = 0.5  # cores kept busy by other work below which the machine counts as otherwise idle
BUSY_SAMPLE_S = 0.5  # how long default_threads watches the CPUs


@dataclass
class EmbeddedServer:
    """A running in-process llama.cpp server and the clients using it."""

    model: ResolvedModel
    base_url: str
    token: str = field(repr=False)
    load_s: float = 0.0
    handle: Any = field(default=None, repr=False)
    threads: int = 1
    slots: int = 1
    users: int = 0
    #: which slot serves which purpose (first come, first served; wraps when slots run out)
    purpose_slots: dict[str, int] = field(default_factory=dict)

    def slot_for(self, purpose: str) -> int:
        with _LOCK:
            if purpose not in self.purpose_slots:
                self.purpose_slots[purpose] = len(self.purpose_slots) % self.slots
            return self.purpose_slots[purpose]

    def stop(self) -> None:
        """Stop the server thread and free the model (idempotent)."""
        self.handle = None  # xllamacpp.Server stops its loop and frees the model when dropped


def acquire(settings: LLMSettings) -> EmbeddedServer:
    """Start (or reuse) the server for ``settings.model``; pair each call with :func:`release`."""
    model = resolve_model(settings.model, settings.cache_dir)
    base = (str(model.path), str(model.adapter or ""), model.adapter_scale, settings.n_ctx,
            settings.slots, settings.speculative)
    if not settings.n_threads:
        # a server already running for this model serves every client that leaves the threads to
        # the rule; the rule itself watches the CPUs for BUSY_SAMPLE_S, and while that server is
        # generating it would count the server's own threads as other work
        with _LOCK:
            for running_key, running in _RUNNING.items():
                if running_key[:-1] == base:
                    running.users += 1
                    return running
    threads = settings.n_threads or default_threads()
    key = (*base, threads)
    with _LOCK:
        server = _RUNNING.get(key)
        if server is None:
            server = _start(model, settings.n_ctx, threads, settings.slots, settings.speculative)
            _RUNNING[key] = server
        server.users += 1
        return server


def _affinity() -> set[int] | None:
    try:
        return set(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return None


def cpu_times(stat_text: str | None = None, cpus: set[int] | None = None) -> tuple[float, float] | None:
    """(busy, total) CPU time in clock ticks, summed over the per-CPU lines of ``/proc/stat``
    (or ``stat_text``) for ``cpus`` (every CPU when None); None where there is no such file
    (not Linux) or no matching line."""
    if stat_text is None:
        try:
            with open("/proc/stat", encoding="ascii") as fh:
                stat_text = fh.read()
        except OSError:
            return None
    busy = total = 0.0
    found = False
    for line in stat_text.splitlines():
        fields = line.split()
        if not fields or not fields[0].startswith("cpu") or not fields[0][3:].isdigit():
            continue
        if cpus is not None and int(fields[0][3:]) not in cpus:
            continue
        ticks = [float(x) for x in fields[1:9]]  # user nice system idle iowait irq softirq steal
        total += sum(ticks)
        busy += sum(ticks) - ticks[3] - ticks[4]
        found = True
    return (busy, total) if found else None


def busy_cores(interval_s: float = BUSY_SAMPLE_S) -> float | None:
    """How many of this process's usable cores other work keeps busy *now*: their busy share
    over ``interval_s`` (this process sleeps meanwhile) times their number. None where it
    cannot be read."""
    cpus = _affinity()
    before = cpu_times(cpus=cpus)
    if before is None:
        return None
    time.sleep(interval_s)
    after = cpu_times(cpus=cpus)
    if after is None or after[1] <= before[1]:
        return None
    share = (after[0] - before[0]) / (after[1] - before[1])
    return max(0.0, share) * (len(cpus) if cpus else (os.cpu_count() or 1))


def threads_for(cores: int, busy: float) -> int:
    """Every usable core when other work keeps less than ``IDLE_BUSY`` of a core busy, else
    one fewer; at least 1, at most 8."""
    return max(1, min(8, cores if busy < IDLE_BUSY else cores - 1))


def default_threads(busy: float | None = None) -> int:
    """The embedded model's threads when ``n_threads`` is not set (docs/llm.md, "Threads").

    llama.cpp's threads meet at a barrier after every operation, so when all cores are busy
    with it, any other busy process stalls generation badly (measured on 2 cores: 1.7 s per
    call idle, >120 s with one competing busy process; 1 thread: 3.3 s either way). So all
    cores are taken only when the machine is otherwise idle *now*: ``busy`` cores (sampled
    from ``/proc/stat`` over ``BUSY_SAMPLE_S`` when None) below ``IDLE_BUSY``. The 1-minute
    load average, used where ``/proc/stat`` is missing, lags: it stays above 0.5 for a minute
    or two after a search ends, so a second search started then ran on one of two cores.
    ``llmnas bench`` sets ``n_threads`` itself (cores // parallel runs) and
    ``--llm-option n_threads=N`` overrides both.
    """
    cores = usable_cores()
    if busy is None:
        busy = busy_cores()
    if busy is None:
        try:
            busy = os.getloadavg()[0]
        except (AttributeError, OSError):  # not on Unix
            busy = float(cores)
    return threads_for(cores, busy)


def release(server: EmbeddedServer) -> None:
    """Drop one user; stop the server when none is left."""
    with _LOCK:
        server.users -= 1
        if server.users <= 0:
            for key, running in list(_RUNNING.items()):
                if running is server:
                    del _RUNNING[key]
            server.stop()


def _start(model: ResolvedModel, n_ctx: int, threads: int, slots: int = 1,
           speculative: str = "none") -> EmbeddedServer:
    try:
        import xllamacpp
    except ImportError:
        raise ConfigError(f"the embedded backend needs xllamacpp; install it with: pip install "
                          f"'{XLLAMACPP_PIN}' (or use --llm openai with --llm-base-url)") from None
    params = xllamacpp.CommonParams()
    params.model.path = str(model.path)
    if model.adapter is not None:  # a fine-tuned model: the runtime applies the LoRA at load
        params.lora_adapters = [xllamacpp.CommonAdapterLoraInfo(str(model.adapter),
                                                                model.adapter_scale)]
    params.model_alias = {model.name}
    params.n_ctx = n_ctx * slots  # split evenly: each slot keeps a whole n_ctx window
    params.n_parallel = slots
    params.kv_unified = False
    if speculative == "ngram":
        params.speculative.types = [xllamacpp.common_speculative_type.COMMON_SPECULATIVE_TYPE_NGRAM_SIMPLE]
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.hostnames = ["127.0.0.1"]
    params.port = 0  # a free port
    token = secrets.token_urlsafe(24)
    params.api_keys = [token]
    params.ui = False
    params.verbosity = 0
    params.warmup = True  # one empty decode at load, so the first timed call is representative
    start = time.perf_counter()
    progress_events.phase("loading the model", model.name, blocking=True)  # the load holds the GIL
    try:
        handle = xllamacpp.Server(params)
    except Exception as exc:  # the C++ side raises plain RuntimeError/ValueError
        what = f"{model.path}" + (f" + adapter {model.adapter}" if model.adapter else "")
        raise EndpointError(f"embedded model {model.name} ({what}) failed to load "
                            f"({type(exc).__name__}: {exc}); check the file, or lower "
                            "llm.n_ctx if memory is short") from None
    base_url = handle.listening_address.rstrip("/") + "/v1"
    return EmbeddedServer(model, base_url, token, time.perf_counter() - start, handle,
                          threads=threads, slots=slots)


@atexit.register
def _stop_all() -> None:
    with _LOCK:
        for server in _RUNNING.values():
            server.stop()
        _RUNNING.clear()


def local_timeout(request: Request) -> float:
    """Seconds a request to the CPU model may take before it counts as stuck, not slow.

    A long Generator reply (1,300 tokens at 12 tok/s on one core) outlasts a remote-style 120 s
    timeout, and a retry would only queue the same work again behind it. So allow 2 generated
    and 20 prompt tokens a second (prompt tokens estimated as characters / 2.5), plus a minute."""
    max_tokens = int(request.params.get("max_tokens") or 1024)
    prompt_chars = sum(len(str(m.get("content", ""))) for m in request.messages)
    return 60.0 + max_tokens / 2.0 + prompt_chars / 2.5 / 20.0


class EmbeddedTransport:
    """Transport over the in-process server; starts it on first use, releases it on close."""

    name = "embedded"

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.server: EmbeddedServer | None = None
        self._http: OpenAITransport | None = None

    @property
    def endpoint(self) -> str:
        return self.server.base_url if self.server else "embedded (not started)"

    def __repr__(self) -> str:
        return f"EmbeddedTransport(model={self.settings.model!r}, endpoint={self.endpoint!r})"

    def start(self) -> EmbeddedServer:
        """Load the model now (else the first request does); returns the running server."""
        if self.server is None:
            self.server = acquire(self.settings)
            modes = ("grammar", "json_schema", "prompt") if self.settings.compact_json \
                else ("json_schema", "prompt")
            self._http = OpenAITransport(
                self.settings, base_url=self.server.base_url, model=self.server.model.name,
                api_key=self.server.token, schema_modes=modes, label="embedded model server",
                fix="the embedded server stopped; rerun, and report it if it happens again")
        return self.server

    def complete(self, request: Request) -> Completion:
        server = self.start()
        assert self._http is not None
        budget = max(request.timeout_s, local_timeout(request))
        request = dataclasses.replace(request, timeout_s=budget,
                                      slot=server.slot_for(request.purpose))
        return self._http.complete(request)

    def close(self) -> None:
        """Release the server (stopped when no other client uses it). Idempotent."""
        if self._http is not None:
            self._http.close()
            self._http = None
        if self.server is not None:
            release(self.server)
            self.server = None
