"""Search strategies; importing this package registers the built-ins."""

from . import collm, evolution, lmsearcher, local_search, optuna_samplers, random_search, reinforce, supernet_ea  # noqa: F401
from .base import STRATEGIES, Strategy, StrategyContext, StrategyReport, StrategySettings, stored_report

__all__ = ["STRATEGIES", "Strategy", "StrategyContext", "StrategyReport", "StrategySettings", "stored_report"]
