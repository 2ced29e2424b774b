"""Elementwise arithmetic, math functions, comparisons, selects and casts.

Each op computes in the result type PyTorch gives it (the node's fake
value), converting operands first: ``float_tensor < int_tensor`` compares in
f32, ``int_tensor / 2`` divides in f32.
"""

from __future__ import annotations

import math

from ..ir import TensorLike, dtype_of, is_float, is_int, shape_of
from . import aten, probsum
from .common import result_dtype, scalar_value


def _arith(tx, kind, a, b):
    shape, dtype = tx.meta()
    return tx.e.arith(kind, scalar_value(a), scalar_value(b), shape, dtype)


@aten("add")
def add(tx, self, other, alpha=1, **_):
    if alpha != 1:
        other = _arith_scaled(tx, other, alpha)
    shape, dtype = tx.meta()
    mixture = probsum.added(tx, self, other, shape, dtype) or probsum.added(tx, other, self, shape, dtype)
    return mixture if mixture is not None else _arith(tx, "add", self, other)


@aten("sub")
def sub(tx, self, other, alpha=1, **_):
    if alpha != 1:
        other = _arith_scaled(tx, other, alpha)
    shape, dtype = tx.meta()
    mixture = probsum.added(tx, self, other, shape, dtype, sign=-1.0)
    return mixture if mixture is not None else _arith(tx, "sub", self, other)


@aten("rsub")
def rsub(tx, self, other, alpha=1, **_):
    if alpha != 1:
        self = _arith_scaled(tx, self, alpha)
    return _arith(tx, "sub", other, self)


def _arith_scaled(tx, value, alpha):
    if not isinstance(value, TensorLike):
        return value * alpha
    shape, dtype = tx.meta()
    return tx.e.arith("mul", value, alpha, shape_of(value), dtype)


@aten("mul", "multiply")
def mul(tx, self, other, **_):
    shape, dtype = tx.meta()
    mixture = probsum.scaled(tx, scalar_value(self), scalar_value(other), shape, dtype) if is_float(dtype) else None
    if mixture is not None:
        return mixture
    for a, b in ((self, other), (other, self)):
        pushed = tx.e.scaled_einsum("mul", a, b, dtype) if is_float(dtype) else None
        if pushed is not None:
            return pushed
    return _arith(tx, "mul", self, other)


@aten("div", "divide", "true_divide")
def div(tx, self, other, rounding_mode=None, **_):
    shape, dtype = tx.meta()
    e = tx.e
    if rounding_mode is None:
        mixture = probsum.divided(tx, self, scalar_value(other), shape, dtype)
        if mixture is not None:
            return mixture
        pushed = e.scaled_einsum("div", self, other, dtype) if is_float(dtype) else None
        return pushed if pushed is not None else _arith(tx, "div", self, other)
    if is_int(dtype):
        if rounding_mode == "floor":
            return _arith(tx, "floordiv", self, other)
        raise tx.error("integer division with rounding_mode='trunc'")
    q = e.arith("div", scalar_value(self), scalar_value(other), shape, dtype)
    return e.unary("math.floor" if rounding_mode == "floor" else "math.trunc", q)


@aten("floor_divide")
def floor_divide(tx, self, other, **_):
    shape, dtype = tx.meta()
    if is_int(dtype):
        return _arith(tx, "floordiv", self, other)
    return tx.e.unary("math.floor", tx.e.arith("div", scalar_value(self), scalar_value(other), shape, dtype))


@aten("remainder", "fmod")
def remainder(tx, self, other, **_):
    shape, dtype = tx.meta()
    if is_int(dtype) and tx.node.target._schema.name.endswith("remainder"):
        # Python's sign convention: r has the divisor's sign.
        e = tx.e
        r = e.arith("rem", scalar_value(self), scalar_value(other), shape, dtype)
        fix = e.arith("add", r, scalar_value(other), shape, dtype)
        neg = e.compare("ne", e.compare("lt", r, 0, shape, dtype), e.compare("lt", scalar_value(other), 0, shape,
                                                                               dtype), shape, "i1")
        nonzero = e.compare("ne", r, 0, shape, dtype)
        return e.select(e.arith("and", neg, nonzero, shape, "i1"), fix, r, shape, dtype)
    return _arith(tx, "rem", self, other)


@aten("maximum", "max_other")
def maximum(tx, self, other, **_):
    return _arith(tx, "max", self, other)


@aten("minimum", "min_other")
def minimum(tx, self, other, **_):
    return _arith(tx, "min", self, other)


