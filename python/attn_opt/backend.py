"""``torch.compile(model, backend="attn_opt")``.

Dynamo captures the Python; AOTAutograd turns each graph into functional
ATen (decomposed with the same table as ``attn_opt.compile``, parameters as
graph inputs). The graph is then partitioned by what the translation table
supports: each supported region becomes one attn-opt library, everything
else stays in PyTorch. ``attn_opt.explain`` (and ``Report`` objects kept on
the backend) lists what stayed and why.

Shapes: each region is compiled for the concrete shapes and integer values
it is called with and cached per shape, so ``dynamic=True`` graphs (symbolic
sizes) are specialised at run time, one attn-opt library per distinct shape;
``dynamic=False`` (the default) makes Dynamo recompile the Python graph on a
new shape, which compiles its regions for that shape likewise.
"""

from __future__ import annotations

import operator
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx
from torch.fx.passes.infra.partitioner import CapabilityBasedPartitioner
from torch.fx.passes.operator_support import OperatorSupportBase

from . import ops as _ops
from .errors import AttnOptError
from .ir import DTYPES
from .source import source_of

# Ops that only move or relabel data: a region made only of these is not
# worth a library (PyTorch does them for free as views).
_LAYOUT_ONLY = {"view", "_unsafe_view", "reshape", "permute", "transpose", "t", "expand", "unsqueeze", "squeeze",
                "clone", "alias", "select", "slice", "split", "split_with_sizes", "unbind", "contiguous",
                "detach", "_to_copy", "lift_fresh_copy", "flatten", "unflatten", "chunk"}


@dataclass
class Fallback:
    """A node left to PyTorch, and why."""

    op: str
    source: Optional[str]
    reason: str


@dataclass
class Report:
    """What the backend did with one captured graph."""

    regions: int = 0
    compiled_ops: int = 0
    fallbacks: List[Fallback] = field(default_factory=list)
    mlir: List[str] = field(default_factory=list)  # each compiled region variant's IR


# The reports of the graphs compiled in this process, newest last
# (attn_opt.explain reads them for torch.compile'd models).
REPORTS: List[Report] = []


def _tensor_meta_ok(node: torch.fx.Node) -> bool:
    val = node.meta.get("val")
    vals = val if isinstance(val, (tuple, list)) else [val]
    return all(isinstance(v, torch.Tensor) and v.dtype in DTYPES and v.device.type == "cpu"
               for v in vals if v is not None)


class _Support(OperatorSupportBase):
    def is_node_supported(self, submodules: Any, node: torch.fx.Node) -> bool:
        if node.op != "call_function":
            return False
        if node.target is operator.getitem:
            src = node.args[0]
            return isinstance(src, torch.fx.Node) and self.is_node_supported(submodules, src)
        return _ops.supported(node.target) and _tensor_meta_ok(node)


class CompiledRegion(torch.nn.Module):
    """One partition: compiled per concrete input shape on first call."""

    def __init__(self, gm: torch.fx.GraphModule, report: Report) -> None:
        super().__init__()
        self.gm = gm
        self.report = report
        self._variants: Dict[Tuple[Any, ...], Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def forward(self, *args: Any) -> Any:
        key = tuple((tuple(a.shape), a.dtype) if isinstance(a, torch.Tensor) else ("value", a) for a in args)
        fn = self._variants.get(key)
        if fn is None:
            with self._lock:
                fn = self._variants.get(key) or self._compile(args, key)
        return fn(*args)

    def _compile(self, args: Sequence[Any], key: Tuple[Any, ...]) -> Callable[..., Any]:
        from .runtime import GraphFunction
        gm = _specialise(self.gm, args)
        try:
            fn = GraphFunction(gm)
            self.report.mlir.append(fn.lowered.mlir)
        except AttnOptError as error:
            # Strictness belongs to attn_opt.compile: here the region runs in
            # PyTorch and the report says why.
            self.report.fallbacks.append(Fallback("region", None, str(error).splitlines()[0]))
            fn = self.gm
        self._variants[key] = fn
        return fn


def _specialise(gm: torch.fx.GraphModule, args: Sequence[Any]) -> torch.fx.GraphModule:
    """A copy of ``gm`` whose nodes carry fake values of the concrete shapes
    of ``args`` (symbolic sizes become numbers)."""
    from torch._subclasses.fake_tensor import FakeTensorMode
    from torch.fx.passes.fake_tensor_prop import FakeTensorProp
    copy = torch.fx.GraphModule(gm, torch.fx.Graph())
    copy.graph = _copy_graph(gm.graph)
    copy.recompile()
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


def _is_layout_only(gm: torch.fx.GraphModule) -> bool:
    for node in gm.graph.nodes:
        if node.op == "call_function" and node.target is not operator.getitem and \
                _ops.packet_name(node.target) not in _LAYOUT_ONLY:
            return False
    return True


def partition(gm: torch.fx.GraphModule, report: Report) -> torch.fx.GraphModule:
    """Replaces every supported region of ``gm`` by a CompiledRegion."""
    partitioner = CapabilityBasedPartitioner(gm, _Support(), allows_single_node_partition=True)
    partitions = partitioner.propose_partitions()
    fused = partitioner.fuse_partitions(partitions)
    for node in fused.graph.nodes:
        if node.op == "call_function" and node.target is not operator.getitem and \
                not _Support().is_node_supported(None, node):
            val = node.meta.get("val")
            if isinstance(val, torch.Tensor) or (isinstance(val, (tuple, list)) and val):
                line = source_of(node)
                reason = "no translation" if not _ops.supported(node.target) else "unsupported dtype or device"
                report.fallbacks.append(Fallback(str(node.target), line.text if line else None, reason))
    for node in list(fused.graph.nodes):
        if node.op != "call_module":
            continue
        sub = getattr(fused, node.target)
        if not isinstance(sub, torch.fx.GraphModule) or _is_layout_only(sub):
            continue
        report.regions += 1
        report.compiled_ops += sum(1 for n in sub.graph.nodes if n.op == "call_function")
        setattr(fused, node.target, CompiledRegion(sub, report))
    fused.recompile()
    return fused


def attn_opt_backend(gm: torch.fx.GraphModule, example_inputs: Sequence[Any], **options: Any) -> Callable:
    """The torch.compile backend (registered as "attn_opt")."""
    from functorch.compile import make_boxed_func
    from torch._dynamo.backends.common import aot_autograd

    from .capture import decomposition_table

    report = options.get("report") or Report()
    REPORTS.append(report)

    def forward_compiler(fw: torch.fx.GraphModule, inputs: Sequence[Any]) -> Callable:
        return make_boxed_func(partition(fw, report))

    return aot_autograd(fw_compiler=forward_compiler, decompositions=dict(decomposition_table().items()))(
        gm, example_inputs)


def register() -> None:
    """Registers the backend name with torch._dynamo (also done through the
    package's torch_dynamo_backends entry point)."""
    from torch._dynamo.backends.registry import _BACKENDS, register_backend
    if "attn_opt" not in _BACKENDS:
        register_backend(name="attn_opt")(attn_opt_backend)

