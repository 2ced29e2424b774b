"""The README's Python example: compile a ViT attention module (G1) with
attn_opt and compare it with eager PyTorch on the same machine.

Run from the repository root after the build:
    .venv/bin/python examples/vit_attention.py
"""

import time

import torch
import torch.nn as nn

import attn_opt
from einops import rearrange


class Attention(nn.Module):  # G1, as vit-pytorch writes it
    def __init__(self, dim: int = 512, heads: int = 8, dim_head: int = 64) -> None:
        super().__init__()
        self.heads, self.scale = heads, dim_head ** -0.5
        self.to_qkv = nn.Linear(dim, 3 * heads * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (rearrange(t, "b n (h d) -> b h n d", h=self.heads) for t in (q, k, v))
        attn = (torch.einsum("bhid,bhjd->bhij", q, k) * self.scale).softmax(dim=-1)
        out = rearrange(torch.einsum("bhij,bhjd->bhid", attn, v), "b h n d -> b n (h d)")
        return self.to_out(out)


def median_ms(fn, runs: int = 15) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[runs // 2] * 1e3


def main() -> None:
    torch.manual_seed(0)
    module, x = Attention().eval(), torch.randn(7, 257, 512)
    compiled = attn_opt.compile(module, (x,))  # cached by IR hash after the first run
    x2 = torch.randn(7, 257, 512)
    with torch.no_grad():
        error = (compiled(x2) - module(x2)).abs().max().item()
        eager = median_ms(lambda: module(x2))
        ours = median_ms(lambda: compiled(x2))
    print(f"max abs error vs eager: {error:.2e}")
    print(f"eager PyTorch {eager:.1f} ms, attn-opt {ours:.1f} ms "
          f"({eager / ours:.2f}x), {torch.get_num_threads()} threads")


if __name__ == "__main__":
    main()
