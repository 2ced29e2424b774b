"""The workloads of the benchmark: what each row computes, its FLOP count, and
how to build its PyTorch module, inputs and (for attn-run) its .mlir.

A row is built inside the worker process that measures it (see bench.py),
deterministically from its parameters, so every peer of a row sees the same
weights and inputs without anything being passed between processes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass(frozen=True)
class Work:
    """One row of the table. ``params`` are JSON-serialisable: the driver
    hands them to a worker, which rebuilds the row with ``build``."""

    key: str
    group: str  # sgemm | attention | g1 | models
    gflop: float
    params: Dict[str, Any] = field(default_factory=dict)
    long: bool = False  # only with --long
    dtype: str = "f32"

    def to_json(self) -> Dict[str, Any]:
        return {"key": self.key, "group": self.group, "gflop": self.gflop,
                "params": self.params, "long": self.long, "dtype": self.dtype}

    @staticmethod
    def from_json(d: Dict[str, Any]) -> "Work":
        return Work(d["key"], d["group"], d["gflop"], d["params"], d["long"], d["dtype"])


@dataclass
class Built:
    """A row ready to measure: the module as people write it and its inputs.

    ``sdpa_module``: the same computation through F.scaled_dot_product_attention
    (attention rows), for the peers whose best path is their fused SDPA.
    ``mlir``: (text, entry, numpy inputs) for attn-run.
    ``reference``: the f32 output every peer is compared with.
    ``ort_mha``: core attention in ONNX Runtime's com.microsoft.MultiHeadAttention
    layout (heads packed in the last dimension): (h, causal).
    ``ort_model_type``: the model type for onnxruntime.transformers.optimizer.
    """

    module: nn.Module
    inputs: Tuple[torch.Tensor, ...]
    sdpa_module: Optional[nn.Module] = None
    mlir: Optional[Tuple[str, str, List[np.ndarray]]] = None
    ort_mha: Optional[Tuple[int, bool]] = None
    ort_model_type: Optional[Tuple[str, int, int]] = None  # (type, heads, hidden)
    reference_fn: Any = None
    _reference: Optional[torch.Tensor] = None

    def reference(self) -> torch.Tensor:
        if self._reference is None:
            with torch.no_grad():
                fn = self.reference_fn or (lambda: self.module(*self.inputs))
                self._reference = as_tensor(fn()).float()
        return self._reference


def as_tensor(x: Any) -> torch.Tensor:
    """The first tensor of a module's output (HF models return structures)."""
    if isinstance(x, torch.Tensor):
        return x
    if isinstance(x, np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(x))
    if isinstance(x, (list, tuple)):
        return as_tensor(x[0])
    if hasattr(x, "to_host"):
        return as_tensor(x.to_host())
    raise TypeError(f"cannot compare an output of type {type(x).__name__}")


# --------------------------------------------------------------------------
# The rows.

ATTENTION_LENGTHS = (257, 1024, 4096)
LONG_ATTENTION_LENGTHS = (8192, 16384)

# Per-image / per-sequence FLOPs (one multiply-add = 2 FLOPs).
def _encoder_gflop(layers: int, c: int, ff: int, n: int, causal: bool) -> float:
    linear = 2 * n * layers * (4 * c * c + 2 * c * ff)
    attention = 4 * layers * n * n * c / (2 if causal else 1)
    return (linear + attention) / 1e9


