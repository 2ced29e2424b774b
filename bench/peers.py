"""The engines a row is measured with: attn-opt and the ones people would pick
instead. Each peer either measures a built row or raises ``Unsupported`` with
the reason, which the table prints in the row.

Every peer is given its best shot, as its documentation recommends for CPU
inference: PyTorch eager and SDPA at the faster of 1 and N intra-op threads,
Inductor with weight freezing, OpenVINO with a latency hint and one stream,
ONNX Runtime with its transformer optimizer's fusions (and, for core attention,
its fused com.microsoft.MultiHeadAttention), IREE with -O3, data tiling and
the host CPU's features.
"""

from __future__ import annotations

import hashlib
import os
import re
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from works import Built, Work, as_tensor, attention_to_packed, packed_to_attention


class Unsupported(Exception):
    """This peer cannot run this row; the message says why."""


@dataclass
class Context:
    root: Path
    attn_run: Path
    runs: int
    threads: int
    cache: Path
    tmp: Path


@dataclass
class Measurement:
    time: Timing
    threads: int
    output: Any = None
    rss_mb: Optional[float] = None  # None: the worker's own peak RSS
    note: str = ""


@dataclass
class Timing:
    median_ms: float
    min_ms: float


# Short measurements get more runs, up to this many seconds (at most
# MAX_RUNS): a median of 5 runs of a few milliseconds on a shared machine is
# mostly other processes' noise.
MIN_SECONDS = 0.5
MAX_RUNS = 50


def runs_for(seconds_per_run: float, runs: int) -> int:
    """``runs``, or more for a short run (MIN_SECONDS in all, MAX_RUNS at most)."""
    if seconds_per_run <= 0:
        return MAX_RUNS
    return max(runs, min(MAX_RUNS, int(MIN_SECONDS / seconds_per_run)))


def timed(fn: Callable[[], Any], runs: int, warmup: int = 1) -> Timing:
    """Median and minimum wall time of ``runs`` calls after ``warmup`` calls
    (more calls when they are short: runs_for)."""
    for _ in range(warmup):
        fn()
    times: List[float] = []
    while len(times) < runs:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
        if len(times) == 1:
            runs = runs_for(times[0], runs)
    return Timing(statistics.median(times) * 1e3, min(times) * 1e3)


def at_best_thread_count(fn: Callable[[], Any], ctx: Context) -> Tuple[Timing, int]:
    """PyTorch at its best: the faster of 1 and ctx.threads intra-op threads."""
    best: Optional[Tuple[Timing, int]] = None
    for n in sorted({1, ctx.threads}):
        torch.set_num_threads(n)
        t = timed(fn, ctx.runs)
        if best is None or t.median_ms < best[0].median_ms:
            best = (t, n)
    torch.set_num_threads(ctx.threads)
    assert best is not None
    return best


def cache_path(ctx: Context, kind: str, work: Work, suffix: str, *extra: str) -> Path:
    key = hashlib.sha256("|".join((work.key, repr(sorted(work.params.items())), torch.__version__)
                                  + extra).encode()).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9]+", "_", work.key).strip("_")
    path = ctx.cache / kind / f"{slug}-{key}{suffix}"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


# --------------------------------------------------------------------------
# attn-opt

