"""Run stores (SQLite)."""

from .sqlite import SCHEMA_VERSION, Store, StudyInfo, iter_store_files

__all__ = ["SCHEMA_VERSION", "Store", "StudyInfo", "iter_store_files"]
