"""The ATen -> attn translation table.

One small function per ATen op, registered by the op's name (the overload
packet: ``add`` covers ``add.Tensor`` and ``add.Scalar``). A function takes
the translation context and the op's arguments by their schema names, with
defaults filled in, already translated (``Tensor``/``View``/``Const``/
``Prepared`` values, Python scalars and lists), and returns the result value
(a tuple for multi-result ops)::

    @aten("softmax", "_softmax", "_safe_softmax")
    def softmax(tx, self, dim, **_):
        return tx.e.softmax(self, dim)
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional

import torch

Translation = Callable[..., Any]
_TABLE: Dict[str, Translation] = {}

# Constructors that use their tensor argument only for its shape, dtype and
# device: their value never depends on the data.
_METADATA_ONLY = {"new_zeros", "new_ones", "new_empty", "new_full", "zeros_like", "ones_like", "empty_like",
                  "full_like", "scalar_tensor", "rand_like", "sym_size", "sym_numel", "sym_stride"}


def aten(*names: str) -> Callable[[Translation], Translation]:
    """Registers a translation for the ATen ops ``names``."""
    def register(fn: Translation) -> Translation:
        for name in names:
            if name in _TABLE:
                raise ValueError(f"two translations for aten.{name}")
            _TABLE[name] = fn
        return fn
    return register


def packet_name(target: Any) -> Optional[str]:
    schema = getattr(target, "_schema", None)
    if schema is None:
        return None
    name = schema.name
    return name.split("::", 1)[1] if name.startswith("aten::") else None


def lookup(target: Any) -> Optional[Translation]:
    name = packet_name(target)
    return _TABLE.get(name) if name else None


def supported(target: Any) -> bool:
    """Whether ``target`` has a translation (the torch.compile backend
    partitions graphs by this)."""
    return lookup(target) is not None


def reads_only_metadata(target: Any) -> bool:
    return packet_name(target) in _METADATA_ONLY


def bind(target: Any, args: tuple, kwargs: dict) -> Dict[str, Any]:
    """The op's arguments by schema name, defaults filled in."""
    bound: Dict[str, Any] = {}
    for i, a in enumerate(target._schema.arguments):
        if not a.kwarg_only and i < len(args):
            bound[a.name] = args[i]
        elif a.name in kwargs:
            bound[a.name] = kwargs[a.name]
        elif a.has_default_value():
            bound[a.name] = a.default_value
        else:
            bound[a.name] = None
    return bound


def registered() -> Dict[str, Translation]:
    return dict(_TABLE)


from .common import getitem  # noqa: E402,F401
from . import shape, elementwise, reduction, linalg, nn, attention, indexing  # noqa: E402,F401
