"""Runs zoo entries: compile, match, count fused attentions, time.

One row per model: compiled / matched / fused k of n / speed vs eager / the
first unsupported op or the first near-miss remark. n counts the attentions
in the captured graph independently of the recogniser: every softmax and
every scaled_dot_product_attention node; k is what attn-opt turns into
attn.attention (recognised or stated as SDPA).
"""

from __future__ import annotations

import re
import time
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch

from .corpus import Entry

_SOFTMAX = {"softmax", "_softmax", "_safe_softmax", "log_softmax", "_log_softmax"}
_SDPA = {"scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
         "_scaled_dot_product_attention_math", "_scaled_dot_product_efficient_attention",
         "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention"}


@dataclass
class Row:
    family: str
    model: str
    compiled: bool = False
    matched: bool = False
    attentions: int = 0
    fused: int = 0
    error: float = float("nan")  # max |compiled - eager| / max |eager|
    argmax_equal: Optional[bool] = None
    eager_ms: float = float("nan")
    compiled_ms: float = float("nan")
    compile_s: float = float("nan")
    ir_bytes: int = 0
    note: str = ""
    # The published model itself fails in eager PyTorch: not counted.
    excluded: bool = False
    # When compiled is slower than eager: both timed again on one thread
    # (eager / compiled, > 1: compiled faster), and the parallel regions
    # the library has; the row's reason says which side the loss is on.
    one_thread_speedup: float = float("nan")
    parallel_regions: int = -1
    slower_because: str = ""

    @property
    def speedup(self) -> float:
        return self.eager_ms / self.compiled_ms if self.compiled_ms == self.compiled_ms and self.compiled_ms else \
            float("nan")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["speedup"] = self.speedup
        return d


# Ops the score's backward slice is followed through, and the products that
# end it (a projection's output is where a query or key comes from).
_THROUGH = {"view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "unsqueeze", "squeeze",
            "clone", "alias", "contiguous", "select", "slice", "mul", "div", "add", "sub", "neg", "pow", "where",
            "masked_fill", "tanh", "exp", "_to_copy", "dropout", "index_put", "split", "split_with_sizes",
            "getitem", "flatten", "unflatten", "abs", "clamp", "clamp_min", "rsub", "sigmoid", "scalar_tensor",
            "copy", "slice_scatter", "select_scatter"}
_PRODUCTS = {"bmm", "mm", "matmul", "einsum", "baddbmm", "addmm", "linear"}


def count_attentions(graph: torch.fx.Graph, data: set, learnt: set = frozenset()) -> int:
    """The attentions of a captured graph, independently of the recogniser:
    every scaled_dot_product_attention, and every softmax whose scores
    combine two different tensors computed from the inputs (Q Kᵀ by a
    product, or q and k by a sum or difference: additive and Gaussian
    scores). A softmax of one projection (CoaT's factorised keys, CCT's
    pooling weights, a classifier) is not an attention."""
    from ..ops import packet_name
    import operator

    def name(n: torch.fx.Node) -> str:
        return "getitem" if n.target is operator.getitem else (packet_name(n.target) or "")

    count = 0
    for node in graph.nodes:
        if node.op != "call_function":
            continue
        kind = name(node)
        if kind in _SDPA:
            count += 1
        elif kind in _SOFTMAX and _combines_two_inputs(node.args[0], data, name, learnt):
            count += 1
    return count


