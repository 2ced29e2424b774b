"""The GPU benchmark's cases and their attn-dialect IR.

Shared by bench/gpu-prepare.sh (which compiles each case here, where LLVM
and MLIR are) and bench/gpu_bench.py (which runs the compiled libraries on
the GPU machine, where they are not). Standard library only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Optional


@dataclass
class AttentionCase:
    """One attn.attention over [b, h, s, d] tensors."""
    name: str
    b: int
    h: int
    sq: int
    sk: int
    d: int
    dtype: str                      # "bf16" or "f16"
    causal: bool = False
    mask: Optional[str] = None      # None, "bool" [b,1,sq,sk], "additive" [b,1,1,sk]
    purpose: str = "check"          # "check" (vs SDPA in f32) or "perf"
    pipeline: str = ""              # extra --gpu-pipeline options (warps, stages)
    kind: str = "attention"

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.d)

    def flops(self) -> float:
        f = 4.0 * self.b * self.h * self.sq * self.sk * self.d
        return f / 2 if self.causal else f

    def mask_shape(self) -> Optional[list]:
        if self.mask == "bool":
            return [self.b, 1, self.sq, self.sk]
        if self.mask == "additive":
            return [self.b, 1, 1, self.sk]
        return None

    def inputs(self) -> list:
        q = {"shape": [self.b, self.h, self.sq, self.d], "dtype": self.dtype}
        kv = {"shape": [self.b, self.h, self.sk, self.d], "dtype": self.dtype}
        out = [q, kv, kv]
        if self.mask:
            out.append({"shape": self.mask_shape(),
                        "dtype": "i1" if self.mask == "bool" else self.dtype})
        return out

    def outputs(self) -> list:
        return [{"shape": [self.b, self.h, self.sq, self.d],
                 "dtype": self.dtype}]

    def mlir(self) -> str:
        t = self.dtype
        q = f"tensor<{self.b}x{self.h}x{self.sq}x{self.d}x{t}>"
        kv = f"tensor<{self.b}x{self.h}x{self.sk}x{self.d}x{t}>"
        args = [f"%q: {q}", f"%k: {kv}", f"%v: {kv}"]
        types = [q, kv, kv]
        mask = ""
        if self.mask:
            shape = "x".join(str(s) for s in self.mask_shape())
            mt = f"tensor<{shape}x{'i1' if self.mask == 'bool' else t}>"
            args.append(f"%m: {mt}")
            types.append(mt)
            mask = f" mask(%m : {mt})"
        causal = " causal" if self.causal else ""
        return (f"func.func @attention({', '.join(args)}) -> {q} {{\n"
                f"  %init = tensor.empty() : {q}\n"
                f"  %0 = attn.attention ins(%q, %k, %v : {q}, {kv}, {kv}){mask}\n"
                f"      outs(%init : {q}) scale({self.scale!r}){causal} -> {q}\n"
                f"  return %0 : {q}\n}}\n")


@dataclass
class G1Case:
    """The ViT attention block of DESIGN.md (G1), b7 n257 c512 h8 d64, in
    bf16: qkv projection, attention, output projection with bias."""
    name: str = "g1_vit_block_bf16"
    b: int = 7
    n: int = 257
    c: int = 512
    h: int = 8
    dtype: str = "bf16"
    purpose: str = "model"
    pipeline: str = ""
    kind: str = "g1"

    def flops(self) -> float:
        d = self.c // self.h
        gemms = 2.0 * self.b * self.n * self.c * (3 * self.c + self.c)
        return gemms + 4.0 * self.b * self.h * self.n * self.n * d

    def inputs(self) -> list:
        t = self.dtype
        return [{"shape": [self.b, self.n, self.c], "dtype": t},
                {"shape": [3 * self.c, self.c], "dtype": t},
                {"shape": [self.c, self.c], "dtype": t},
                {"shape": [self.c], "dtype": t}]

    def outputs(self) -> list:
        return [{"shape": [self.b, self.n, self.c], "dtype": self.dtype}]

    def mlir(self) -> str:
        b, n, c, h, t = self.b, self.n, self.c, self.h, self.dtype
        d = c // h
        x = f"tensor<{b}x{n}x{c}x{t}>"
        return f"""func.func @vit_attention(%x: {x}, %w_qkv: tensor<{3*c}x{c}x{t}>,
                         %w_out: tensor<{c}x{c}x{t}>, %b_out: tensor<{c}x{t}>) -> {x} {{
  %qkv = attn.einsum "b n c, o c -> b n o" (%x, %w_qkv)
      : ({x}, tensor<{3*c}x{c}x{t}>) -> tensor<{b}x{n}x{3*c}x{t}>
  %q0 = tensor.extract_slice %qkv[0, 0, 0] [{b}, {n}, {c}] [1, 1, 1] : tensor<{b}x{n}x{3*c}x{t}> to {x}
  %k0 = tensor.extract_slice %qkv[0, 0, {c}] [{b}, {n}, {c}] [1, 1, 1] : tensor<{b}x{n}x{3*c}x{t}> to {x}
  %v0 = tensor.extract_slice %qkv[0, 0, {2*c}] [{b}, {n}, {c}] [1, 1, 1] : tensor<{b}x{n}x{3*c}x{t}> to {x}
  %q = attn.rearrange %q0 "b n (h d) -> b h n d" {{h = {h}}} : {x} -> tensor<{b}x{h}x{n}x{d}x{t}>
  %k = attn.rearrange %k0 "b n (h d) -> b h n d" {{h = {h}}} : {x} -> tensor<{b}x{h}x{n}x{d}x{t}>
  %v = attn.rearrange %v0 "b n (h d) -> b h n d" {{h = {h}}} : {x} -> tensor<{b}x{h}x{n}x{d}x{t}>
  %dots = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale({1.0 / math.sqrt(d)!r})
      : (tensor<{b}x{h}x{n}x{d}x{t}>, tensor<{b}x{h}x{n}x{d}x{t}>) -> tensor<{b}x{h}x{n}x{n}x{t}>
  %attn = attn.softmax %dots axis(-1) : tensor<{b}x{h}x{n}x{n}x{t}>
  %mixed = attn.einsum "b h i j, b h j d -> b h i d" (%attn, %v)
      : (tensor<{b}x{h}x{n}x{n}x{t}>, tensor<{b}x{h}x{n}x{d}x{t}>) -> tensor<{b}x{h}x{n}x{d}x{t}>
  %merged = attn.rearrange %mixed "b h n d -> b n (h d)" : tensor<{b}x{h}x{n}x{d}x{t}> -> {x}
  %proj = attn.einsum "b n c, o c -> b n o" (%merged, %w_out)
      : ({x}, tensor<{c}x{c}x{t}>) -> {x}
  %init = tensor.empty() : {x}
  %bias = linalg.broadcast ins(%b_out : tensor<{c}x{t}>) outs(%init : {x}) dimensions = [0, 1]
  %y = arith.addf %proj, %bias : {x}
  return %y : {x}
}}
"""


def all_cases() -> list:
    cases: list = []
    # Correctness: every kernel variant the pipeline emits, against SDPA in
    # f32, at lengths that are not multiples of the tiles.
    for chip, suffix in (("", ""), ("chip=sm_90a", "_sm90a")):
        for dtype in ("bf16", "f16"):
            for d in (64, 128):
                for causal, mask in ((False, None), (True, None),
                                     (False, "bool"), (True, "additive")):
                    tag = ("causal" if causal else "full") + \
                        (f"_{mask}" if mask else "")
                    cases.append(AttentionCase(
                        f"check_{dtype}_d{d}_{tag}{suffix}", b=2, h=3,
                        sq=1000, sk=1000, d=d, dtype=dtype, causal=causal,
                        mask=mask, pipeline=chip))
    # Cross-attention lengths and the other tile configurations.
    cases.append(AttentionCase("check_bf16_d128_q333_k1500", 1, 4, 333, 1500,
                               128, "bf16"))
    cases.append(AttentionCase("check_bf16_d128_causal_w8s3", 2, 3, 1000,
                               1000, 128, "bf16", causal=True,
                               pipeline="warps=8 stages=3"))
    cases.append(AttentionCase("check_f16_d64_w8s3", 2, 3, 1000, 1000, 64,
                               "f16", pipeline="warps=8 stages=3"))
    cases.append(AttentionCase("check_bf16_d128_causal_w8s3_sm90a", 2, 3,
                               1000, 1000, 128, "bf16", causal=True,
                               pipeline="chip=sm_90a warps=8 stages=3"))
    # Throughput: the shapes, each in three tile configurations so
    # the run picks the best.
    shapes = [("b4_h16_n4096_d128", 4, 16, 4096, 128, False),
              ("b4_h16_n4096_d128_causal", 4, 16, 4096, 128, True),
              ("b4_h16_n4096_d64", 4, 16, 4096, 64, False),
              ("b4_h16_n4096_d64_causal", 4, 16, 4096, 64, True),
              ("b1_h16_n16384_d128_causal", 1, 16, 16384, 128, True)]
    # sm_90 (mma.sync) and sm_90a (wgmma) kernels.
    variants = [("w4s2", "warps=4 stages=2"), ("w4s3", "warps=4 stages=3"),
                ("w8s2", "warps=8 stages=2"),
                ("a90w4s2", "chip=sm_90a warps=4 stages=2"),
                ("a90w8s2", "chip=sm_90a warps=8 stages=2"),
                ("a90w8s3", "chip=sm_90a warps=8 stages=3")]
    for name, b, h, n, d, causal in shapes:
        for vname, options in variants:
            cases.append(AttentionCase(f"perf_{name}_{vname}", b, h, n, n, d,
                                       "bf16", causal=causal, purpose="perf",
                                       pipeline=options))
    # Models: G1 whole, and the attention shapes of G1 and vit_b_16 alone
    # (vit_b_16's attention is swapped into the PyTorch model).
    cases.append(G1Case())
    cases.append(G1Case(name="g1_vit_block_bf16_sm90a",
                        pipeline="chip=sm_90a"))
    cases.append(AttentionCase("attn_g1_b7_h8_n257_d64", 7, 8, 257, 257, 64,
                               "bf16", purpose="model"))
    cases.append(AttentionCase("attn_vit_b16_b1_h12_n197_d64", 1, 12, 197,
                               197, 64, "bf16", purpose="model"))
    return cases


def describe(case) -> dict:
    record = asdict(case)
    record["inputs"] = case.inputs()
    record["outputs"] = case.outputs()
    record["flops"] = case.flops()
    if case.kind == "attention":
        record["scale"] = case.scale
    record["entry"] = "attention" if case.kind == "attention" else \
        "vit_attention"
    return record