def attn_run(work: Work, built: Built, ctx: Context, pipeline: str = "") -> Measurement:
    """attn-run --bench on the row's .mlir, with the row's inputs as .npy
    files so its output can be checked against the same reference;
    ``pipeline``: CPU pipeline options (attn-run --cpu-pipeline)."""
    if built.mlir is None:
        raise Unsupported("no .mlir form of this row")
    text, entry, arrays = built.mlir
    src = ctx.tmp / "work.mlir"
    src.write_text(text)
    paths = []
    for i, a in enumerate(arrays):
        paths.append(ctx.tmp / f"in{i}.npy")
        np.save(paths[-1], np.ascontiguousarray(a, dtype=np.float32))
    out = ctx.tmp / "out"
    rss_file = ctx.tmp / "rss"
    cmd = [str(ctx.attn_run), str(src), f"--entry={entry}", f"--bench={ctx.runs}",
           "--input=" + ",".join(map(str, paths)), f"--output={out}"]
    if pipeline:
        cmd.append(f"--cpu-pipeline={pipeline}")
    # /usr/bin/time measures attn-run's own peak RSS (a child forked from
    # this torch-holding process would inherit its high-water mark).
    if Path("/usr/bin/time").exists():
        cmd = ["/usr/bin/time", "-f", "%M", "-o", str(rss_file)] + cmd
    env = dict(os.environ, OMP_NUM_THREADS=str(ctx.threads))

    def bench(runs: int) -> Tuple[Any, Any]:
        cmd[cmd.index(next(c for c in cmd if c.startswith("--bench=")))] = f"--bench={runs}"
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                              text=True)
        match = re.search(r"run time: median ([0-9.]+) ms over \d+ runs \(min ([0-9.]+) ms",
                          proc.stdout)
        if proc.returncode != 0 or not match:
            lines = [l for l in proc.stdout.splitlines() if "error" in l] or \
                proc.stdout.splitlines()[-1:]
            raise RuntimeError(f"attn-run failed: {' / '.join(lines)[:300]}")
        return proc, match

    proc, match = bench(ctx.runs)
    more = runs_for(float(match.group(1)) / 1e3, ctx.runs)
    if more > ctx.runs:
        proc, match = bench(more)
    rss = None
    if rss_file.exists():
        fields = rss_file.read_text().split()
        rss = float(fields[-1]) / 1024.0 if fields else None
    return Measurement(Timing(float(match.group(1)), float(match.group(2))), ctx.threads,
                       np.load(f"{out}.0.npy"), rss)


def attn_run_unfused(work: Work, built: Built, ctx: Context) -> Measurement:
    """The same graph with elementwise fusion turned off: what fusion must
    never lose to."""
    return attn_run(work, built, ctx, pipeline="fuse-elementwise=0")


def attn_run_no_ukernels(work: Work, built: Built, ctx: Context) -> Measurement:
    """The same graph with its contractions on attn-tile-and-vectorize's
    generated FMA kernels instead of the runtime micro-kernel (ukernels=0):
    the A/B of the micro-kernel."""
    return attn_run(work, built, ctx, pipeline="ukernels=0")


def attn_run_portable_exp(work: Work, built: Built, ctx: Context) -> Measurement:
    """The same graph with the portable exp expansion instead of the
    AVX-512 one (x86-avx512=0, what attn-run picks on a CPU without
    AVX-512F): the A/B of the vscalefps exp."""
    return attn_run(work, built, ctx, pipeline="x86-avx512=0")


def _attn_opt(module: Any, inputs: Sequence[Any], ctx: Context) -> Measurement:
    """attn_opt.compile(module, inputs), called like the module."""
    import attn_opt

    compiled = attn_opt.compile(module, inputs)
    fn = lambda: compiled(*inputs)  # noqa: E731
    out = fn()
    torch.set_num_threads(ctx.threads)
    return Measurement(timed(fn, ctx.runs), ctx.threads, out)


def attn_opt_compiled(work: Work, built: Built, ctx: Context) -> Measurement:
    return _attn_opt(built.module, built.inputs, ctx)


def attn_opt_bf16(work: Work, built: Built, ctx: Context) -> Measurement:
    """The module and its float inputs in bf16 (``module.to(torch.bfloat16)``)
    through attn_opt.compile: contractions on AMX where the CPU has it. The
    error column is against the same f32 reference as every row."""
    import copy

    module = copy.deepcopy(built.module).to(torch.bfloat16)
    inputs = tuple(t.to(torch.bfloat16) if t.is_floating_point() else t for t in built.inputs)
    m = _attn_opt(module, inputs, ctx)
    m.output = as_tensor(m.output).float()
    return m


# --------------------------------------------------------------------------
# PyTorch

