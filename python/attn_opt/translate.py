"""An ATen graph (from torch.export or torch.compile) -> one attn-dialect function.

Every node is classified by what its value depends on:

* *static*: only constants and buffers (masks built with ``triu``/``arange``,
  Swin's shift mask, relative position indices). Evaluated here with PyTorch
  and embedded in the IR, where canonicalisation can see them (a constant
  causal mask becomes the ``causal`` flag);
* *prepared*: parameters too, but no input (a weight, ``t(W)``, a bias table
  gathered by a constant index). Copied into the *prepare graph*, which
  PyTorch runs at load time and again whenever a parameter changes; its
  results are arguments of the compiled function, so weights never enter the
  IR and ``load_state_dict`` takes effect on the next call;
* *data*: depends on an input. Translated by the table in ``attn_opt.ops``
  (one function per ATen op, looked up by name).
"""

from __future__ import annotations

import operator
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.fx

from . import ops as _ops
from .emitter import Emitter
from .errors import UnsupportedOperationError
from .ir import (DTYPES, Const, FuncArg, Pieces, Prepared, Tensor, TensorLike, Unavailable, Value, View,
                 tensor_type)
from .source import SourceLine, source_of

# Non-splat floating-point constants above this size are passed as arguments
# (like parameters) instead of being written into the IR, unless they look
# like masks (only 0, -inf or very negative values), which canonicalisation
# must see to recognise causal patterns.
LARGE_CONSTANT_BYTES = 1 << 20


@dataclass
class Lowered:
    """The translation of one graph."""

    mlir: str
    args: List[FuncArg]
    # Per result: (shape, MLIR element type).
    results: List[Tuple[Tuple[int, ...], str]]
    # How graph outputs map onto results: an int (result index) or
    # ("python", value) for a non-tensor output.
    outputs: List[Any]
    # Runs the prepare graph: (params, buffers, constants) -> prepared tensors.
    prepare: Optional[torch.fx.GraphModule] = None
    prepare_inputs: List[Tuple[str, str]] = field(default_factory=list)  # (kind, name)
    # Buffers whose values the IR depends on (a changed one recompiles).
    embedded_buffers: List[str] = field(default_factory=list)
    unsupported: List[UnsupportedOperationError] = field(default_factory=list)
    # FLOPs of the contractions and attentions (a cost estimate).
    flops: int = 0


@dataclass
class Placeholder:
    """What a placeholder of the graph stands for."""

    kind: str  # "input", "parameter", "buffer", "constant"
    name: str  # FQN for parameters/buffers, the constant's name, or the input's name
    index: int = -1  # position among the flat user inputs
    value: Optional[torch.Tensor] = None  # the real tensor for buffers/constants


class TranslationContext:
    """What an op translation sees: the emitter and the node's result type."""

    def __init__(self, translator: "Translator", node: torch.fx.Node) -> None:
        self.e = translator.emitter
        self.node = node
        self.translator = translator

    def meta(self, index: Optional[int] = None) -> Tuple[Tuple[int, ...], str]:
        return self.translator.meta(self.node, index)

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.meta()[0]

    @property
    def dtype(self) -> str:
        return self.meta()[1]

    def arg_meta(self, position: int) -> Any:
        """The fake value of the node's ``position``-th positional argument."""
        arg = self.node.args[position]
        return arg.meta.get("val") if isinstance(arg, torch.fx.Node) else arg

    def error(self, detail: str = "") -> UnsupportedOperationError:
        return self.e.error(detail)


def _torch_dir(module: Any) -> str:
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