def all_works() -> List[Work]:
    works = [
        Work("sgemm 2048^3 f32", "sgemm", 2 * 2048**3 / 1e9, {"n": 2048}),
        Work("gemm 2048^3 bf16", "sgemm", 2 * 2048**3 / 1e9, {"n": 2048}, dtype="bf16"),
    ]
    b, n, c, h = 7, 257, 512, 8
    d = c // h
    g1_gflop = (2 * b * n * c * 3 * c + 4 * b * h * n * n * d + 2 * b * n * c * c) / 1e9
    works.append(Work(f"G1 b{b} n{n} c{c} h{h}", "g1", g1_gflop,
                      {"b": b, "n": n, "c": c, "h": h}))
    for n in ATTENTION_LENGTHS + LONG_ATTENTION_LENGTHS:
        for d in (64, 128):
            for causal in (False, True):
                h = 8
                works.append(Work(
                    f"attention h{h} n{n} d{d}{' causal' if causal else ''}", "attention",
                    4 * h * n * n * d / 1e9 / (2 if causal else 1),
                    {"h": h, "n": n, "d": d, "causal": causal},
                    long=n in LONG_ATTENTION_LENGTHS))
    # An elementwise producer whose only user is a Linear (ViT-B sizes): the
    # compiled graph must not lose to itself with fusion turned off.
    for producer, (i, o) in (("x + c", (768, 3072)), ("GELU", (3072, 768)),
                             ("cat", (768, 3072))):
        works.append(Work(f"{producer} -> Linear b1 n197 {i}->{o}", "cliff",
                          2 * 197 * i * o / 1e9, {"producer": producer, "n": 197, "i": i, "o": o}))
    works += [
        Work("vit_b_16 b1", "models", 35.1, {"model": "vit_b_16"}),
        Work("swin_t b1", "models", 8.9, {"model": "swin_t"}),
        Work("BERT-base seq128", "models", _encoder_gflop(12, 768, 3072, 128, False),
             {"model": "bert", "seq": 128}),
        Work("BERT-base seq512", "models", _encoder_gflop(12, 768, 3072, 512, False),
             {"model": "bert", "seq": 512}),
        Work("GPT-2 small prefill seq1024", "models", _encoder_gflop(12, 768, 3072, 1024, True),
             {"model": "gpt2", "seq": 1024}),
    ]
    return works


# --------------------------------------------------------------------------
# Modules.

class WrittenOutAttention(nn.Module):
    """softmax(Q Kᵀ · d^-½ [causal]) V as people write it by hand."""

    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        s = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        if self.causal:
            n = q.shape[-2]
            mask = torch.ones(n, n, dtype=torch.bool, device=q.device).triu(1)
            s = s.masked_fill(mask, float("-inf"))
        return s.softmax(dim=-1) @ v


class SdpaAttention(nn.Module):
    def __init__(self, causal: bool) -> None:
        super().__init__()
        self.causal = causal

    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)


def g1_attention(dim: int, heads: int, dim_head: int) -> nn.Module:
    """G1 as vit-pytorch writes it (einops rearrange, einsum, softmax): the
    README example's module (examples/vit_attention.py), one definition."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / "examples" / "vit_attention.py"
    spec = importlib.util.spec_from_file_location("attn_opt_example_vit_attention", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Attention(dim, heads, dim_head)


class LastHiddenState(nn.Module):
    """An HF model called on input ids, returning the last hidden state (a
    plain tensor: what every exporter and engine here can take)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=input_ids).last_hidden_state


def torchvision_features(name: str, dtype: torch.dtype) -> Tuple[nn.Module, torch.Tensor]:
    """torchvision's `name` (default initialisation, seed 0) in `dtype` and a
    batch-1 224x224 input, for the scripts that A/B one model in a process.
    ViT's head starts at zero, so it is replaced by Identity: outputs
    compare the features."""
    import torchvision

    torch.manual_seed(0)
    model = getattr(torchvision.models, name)().eval()
    if hasattr(model, "heads"):
        model.heads = nn.Identity()
    return model.to(dtype), torch.randn(1, 3, 224, 224).to(dtype)