def torch_eager(work: Work, built: Built, ctx: Context) -> Measurement:
    with torch.no_grad():
        fn = lambda: built.module(*built.inputs)  # noqa: E731
        out = fn()
        t, n = at_best_thread_count(fn, ctx)
    return Measurement(t, n, out)


def torch_sdpa(work: Work, built: Built, ctx: Context) -> Measurement:
    if built.sdpa_module is None:
        raise Unsupported("the module does not call scaled_dot_product_attention")
    with torch.no_grad():
        fn = lambda: built.sdpa_module(*built.inputs)  # noqa: E731
        out = fn()
        t, n = at_best_thread_count(fn, ctx)
    return Measurement(t, n, out)


def torch_mha(work: Work, built: Built, ctx: Context) -> Measurement:
    """G1 through nn.MultiheadAttention's inference fast path, with G1's weights."""
    m = built.module
    c = m.to_out.weight.shape[0]
    mha = torch.nn.MultiheadAttention(c, m.heads, bias=True, batch_first=True).eval()
    with torch.no_grad():
        mha.in_proj_weight.copy_(m.to_qkv.weight)
        mha.in_proj_bias.zero_()
        mha.out_proj.weight.copy_(m.to_out.weight)
        mha.out_proj.bias.copy_(m.to_out.bias)
        x = built.inputs[0]
        fn = lambda: mha(x, x, x, need_weights=False)[0]  # noqa: E731
        out = fn()
        t, n = at_best_thread_count(fn, ctx)
    return Measurement(t, n, out)


def torch_compile(work: Work, built: Built, ctx: Context) -> Measurement:
    """Inductor with freezing (weights constant-folded and prepacked, as
    PyTorch's CPU inference guide recommends), at ctx.threads threads."""
    import torch._inductor.config as inductor_config

    inductor_config.freezing = True
    torch.set_num_threads(ctx.threads)
    compiled = torch.compile(built.module)
    with torch.no_grad():
        fn = lambda: compiled(*built.inputs)  # noqa: E731
        out = fn()
        t = timed(fn, ctx.runs)
    return Measurement(t, ctx.threads, out, note="written out" if work.group == "attention" else "")


def mm_numpy(work: Work, built: Built, ctx: Context) -> Measurement:
    if work.dtype != "f32":
        raise Unsupported("numpy has no bf16")
    a, b = (t.numpy() for t in built.inputs)
    fn = lambda: a @ b  # noqa: E731
    return Measurement(timed(fn, ctx.runs), ctx.threads, fn())


# --------------------------------------------------------------------------
# OpenVINO