def _combines_two_inputs(start: Any, data: set, name: Any, learnt: set = frozenset(), limit: int = 64) -> bool:
    """Whether the scores combine q and k: a product of two different
    computed tensors, or a sum/difference of two broadcasts of them (an
    additive or Gaussian score; a residual sum of equal shapes is not
    one). The walk goes back through elementwise and view ops, and through
    at most one product with a weight (w_v of an additive score)."""
    stack, seen = [(start, 0)], set()
    while stack and len(seen) < limit:
        n, weights = stack.pop()
        if not isinstance(n, torch.fx.Node) or n in seen or n not in data:
            continue
        seen.add(n)
        kind = name(n)
        inputs = [a for a in n.all_input_nodes if a in data]
        sources = {_sources(a, data, name) for a in inputs}
        # Q Kᵀ: a batched product of the scores' tensor with another one,
        # computed or learnt (CaiT's class-token queries, learnt queries of
        # a patch merger); x @ W of a projection is an `mm`/`linear`.
        operands = [a for a in n.all_input_nodes if a in data or a in learnt]
        if kind in ("bmm", "matmul", "einsum", "baddbmm") and inputs and \
                len({_sources(a, data, name) for a in operands}) >= 2:
            return True
        if kind in ("add", "sub") and len(inputs) == 2 and len(sources) == 2 and \
                any(_is_broadcast(a, n, name) for a in inputs):
            return True
        if kind in _PRODUCTS and len(inputs) == 1 and weights == 0:
            stack.append((inputs[0], 1))
        elif kind in _THROUGH:
            stack.extend((a, weights) for a in inputs)
    return False


def _is_broadcast(operand: torch.fx.Node, user: torch.fx.Node, name: Any) -> bool:
    a, b = operand.meta.get("val"), user.meta.get("val")
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and tuple(a.shape) != tuple(b.shape):
        return True
    n = operand
    while isinstance(n, torch.fx.Node) and name(n) in ("view", "_unsafe_view", "reshape", "permute", "clone"):
        n = n.all_input_nodes[0] if n.all_input_nodes else None
    return isinstance(n, torch.fx.Node) and name(n) in ("expand", "repeat", "repeat_interleave", "unsqueeze")


def _sources(n: torch.fx.Node, data: set, name: Any) -> Any:
    """The product (projection) a tensor is a view or slice of, else itself."""
    while isinstance(n, torch.fx.Node) and name(n) in ("view", "_unsafe_view", "reshape", "permute", "transpose",
                                                        "t", "expand", "unsqueeze", "squeeze", "clone", "alias",
                                                        "contiguous", "_to_copy") and n.all_input_nodes:
        n = n.all_input_nodes[0]
    return n


def data_nodes(graph: torch.fx.Graph, placeholders: Any, kind: str = "input") -> set:
    """Nodes whose value depends on a user input (or a parameter)."""
    data: set = set()
    for n in graph.nodes:
        if n.op == "placeholder":
            if placeholders.get(n) is not None and placeholders[n].kind == kind:
                data.add(n)
        elif any(a in data for a in n.all_input_nodes):
            data.add(n)
    return data


# Timed calls of one function in a row per round (see _fastest_ms).
_BURST = 3


def _fastest_ms(fns: Any, runs: int) -> list:
    """The fastest of ``runs`` rounds of timed calls of each function, the
    functions interleaved round by round, so both see the same machine (these
    machines are shared: the minimum is what each can do, the median mostly
    noise). Each round calls a function _BURST times in a row: PyTorch's
    OpenMP runtime (libgomp) keeps its workers spinning for a few
    milliseconds after an eager call and LLVM's (libomp, attn-opt's) after a
    compiled one, so a call right after the other side's shares the cores
    with its spinners; alternated call by call, a 6 ms d2l
    TransformerEncoderBlock timed 10.6 ms compiled against 5.6 ms in a row."""
    for fn in fns:
        fn()  # warm
    best = [float("inf")] * len(fns)
    for _ in range(runs):
        for k, fn in enumerate(fns):
            for _ in range(_BURST):
                t = time.perf_counter()
                fn()
                best[k] = min(best[k], time.perf_counter() - t)
    return [b * 1e3 for b in best]


# The outlined body of each OpenMP parallel region of a compiled library:
# forward..omp_par, forward..omp_par.1, ... in its symbol table.
_OMP_REGION = re.compile(rb"\.\.omp_par(?:\.\d+)?\x00")


def parallel_regions(library: Any) -> int:
    """The OpenMP parallel regions compiled into ``library`` (a .so path)."""
    return len(set(_OMP_REGION.findall(Path(library).read_bytes())))


