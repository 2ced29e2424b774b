"""``torch.compile(model, backend="attn_opt")``.

Dynamo captures the Python; AOTAutograd turns each graph into functional
ATen with the decomposition table of ``attn_opt.compile``, parameters and
buffers as graph inputs. In an inference graph (grad disabled, or no input
requiring grad) the composite ops that ``attn_opt.compile`` keeps whole
(``linear``, ``matmul``, ``einsum``, ``scaled_dot_product_attention``, the
norms ...) are kept whole here too, the way ``torch.export`` keeps them, so
both paths translate the same graph; AOTAutograd would otherwise always
decompose them (a ``matmul`` at batch 1 into views and a 3-D ``bmm`` whose
head axis attention recognition cannot see). A graph that needs autograd is
a joint graph: its forward is partitioned from the fully decomposed ops and
its backward runs in PyTorch.

The forward graph is partitioned by what the translation table supports
(``CapabilityBasedPartitioner``): each supported region becomes a
``CompiledRegion``, everything else stays in PyTorch. A region is compiled
to one attn-opt library per concrete input shape on its first call with
that shape and cached; a region whose translation or build fails, or whose
first result has the wrong shape or dtype, runs in PyTorch from then on.
``Report`` lists what stayed in PyTorch and why.

Shapes: ``dynamic=False`` (the default) makes Dynamo recompile the Python
graph on a new shape, which compiles its regions for that shape;
``dynamic=True`` gives graphs with symbolic sizes whose regions are
*specialised*: symbolic sizes arrive as integer inputs, and each distinct
set of shapes and integers compiles one library, once.
"""

from __future__ import annotations

import contextlib
import operator
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import torch
import torch.fx
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupportBase

from . import ops as _ops
from .errors import AttnOptError
from .ir import DTYPES
from .source import source_of

# Ops whose result aliases their input. A region made only of these (and
# of copies) is not worth a library: PyTorch does them for free.
_VIEWS = {"view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "unsqueeze", "squeeze",
          "alias", "select", "slice", "split", "split_with_sizes", "unbind", "detach", "flatten", "unflatten",
          "chunk", "as_strided", "diagonal", "unfold", "narrow", "view_as", "expand_as", "movedim"}
_LAYOUT_ONLY = _VIEWS | {"clone", "contiguous", "_to_copy", "lift_fresh_copy"}

# Ops whose results after the first the translation does not compute (the
# saved statistics of the norms, dropout's mask, pooling's indices, the
# logsumexp of the fused SDPA kernels): fine where nothing reads them, but
# in a forward graph partitioned from a joint graph they are returned for
# the backward (and max/min's indices may be used), so such a node stays in
# PyTorch rather than failing its whole region.
_SECONDARY_NOT_COMPUTED = {
    "native_layer_norm", "native_group_norm", "native_batch_norm", "_native_batch_norm_legit",
    "_native_batch_norm_legit_no_training", "_native_batch_norm_legit_functional", "native_dropout",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "max", "min",
    "_scaled_dot_product_attention_math", "_scaled_dot_product_flash_attention_for_cpu",
    "_scaled_dot_product_flash_attention", "_scaled_dot_product_efficient_attention",
    "_scaled_dot_product_cudnn_attention"}

# Decompositions of torch.export's table that are only right for
# inference: the SDPA kernels' decomposition returns the attention weights
# where the kernel returns its logsumexp, which the kernel's backward
# reads (silently wrong gradients in a joint graph). In a graph that needs
# autograd these ops stay whole (and in PyTorch, see above).
_INFERENCE_ONLY_DECOMPOSITIONS = {
    "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
    "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention"}


@dataclass
class Fallback:
    """Something left to PyTorch, and why: an op (``op`` the ATen name), or
    a whole region whose compilation failed (``op`` the op the error
    names)."""

    op: str
    source: Optional[str]
    reason: str

    def __str__(self) -> str:
        return f"{self.op} ({self.source or 'unknown line'}): {self.reason}"


