"""Matrix products: every one becomes an ``attn.einsum``.

Labels are explicit (``"b h i k, b h k j -> b h i j"``), so transposed
operands (``k.transpose(-1, -2)``, ``t(W)``) fold into the equation during
canonicalisation instead of being copied.
"""

from __future__ import annotations

import torch

from ..emitter import _einsum_terms
from ..ir import Deferred, Prepared, Tensor, View, shape_of
from . import aten


def _merged_batch(value):
    """The sizes of the axes merged into dim 0 of a 3-D view ([(b h), n, d]
    after transpose_qkv, or einsum's own bmm decomposition), else None."""
    if not isinstance(value, View) or len(value.shape) != 3:
        return None
    axes = [a for a in value.state.dims[0] if value.state.sizes[a] != 1]
    if len(axes) < 2:
        return None
    return [value.state.sizes[a] for a in axes]


def _product(tx, a, b):
    """a @ b. A bmm over merged (batch, head) rows of views is emitted on
    the unmerged operands, "b h i k, b h k j -> b h i j", and merged back
    lazily: the scores then reach their scale, mask and softmax with the
    heads as a dimension of their own (the view the model applies next
    undoes the merge), which attention recognition needs."""
    e = tx.e
    shape, dtype = tx.meta()
    if isinstance(a, Deferred) and a.kind == "probsum":
        from . import probsum
        return probsum.times_values(tx, a, b, lambda p, v: e.matmul(e.cast(p, dtype), e.cast(v, dtype), shape,
                                                                    dtype), shape, dtype)
    if isinstance(a, Deferred) and len(shape_of(a)) == len(shape_of(b)) >= 3:
        from . import talking_heads
        rank = len(shape)
        batch = "abcdefgh"[:rank - 2]
        pv = talking_heads.pv(tx, f"{batch}ik,{batch}kj->{batch}ij", a, b, shape, dtype)
        if pv is not None:
            return pv
    if isinstance(b, Prepared) and len(b.shape) == 2 and len(shape_of(a)) >= 2 and b.dtype == dtype:
        # x @ W with W a parameter [in, out] (HF GPT-2's Conv1D is addmm):
        # the panels nn.Linear's weights get (see linear).
        panels = _weight_panels(tx, b, dtype)
        if panels is not None:
            return e.linear_panels(e.cast(a, dtype), panels, None, shape, dtype)
    ma, mb = _merged_batch(a), _merged_batch(b)
    if ma is not None and ma == mb and len(shape) == 3:
        sa, sb = shape_of(a), shape_of(b)
        ua = e.reshape(a, ma + list(sa[1:]))
        ub = e.reshape(b, mb + list(sb[1:]))
        full = ma + list(shape[1:])
        return e.reshape(e.matmul(e.cast(ua, dtype), e.cast(ub, dtype), full, dtype), shape)
    return e.matmul(e.cast(a, dtype), e.cast(b, dtype), shape, dtype)


@aten("mm", "bmm", "matmul", "dot", "mv")
def mm(tx, self, mat2=None, other=None, vec=None, tensor=None, **_):
    b = next(v for v in (mat2, other, vec, tensor) if v is not None)
    return _product(tx, self, b)


@aten("addmm", "baddbmm", "addmv")
def addmm(tx, self, mat1=None, mat2=None, batch1=None, batch2=None, vec=None, beta=1, alpha=1, **_):
    """beta * self + alpha * (a @ b): a bias add (nn.Linear) or an additive
    attention mask (nn.MultiheadAttention's baddbmm)."""
    e = tx.e
    shape, dtype = tx.meta()
    a = mat1 if mat1 is not None else batch1
    b = mat2 if mat2 is not None else (batch2 if batch2 is not None else vec)
    product = _product(tx, a, b)
    if alpha != 1:
        product = e.arith("mul", product, alpha, shape, dtype)
    if beta == 0:
        return product
    addend = self if beta == 1 else e.arith("mul", self, beta, shape_of(self), dtype)
    # The addend on the right: attn-fuse-attention accepts it on either side.
    return e.arith("add", product, addend, shape, dtype)


