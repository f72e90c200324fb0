"""Evaluators: tabular benchmarks, user tables and user functions."""

from .base import Evaluator, Result

__all__ = ["Evaluator", "Result"]