def _one_thread_ms(fns: Any, runs: int) -> list:
    """``_fastest_ms`` with PyTorch and LLVM's OpenMP runtime on one thread."""
    import ctypes
    threads = torch.get_num_threads()
    try:
        omp = ctypes.CDLL("libomp.so.5")
        omp_threads = omp.omp_get_max_threads()
    except OSError:
        omp = None
    try:
        torch.set_num_threads(1)
        if omp is not None:
            omp.omp_set_num_threads(1)
        return _fastest_ms(fns, runs)
    finally:
        torch.set_num_threads(threads)
        if omp is not None:
            omp.omp_set_num_threads(omp_threads)


def explain_slowdown(row: Row, fns: Any, library: Any, runs: int, only_if_slower: bool = False) -> None:
    """Times both sides again on one thread (``one_thread_speedup``: what
    each side's code costs, which a loaded machine disturbs far less than
    two threads) and says on which side a compiled model that ran slower
    than eager loses. Faster there means the loss is in running on several
    threads (each parallel region synchronises them; PyTorch keeps small ops
    on one thread); slower there too means the compiled code itself is
    slower. With ``only_if_slower`` a row that was not slower gets the
    one-thread time and no reason."""
    eager_ms, compiled_ms = _one_thread_ms(fns, runs)
    row.one_thread_speedup = eager_ms / compiled_ms
    if only_if_slower and not row.compiled_ms > row.eager_ms:
        return
    row.parallel_regions = parallel_regions(library)
    if row.one_thread_speedup >= 1.0:
        row.slower_because = (f"threads: {row.one_thread_speedup:.2f}x eager on one thread; "
                              f"{row.parallel_regions} parallel regions per call")
    else:
        row.slower_because = (f"code: {row.one_thread_speedup:.2f}x eager on one thread too "
                              f"({row.parallel_regions} parallel regions)")


def run_entry(entry: Entry, small: bool = False, runs: int = 3, rtol: float = 1e-4,
              capture_only: bool = False) -> Row:
    """Builds, compiles and checks one entry; never raises. With
    ``capture_only`` it stops after translation and recognition (a census of
    unsupported ops and fusion, minutes for the whole corpus)."""
    import attn_opt
    from ..capture import lower
    from ..explain import direct_attentions, remarks_of

    row = Row(entry.family, entry.name)
    try:
        model, make_inputs = entry.build(small)
        example, test = make_inputs(0), make_inputs(1)
    except Exception as exc:  # noqa: BLE001 - a row, not a crash
        row.note = f"build failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return row
    try:
        if not capture_only:
            with torch.no_grad():
                model(*example)
    except Exception as exc:  # noqa: BLE001 - the model's own bug
        row.excluded = True
        row.note = f"the model fails in eager PyTorch: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return row
    try:
        lowered, captured = lower(model, example, strict=False)
        graph = captured.program.graph
        row.attentions = count_attentions(graph, data_nodes(graph, captured.placeholders),
                                          data_nodes(graph, captured.placeholders, "parameter"))
        row.ir_bytes = len(lowered.mlir.encode())
        if lowered.unsupported:
            first = lowered.unsupported[0]
            row.note = f"{str(first).splitlines()[0]} at {first.source or 'unknown line'}"
            return row
        remarks = remarks_of(lowered.mlir)
        row.fused = sum(r.fused for r in remarks) + len(direct_attentions(lowered.mlir))
        misses = [r for r in remarks if not r.fused]
        if row.fused < row.attentions:
            row.note = f"near miss: {misses[0]}" if misses else "an attention without a remark"
        if capture_only:
            return row
        start = time.perf_counter()
        compiled = attn_opt.compile(model, example)
        row.compile_s = time.perf_counter() - start
        row.compiled = True
        with torch.no_grad():
            want = entry.select(model(*test))
            got = entry.select(compiled(*test))
            scale = float(want.abs().max()) or 1.0
            row.error = float((got.double() - want.double()).abs().max()) / scale
            ok = got.shape == want.shape and row.error <= rtol
            if entry.kind == "logits":
                row.argmax_equal = bool((got.argmax(-1) == want.argmax(-1)).all())
                ok = ok and row.argmax_equal
            row.matched = ok
            if not ok and not row.note:
                row.note = f"mismatch: relative error {row.error:.2e}"
            if runs:
                fns = [lambda: model(*test), lambda: compiled(*test)]
                row.eager_ms, row.compiled_ms = _fastest_ms(fns, runs)
                explain_slowdown(row, fns, compiled.library_path, runs, only_if_slower=True)
    except Exception as exc:  # noqa: BLE001 - a row, not a crash
        text = str(exc).strip().splitlines()
        head = text[0] if text else type(exc).__name__
        src = next((l.strip() for l in text[1:] if l.strip().startswith("at ")), "")
        row.note = (f"{type(exc).__name__}: {head[:240]} {src[:200]}").strip()
        if not isinstance(exc, attn_opt.AttnOptError):
            row.note += " | " + traceback.format_exc().strip().splitlines()[-1][:200]
    return row


