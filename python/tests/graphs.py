"""Graphs G1-G9 of DESIGN.md section 1, written as ordinary PyTorch modules.

Each ``make_*`` returns (module in eval mode, example inputs). Shapes are small
so the whole suite stays fast on two cores.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from einops import rearrange


def _seed(seed: int) -> torch.Generator:
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


# G1 -------------------------------------------------------------------------
class ViTAttention(nn.Module):
    """lucidrains/vit-pytorch's Attention block."""

    def __init__(self, dim: int, heads: int = 8, dim_head: int = 64, dropout: float = 0.0) -> None:
        super().__init__()
        inner = dim_head * heads
        project_out = not (heads == 1 and dim_head == dim)
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.attend = nn.Softmax(dim=-1)
        self.dropout = nn.Dropout(dropout)
        self.to_qkv = nn.Linear(dim, inner * 3, bias=False)
        self.to_out = nn.Sequential(nn.Linear(inner, dim), nn.Dropout(dropout)) if project_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = map(lambda t: rearrange(t, "b n (h d) -> b h n d", h=self.heads), (q, k, v))
        dots = torch.einsum("bhid,bhjd->bhij", q, k) * self.scale
        attn = self.dropout(self.attend(dots))
        out = torch.einsum("bhij,bhjd->bhid", attn, v)
        out = rearrange(out, "b h n d -> b n (h d)")
        return self.to_out(out)


def make_g1(b: int = 2, n: int = 17, c: int = 64, h: int = 4, d: int = 16):
    _seed(1)
    return ViTAttention(c, heads=h, dim_head=d).eval(), (torch.randn(b, n, c),)


# G2 -------------------------------------------------------------------------
class PatchAttention(nn.Module):
    """G1 with a leading patch axis; scores by matmul(q, k.transpose(-1, -2))."""

    def __init__(self, dim: int, heads: int, dim_head: int) -> None:
        super().__init__()
        self.heads = heads
        self.scale = dim_head ** -0.5
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b p n (h d) -> b p h n d", h=self.heads) for t in (q, k, v))
        dots = torch.matmul(q, k.transpose(-1, -2)) * self.scale
        attn = dots.softmax(dim=-1)
        out = torch.matmul(attn, v)
        return self.to_out(rearrange(out, "b p h n d -> b p n (h d)"))


def make_g2(b: int = 2, p: int = 3, n: int = 9, c: int = 32, h: int = 2, d: int = 16):
    _seed(2)
    return PatchAttention(c, h, d).eval(), (torch.randn(b, p, n, c),)


# G3 -------------------------------------------------------------------------
class SingleHeadAttention(nn.Module):
    """Q = X Wq, K = X Wk, V = X Wv; softmax(Q K^T / sqrt(d)) V."""

    def __init__(self, d_in: int, d: int) -> None:
        super().__init__()
        self.w_q = nn.Parameter(torch.randn(d_in, d) / math.sqrt(d_in))
        self.w_k = nn.Parameter(torch.randn(d_in, d) / math.sqrt(d_in))
        self.w_v = nn.Parameter(torch.randn(d_in, d) / math.sqrt(d_in))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = x @ self.w_q, x @ self.w_k, x @ self.w_v
        scores = q @ k.transpose(-2, -1) / math.sqrt(k.size(-1))
        return torch.softmax(scores, dim=-1) @ v


def make_g3(b: int = 2, n: int = 12, d_in: int = 24, d: int = 16):
    _seed(3)
    return SingleHeadAttention(d_in, d).eval(), (torch.randn(b, n, d_in),)


