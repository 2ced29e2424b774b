"""Plain numpy (float64) reference implementations used by the tests.

Semantics follow the attn dialect: softmax is max-subtracted and a slice whose
every entry is -inf gives 0, not NaN (PyTorch gives NaN there).
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

import einops


def softmax(x: np.ndarray, axis: int = -1) -> np.ndarray:
    """Max-subtracted softmax; an all -inf slice gives 0."""
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    e = np.exp(x - m)
    s = np.sum(e, axis=axis, keepdims=True)
    return np.divide(e, s, out=np.zeros_like(e), where=s > 0)


def attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: Optional[np.ndarray] = None,
              scale: Optional[float] = None, causal: bool = False) -> np.ndarray:
    """softmax(scale * q k^T + mask) v over the last two axes ([..., S, D]).

    A boolean mask keeps the keys where it is true; a float mask is added.
    The causal mask keeps j <= i (top-left aligned, as PyTorch's is_causal).
    """
    q, k, v = (np.asarray(t, dtype=np.float64) for t in (q, k, v))
    if scale is None:
        scale = 1.0 / math.sqrt(q.shape[-1])
    s = scale * np.einsum("...id,...jd->...ij", q, k)
    if mask is not None:
        mask = np.asarray(mask)
        s = np.where(mask, s, -np.inf) if mask.dtype == np.bool_ else s + mask
    if causal:
        sq, sk = s.shape[-2:]
        s = np.where(np.tril(np.ones((sq, sk), dtype=bool)), s, -np.inf)
    return np.einsum("...ij,...jd->...id", softmax(s, -1), v)


def linear(x: np.ndarray, weight: np.ndarray, bias: Optional[np.ndarray] = None) -> np.ndarray:
    """nn.Linear: x @ weight.T + bias (weight is [out, in])."""
    y = np.asarray(x, np.float64) @ np.asarray(weight, np.float64).T
    return y + np.asarray(bias, np.float64) if bias is not None else y


def layer_norm(x: np.ndarray, weight: Optional[np.ndarray] = None, bias: Optional[np.ndarray] = None,
               eps: float = 1e-5) -> np.ndarray:
    """LayerNorm over the last axis (biased variance, as PyTorch)."""
    x = np.asarray(x, np.float64)
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    if weight is not None:
        y = y * np.asarray(weight, np.float64)
    if bias is not None:
        y = y + np.asarray(bias, np.float64)
    return y


def gelu(x: np.ndarray) -> np.ndarray:
    """Exact GELU: x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2))."""
    x = np.asarray(x, np.float64)
    erf = np.vectorize(math.erf)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def rearrange(x: np.ndarray, pattern: str, **sizes: int) -> np.ndarray:
    """einops.rearrange on numpy arrays (the real einops package)."""
    return einops.rearrange(np.asarray(x), pattern, **sizes)


def vit_attention(x: np.ndarray, w_qkv: np.ndarray, w_out: Optional[np.ndarray], b_out: Optional[np.ndarray],
                  heads: int) -> np.ndarray:
    """G1 in float64: the ViT multi-head self-attention block."""
    qkv = linear(x, w_qkv)
    q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=heads) for t in np.split(qkv, 3, axis=-1))
    out = rearrange(attention(q, k, v), "b h n d -> b n (h d)")
    return linear(out, w_out, b_out) if w_out is not None else out