# -- the torch.compile path -------------------------------------------------------

# The timm models the backend check runs, with the options that keep them
# small (a reduced depth or image size; the code paths are the full model's).
TIMM_SUBSET: Tuple[Tuple[str, Dict[str, Any]], ...] = (
    ("vit_tiny_patch16_224", dict(img_size=64)),
    ("deit_tiny_patch16_224", {}),
    ("swin_tiny_patch4_window7_224", {}),
    ("levit_128s", {}),
    ("cait_xxs24_224", dict(depth=2)),
    ("convit_tiny", {}),
    ("efficientformer_l1", {}),
    ("xcit_nano_12_p16_224", {}),
    ("pvt_v2_b0", {}),
    ("beit_base_patch16_224", dict(depth=2)),
    ("eva02_tiny_patch14_224", {}),
    ("twins_svt_small", {}),
)


def timm_subset_entries() -> List[Entry]:
    """The entries of TIMM_SUBSET (family "timm")."""
    def make(name: str, kwargs: Dict[str, Any]):
        def build(small: bool):
            import timm
            torch.manual_seed(0)
            model = timm.create_model(name, pretrained=False, **kwargs).eval()
            cfg = model.pretrained_cfg
            size = kwargs.get("img_size", cfg.get("input_size", (3, 224, 224))[-1])
            channels = cfg.get("input_size", (3, 224, 224))[0]
            return model, lambda seed: (torch.randn(1, channels, size, size,
                                                    generator=torch.Generator().manual_seed(seed)),)
        return build
    label = lambda name, kw: name + (" (" + ", ".join(f"{k}={v}" for k, v in kw.items()) + ")" if kw else "")  # noqa: E731
    return [Entry("timm", label(n, kw), make(n, kw), kind="logits") for n, kw in TIMM_SUBSET]


@dataclass
class BackendRow:
    """One model through ``torch.compile(model, backend="attn_opt")``.

    Each mode is "ok", "wrong" (compiled and ran, but the result is off by
    more than rtol relative to max |eager|), "crash", or "torch" (crashed,
    and torch.compile with Dynamo's "eager" backend crashes the same way:
    PyTorch's limit, not attn-opt's); ``note`` has the first crash or
    mismatch of each mode. regions/fallbacks/fused are those of the
    no-grad run (``fused`` as ``attn_opt.explain(..., mode="torch.compile")``
    counts it); ``attentions`` is the count on the torch.export graph, as in
    the strict zoo."""

    family: str
    model: str
    no_grad: str = ""
    grad: str = ""
    dynamic: str = ""
    error: float = float("nan")
    grad_error: float = float("nan")  # forward and parameter gradients
    dynamic_error: float = float("nan")
    graphs: int = 0
    regions: int = 0
    fallbacks: int = 0
    fallback_ops: str = ""
    attentions: int = -1
    fused: int = -1
    compile_s: float = float("nan")
    eager_ms: float = float("nan")
    compiled_ms: float = float("nan")
    note: str = ""
    excluded: bool = False

    @property
    def works(self) -> bool:
        return self.no_grad == self.grad == self.dynamic == "ok"

    def as_dict(self) -> dict:
        return asdict(self)