def _openvino(work: Work, built: Built, ctx: Context, precision: str) -> Measurement:
    import openvino as ov

    core = ov.Core()
    caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    if precision == "bf16" and "BF16" not in caps:
        raise Unsupported(f"this CPU has no bf16 (OpenVINO capabilities: {' '.join(caps)})")
    module = built.sdpa_module or built.module
    notes = ["from F.sdpa"] if built.sdpa_module else []
    with torch.no_grad():
        try:
            model = ov.convert_model(module, example_input=built.inputs)
        except Exception as e:  # noqa: BLE001
            # Its TorchScript frontend misses some ops (aten::diff in GPT-2's
            # mask code); its torch.export frontend is the other documented way.
            try:
                model = ov.convert_model(torch.export.export(module, built.inputs))
            except Exception:  # noqa: BLE001
                raise e
            notes.append(f"via torch.export (TorchScript conversion failed: {type(e).__name__})")
    # f32 must be asked for: OpenVINO runs bf16 by default on AMX CPUs.
    compiled = core.compile_model(model, "CPU", {
        "INFERENCE_PRECISION_HINT": precision, "INFERENCE_NUM_THREADS": ctx.threads,
        "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()
    for i, t in enumerate(built.inputs):
        request.set_input_tensor(i, ov.Tensor(np.ascontiguousarray(t.numpy())))
    request.infer()
    out = request.get_output_tensor(0).data.copy()
    t = timed(request.infer, ctx.runs)
    return Measurement(t, ctx.threads, out, note="; ".join(notes))


def openvino_f32(work: Work, built: Built, ctx: Context) -> Measurement:
    return _openvino(work, built, ctx, "f32")


def openvino_bf16(work: Work, built: Built, ctx: Context) -> Measurement:
    return _openvino(work, built, ctx, "bf16")


# --------------------------------------------------------------------------
# ONNX Runtime

_FUSED_ATTENTION_OPS = ("Attention", "MultiHeadAttention", "PackedAttention",
                        "PackedMultiHeadAttention", "GroupQueryAttention")


def _ort_session(model: Any, ctx: Context) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = ctx.threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _mha_graph(h: int, n: int, d: int, causal: bool) -> bytes:
    from onnx import TensorProto, helper

    shape = [1, n, h * d]
    inputs = [helper.make_tensor_value_info(x, TensorProto.FLOAT, shape) for x in "qkv"]
    output = helper.make_tensor_value_info("o", TensorProto.FLOAT, shape)
    attrs: Dict[str, Any] = {"num_heads": h, "scale": d ** -0.5}
    if causal:
        attrs["unidirectional"] = 1
    node = helper.make_node("MultiHeadAttention", ["q", "k", "v"], ["o"], domain="com.microsoft",
                            **attrs)
    graph = helper.make_graph([node], "mha", inputs, [output])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    return model.SerializeToString()


def export_onnx(work: Work, built: Built, ctx: Context) -> Path:
    """torch.onnx.export (torch.export based; the TorchScript exporter if
    that fails), cached on disk."""
    path = cache_path(ctx, "onnx", work, ".onnx")
    if path.exists():
        return path
    module = built.module
    errors = []
    for dynamo in (True, False):
        try:
            with torch.no_grad():
                torch.onnx.export(module, built.inputs, str(path), dynamo=dynamo,
                                  **({} if dynamo else {"opset_version": 17}))
            return path
        except Exception as e:  # noqa: BLE001 (the reason goes into the row)
            errors.append(f"{'dynamo' if dynamo else 'torchscript'}: {type(e).__name__}: "
                          f"{str(e).splitlines()[0] if str(e) else ''}")
    raise Unsupported("ONNX export failed (" + "; ".join(errors)[:300] + ")")


def onnxruntime_peer(work: Work, built: Built, ctx: Context) -> Measurement:
    if built.ort_mha is not None:
        h, causal = built.ort_mha
        q = built.inputs[0]
        n, d = q.shape[-2], q.shape[-1]
        session = _ort_session(_mha_graph(h, n, d, causal), ctx)
        feed = {name: attention_to_packed(t) for name, t in zip("qkv", built.inputs)}
        out = packed_to_attention(session.run(None, feed)[0], h)
        t = timed(lambda: session.run(None, feed), ctx.runs)
        return Measurement(t, ctx.threads, out, note="com.microsoft.MultiHeadAttention"
                           + (" unidirectional" if causal else ""))
    if built.ort_model_type is None:
        raise Unsupported("no ONNX form of this row")
    import onnx

    exported = export_onnx(work, built, ctx)
    model_type, heads, hidden = built.ort_model_type
    optimized = cache_path(ctx, "onnx", work, ".opt.onnx", model_type)
    note = "exported graph"
    try:
        if not optimized.exists():
            from onnxruntime.transformers.optimizer import optimize_model

            opt = optimize_model(str(exported), model_type=model_type, num_heads=heads,
                                 hidden_size=hidden)
            opt.save_model_to_file(str(optimized), use_external_data_format=True)
        path = optimized
    except Exception as e:  # noqa: BLE001
        path, note = exported, f"exported graph (optimizer failed: {type(e).__name__})"
    graph = onnx.load(str(path), load_external_data=False).graph
    fused = sum(node.op_type in _FUSED_ATTENTION_OPS for node in graph.node)
    if path == optimized:
        note = f"optimizer: {fused} fused attention op(s)" if fused else \
            "optimizer fused no attention"
    session = _ort_session(str(path), ctx)
    feed = {i.name: t.numpy() for i, t in zip(session.get_inputs(), built.inputs)}
    out = session.run(None, feed)[0]
    t = timed(lambda: session.run(None, feed), ctx.runs)
    return Measurement(t, ctx.threads, out, note=note)


# --------------------------------------------------------------------------
# IREE

IREE_STACK_FLAG = "--iree-llvmcpu-stack-allocation-limit=262144"
IREE_FLAGS = ["--iree-hal-target-device=local", "--iree-hal-local-target-device-backends=llvm-cpu",
              "--iree-llvmcpu-target-cpu=host", "--iree-opt-level=O3", "--iree-opt-data-tiling"]


def _iree_compile(built: Built, ctx: Context, decompose: bool, output: Path) -> List[str]:
    """torch.export (optionally decomposed to core ATen) -> FxImporter ->
    iree-compile; returns the extra flags it needed."""
    import iree.compiler as compiler
    from iree.compiler.extras.fx_importer import FxImporter

    # Non-persistent buffers (HF's position_ids) are not in the state dict,
    # which the frozen import cannot map: make them persistent.
    for m in built.module.modules():
        m._non_persistent_buffers_set.clear()
    with torch.no_grad():
        try:
            program = torch.export.export(built.module, built.inputs)
            if decompose:
                program = program.run_decompositions()
        except Exception as e:  # noqa: BLE001
            raise Unsupported(f"torch.export failed: {type(e).__name__}: "
                              f"{str(e).splitlines()[0][:200]}") from e
    importer = FxImporter()
    importer.import_frozen_program(program)
    mlir = ctx.tmp / "iree.mlirbc"
    with open(mlir, "wb") as f:
        importer.module.operation.write_bytecode(f)
    del importer, program
    try:
        compiler.compile_file(str(mlir), input_type="torch", extra_args=IREE_FLAGS,
                              output_file=str(output))
        return []
    except compiler.CompilerToolError as e:
        # Its LayerNorm dispatches can exceed the default 32 KiB stack limit
        # of llvm-cpu (vit_b_16, GPT-2): allow 256 KiB rather than fail.
        if "stack allocation limit" not in str(e):
            raise
    compiler.compile_file(str(mlir), input_type="torch", extra_args=IREE_FLAGS + [IREE_STACK_FLAG],
                          output_file=str(output))
    return [IREE_STACK_FLAG]


def iree_peer(work: Work, built: Built, ctx: Context) -> Measurement:
    """torch.export -> IREE's torch importer (iree.compiler.extras.fx_importer)
    -> iree-compile for llvm-cpu. Core attention is given written out: IREE's
    own attention op (what F.sdpa imports to) measured ~10x slower at n1024."""
    import iree.compiler as compiler
    import iree.runtime as rt
    from importlib.metadata import version

    vmfb = cache_path(ctx, "iree", work, ".vmfb", version("iree-base-compiler"), "v2",
                      *IREE_FLAGS)
    notes_file = vmfb.with_suffix(".notes")
    if not vmfb.exists():
        tmp = vmfb.with_suffix(".tmp")
        try:
            notes = _iree_compile(built, ctx, False, tmp)
        except compiler.CompilerToolError as e:
            # Ops the torch dialect cannot legalise (aten.diff in GPT-2's
            # mask code) often go away in core ATen, as iree-turbine's
            # exporter gives it; others appear there (aten.squeeze.dims).
            if "torch.operator" not in str(e):
                raise Unsupported("iree-compile failed: " + _first_error(str(e))) from e
            try:
                notes = _iree_compile(built, ctx, True, tmp) + ["core ATen"]
            except compiler.CompilerToolError as e2:
                raise Unsupported("iree-compile failed: " + _first_error(str(e2))) from e2
        notes_file.write_text("; ".join(notes))
        tmp.rename(vmfb)
    # Worker threads with 4 MiB stacks: dispatches compiled with the raised
    # stack limit overflow the default ones (GPT-2 crashed).
    rt.flags.parse_flags(f"--task_topology_max_group_count={ctx.threads}",
                         "--task_worker_stack_size=4194304")
    config = rt.Config("local-task")
    context = rt.SystemContext(config=config)
    context.add_vm_module(rt.VmModule.mmap(context.instance, str(vmfb)))
    main = context.modules.module["main"]
    args = [rt.asdevicearray(config.device, t.numpy()) for t in built.inputs]
    fn = lambda: main(*args)  # noqa: E731
    out = fn().to_host()
    # The call is asynchronous: wait for the result inside the timing.
    t = timed(lambda: fn().to_host(), ctx.runs)
    notes = ["written out"] if work.group == "attention" else []
    if notes_file.exists() and notes_file.read_text():
        notes.append(notes_file.read_text())
    return Measurement(t, ctx.threads, out, note="; ".join(notes))


def _first_error(text: str) -> str:
    for line in text.splitlines():
        if "error:" in line:
            return line.split("error:", 1)[1].strip()[:200]
    return text.strip().splitlines()[0][:200] if text.strip() else "?"


# --------------------------------------------------------------------------
# The registry: impl name -> (measure, the groups it runs on).

PEERS: Dict[str, Tuple[Callable[[Work, Built, Context], Measurement], Sequence[str]]] = {
    "attn-run": (attn_run, ("sgemm", "attention", "g1", "cliff")),
    "attn-run unfused": (attn_run_unfused, ("cliff",)),
    "attn-run ukernels=0": (attn_run_no_ukernels, ("sgemm", "g1", "cliff")),
    "attn-run x86-avx512=0": (attn_run_portable_exp, ("attention", "g1")),
    "attn-opt": (attn_opt_compiled, ("g1", "models")),
    "attn-opt bf16": (attn_opt_bf16, ("attention", "g1", "models")),
    "torch eager": (torch_eager, ("sgemm", "attention", "g1", "cliff", "models")),
    "torch SDPA": (torch_sdpa, ("attention",)),
    "torch MHA fast path": (torch_mha, ("g1",)),
    "torch.compile": (torch_compile, ("attention", "g1", "models")),
    "numpy": (mm_numpy, ("sgemm",)),
    "openvino f32": (openvino_f32, ("attention", "g1", "models")),
    "openvino bf16": (openvino_bf16, ("attention", "g1", "models")),
    "onnxruntime": (onnxruntime_peer, ("attention", "g1", "models")),
    "iree": (iree_peer, ("attention", "g1", "models")),
}

# Implementations that are attn-opt itself (not peers) and those not in f32
# (not f32 peers): the ratios in the table are against the best of the rest.
OURS = ("attn-run", "attn-run unfused", "attn-run ukernels=0", "attn-run x86-avx512=0",
        "attn-opt", "attn-opt bf16")
LOW_PRECISION = ("openvino bf16", "attn-opt bf16")


def label(impl: str, work: Work, m: Optional[Measurement]) -> str:
    """The impl column: thread counts where the peer was measured at its best."""
    if work.group == "sgemm" and impl == "torch eager":
        impl = "torch.mm (oneDNN)" if work.dtype == "bf16" else "torch.mm (MKL)"
    if work.group == "sgemm" and impl == "numpy":
        impl = "numpy (OpenBLAS)"
    if m is not None and impl in ("torch eager", "torch SDPA", "torch MHA fast path"):
        impl += f" ({m.threads}t)"
    return impl


def run_peer(impl: str, work: Work, built: Built, ctx: Context) -> Measurement:
    measure, _groups = PEERS[impl]
    return measure(work, built, ctx)


def applies(impl: str, work: Work) -> bool:
    return work.group in PEERS[impl][1]


def error_of(output: Any, built: Built) -> Optional[float]:
    if output is None:
        return None
    ref = built.reference()
    got = as_tensor(output).double()
    if got.numel() != ref.numel():
        return float("nan")
    return float((got.reshape(ref.shape) - ref.double()).abs().max())
