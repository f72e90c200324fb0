"""Packaged tabular benchmarks besides NAS-Bench-201: NAS-Bench-Macro, TransNAS-Bench-101 (micro
and macro subsets) and NAS-Bench-301 (subset). ``llmnas.spaces.tables.register`` registers them as
``--space`` names; :mod:`llmnas.strategies.lmsearcher.sources` reads them for LM-Searcher training data."""
