"""The model zoo: published attention models compiled, checked against eager
PyTorch, with a row per model (see ``python -m attn_opt.zoo --help``)."""

from .corpus import FAMILIES, Entry, entries
from .runner import Row, run_entry

__all__ = ["Entry", "FAMILIES", "Row", "entries", "run_entry"]