@aten("einsum")
def einsum(tx, equation, tensors, path=None, **_):
    shape, dtype = tx.meta()
    operands = [tx.e.cast(t, dtype) for t in tensors]
    equation = "".join(str(equation).split())
    if len(operands) == 2 and isinstance(operands[0], Deferred) and operands[0].kind == "probsum":
        from . import probsum
        return probsum.times_values(tx, operands[0], operands[1],
                                    lambda p, v: _emit_einsum(tx, equation, [p, v], shape, dtype), shape, dtype)
    if len(operands) == 2 and isinstance(operands[0], Deferred):
        from . import talking_heads
        pv = talking_heads.pv(tx, equation, operands[0], operands[1], shape, dtype)
        if pv is not None:
            return pv
    if len(operands) == 2:
        mixed = _talking_heads(tx, equation, operands, shape, dtype)
        if mixed is not None:
            return mixed
    return _emit_einsum(tx, equation, operands, shape, dtype)


def _emit_einsum(tx, equation, operands, shape, dtype, scale=None):
    merged = _merge_adjacent_labels(tx, equation, operands, shape, dtype, scale)
    if merged is not None:
        return merged
    return tx.e.einsum(equation, operands, shape, dtype, scale=scale)


def _talking_heads(tx, equation, operands, shape, dtype):
    """``einsum('b h i j, h g -> b g i j', x, W)`` on scores or
    probabilities: a head mix (see ops/talking_heads.py)."""
    from . import talking_heads
    x, w = operands
    terms = _einsum_terms(equation)
    if terms is None or len(shape_of(w)) != 2:
        return None
    (xl, wl), yl = terms
    if len(wl) != 2 or len(set(xl)) != len(xl):
        return None
    h, g = wl
    if h not in xl or g in xl or sorted(yl) != sorted(g if l == h else l for l in xl):
        return None
    return talking_heads.mix(tx, x, xl, h, w, None, yl, shape, dtype,
                             lambda: _emit_einsum(tx, equation, operands, shape, dtype))


def _merge_adjacent_labels(tx, equation, operands, shape, dtype, scale=None):
    """Labels that always appear together, adjacent and in the same order,
    and not in every term, are one axis: ``'b h i j, b h j w d -> b h i w d'`` is
    ``'b h i j, b h j e -> b h i e'`` with e = (w d) (SepViT's windows), so
    P·V has the one value axis the attention recogniser expects. The
    operands are reshaped (free) and the result split back."""
    if "..." in equation or "->" not in equation:
        return None
    lhs, rhs = equation.split("->")
    terms = [list(t) for t in lhs.split(",")] + [list(rhs)]
    if any(len(set(t)) != len(t) for t in terms):
        return None  # repeated labels (traces, diagonals)
    for t in terms:
        for a, b in zip(t, t[1:]):
            # a, b merge if wherever one appears the other follows it; batch
            # labels (in every term) stay apart, the recogniser reads them.
            if all((a in u) == (b in u) and (a not in u or u.index(b) == u.index(a) + 1) for u in terms) \
                    and not all(a in u for u in terms):
                new_terms = [[l for l in u if l != b] for u in terms]
                new_ops = []
                for u, op in zip(terms[:-1], operands):
                    s = list(shape_of(op))
                    if a in u:
                        i = u.index(a)
                        s[i:i + 2] = [s[i] * s[i + 1]]
                    new_ops.append(tx.e.reshape(op, s))
                out = list(shape)
                if a in terms[-1]:
                    i = terms[-1].index(a)
                    out[i:i + 2] = [out[i] * out[i + 1]]
                eq = ",".join("".join(u) for u in new_terms[:-1]) + "->" + "".join(new_terms[-1])
                inner = _merge_adjacent_labels(tx, eq, new_ops, out, dtype, scale)
                result = inner if inner is not None else tx.e.einsum(eq, new_ops, out, dtype, scale=scale)
                return tx.e.reshape(result, shape)
    return None


