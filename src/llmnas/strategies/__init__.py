"""Search strategies; importing this package registers the built-ins."""

from . import collm, evolution, local_search, random_search, reinforce  # noqa: F401
from .base import STRATEGIES, Strategy, StrategyContext, StrategySettings

__all__ = ["STRATEGIES", "Strategy", "StrategyContext", "StrategySettings"]