# G4 -------------------------------------------------------------------------
class MultiHeadAttention(nn.Module):
    """The Annotated Transformer's MultiHeadedAttention (view + transpose)."""

    def __init__(self, d_model: int, h: int, dropout: float = 0.1) -> None:
        super().__init__()
        assert d_model % h == 0
        self.d_k = d_model // h
        self.h = h
        self.linears = nn.ModuleList([nn.Linear(d_model, d_model) for _ in range(4)])
        self.dropout = nn.Dropout(p=dropout)

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        nbatches = query.size(0)
        query, key, value = [lin(x).view(nbatches, -1, self.h, self.d_k).transpose(1, 2)
                             for lin, x in zip(self.linears, (query, key, value))]
        scores = torch.matmul(query, key.transpose(-2, -1)) / math.sqrt(self.d_k)
        if mask is not None:
            scores = scores.masked_fill(mask == 0, -1e9)
        p_attn = self.dropout(scores.softmax(dim=-1))
        x = torch.matmul(p_attn, value)
        x = x.transpose(1, 2).contiguous().view(nbatches, -1, self.h * self.d_k)
        return self.linears[-1](x)


def make_g4(masked: bool, b: int = 2, sq: int = 7, sk: int = 11, d_model: int = 32, h: int = 4):
    _seed(4)
    inputs: Tuple[torch.Tensor, ...] = (torch.randn(b, sq, d_model), torch.randn(b, sk, d_model),
                                        torch.randn(b, sk, d_model))
    if masked:
        mask = torch.rand(b, 1, sq, sk) > 0.3
        mask[..., 0] = True  # every query keeps at least one key
        inputs = inputs + (mask,)
    return MultiHeadAttention(d_model, h).eval(), inputs


