"""The ATen frontend: sees through PyTorch's own modules.

``torch.fx`` symbolic tracing treats ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer`` & co. as opaque leaves, and their ``forward``
is full of Python control flow on values (``query is key``, ``mask.dtype``)
that symbolic tracing cannot follow. This module traces at the ATen level
instead, with ``torch.fx.experimental.proxy_tensor.make_fx`` in "real" mode:
the module runs once on the example inputs and every ATen operator it
dispatches is recorded (``aten.addmm``, ``aten.transpose.int``,
``aten._softmax`` ...). The resulting graph is translated by the same emitter
as the torch.fx frontend (``frontend._Emitter``): this file only maps ATen
operator signatures onto its helpers (``matmul``, ``linear``, ``reshape``,
``broadcast``, ``select``, ``softmax``, ``layer_norm`` ...).

Inference fast paths. In eval mode, ``nn.MultiheadAttention``,
``nn.TransformerEncoderLayer`` and ``nn.TransformerEncoder`` may call fused
kernels (``torch._native_multi_head_attention``,
``torch._transformer_encoder_layer_fwd``, nested tensors) that have no
decomposition. All of them (PyTorch 1.13 and 2.x alike) refuse the fast path
when ``torch.is_grad_enabled()`` and one of the tensor arguments requires
grad. So we trace with grad enabled and with detached copies of the
floating-point example inputs that require grad: the fast path is never taken,
whatever the module's parameters' ``requires_grad`` is, and the recorded graph
is the plain composite implementation. (make_fx records below autograd, so
the graph holds only the forward computation; the ``aten.detach`` nodes that
autograd adds for saved tensors have no users and are removed.) Where
``torch.backends.mha.set_fastpath_enabled`` exists (PyTorch >= 2.1) it is
turned off during tracing as well.

The trace is specialised to everything that is not a tensor input: Python
flags (``need_weights=False``), ``None`` arguments, and which example inputs
are the *same* tensor object (``mha(x, x, x)`` takes the self-attention path,
which ``runtime.CompiledModule`` keys on).

Each ATen node whose value does not depend on an input (weights, ``t(W)``,
masks built from constants) is evaluated eagerly and embedded as a constant,
exactly as in the fx frontend.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.fx
import torch.nn as nn
import torch.utils._pytree as pytree

from .errors import UnsupportedOperationError
from .frontend import Const, Lowered, Tensor, Value, View, _DTYPES, _Emitter, _fmt_scalar, _mutates, _split_types

__all__ = ["trace_aten", "lower_aten"]


# ---------------------------------------------------------------------------
# Tracing
# ---------------------------------------------------------------------------

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@contextlib.contextmanager
def _no_fast_path():
    """Grad on (see the module docstring) and the 2.x fast-path switch off."""
    mha = getattr(torch.backends, "mha", None)
    getter = getattr(mha, "get_fastpath_enabled", None)
    setter = getattr(mha, "set_fastpath_enabled", None)
    saved = getter() if getter and setter else None
    try:
        if saved is not None:
            setter(False)
        with torch.enable_grad():
            yield
    finally:
        if saved is not None:
            setter(saved)


@contextlib.contextmanager
def _record_stack_traces():
    """Makes make_fx's tracer record where each ATen op was called from."""
    from torch.fx.experimental.proxy_tensor import PythonKeyTracer
    had = "record_stack_traces" in PythonKeyTracer.__dict__
    saved = PythonKeyTracer.__dict__.get("record_stack_traces")
    PythonKeyTracer.record_stack_traces = True
    try:
        yield
    finally:
        if had:
            PythonKeyTracer.record_stack_traces = saved
        else:
            del PythonKeyTracer.record_stack_traces


