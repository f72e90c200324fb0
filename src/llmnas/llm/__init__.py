"""The LLM layer: one client interface over an embedded model, any OpenAI-compatible endpoint,
replay and scripted replies. See ``base.py`` for the contract and ``docs/llm.md`` for usage."""

from llmnas.llm.base import (
    CallRecord, CallSink, LLMClient, LLMSettings, Reply, Usage, messages_hash,
)
from llmnas.llm.backends import BACKENDS, Backend, register_backend
from llmnas.llm.client import ChatClient
from llmnas.llm.factory import make_client, parse_llm_spec
from llmnas.llm.models import LLM_MODELS, ModelSpec
from llmnas.llm.replay import ReplayExhaustedError, ReplayMismatchError
from llmnas.llm.scripted import ScriptedClient

__all__ = [
    "LLMSettings", "LLMClient", "Reply", "Usage", "CallRecord", "CallSink", "make_client",
    "parse_llm_spec", "LLM_MODELS", "BACKENDS", "Backend", "register_backend", "ModelSpec", "ChatClient", "ScriptedClient",
    "ReplayMismatchError", "ReplayExhaustedError", "messages_hash",
]