# G5 -------------------------------------------------------------------------
class CausalSelfAttention(nn.Module):
    """Decoder self-attention: positions j > i masked with a triu mask."""

    def __init__(self, d_model: int, h: int) -> None:
        super().__init__()
        self.h = h
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.proj = nn.Linear(d_model, d_model)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        q, k, v = self.qkv(x).split(c, dim=2)
        q = q.view(b, n, self.h, c // self.h).transpose(1, 2)
        k = k.view(b, n, self.h, c // self.h).transpose(1, 2)
        v = v.view(b, n, self.h, c // self.h).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(k.size(-1)))
        causal = torch.triu(torch.ones(n, n, dtype=torch.bool), diagonal=1)
        att = att.masked_fill(causal, float("-inf"))
        att = F.softmax(att, dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(b, n, c)
        return self.proj(y)


def make_g5(b: int = 2, n: int = 10, d_model: int = 32, h: int = 4):
    _seed(5)
    return CausalSelfAttention(d_model, h).eval(), (torch.randn(b, n, d_model),)


# G6 -------------------------------------------------------------------------
class PaddedAttention(nn.Module):
    """Scaled dot-product attention with a key padding mask from valid lengths."""

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, valid_lens: torch.Tensor) -> torch.Tensor:
        d = q.shape[-1]
        scores = torch.bmm(q, k.transpose(1, 2)) / math.sqrt(d)
        keep = torch.arange(k.shape[1])[None, :] < valid_lens[:, None]
        scores = scores.masked_fill(~keep[:, None, :], float("-inf"))
        return torch.bmm(F.softmax(scores, dim=-1), v)


def make_g6(b: int = 3, sq: int = 5, sk: int = 8, d: int = 16):
    _seed(6)
    valid = torch.tensor([8, 3, 0][:b], dtype=torch.int64)  # batch 2: every key masked
    return PaddedAttention().eval(), (torch.randn(b, sq, d), torch.randn(b, sk, d), torch.randn(b, sk, d), valid)


# G7 -------------------------------------------------------------------------
class AdditiveAttention(nn.Module):
    """Bahdanau attention (d2l.ai): w_v^T tanh(W_q q + W_k k), masked softmax."""

    def __init__(self, key_size: int, query_size: int, num_hiddens: int) -> None:
        super().__init__()
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.w_v = nn.Linear(num_hiddens, 1, bias=False)
        self.dropout = nn.Dropout(0.1)

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor,
                valid_lens: torch.Tensor) -> torch.Tensor:
        queries, keys = self.W_q(queries), self.W_k(keys)
        features = torch.tanh(queries.unsqueeze(2) + keys.unsqueeze(1))
        scores = self.w_v(features).squeeze(-1)
        mask = torch.arange(scores.shape[-1])[None, None, :] < valid_lens[:, None, None]
        scores = torch.where(mask, scores, torch.tensor(-1e6))
        attention_weights = F.softmax(scores, dim=-1)
        return torch.bmm(self.dropout(attention_weights), values)


def make_g7(b: int = 2, nq: int = 3, nk: int = 6, dq: int = 10, dk: int = 12, hidden: int = 8, dv: int = 4):
    _seed(7)
    module = AdditiveAttention(dk, dq, hidden).eval()
    return module, (torch.randn(b, nq, dq), torch.randn(b, nk, dk), torch.randn(b, nk, dv),
                    torch.tensor([2, 6][:b]))


# G8 -------------------------------------------------------------------------
class NadarayaWatson(nn.Module):
    """Kernel regression: softmax(-((x - x_i) w)^2 / 2) over keys, sum alpha_i y_i."""

    def __init__(self, parametric: bool) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.rand(1) + 0.5) if parametric else None

    def forward(self, queries: torch.Tensor, keys: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
        diff = queries.unsqueeze(1) - keys.unsqueeze(0)
        if self.w is not None:
            diff = diff * self.w
        attention_weights = F.softmax(-(diff ** 2) / 2, dim=1)
        return attention_weights @ values


def make_g8(parametric: bool, n_test: int = 20, n_train: int = 30):
    _seed(8)
    x_train = torch.sort(torch.rand(n_train) * 5).values
    y_train = 2 * torch.sin(x_train) + x_train ** 0.8 + torch.randn(n_train) * 0.5
    x_test = torch.arange(0, 5, 5 / n_test)[:n_test]
    return NadarayaWatson(parametric).eval(), (x_test, x_train, y_train)


# G9 -------------------------------------------------------------------------
class SinusoidalPositionalEncoding(nn.Module):
    def __init__(self, dim: int, max_len: int = 64) -> None:
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
        pe = torch.zeros(1, max_len, dim)
        pe[0, :, 0::2] = torch.sin(position * div_term)
        pe[0, :, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.pe[:, : x.size(1)]


class EncoderLayer(nn.Module):
    """Pre-norm Transformer encoder layer (ViT style) on sinusoidal positions."""

    def __init__(self, dim: int, heads: int, dim_head: int, mlp_dim: int) -> None:
        super().__init__()
        self.pos = SinusoidalPositionalEncoding(dim)
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ViTAttention(dim, heads=heads, dim_head=dim_head)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, mlp_dim), nn.GELU(), nn.Dropout(0.1), nn.Linear(mlp_dim, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pos(x)
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def make_g9(b: int = 2, n: int = 17, dim: int = 32, heads: int = 4, dim_head: int = 8, mlp_dim: int = 64):
    _seed(9)
    module = EncoderLayer(dim, heads, dim_head, mlp_dim).eval()
    with torch.no_grad():  # non-trivial LayerNorm affine parameters
        for norm in (module.norm1, module.norm2):
            norm.weight.add_(torch.randn_like(norm.weight) * 0.1)
            norm.bias.add_(torch.randn_like(norm.bias) * 0.1)
    return module, (torch.randn(b, n, dim),)


GRAPHS = {
    "G1": make_g1,
    "G2": make_g2,
    "G3": make_g3,
    "G4-cross": lambda: make_g4(masked=False),
    "G4-mask": lambda: make_g4(masked=True),
    "G5": make_g5,
    "G6": make_g6,
    "G7": make_g7,
    "G8-w1": lambda: make_g8(parametric=False),
    "G8-param": lambda: make_g8(parametric=True),
    "G9": make_g9,
}
