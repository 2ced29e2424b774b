"""Reductions, softmax and normalisation statistics."""

from __future__ import annotations

import math

import numpy as np

from ..ir import Unavailable, is_float, shape_of
from . import aten
from .common import dims as _dims


def _reduce_dims(self, dim):
    rank = len(shape_of(self))
    if dim is None or (isinstance(dim, (list, tuple)) and len(dim) == 0):
        return list(range(rank))
    return _dims(dim, rank)


@aten("sum")
def sum_(tx, self, dim=None, keepdim=False, dtype=None, **_):
    e = tx.e
    from ..ir import Deferred
    if isinstance(self, Deferred) and self.kind == "probsum":
        from . import probsum
        rows = probsum.row_sum(tx, self, _reduce_dims(self, dim), tx.shape, tx.dtype)
        if rows is not None:
            return rows
    x = e.cast(self, tx.dtype)
    return e.reshape(e.reduce("sum", x, _reduce_dims(self, dim), keepdim), tx.shape)


@aten("mean")
def mean(tx, self, dim=None, keepdim=False, dtype=None, **_):
    e = tx.e
    x = e.cast(self, tx.dtype)
    return e.reshape(e.mean(x, _reduce_dims(self, dim), keepdim), tx.shape)


@aten("amax")
def amax(tx, self, dim=(), keepdim=False, **_):
    return tx.e.reshape(tx.e.reduce("max", self, _reduce_dims(self, dim), keepdim), tx.shape)


@aten("amin")
def amin(tx, self, dim=(), keepdim=False, **_):
    return tx.e.reshape(tx.e.reduce("min", self, _reduce_dims(self, dim), keepdim), tx.shape)


@aten("max", "min")
def max_(tx, self, dim=None, keepdim=False, other=None, **_):
    kind = "max" if tx.node.target._schema.name.endswith("max") else "min"
    if other is not None:
        shape, dtype = tx.meta()
        return tx.e.arith(kind, self, other, shape, dtype)
    if dim is None:
        return tx.e.reshape(tx.e.reduce(kind, self, _reduce_dims(self, None)), tx.shape)
    values = tx.e.reshape(tx.e.reduce(kind, self, [dim], keepdim), tx.meta(0)[0])
    return (values, Unavailable(f"the indices of {kind}(dim)"))


@aten("any", "all")
def any_(tx, self, dim=None, keepdim=False, **_):
    kind = "any" if tx.node.target._schema.name.endswith("any") else "all"
    x = tx.e.cast(self, "i1")
    return tx.e.reshape(tx.e.reduce(kind, x, _reduce_dims(self, dim), keepdim), tx.shape)


@aten("var", "std")
def var(tx, self, dim=None, correction=None, keepdim=False, unbiased=None, **_):
    e = tx.e
    shape = shape_of(self)
    rd = _reduce_dims(self, dim)
    count = int(np.prod([shape[d] for d in rd])) if rd else 1
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    mean = e.keepdim_broadcast(e.mean(self, rd), rd, shape)
    centred = e.arith("sub", self, mean, shape, tx.dtype)
    total = e.reduce("sum", e.arith("mul", centred, centred, shape, tx.dtype), rd, keepdim)
    denom = max(count - float(correction), 0.0)
    v = e.arith("mul", total, 1.0 / denom if denom else math.inf, shape_of(total), tx.dtype)
    if tx.node.target._schema.name.endswith("std"):
        v = e.unary("math.sqrt", v)
    return e.reshape(v, tx.shape)


@aten("var_mean")
def var_mean(tx, self, dim=None, correction=None, keepdim=False, unbiased=None, **_):
    e = tx.e
    shape = shape_of(self)
    rd = _reduce_dims(self, dim)
    count = int(np.prod([shape[d] for d in rd])) if rd else 1
    if correction is None:
        correction = 1 if unbiased in (None, True) else 0
    m = e.mean(self, rd)
    centred = e.arith("sub", self, e.keepdim_broadcast(m, rd, shape), shape, tx.meta(0)[1])
    total = e.reduce("sum", e.arith("mul", centred, centred, shape, tx.meta(0)[1]), rd, keepdim)
    denom = max(count - float(correction), 0.0)
    v = e.arith("mul", total, 1.0 / denom if denom else math.inf, shape_of(total), tx.meta(0)[1])
    return (e.reshape(v, tx.meta(0)[0]), e.reshape(m, tx.meta(1)[0]))


@aten("linalg_vector_norm", "norm")
def vector_norm(tx, self, ord=2, dim=None, keepdim=False, p=None, dtype=None, **_):
    e = tx.e
    order = p if p is not None else ord
    order = 2 if order is None else order
    shape, dtype_ = tx.meta()
    rd = _reduce_dims(self, dim)
    if order == 2:
        sq = e.arith("mul", self, self, shape_of(self), dtype_)
        return e.reshape(e.unary("math.sqrt", e.reduce("sum", sq, rd, keepdim)), shape)
    if order == 1:
        return e.reshape(e.reduce("sum", e.unary("math.absf", self), rd, keepdim), shape)
    if order == math.inf:
        return e.reshape(e.reduce("max", e.unary("math.absf", self), rd, keepdim), shape)
    raise tx.error(f"a vector norm of order {order}")


@aten("logsumexp")
def logsumexp(tx, self, dim, keepdim=False, **_):
    e = tx.e
    shape = shape_of(self)
    rd = _reduce_dims(self, dim)
    m = e.reduce("max", self, rd)
    shifted = e.arith("sub", self, e.keepdim_broadcast(m, rd, shape), shape, tx.dtype)
    total = e.reduce("sum", e.unary("math.exp", shifted), rd)
    out = e.arith("add", e.unary("math.log", total), m, shape_of(m), tx.dtype)
    return e.reshape(out, tx.shape)


@aten("softmax", "_softmax", "_safe_softmax")
def softmax(tx, self, dim, half_to_float=False, dtype=None, **_):
    e = tx.e
    from ..ir import Deferred
    if isinstance(self, Deferred):
        from . import talking_heads
        out = talking_heads.softmax(tx, self, dim)
        if out is not None:
            return out
    x = e.cast(self, tx.dtype)
    return e.softmax(x, int(dim))


@aten("log_softmax", "_log_softmax")
def log_softmax(tx, self, dim, half_to_float=False, dtype=None, **_):
    return tx.e.log_softmax(tx.e.cast(self, tx.dtype), int(dim))


@aten("cumsum")
def cumsum(tx, self, dim, dtype=None, **_):
    """A prefix sum as a contraction with a lower-triangular matrix of ones:
    out[..., i, ...] = sum_j [j <= i] x[..., j, ...] (n² work along a short
    axis: position ids from an attention mask)."""
    import torch
    from ..ir import Const
    e = tx.e
    shape, out_dtype = tx.meta()
    rank = len(shape)
    d = int(dim) % rank
    n = shape[d]
    work = out_dtype if is_float(out_dtype) else "f64"
    x = e.cast(self, work)
    tri = Const(torch.ones(n, n, dtype={"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                                       "bf16": torch.bfloat16}[work]).tril())
    labels = [f"a{k}" for k in range(rank)]
    out_labels = list(labels)
    out_labels[d] = "i"
    labels[d] = "j"
    eq = f"{' '.join(labels)}, i j -> {' '.join(out_labels)}"
    y = e.einsum(eq, [x, tri], shape, work)
    if work != out_dtype:
        # Exact: integer prefix sums stay below 2^53 in f64.
        y = e.cast(e.unary("math.roundeven", y), out_dtype)
    return y
