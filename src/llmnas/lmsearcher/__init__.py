"""LM-Searcher: training data (pruning-based subspace sampling) and its command-line group."""
