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
    if len(operands) == 2 and isinstance(operands[0], Deferred) and operands[0].kind == "headmix":
        pv = _mixed_pv(tx, equation, operands[0], operands[1], shape, dtype)
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


def _fresh_label(*used):
    taken = set("".join("".join(u) for u in used))
    return next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in taken)


def _talking_heads(tx, equation, operands, shape, dtype):
    """Talking-heads attention (CaiT): the scores, or the probabilities,
    mixed across heads by a learnt [h, g] matrix.

    Before the softmax, ``mix(Q Kᵀ)`` is a Q Kᵀ itself: Σ_h W[h,g] q_h·k_h
    is a dot product over (h, d) of q'[g] = W[:, g] ⊗ q with k, which is
    broadcast over g. After it, ``mix(P) V`` is computed as P (V broadcast
    over the query heads, with all heads' values as one value axis) and the
    mix applied to the result: both stay one attention each."""
    e = tx.e
    a, w = operands
    terms = _einsum_terms(equation)
    if terms is None or len(shape_of(w)) != 2:
        return None
    (xl, wl), yl = terms
    if len(wl) != 2 or len(set(xl)) != len(xl):
        return None
    h, g = wl
    if h not in xl or g in xl or yl != [g if l == h else l for l in xl]:
        return None
    recipe = e.recipes.get(a.name) if isinstance(a, Tensor) else None
    if recipe and recipe[0] == "einsum":
        return _mix_scores(tx, recipe, xl, h, w, shape, dtype)
    if (recipe and recipe[0] == "softmax") or (isinstance(a, View) and e.recipes.get(a.base.name, ("",))[0]
                                                == "softmax"):
        parts = dict(probs=a, weight=w, labels=xl, head=h, mixed=g)
        return Deferred("headmix", tuple(shape), dtype, parts,
                        lambda: _emit_einsum(tx, equation, operands, shape, dtype))
    return None


def _mix_scores(tx, recipe, xl, h, w, shape, dtype):
    e = tx.e
    _, s_eq, (q, k), scale = recipe
    terms = _einsum_terms(s_eq)
    if terms is None:
        return None
    (ql, kl), sl = terms
    if len(sl) != len(xl):
        return None
    H = sl[xl.index(h)]
    if H not in ql or H not in kl:
        return None
    G = _fresh_label(ql, kl, sl)
    contracted = [l for l in ql if l not in sl]
    if not contracted:
        return None

    def with_head(labels):
        out = [G if l == H else l for l in labels]
        at = out.index(contracted[0])
        return out[:at] + [H] + out[at:]

    qn, kn = with_head(ql), with_head(kl)
    sizes = dict(zip(ql, shape_of(q)))
    sizes.update(zip(kl, shape_of(k)))
    sizes[G] = shape_of(w)[1]
    q2 = e.einsum(f"{''.join(ql)},{H}{G}->{''.join(qn)}", [q, w], [sizes[l] for l in qn], dtype)
    # k with the same labels, broadcast over the mixed heads G.
    order = [kl.index(l) for l in kn if l != G]
    k2 = e.permute(k, order)
    k2 = e.broadcast_into(e.tensor(k2), [sizes[l] for l in kn], [kn.index(G)])
    out_labels = [G if l == H else l for l in sl]
    return _emit_einsum(tx, f"{''.join(qn)},{''.join(kn)}->{''.join(out_labels)}", [q2, k2], shape, dtype,
                        scale=scale)


def _mixed_pv(tx, equation, mix, v, shape, dtype):
    """``mix(P) V`` -> ``(P V_all) mix`` (see _talking_heads)."""
    e = tx.e
    terms = _einsum_terms(equation)
    if terms is None:
        return None
    (dl, vl), ol = terms
    p = mix.parts
    xl, h, g = p["labels"], p["head"], p["mixed"]
    yl = [g if l == h else l for l in xl]
    if len(dl) != len(yl) or len(set(dl)) != len(dl):
        return None
    to_pv = dict(zip(yl, dl))
    Gp = to_pv[g]
    if Gp not in vl or Gp not in ol:
        return None
    Z = _fresh_label(dl, vl, ol)
    pl = [Z if l == h else to_pv[l] for l in xl]
    keys = [l for l in dl if l in vl and l not in ol]
    if len(keys) != 1:
        return None
    batch = [l for l in pl if l in vl and l in ol]
    values = [l for l in vl if l not in pl]
    sizes = dict(zip(dl, shape_of(mix)))
    sizes.update(zip(vl, shape_of(v)))
    sizes[Z] = shape_of(p["weight"])[0]
    v_labels = batch + [Z] + keys + values
    v2 = e.permute(v, [vl.index(l) for l in v_labels if l != Z])
    v2 = e.broadcast_into(e.tensor(v2), [sizes[l] for l in v_labels], [v_labels.index(Z)])
    o_labels = [l for l in pl if l not in keys] + values
    o = _emit_einsum(tx, f"{''.join(pl)},{''.join(v_labels)}->{''.join(o_labels)}", [p["probs"], v2],
                     [sizes[l] for l in o_labels], dtype)
    return e.einsum(f"{''.join(o_labels)},{Z}{Gp}->{''.join(ol)}", [o, p["weight"]], shape, dtype)


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


@aten("linear")
def linear(tx, input, weight, bias=None, **_):
    """x @ W^T + b. A weight that is a parameter is prepared transposed
    ([in, out]) at load time, so the compiled product reads it in place."""
    shape, dtype = tx.meta()
    if isinstance(weight, Prepared) and len(weight.shape) == 2:
        return tx.e.linear(input, weight.then(torch.ops.aten.t.default), bias, shape, dtype,
                           weight_transposed=True)
    return tx.e.linear(input, weight, bias, shape, dtype)


@aten("outer", "ger")
def outer(tx, self, vec2, **_):
    shape, dtype = tx.meta()
    return tx.e.einsum("i, j -> i j", [self, vec2], shape, dtype)
