"""F.scaled_dot_product_attention and the backend ops PyTorch records for it.

Each becomes one ``attn.attention``: it *is* attention, so nothing needs to
be recognised. A boolean mask keeps where true, a float mask is added,
``is_causal`` is the causal flag (top-left aligned, as PyTorch), ``scale``
defaults to 1/sqrt(E). Grouped-query attention (fewer key/value heads,
``enable_gqa``) reads each key/value head in place for its query heads,
through the op's indexing maps, and so is a mask broadcast over batch or
heads (its size-1 dimensions are read at a constant 0).
"""

from __future__ import annotations

from ..ir import Unavailable, dtype_of, shape_of
from . import aten


def _padded(shape, rank):
    """``shape`` with leading 1s up to ``rank`` dimensions (broadcasting)."""
    return [1] * (rank - len(shape)) + list(shape)


def _mask_dtype(attn_mask, dtype):
    """A boolean mask stays i1 (keep where true); a float one is added in
    the attention's element type."""
    return "i1" if dtype_of(attn_mask) == "i1" else dtype


def _results(tx, out, shape, results):
    """The op's results: the output in its recorded shape, then the
    auxiliary results (logsumexp ...) the translation does not compute."""
    out = tx.e.reshape(out, shape)
    if results == 1:
        return out
    return (out,) + tuple(Unavailable(f"result {i} of {tx.node.target}") for i in range(1, results))