def _rel_error(got: Any, want: torch.Tensor, floor: float = 0.0) -> float:
    """max |got - want| relative to max |want| (or to ``floor`` where that is larger)."""
    if not isinstance(got, torch.Tensor) or got.shape != want.shape:
        return float("inf")
    scale = max(float(want.detach().abs().max()), floor) or 1.0
    return float((got.detach().double() - want.detach().double()).abs().max()) / scale


def _batched(make_inputs: Any, seeds: Sequence[int], shorten: int = 0) -> Tuple[Any, ...]:
    """Inputs of ``len(seeds)`` times the entry's batch (tensors concatenated
    along dim 0); ``shorten`` drops that many positions of dim 1 of the
    integer matrices (token ids, attention masks) of a text model."""
    parts = [make_inputs(s) for s in seeds]
    out = []
    for column in zip(*parts):
        if isinstance(column[0], torch.Tensor):
            t = torch.cat(column, 0)
            if shorten and t.dim() == 2 and not t.is_floating_point():
                t = t[:, :t.shape[1] - shorten].contiguous()
            out.append(t)
        else:
            out.append(column[0])
    return tuple(out)


def _is_text(inputs: Tuple[Any, ...]) -> bool:
    first = inputs[0] if inputs else None
    return isinstance(first, torch.Tensor) and first.dim() == 2 and not first.is_floating_point()