@dataclass
class Report:
    """What the backend did with the graphs of one ``torch.compile``.

    Pass one in to read it afterwards::

        report = attn_opt.backend.Report()
        fast = torch.compile(model, backend="attn_opt", options={"report": report})
        fast(x); print(report)
    """

    graphs: int = 0  # forward/inference graphs partitioned
    backward_graphs: int = 0  # backward graphs (run in PyTorch)
    regions: int = 0
    compiled_ops: int = 0
    variants: int = 0  # libraries built or loaded: one per region and shape
    fallbacks: List[Fallback] = field(default_factory=list)
    mlir: List[str] = field(default_factory=list)  # each compiled variant's IR

    def add_fallback(self, fallback: Fallback) -> None:
        if all((f.op, f.source, f.reason) != (fallback.op, fallback.source, fallback.reason)
               for f in self.fallbacks):
            self.fallbacks.append(fallback)

    def __str__(self) -> str:
        lines = [f"{self.graphs} graph(s), {self.regions} region(s) of {self.compiled_ops} op(s) compiled by "
                 f"attn-opt ({self.variants} variant(s)), {len(self.fallbacks)} left to PyTorch"
                 + (f", {self.backward_graphs} backward graph(s) in PyTorch" if self.backward_graphs else "")]
        lines += [f"  left to PyTorch: {f}" for f in self.fallbacks]
        return "\n".join(lines)


def _tensor_ok(value: Any) -> bool:
    return isinstance(value, torch.Tensor) and value.dtype in DTYPES and value.device.type == "cpu"


def _name(node: torch.fx.Node) -> Optional[str]:
    return _ops.packet_name(node.target)


def _feeds_output(node: torch.fx.Node) -> bool:
    return any(user.op == "output" for user in node.users)


def _makes_a_constant(node: torch.fx.Node) -> bool:
    """A deterministic op whose value depends on no tensor's elements
    (``arange``, ``full``, ``zeros_like(x)``, sizes as integers): in a
    region it is evaluated by PyTorch at compile time, like the masks
    ``attn_opt.compile`` embeds, so a mask built from it stays visible to
    canonicalisation (a causal mask becomes the causal flag)."""
    target = node.target
    if not isinstance(target, torch._ops.OpOverload) or torch.Tag.nondeterministic_seeded in target.tags:
        return False
    if not isinstance(node.meta.get("val"), torch.Tensor):
        return False
    tensors = [a for a in node.all_input_nodes if not isinstance(a.meta.get("val"), (int, torch.SymInt))]
    if not tensors:
        return True
    return _ops.reads_only_metadata(target) and tensors == [node.args[0]]


def _why_not(node: torch.fx.Node, excluded: Dict[str, str] = {}) -> Optional[str]:  # noqa: B006 - read only
    """Why ``node`` cannot be in a compiled region (None: it can).
    ``excluded`` maps the names of nodes whose translation failed to why."""
    if node.op != "call_function":
        return "not an op"
    if node.name in excluded:
        return excluded[node.name]
    if node.target is operator.getitem:
        src = node.args[0]
        if not isinstance(src, torch.fx.Node) or _why_not(src, excluded) is not None:
            return "an item of an op left to PyTorch"
        if _name(src) in _VIEWS and _feeds_output(node):
            return "a view returned by the graph"
        return None
    if not _ops.supported(node.target) and not _makes_a_constant(node):
        return "no translation"
    if _name(node) in _SECONDARY_NOT_COMPUTED:
        used = [user for user in node.users if user.target is operator.getitem
                and isinstance(user.args[1], int) and user.args[1] > 0 and user.users]
        if used:
            which = ", ".join(str(user.args[1]) for user in sorted(used, key=lambda u: u.args[1]))
            how = "returned (saved for the backward)" if any(_feeds_output(u) for u in used) else "used"
            return f"its result(s) {which} are {how}, which the translation does not compute"
    val = node.meta.get("val")
    vals = list(val) if isinstance(val, (tuple, list)) else [val]
    for v in vals:
        if v is None:
            continue
        if not isinstance(v, torch.Tensor):
            return f"a result that is a {type(v).__name__}, not a tensor"
        if not _tensor_ok(v):
            return f"a result of dtype {v.dtype} on {v.device.type}" if v.dtype not in DTYPES else \
                f"a tensor on {v.device.type}"
    for arg in node.all_input_nodes:
        v = arg.meta.get("val")
        if isinstance(v, torch.Tensor) and not _tensor_ok(v):
            return f"an operand of dtype {v.dtype} on {v.device.type}"
    # A view returned by the graph stays a view: AOTAutograd rebuilds such
    # outputs from their base's strides, which a copy made by compiled
    # code would not have.
    if _name(node) in _VIEWS and _feeds_output(node):
        return "a view returned by the graph"
    return None


