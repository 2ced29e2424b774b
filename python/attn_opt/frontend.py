"""PyTorch module -> attn-dialect MLIR text.

The module is traced with torch.fx (``Tracer`` with stack traces recorded, the
machinery behind ``torch.fx.symbolic_trace``), shapes are propagated with
``torch.fx.passes.shape_prop.ShapeProp``, and each node is translated:

* nodes that do not depend on the *data* of an input (parameters, buffers,
  ``x.shape`` arithmetic, ``triu``/``ones``/``arange`` masks ...) are
  evaluated eagerly in torch and embedded as ``arith.constant``;
* view/reshape/permute/transpose/... chains become one ``attn.rearrange``;
* matmul/einsum/linear become ``attn.einsum``; softmax ``attn.softmax``;
* everything else becomes arith/math/linalg/tensor ops on tensors.

Parameters are embedded as constants (hex ``dense<"0x...">``), so the emitted
function takes exactly the module's tensor inputs and the compiled library is
self-contained.
"""

from __future__ import annotations

import dis
import inspect
import linecache
import os
import math
import operator
import threading
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.nn.functional as F
from torch.fx.passes.shape_prop import ShapeProp

from .errors import UnsupportedOperationError
from .rearrange import plan_rearrange, rearrange as _attn_rearrange

# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

_DTYPES: Dict[torch.dtype, str] = {
    torch.float32: "f32",
    torch.float64: "f64",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.bool: "i1",
    torch.int64: "i64",
    torch.int32: "i32",
}


def _is_float(dtype: str) -> bool:
    return dtype in ("f32", "f64", "f16", "bf16")


def tensor_type(shape: Sequence[int], dtype: str) -> str:
    """The MLIR type text of a ranked tensor."""
    dims = "".join(f"{int(s)}x" for s in shape)
    return f"tensor<{dims}{dtype}>"


@dataclass
class Tensor:
    """An SSA value of tensor type."""

    name: str
    shape: Tuple[int, ...]
    dtype: str

    @property
    def type(self) -> str:
        return tensor_type(self.shape, self.dtype)


@dataclass
class Const:
    """A value folded eagerly in torch; materialised on first use."""

    value: torch.Tensor


class _ViewState:
    """A chain of reshapes and permutes as elementary axes (einops style).

    ``inputs[i]`` lists the elementary axes of input dimension ``i`` in
    row-major order; ``dims`` the elementary axes of each current dimension.
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.sizes: Dict[int, int] = {i: int(s) for i, s in enumerate(shape)}
        self.inputs: List[List[int]] = [[i] for i in range(len(shape))]
        self.dims: List[List[int]] = [[i] for i in range(len(shape))]
        self.next_id = len(shape)

    def clone(self) -> "_ViewState":
        other = _ViewState(())
        other.sizes = dict(self.sizes)
        other.inputs = [list(d) for d in self.inputs]
        other.dims = [list(d) for d in self.dims]
        other.next_id = self.next_id
        return other

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(int(np.prod([self.sizes[a] for a in d], dtype=np.int64)) for d in self.dims)

    def _split(self, axis: int, first: int) -> Tuple[int, int]:
        a, b = self.next_id, self.next_id + 1
        self.next_id += 2
        self.sizes[a], self.sizes[b] = first, self.sizes[axis] // first
        for group in self.inputs:
            if axis in group:
                i = group.index(axis)
                group[i:i + 1] = [a, b]
        return a, b

    def reshape(self, shape: Sequence[int]) -> bool:
        """Applies a row-major reshape; False when einops cannot express it."""
        seq = [a for d in self.dims for a in d if self.sizes[a] != 1]
        dims: List[List[int]] = []
        pos = 0
        for size in shape:
            group: List[int] = []
            rest = int(size)
            while rest > 1:
                if pos >= len(seq):
                    return False
                axis = seq[pos]
                length = self.sizes[axis]
                if length <= rest and rest % length == 0:
                    group.append(axis)
                    rest //= length
                    pos += 1
                elif length > rest and length % rest == 0:
                    first, second = self._split(axis, rest)
                    group.append(first)
                    seq[pos] = second
                    rest = 1
                else:
                    return False
            dims.append(group)
        if pos != len(seq):
            return False
        self.dims = dims
        return True

    def permute(self, perm: Sequence[int]) -> None:
        self.dims = [self.dims[p] for p in perm]

    def pattern(self) -> Tuple[str, Dict[str, int]]:
        """The einops pattern (axes named by position) and the sizes to give."""
        rank = len(self.inputs)
        split = any(len(g) > 1 for g in self.inputs)
        plain = {1: "n", 2: "n d", 3: "b n d", 4: "b h n d", 5: "b p h n d"}
        with_split = {1: "n", 2: "n c", 3: "b n c", 4: "b p n c", 5: "b p q n c"}
        table = (with_split if split else plain).get(rank)
        bases = table.split() if table else [f"a{i}" for i in range(rank)]
        names: Dict[int, str] = {}
        used: set = set()

        def take(name: str) -> str:
            candidate, k = name, 1
            while candidate in used:
                candidate, k = f"{name}{k}", k + 1
            used.add(candidate)
            return candidate

        for base, group in zip(bases, self.inputs):
            if len(group) == 1:
                names[group[0]] = take(base)
        for base, group in zip(bases, self.inputs):
            if len(group) == 2 and not {"h", "d"} & used:
                names[group[0]], names[group[1]] = take("h"), take("d")
            elif len(group) > 1:
                for i, axis in enumerate(group):
                    names[axis] = take(f"{base}{i}")

        def side(groups: List[List[int]], lhs: bool) -> str:
            words = []
            for group in groups:
                axes = [a for a in group if self.sizes[a] != 1 or (lhs and len(group) == 1)]
                if not axes or (len(axes) == 1 and self.sizes[axes[0]] == 1):
                    words.append("1")
                elif len(axes) == 1:
                    words.append(names[axes[0]])
                else:
                    words.append("(" + " ".join(names[a] for a in axes) + ")")
            return " ".join(words)

        sizes = {names[a]: self.sizes[a] for g in self.inputs if len(g) > 1 for a in g[:-1]}
        return f"{side(self.inputs, True)} -> {side(self.dims, False)}", sizes

    def preserves_order(self) -> bool:
        """Whether the view only regroups dimensions (a row-major reshape,
        unit dimensions aside): no permutation of elements."""
        def seq(groups: List[List[int]]) -> List[int]:
            return [a for g in groups for a in g if self.sizes[a] != 1]
        return seq(self.dims) == seq(self.inputs)

    def is_identity(self) -> bool:
        lhs, rhs = self.pattern()[0].split(" -> ")
        return lhs == rhs


@dataclass
class View:
    """A lazy chain of reshapes/permutes of ``base``; one attn.rearrange."""

    base: Tensor
    state: _ViewState
    dtype: str
    source: Optional[str] = None

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.state.shape


@dataclass
class Pieces:
    """The lazy result of chunk/split/unbind: slices along ``dim``."""

    base: Any
    dim: int
    offsets: List[int]
    lengths: List[int]
    drop_dim: bool = False


Value = Union[Tensor, View, Const, Pieces, Any]

# ---------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------


_TORCH_DIR = os.path.dirname(torch.__file__) + os.sep
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_FACTORIES = ("ones", "zeros", "full", "empty", "arange", "eye", "linspace", "tril_indices", "triu_indices")
_FACTORY_PATCH_LOCK = threading.RLock()


def _traceable_factory(original: Callable[..., Any]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        found: List[torch.fx.Proxy] = []
        torch.fx.node.map_aggregate((args, kwargs),
                                    lambda a: found.append(a) if isinstance(a, torch.fx.Proxy) else None)
        if found:
            return found[0].tracer.create_proxy("call_function", original, args, kwargs)
        return original(*args, **kwargs)

    wrapper.__name__ = getattr(original, "__name__", "factory")
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    return wrapper


class _Tracer(torch.fx.Tracer):
    """torch.fx.symbolic_trace's tracer, recording user source lines."""

    def __init__(self) -> None:
        super().__init__(autowrap_functions=(_attn_rearrange,))
        self.record_stack_traces = True
        # Buffers (masks, positional encodings) become get_attr nodes, so that
        # slicing them by x.size(1) traces.
        self.proxy_buffer_attributes = True

    def create_proxy(self, kind: str, target: Any, args: Any, kwargs: Any, name: Optional[str] = None,
                     type_expr: Optional[Any] = None, *rest: Any, **more: Any) -> torch.fx.Proxy:
        proxy = super().create_proxy(kind, target, args, kwargs, name, type_expr, *rest, **more)
        # The innermost frame outside torch and attn_opt is the user's line.
        frame = inspect.currentframe()
        while frame is not None:
            filename = frame.f_code.co_filename
            if not (filename.startswith(_TORCH_DIR) or filename.startswith(_PACKAGE_DIR)):
                line = linecache.getline(filename, frame.f_lineno).strip()
                proxy.node.meta["attn_source"] = f'File "{filename}", line {frame.f_lineno}, in ' \
                                                 f"{frame.f_code.co_name}: {line}"
                break
            frame = frame.f_back
        return proxy

    def trace(self, root: Any, concrete_args: Optional[Dict[str, Any]] = None) -> torch.fx.Graph:
        # Tensor factories called with traced sizes (torch.ones(n, n) where
        # n = x.size(1)) record a node instead of failing; the originals are
        # restored when tracing ends. The patch is process-wide, so traces
        # hold a lock: two at once would save each other's wrappers as the
        # originals, and the first to finish would unpatch the other
        # mid-trace. (Other threads' own factory calls meanwhile go through
        # the wrapper, which calls the original when no argument is traced.)
        with _FACTORY_PATCH_LOCK:
            saved = {name: getattr(torch, name) for name in _FACTORIES}
            try:
                for name, original in saved.items():
                    setattr(torch, name, _traceable_factory(original))
                return super().trace(root, concrete_args)
            finally:
                for name, original in saved.items():
                    setattr(torch, name, original)

    def iter(self, obj: torch.fx.Proxy) -> Any:
        # torch 1.13's Proxy.__iter__ finds `a, b = proxy` by indexing the
        # instruction list with f_lasti // 2, which is wrong on Python 3.11
        # (inline caches); match the instruction by its byte offset instead.
        frame = inspect.currentframe()
        caller = frame.f_back.f_back if frame and frame.f_back else None
        if caller is not None:
            for inst in dis.get_instructions(caller.f_code):
                if inst.offset == caller.f_lasti:
                    if inst.opname == "UNPACK_SEQUENCE":
                        return (obj[i] for i in range(inst.argval))
                    break
        return super().iter(obj)