def _crash(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    head = text[0][:200] if text else ""
    return f"{type(exc).__name__}: {head} | " + traceback.format_exc().strip().splitlines()[-3][:200].strip()


def run_backend_entry(entry: Entry, small: bool = True, runs: int = 3, rtol: float = 1e-4) -> BackendRow:
    """Runs one entry through torch.compile(backend="attn_opt") under
    no_grad, in grad mode (outputs and parameter gradients) and with
    dynamic=True on two batch sizes (and, for text models, sequence
    lengths); every check on inputs other than the first call's. Never
    raises."""
    import torch._dynamo
    from .. import backend as _backend
    from ..capture import capture
    from ..explain import explain

    row = BackendRow(entry.family, entry.name)
    try:
        model, make_inputs = entry.build(small)
        example, test = make_inputs(0), make_inputs(1)
    except Exception as exc:  # noqa: BLE001
        row.note = f"build failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return row
    try:
        with torch.no_grad():
            want = entry.select(model(*test))
    except Exception as exc:  # noqa: BLE001 - the model's own bug
        row.excluded = True
        row.note = f"the model fails in eager PyTorch: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return row
    notes: List[str] = []
    backend_fn = None  # None: attn_opt with the mode's report; "eager": Dynamo's own check

    def compiled_with(report: Any, graphs: List[Any], **kw: Any) -> Any:
        torch._dynamo.reset()
        if backend_fn == "eager":
            return torch.compile(model, backend="eager", **kw)

        def fn(gm: Any, ex: Any) -> Any:
            graphs.append(gm)
            return _backend.attn_opt_backend(gm, ex, report=report)
        return torch.compile(model, backend=fn, **kw)

    def no_grad_mode() -> float:
        compiled = compiled_with(report, graphs)
        with torch.no_grad():
            start = time.perf_counter()
            compiled(*example)
            if backend_fn is None:
                row.compile_s = time.perf_counter() - start
            error = _rel_error(entry.select(compiled(*test)), want)
            if runs and backend_fn is None:
                row.eager_ms, row.compiled_ms = _fastest_ms([lambda: model(*test), lambda: compiled(*test)], runs)
        return error

    params = [p for p in model.parameters() if p.requires_grad]

    def grads(fn: Any) -> Tuple[torch.Tensor, List[Optional[torch.Tensor]]]:
        for p in params:
            p.grad = None
        out = entry.select(fn(*test))
        weight = torch.randn(out.shape, generator=torch.Generator().manual_seed(7), dtype=out.dtype)
        if out.requires_grad:
            (out * weight).sum().backward()
        result = out.detach(), [None if p.grad is None else p.grad.clone() for p in params]
        for p in params:
            p.grad = None
        return result

    def grad_mode() -> float:
        # The output and the parameters' gradients of a fixed weighting of it.
        want_out, want_grads = grads(model)
        compiled = compiled_with(_backend.Report(), [])
        compiled(*example)
        got_out, got_grads = grads(compiled)
        errors = [_rel_error(got_out, want_out)]
        # A gradient that is zero analytically (a key projection's bias: a
        # softmax ignores what it adds to every score of a row) is rounding
        # noise in eager and compiled alike, ~1e-7 of the others: each
        # gradient is measured against at least 1e-3 of the largest one.
        floor = 1e-3 * max((float(w.abs().max()) for w in want_grads if w is not None), default=0.0)
        for g, w in zip(got_grads, want_grads):
            if (g is None) != (w is None):
                errors.append(float("inf"))
            elif w is not None:
                errors.append(_rel_error(g, w, floor))
        if max(errors) > rtol:
            notes.append(f"grad: error {errors[0]:.2e} (output), {max(errors[1:] or [0]):.2e} (gradients)")
        return max(errors)

    def dynamic_mode() -> float:
        compiled = compiled_with(_backend.Report(), [], dynamic=True)
        shorten = 4 if _is_text(test) else 0
        errors = []
        with torch.no_grad():
            for inputs in (_batched(make_inputs, (1, 2)), _batched(make_inputs, (3, 4, 5), shorten)):
                errors.append(_rel_error(entry.select(compiled(*inputs)), entry.select(model(*inputs))))
        if max(errors) > rtol:
            notes.append(f"dynamic: errors {', '.join(f'{e:.2e}' for e in errors)}")
        return max(errors)

    def attempt(name: str, mode: Callable[[], float]) -> Tuple[str, float]:
        """ "ok"/"wrong" with the error, or "crash"; a crash that Dynamo's
        own eager backend repeats is PyTorch's ("torch")."""
        nonlocal backend_fn
        try:
            error = mode()
            if error > rtol and name == "no_grad":
                notes.append(f"no_grad: error {error:.2e}")
            return ("ok" if error <= rtol else "wrong"), error
        except Exception as exc:  # noqa: BLE001 - a row, not a crash
            message = _crash(exc)
        backend_fn = "eager"
        try:
            mode()
            status = "crash"
        except Exception:  # noqa: BLE001 - torch.compile itself fails here
            status = "torch"
        finally:
            backend_fn = None
        notes.append(f"{name}: " + ("(torch.compile with backend='eager' fails too) " if status == "torch" else "")
                     + message)
        return status, float("nan")

    report, graphs = _backend.Report(), []
    row.no_grad, row.error = attempt("no_grad", no_grad_mode)
    row.graphs = len(graphs)
    row.regions = report.regions
    row.fallbacks = len(report.fallbacks)
    row.fallback_ops = ", ".join(sorted({f.op.replace("aten.", "") for f in report.fallbacks}))
    row.grad, row.grad_error = attempt("grad", grad_mode)
    row.dynamic, row.dynamic_error = attempt("dynamic", dynamic_mode)

    try:
        torch._dynamo.reset()
        row.fused = explain(model, example, mode="torch.compile").fused
    except Exception as exc:  # noqa: BLE001
        notes.append("explain: " + _crash(exc))
    try:
        captured = capture(model, example)
        graph = captured.program.graph
        row.attentions = count_attentions(graph, data_nodes(graph, captured.placeholders),
                                          data_nodes(graph, captured.placeholders, "parameter"))
    except Exception:  # noqa: BLE001 - torch.export cannot capture it: no count
        pass
    torch._dynamo.reset()
    row.note = "; ".join(notes)
    return row