class _Support(OperatorSupportBase):
    def __init__(self, excluded: Dict[str, str]) -> None:
        super().__init__()
        self.excluded = excluded

    def is_node_supported(self, submodules: Any, node: torch.fx.Node) -> bool:
        return _why_not(node, self.excluded) is None


class _Variant:
    """One compiled shape of a region: the library's function and what its
    results must look like (the shapes, dtypes and strides of the graph's
    fake values, which the code after the region was traced with)."""

    def __init__(self, fn: Callable[..., Any], gm: torch.fx.GraphModule) -> None:
        self.fn = fn
        out = next(n for n in gm.graph.nodes if n.op == "output").args[0]
        items = list(out) if isinstance(out, (tuple, list)) else [out]
        self.expected = [item.meta.get("val") if isinstance(item, torch.fx.Node) else None for item in items]
        # Outputs traced with other strides than the row-major ones the
        # library returns: restrided (rare: a region whose output is used
        # both by itself and through a permuting view of its own).
        self.restride = [(i, tuple(v.stride())) for i, v in enumerate(self.expected)
                         if isinstance(v, torch.Tensor) and v.numel() > 1 and not v.is_contiguous()]
        self.checked = False

    def check(self, result: Any) -> Optional[str]:
        """Why the first result does not match the traced values (None if it does)."""
        items = list(result) if isinstance(result, (tuple, list)) else [result]
        if len(items) != len(self.expected):
            return f"the compiled region returned {len(items)} value(s), expected {len(self.expected)}"
        for got, want in zip(items, self.expected):
            if isinstance(want, torch.Tensor):
                if not isinstance(got, torch.Tensor) or tuple(got.shape) != tuple(want.shape) or \
                        got.dtype != want.dtype:
                    what = f"{tuple(got.shape)} {got.dtype}" if isinstance(got, torch.Tensor) else type(got).__name__
                    return f"the compiled region returned {what}, expected {tuple(want.shape)} {want.dtype}"
        return None

    def __call__(self, *args: Any) -> Any:
        result = self.fn(*args)
        if not self.restride:
            return result
        items = list(result) if isinstance(result, tuple) else [result]
        for i, stride in self.restride:
            t = items[i]
            out = torch.empty_strided(t.shape, stride, dtype=t.dtype)
            out.copy_(t)
            items[i] = out
        return tuple(items) if isinstance(result, tuple) else items[0]


