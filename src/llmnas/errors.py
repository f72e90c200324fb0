"""Errors a user can act on.

Every :class:`LlmnasError` message is one line that says what went wrong and how to fix it.
The CLI prints only that line (exit code 2); ``--debug`` adds the traceback.
"""

from __future__ import annotations


class LlmnasError(Exception):
    """Base class: a problem the user can fix; the message names the fix."""


class ConfigError(LlmnasError):
    """A wrong config value, flag or unknown name."""


class DataError(LlmnasError):
    """A missing or malformed data file (table, YAML space, CSV)."""


class StoreError(LlmnasError):
    """A run store that cannot be opened, is corrupt, or belongs to another version."""


class SpaceError(LlmnasError):
    """An architecture that does not belong to its search space."""


class EvaluationError(LlmnasError):
    """An evaluator that failed on an architecture."""


class EndpointError(LlmnasError):
    """An LLM endpoint that cannot be reached or keeps failing."""


class LLMReplyError(LlmnasError):
    """An LLM reply that stayed unusable after the allowed re-asks."""
