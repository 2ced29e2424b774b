"""F.scaled_dot_product_attention and the backend ops PyTorch records for it.

Each becomes one ``attn.attention``: it *is* attention, so nothing needs to
be recognised. A boolean mask keeps where true, a float mask is added,
``is_causal`` is the causal flag (top-left aligned, as PyTorch), ``scale``
defaults to 1/sqrt(E). Grouped-query attention (fewer key/value heads,
``enable_gqa``) reads each key/value head in place for its query heads,
through the op's indexing maps (with a broadcasting mask, the heads are
repeated instead).
"""

from __future__ import annotations

from ..ir import Unavailable, dtype_of, shape_of
from . import aten


def _attention(tx, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa, results):
    e = tx.e
    shape, dtype = tx.meta(0) if results > 1 else tx.meta()
    if float(dropout_p or 0.0) > 0.0:
        raise tx.error("attention dropout (dropout_p > 0: pass 0.0 in eval mode)")
    qs, ks, vs = shape_of(query), shape_of(key), shape_of(value)
    if len(qs) < 2 or len(ks) < 2 or len(vs) < 2 or qs[-1] != ks[-1] or ks[-2] != vs[-2]:
        raise tx.error(f"query/key/value shapes {list(qs)}, {list(ks)}, {list(vs)}")
    rank = max(len(qs), len(ks), len(vs))
    lead_q = [1] * (rank - len(qs)) + list(qs[:-2])
    lead_k = [1] * (rank - len(ks)) + list(ks[:-2])
    lead_v = [1] * (rank - len(vs)) + list(vs[:-2])
    if rank >= 3 and lead_q[-1] != lead_k[-1] and lead_k[-1] != 1:
        # Grouped-query attention: head h of q reads kv head h // (Hq/Hkv).
        hq, hkv = lead_q[-1], lead_k[-1]
        if not enable_gqa or hq % hkv or lead_v[-1] != hkv:
            raise tx.error(f"{hq} query heads and {hkv} key/value heads (pass enable_gqa=True)")
        if _mask_is_full(attn_mask, rank, lead_q, qs[-2], ks[-2]):
            return _grouped(tx, query, key, value, attn_mask, is_causal, scale, rank, lead_q, lead_k, lead_v,
                            hq // hkv, shape, dtype, results)
        # A mask that broadcasts (size-1 dimensions): its maps would need
        # constant results, which the attention tiling does not slice yet;
        # the key/value heads are repeated instead.
        key = _repeat_heads(tx, key, hq // hkv)
        value = _repeat_heads(tx, value, hq // hkv)
        ks, vs = shape_of(key), shape_of(value)
        lead_k = [1] * (rank - len(ks)) + list(ks[:-2])
        lead_v = [1] * (rank - len(vs)) + list(vs[:-2])
    batch = [max(a, b, c) for a, b, c in zip(lead_q, lead_k, lead_v)]
    if attn_mask is not None and len(shape_of(attn_mask)) > 2:
        ml = list(shape_of(attn_mask))[:-2]
        ml = [1] * (rank - 2 - len(ml)) + ml
        batch = [max(a, m) for a, m in zip(batch, ml)]
    sq, sk, d, dv = qs[-2], ks[-2], qs[-1], vs[-1]
    q = e.broadcast(query, batch + [sq, d], dtype)
    k = e.broadcast(key, batch + [sk, d], dtype)
    v = e.broadcast(value, batch + [sk, dv], dtype)
    mask = None
    if attn_mask is not None:
        ms = list(shape_of(attn_mask))
        ms = [1] * (rank - len(ms)) + ms
        # Broadcast dims stay 1 (the op broadcasts them), others must match.
        target = [m if m == 1 else full for m, full in zip(ms, batch + [sq, sk])]
        mdtype = "i1" if dtype_of(attn_mask) == "i1" else dtype
        mask = e.broadcast(e.reshape(attn_mask, ms), target, mdtype)
    factor = float(scale) if scale is not None else d ** -0.5
    out = e.attention(q, k, v, mask, factor, bool(is_causal), batch + [sq, dv], dtype)
    out = e.reshape(out, shape)
    if results == 1:
        return out
    return (out,) + tuple(Unavailable(f"result {i} of {tx.node.target}") for i in range(1, results))


def _mask_is_full(attn_mask, rank, lead_q, sq, sk) -> bool:
    """No mask, or one with no broadcast (size-1) dimension against q's."""
    if attn_mask is None:
        return True
    ms = list(shape_of(attn_mask))
    ms = [1] * (rank - len(ms)) + ms
    return all(m == full for m, full in zip(ms, list(lead_q) + [sq, sk]))


def _repeat_heads(tx, x, groups):
    """[..., Hkv, S, D] -> [..., Hkv * groups, S, D], each head repeated
    ``groups`` times in a row (repeat_interleave on the head axis)."""
    e = tx.e
    s = list(shape_of(x))
    split = s[:-2] + [1] + s[-2:]
    target = s[:-2] + [groups] + s[-2:]
    return e.reshape(e.broadcast(e.reshape(x, split), target), s[:-3] + [s[-3] * groups] + s[-2:])


def _grouped(tx, query, key, value, attn_mask, is_causal, scale, rank, lead_q, lead_k, lead_v, groups, shape,
             dtype, results):
    """GQA with the keys and values read in place: q [..., Hkv * G, S, D]
    is viewed as [..., Hkv, G, S, D] (a split, no copy) and attn.attention
    gets indexing maps whose k and v maps leave out the group dimension, so
    each key/value head serves its G query heads without being repeated."""
    e = tx.e
    qs, ks, vs = shape_of(query), shape_of(key), shape_of(value)
    sq, sk, d, dv = qs[-2], ks[-2], qs[-1], vs[-1]
    hkv = lead_k[-1]
    outer = [max(a, b, c) for a, b, c in zip(lead_q[:-1], lead_k[:-1], lead_v[:-1])]
    ms = None
    if attn_mask is not None:
        ms = list(shape_of(attn_mask))
        ms = [1] * (rank - len(ms)) + ms
        outer = [max(a, m) for a, m in zip(outer, ms[:-3])]
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
        heads = ms[-3]
        if heads not in (1, hkv * groups):
            raise tx.error(f"mask with {heads} heads for {hkv * groups} query heads")
        split = ms[:-3] + ([1, 1] if heads == 1 else [hkv, groups]) + ms[-2:]
        target = [m if m == 1 else full for m, full in zip(split, outer + [hkv, groups, sq, sk])]
        mdtype = "i1" if dtype_of(attn_mask) == "i1" else dtype
        mask = e.broadcast(e.reshape(attn_mask, split), target, mdtype)
        maps.append(amap(batch + ["m", "k2"]))
    maps.append(amap(batch + ["m", "n"]))
    factor = float(scale) if scale is not None else d ** -0.5
    out = e.attention(q, k, v, mask, factor, bool(is_causal), outer + [hkv, groups, sq, dv], dtype, maps=maps)
    out = e.reshape(out, shape)
    if results == 1:
        return out
    return (out,) + tuple(Unavailable(f"result {i} of {tx.node.target}") for i in range(1, results))


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