class CompiledRegion(torch.nn.Module):
    """One partition: compiled per concrete input shape on first call. When
    the translation fails on one node, the region is partitioned again
    without that node (which runs in PyTorch) for that shape; when it fails
    otherwise, or the library's first result does not match the traced
    shapes and dtypes, the region runs in PyTorch for that shape."""

    def __init__(self, gm: torch.fx.GraphModule, report: Report, excluded: Dict[str, str]) -> None:
        super().__init__()
        self.gm = gm
        self.report = report
        self.excluded = excluded
        self._variants: Dict[Tuple[Any, ...], Callable[..., Any]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(args: Sequence[Any]) -> Tuple[Any, ...]:
        return tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else ("value", type(a), a)
                     for a in args)

    def forward(self, *args: Any) -> Any:
        key = self._key(args)
        fn = self._variants.get(key)
        if fn is None:
            with self._lock:
                fn = self._variants.get(key) or self._compile(args, key)
        if isinstance(fn, _Variant) and not fn.checked:
            return self._first_call(fn, key, args)
        return fn(*args)

    def _ops(self) -> int:
        return sum(1 for n in self.gm.graph.nodes if n.op == "call_function")

    def _fall_back(self, key: Tuple[Any, ...], op: str, source: Optional[str], reason: str) -> Callable[..., Any]:
        # Strictness belongs to attn_opt.compile: here the region runs in
        # PyTorch and the report says why.
        self.report.add_fallback(Fallback(op, source or _first_source(self.gm),
                                          f"its region of {self._ops()} op(s) runs in PyTorch: {reason}"))
        self._variants[key] = self.gm
        return self.gm

    def _compile(self, args: Sequence[Any], key: Tuple[Any, ...]) -> Callable[..., Any]:
        from .runtime import GraphFunction
        try:
            gm = _specialise(self.gm, args)
            compiled = GraphFunction(gm)
        except Exception as error:  # noqa: BLE001 - any failure leaves (part of) the region to PyTorch
            head = (str(error).strip().splitlines() or [""])[0][:300]
            failed = getattr(error, "failed_node", None)
            node = next((n for n in self.gm.graph.nodes if n.name == failed and n.op == "call_function"), None)
            if node is None:
                return self._fall_back(key, getattr(error, "op", "region"), getattr(error, "source", None),
                                       head if isinstance(error, AttnOptError) else f"{type(error).__name__}: {head}")
            return self._split(key, node, error, head)
        self.report.variants += 1
        self.report.mlir.append(compiled.lowered.mlir)
        variant = _Variant(compiled, gm)
        self._variants[key] = variant
        return variant

    def _split(self, key: Tuple[Any, ...], node: torch.fx.Node, error: Exception, head: str) -> Callable[..., Any]:
        """The region partitioned again without ``node``, for this shape."""
        reason = f"translation failed ({head})" if isinstance(error, AttnOptError) else \
            f"translation failed ({type(error).__name__}: {head})"
        line = source_of(node)
        self.report.add_fallback(Fallback(str(node.target), line.text if line else None,
                                          reason + "; the rest of its region is compiled without it"))
        excluded = dict(self.excluded)
        excluded[node.name] = reason
        split = _partition(torch.fx.GraphModule(self.gm, _copy_graph(self.gm.graph)), self.report, excluded,
                           count=False)
        self._variants[key] = split
        return split

    def _first_call(self, variant: _Variant, key: Tuple[Any, ...], args: Sequence[Any]) -> Any:
        try:
            result = variant(*args)
            problem = variant.check(result)
        except Exception as error:  # noqa: BLE001 - as a failed compilation
            problem = f"the compiled region failed: {type(error).__name__}: {str(error).splitlines()[0][:300]}"
        if problem is not None:
            with self._lock:
                self._fall_back(key, "region", None, problem)
            return self.gm(*args)
        variant.checked = True
        return result


def _first_source(gm: torch.fx.GraphModule) -> Optional[str]:
    for node in gm.graph.nodes:
        if node.op == "call_function":
            line = source_of(node)
            if line is not None:
                return line.text
    return None