def _trace(module: nn.Module, example_inputs: Sequence[Any]) -> Tuple[torch.fx.GraphModule, List[torch.Tensor]]:
    forward = module.forward
    signature = inspect.signature(forward)
    params = [p for p in signature.parameters.values()
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if len(example_inputs) > len(params):
        raise TypeError(f"{type(module).__name__}.forward takes {len(params)} inputs, "
                        f"{len(example_inputs)} example inputs were given")
    concrete: Dict[str, Any] = {}
    tensors: List[torch.Tensor] = []
    for i, param in enumerate(params):
        if i < len(example_inputs):
            value = example_inputs[i]
            if isinstance(value, torch.Tensor):
                tensors.append(value)
            else:
                concrete[param.name] = value
        elif param.default is not inspect.Parameter.empty:
            concrete[param.name] = param.default
        else:
            raise TypeError(f"no example input for argument '{param.name}' of "
                            f"{type(module).__name__}.forward")
    tracer = _Tracer()
    graph = tracer.trace(module, concrete_args=concrete or None)
    gm = torch.fx.GraphModule(tracer.root, graph, type(module).__name__)
    # Concrete arguments leave an unused placeholder (and a None assertion).
    for node in list(gm.graph.nodes):
        if node.op == "call_function" and (node.target is torch._assert or
                                           getattr(node.target, "__name__", "") == "_assert_is_none"):
            gm.graph.erase_node(node)
    gm.graph.eliminate_dead_code()
    tensor_names = [p.name for p in params if p.name not in concrete]
    for node in list(gm.graph.nodes):
        if node.op == "placeholder" and node.target not in tensor_names and not node.users:
            gm.graph.erase_node(node)
    gm.recompile()
    return gm, tensors


def _split_groups(base: Sequence[int], shape: Sequence[int]) -> Optional[List[List[int]]]:
    """For a row-major reshape of ``base`` into ``shape`` that only splits
    dimensions (and adds unit ones): the consecutive dimensions of ``shape``
    each base dimension becomes; None for any other reshape."""
    groups: List[List[int]] = [[] for _ in base]
    j, prod = 0, 1
    for i, size in enumerate(shape):
        if size == 1:
            continue
        while j < len(base) and base[j] == 1 and prod == 1:
            j += 1
        if j >= len(base):
            return None
        groups[j].append(i)
        prod *= size
        if prod == base[j]:
            j, prod = j + 1, 1
        elif prod > base[j] or base[j] % prod:
            return None
    if prod != 1 or any(size != 1 for size in base[j:]):
        return None
    # Unit dimensions join the group of the dimension before them.
    owner = 0
    for i, size in enumerate(shape):
        if size != 1:
            owner = next(k for k, g in enumerate(groups) if i in g)
        elif i not in groups[owner]:
            groups[owner].append(i)
    groups = [sorted(g) for g in groups]
    flat = [i for g in groups for i in g]
    return groups if flat == sorted(flat) else None


class _Recorder(ShapeProp):
    """ShapeProp that also keeps the concrete value of chosen nodes."""

    def __init__(self, gm: torch.fx.GraphModule, keep: set) -> None:
        super().__init__(gm)
        self.keep = keep
        self.values: Dict[torch.fx.Node, Any] = {}

    def run_node(self, n: torch.fx.Node) -> Any:
        if n not in self.keep and _mutates(n):
            # An in-place op on data (MHA's masked_fill_ of a zeros_like with
            # the padding mask) mutates a tensor that may also be a recorded
            # constant: keep the constant's value from before the mutation.
            args, _ = self.fetch_args_kwargs_from_env(n)
            target = args[0] if args and isinstance(args[0], torch.Tensor) else None
            if target is not None:
                ptr = _storage_ptr(target)
                for node, value in self.values.items():
                    if isinstance(value, torch.Tensor) and _storage_ptr(value) == ptr:
                        self.values[node] = value.clone()
        result = super().run_node(n)
        if n in self.keep:
            self.values[n] = result
        return result


def _mutates(node: torch.fx.Node) -> bool:
    """Whether ``node`` calls an in-place operation (ATen schema or a
    torch.fx method ending in ``_``)."""
    schema = getattr(node.target, "_schema", None)
    if schema is not None:
        return bool(schema.is_mutable)
    name = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", "")
    return node.op in ("call_method", "call_function") and name.endswith("_") and not name.startswith("_")


def _storage_ptr(t: torch.Tensor) -> int:
    storage = t.untyped_storage() if hasattr(t, "untyped_storage") else t.storage()
    return storage.data_ptr()


# ---------------------------------------------------------------------------
# Op tables
# ---------------------------------------------------------------------------

_SHAPE_QUERIES = {"size", "dim", "numel", "ndimension", "nelement"}
_META_ATTRS = {"shape", "dtype", "device", "ndim", "is_cuda", "requires_grad"}


def _names(*targets: Any) -> set:
    return set(targets)


_ADD = _names(operator.add, operator.iadd, torch.add, "add", "add_", "__add__", "__radd__")
_SUB = _names(operator.sub, operator.isub, torch.sub, torch.subtract, "sub", "__sub__")
_MUL = _names(operator.mul, operator.imul, torch.mul, torch.multiply, "mul", "__mul__", "__rmul__")
_DIV = _names(operator.truediv, operator.itruediv, torch.div, torch.divide, torch.true_divide,
              "div", "true_divide", "__truediv__")
_RSUB = _names(torch.rsub, "rsub")
_POW = _names(operator.pow, torch.pow, "pow", "__pow__")
_CMP = {operator.eq: "eq", torch.eq: "eq", "eq": "eq", operator.ne: "ne", torch.ne: "ne", "ne": "ne",
        operator.lt: "lt", torch.lt: "lt", "lt": "lt", operator.le: "le", torch.le: "le", "le": "le",
        operator.gt: "gt", torch.gt: "gt", "gt": "gt", operator.ge: "ge", torch.ge: "ge", "ge": "ge"}
_UNARY_MATH = {torch.exp: "math.exp", "exp": "math.exp", torch.tanh: "math.tanh", "tanh": "math.tanh",
               F.tanh: "math.tanh", torch.sqrt: "math.sqrt", "sqrt": "math.sqrt",
               torch.rsqrt: "math.rsqrt", "rsqrt": "math.rsqrt", torch.log: "math.log", "log": "math.log",
               torch.erf: "math.erf", "erf": "math.erf", torch.abs: "math.absf", "abs": "math.absf",
               operator.abs: "math.absf", torch.cos: "math.cos", "cos": "math.cos",
               torch.sin: "math.sin", "sin": "math.sin"}
_NEG = _names(operator.neg, torch.neg, "neg", "__neg__")
_SIGMOID = _names(torch.sigmoid, F.sigmoid, "sigmoid")
_RELU = _names(torch.relu, F.relu, "relu")
_SOFTMAX = _names(F.softmax, torch.softmax, "softmax")
_MATMUL = _names(operator.matmul, torch.matmul, torch.mm, torch.bmm, "matmul", "mm", "bmm", "__matmul__")
_RESHAPE = _names("view", "reshape", torch.reshape, torch.flatten, "flatten", "unflatten",
                  torch.unsqueeze, "unsqueeze", torch.squeeze, "squeeze", "view_as", "reshape_as")
_PERMUTE = _names("permute", torch.permute, "transpose", torch.transpose, torch.swapaxes, "swapaxes",
                  torch.t, "t")
_IDENTITY = _names("contiguous", "clone", torch.clone, "detach", torch.detach, "float", "to",
                   "type_as", F.dropout, torch.dropout, "dropout")
_WHERE = _names(torch.where, "where")
_MASKED_FILL = _names("masked_fill", torch.masked_fill)
_LOGICAL_NOT = _names(torch.logical_not, "logical_not", operator.invert, torch.bitwise_not,
                      "bitwise_not", "__invert__")
_LOGICAL_AND = _names(torch.logical_and, "logical_and", operator.and_, torch.bitwise_and)
_LOGICAL_OR = _names(torch.logical_or, "logical_or", operator.or_, torch.bitwise_or)
_SUM = _names(torch.sum, "sum")
_MEAN = _names(torch.mean, "mean")
_CHUNK = _names(torch.chunk, "chunk")
_SPLIT = _names(torch.split, "split")
_UNBIND = _names(torch.unbind, "unbind")
_EXPAND = _names("expand", "expand_as", torch.broadcast_to, "broadcast_to")


def _target_name(node: torch.fx.Node) -> str:
    if node.op == "call_method":
        return f"Tensor.{node.target}"
    if node.op == "call_module":
        return f"call_module {node.target}"
    target = node.target
    module = getattr(target, "__module__", None) or ""
    name = getattr(target, "__name__", str(target))
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if module.startswith("torch"):
        if module.startswith("torch.nn.functional"):
            return f"torch.nn.functional.{name}"
        return f"torch.{name}"
    return f"{module}.{name}" if module else name


def _source_line(node: torch.fx.Node) -> Optional[str]:
    if "attn_source" in node.meta:
        return node.meta["attn_source"]
    trace = getattr(node, "stack_trace", None)
    if not trace:
        return None
    lines = [l for l in trace.strip("\n").split("\n") if l.strip()]
    # traceback format: '  File "x.py", line N, in f\n    code'; last frame is innermost.
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].lstrip().startswith("File "):
            code = lines[i + 1].strip() if i + 1 < len(lines) and not lines[i + 1].lstrip().startswith("File ") else ""
            return lines[i].strip() + (f": {code}" if code else "")
    return lines[-1].strip()


