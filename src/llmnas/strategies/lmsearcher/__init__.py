"""LM-Searcher (arXiv 2509.05657), its whole slice: the ``lmsearcher`` strategies
(``strategy.py``), the step prompt and reply parser (``prompt.py``), the non-LLM rankers
(``rankers.py``), training data by pruning-based subspace sampling (``sources.py``,
``sampler.py``, ``make_data.py``), the NCode ranker model (``ncode_*``), LoRA fine-tuning of an
LLM ranker (``finetune/``) and the ``llmnas lmsearcher`` command group (``cli.py``).

Importing this package registers the strategies ``lmsearcher``, ``lmsearcher-closest``,
``lmsearcher-additive``, ``lmsearcher-ncode`` and the ceiling ``lmsearcher-oracle`` (reads the
table: an upper bound for every ranker on the loop, not a search method).
"""

from .strategy import LMSearcher, LMSearcherSettings  # noqa: F401  (registers the strategies)

__all__ = ["LMSearcher", "LMSearcherSettings"]
