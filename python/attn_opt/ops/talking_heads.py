"""Talking-heads attention (CaiT): scores or probabilities mixed across heads
by a learnt [h, g] matrix, written as an einsum (vit-pytorch) or as a
Linear over a permuted head axis (timm, with a bias).

Both stay one attention each:

* before the softmax, ``Σ_h W[h,g] q_h·k_h`` is itself a dot product, over
  (h, d), of ``q'[g] = W[:, g] ⊗ q`` with k broadcast over g; a bias per
  mixed head is constant along the softmax axis and drops out;
* after it, ``Σ_j (Σ_h W[h,g] p_h) v_g = Σ_h W[h,g] (p_h V)_g``: P times V
  broadcast over the query heads (all heads' values as one value axis),
  then the mix; a bias per head adds ``b_g Σ_j v_g``.

The mixes are ``Deferred``: emitted as written unless the softmax or the
P·V that follows takes them apart. Their labels follow the model's own
axes, through the permutes timm wraps around its Linear.

The mix as written (one einsum over the scores or probabilities, in their
own layout) is what attn-fuse-attention fuses: it turns the chain into a
row-block nest (lib/Dialect/Attn/Transforms/FuseTalkingHeads.cpp) that
computes one block of queries' scores of all heads against every key, both
mixes and an exact softmax in the block, never materialising the
[.., H, N, N] scores. The Deferred forms above multiply the work of the
score and P·V products by the number of mixed heads instead (each mixed
head's scores are a dot product over every head's features; P·V reads every
head's values), so they are used only when the per-head scores exceed
``MATERIALISE_LIMIT``: vit-pytorch's CaiT (16 heads, 64 tokens) ran 97.9 ms
with them against 67.0 ms as written and 82.7 ms eager (2 threads, fastest
of 24 calls each, interleaved in one process; before the row-block nest).
"""

from __future__ import annotations

import math
from typing import Any, List, Optional, Sequence

from ..emitter import _einsum_terms
from ..ir import TORCH_DTYPES, Deferred, Tensor, View, shape_of


# Bytes of a mixed scores or probabilities tensor above which the frontend
# composes the mix into the products (at the cost above) rather than writing
# it as an einsum for the row-block nest. The nest holds one block of scores
# at a time whatever the size, so it would do above the bound too; the
# composed forms are kept (and tested) for graphs that reach the bound.
MATERIALISE_LIMIT = 1 << 30


def fresh_label(*used: Sequence[str]) -> str:
    taken = set("".join("".join(u) for u in used))
    return next(c for c in "zyxwvutsrqponmlkjihgfedcbaZYXWVUTSRQPONMLKJIHGFEDCBA" if c not in taken)


def kind_of(e: Any, value: Any) -> Optional[str]:
    """"scores" for a Q Kᵀ einsum, "probs" for a softmax (or a view of
    one), None otherwise."""
    recipe = e.recipes.get(value.name) if isinstance(value, Tensor) else None
    if recipe and recipe[0] == "einsum":
        return "scores"
    base = value.base if isinstance(value, View) else value
    if isinstance(base, Tensor) and e.recipes.get(base.name, ("",))[0] == "softmax":
        return "probs"
    return None


def mix(tx: Any, x: Any, xl: List[str], head: str, weight: Any, bias: Any, yl: List[str], shape: Sequence[int],
        dtype: str, emit_as_written: Any) -> Optional[Any]:
    """The mix of ``x`` (labels ``xl``) over ``head`` by ``weight`` [h, g]
    (+ ``bias`` [g]), whose result has labels ``yl`` (xl with head replaced
    by a new label, in any order): materialised when that is cheaper, else
    Deferred for the softmax or P·V that follows to fuse."""
    kind = kind_of(tx.e, x)
    if kind is None or len(shape_of(weight)) != 2:
        return None
    if math.prod(int(s) for s in shape) * TORCH_DTYPES[dtype].itemsize <= MATERIALISE_LIMIT:
        return materialised(tx, x, xl, head, weight, bias, yl, dtype)
    parts = dict(x=x, xl=list(xl), head=head, weight=weight, bias=bias, yl=list(yl))
    return Deferred("headmix-" + kind, tuple(int(s) for s in shape), dtype, parts, emit_as_written)


def materialised(tx: Any, x: Any, xl: List[str], head: str, weight: Any, bias: Any, yl: List[str],
                 dtype: str) -> Any:
    """The mix as one einsum in x's own layout (the head axis replaced by the
    mixed one, so that it reads and writes the scores in order: timm's Linear
    over the permuted head axis, lowered as written, is a product with as
    many columns as heads), plus the bias, then viewed as ``yl``."""
    e = tx.e
    g = _added_label(xl, yl)
    layout = [g if l == head else l for l in xl]
    sizes = dict(zip(xl, shape_of(x)))
    sizes[g] = shape_of(weight)[1]
    out_shape = [sizes[l] for l in layout]
    out = e.einsum(f"{''.join(xl)},{head}{g}->{''.join(layout)}", [x, weight], out_shape, dtype)
    if bias is not None:
        out = e.arith("add", out, e.reshape(bias, [sizes[g] if l == g else 1 for l in layout]), out_shape, dtype)
    perm = [layout.index(l) for l in yl]
    return e.permute(out, perm) if perm != list(range(len(perm))) else out


def permuted(e: Any, d: Deferred, perm: Sequence[int]) -> Deferred:
    parts = dict(d.parts)
    parts["yl"] = [d.parts["yl"][p] for p in perm]
    build = d.build
    return Deferred(d.kind, tuple(d.shape[p] for p in perm), d.dtype, parts,
                    lambda: e.permute(build(), list(perm)))