def _fmt_float(value: float, dtype: str) -> str:
    value = float(value)
    if math.isfinite(value):
        if dtype == "f64":
            return f"{value:.17e}"
        return f"{value:.9e}"
    bits = {"f32": ("<f4", 8), "f64": ("<f8", 16), "f16": ("<f2", 4)}
    if dtype == "bf16":
        word = np.array([value], dtype="<f4").view("<u4")[0] >> 16
        return f"0x{int(word):04X}"
    np_type, digits = bits[dtype]
    word = np.array([value], dtype=np_type).view(f"<u{np.dtype(np_type).itemsize}")[0]
    return f"0x{int(word):0{digits}X}"


def _fmt_scalar(value: Any, dtype: str) -> str:
    if dtype == "i1":
        return "true" if bool(value) else "false"
    if _is_float(dtype):
        return _fmt_float(float(value), dtype)
    return str(int(value))


# ---------------------------------------------------------------------------
# The emitter
# ---------------------------------------------------------------------------


class _Emitter:
    def __init__(self, gm: torch.fx.GraphModule, inputs: List[torch.Tensor]) -> None:
        self.gm = gm
        self.inputs = inputs
        self.lines: List[str] = []
        self.used_names: set = set()
        self.env: Dict[torch.fx.Node, Value] = {}
        self.materialised: Dict[int, Tensor] = {}
        # The objects whose id() keys `materialised`: kept alive so that an
        # id is never reused by a later, different View or constant.
        self.keep_alive: List[Any] = []
        self.node: Optional[torch.fx.Node] = None

    # -- naming and errors ---------------------------------------------------

    def fresh(self, hint: str = "v") -> str:
        hint = "".join(c if c.isalnum() or c == "_" else "_" for c in hint) or "v"
        if hint[0].isdigit():
            hint = "v" + hint
        name, k = hint, 0
        while name in self.used_names:
            k += 1
            name = f"{hint}_{k}"
        self.used_names.add(name)
        return "%" + name

    def unsupported(self, detail: str = "", op: Optional[str] = None) -> UnsupportedOperationError:
        node = self.node
        assert node is not None
        return UnsupportedOperationError(op or _target_name(node), _source_line(node), detail)

    def emit(self, line: str) -> None:
        self.lines.append("  " + line)

    # -- constants -----------------------------------------------------------

    def splat(self, value: Any, shape: Sequence[int], dtype: str) -> Tensor:
        name = self.fresh("cst")
        ty = tensor_type(shape, dtype)
        self.emit(f"{name} = arith.constant dense<{_fmt_scalar(value, dtype)}> : {ty}")
        return Tensor(name, tuple(int(s) for s in shape), dtype)

    def scalar(self, value: Any, dtype: str) -> str:
        name = self.fresh("c")
        self.emit(f"{name} = arith.constant {_fmt_scalar(value, dtype)} : {dtype}")
        return name

    def constant(self, tensor: torch.Tensor) -> Tensor:
        key = id(tensor)
        if key in self.materialised:
            return self.materialised[key]
        self.keep_alive.append(tensor)
        tensor = tensor.detach().cpu()
        if tensor.dtype not in _DTYPES:
            raise self.unsupported(f"constant of dtype {tensor.dtype}")
        dtype = _DTYPES[tensor.dtype]
        shape = tuple(tensor.shape)
        flat = tensor.reshape(-1)
        if flat.numel() > 0 and bool((flat == flat[0]).all()) and not (
                tensor.is_floating_point() and bool(torch.isnan(flat[0]))):
            result = self.splat(flat[0].item(), shape, dtype)
        else:
            name = self.fresh("cst")
            if dtype == "i1":
                body = np.array2string(tensor.numpy(), separator=", ", threshold=10**9, max_line_width=10**9)
                body = body.replace("True", "true").replace("False", "false").replace("\n", "")
                literal = body
            else:
                if dtype == "bf16":
                    raw = tensor.view(torch.int16).numpy().astype("<i2").tobytes()
                else:
                    raw = tensor.contiguous().numpy().astype(tensor.numpy().dtype.newbyteorder("<")).tobytes()
                literal = f'"0x{raw.hex().upper()}"'
            self.emit(f"{name} = arith.constant dense<{literal}> : {tensor_type(shape, dtype)}")
            result = Tensor(name, shape, dtype)
        self.materialised[key] = result
        return result

    # -- value access --------------------------------------------------------

    def tensor(self, value: Value) -> Tensor:
        if isinstance(value, Tensor):
            return value
        if isinstance(value, View):
            key = id(value)
            if key not in self.materialised:
                self.materialised[key] = self._emit_view(value)
                self.keep_alive.append(value)
            return self.materialised[key]
        if isinstance(value, Const):
            return self.constant(value.value)
        if isinstance(value, Pieces):
            raise self.unsupported("a chunk/split result used as a tensor")
        raise self.unsupported(f"expected a tensor operand, got {type(value).__name__}")

    def _emit_view(self, view: View) -> Tensor:
        if view.state.is_identity():
            return view.base
        pattern, sizes = view.state.pattern()
        name = self.fresh("r")
        attrs = (" {" + ", ".join(f"{k} = {v}" for k, v in sizes.items()) + "}") if sizes else ""
        result = Tensor(name, view.shape, view.dtype)
        self.emit(f'{name} = attn.rearrange {view.base.name} "{pattern}"{attrs} : {view.base.type} -> {result.type}')
        return result

    @staticmethod
    def shape_of(value: Value) -> Tuple[int, ...]:
        if isinstance(value, (Tensor, View)):
            return tuple(value.shape)
        if isinstance(value, Const):
            return tuple(value.value.shape)
        return ()

    @staticmethod
    def dtype_of(value: Value) -> Optional[str]:
        if isinstance(value, (Tensor, View)):
            return value.dtype
        if isinstance(value, Const):
            return _DTYPES.get(value.value.dtype)
        return None

    # -- shape helpers -------------------------------------------------------

    def view_of(self, value: Value) -> View:
        if isinstance(value, View):
            return View(value.base, value.state.clone(), value.dtype)
        t = self.tensor(value)
        return View(t, _ViewState(t.shape), t.dtype)

    def reshape(self, value: Value, shape: Sequence[int]) -> Value:
        if isinstance(value, Const):
            return Const(value.value.reshape(tuple(shape)))
        view = self.view_of(value)
        if not view.state.reshape([int(s) for s in shape]):
            raise self.unsupported(
                f"reshape {list(self.shape_of(value))} -> {list(shape)} cannot be written as one einops "
                "pattern (reshape through a flat intermediate first)")
        return view

    def broadcast(self, value: Value, shape: Sequence[int], dtype: Optional[str] = None) -> Tensor:
        """numpy-style broadcast of a tensor, constant or scalar to ``shape``."""
        shape = tuple(int(s) for s in shape)
        if not isinstance(value, (Tensor, View, Const)):
            assert dtype is not None
            return self.splat(value, shape, dtype)
        if isinstance(value, Const) and value.value.numel() == 1 and self.dtype_of(value) is not None:
            return self.splat(value.value.reshape(-1)[0].item(), shape, self.dtype_of(value))
        src = self.shape_of(value)
        if src == shape:
            return self.tensor(value)
        offset = len(shape) - len(src)
        if offset < 0:
            raise self.unsupported(f"cannot broadcast {list(src)} to {list(shape)}")
        kept: List[int] = []
        kept_shape: List[int] = []
        for i, s in enumerate(src):
            target = shape[offset + i]
            if s == target:
                kept.append(offset + i)
                kept_shape.append(s)
            elif s != 1:
                raise self.unsupported(f"cannot broadcast {list(src)} to {list(shape)}")
        source = self.tensor(self.reshape(value, kept_shape) if tuple(kept_shape) != src else value)
        added = [d for d in range(len(shape)) if d not in kept]
        init = self.fresh("init")
        out = Tensor(self.fresh("bcast"), shape, source.dtype)
        self.emit(f"{init} = tensor.empty() : {out.type}")
        self.emit(f"{out.name} = linalg.broadcast ins({source.name} : {source.type}) "
                  f"outs({init} : {out.type}) dimensions = [{', '.join(map(str, added))}]")
        return out

    # -- op helpers ----------------------------------------------------------

    def binary(self, op: str, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        if ta.dtype != dtype or tb.dtype != dtype:
            raise self.unsupported(f"mixed element types {ta.dtype}/{tb.dtype} (cast explicitly)")
        name = self.fresh("t")
        ty = tensor_type(shape, dtype)
        self.emit(f"{name} = {op} {ta.name}, {tb.name} : {ty}")
        return Tensor(name, tuple(shape), dtype)

    def arith(self, kind: str, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        if _is_float(dtype):
            op = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf"}[kind]
        elif dtype in ("i64", "i32"):
            if kind == "div":
                raise self.unsupported("integer division")
            op = {"add": "arith.addi", "sub": "arith.subi", "mul": "arith.muli"}[kind]
        else:
            raise self.unsupported(f"arithmetic on {dtype} tensors")
        pulled = self.binary_through_split_view(op, a, b, shape, dtype)
        if pulled is not None:
            return pulled
        return self.binary(op, a, b, shape, dtype)

    def binary_through_split_view(self, op: str, a: Value, b: Value, shape: Sequence[int],
                                 dtype: str) -> Optional[Value]:
        """``view(x) + y`` where the view only splits x's dimensions or adds
        unit ones (Swin: ``attn.view(B, nW, nH, n, n) + mask``, then viewed
        back) is computed in x's shape, with y reshaped (and, where it
        broadcasts along part of a split dimension, expanded) to match, and
        returned as a lazy view of that: the view back then composes away,
        and the scores stay one chain from the product to the softmax."""
        shape = [int(s) for s in shape]
        for first, view, other in ((True, a, b), (False, b, a)):
            if not isinstance(view, View) or list(view.shape) != shape or not view.state.preserves_order():
                continue
            base = [int(s) for s in view.base.shape]
            if len(base) >= len(shape):
                continue
            groups = _split_groups(base, shape)
            if groups is None:
                continue
            if isinstance(other, (Tensor, View, Const)):
                src = list(self.shape_of(other))
                if len(src) > len(shape):
                    continue
                aligned = [1] * (len(shape) - len(src)) + src
                target, other_base = list(aligned), []
                for j, group in enumerate(groups):
                    if all(aligned[i] == 1 for i in group):
                        other_base.append(1)
                        continue
                    for i in group:
                        target[i] = shape[i]
                    other_base.append(base[j])
                if target != aligned:
                    if isinstance(other, Const):
                        other = Const(other.value.reshape(aligned).expand(target).contiguous())
                    else:
                        other = self.broadcast(other, target, dtype)
                other = self.reshape(other, other_base)
            view = self.reshape(view, base)
            lhs, rhs = (view, other) if first else (other, view)
            return self.reshape(self.binary(op, lhs, rhs, base, dtype), shape)
        return None

    def unary(self, op: str, a: Value) -> Tensor:
        t = self.tensor(a)
        name = self.fresh("t")
        self.emit(f"{name} = {op} {t.name} : {t.type}")
        return Tensor(name, t.shape, t.dtype)

    def reduce_sum(self, value: Value, dims: Sequence[int]) -> Tensor:
        t = self.tensor(value)
        dims = sorted({d % len(t.shape) for d in dims}) if t.shape else []
        out_shape = tuple(s for i, s in enumerate(t.shape) if i not in dims)
        out_type = tensor_type(out_shape, t.dtype)
        zero = self.scalar(0.0, t.dtype)
        init = self.fresh("init")
        fill = self.fresh("fill")
        self.emit(f"{init} = tensor.empty() : {out_type}")
        self.emit(f"{fill} = linalg.fill ins({zero} : {t.dtype}) outs({init} : {out_type}) -> {out_type}")
        name = self.fresh("sum")
        self.emit(f"{name} = linalg.reduce ins({t.name} : {t.type}) outs({fill} : {out_type}) "
                  f"dimensions = [{', '.join(map(str, dims))}]")
        self.emit(f"  (%in: {t.dtype}, %acc: {t.dtype}) {{")
        self.emit(f"    %s = arith.addf %in, %acc : {t.dtype}")
        self.emit(f"    linalg.yield %s : {t.dtype}")
        self.emit("  }")
        return Tensor(name, out_shape, t.dtype)

    def einsum(self, equation: str, operands: Sequence[Value], shape: Sequence[int], dtype: str) -> Tensor:
        ts = [self.tensor(o) for o in operands]
        name = self.fresh("e")
        ty = tensor_type(shape, dtype)
        self.emit(f'{name} = attn.einsum "{equation}" ({", ".join(t.name for t in ts)}) '
                  f': ({", ".join(t.type for t in ts)}) -> {ty}')
        return Tensor(name, tuple(shape), dtype)

    def matmul(self, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        sa, sb = self.shape_of(a), self.shape_of(b)
        if not sa or not sb:
            raise self.unsupported("matmul of a 0-d tensor")
        ba = list(sa[:-2]) if len(sa) >= 2 else []
        bb = list(sb[:-2]) if len(sb) >= 2 else []
        nb = max(len(ba), len(bb))
        batch_names = {0: [], 1: ["b"], 2: ["b", "h"], 3: ["b", "p", "h"]}.get(nb, [f"b{i}" for i in range(nb)])
        terms: List[List[str]] = []
        values: List[Value] = []
        for own, value, tail in ((ba, a, ["i", "k"] if len(sa) >= 2 else ["k"]),
                                 (bb, b, ["k", "j"] if len(sb) >= 2 else ["k"])):
            other = bb if own is ba else ba
            labels: List[str] = []
            keep_shape: List[int] = []
            for i, size in enumerate(own):
                pos = nb - len(own) + i
                j = len(other) - (nb - pos)
                other_size = other[j] if j >= 0 else None
                if size == 1 and other_size not in (None, 1):
                    continue  # broadcast: the label comes from the other operand
                labels.append(batch_names[pos])
                keep_shape.append(size)
            own_tail = list(self.shape_of(value)[len(own):])
            if len(keep_shape) != len(own):
                value = self.reshape(value, keep_shape + own_tail)
            terms.append(labels + tail)
            values.append(value)
        out = batch_names + (["i"] if len(sa) >= 2 else []) + (["j"] if len(sb) >= 2 else [])
        equation = ", ".join(" ".join(t) for t in terms) + " -> " + " ".join(out)
        return self.einsum(equation, values, shape, dtype)

    def linear(self, x: Value, weight: Value, bias: Optional[Value], shape: Sequence[int], dtype: str) -> Tensor:
        rank = len(self.shape_of(x))
        lead = {1: [], 2: ["n"], 3: ["b", "n"], 4: ["b", "p", "n"]}.get(rank, [f"a{i}" for i in range(rank - 1)])
        wshape = self.shape_of(weight)
        if len(wshape) != 2:
            raise self.unsupported("linear with a weight that is not 2-D")
        if isinstance(weight, Const):
            # A parameter is embedded transposed, [in, out]: the compiled
            # product then reads rows of W^T in place instead of transposing
            # W into a temporary on every call (86 M weights in vit_b_16).
            equation = f"{' '.join(lead + ['i'])}, i o -> {' '.join(lead + ['o'])}"
            weight = Const(weight.value.t().contiguous())
        else:
            equation = f"{' '.join(lead + ['i'])}, o i -> {' '.join(lead + ['o'])}"
        y = self.einsum(equation, [x, weight], shape, dtype)
        if bias is not None:
            y = self.arith("add", y, bias, shape, dtype)
        return y

    def layer_norm(self, x: Value, normalized: Sequence[int], weight: Optional[Value],
                   bias: Optional[Value], eps: float, dtype: str) -> Tensor:
        t = self.tensor(x)
        k = len(normalized)
        dims = list(range(len(t.shape) - k, len(t.shape)))
        count = int(np.prod(normalized))
        lead = t.shape[:len(t.shape) - k]
        total = self.reduce_sum(t, dims)
        mean = self.arith("mul", total, 1.0 / count, lead, dtype)
        centred = self.arith("sub", t, self.broadcast_trailing(mean, t.shape), t.shape, dtype)
        square = self.arith("mul", centred, centred, t.shape, dtype)
        var = self.arith("mul", self.reduce_sum(square, dims), 1.0 / count, lead, dtype)
        rstd = self.unary("math.rsqrt", self.arith("add", var, eps, lead, dtype))
        y = self.arith("mul", centred, self.broadcast_trailing(rstd, t.shape), t.shape, dtype)
        if weight is not None:
            y = self.arith("mul", y, weight, t.shape, dtype)
        if bias is not None:
            y = self.arith("add", y, bias, t.shape, dtype)
        return y

    def broadcast_trailing(self, value: Tensor, shape: Sequence[int]) -> Tensor:
        """Broadcasts a reduced tensor back along the trailing dims it lost."""
        keep = len(value.shape)
        init = self.fresh("init")
        out = Tensor(self.fresh("bcast"), tuple(shape), value.dtype)
        added = list(range(keep, len(shape)))
        self.emit(f"{init} = tensor.empty() : {out.type}")
        self.emit(f"{out.name} = linalg.broadcast ins({value.name} : {value.type}) "
                  f"outs({init} : {out.type}) dimensions = [{', '.join(map(str, added))}]")
        return out

    def gelu(self, x: Value, approximate: str, shape: Sequence[int], dtype: str) -> Tensor:
        half = self.arith("mul", x, 0.5, shape, dtype)
        if approximate == "tanh":
            x3 = self.arith("mul", self.arith("mul", x, x, shape, dtype), x, shape, dtype)
            inner = self.arith("add", x, self.arith("mul", x3, 0.044715, shape, dtype), shape, dtype)
            inner = self.arith("mul", inner, math.sqrt(2.0 / math.pi), shape, dtype)
            core = self.unary("math.tanh", inner)
        elif approximate == "none":
            core = self.unary("math.erf", self.arith("mul", x, 1.0 / math.sqrt(2.0), shape, dtype))
        else:
            raise self.unsupported(f"gelu approximate={approximate!r}")
        return self.arith("mul", half, self.arith("add", core, 1.0, shape, dtype), shape, dtype)

    def select(self, cond: Value, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        c = self.broadcast(cond, shape, "i1")
        if c.dtype != "i1":
            raise self.unsupported("a condition/mask that is not boolean")
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        name = self.fresh("sel")
        ty = tensor_type(shape, dtype)
        self.emit(f"{name} = arith.select {c.name}, {ta.name}, {tb.name} : {c.type}, {ty}")
        return Tensor(name, tuple(shape), dtype)

    def compare(self, kind: str, a: Value, b: Value, shape: Sequence[int]) -> Tensor:
        dtype = self.dtype_of(a) or self.dtype_of(b)
        other = self.dtype_of(b) or dtype
        if dtype != other:
            raise self.unsupported(f"comparison of {dtype} with {other} (cast explicitly)")
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        if _is_float(dtype):
            op = "arith.cmpf " + {"eq": "oeq", "ne": "une", "lt": "olt", "le": "ole", "gt": "ogt", "ge": "oge"}[kind]
        else:
            op = "arith.cmpi " + {"eq": "eq", "ne": "ne", "lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge"}[kind]
        name = self.fresh("cmp")
        self.emit(f"{name} = {op}, {ta.name}, {tb.name} : {ta.type}")
        return Tensor(name, tuple(shape), "i1")

    # -- the walk ------------------------------------------------------------

    def run(self) -> str:
        graph = self.gm.graph
        nodes = list(graph.nodes)
        data: Dict[torch.fx.Node, bool] = {}
        for node in nodes:
            if node.op == "placeholder":
                data[node] = True
            elif node.op == "get_attr":
                data[node] = False
            elif node.op == "output":
                data[node] = True
            elif node.op == "call_method" and node.target in _SHAPE_QUERIES:
                data[node] = False
            elif node.op == "call_function" and node.target is getattr and node.args[1] in _META_ATTRS \
                    and node.args[1] not in ("T", "mT"):
                data[node] = False
            elif self.reads_only_metadata(node):
                # x.new_zeros(shape) & co.: the value does not depend on x's
                # elements, so it is folded like any other constant.
                others = [d for d in node.all_input_nodes if d is not node.args[0]]
                data[node] = any(data[d] for d in others)
            else:
                deps = node.all_input_nodes
                data[node] = any(data[d] for d in deps)
                if node.op == "call_module" and not deps:
                    data[node] = False
        keep = {n for n in nodes if not data[n]}
        recorder = _Recorder(self.gm, keep)
        with torch.no_grad():
            recorder.propagate(*self.inputs)

        args_text: List[str] = []
        placeholder_index = 0
        for node in nodes:
            if node.op != "placeholder":
                continue
            example = self.inputs[placeholder_index]
            placeholder_index += 1
            if example.dtype not in _DTYPES:
                raise UnsupportedOperationError(f"input '{node.target}' of dtype {example.dtype}", None)
            t = Tensor(self.fresh(str(node.target)), tuple(example.shape), _DTYPES[example.dtype])
            self.env[node] = t
            args_text.append(f"{t.name}: {t.type}")

        results: List[Tensor] = []
        structure: Any = None
        for node in nodes:
            self.node = node
            if node.op == "placeholder":
                continue
            if node.op == "output":
                out = node.args[0]
                flat = list(out) if isinstance(out, (tuple, list)) else [out]
                structure = type(out).__name__ if isinstance(out, (tuple, list)) else None
                for item in flat:
                    value = self.resolve(item)
                    if not isinstance(value, (Tensor, View, Const)):
                        raise self.unsupported("a forward that returns something other than tensors",
                                               op="output")
                    results.append(self.tensor(value))
                continue
            if not data[node]:
                value = recorder.values[node]
                self.env[node] = Const(value) if isinstance(value, torch.Tensor) else value
                continue
            self.env[node] = self.translate(node)

        sig = ", ".join(args_text)
        rtypes = ", ".join(r.type for r in results)
        header = f"func.func @forward({sig}) -> ({rtypes}) {{"
        body = "\n".join(self.lines)
        ret = f"  return {', '.join(r.name for r in results)} : {rtypes}"
        self.structure = structure
        return f"{header}\n{body}\n{ret}\n}}\n"

    def reads_only_metadata(self, node: torch.fx.Node) -> bool:
        """Whether ``node`` uses its first argument only for its shape, dtype
        or device (overridden by the ATen emitter)."""
        return False

    def resolve(self, arg: Any) -> Any:
        if isinstance(arg, torch.fx.Node):
            return self.env[arg]
        if isinstance(arg, (tuple, list)):
            return type(arg)(self.resolve(a) for a in arg)
        if isinstance(arg, dict):
            return {k: self.resolve(v) for k, v in arg.items()}
        if isinstance(arg, slice):
            return slice(self.resolve(arg.start), self.resolve(arg.stop), self.resolve(arg.step))
        return arg

    def meta(self, node: torch.fx.Node) -> Tuple[Tuple[int, ...], str]:
        tm = node.meta.get("tensor_meta")
        if tm is None or not hasattr(tm, "shape"):
            raise self.unsupported("an operation whose result is not a tensor")
        if tm.dtype not in _DTYPES:
            raise self.unsupported(f"result dtype {tm.dtype}")
        return tuple(int(s) for s in tm.shape), _DTYPES[tm.dtype]

    def translate(self, node: torch.fx.Node) -> Value:
        args = self.resolve(node.args)
        kwargs = self.resolve(node.kwargs)
        if node.op == "call_module":
            return self.translate_module(node, self.gm.get_submodule(node.target), args, kwargs)
        target = node.target
        if node.op == "call_method":
            self_arg, args = args[0], args[1:]
            return self.translate_call(node, target, (self_arg,) + tuple(args), kwargs, method=True)
        return self.translate_call(node, target, tuple(args), kwargs, method=False)

    def translate_module(self, node: torch.fx.Node, mod: nn.Module, args: tuple, kwargs: dict) -> Value:
        x = args[0] if args else None
        if isinstance(mod, (nn.Dropout, nn.Identity)):
            if isinstance(mod, nn.Dropout) and mod.training and mod.p > 0:
                raise self.unsupported("dropout in training mode (call module.eval())",
                                       op=f"call_module {type(mod).__name__}")
            return x
        shape, dtype = self.meta(node)
        if isinstance(mod, nn.Linear):
            bias = Const(mod.bias) if mod.bias is not None else None
            return self.linear(x, Const(mod.weight), bias, shape, dtype)
        if isinstance(mod, nn.LayerNorm):
            w = Const(mod.weight) if mod.weight is not None else None
            b = Const(mod.bias) if mod.bias is not None else None
            return self.layer_norm(x, mod.normalized_shape, w, b, mod.eps, dtype)
        if isinstance(mod, nn.GELU):
            return self.gelu(x, getattr(mod, "approximate", "none"), shape, dtype)
        if isinstance(mod, nn.Softmax):
            if mod.dim is None:
                raise self.unsupported("nn.Softmax without dim")
            return self.softmax(x, mod.dim)
        if isinstance(mod, nn.Tanh):
            return self.unary("math.tanh", x)
        if isinstance(mod, nn.ReLU):
            return self.binary("arith.maximumf", x, 0.0, shape, dtype)
        if isinstance(mod, nn.Sigmoid):
            return self.sigmoid(x, shape, dtype)
        raise self.unsupported(op=f"call_module {type(mod).__module__}.{type(mod).__name__}")

    def softmax(self, x: Value, dim: int) -> Tensor:
        t = self.tensor(x)
        name = self.fresh("softmax")
        self.emit(f"{name} = attn.softmax {t.name} axis({int(dim)}) : {t.type}")
        return Tensor(name, t.shape, t.dtype)

    def sigmoid(self, x: Value, shape: Sequence[int], dtype: str) -> Tensor:
        e = self.unary("math.exp", self.unary("arith.negf", x))
        return self.arith("div", 1.0, self.arith("add", e, 1.0, shape, dtype), shape, dtype)

    def translate_call(self, node: torch.fx.Node, target: Any, args: tuple, kwargs: dict, method: bool) -> Value:
        def arg(i: int, name: str, default: Any = None) -> Any:
            if len(args) > i:
                return args[i]
            return kwargs.get(name, default)

        if target is operator.getitem:
            return self.getitem(args[0], args[1])
        if target is getattr:
            if args[1] in ("T", "mT"):
                rank = len(self.shape_of(args[0]))
                perm = list(range(rank))
                if args[1] == "T":
                    perm.reverse()
                else:
                    perm[-1], perm[-2] = perm[-2], perm[-1]
                view = self.view_of(args[0])
                view.state.permute(perm)
                return view
            raise self.unsupported(f"attribute .{args[1]}")
        if target is _attn_rearrange:
            shape, dtype = self.meta(node)
            t = self.tensor(args[0])
            pattern = args[1]
            sizes = dict(kwargs)
            plan_rearrange(pattern, t.shape, sizes)  # einops' own validation
            name = self.fresh("r")
            attrs = (" {" + ", ".join(f"{k} = {int(v)}" for k, v in sizes.items()) + "}") if sizes else ""
            result = Tensor(name, shape, dtype)
            self.emit(f'{name} = attn.rearrange {t.name} "{pattern}"{attrs} : {t.type} -> {result.type}')
            return result
        if target in _IDENTITY:
            if target in (F.dropout, torch.dropout, "dropout"):
                training = arg(2, "training", kwargs.get("train", True))
                p = arg(1, "p", 0.5)
                if training and p > 0:
                    raise self.unsupported("dropout with training=True (call module.eval())")
                return args[0]
            if target in ("float", "to", "type_as"):
                shape, dtype = self.meta(node)
                if self.dtype_of(args[0]) != dtype:
                    raise self.unsupported(f"conversion to {dtype}")
            return args[0]
        if target in _RESHAPE:
            shape, _ = self.meta(node)
            return self.reshape(args[0], shape)
        if target in _PERMUTE:
            x = args[0]
            rank = len(self.shape_of(x))
            if target in ("permute", torch.permute):
                # x.permute(0, 2, 1, 3), x.permute((0, 2, 1, 3)), torch.permute(x, dims)
                dims = kwargs.get("dims", args[1] if len(args) == 2 else args[1:])
                if isinstance(dims, int):
                    dims = [dims]
                perm = [int(d) % rank for d in dims]
            elif target in ("t", torch.t):
                perm = list(range(rank))[::-1]
            else:
                d0 = int(arg(1, "dim0")) % rank
                d1 = int(arg(2, "dim1")) % rank
                perm = list(range(rank))
                perm[d0], perm[d1] = perm[d1], perm[d0]
            view = self.view_of(x)
            view.state.permute(perm)
            return view
        if target in _EXPAND:
            shape, _ = self.meta(node)
            return self.broadcast(args[0], shape)
        if target in _CHUNK or target in _SPLIT or target in _UNBIND:
            return self.pieces(target, args, kwargs)
        if target in _SOFTMAX:
            dim = arg(1, "dim")
            if dim is None:
                raise self.unsupported("softmax without dim")
            dtype_arg = arg(2, "dtype") if target is not F.softmax else kwargs.get("dtype")
            if dtype_arg is not None and _DTYPES.get(dtype_arg) != self.dtype_of(args[0]):
                raise self.unsupported("softmax with a dtype conversion")
            return self.softmax(args[0], dim)
        if target in _MATMUL:
            shape, dtype = self.meta(node)
            return self.matmul(args[0], args[1], shape, dtype)
        if target is torch.einsum:
            shape, dtype = self.meta(node)
            operands = list(args[1:])
            if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
                operands = list(operands[0])
            if len(operands) < 2:
                raise self.unsupported("einsum with fewer than two operands")
            equation = "".join(str(args[0]).split())
            return self.einsum(equation, operands, shape, dtype)
        if target is F.linear:
            shape, dtype = self.meta(node)
            return self.linear(args[0], arg(1, "weight"), arg(2, "bias"), shape, dtype)
        if target is F.layer_norm:
            _, dtype = self.meta(node)
            return self.layer_norm(args[0], arg(1, "normalized_shape"), arg(2, "weight"), arg(3, "bias"),
                                   arg(4, "eps", 1e-5), dtype)
        if target is F.gelu:
            shape, dtype = self.meta(node)
            return self.gelu(args[0], kwargs.get("approximate", "none"), shape, dtype)
        if target in _ADD or target in _SUB or target in _MUL or target in _DIV or target in _RSUB:
            shape, dtype = self.meta(node)
            a, b = args[0], arg(1, "other")
            alpha = kwargs.get("alpha", 1)
            if alpha != 1:
                if target in _ADD or target in _SUB:
                    b = self.arith("mul", b, alpha, shape, dtype) if not isinstance(b, (int, float)) else b * alpha
                else:
                    raise self.unsupported("alpha")
            if kwargs.get("rounding_mode") is not None:
                raise self.unsupported("division with a rounding mode")
            if target in _RSUB:
                return self.arith("sub", b, a, shape, dtype)
            kind = "add" if target in _ADD else "sub" if target in _SUB else "mul" if target in _MUL else "div"
            return self.arith(kind, a, b, shape, dtype)
        if target in _POW:
            shape, dtype = self.meta(node)
            base, exponent = args[0], arg(1, "exponent")
            if isinstance(base, (int, float)):
                raise self.unsupported("a scalar raised to a tensor power")
            if isinstance(exponent, (int, float)):
                if exponent == 2:
                    return self.arith("mul", base, base, shape, dtype)
                if exponent == 1:
                    return base
                if exponent == 0.5:
                    return self.unary("math.sqrt", base)
                if exponent == -0.5:
                    return self.unary("math.rsqrt", base)
                if exponent == -1:
                    return self.arith("div", 1.0, base, shape, dtype)
            return self.binary("math.powf", base, exponent, shape, dtype)
        if target in _NEG:
            if _is_float(self.dtype_of(args[0]) or ""):
                return self.unary("arith.negf", args[0])
            return self._neg_int(node, args[0])
        if target in _UNARY_MATH:
            return self.unary(_UNARY_MATH[target], args[0])
        if target in _SIGMOID:
            shape, dtype = self.meta(node)
            return self.sigmoid(args[0], shape, dtype)
        if target in _RELU:
            shape, dtype = self.meta(node)
            return self.binary("arith.maximumf", args[0], 0.0, shape, dtype)
        if target in _CMP:
            shape, _ = self.meta(node)
            return self.compare(_CMP[target], args[0], arg(1, "other"), shape)
        if target in _LOGICAL_NOT:
            shape, dtype = self.meta(node)
            if dtype != "i1":
                raise self.unsupported("bitwise not of a non-boolean tensor")
            return self.binary("arith.xori", args[0], True, shape, "i1")
        if target in _LOGICAL_AND or target in _LOGICAL_OR:
            shape, dtype = self.meta(node)
            if dtype != "i1":
                raise self.unsupported("bitwise and/or of non-boolean tensors")
            return self.binary("arith.andi" if target in _LOGICAL_AND else "arith.ori", args[0], args[1],
                               shape, "i1")
        if target in _MASKED_FILL:
            shape, dtype = self.meta(node)
            return self.select(arg(1, "mask"), arg(2, "value"), args[0], shape, dtype)
        if target in _WHERE:
            if len(args) + len(kwargs) < 3:
                raise self.unsupported("torch.where with one argument")
            shape, dtype = self.meta(node)
            return self.select(args[0], arg(1, "input"), arg(2, "other"), shape, dtype)
        if target in _SUM or target in _MEAN:
            shape, dtype = self.meta(node)
            x = args[0]
            rank = len(self.shape_of(x))
            dim = arg(1, "dim")
            if dim is None:
                dims = list(range(rank))
            else:
                dims = [int(d) % rank for d in (dim if isinstance(dim, (tuple, list)) else [dim])]
            if kwargs.get("dtype") is not None:
                raise self.unsupported("reduction with a dtype")
            total: Value = self.reduce_sum(x, dims)
            if target in _MEAN:
                count = int(np.prod([self.shape_of(x)[d] for d in dims]))
                total = self.arith("mul", total, 1.0 / count, total.shape, dtype)
            if tuple(total.shape) != shape:
                total = self.reshape(total, shape)
            return total
        raise self.unsupported()

    def _neg_int(self, node: torch.fx.Node, x: Value) -> Tensor:
        shape, dtype = self.meta(node)
        return self.arith("sub", 0, x, shape, dtype)

    def pieces(self, target: Any, args: tuple, kwargs: dict) -> Pieces:
        x = args[0]
        shape = self.shape_of(x)
        if target in _UNBIND:
            dim = int(args[1] if len(args) > 1 else kwargs.get("dim", 0)) % len(shape)
            lengths = [1] * shape[dim]
        else:
            dim = int(args[2] if len(args) > 2 else kwargs.get("dim", 0)) % len(shape)
            size = shape[dim]
            if target in _CHUNK:
                n = int(args[1] if len(args) > 1 else kwargs["chunks"])
                step = -(-size // n)
                lengths = [min(step, size - i) for i in range(0, size, step)]
            else:
                spec = args[1] if len(args) > 1 else kwargs.get("split_size_or_sections", kwargs.get("split_size"))
                if isinstance(spec, int):
                    lengths = [min(spec, size - i) for i in range(0, size, spec)]
                else:
                    lengths = [int(s) for s in spec]
        offsets = [int(sum(lengths[:i])) for i in range(len(lengths))]
        return Pieces(x, dim, offsets, lengths, drop_dim=target in _UNBIND)

    def extract_slice(self, x: Value, offsets: Sequence[int], sizes: Sequence[int], strides: Sequence[int]) -> Tensor:
        t = self.tensor(x)
        if tuple(sizes) == t.shape:
            return t
        out = Tensor(self.fresh("slice"), tuple(int(s) for s in sizes), t.dtype)
        fmt = lambda xs: ", ".join(str(int(v)) for v in xs)  # noqa: E731
        self.emit(f"{out.name} = tensor.extract_slice {t.name}[{fmt(offsets)}] [{fmt(sizes)}] [{fmt(strides)}] "
                  f": {t.type} to {out.type}")
        return out

    def getitem(self, container: Any, index: Any) -> Value:
        if isinstance(container, Pieces):
            if not isinstance(index, int):
                raise self.unsupported("slicing a chunk/split result")
            shape = list(self.shape_of(container.base))
            offsets = [0] * len(shape)
            offsets[container.dim] = container.offsets[index]
            shape[container.dim] = container.lengths[index]
            piece = self.extract_slice(container.base, offsets, shape, [1] * len(shape))
            if container.drop_dim:
                return self.reshape(piece, shape[:container.dim] + shape[container.dim + 1:])
            return piece
        if isinstance(container, (tuple, list)):
            return container[index]
        if not isinstance(container, (Tensor, View, Const)):
            raise self.unsupported(f"indexing a {type(container).__name__}")
        shape = self.meta(self.node)[0]
        src = self.shape_of(container)
        items = list(index) if isinstance(index, tuple) else [index]
        if any(isinstance(i, (Tensor, View, Const, list)) for i in items):
            raise self.unsupported("advanced (tensor) indexing")
        n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
        if Ellipsis in items:
            e = items.index(Ellipsis)
            items[e:e + 1] = [slice(None)] * (len(src) - n_real)
        items += [slice(None)] * (len(src) - sum(1 for i in items if i is not None))
        offsets, sizes, strides = [], [], []
        dim = 0
        for item in items:
            if item is None:
                continue
            length = src[dim]
            if isinstance(item, int):
                offsets.append(item % length)
                sizes.append(1)
                strides.append(1)
            elif isinstance(item, slice):
                start, stop, step = item.indices(length)
                if step <= 0:
                    raise self.unsupported("a negative slice step")
                offsets.append(start)
                sizes.append(max(0, -(-(stop - start) // step)))
                strides.append(step)
            else:
                raise self.unsupported(f"index of type {type(item).__name__}")
            dim += 1
        piece = self.extract_slice(container, offsets, sizes, strides) if tuple(sizes) != src else container
        if tuple(sizes) != tuple(shape):
            return self.reshape(piece, shape)
        return piece


@dataclass
class Lowered:
    """The result of tracing and emission."""

    mlir: str
    input_specs: List[Tuple[Tuple[int, ...], torch.dtype]]
    output_specs: List[Tuple[Tuple[int, ...], str]]
    output_structure: Optional[str]
    # When set, builds the forward's result from the list of output tensors
    # (the ATen frontend keeps None leaves and nesting this way).
    rebuild: Optional[Callable[[List[Any]], Any]] = None


def _lower_fx(module: nn.Module, example_inputs: Any) -> Lowered:
    """Traces ``module`` with torch.fx and emits the function ``@forward``."""
    if isinstance(example_inputs, (torch.Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    inputs = [torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
              for x in example_inputs]
    gm, tensors = _trace(module, inputs)
    emitter = _Emitter(gm, tensors)
    text = emitter.run()
    header = "// Generated by attn_opt.to_mlir from " + type(module).__name__ + "\n"
    outputs = []
    for line in text.splitlines():
        if line.startswith("  return "):
            types = line.split(" : ", 1)[1]
            outputs = _split_types(types)
    return Lowered(header + text, [(tuple(t.shape), t.dtype) for t in tensors], outputs,
                   emitter.structure)


TRACERS = ("auto", "fx", "aten")


def lower(module: nn.Module, example_inputs: Any, tracer: str = "auto") -> Lowered:
    """Traces ``module`` and emits the attn-dialect function ``@forward``.

    ``tracer="fx"``: torch.fx symbolic tracing (the module's own Python, with
    its source lines in errors). ``tracer="aten"``: make_fx at the ATen level
    (see attn_opt/aten.py), which sees through PyTorch's own modules
    (nn.MultiheadAttention, nn.Transformer*, torchvision). ``tracer="auto"``
    (the default): fx first; if fx tracing or translation fails for any
    reason, the ATen tracer is tried, and if that fails too the *fx* error is
    raised (it names the user's line), with the ATen error chained.
    """
    if tracer not in TRACERS:
        raise ValueError(f"unknown tracer {tracer!r}: expected one of {', '.join(TRACERS)}")
    if tracer == "fx":
        return _lower_fx(module, example_inputs)
    from .aten import lower_aten
    if tracer == "aten":
        return lower_aten(module, example_inputs)
    try:
        return _lower_fx(module, example_inputs)
    except Exception as fx_error:  # noqa: BLE001 - any fx failure: try ATen
        try:
            return lower_aten(module, example_inputs)
        except Exception as aten_error:  # noqa: BLE001
            raise fx_error from aten_error


def _split_types(types: str) -> List[Tuple[Tuple[int, ...], str]]:
    out = []
    for ty in types.split(", "):
        inner = ty.strip()[len("tensor<"):-1]
        parts = inner.split("x")
        out.append((tuple(int(p) for p in parts[:-1]), parts[-1]))
    return out


def to_mlir(module: nn.Module, example_inputs: Any, tracer: str = "auto") -> str:
    """Traces ``module`` with ``example_inputs`` and returns attn-dialect MLIR.

    ``tracer`` is "auto" (default: torch.fx, falling back to the ATen tracer
    when fx fails), "fx" or "aten"; see ``lower``.

    The text holds one ``func.func @forward`` taking the tensor inputs (in
    order) and returning the outputs; parameters and buffers are embedded as
    ``arith.constant``. Raises UnsupportedOperationError for anything that has
    no translation.
    """
    return lower(module, example_inputs, tracer).mlir
