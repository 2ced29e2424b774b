"""The GPU benchmark: runs the libraries bench/gpu-prepare.sh compiled on the
GPU machine, next to PyTorch, in one process.

1. Correctness of every kernel against PyTorch scaled_dot_product_attention
   evaluated in f32: the bf16/f16 error of ours must be at most 2x the error
   of PyTorch's own bf16/f16 SDPA against the same f32 result.
2. Throughput (TFLOP/s) of ours and of SDPA's flash and cuDNN backends for
   the issue's shapes; ours in each tile configuration compiled.
3. Latency of G1 (the ViT attention block) and of vit_b_16, ours beside
   PyTorch with each SDPA backend.

Our libraries are called through their C ABI (see docs/gpu.md): memref
descriptors of the torch tensors' device memory, on PyTorch's current
stream (attnCudaSetStream), no host copies.

Usage: python gpu_bench.py ARTIFACTS [--out DIR] [--quick] [--dry-run]
Exit status: 0 when every check passed, 1 when one failed, 2 when there is
no usable GPU (said on stderr before anything else).

--dry-run, for machines without a GPU: loads every library (their entry
points must resolve; their kernels cannot load) but computes each case with
PyTorch on the CPU instead, with small shapes, to test this script's own
logic before the device run.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import sys
import time
import traceback


def no_gpu(reason: str) -> None:
    print(f"error: no usable CUDA GPU: {reason}", file=sys.stderr)
    print("gpu_bench: nothing was measured (this benchmark needs an NVIDIA "
          "GPU with a CUDA driver and PyTorch built with CUDA; exit status 2)",
          file=sys.stderr)
    sys.exit(2)


try:
    import torch
    import torch.nn.functional as F
except Exception as e:  # noqa: BLE001 - any import failure means no torch
    no_gpu(f"cannot import torch ({e})")


# --------------------------------------------------------------------------
# Calling compiled libraries
# --------------------------------------------------------------------------

_DESCRIPTORS: dict = {}


def descriptor_type(rank: int):
    if rank not in _DESCRIPTORS:
        fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                  ("offset", ctypes.c_int64)]
        if rank:
            fields += [("sizes", ctypes.c_int64 * rank),
                       ("strides", ctypes.c_int64 * rank)]
        _DESCRIPTORS[rank] = type(f"Memref{rank}d", (ctypes.Structure,),
                                  {"_fields_": fields})
    return _DESCRIPTORS[rank]


def descriptor(t: "torch.Tensor"):
    if (DEVICE == "cuda" and not t.is_cuda) or not t.is_contiguous():
        raise ValueError("compiled GPU code takes contiguous CUDA tensors")
    if t.data_ptr() % 16:
        raise ValueError("compiled GPU code needs 16-byte aligned tensors")
    d = descriptor_type(t.dim())()
    d.allocated = d.aligned = t.data_ptr()
    d.offset = 0
    for i, (size, stride) in enumerate(zip(t.shape, t.stride())):
        d.sizes[i] = size
        d.strides[i] = stride
    return d


TORCH_DTYPES = {"bf16": torch.bfloat16, "f16": torch.float16,
                "f32": torch.float32, "i1": torch.bool}

# "cuda", or "cpu" for --dry-run.
DEVICE = "cuda"


class Compiled:
    """One attn-run --emit=so library: fn(*inputs) -> outputs (allocated
    here as torch tensors, so PyTorch's caching allocator owns them)."""

    def __init__(self, runtime, path: str, record: dict):
        self.lib = ctypes.CDLL(path)
        self.fn = getattr(self.lib, "_mlir_ciface_" + record["entry"])
        self.fn.restype = None
        self.record = record
        self.runtime = runtime

    def __call__(self, *inputs, outputs=None):
        if outputs is None:
            outputs = [torch.empty(o["shape"], dtype=TORCH_DTYPES[o["dtype"]],
                                   device=DEVICE)
                       for o in self.record["outputs"]]
        descs = [descriptor(t) for t in list(inputs) + list(outputs)]
        if DEVICE != "cuda":
            return self.emulate(inputs, outputs)
        stream = torch.cuda.current_stream().cuda_stream
        self.runtime.attnCudaSetStream(ctypes.c_void_p(stream), 0)
        self.fn(*[ctypes.byref(d) for d in descs])
        return outputs


    def emulate(self, inputs, outputs):
        """--dry-run: what the library computes, by PyTorch."""
        rec = self.record
        if rec["kind"] == "attention":
            q, k, v = inputs[:3]
            mask = inputs[3] if len(inputs) > 3 else None
            out = sdpa_ref(q, k, v, mask, rec["causal"], rec["scale"],
                           torch.float32)
        else:
            x, w_qkv, w_out, b_out = (t.float() for t in inputs)
            model = G1Torch(rec["c"], rec["h"])
            model.to_qkv.weight.data = w_qkv
            model.to_out.weight.data, model.to_out.bias.data = w_out, b_out
            out = model(x)
        outputs[0].copy_(out)
        return outputs


def load_runtime(art: str):
    path = os.path.join(art, "libattn_cuda_runtime.so")
    runtime = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
    runtime.attnCudaSetStream.argtypes = [ctypes.c_void_p, ctypes.c_int]
    runtime.attnCudaAvailable.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
    reason = ctypes.create_string_buffer(512)
    if DEVICE == "cuda" and not runtime.attnCudaAvailable(reason, 512):
        no_gpu("libattn_cuda_runtime.so: " + reason.value.decode())
    return runtime


# --------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------


def time_ms(fn, min_seconds: float = 0.2, max_iters: int = 200) -> float:
    """Median over 5 batches of CUDA-event-timed calls, after warm-up."""
    if DEVICE != "cuda":
        fn()
        start = time.perf_counter()
        fn()
        return (time.perf_counter() - start) * 1e3
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(True), torch.cuda.Event(True)
    start.record()
    fn()
    end.record()
    torch.cuda.synchronize()
    once = max(start.elapsed_time(end), 1e-3)
    iters = int(max(1, min(max_iters, min_seconds * 1e3 / 5 / once)))
    samples = []
    for _ in range(5):
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        samples.append(start.elapsed_time(end) / iters)
    samples.sort()
    return samples[2]


def sdpa_backends():
    from torch.nn.attention import SDPBackend
    return [("flash", SDPBackend.FLASH_ATTENTION),
            ("cudnn", SDPBackend.CUDNN_ATTENTION),
            ("efficient", SDPBackend.EFFICIENT_ATTENTION)]


def with_backend(backend, fn):
    from torch.nn.attention import sdpa_kernel

    def run():
        with sdpa_kernel(backend):
            return fn()
    return run


# --------------------------------------------------------------------------
# Cases
# --------------------------------------------------------------------------


def attention_inputs(rec: dict, gen: "torch.Generator"):
    dtype = TORCH_DTYPES[rec["dtype"]]
    b, h, sq, sk, d = rec["b"], rec["h"], rec["sq"], rec["sk"], rec["d"]
    q = torch.randn(b, h, sq, d, generator=gen, device=DEVICE).to(dtype)
    k = torch.randn(b, h, sk, d, generator=gen, device=DEVICE).to(dtype)
    v = torch.randn(b, h, sk, d, generator=gen, device=DEVICE).to(dtype)
    inputs = [q, k, v]
    mask = None
    if rec["mask"] == "bool":
        mask = torch.rand(b, 1, sq, sk, generator=gen, device=DEVICE) < 0.8
        # every row keeps its first key: PyTorch gives NaN for empty rows
        # (ours gives 0), so the comparison avoids them
        mask[..., 0] = True
        inputs.append(mask)
    elif rec["mask"] == "additive":
        mask = (torch.randn(b, 1, 1, sk, generator=gen, device=DEVICE)
                .to(dtype))
        mask[..., sk // 2:sk // 2 + 7] = float("-inf")
        inputs.append(mask)
    return inputs, mask


# PyTorch's own SDPA, also while run_vit swaps ours in.
_SDPA = F.scaled_dot_product_attention


def sdpa_ref(q, k, v, mask, causal, scale, dtype=None):
    """SDPA in `dtype` (default: the inputs'), with our op's semantics:
    `causal` keeps j <= i (top-left) and combines with `mask`, which SDPA
    does not accept together with is_causal."""
    if dtype is not None:
        q, k, v = q.to(dtype), k.to(dtype), v.to(dtype)
        if mask is not None and mask.dtype != torch.bool:
            mask = mask.to(dtype)
    if mask is not None and causal:
        sq, sk = q.shape[-2], k.shape[-2]
        keep = torch.ones(sq, sk, dtype=torch.bool, device=q.device).tril()
        if mask.dtype == torch.bool:
            mask = mask & keep
        else:
            mask = mask.masked_fill(~keep, float("-inf"))
        causal = False
    return _SDPA(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


def synchronize() -> None:
    if DEVICE == "cuda":
        torch.cuda.synchronize()


def check_attention(kernel: Compiled, rec: dict, gen) -> dict:
    inputs, mask = attention_inputs(rec, gen)
    q, k, v = inputs[:3]
    (ours,) = kernel(*inputs)
    synchronize()
    ref = sdpa_ref(q, k, v, mask, rec["causal"], rec["scale"], torch.float32)
    lowp = sdpa_ref(q, k, v, mask, rec["causal"], rec["scale"])
    err = (ours.float() - ref).abs().max().item()
    torch_err = (lowp.float() - ref).abs().max().item()
    finite = bool(torch.isfinite(ours).all().item())
    ok = finite and err <= 2 * torch_err + 1e-6
    return {"name": rec["name"], "error": err, "torch_error": torch_err,
            "ratio": err / torch_err if torch_err else float("inf"),
            "finite": finite, "ok": ok}


def perf_attention(kernel: Compiled, rec: dict, gen) -> dict:
    inputs, mask = attention_inputs(rec, gen)
    q, k, v = inputs[:3]
    out = [torch.empty_like(q)]
    ms = time_ms(lambda: kernel(*inputs, outputs=out))
    # the large shapes are checked too, against the flash backend
    flash = sdpa_ref(q, k, v, None, rec["causal"], rec["scale"])
    err = (out[0].float() - flash.float()).abs().max().item()
    return {"name": rec["name"], "ms": ms,
            "tflops": rec["flops"] / ms / 1e9, "max_diff_vs_sdpa": err}


def perf_sdpa(rec: dict, gen) -> dict:
    inputs, mask = attention_inputs(rec, gen)
    q, k, v = inputs[:3]
    results = {}
    for name, backend in sdpa_backends():
        fn = with_backend(backend, lambda: F.scaled_dot_product_attention(
            q, k, v, is_causal=rec["causal"], scale=rec["scale"]))
        try:
            ms = time_ms(fn)
            results[name] = {"ms": ms, "tflops": rec["flops"] / ms / 1e9}
        except Exception as e:  # noqa: BLE001 - an unsupported backend
            results[name] = {"error": str(e).splitlines()[0][:120]}
    return results


class G1Torch(torch.nn.Module):
    """G1 as vit-pytorch writes it, attention through SDPA."""

    def __init__(self, c=512, h=8):
        super().__init__()
        self.h = h
        self.to_qkv = torch.nn.Linear(c, 3 * c, bias=False)
        self.to_out = torch.nn.Linear(c, c)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.to_qkv(x).chunk(3, dim=-1)
        q, k, v = (t.reshape(b, n, self.h, c // self.h).transpose(1, 2)
                   for t in (q, k, v))
        o = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(o.transpose(1, 2).reshape(b, n, c))


def run_g1(kernel: Compiled, rec: dict, gen) -> dict:
    torch.manual_seed(0)
    model = G1Torch(rec["c"], rec["h"]).to(DEVICE).eval()
    x = torch.randn(rec["b"], rec["n"], rec["c"], generator=gen,
                    device=DEVICE)
    with torch.no_grad():
        ref = model(x)                       # f32
        m16 = G1Torch(rec["c"], rec["h"]).to(DEVICE).eval().bfloat16()
        m16.load_state_dict({k: v.bfloat16()
                             for k, v in model.state_dict().items()})
        xb = x.bfloat16()
        lowp = m16(xb)
        args = [xb, m16.to_qkv.weight.contiguous(),
                m16.to_out.weight.contiguous(), m16.to_out.bias.contiguous()]
        (ours,) = kernel(*args)
        synchronize()
        err = (ours.float() - ref).abs().max().item()
        torch_err = (lowp.float() - ref).abs().max().item()
        out = [torch.empty_like(xb)]
        result = {"name": rec["name"], "error": err, "torch_error": torch_err,
                  "ok": err <= 2 * torch_err + 1e-6,
                  "ours_ms": time_ms(lambda: kernel(*args, outputs=out))}
        for name, backend in sdpa_backends():
            try:
                result[f"torch_{name}_ms"] = time_ms(
                    with_backend(backend, lambda: m16(xb)))
            except Exception as e:  # noqa: BLE001
                result[f"torch_{name}_ms"] = None
                result[f"torch_{name}_error"] = str(e).splitlines()[0][:120]
        result["torch_default_ms"] = time_ms(lambda: m16(xb))
    return result


def redraw(model: "torch.nn.Module") -> "torch.nn.Module":
    """Seeded N(0, 1/fan-in) weights, small biases: torchvision initialises
    ViT's head to zero, which would make every logit 0 and the checks
    vacuous."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            fan_in = p[0].numel() if p.dim() > 1 else p.numel()
            std = 1.0 / math.sqrt(fan_in) if p.dim() > 1 else 0.02
            p.copy_(torch.randn(p.shape, generator=gen) * std)
    return model


def make_vit_b_16():
    """torchvision's vit_b_16 when installed, else the same architecture in
    plain PyTorch (patch embedding, 12 pre-norm encoder blocks of 12-head
    nn.MultiheadAttention and a GELU MLP, class token, head)."""
    try:
        import torchvision
        return redraw(torchvision.models.vit_b_16(weights=None)), "torchvision"
    except Exception:  # noqa: BLE001
        pass

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = torch.nn.LayerNorm(768, eps=1e-6)
            self.self_attention = torch.nn.MultiheadAttention(
                768, 12, batch_first=True)
            self.ln_2 = torch.nn.LayerNorm(768, eps=1e-6)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(768, 3072),
                                           torch.nn.GELU(),
                                           torch.nn.Linear(3072, 768))

        def forward(self, x):
            y = self.ln_1(x)
            y, _ = self.self_attention(y, y, y, need_weights=False)
            x = x + y
            return x + self.mlp(self.ln_2(x))

    class ViT(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.conv_proj = torch.nn.Conv2d(3, 768, 16, 16)
            self.class_token = torch.nn.Parameter(torch.zeros(1, 1, 768))
            self.pos = torch.nn.Parameter(torch.randn(1, 197, 768) * 0.02)
            self.layers = torch.nn.Sequential(*[Block() for _ in range(12)])
            self.ln = torch.nn.LayerNorm(768, eps=1e-6)
            self.head = torch.nn.Linear(768, 1000)

        def forward(self, x):
            x = self.conv_proj(x).flatten(2).transpose(1, 2)
            x = torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], 1)
            x = self.ln(self.layers(x + self.pos))
            return self.head(x[:, 0])

    return redraw(ViT()), "plain PyTorch (torchvision missing)"


def run_vit(kernel: Compiled, rec: dict, gen) -> dict:
    torch.manual_seed(0)
    model, origin = make_vit_b_16()
    model = model.to(DEVICE).eval().bfloat16()
    x = torch.randn(1, 3, 224, 224, generator=gen, device=DEVICE).bfloat16()
    shape = (rec["b"], rec["h"], rec["sq"], rec["d"])
    used = {"ours": 0, "fallback": 0}

    def ours_sdpa(q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False,
                  scale=None, **kw):
        if (tuple(q.shape) == shape and tuple(k.shape) == shape and
                attn_mask is None and not is_causal and dropout_p == 0.0 and
                not kw and q.dtype == torch.bfloat16 and
                (scale is None or abs(scale - rec["scale"]) < 1e-9)):
            used["ours"] += 1
            return kernel(q.contiguous(), k.contiguous(), v.contiguous())[0]
        used["fallback"] += 1
        return _SDPA(q, k, v, attn_mask=attn_mask, dropout_p=dropout_p,
                        is_causal=is_causal, scale=scale, **kw)

    result = {"name": "vit_b_16_bf16_b1", "model": origin}
    with torch.inference_mode():
        result["torch_default_ms"] = time_ms(lambda: model(x))
        fastpath = torch.backends.mha.get_fastpath_enabled()
        torch.backends.mha.set_fastpath_enabled(False)
        try:
            ref = model(x).float()
            for name, backend in sdpa_backends():
                try:
                    result[f"torch_{name}_ms"] = time_ms(
                        with_backend(backend, lambda: model(x)))
                except Exception as e:  # noqa: BLE001
                    result[f"torch_{name}_ms"] = None
                    result[f"torch_{name}_error"] = \
                        str(e).splitlines()[0][:120]
            F.scaled_dot_product_attention = ours_sdpa
            try:
                got = model(x).float()
                result["ours_attention_ms"] = time_ms(lambda: model(x))
            finally:
                F.scaled_dot_product_attention = _SDPA
        finally:
            torch.backends.mha.set_fastpath_enabled(fastpath)
    result["attentions_ours"] = used["ours"]
    result["attentions_fallback"] = used["fallback"]
    result["max_logit_diff"] = (got - ref).abs().max().item()
    result["argmax_agrees"] = bool((got.argmax(-1) == ref.argmax(-1)).all())
    return result


def run_vit_whole(kernel: Compiled, rec: dict, gen) -> dict:
    """vit_b_16 compiled whole by our pipeline (every attention and GEMM on
    our tensor-core kernels, everything else our plain kernels), weights as
    arguments: the project's frontend recomputes the prepared parameters
    from the same model here; the signature must match the compiled one."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, os.path.join(root, "python"))
    result = {"name": rec["name"]}
    try:
        import torchvision
        from attn_opt.capture import capture_module, lower
    except Exception as e:  # noqa: BLE001
        result["skipped"] = f"cannot import torchvision / attn_opt: {e}"
        return result
    model = redraw(torchvision.models.vit_b_16(weights=None))
    model = model.eval().bfloat16().to(DEVICE)
    x = torch.randn(1, 3, 224, 224, generator=gen, device=DEVICE).bfloat16()
    try:
        module = capture_module(model)
        lowered, captured = lower(module, (x,))
    except Exception as e:  # noqa: BLE001
        result["skipped"] = f"the frontend failed on torch {torch.__version__}: " \
            + str(e).splitlines()[0][:200]
        return result
    here = [(a.kind, list(a.shape), a.dtype) for a in lowered.args]
    there = [(a["kind"], a["shape"], a["dtype"]) for a in rec["inputs"]]
    if here != there:
        result["skipped"] = ("the frontend on this torch gives another "
                             "signature than the compiled one")
        return result
    with torch.no_grad():
        sources = []
        for kind, name in lowered.prepare_inputs:
            if kind == "parameter":
                sources.append(module.get_parameter(name))
            elif kind == "buffer":
                sources.append(module.get_buffer(name))
            else:
                sources.append(captured.program.constants[name])
        prepared = iter([t.detach() for t in lowered.prepare(*sources)]
                        if lowered.prepare is not None else [])
        args = []
        for a in lowered.args:
            if a.kind == "input":
                args.append(x)
            elif a.kind == "prepared":
                args.append(next(prepared).contiguous())
            else:
                args.append(a.extra["value"].to(DEVICE).contiguous())
        if DEVICE == "cuda":
            (ours,) = kernel(*args)
        else:
            ours = model(x)  # --dry-run: the library cannot run here
        synchronize()
        lowp = model(x).float()
        ref = model.float()(x.float()).float()
        model.bfloat16()
        err = (ours.float() - ref).abs().max().item()
        torch_err = (lowp - ref).abs().max().item()
        result.update({
            "max_logit_error": err, "torch_max_logit_error": torch_err,
            "ok": err <= 2 * torch_err + 1e-6,
            "argmax_agrees": bool((ours.float().argmax(-1) ==
                                   ref.argmax(-1)).all()),
        })
        out = [torch.empty_like(ours)]
        if DEVICE == "cuda":
            result["ours_ms"] = time_ms(lambda: kernel(*args, outputs=out))
        result["torch_default_ms"] = time_ms(lambda: model(x))
    return result


def shrink(rec: dict) -> dict:
    """--dry-run: the case at a size the CPU computes in a moment (the
    library, compiled for the real size, is only loaded)."""
    rec = dict(rec)
    if rec["kind"] == "attention" and rec["purpose"] in ("check", "perf"):
        rec["sq"] = min(rec["sq"], 130)
        rec["sk"] = min(rec["sk"], 150)
        rec["b"], rec["h"] = min(rec["b"], 2), min(rec["h"], 2)
        rec["outputs"] = [{"shape": [rec["b"], rec["h"], rec["sq"], rec["d"]],
                           "dtype": rec["dtype"]}]
        f = 4.0 * rec["b"] * rec["h"] * rec["sq"] * rec["sk"] * rec["d"]
        rec["flops"] = f / 2 if rec["causal"] else f
    return rec


# --------------------------------------------------------------------------


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("artifacts")
    p.add_argument("--out", default=None)
    p.add_argument("--quick", action="store_true",
                   help="one tile configuration per shape, no models")
    p.add_argument("--dry-run", action="store_true",
                   help="no GPU: test this script with PyTorch on the CPU")
    a = p.parse_args()

    global DEVICE
    if a.dry_run:
        DEVICE = "cpu"
    elif not torch.cuda.is_available():
        no_gpu("torch.cuda.is_available() is False (torch " +
               torch.__version__ + ", CUDA " + str(torch.version.cuda) + ")")
    manifest_path = os.path.join(a.artifacts, "manifest.json")
    if not os.path.exists(manifest_path):
        print(f"error: {manifest_path} is missing: run bench/gpu-prepare.sh "
              "where LLVM is and carry its output", file=sys.stderr)
        return 1
    with open(manifest_path) as f:
        manifest = json.load(f)
    runtime = load_runtime(a.artifacts)
    name = torch.cuda.get_device_properties(0).name if DEVICE == "cuda" \
        else "CPU (dry run)"
    print(f"device: {name}; torch {torch.__version__}, CUDA "
          f"{torch.version.cuda}; kernels for {manifest['chip']} from commit "
          f"{manifest['commit'][:12]}")

    gen = torch.Generator(device=DEVICE)
    gen.manual_seed(0)
    results = {"device": name, "torch": torch.__version__,
               "commit": manifest["commit"], "checks": [], "perf": [],
               "models": []}
    failures = 0
    started = time.time()

    def load(rec):
        return Compiled(runtime, os.path.join(a.artifacts, rec["so"]), rec)

    cases = manifest["cases"]
    if a.dry_run:
        cases = [shrink(c) for c in cases]
    print("\n== correctness vs SDPA in f32 (ours must be within 2x of "
          "PyTorch's own low-precision error)")
    for rec in [c for c in cases if c["purpose"] == "check"]:
        try:
            r = check_attention(load(rec), rec, gen)
        except Exception as e:  # noqa: BLE001
            r = {"name": rec["name"], "ok": False, "exception": repr(e)}
            traceback.print_exc()
        results["checks"].append(r)
        failures += not r["ok"]
        if "error" in r:
            print(f"{'OK  ' if r['ok'] else 'FAIL'} {r['name']:<42} max err "
                  f"{r['error']:.3e}  torch {r['torch_error']:.3e}  "
                  f"ratio {r['ratio']:.2f}")
        else:
            print(f"FAIL {r['name']}: {r.get('exception')}")

    print("\n== attention throughput, bf16 (TFLOP/s; FLOPs = 4bhn^2d, half "
          "when causal)")
    by_shape: dict = {}
    for rec in [c for c in cases if c["purpose"] == "perf"]:
        shape = rec["name"].rsplit("_", 1)[0][len("perf_"):]
        by_shape.setdefault(shape, []).append(rec)
    for shape, recs in by_shape.items():
        if a.quick:
            recs = recs[:1]
        row = {"shape": shape, "ours": {}}
        for rec in recs:
            variant = rec["name"].rsplit("_", 1)[1]
            try:
                r = perf_attention(load(rec), rec, gen)
                row["ours"][variant] = r
            except Exception as e:  # noqa: BLE001
                row["ours"][variant] = {"exception": repr(e)}
                traceback.print_exc()
        row["sdpa"] = perf_sdpa(recs[0], gen)
        results["perf"].append(row)
        best = max((v for v in row["ours"].values() if "tflops" in v),
                   key=lambda v: v["tflops"], default=None)
        peers = "  ".join(f"{k} {v['tflops']:.0f}" if "tflops" in v else
                          f"{k} n/a" for k, v in row["sdpa"].items())
        mine = "  ".join(f"{k} {v['tflops']:.0f}" if "tflops" in v else
                         f"{k} err" for k, v in row["ours"].items())
        ratio = ""
        if best and "tflops" in row["sdpa"].get("flash", {}):
            ratio = f"  best/flash {best['tflops'] / row['sdpa']['flash']['tflops']:.2f}"
        print(f"{shape:<28} ours [{mine}]  sdpa [{peers}]{ratio}")
        if best:
            print(f"{'':<28} (ours vs flash output: max diff "
                  f"{best['max_diff_vs_sdpa']:.2e})")

    if not a.quick:
        print("\n== models, bf16 (ms)")
        for rec in [c for c in cases if c["purpose"] == "model"]:
            try:
                if rec["kind"] == "g1":
                    r = run_g1(load(rec), rec, gen)
                    failures += not r["ok"]
                elif rec["name"].startswith("attn_vit_b16"):
                    r = run_vit(load(rec), rec, gen)
                elif rec["kind"] == "vit_whole":
                    r = run_vit_whole(load(rec), rec, gen)
                    failures += not r.get("ok", True)
                elif rec["name"].startswith("attn_g1"):
                    r = {"name": rec["name"]}
                    r.update(perf_attention(load(rec), rec, gen))
                    r["sdpa"] = perf_sdpa(rec, gen)
                else:
                    continue
            except Exception as e:  # noqa: BLE001
                r = {"name": rec["name"], "exception": repr(e)}
                traceback.print_exc()
                failures += 1
            results["models"].append(r)
            print(json.dumps(r))

    print(f"\n{failures} failure(s); {time.time() - started:.0f} s")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        with open(os.path.join(a.out, "gpu-bench.json"), "w") as f:
            json.dump(results, f, indent=1)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
