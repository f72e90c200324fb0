"""Registers the supernet spaces in llmnas.problem.SPACES (no torch import at module level)."""
