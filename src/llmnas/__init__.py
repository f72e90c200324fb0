"""llmnas: LLM-guided neural architecture search (CoLLM-NAS, LM-Searcher) with classical
baselines on real search spaces, offline by default."""

from __future__ import annotations

__version__ = "0.1.0"

from .api import Run, reopen, resume, search, start
from .config import RunConfig
from .errors import LlmnasError
from .spaces import SPACES, build_problem
from .strategies import STRATEGIES

__all__ = ["Run", "RunConfig", "LlmnasError", "SPACES", "STRATEGIES", "build_problem", "reopen", "resume", "search", "start", "__version__"]