class Translator:
    def __init__(self, graph: torch.fx.Graph, placeholders: Dict[torch.fx.Node, Placeholder],
                 strict: bool = True, weight_panels: bool = False) -> None:
        self.graph = graph
        self.placeholders = placeholders
        self.strict = strict
        # Linear weights prepared at load time as column panels (the CPU
        # micro-kernel's layout): see ops/linalg.py's linear.
        self.weight_panels = weight_panels
        self.emitter = Emitter(self._materialize)
        self.env: Dict[torch.fx.Node, Value] = {}
        self.args: List[FuncArg] = []
        self.prepared_args: Dict[Any, Tensor] = {}
        self.unsupported: List[UnsupportedOperationError] = []
        self.used_buffers: set = set()

    # -- metadata ---------------------------------------------------------------

    def meta(self, node: torch.fx.Node, index: Optional[int] = None) -> Tuple[Tuple[int, ...], str]:
        val = node.meta.get("val")
        if index is not None and isinstance(val, (tuple, list)):
            val = val[index]
        if not isinstance(val, torch.Tensor):
            raise self.emitter.error("an operation whose result is not a tensor")
        if val.dtype not in DTYPES:
            raise self.emitter.error(f"a result of dtype {val.dtype}")
        return tuple(int(s) for s in val.shape), DTYPES[val.dtype]

    # -- arguments ----------------------------------------------------------------

    def _materialize(self, value: Any) -> Tensor:
        if isinstance(value, Const):
            t = value.value
            if t.is_floating_point() and t.numel() * t.element_size() > LARGE_CONSTANT_BYTES \
                    and not _looks_like_mask(t):
                key = id(t)
                if key not in self.prepared_args:
                    self.emitter.keep_alive.append(t)
                    self.prepared_args[key] = self._add_arg(FuncArg("constant", "", tuple(t.shape),
                                                                    DTYPES[t.dtype], extra={"value": t}))
                return self.prepared_args[key]
            return self.emitter.constant(t)
        assert isinstance(value, Prepared)
        key = (id(value.node), value.post)
        if key not in self.prepared_args:
            hint = value.node.name
            info = self.placeholders.get(value.node)
            if info is not None:
                hint = info.name.replace(".", "_")
            if value.post:
                hint += "_t" if len(value.post) == 1 else "_p"
            self.prepared_args[key] = self._add_arg(FuncArg("prepared", hint, value.shape, value.dtype,
                                                            node=value.node, extra={"post": value.post}))
        return self.prepared_args[key]

    def _add_arg(self, arg: FuncArg) -> Tensor:
        hint = arg.name or (f"w{len(self.args)}" if arg.kind != "input" else "arg")
        name = self.emitter.fresh(hint)
        arg.name = name
        self.args.append(arg)
        return Tensor(name, arg.shape, arg.dtype)

    # -- the walk -------------------------------------------------------------------

    def run(self) -> Lowered:
        kinds: Dict[torch.fx.Node, str] = {}
        outputs_node = None
        for node in self.graph.nodes:
            self.emitter.op_name = _op_name(node)
            line = source_of(node)
            self.emitter.source = line.text if line else None
            self.emitter.set_location(line.filename if line else None, line.lineno if line else None)
            if node.op == "placeholder":
                kinds[node] = self._placeholder(node)
                continue
            if node.op == "output":
                outputs_node = node
                continue
            if node.op != "call_function":
                raise self.emitter.error(f"graph node of kind {node.op}")
            kind = self._classify(node, kinds)
            kinds[node] = kind
            if kind == "static":
                self.env[node] = self._evaluate(node)
            elif kind == "prepared":
                self.env[node] = self._prepared(node)
            else:
                self.env[node] = self._translate(node)
        assert outputs_node is not None
        return self._finish(outputs_node, kinds)

    def _placeholder(self, node: torch.fx.Node) -> str:
        info = self.placeholders[node]
        if info.kind == "input":
            val = node.meta.get("val")
            if isinstance(val, torch.Tensor):
                if val.dtype not in DTYPES:
                    raise UnsupportedOperationError(f"input '{info.name}' of dtype {val.dtype}", None)
                shape = tuple(int(s) for s in val.shape)
                self.env[node] = self._add_arg(FuncArg("input", info.name, shape, DTYPES[val.dtype],
                                                       index=info.index))
                self.args[-1].extra["name"] = info.name
                return "data"
            # A non-tensor input (an int, a bool): specialised.
            self.env[node] = val
            return "static"
        if info.kind == "parameter":
            val = node.meta["val"]
            self.env[node] = Prepared(node, tuple(int(s) for s in val.shape), DTYPES.get(val.dtype, "?"))
            return "prepared"
        assert info.value is not None
        if info.kind == "buffer":
            self.used_buffers.add(info.name)
        self.env[node] = Const(info.value)
        return "static"

    def _classify(self, node: torch.fx.Node, kinds: Dict[torch.fx.Node, str]) -> str:
        deps = [kinds[d] for d in node.all_input_nodes]
        if "data" in deps:
            if _ops.reads_only_metadata(node.target):
                # zeros_like(x) & co. do not depend on x's elements.
                others = [kinds[d] for d in node.all_input_nodes[1:]]
                if "data" not in others:
                    return "prepared" if "prepared" in others else "static"
            return "data"
        if "prepared" in deps:
            return "prepared"
        return "static"

    def _evaluate(self, node: torch.fx.Node) -> Value:
        """Runs a static node with PyTorch on the real constant values."""
        args, kwargs = self._resolve(node.args), self._resolve(node.kwargs)
        real = lambda v: v.value if isinstance(v, Const) else v  # noqa: E731
        args = torch.fx.node.map_aggregate(args, real)
        kwargs = torch.fx.node.map_aggregate(kwargs, real)
        if _ops.reads_only_metadata(node.target) and args and isinstance(args[0], TensorLike):
            shape, dtype = self.meta(node.all_input_nodes[0])
            args = (torch.zeros(shape, dtype=_torch_dtype(dtype)),) + tuple(args[1:])
        try:
            with torch.no_grad():
                result = node.target(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - reported with the user's line
            raise self.emitter.error(f"evaluating it on constants failed: {exc}") from None
        return _wrap(result)

    def _prepared(self, node: torch.fx.Node) -> Value:
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor):
            return Prepared(node, tuple(int(s) for s in val.shape), DTYPES.get(val.dtype, "?"))
        if isinstance(val, (tuple, list)):
            # Multi-result op (split of a parameter): getitem nodes follow.
            return ("prepared-tuple", node)
        return val

    def _resolve(self, arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            return self.env[arg]
        if isinstance(arg, (tuple, list)):
            return type(arg)(self._resolve(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self._resolve(v) for k, v in arg.items()}
        return arg

    def _translate(self, node: torch.fx.Node) -> Value:
        args, kwargs = self._resolve(node.args), self._resolve(node.kwargs)
        if node.target is operator.getitem:
            return _ops.getitem(TranslationContext(self, node), args[0], args[1])
        entry = _ops.lookup(node.target)
        try:
            if entry is None:
                raise self.emitter.error()
            bound = _ops.bind(node.target, args, kwargs)
            return entry(TranslationContext(self, node), **bound)
        except UnsupportedOperationError as error:
            if self.strict:
                raise
            self.unsupported.append(error)
            return self._opaque(node)

    def _opaque(self, node: torch.fx.Node) -> Value:
        """A stand-in for an untranslatable node (explain mode only)."""
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor) and val.dtype in DTYPES:
            return Tensor(self.emitter.fresh("unsupported"), tuple(int(s) for s in val.shape), DTYPES[val.dtype])
        if isinstance(val, (tuple, list)):
            return tuple(Tensor(self.emitter.fresh("unsupported"), tuple(int(s) for s in v.shape), DTYPES[v.dtype])
                         if isinstance(v, torch.Tensor) and v.dtype in DTYPES else None for v in val)
        return val

    def _finish(self, output: torch.fx.Node, kinds: Dict[torch.fx.Node, str]) -> Lowered:
        e = self.emitter
        e.op_name, e.source = "output", None
        e.set_location(None, None)
        items = output.args[0]
        items = list(items) if isinstance(items, (tuple, list)) else [items]
        results: List[Tensor] = []
        mapping: List[Any] = []
        for item in items:
            value = self._resolve(item)
            if isinstance(value, TensorLike):
                t = e.tensor(value)
                mapping.append(len(results))
                results.append(t)
            elif isinstance(value, Unavailable) or isinstance(value, Pieces):
                raise e.error(f"a forward that returns {value}")
            else:
                mapping.append(("python", value))
        if not results:
            raise UnsupportedOperationError("output", None, "a forward that returns no tensor")
        sig = ", ".join(f"{a.name}: {tensor_type(a.shape, a.dtype)}" for a in self.args)
        rtypes = ", ".join(r.type for r in results)
        lines = [f"{alias} = loc({text})" for text, alias in e.locations.items()]
        lines.append(f"func.func @forward({sig}) -> ({rtypes}) {{")
        lines += e.live_lines([r.name for r in results])
        lines.append(f"  return {', '.join(r.name for r in results)} : {rtypes}")
        lines.append("}")
        lowered = Lowered("\n".join(lines) + "\n", list(self.args), [(r.shape, r.dtype) for r in results],
                          mapping, embedded_buffers=sorted(self.used_buffers),
                          unsupported=list(self.unsupported), flops=e.flops)
        self._build_prepare(lowered)
        return lowered

    def _build_prepare(self, lowered: Lowered) -> None:
        """The graph PyTorch runs at load time: the ancestors of every
        prepared argument, from the parameters, buffers and constants."""
        wanted = [a for a in lowered.args if a.kind == "prepared"]
        if not wanted:
            return
        needed: set = set()
        stack = [a.node for a in wanted]
        while stack:
            n = stack.pop()
            if n in needed:
                continue
            needed.add(n)
            stack.extend(n.all_input_nodes)
        graph = torch.fx.Graph()
        env: Dict[torch.fx.Node, torch.fx.Node] = {}
        for n in self.graph.nodes:
            if n not in needed:
                continue
            if n.op == "placeholder":
                info = self.placeholders[n]
                env[n] = graph.placeholder(f"{info.kind}_{len(lowered.prepare_inputs)}")
                lowered.prepare_inputs.append((info.kind, info.name))
            else:
                env[n] = graph.node_copy(n, lambda x: env[x])
        outs = []
        for a in wanted:
            value = env[a.node]
            for op, extra in a.extra.get("post", ()):
                value = graph.call_function(op, (value,) + tuple(extra))
            outs.append(graph.call_method("contiguous", (value,)))
        graph.output(tuple(outs))
        lowered.prepare = torch.fx.GraphModule(torch.nn.Module(), graph)


def _looks_like_mask(t: torch.Tensor) -> bool:
    sample = t.reshape(-1)
    return bool(((sample == 0) | (sample <= -1e4)).all())


def _torch_dtype(dtype: str) -> torch.dtype:
    from .ir import TORCH_DTYPES
    return TORCH_DTYPES[dtype]


def _wrap(result: Any) -> Value:
    if isinstance(result, torch.Tensor):
        return Const(result)
    if isinstance(result, (tuple, list)):
        return type(result)(_wrap(r) for r in result)
    return result


def _op_name(node: torch.fx.Node) -> str:
    if node.op == "call_function":
        target = node.target
        if isinstance(target, torch._ops.OpOverload):
            return str(target)  # aten.cumsum.default
        module = getattr(target, "__module__", "") or ""
        name = getattr(target, "__name__", str(target))
        return f"{module}.{name}" if module else name
    return node.op
