"""Supernet evolutionary baseline of SPOS/AutoFormer (being written)."""
