"""LM-Searcher search-as-ranking strategy (being written)."""