def _forward_names(module: nn.Module, count: int) -> List[str]:
    try:
        params = [p.name for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params + [f"arg{i}" for i in range(len(params), count)]


def _source_from_stack(trace: Optional[str]) -> Optional[str]:
    """The innermost frame of a recorded stack that is not attn_opt itself."""
    if not trace:
        return None
    lines = trace.rstrip("\n").split("\n")
    frames: List[Tuple[str, str]] = []
    for i, line in enumerate(lines):
        if line.lstrip().startswith("File "):
            code = lines[i + 1].strip() if i + 1 < len(lines) and not lines[i + 1].lstrip().startswith("File ") \
                else ""
            frames.append((line.strip(), code))
    # traceback.StackSummary.format of walk_stack: innermost frame first.
    for head, code in frames:
        if _PACKAGE_DIR not in head:
            return head + (f": {code}" if code else "")
    return None


def trace_aten(module: Callable[..., Any], example_inputs: Sequence[Any]
               ) -> Tuple[torch.fx.GraphModule, List[torch.Tensor], Any]:
    """make_fx trace of ``module(*example_inputs)`` at the ATen level.

    Returns the graph (placeholders = the tensor inputs in order, named after
    the forward's parameters), those tensors, and the output's pytree spec
    (the graph's output node returns the flat tensor leaves; ``None`` leaves
    are kept in the spec as constants).
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    example_inputs = list(example_inputs)
    names = _forward_names(module, len(example_inputs)) if isinstance(module, nn.Module) \
        else [f"arg{i}" for i in range(len(example_inputs))]
    positions = [i for i, x in enumerate(example_inputs) if isinstance(x, torch.Tensor)]
    tensors: List[torch.Tensor] = [example_inputs[i] for i in positions]
    # Copies that require grad (see the module docstring); the same object
    # passed twice stays one object, so `query is key` checks still hold.
    copies: Dict[int, torch.Tensor] = {}
    traced: List[torch.Tensor] = []
    for t in tensors:
        if id(t) not in copies:
            c = t.detach().clone()
            if c.is_floating_point():
                c.requires_grad_(True)
            copies[id(t)] = c
        traced.append(copies[id(t)])

    spec_box: List[Any] = []

    def run(*flat: torch.Tensor) -> Any:
        args = list(example_inputs)
        for i, t in zip(positions, flat):
            args[i] = t
        out = module(*args)
        leaves, spec = pytree.tree_flatten(out)
        kept = [leaf for leaf in leaves if isinstance(leaf, torch.Tensor)]
        spec_box.append((spec, [isinstance(leaf, torch.Tensor) for leaf in leaves],
                         [None if isinstance(leaf, torch.Tensor) else leaf for leaf in leaves]))
        return tuple(kept)

    with _no_fast_path(), _record_stack_traces():
        gm = make_fx(run)(*traced)

    # Dead nodes: autograd's detaches, fast-path checks (TransformerEncoder
    # asks torch._nested_tensor_from_mask_left_aligned before checking grad).
    # In-place operations are not dead even when their result is unused:
    # Swin builds its shift mask with `mask[h0:h1, w0:w1] = count`, an
    # aten.fill_ on a view whose effect is only visible through the base.
    _eliminate_dead_code(gm.graph)
    placeholders = [n for n in gm.graph.nodes if n.op == "placeholder"]
    used: set = set()
    for node, index in zip(placeholders, positions):
        name = names[index] if index < len(names) else f"arg{index}"
        while name in used:
            name += "_"
        used.add(name)
        node.target = name
    for node in gm.graph.nodes:
        if node.op == "call_function":
            source = _source_from_stack(getattr(node, "stack_trace", None))
            if source:
                node.meta["attn_source"] = source
    gm.recompile()
    return gm, tensors, spec_box[0]


def _eliminate_dead_code(graph: torch.fx.Graph) -> None:
    """graph.eliminate_dead_code() that keeps in-place operations (PyTorch
    1.13's treats every ATen call as pure)."""
    for node in reversed(list(graph.nodes)):
        if node.op in ("placeholder", "output") or node.users or _mutates(node):
            continue
        graph.erase_node(node)


# ---------------------------------------------------------------------------
# Emission
# ---------------------------------------------------------------------------


class _Unavailable:
    """A secondary result nothing may use (native_layer_norm's mean/rstd)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return self.what


def _packet(target: Any) -> Optional[str]:
    packet = getattr(target, "overloadpacket", None)
    if packet is None:
        return None
    return getattr(packet, "__name__", str(packet)).split(".")[-1]


def _bind(target: Any, args: tuple, kwargs: dict) -> Dict[str, Any]:
    """The op's arguments by schema name, defaults filled in."""
    bound: Dict[str, Any] = {}
    for i, a in enumerate(target._schema.arguments):
        if i < len(args) and not a.kwarg_only:
            bound[a.name] = args[i]
        elif a.name in kwargs:
            bound[a.name] = kwargs[a.name]
        elif a.has_default_value():
            bound[a.name] = a.default_value
        else:
            bound[a.name] = None
    return bound


# ATen ops that are the same computation as a torch function the fx emitter
# translates: the node is handed to it with the same positional arguments.
_AS_TORCH: Dict[str, Any] = {
    "exp": torch.exp, "tanh": torch.tanh, "sqrt": torch.sqrt, "rsqrt": torch.rsqrt, "log": torch.log,
    "erf": torch.erf, "abs": torch.abs, "neg": torch.neg, "sigmoid": torch.sigmoid, "relu": torch.relu,
    "cos": torch.cos, "sin": torch.sin, "pow": torch.pow,
    "eq": torch.eq, "ne": torch.ne, "lt": torch.lt, "le": torch.le, "gt": torch.gt, "ge": torch.ge,
    "logical_not": torch.logical_not, "bitwise_not": torch.logical_not,
    "logical_and": torch.logical_and, "bitwise_and": torch.logical_and,
    "logical_or": torch.logical_or, "bitwise_or": torch.logical_or,
    "mul": torch.mul, "div": torch.div, "where": torch.where,
}
_IDENTITY = {"clone", "contiguous", "alias", "detach", "lift_fresh", "lift_fresh_copy", "lift", "positive"}
_RESHAPE = {"view", "_unsafe_view", "reshape", "_reshape_alias", "unsqueeze", "squeeze", "flatten", "unflatten",
            "view_as", "reshape_as"}
_FILL_LIKE = {"zeros_like": 0.0, "ones_like": 1.0, "empty_like": 0.0, "new_zeros": 0.0, "new_ones": 1.0,
              "new_empty": 0.0}
# Ops that mutate their first argument; translated functionally (make_fx
# rebinds later uses of the tensor to the in-place node's result).
_VIEW_OPS = _RESHAPE | {"t", "transpose", "permute", "expand", "select", "slice", "split", "split_with_sizes",
                        "chunk", "unbind", "as_strided", "diagonal", "numpy_T"}


# F.scaled_dot_product_attention as ATen records it: PyTorch 1.13's private
# op (out, weights), 2.x's composite op if kept, and the CPU kernels 2.x
# dispatches to (the first result is the output; logsumexp and the other
# results are for the backward pass).
_SDPA = {"_scaled_dot_product_attention_forward", "_scaled_dot_product_attention", "scaled_dot_product_attention",
         "_scaled_dot_product_attention_math", "_scaled_dot_product_flash_attention_for_cpu"}

# Constructors that use their tensor argument only for its shape, dtype and
# device.
_METADATA_ONLY = {"new_zeros", "new_ones", "new_empty", "new_full", "zeros_like", "ones_like", "empty_like",
                  "full_like"}


def _sole_view_of_fresh_tensor(view: torch.fx.Node) -> bool:
    """Whether ``view`` is a chain of views of an intermediate result that
    nothing else reads: ``bmm(...)._unsafe_view(...).add_(mask)`` in PyTorch
    1.13's scaled_dot_product_attention. Updating such a view in place is
    then the same as computing a new value (no other alias can see it)."""
    if len(view.users) != 1:
        return False
    node = view
    while node.op == "call_function" and (_packet(node.target) or "") in _VIEW_OPS:
        base = node.args[0] if node.args else None
        if not isinstance(base, torch.fx.Node) or len(base.users) != 1:
            return False
        node = base
    return node.op == "call_function" and not _mutates(node)


class AtenEmitter(_Emitter):
    """frontend._Emitter with a translation table for ATen operators."""

    def reads_only_metadata(self, node: torch.fx.Node) -> bool:
        return node.op == "call_function" and _packet(node.target) in _METADATA_ONLY

    def unsupported(self, detail: str = "", op: Optional[str] = None) -> UnsupportedOperationError:
        if op is None and self.node is not None and _packet(self.node.target) is not None:
            op = str(self.node.target)  # aten.cumsum.default
        return super().unsupported(detail, op)

    def translate_call(self, node: torch.fx.Node, target: Any, args: tuple, kwargs: dict, method: bool) -> Value:
        name = _packet(target)
        if name is None:
            return super().translate_call(node, target, args, kwargs, method)
        if name.endswith("_") and not name.startswith("_"):
            base = name[:-1]
            self_node = node.args[0] if node.args else None
            if isinstance(self_node, torch.fx.Node):
                if self_node.op == "placeholder":
                    raise self.unsupported("an in-place update of an input", op=self.op_name(target))
                if self_node.op == "call_function" and (_packet(self_node.target) or "") in _VIEW_OPS \
                        and not _sole_view_of_fresh_tensor(self_node):
                    raise self.unsupported("an in-place update of a view", op=self.op_name(target))
            overload = getattr(getattr(torch.ops.aten, base, None), target._overloadname, None)
            if overload is None:
                raise self.unsupported(op=self.op_name(target))
            return self.translate_aten(node, base, overload, args, kwargs)
        return self.translate_aten(node, name, target, args, kwargs)

    @staticmethod
    def op_name(target: Any) -> str:
        return str(target)  # aten.cumsum.default

    def translate_aten(self, node: torch.fx.Node, name: str, target: Any, args: tuple, kwargs: dict) -> Value:
        b = _bind(target, args, kwargs)
        first = args[0] if args else None

        def meta() -> Tuple[Tuple[int, ...], str]:
            return self.meta(node)

        # -- matrix products -------------------------------------------------
        if name == "bmm":
            batched = self.unmerged_bmm(node)
            if batched is not None:
                return batched
        if name in ("mm", "bmm", "matmul"):
            shape, dtype = meta()
            return self.product(args[0], args[1], shape, dtype)
        if name in ("addmm", "baddbmm"):
            shape, dtype = meta()
            product: Value = self.product(args[1], args[2], shape, dtype)
            alpha, beta = b.get("alpha", 1), b.get("beta", 1)
            if alpha != 1:
                product = self.arith("mul", product, alpha, shape, dtype)
            if beta == 0:
                return product
            addend = args[0] if beta == 1 else self.arith("mul", args[0], beta, self.shape_of(args[0]), dtype)
            # The addend (bias, or MHA's additive mask for baddbmm) on the
            # right: attn-fuse-attention accepts it on either side.
            return self.arith("add", product, addend, shape, dtype)
        if name == "linear":
            shape, dtype = meta()
            return self.linear(b["input"], b["weight"], b.get("bias"), shape, dtype)
        if name == "einsum":
            shape, dtype = meta()
            return self.einsum("".join(str(b["equation"]).split()), list(b["tensors"]), shape, dtype)
        if name == "convolution" or name == "_convolution":
            return self.patch_convolution(b)
        if name in _SDPA:
            return self.scaled_dot_product_attention(node, target, b)

        # -- layout ----------------------------------------------------------
        if name in _IDENTITY:
            return first
        if name in ("_to_copy", "to", "_to_dtype", "type_as"):
            shape, dtype = meta()
            return self.cast(first, dtype, shape)
        if name in ("dropout", "feature_dropout", "alpha_dropout", "native_dropout"):
            train = b.get("train", b.get("training"))
            if train and b.get("p", 0) > 0:
                raise self.unsupported("dropout with train=True (call module.eval())", op=self.op_name(target))
            return (first, _Unavailable("the dropout mask")) if name == "native_dropout" else first
        if name in _RESHAPE:
            shape, _ = meta()
            return self.reshape(first, shape)
        if name in ("t", "numpy_T", "transpose", "permute", "swapaxes", "movedim"):
            rank = len(self.shape_of(first))
            perm = list(range(rank))
            if name in ("t", "numpy_T"):
                perm.reverse()
            elif name == "permute":
                perm = [int(d) % rank for d in b["dims"]]
            elif name == "movedim":
                src = b["source"] if isinstance(b["source"], (list, tuple)) else [b["source"]]
                dst = b["destination"] if isinstance(b["destination"], (list, tuple)) else [b["destination"]]
                src, dst = [int(s) % rank for s in src], [int(d) % rank for d in dst]
                rest = [d for d in range(rank) if d not in src]
                perm = [-1] * rank
                for s, d in zip(src, dst):
                    perm[d] = s
                it = iter(rest)
                perm = [p if p >= 0 else next(it) for p in perm]
            else:
                d0, d1 = int(args[1]) % rank, int(args[2]) % rank
                perm[d0], perm[d1] = perm[d1], perm[d0]
            view = self.view_of(first)
            view.state.permute(perm)
            return view
        if name in ("expand", "expand_as", "broadcast_to"):
            shape, _ = meta()
            return self.broadcast(first, shape)
        if name in ("split", "split_with_sizes"):
            spec = b.get("split_size", b.get("split_sizes"))
            return self.pieces(torch.split, (first, spec, b.get("dim", 0)), {})
        if name == "chunk":
            return self.pieces(torch.chunk, (first, b["chunks"], b.get("dim", 0)), {})
        if name == "unbind":
            return self.pieces(torch.unbind, (first, b.get("dim", 0)), {})
        if name == "select":
            rank = len(self.shape_of(first))
            dim = int(b["dim"]) % rank
            return self.getitem(first, (slice(None),) * dim + (int(b["index"]),))
        if name == "slice":
            rank = len(self.shape_of(first))
            dim = int(b["dim"]) % rank
            start = b.get("start")
            end = b.get("end")
            return self.getitem(first, (slice(None),) * dim + (slice(start, end, b.get("step", 1)),))
        if name == "cat":
            return self.concat(list(b["tensors"]), b.get("dim", 0))
        if name == "as_strided":
            # Only the restriding PyTorch does to keep a memory format (the
            # pooled [B, C, 1, 1] after Swin's mean): same sizes, and every
            # dimension longer than 1 has the stride of a contiguous tensor
            # of those sizes, so the logical values are the input's.
            src = list(self.shape_of(first))
            size, stride = [int(v) for v in b["size"]], [int(v) for v in b["stride"]]
            contiguous, acc = [0] * len(src), 1
            for d in range(len(src) - 1, -1, -1):
                contiguous[d] = acc
                acc *= src[d]
            if size == src and b.get("storage_offset") in (None, 0) and all(
                    n == 1 or st == c for n, st, c in zip(size, stride, contiguous)):
                return first
            raise self.unsupported("as_strided other than a restride of the same elements",
                                   op=self.op_name(target))
        if name == "constant_pad_nd":
            return self.pad(first, [int(p) for p in b["pad"]], b.get("value", 0) or 0)
        if name == "roll":
            return self.roll(first, [int(s) for s in b["shifts"]], [int(d) for d in b["dims"]])
        if name in ("_adaptive_avg_pool2d", "adaptive_avg_pool2d"):
            out = [int(o) for o in b["output_size"]]
            rank = len(self.shape_of(first))
            if out != [1, 1]:
                raise self.unsupported("adaptive average pooling to a size other than 1x1", op=self.op_name(target))
            shape, dtype = meta()
            mean = super().translate_call(node, torch.mean, (first, [rank - 2, rank - 1]), {}, False)
            return self.reshape(mean, shape)

        # -- element-wise ----------------------------------------------------
        if name in ("add", "sub", "rsub"):
            return super().translate_call(node, {"add": torch.add, "sub": torch.sub, "rsub": torch.rsub}[name],
                                          (args[0], args[1]), {"alpha": b.get("alpha", 1)}, False)
        if name == "div" and b.get("rounding_mode") is not None:
            raise self.unsupported("division with a rounding mode", op=self.op_name(target))
        if name in ("masked_fill",):
            shape, dtype = meta()
            return self.select(b["mask"], b["value"], first, shape, dtype)
        if name in _AS_TORCH:
            return super().translate_call(node, _AS_TORCH[name], tuple(args[:3]), {}, False)
        if name == "gelu":
            shape, dtype = meta()
            return self.gelu(first, b.get("approximate", "none"), shape, dtype)
        if name in _FILL_LIKE or name in ("full_like", "new_full", "fill"):
            shape, dtype = meta()
            value = b.get("fill_value", b.get("value", _FILL_LIKE.get(name, 0.0)))
            if isinstance(value, (Tensor, View)):
                raise self.unsupported("a fill value that is a computed tensor", op=self.op_name(target))
            if isinstance(value, Const):
                value = value.value.item()
            return self.splat(value, shape, dtype)

        # -- reductions and normalisation ------------------------------------
        if name in ("_softmax", "softmax"):
            if name == "softmax" and b.get("dtype") is not None and _DTYPES.get(b["dtype"]) != self.dtype_of(first):
                raise self.unsupported("softmax with a dtype conversion", op=self.op_name(target))
            return self.softmax(first, int(b["dim"]))
        if name in ("sum", "mean"):
            if b.get("dtype") is not None:
                raise self.unsupported("reduction with a dtype", op=self.op_name(target))
            dim = b.get("dim")
            return super().translate_call(node, torch.sum if name == "sum" else torch.mean,
                                          (first,) if dim is None or list(dim) == [] else (first, list(dim)),
                                          {}, False)
        if name in ("native_layer_norm", "layer_norm"):
            _, dtype = self.meta(node) if name == "layer_norm" else self._meta_of(node, 0)
            y = self.layer_norm(first, b["normalized_shape"], b.get("weight"), b.get("bias"),
                                float(b.get("eps") if b.get("eps") is not None else 1e-5), dtype)
            if name == "layer_norm":
                return y
            return (y, _Unavailable("layer_norm's mean"), _Unavailable("layer_norm's rstd"))
        raise self.unsupported(op=self.op_name(target))

    # -- helpers ---------------------------------------------------------

    def product(self, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        """mm/bmm/matmul. ``nn.Linear`` decomposes to ``mm(x, t(W))`` (or
        ``addmm``); with ``t(W)`` folded to a constant, emit the linear form
        (which embeds the constant as ``W^T``, see ``_Emitter.linear``)."""
        if isinstance(b, Const) and b.value.dim() == 2 and len(self.shape_of(a)) == 2:
            return self.linear(a, Const(b.value.t()), None, shape, dtype)
        return self.matmul(a, b, shape, dtype)

    def unmerged_bmm(self, node: torch.fx.Node) -> Optional[Value]:
        """torch.matmul on [..., n, k] x [..., k, m] tensors of rank > 3
        dispatches expand -> view [B, n, k] -> bmm -> view [..., n, m]. The
        product is emitted on the operands before the merge of their
        leading dimensions (``"b h i k, b h k j -> b h i j"``), and the bmm's
        result is a lazy view of it that the following view undoes: no
        rearrange between the scores and their mask and softmax, which
        attn-fuse-attention needs to see (Swin's windowed attention)."""
        def unmerge(arg: Any) -> Optional[torch.fx.Node]:
            if not isinstance(arg, torch.fx.Node) or arg.op != "call_function" or \
                    _packet(arg.target) not in _RESHAPE or not isinstance(arg.args[0], torch.fx.Node):
                return None
            src = arg.args[0]
            if src.op == "call_function" and _packet(src.target) == "expand" and \
                    isinstance(src.args[0], torch.fx.Node) and \
                    self.meta(src.args[0])[0] == self.meta(src)[0]:
                src = src.args[0]  # an expand to its own shape
            full, merged = self.meta(src)[0], self.meta(arg)[0]
            if len(full) < 4 or len(merged) != 3 or tuple(full[-2:]) != tuple(merged[-2:]) or \
                    int(np.prod(full[:-2])) != merged[0]:
                return None
            return src
        a, b = unmerge(node.args[0]), unmerge(node.args[1])
        if a is None or b is None or self.meta(a)[0][:-2] != self.meta(b)[0][:-2]:
            return None
        shape, dtype = self.meta(node)
        lead = list(self.meta(a)[0][:-2])
        product = self.matmul(self.env[a], self.env[b], lead + list(shape[-2:]), dtype)
        return self.reshape(product, shape)

    def scaled_dot_product_attention(self, node: torch.fx.Node, target: Any, b: Dict[str, Any]) -> Value:
        """softmax(q kᵀ * scale + mask) v written out as einsum, mask, softmax
        and einsum, the chain attn-fuse-attention turns into attn.attention: a
        boolean mask keeps where true (select with -inf), a float mask is
        added, is_causal is a constant tril mask, which canonicalisation
        turns into the causal flag."""
        op = self.op_name(target)
        if float(b.get("dropout_p") or 0.0) > 0.0:
            raise self.unsupported("attention dropout (dropout_p > 0)", op=op)
        if b.get("need_attn_weights") or b.get("enable_gqa"):
            raise self.unsupported("returning the attention weights / grouped-query attention", op=op)
        q, k, v = b["query"], b["key"], b["value"]
        qs, ks, vs = self.shape_of(q), self.shape_of(k), self.shape_of(v)
        if len(qs) < 2 or not (len(qs) == len(ks) == len(vs)) or qs[:-2] != ks[:-2] or ks[:-1] != vs[:-1] \
                or qs[-1] != ks[-1]:
            raise self.unsupported(f"query/key/value shapes {list(qs)}, {list(ks)}, {list(vs)} "
                                   "(batch dimensions must agree)", op=op)
        outputs = len(target._schema.returns)
        shape, dtype = self._meta_of(node, 0) if outputs > 1 else self.meta(node)
        batch = [f"b{i}" for i in range(len(qs) - 2)]
        lead = " ".join(batch + [""])
        sq, sk = qs[-2], ks[-2]
        scores_shape = list(qs[:-2]) + [sq, sk]
        s: Value = self.einsum(f"{lead}i d, {lead}j d -> {lead}i j", [q, k], scores_shape, dtype)
        scale = b.get("scale")
        s = self.arith("mul", s, float(scale) if scale is not None else qs[-1] ** -0.5, scores_shape, dtype)
        mask = b.get("attn_mask")
        if mask is not None and self.dtype_of(mask) != "i1":
            s = self.arith("add", s, mask, scores_shape, dtype)
            mask = None
        if b.get("is_causal"):
            causal = Const(torch.ones(sq, sk, dtype=torch.bool).tril())
            mask = causal if mask is None else self.binary("arith.andi", mask, causal, scores_shape, "i1")
        if mask is not None:
            s = self.select(mask, s, float("-inf"), scores_shape, dtype)
        p = self.softmax(s, -1)
        out = self.einsum(f"{lead}i j, {lead}j e -> {lead}i e", [p, v], shape, dtype)
        if outputs == 1:
            return out
        return (out,) + tuple(_Unavailable(f"result {i} of {op}") for i in range(1, outputs))

    def _meta_of(self, node: torch.fx.Node, index: int) -> Tuple[Tuple[int, ...], str]:
        tm = node.meta.get("tensor_meta")
        if isinstance(tm, (tuple, list)):
            tm = tm[index]
        if tm is None or not hasattr(tm, "shape") or tm.dtype not in _DTYPES:
            raise self.unsupported("an operation whose result is not a tensor")
        return tuple(int(s) for s in tm.shape), _DTYPES[tm.dtype]

    def cast(self, x: Value, dtype: str, shape: Sequence[int]) -> Value:
        src = self.dtype_of(x)
        if src == dtype:
            return x
        if isinstance(x, Const):
            return x
        if src == "i1" and dtype in ("f32", "f64", "f16", "bf16"):
            return self.select(x, 1.0, 0.0, shape, dtype)
        widths = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64}
        if src in widths and dtype in widths and widths[src] != widths[dtype]:
            op = "arith.extf" if widths[dtype] > widths[src] else "arith.truncf"
            t = self.tensor(x)
            out = Tensor(self.fresh("cast"), t.shape, dtype)
            self.emit(f"{out.name} = {op} {t.name} : {t.type} to {out.type}")
            return out
        raise self.unsupported(f"conversion from {src} to {dtype}")

    def concat(self, values: List[Value], dim: int) -> Tensor:
        """torch.cat as one linalg.generic over the result that reads each
        element from the operand covering its index along ``dim``
        (``tensor.extract`` at a clamped index, chosen by ``arith.select``).

        Not tensor.insert_slice: bufferized, an insert into a strided slice
        becomes a memref.copy that lowers to a call of MLIR's runtime
        ``memrefCopy``, which attn-run's ahead-of-time .so does not link."""
        shape, dtype = self.meta(self.node)
        rank = len(shape)
        dim = int(dim) % rank
        parts = [self.tensor(v) for v in values]
        parts = [t for t in parts if t.shape and t.shape[dim] > 0]
        if len(parts) == 1:
            return parts[0]
        out = self._open_index_generic("cat", shape, dtype)
        self.emit("  %zero = arith.constant 0 : index")
        offset = 0
        current = None
        for k, t in enumerate(parts):
            length = t.shape[dim]
            self.emit(f"  %off{k} = arith.constant {offset} : index")
            self.emit(f"  %last{k} = arith.constant {length - 1} : index")
            self.emit(f"  %rel{k} = arith.subi %i{dim}, %off{k} : index")
            self.emit(f"  %lo{k} = arith.maxsi %rel{k}, %zero : index")
            self.emit(f"  %j{k} = arith.minsi %lo{k}, %last{k} : index")
            index = ", ".join(f"%j{k}" if i == dim else f"%i{i}" for i in range(rank))
            self.emit(f"  %v{k} = tensor.extract {t.name}[{index}] : {t.type}")
            if current is None:
                current = f"%v{k}"
            else:
                self.emit(f"  %in{k} = arith.cmpi sge, %i{dim}, %off{k} : index")
                self.emit(f"  %s{k} = arith.select %in{k}, %v{k}, {current} : {dtype}")
                current = f"%s{k}"
            offset += length
        self.emit(f"  linalg.yield {current} : {dtype}")
        self.emit(f"}} -> {out.type}")
        return out

    def _open_index_generic(self, prefix: str, shape: Sequence[int], dtype: str) -> Tensor:
        """Emits the head of a linalg.generic that only writes a new
        ``shape`` tensor, up to its block's ``%i<d> = linalg.index d``; the
        caller emits the body's computation, the yield and the closing line."""
        rank = len(shape)
        init = self.fresh("init")
        out = Tensor(self.fresh(prefix), tuple(shape), dtype)
        self.emit(f"{init} = tensor.empty() : {out.type}")
        dims = ", ".join(f"d{i}" for i in range(rank))
        iterators = ", ".join(['"parallel"'] * rank)
        self.emit(f"{out.name} = linalg.generic {{indexing_maps = [affine_map<({dims}) -> ({dims})>], "
                  f"iterator_types = [{iterators}]}} outs({init} : {out.type}) {{")
        self.emit(f"^bb0(%out: {dtype}):")
        for i in range(rank):
            self.emit(f"  %i{i} = linalg.index {i} : index")
        return out

    def _gather_generic(self, x: Value, remap: Dict[int, List[str]], valid: Optional[List[str]], fill: Any,
                        preamble: Sequence[str] = ()) -> Tensor:
        """A linalg.generic over this node's result that reads ``x`` at the
        result's own index (``%i<d>``) except along the dimensions ``d`` in
        ``remap``, whose lines compute the index ``%j<d>`` instead (after the
        ``preamble`` lines), and, where the ``valid`` conditions do not all
        hold, yields ``fill``."""
        shape, dtype = self.meta(self.node)
        t = self.tensor(x)
        out = self._open_index_generic("gather", shape, dtype)
        for line in list(preamble) + [line for d in sorted(remap) for line in remap[d]]:
            self.emit("  " + line)
        names = [f"%j{d}" if d in remap else f"%i{d}" for d in range(len(shape))]
        self.emit(f"  %v = tensor.extract {t.name}[{', '.join(names)}] : {t.type}")
        result = "%v"
        if valid:
            self.emit(f"  %fill = arith.constant {_fmt_scalar(fill, dtype)} : {dtype}")
            cond = valid[0]
            for k, c in enumerate(valid[1:]):
                self.emit(f"  %all{k} = arith.andi {cond}, {c} : i1")
                cond = f"%all{k}"
            self.emit(f"  %r = arith.select {cond}, %v, %fill : {dtype}")
            result = "%r"
        self.emit(f"  linalg.yield {result} : {dtype}")
        self.emit(f"}} -> {out.type}")
        return out

    def pad(self, x: Value, pads: List[int], value: Any) -> Value:
        """aten.constant_pad_nd (F.pad with a constant): ``pads`` holds
        (before, after) pairs from the last dimension backwards. Zero pads
        (Swin's window padding when the size is a multiple) are the input."""
        if not any(pads):
            return x
        src = self.shape_of(x)
        rank = len(src)
        before = [0] * rank
        for k in range(len(pads) // 2):
            before[rank - 1 - k] = pads[2 * k]
        if any(p < 0 for p in pads):
            raise self.unsupported("negative padding (cropping)", op="aten.constant_pad_nd")
        out_shape = self.meta(self.node)[0]
        padded = [d for d in range(rank) if before[d] != 0 or src[d] != out_shape[d]]

        remap = {d: [f"%lo{d} = arith.constant {before[d]} : index",
                     f"%last{d} = arith.constant {src[d] - 1} : index",
                     f"%rel{d} = arith.subi %i{d}, %lo{d} : index",
                     f"%ge{d} = arith.cmpi sge, %rel{d}, %zero : index",
                     f"%le{d} = arith.cmpi sle, %rel{d}, %last{d} : index",
                     f"%in{d} = arith.andi %ge{d}, %le{d} : i1",
                     f"%c{d} = arith.maxsi %rel{d}, %zero : index",
                     f"%j{d} = arith.minsi %c{d}, %last{d} : index"]
                 for d in padded}
        return self._gather_generic(x, remap, [f"%in{d}" for d in padded], value,
                                    preamble=["%zero = arith.constant 0 : index"])

    def roll(self, x: Value, shifts: List[int], dims: List[int]) -> Value:
        """torch.roll along the given dims: out[i] = x[(i - shift) mod n]
        (Swin's cyclic window shift)."""
        src = self.shape_of(x)
        rank = len(src)
        if not dims:
            raise self.unsupported("torch.roll without dims (of the flattened tensor)", op="aten.roll")
        shift_of = {int(d) % rank: int(s) for s, d in zip(shifts, dims)}
        remap: Dict[int, List[str]] = {}
        for d, shift in shift_of.items():
            n = src[d]
            shift = shift % n if n else 0
            if shift:
                # (i - shift) mod n, with 0 <= i < n: i + (n - shift), minus n
                # when that reaches n.
                remap[d] = [f"%off{d} = arith.constant {n - shift} : index",
                            f"%n{d} = arith.constant {n} : index",
                            f"%s{d} = arith.addi %i{d}, %off{d} : index",
                            f"%w{d} = arith.cmpi sge, %s{d}, %n{d} : index",
                            f"%m{d} = arith.subi %s{d}, %n{d} : index",
                            f"%j{d} = arith.select %w{d}, %m{d}, %s{d} : index"]
        if not remap:
            return x
        return self._gather_generic(x, remap, None, 0)

    def patch_convolution(self, b: Dict[str, Any]) -> Value:
        """A 2-D convolution whose stride equals its kernel (a ViT patch
        embedding) without padding, dilation or groups is a pure layout
        change plus a contraction: ``x[b, c, (h p), (w q)]`` is split by an
        attn.rearrange (free, no copy) and contracted with the weight by one
        ``attn.einsum "b c h p w q, o c p q -> b o h w"``; the bias is added.
        Any other convolution is reported as unsupported."""
        shape, dtype = self.meta(self.node)
        x, weight, bias = b["input"], b["weight"], b.get("bias")
        wshape = self.shape_of(weight)
        xshape = self.shape_of(x)
        stride, padding, dilation = list(b["stride"]), list(b["padding"]), list(b["dilation"])
        if (len(wshape) != 4 or len(xshape) != 4 or b.get("transposed") or int(b.get("groups", 1)) != 1
                or stride != list(wshape[2:]) or any(int(p) for p in padding) or any(int(d) != 1 for d in dilation)):
            raise self.unsupported("only 2-D convolutions with stride == kernel size, no padding, dilation or "
                                   "groups (patch embeddings) are supported")
        p, q = wshape[2], wshape[3]
        h, w = xshape[2] // p, xshape[3] // q
        if xshape[2] % p or xshape[3] % q:
            # torch drops the trailing rows/columns: slice them off first.
            x = self.extract_slice(x, [0, 0, 0, 0], [xshape[0], xshape[1], h * p, w * q], [1, 1, 1, 1])
        split = self.reshape(x, [xshape[0], xshape[1], h, p, w, q])
        y: Value = self.einsum("b c h p w q, o c p q -> b o h w", [split, weight], shape, dtype)
        if bias is not None:
            y = self.arith("add", y, self.reshape(bias, [wshape[0], 1, 1]) if isinstance(bias, Const) else
                           self.reshape(bias, [wshape[0], 1, 1]), shape, dtype)
        return y


def lower_aten(module: Callable[..., Any], example_inputs: Sequence[Any]) -> Lowered:
    """Traces with make_fx and emits the attn-dialect function ``@forward``."""
    if isinstance(example_inputs, (torch.Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    inputs = [torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
              for x in example_inputs]
    gm, tensors, (spec, is_tensor, others) = trace_aten(module, inputs)
    if not any(is_tensor):
        raise UnsupportedOperationError("output", None, "a forward that returns no tensor")
    emitter = AtenEmitter(gm, tensors)
    text = emitter.run()
    header = "// Generated by attn_opt.to_mlir(tracer=\"aten\") from " + type(module).__name__ + "\n"
    outputs: List[Tuple[Tuple[int, ...], str]] = []
    for line in text.splitlines():
        if line.startswith("  return "):
            outputs = _split_types(line.split(" : ", 1)[1])

    def rebuild(results: List[Any]) -> Any:
        it = iter(results)
        leaves = [next(it) if t else other for t, other in zip(is_tensor, others)]
        return pytree.tree_unflatten(leaves, spec)

    return Lowered(header + text, [(tuple(t.shape), t.dtype) for t in tensors], outputs, "tuple",
                   rebuild=rebuild)