@aten("pow")
def pow_(tx, self, exponent, **_):
    e = tx.e
    shape, dtype = tx.meta()
    exponent = scalar_value(exponent)
    if not isinstance(self, TensorLike):
        return e.arith("pow", self, exponent, shape, dtype)
    if isinstance(exponent, (int, float)):
        if exponent == 1:
            return e.cast(self, dtype)
        if exponent == 2:
            x = e.cast(self, dtype)
            return e.arith("mul", x, x, shape, dtype)
        if exponent == 0.5:
            return e.unary("math.sqrt", e.cast(self, dtype))
        if exponent == -0.5:
            return e.unary("math.rsqrt", e.cast(self, dtype))
        if exponent == -1:
            return e.arith("div", 1.0, self, shape, dtype)
        if exponent == 3:
            x = e.cast(self, dtype)
            return e.arith("mul", e.arith("mul", x, x, shape, dtype), x, shape, dtype)
    if not is_float(dtype):
        raise tx.error("pow on integer tensors")
    return e.arith("pow", self, exponent, shape, dtype)


_UNARY = {
    "exp": "math.exp", "log": "math.log", "tanh": "math.tanh", "sqrt": "math.sqrt", "rsqrt": "math.rsqrt",
    "erf": "math.erf", "sin": "math.sin", "cos": "math.cos", "log1p": "math.log1p", "expm1": "math.expm1",
    "floor": "math.floor", "ceil": "math.ceil", "trunc": "math.trunc", "log2": "math.log2",
    "exp2": "math.exp2", "erfc": "math.erfc", "atan": "math.atan", "round": "math.roundeven",
    "tan": "math.tan",
}


def _float_unary(tx, self, op):
    shape, dtype = tx.meta()
    return tx.e.unary(op, tx.e.cast(self, dtype))


for _name, _op in _UNARY.items():
    aten(_name)(lambda tx, self, _op=_op, **_: _float_unary(tx, self, _op))


@aten("abs")
def abs_(tx, self, **_):
    dtype = dtype_of(self)
    if is_float(dtype):
        return tx.e.unary("math.absf", self)
    return tx.e.unary("math.absi", self)


@aten("neg", "negative")
def neg(tx, self, **_):
    shape, dtype = tx.meta()
    if is_float(dtype):
        return tx.e.unary("arith.negf", self)
    return tx.e.arith("sub", 0, self, shape, dtype)


@aten("reciprocal")
def reciprocal(tx, self, **_):
    shape, dtype = tx.meta()
    return tx.e.arith("div", 1.0, self, shape, dtype)


@aten("sign", "sgn")
def sign(tx, self, **_):
    e = tx.e
    shape, dtype = tx.meta()
    pos = e.cast(e.compare("gt", self, 0, shape, dtype), dtype)
    negative = e.cast(e.compare("lt", self, 0, shape, dtype), dtype)
    return e.arith("sub", pos, negative, shape, dtype)


@aten("sigmoid")
def sigmoid(tx, self, **_):
    return tx.e.sigmoid(tx.e.cast(self, tx.dtype))


@aten("relu")
def relu(tx, self, **_):
    shape, dtype = tx.meta()
    return tx.e.arith("max", self, 0.0 if is_float(dtype) else 0, shape, dtype)


@aten("gelu")
def gelu(tx, self, approximate="none", **_):
    return tx.e.gelu(self, approximate)


@aten("silu")
def silu(tx, self, **_):
    shape, dtype = tx.meta()
    return tx.e.arith("mul", self, tx.e.sigmoid(self), shape, dtype)


@aten("mish")
def mish(tx, self, **_):
    e = tx.e
    shape, dtype = tx.meta()
    return e.arith("mul", self, e.unary("math.tanh", _softplus(tx, self, 1.0, 20.0)), shape, dtype)


def _softplus(tx, x, beta, threshold):
    e = tx.e
    shape, dtype = tx.meta()
    bx = e.arith("mul", x, float(beta), shape, dtype) if beta != 1 else e.tensor(x)
    soft = e.unary("math.log1p", e.unary("math.exp", bx))
    if beta != 1:
        soft = e.arith("div", soft, float(beta), shape, dtype)
    big = e.compare("gt", bx, float(threshold), shape, dtype)
    return e.select(big, x, soft, shape, dtype)


@aten("softplus")
def softplus(tx, self, beta=1, threshold=20, **_):
    return _softplus(tx, self, beta, threshold)


@aten("leaky_relu")
def leaky_relu(tx, self, negative_slope=0.01, **_):
    e = tx.e
    shape, dtype = tx.meta()
    return e.select(e.compare("gt", self, 0.0, shape, dtype), self,
                    e.arith("mul", self, float(negative_slope), shape, dtype), shape, dtype)


@aten("elu")
def elu(tx, self, alpha=1, scale=1, input_scale=1, **_):
    e = tx.e
    shape, dtype = tx.meta()
    neg = e.arith("mul", e.unary("math.expm1", e.arith("mul", self, float(input_scale), shape, dtype)),
                  float(alpha), shape, dtype)
    out = e.select(e.compare("gt", self, 0.0, shape, dtype), self, neg, shape, dtype)
    return e.arith("mul", out, float(scale), shape, dtype) if scale != 1 else out


