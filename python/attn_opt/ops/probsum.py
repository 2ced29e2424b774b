"""Mixtures of attention probabilities (ConViT's gated positional attention):
``(Σ_t c_t · P_t) / r`` followed by ``@ V``, where the P_t are softmaxes (or
fixed matrices, such as a positional attention computed from parameters
alone) and the c_t and r do not vary along the key axis.

A matrix product is linear, so this is ``Σ_t (c_t / r) · (P_t @ V)``: each
softmax term stays an attention the recogniser fuses, a fixed matrix is a
product of its own, and the per-row factors scale the results. The row sum
``r = Σ_j attn`` that models divide by uses ``Σ_j P = 1`` for softmax terms.
The mixture is a ``Deferred``: emitted as written for any other consumer.
"""

from __future__ import annotations

from typing import Any, List, Optional, Sequence, Tuple

from ..ir import Deferred, TensorLike, shape_of
from .talking_heads import kind_of

Term = Tuple[Any, Any, bool]  # (coefficient or None, tensor, is a softmax)


def _per_row(value: Any, shape: Sequence[int]) -> bool:
    """Whether ``value`` (a number or tensor) does not vary along the last
    (key) axis of ``shape``."""
    if not isinstance(value, TensorLike):
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    s = list(shape_of(value))
    return len(s) <= len(shape) and (not s or s[-1] == 1)


def _make(tx: Any, terms: List[Term], shape: Sequence[int], dtype: str) -> Deferred:
    def build() -> Any:
        e = tx.e
        total = None
        for coef, x, _ in terms:
            t = x if coef is None else e.arith("mul", x, coef, shape, dtype)
            total = t if total is None else e.arith("add", total, t, shape, dtype)
        return total
    return Deferred("probsum", tuple(int(s) for s in shape), dtype, dict(terms=terms), build)


def _is_probs(tx: Any, x: Any) -> bool:
    return kind_of(tx.e, x) == "probs"


def scaled(tx: Any, a: Any, b: Any, shape: Sequence[int], dtype: str) -> Optional[Deferred]:
    """c * P (either order), or c * mixture."""
    for x, c in ((a, b), (b, a)):
        if list(shape_of(x)) != list(shape) or not _per_row(c, shape):
            continue
        if isinstance(x, Deferred) and x.kind == "probsum":
            return _make(tx, [(_times(tx, t[0], c, shape, dtype), t[1], t[2]) for t in x.parts["terms"]],
                         shape, dtype)
        if _is_probs(tx, x):
            return _make(tx, [(c, x, True)], shape, dtype)
    return None


def _times(tx: Any, coef: Any, c: Any, shape: Sequence[int], dtype: str) -> Any:
    if coef is None:
        return c
    if not isinstance(coef, TensorLike) and not isinstance(c, TensorLike):
        return coef * c
    return tx.e.arith("mul", coef, c, _broadcast_shape(coef, c), dtype)


def _broadcast_shape(a: Any, b: Any) -> List[int]:
    import torch
    return list(torch.broadcast_shapes(tuple(shape_of(a)), tuple(shape_of(b))))


def added(tx: Any, a: Any, b: Any, shape: Sequence[int], dtype: str, sign: float = 1.0) -> Optional[Deferred]:
    """mixture + term (a softmax, a scaled softmax or any tensor of the
    full shape)."""
    if not (isinstance(a, Deferred) and a.kind == "probsum"):
        return None
    if not isinstance(b, TensorLike) or list(shape_of(b)) != list(shape):
        return None
    if isinstance(b, Deferred) and b.kind == "probsum":
        extra = [(_times(tx, t[0], sign, shape, dtype) if sign != 1 else t[0], t[1], t[2])
                 for t in b.parts["terms"]]
    else:
        extra = [(None if sign == 1 else sign, b, _is_probs(tx, b))]
    return _make(tx, list(a.parts["terms"]) + extra, shape, dtype)


def divided(tx: Any, a: Any, r: Any, shape: Sequence[int], dtype: str) -> Optional[Deferred]:
    if not (isinstance(a, Deferred) and a.kind == "probsum") or not _per_row(r, shape):
        return None
    inv = 1.0 / r if not isinstance(r, TensorLike) else tx.e.arith("div", 1.0, r, shape_of(r), dtype)
    return _make(tx, [(_times(tx, t[0], inv, shape, dtype), t[1], t[2]) for t in a.parts["terms"]], shape, dtype)


def row_sum(tx: Any, a: Deferred, dims: Sequence[int], out_shape: Sequence[int], dtype: str) -> Optional[Any]:
    """Σ_j of a mixture over the key axis: c for a softmax term (its rows
    sum to 1), the sum itself for any other term."""
    e = tx.e
    rank = len(a.shape)
    if [d % rank for d in dims] != [rank - 1]:
        return None
    rows = list(a.shape[:-1]) + [1]
    total = None
    for coef, x, probs in a.parts["terms"]:
        if probs:
            t = e.broadcast(1.0 if coef is None else coef, rows, dtype)
        else:
            t = e.reduce("sum", x, [rank - 1], keepdim=True)
            if coef is not None:
                t = e.arith("mul", t, coef, rows, dtype)
        total = t if total is None else e.arith("add", total, t, rows, dtype)
    return e.reshape(total, out_shape)


def times_values(tx: Any, a: Deferred, v: Any, product: Any, shape: Sequence[int], dtype: str) -> Any:
    """(Σ c_t P_t) @ V = Σ c_t (P_t @ V); ``product(P, V)`` emits one."""
    e = tx.e
    total = None
    for coef, x, _ in a.parts["terms"]:
        t = product(x, v)
        if coef is not None:
            t = e.arith("mul", t, coef, shape, dtype)
        total = t if total is None else e.arith("add", total, t, shape, dtype)
    return total
