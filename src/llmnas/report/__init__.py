"""Views of stored runs: rich tables, exports, plots. All derived from the store."""