def _added_label(xl: Sequence[str], yl: Sequence[str]) -> str:
    """The mixed head's label: the one of ``yl`` that ``xl`` lacks."""
    return next(l for l in yl if l not in xl)


def mixed_label(d: Deferred) -> str:
    return _added_label(d.parts["xl"], d.parts["yl"])


def softmax(tx: Any, d: Deferred, dim: int) -> Optional[Any]:
    """softmax(mix(Q Kᵀ)) as softmax of one Q' Kᵀ (the bias drops out)."""
    e = tx.e
    if d.kind != "headmix-scores":
        return None
    p = d.parts
    yl = p["yl"]
    if yl[int(dim) % len(yl)] == mixed_label(d):
        return None  # a softmax over the heads themselves
    scores = _composed_scores(tx, d)
    if scores is None:
        return None
    # The composed scores are laid out like x with the head relabelled.
    g = mixed_label(d)
    layout = [g if l == p["head"] else l for l in p["xl"]]
    perm = [layout.index(l) for l in yl]
    out = e.softmax(scores, layout.index(yl[int(dim) % len(yl)]))
    return e.permute(out, perm) if perm != list(range(len(perm))) else out


def _composed_scores(tx: Any, d: Deferred) -> Optional[Any]:
    from .linalg import _emit_einsum
    e = tx.e
    p = d.parts
    _, s_eq, (q, k), scale = e.recipes[p["x"].name]
    terms = _einsum_terms(s_eq)
    if terms is None:
        return None
    (ql, kl), sl = terms
    if len(sl) != len(p["xl"]):
        return None
    H = sl[p["xl"].index(p["head"])]
    if H not in ql or H not in kl:
        return None
    G = fresh_label(ql, kl, sl)
    contracted = [l for l in ql if l not in sl]
    if not contracted:
        return None

    def with_head(labels: List[str]) -> List[str]:
        out = [G if l == H else l for l in labels]
        at = out.index(contracted[0])
        return out[:at] + [H] + out[at:]

    qn, kn = with_head(ql), with_head(kl)
    sizes = dict(zip(ql, shape_of(q)))
    sizes.update(zip(kl, shape_of(k)))
    sizes[G] = shape_of(p["weight"])[1]
    q2 = e.einsum(f"{''.join(ql)},{H}{G}->{''.join(qn)}", [q, p["weight"]], [sizes[l] for l in qn], d.dtype)
    k2 = e.permute(k, [kl.index(l) for l in kn if l != G])
    k2 = e.broadcast_into(e.tensor(k2), [sizes[l] for l in kn], [kn.index(G)])
    out_labels = [G if l == H else l for l in sl]
    return _emit_einsum(tx, f"{''.join(qn)},{''.join(kn)}->{''.join(out_labels)}", [q2, k2],
                        [sizes[l] for l in out_labels], d.dtype, scale=scale)


def pv(tx: Any, equation: str, d: Deferred, v: Any, shape: Sequence[int], dtype: str) -> Optional[Any]:
    """mix(P) V as (P V_all) mixed (+ bias · Σ_j V)."""
    from .linalg import _emit_einsum
    e = tx.e
    if d.kind != "headmix-probs":
        return None
    terms = _einsum_terms(equation)
    if terms is None:
        return None
    (dl, vl), ol = terms
    p = d.parts
    xl, h, yl = p["xl"], p["head"], p["yl"]
    g = mixed_label(d)
    if len(dl) != len(yl) or len(set(dl)) != len(dl):
        return None
    to_pv = dict(zip(yl, dl))
    Gp = to_pv[g]
    if Gp not in vl or Gp not in ol:
        return None
    Z = fresh_label(dl, vl, ol)
    pl = [Z if l == h else to_pv[l] for l in xl]
    keys = [l for l in dl if l in vl and l not in ol]
    if len(keys) != 1:
        return None
    batch = [l for l in pl if l in vl and l in ol]
    values = [l for l in vl if l not in pl]
    sizes = dict(zip(dl, d.shape))
    sizes.update(zip(vl, shape_of(v)))
    sizes[Z] = shape_of(p["weight"])[0]
    v_labels = batch + [Z] + keys + values
    v2 = e.permute(v, [vl.index(l) for l in v_labels if l != Z])
    v2 = e.broadcast_into(e.tensor(v2), [sizes[l] for l in v_labels], [v_labels.index(Z)])
    o_labels = [l for l in pl if l not in keys] + values
    o = _emit_einsum(tx, f"{''.join(pl)},{''.join(v_labels)}->{''.join(o_labels)}", [p["x"], v2],
                     [sizes[l] for l in o_labels], dtype)
    out = e.einsum(f"{''.join(o_labels)},{Z}{Gp}->{''.join(ol)}", [o, p["weight"]], shape, dtype)
    if p["bias"] is not None:
        # + b_g Σ_j v[..., g, j, ...]: the sum over keys, laid out as the output.
        vsum_labels = [l for l in vl if l not in keys]
        vsum = e.reduce("sum", v, [vl.index(k) for k in keys])
        kept = [l for l in ol if l in vsum_labels]
        vsum = e.permute(vsum, [vsum_labels.index(l) for l in kept])
        vsum = e.reshape(vsum, [sizes[l] if l in vsum_labels else 1 for l in ol])
        bias = e.reshape(p["bias"], [sizes[Gp] if l == Gp else 1 for l in ol])
        out = e.arith("add", out, e.arith("mul", vsum, bias, shape, dtype), shape, dtype)
    return out