def randomize(module: nn.Module, seed: int = 0) -> nn.Module:
    """Redraws every parameter from N(0, 1/fan_in) (norm weights ~ 1):
    torchvision initialises some layers to zero (ViT's head), which would make
    the outputs, and so the error check, vacuous."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            values = torch.randn(p.shape, generator=generator) / math.sqrt(max(fan_in, 1))
            if p.dim() == 1 and "norm" in name:
                values = 1.0 + 0.1 * values
            p.copy_(values)
    return module


def _attention_mlir(h: int, n: int, d: int, causal: bool) -> str:
    ty = f"tensor<1x{h}x{n}x{d}xf32>"
    flag = " causal" if causal else ""
    return (f"func.func @attention(%q: {ty}, %k: {ty}, %v: {ty}) -> {ty} {{\n"
            f"  %init = tensor.empty() : {ty}\n"
            f"  %o = attn.attention ins(%q, %k, %v : {ty}, {ty}, {ty})\n"
            f"      outs(%init : {ty}) scale({d ** -0.5}){flag} -> {ty}\n"
            f"  return %o : {ty}\n}}\n")


def _gemm_mlir(n: int, ty: str) -> str:
    t = f"tensor<{n}x{n}x{ty}>"
    r = t  # attn.einsum keeps its operands' element type
    return (f"func.func @gemm(%a: {t}, %b: {t}) -> {r} {{\n"
            f"  %c = attn.einsum \"i k, k j -> i j\" (%a, %b) : ({t}, {t}) -> {r}\n"
            f"  return %c : {r}\n}}\n")


class ProducerLinear(nn.Module):
    """x + c, GELU(x) or cat([cls, x], 1) on [1, n, i], then @ w (the last input)."""

    def __init__(self, producer: str) -> None:
        super().__init__()
        self.producer = producer

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        *xs, w = args
        if self.producer == "x + c":
            y = xs[0] + xs[1]
        elif self.producer == "GELU":
            y = F.gelu(xs[0])
        else:
            y = torch.cat(xs, dim=1)
        return y @ w


def _producer_linear_mlir(producer: str, n: int, i: int, o: int) -> str:
    """The same graph as attn_opt's frontend writes it (cat: one generic that
    picks each element from the operand covering its index)."""
    x = f"tensor<1x{n}x{i}xf32>"
    w = f"tensor<{i}x{o}xf32>"
    r = f"tensor<1x{n}x{o}xf32>"
    linear = (f'  %r = attn.einsum "b n i, i o -> b n o" (%y, %w) : ({x}, {w}) -> {r}\n'
              f"  return %r : {r}\n}}\n")
    if producer == "x + c":
        return (f"func.func @f(%a: {x}, %b: {x}, %w: {w}) -> {r} {{\n"
                f"  %y = arith.addf %a, %b : {x}\n" + linear)
    if producer == "GELU":
        c = lambda v: f"arith.constant dense<{v}> : {x}"  # noqa: E731
        return (f"func.func @f(%a: {x}, %w: {w}) -> {r} {{\n"
                f"  %half = {c(0.5)}\n  %one = {c(1.0)}\n  %rsqrt2 = {c(0.7071067811865476)}\n"
                f"  %s = arith.mulf %a, %rsqrt2 : {x}\n  %e = math.erf %s : {x}\n"
                f"  %p = arith.addf %e, %one : {x}\n  %q = arith.mulf %a, %p : {x}\n"
                f"  %y = arith.mulf %q, %half : {x}\n" + linear)
    cls, rest = f"tensor<1x1x{i}xf32>", f"tensor<1x{n - 1}x{i}xf32>"
    ident = "affine_map<(d0, d1, d2) -> (d0, d1, d2)>"
    return (f"func.func @f(%a: {cls}, %b: {rest}, %w: {w}) -> {r} {{\n"
            f"  %e = tensor.empty() : {x}\n"
            f"  %y = linalg.generic {{indexing_maps = [{ident}], iterator_types = "
            f'["parallel", "parallel", "parallel"]}} outs(%e : {x}) {{\n'
            f"  ^bb0(%o: f32):\n"
            f"    %i0 = linalg.index 0 : index\n    %i1 = linalg.index 1 : index\n"
            f"    %i2 = linalg.index 2 : index\n"
            f"    %c0 = arith.constant 0 : index\n    %c1 = arith.constant 1 : index\n"
            f"    %last = arith.constant {n - 2} : index\n"
            f"    %va = tensor.extract %a[%i0, %c0, %i2] : {cls}\n"
            f"    %rel = arith.subi %i1, %c1 : index\n    %lo = arith.maxsi %rel, %c0 : index\n"
            f"    %j = arith.minsi %lo, %last : index\n"
            f"    %vb = tensor.extract %b[%i0, %j, %i2] : {rest}\n"
            f"    %second = arith.cmpi sge, %i1, %c1 : index\n"
            f"    %v = arith.select %second, %vb, %va : f32\n"
            f"    linalg.yield %v : f32\n  }} -> {x}\n" + linear)


class MatMul(nn.Module):
    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a @ b


def build(work: Work, root: Any) -> Built:
    """Builds ``work`` (seeded: the same weights and inputs in every worker)."""
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(1)
    p = work.params
    if work.group == "sgemm":
        n = p["n"]
        dtype = torch.bfloat16 if work.dtype == "bf16" else torch.float32
        a, b = (torch.randn(n, n, generator=gen).to(dtype) for _ in range(2))
        mlir = (_gemm_mlir(n, work.dtype), "gemm", [a.float().numpy(), b.float().numpy()])
        return Built(MatMul(), (a, b), mlir=mlir,
                     reference_fn=lambda: a.double() @ b.double())
    if work.group == "attention":
        h, n, d, causal = p["h"], p["n"], p["d"], p["causal"]
        q, k, v = (torch.randn(1, h, n, d, generator=gen) for _ in range(3))
        sdpa = SdpaAttention(causal).eval()
        return Built(WrittenOutAttention(causal).eval(), (q, k, v), sdpa_module=sdpa,
                     mlir=(_attention_mlir(h, n, d, causal), "attention",
                           [t.numpy() for t in (q, k, v)]),
                     ort_mha=(h, causal),
                     reference_fn=lambda: sdpa(q, k, v))
    if work.group == "cliff":
        producer, n, i, o = p["producer"], p["n"], p["i"], p["o"]
        if producer == "cat":
            inputs = (torch.randn(1, 1, i, generator=gen), torch.randn(1, n - 1, i, generator=gen))
        elif producer == "GELU":
            inputs = (torch.randn(1, n, i, generator=gen),)
        else:
            inputs = (torch.randn(1, n, i, generator=gen), torch.randn(1, n, i, generator=gen))
        w = torch.randn(i, o, generator=gen) / math.sqrt(i)
        inputs = (*inputs, w)
        return Built(ProducerLinear(producer).eval(), inputs, mlir=(_producer_linear_mlir(producer, n, i, o), "f",
                                           [t.numpy() for t in inputs]))
    if work.group == "g1":
        b, n, c, h = p["b"], p["n"], p["c"], p["h"]
        m = randomize(g1_attention(c, h, c // h)).eval()
        x = torch.randn(b, n, c, generator=gen)
        text = (root / "examples/vit_attention.mlir").read_text()
        weights = [m.to_qkv.weight, m.to_out.weight, m.to_out.bias]
        return Built(m, (x,), mlir=(text, "vit_attention",
                                     [t.detach().numpy() for t in (x, *weights)]),
                     ort_model_type=("vit", h, c))
    if work.group == "models":
        name = p["model"]
        if name in ("vit_b_16", "swin_t"):
            from torchvision import models

            m = randomize(getattr(models, name)(weights=None)).eval()
            x = torch.randn(1, 3, 224, 224, generator=gen)
            return Built(m, (x,), ort_model_type=("vit" if name.startswith("vit") else "swin",
                                                  12 if name == "vit_b_16" else 3,
                                                  768 if name == "vit_b_16" else 96))
        if name == "bert":
            from transformers import BertConfig, BertModel

            m = LastHiddenState(BertModel(BertConfig())).eval()
            ids = torch.randint(0, 30522, (1, p["seq"]), generator=gen)
            return Built(m, (ids,), ort_model_type=("bert", 12, 768))
        if name == "gpt2":
            from transformers import GPT2Config, GPT2Model

            m = LastHiddenState(GPT2Model(GPT2Config(use_cache=False))).eval()
            ids = torch.randint(0, 50257, (1, p["seq"]), generator=gen)
            return Built(m, (ids,), ort_model_type=("gpt2", 12, 768))
    raise ValueError(f"unknown work {work.key!r}")


def attention_to_packed(t: torch.Tensor) -> np.ndarray:
    """[b, h, n, d] -> [b, n, h·d], MultiHeadAttention's layout."""
    b, h, n, d = t.shape
    return t.transpose(1, 2).reshape(b, n, h * d).contiguous().numpy()


def packed_to_attention(x: np.ndarray, h: int) -> torch.Tensor:
    b, n, hd = x.shape
    return torch.from_numpy(x).reshape(b, n, h, hd // h).transpose(1, 2)


def signature(inputs: Sequence[torch.Tensor]) -> str:
    return ",".join(f"{tuple(t.shape)}:{t.dtype}" for t in inputs)
