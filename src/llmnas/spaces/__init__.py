"""Search spaces and the registry of built-in problems (space + evaluator)."""

from .base import Decision, SearchSpace
from .nb201 import NB201Space

__all__ = ["Decision", "SearchSpace", "NB201Space"]
