"""Help texts built from the registries, so ``--help`` lists what a user can actually type."""

from __future__ import annotations


def space_choices() -> str:
    from .spaces.registry import SPACES

    return ", ".join(SPACES.names())


def strategy_choices() -> str:
    from .strategies import STRATEGIES

    return ", ".join(STRATEGIES.names())


def dataset_choices() -> str:
    """Per built-in benchmark, its datasets (the first is the default)."""
    from .spaces.tables.catalog import table_datasets

    parts = [f"{space}: {', '.join(ds)}" for space, ds in table_datasets().items()]
    return "; ".join(parts) + "; a YAML space: one of its 'datasets' (the first is the default)"


def space_help() -> str:
    return f"Built-in space ({space_choices()}) or a YAML space file. (default: nb201)"


def strategy_help() -> str:
    return f"Search strategy: {strategy_choices()}. (default: collm, on the embedded LLM)"


def dataset_help() -> str:
    return f"Dataset ({dataset_choices()}). (default: the space's first)"


SIGNAL_HELP = ("Search signal: nb201: val_200 (default) or val_12; a YAML table space: one of its "
               "numeric columns (default: its evaluator's 'signal').")