# Columns per weight panel: the AVX-512 micro-kernel's panel width (four
# 16-lane vectors), two 32-column blocks of the AMX bf16 kernel.
PANEL = 64


def _weight_panels(tx, wt, dtype):
    """An [in, out] weight prepared at load time as [out / 64, in, 64] column
    panels, or for bf16 [out / 64, in / 2, 64, 2] pairs of rows (each panel
    row holds, for its 64 columns, the pair W^T[2r, j], W^T[2r + 1, j]: the
    VNNI form AMX tiles load as they are, so no call repacks the weight);
    None where the CPU target does not prepare panels or 64 does not divide
    out."""
    in_features, out_features = wt.shape
    if not tx.translator.weight_panels or out_features % PANEL or out_features <= PANEL:
        return None
    if dtype == "bf16" and in_features % 2 == 0:
        return (wt.then(torch.ops.aten.reshape.default, (in_features // 2, 2, out_features // PANEL, PANEL))
                .then(torch.ops.aten.permute.default, (2, 0, 3, 1)))
    return (wt.then(torch.ops.aten.reshape.default, (in_features, out_features // PANEL, PANEL))
            .then(torch.ops.aten.permute.default, (1, 0, 2)))


@aten("linear")
def linear(tx, input, weight, bias=None, **_):
    """x @ W^T + b. A weight that is a parameter is prepared at load time in
    the layout the compiled product reads best: for the CPU, [out / 64, in,
    64] column panels when 64 divides out ([out / 64, in / 2, 64, 2] pairs
    of rows for bf16, see below; each call of the micro-kernel
    then reads one contiguous panel: rows of an [in, out] weight are a page
    or more apart, which the prefetchers do not follow; 197x768x2304 f32
    went from 3.6-4.9 to 2.2 ms on 2 threads); transposed ([in, out])
    otherwise, read in place."""
    shape, dtype = tx.meta()
    mixed = _linear_head_mix(tx, input, weight, bias, shape, dtype)
    if mixed is not None:
        return mixed
    if isinstance(weight, Prepared) and len(weight.shape) == 2:
        panels = _weight_panels(tx, weight.then(torch.ops.aten.t.default), dtype)
        if panels is not None:
            return tx.e.linear_panels(input, panels, bias, shape, dtype)
        return tx.e.linear(input, weight.then(torch.ops.aten.t.default), bias, shape, dtype,
                           weight_transposed=True)
    return tx.e.linear(input, weight, bias, shape, dtype)


def _linear_head_mix(tx, input, weight, bias, shape, dtype):
    """timm's TalkingHeadAttn: ``proj(x.permute(0, 2, 3, 1))`` where x is
    the scores or the probabilities and the Linear mixes the heads, now the
    last axis (see ops/talking_heads.py)."""
    from . import talking_heads
    if not isinstance(input, View) or not isinstance(weight, Prepared) or len(weight.shape) != 2:
        return None
    state = input.state
    if any(len(g) != 1 for g in state.inputs) or any(len(g) != 1 for g in state.dims):
        return None  # not a pure permutation
    perm = [state.inputs.index(g) for g in state.dims]
    x = input.base
    if talking_heads.kind_of(tx.e, x) is None:
        return None
    rank = len(perm)
    xl = list("abcdefghijklmnop"[:rank])
    head = xl[perm[-1]]
    g = talking_heads.fresh_label(xl)
    yl = [xl[p] for p in perm[:-1]] + [g]
    w = weight.then(torch.ops.aten.t.default)  # [in h, out g]
    return talking_heads.mix(tx, x, xl, head, w, bias, yl, shape, dtype,
                             lambda: tx.e.linear(input, w, bias, shape, dtype, weight_transposed=True))


@aten("outer", "ger")
def outer(tx, self, vec2, **_):
    shape, dtype = tx.meta()
    return tx.e.einsum("i, j -> i j", [self, vec2], shape, dtype)