def _specialise(gm: torch.fx.GraphModule, args: Sequence[Any]) -> torch.fx.GraphModule:
    """A copy of ``gm`` whose nodes carry fake values of the concrete shapes
    of ``args`` (symbolic sizes become numbers)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.fake_tensor_prop import FakeTensorProp
    copy = torch.fx.GraphModule(gm, _copy_graph(gm.graph))
    mode = FakeTensorMode(allow_non_fake_inputs=True)
    fakes = [mode.from_tensor(a) if isinstance(a, torch.Tensor) else a for a in args]
    FakeTensorProp(copy, mode).propagate(*fakes)
    return copy


def _copy_graph(graph: torch.fx.Graph) -> torch.fx.Graph:
    new = torch.fx.Graph()
    env: Dict[torch.fx.Node, torch.fx.Node] = {}
    for node in graph.nodes:
        env[node] = new.node_copy(node, lambda n: env[n])
    return new


def _worth_a_library(gm: torch.fx.GraphModule) -> bool:
    """Whether a region computes something from its tensor inputs: not only
    views, copies and constants, which PyTorch does for free or once."""
    static = set()
    for node in gm.graph.nodes:
        if node.op == "placeholder":
            if not isinstance(node.meta.get("val"), torch.Tensor):
                static.add(node)
        elif node.op == "call_function":
            if _makes_a_constant(node) or all(a in static for a in node.all_input_nodes):
                static.add(node)
            elif node.target is not operator.getitem and _name(node) not in _LAYOUT_ONLY:
                return True
    return False


def partition(gm: torch.fx.GraphModule, report: Report) -> torch.fx.GraphModule:
    """Replaces every supported region of ``gm`` by a CompiledRegion and
    lists what stays in PyTorch in ``report``."""
    report.graphs += 1
    for node in gm.graph.nodes:
        if node.op != "call_function" or node.target is operator.getitem:
            continue
        reason = _why_not(node)
        val = node.meta.get("val")
        produces_tensor = isinstance(val, torch.Tensor) or (isinstance(val, (tuple, list)) and any(
            isinstance(v, torch.Tensor) for v in val))
        # Views left as views and size queries (sym_size) are not losses.
        if reason is None or not produces_tensor or reason == "a view returned by the graph":
            continue
        line = source_of(node)
        report.add_fallback(Fallback(str(node.target), line.text if line else None, reason))
    return _partition(gm, report, {}, count=True)


def _partition(gm: torch.fx.GraphModule, report: Report, excluded: Dict[str, str], count: bool
               ) -> torch.fx.GraphModule:
    partitioner = CapabilityBasedPartitioner(gm, _Support(excluded), allows_single_node_partition=True)
    fused = partitioner.fuse_partitions(partitioner.propose_partitions())
    for node in list(fused.graph.nodes):
        if node.op != "call_module":
            continue
        sub = getattr(fused, node.target)
        if not isinstance(sub, torch.fx.GraphModule) or not _worth_a_library(sub):
            continue
        if count:
            report.regions += 1
            report.compiled_ops += sum(1 for n in sub.graph.nodes if n.op == "call_function")
        setattr(fused, node.target, CompiledRegion(sub, report, excluded))
    fused.recompile()
    return fused


@contextlib.contextmanager
def _keep_composites(table: Dict[Any, Any]) -> Iterator[Dict[Any, Any]]:
    """Keeps the composite (CompositeImplicitAutograd) ops missing from
    ``table`` whole while AOTAutograd traces, as ``run_decompositions`` of
    torch.export does; yields the table of the other decompositions. Only
    for inference graphs: the kept ops have no autograd formula. Without the
    private helpers of this PyTorch version, the ops are decomposed."""
    try:
        from torch.export.exported_program import (_override_composite_implicit_decomp,
                                                   _split_decomp_table_to_cia_and_python_decomp)
    except ImportError:
        yield table
        return
    composites, rest = _split_decomp_table_to_cia_and_python_decomp(dict(table))
    with _override_composite_implicit_decomp(composites):
        yield rest


def _needs_autograd(example_inputs: Sequence[Any]) -> bool:
    return torch.is_grad_enabled() and any(isinstance(x, torch.Tensor) and x.requires_grad for x in example_inputs)


def attn_opt_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any], *, report: Optional[Report] = None,
                     options: Optional[Dict[str, Any]] = None, **_ignored: Any) -> Callable:
    """The torch.compile backend (registered as "attn_opt").

    ``options`` (``torch.compile(..., options={...})``): ``report``, a
    ``Report`` to fill in. torch.compile's ``mode`` and ``name`` are
    accepted and have no effect.
    """
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    from .capture import decomposition_table

    options = dict(options or {})
    report = report if report is not None else options.pop("report", None)
    if report is None:
        report = Report()
    if options:
        raise ValueError(f"unknown option(s) of the attn_opt backend: {', '.join(sorted(options))} "
                         "(expected: report)")

    def forward_compiler(fw: torch.fx.GraphModule, inputs: Sequence[Any]) -> Callable:
        return make_boxed_func(partition(fw, report))

    def backward_compiler(bw: torch.fx.GraphModule, inputs: Sequence[Any]) -> Callable:
        report.backward_graphs += 1
        return make_boxed_func(bw)

    table = dict(decomposition_table().items())
    if _needs_autograd(example_inputs):
        table = {op: fn for op, fn in table.items() if _ops.packet_name(op) not in _INFERENCE_ONLY_DECOMPOSITIONS}
        keep = contextlib.nullcontext(table)
    else:
        keep = _keep_composites(table)
    with keep as decompositions:
        return aot_autograd(fw_compiler=forward_compiler, inference_compiler=forward_compiler,
                            bw_compiler=backward_compiler, decompositions=decompositions)(gm, example_inputs)


def register() -> None:
    """Registers the backend name with torch._dynamo (also done through the
    package's torch_dynamo_backends entry point)."""
    from torch._dynamo.backends.registry import _BACKENDS, register_backend
    if "attn_opt" not in _BACKENDS:
        register_backend(name="attn_opt")(attn_opt_backend)