def _attention(tx, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, results):
    e = tx.e
    shape, dtype = tx.meta(0) if results > 1 else tx.meta()
    if float(dropout_p or 0.0) > 0.0:
        raise tx.error("attention dropout (dropout_p > 0: pass 0.0 in eval mode)")
    qs, ks, vs = shape_of(query), shape_of(key), shape_of(value)
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2 or qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise tx.error(f"query/key/value shapes {list(qs)}, {list(ks)}, {list(vs)}")
    rank = max(len(qs), len(ks), len(vs))
    lead_q, lead_k, lead_v = (_padded(s, rank)[:-2] for s in (qs, ks, vs))
    ms = _padded(shape_of(attn_mask), rank) if attn_mask is not None else None
    sq, sk, d, dv = qs[-2], ks[-2], qs[-1], vs[-1]
    factor = float(scale) if scale is not None else d ** -0.5
    if rank >= 3 and lead_q[-1] != lead_k[-1] and lead_k[-1] != 1:
        # Grouped-query attention: head h of q reads kv head h // (Hq/Hkv).
        hq, hkv = lead_q[-1], lead_k[-1]
        if not enable_gqa or hq % hkv or lead_v[-1] != hkv:
            raise tx.error(f"{hq} query heads and {hkv} key/value heads (pass enable_gqa=True)")
        out = _grouped(tx, query, key, value, attn_mask, ms, factor, bool(is_causal), lead_q, lead_k, lead_v,
                       hq // hkv, dtype)
        return _results(tx, out, shape, results)
    batch = [max(a, b, c) for a, b, c in zip(lead_q, lead_k, lead_v)]
    if ms is not None:
        batch = [max(a, m) for a, m in zip(batch, ms[:-2])]
    q = e.broadcast(query, batch + [sq, d], dtype)
    k = e.broadcast(key, batch + [sk, d], dtype)
    v = e.broadcast(value, batch + [sk, dv], dtype)
    mask = None
    if ms is not None:
        # Broadcast dims stay 1 (the op broadcasts them), others must match.
        target = [m if m == 1 else full for m, full in zip(ms, batch + [sq, sk])]
        mask = e.broadcast(e.reshape(attn_mask, ms), target, _mask_dtype(attn_mask, dtype))
    out = e.attention(q, k, v, mask, factor, bool(is_causal), batch + [sq, dv], dtype)
    return _results(tx, out, shape, results)


def _grouped(tx, query, key, value, attn_mask, ms, factor, causal, lead_q, lead_k, lead_v, groups, dtype):
    """GQA with the keys and values read in place: q [..., Hkv * G, S, D]
    is viewed as [..., Hkv, G, S, D] (a split, no copy) and attn.attention
    gets indexing maps whose k and v maps leave out the group dimension, so
    each key/value head serves its G query heads without being repeated.
    ``ms``: the mask's shape (rank-padded) when there is one; its size-1
    dimensions (a mask broadcast over batch, heads, queries or keys) are
    read at a constant 0, so it is read in place too."""
    e = tx.e
    qs, ks, vs = shape_of(query), shape_of(key), shape_of(value)
    sq, sk, d, dv = qs[-2], ks[-2], qs[-1], vs[-1]
    hkv = lead_k[-1]
    outer = [max(a, b, c) for a, b, c in zip(lead_q[:-1], lead_k[:-1], lead_v[:-1])]
    q = e.reshape(e.broadcast(query, outer + [hkv * groups, sq, d], dtype), outer + [hkv, groups, sq, d])
    k = e.broadcast(key, outer + [hkv, sk, d], dtype)
    v = e.broadcast(value, outer + [hkv, sk, dv], dtype)
    nb = len(outer) + 2  # batch dims of the domain: outer..., kv head, group
    dims = [f"b{i}" for i in range(nb)] + ["m", "k1", "k2", "n"]
    domain = "(" + ", ".join(dims) + ")"
    batch = dims[:nb]
    kv_batch = batch[:-1]

    def amap(results_):
        return f"affine_map<{domain} -> ({', '.join(results_)})>"
    maps = [amap(batch + ["m", "k1"]), amap(kv_batch + ["k2", "k1"]), amap(kv_batch + ["k2", "n"])]
    mask = None
    if ms is not None:
        # Size-1 dimensions read at 0; a mask with every query head has it
        # split like q's.
        mask_shape, results_ = [], []
        for size, name in zip(ms[:-3], batch[:-2]):
            mask_shape.append(size)
            results_.append("0" if size == 1 else name)
        if ms[-3] == 1:
            mask_shape.append(1)
            results_.append("0")
        else:
            mask_shape += [hkv, groups]
            results_ += batch[-2:]
        for size, name in zip(ms[-2:], ["m", "k2"]):
            mask_shape.append(size)
            results_.append("0" if size == 1 else name)
        mask = e.broadcast(e.reshape(attn_mask, mask_shape), mask_shape, _mask_dtype(attn_mask, dtype))
        maps.append(amap(results_))
    maps.append(amap(batch + ["m", "n"]))
    return e.attention(q, k, v, mask, factor, causal, outer + [hkv, groups, sq, dv], dtype, maps=maps)


@aten("scaled_dot_product_attention")
def sdpa(tx, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False,
         **_):
    return _attention(tx, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, 1)


@aten("_scaled_dot_product_attention_math")
def sdpa_math(tx, query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, dropout_mask=None,
              scale=None, enable_gqa=False, **_):
    return _attention(tx, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, 2)


@aten("_scaled_dot_product_flash_attention_for_cpu")
def sdpa_flash_cpu(tx, query, key, value, dropout_p=0.0, is_causal=False, attn_mask=None, scale=None, **_):
    return _attention(tx, query, key, value, attn_mask, dropout_p, is_causal, scale, False, 2)


@aten("_scaled_dot_product_flash_attention")
def sdpa_flash(tx, query, key, value, dropout_p=0.0, is_causal=False, return_debug_mask=False, scale=None, **_):
    return _attention(tx, query, key, value, None, dropout_p, is_causal, scale, False,
                      len(tx.node.meta["val"]))


@aten("_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention")
def sdpa_efficient(tx, query, key, value, attn_bias=None, compute_log_sumexp=False, dropout_p=0.0,
                   is_causal=False, scale=None, **_):
    return _attention(tx, query, key, value, attn_bias, dropout_p, is_causal, scale, False,
                      len(tx.node.meta["val"]))