@aten("hardtanh", "clamp", "clip")
def clamp(tx, self, min=None, max=None, min_val=None, max_val=None, **_):
    e = tx.e
    shape, dtype = tx.meta()
    lo = scalar_value(min if min is not None else min_val)
    hi = scalar_value(max if max is not None else max_val)
    if tx.node.target._schema.name.endswith("hardtanh"):
        lo = -1.0 if lo is None else lo
        hi = 1.0 if hi is None else hi
    x = e.cast(self, dtype)
    if lo is not None:
        x = e.arith("max", x, lo, shape, dtype)
    if hi is not None:
        x = e.arith("min", x, hi, shape, dtype)
    return x


@aten("clamp_min")
def clamp_min(tx, self, min, **_):
    return _arith(tx, "max", self, min)


@aten("clamp_max")
def clamp_max(tx, self, max, **_):
    return _arith(tx, "min", self, max)


@aten("hardswish")
def hardswish(tx, self, **_):
    e = tx.e
    shape, dtype = tx.meta()
    inner = e.arith("min", e.arith("max", e.arith("add", self, 3.0, shape, dtype), 0.0, shape, dtype), 6.0,
                    shape, dtype)
    return e.arith("div", e.arith("mul", self, inner, shape, dtype), 6.0, shape, dtype)


@aten("hardsigmoid")
def hardsigmoid(tx, self, **_):
    e = tx.e
    shape, dtype = tx.meta()
    inner = e.arith("min", e.arith("max", e.arith("add", self, 3.0, shape, dtype), 0.0, shape, dtype), 6.0,
                    shape, dtype)
    return e.arith("div", inner, 6.0, shape, dtype)


# -- comparisons and logic ---------------------------------------------------------

_COMPARE = {"eq": "eq", "ne": "ne", "lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "less": "lt",
            "less_equal": "le", "greater": "gt", "greater_equal": "ge", "not_equal": "ne"}


def _compare(tx, self, other, kind):
    shape, _ = tx.meta()
    other = scalar_value(other)
    dtype = result_dtype(self, other)
    return tx.e.compare(kind, self, other, shape, dtype)


for _name, _kind in _COMPARE.items():
    aten(_name)(lambda tx, self, other, _kind=_kind, **_: _compare(tx, self, other, _kind))


@aten("logical_not")
def logical_not(tx, self, **_):
    shape, _ = tx.meta()
    return tx.e.arith("xor", tx.e.cast(self, "i1"), True, shape, "i1")


@aten("bitwise_not")
def bitwise_not(tx, self, **_):
    shape, dtype = tx.meta()
    return tx.e.arith("xor", self, True if dtype == "i1" else -1, shape, dtype)


def _logical(tx, self, other, kind):
    shape, _ = tx.meta()
    return tx.e.arith(kind, tx.e.cast(self, "i1"), tx.e.cast(scalar_value(other), "i1")
                      if isinstance(other, TensorLike) else bool(other), shape, "i1")


def _bitwise(tx, self, other, kind):
    shape, dtype = tx.meta()
    return tx.e.arith(kind, self, scalar_value(other), shape, dtype)


for _name, _kind in (("and", "and"), ("or", "or"), ("xor", "xor")):
    aten(f"logical_{_name}")(lambda tx, self, other, _kind=_kind, **_: _logical(tx, self, other, _kind))
    aten(f"bitwise_{_name}", f"__{_name}__")(
        lambda tx, self, other, _kind=_kind, **_: _bitwise(tx, self, other, _kind))


@aten("isnan")
def isnan(tx, self, **_):
    return tx.e.compare("ne", self, self, shape_of(self), dtype_of(self))


@aten("isinf")
def isinf(tx, self, **_):
    e = tx.e
    shape = shape_of(self)
    return e.compare("eq", e.unary("math.absf", self), math.inf, shape, dtype_of(self))


@aten("where")
def where(tx, condition, self=None, other=None, **_):
    if self is None:
        raise tx.error("torch.where with one argument (its result size depends on the data)")
    shape, dtype = tx.meta()
    return tx.e.select(condition, scalar_value(self), scalar_value(other), shape, dtype)


@aten("masked_fill")
def masked_fill(tx, self, mask, value, **_):
    shape, dtype = tx.meta()
    return tx.e.select(mask, scalar_value(value), self, shape, dtype)


# -- casts ---------------------------------------------------------------------------


@aten("_to_copy", "to", "_to_dtype", "type_as", "_autocast_to_reduced_precision", "_autocast_to_full_precision",
      "to_dtype", "convert_element_type")
def to_copy(tx, self, **_):
    return tx.e.cast(self, tx.dtype)


@aten("nan_to_num")
def nan_to_num(tx, self, nan=0.0, posinf=None, neginf=None, **_):
    import torch
    e = tx.e
    shape, dtype = tx.meta()
    info = torch.finfo({"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                        "bf16": torch.bfloat16}[dtype])
    x = e.select(e.compare("ne", self, self, shape, dtype), float(nan or 0.0), self, shape, dtype)
    x = e.select(e.compare("eq", x, math.inf, shape, dtype), float(info.max if posinf is None else posinf), x,
                 shape, dtype)
    return e.select(e.compare("eq", x, -math.inf, shape, dtype), float(info.min if neginf is None else neginf),
                    x, shape, dtype)
