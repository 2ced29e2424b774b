"""Capture: a PyTorch module -> an ATen graph, with torch.export.

``torch.export`` traces with fake tensors (nothing runs on the full-size
example, so capturing attention at n = 8192 costs no n² memory), records
every ATen op with the Python stack that called it, and lifts parameters,
buffers and constants into graph inputs with a signature that says which is
which. The graph is then decomposed with the default table minus the ops
attn-opt translates better whole (``linear``, ``einsum``, ``matmul``,
``scaled_dot_product_attention``, the norms, ...).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.utils._pytree as pytree

from .errors import CaptureError, UnsupportedOperationError
from .source import user_frame
from .translate import Lowered, Placeholder, Translator

aten = torch.ops.aten

# Ops kept whole instead of decomposed: each has a translation that is
# better than what its decomposition would give (the einsum keeps its
# labels, linear its weight layout, SDPA is attention as such).
PRESERVED = [
    aten.linear.default, aten.einsum.default, aten.matmul.default, aten.scaled_dot_product_attention.default,
    aten.layer_norm.default, aten.rms_norm.default, aten.group_norm.default, aten.softmax.int,
    aten._safe_softmax.default, aten.log_softmax.int, aten.roll.default, aten.repeat_interleave.self_int,
    aten.repeat_interleave.Tensor, aten.pad.default, aten.silu.default, aten.hardswish.default,
    aten.linalg_vector_norm.default, aten.chunk.default, aten.unflatten.int, aten.im2col.default,
]


def decomposition_table() -> Dict[Any, Any]:
    table = torch.export.default_decompositions()
    for op in PRESERVED:
        if op in table:
            del table[op]
    return table


class _Wrapped(nn.Module):
    """A plain function exported as a module."""

    def __init__(self, fn: Any) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)


@contextlib.contextmanager
def _no_fast_path():
    """nn.MultiheadAttention/TransformerEncoder's fused inference kernels
    (no decomposition, nested tensors) are off while capturing: the
    composite path is the same computation."""
    mha = getattr(torch.backends, "mha", None)
    getter = getattr(mha, "get_fastpath_enabled", None)
    setter = getattr(mha, "set_fastpath_enabled", None)
    saved = getter() if getter and setter else None
    try:
        if saved is not None:
            setter(False)
        yield
    finally:
        if saved is not None:
            setter(saved)


@dataclass
class Captured:
    program: Any  # torch.export.ExportedProgram (decomposed)
    placeholders: Dict[torch.fx.Node, Placeholder]
    in_spec: Any
    out_spec: Any
    module: nn.Module


def normalize_inputs(example_inputs: Any) -> Tuple[Any, ...]:
    if isinstance(example_inputs, (torch.Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    return tuple(torch.from_numpy(np.ascontiguousarray(x)) if isinstance(x, np.ndarray) else x
                 for x in example_inputs)


def _capture_error(exc: BaseException) -> Exception:
    """torch.export's failure as one message: what PyTorch said (its first
    lines, not a chain) and the user's line where it can be found. A bad
    einops pattern stays an EinopsError (einops' own message), with the line."""
    text = str(exc).strip()
    lines = [l for l in text.splitlines() if l.strip()]
    summary = "\n".join(lines[:12])
    import traceback
    tb = "".join(traceback.format_tb(exc.__traceback__))
    frame = user_frame(tb)
    if frame is None:
        m = re.search(r'File "([^"]+)", line (\d+)', text)
        where = f'File "{m.group(1)}", line {m.group(2)}' if m else None
    else:
        where = frame.text
    import einops
    if isinstance(exc, einops.EinopsError):
        return einops.EinopsError(f"{text}\n  at {where}" if where else text)
    return CaptureError(f"torch.export could not capture the model: {type(exc).__name__}: {summary}", where)


def capture_module(module: Any) -> nn.Module:
    """``module`` itself, or a plain function wrapped as one."""
    if isinstance(module, nn.Module):
        return module
    if not callable(module):
        raise TypeError(f"expected an nn.Module or a function, got {type(module).__name__}")
    return _Wrapped(module)


def capture(module: Any, example_inputs: Any, example_kwargs: Optional[Dict[str, Any]] = None) -> Captured:
    module = capture_module(module)
    args = normalize_inputs(example_inputs)
    kwargs = dict(example_kwargs or {})
    try:
        with _no_fast_path(), torch.no_grad():
            program = torch.export.export(module, args, kwargs, strict=False)
            program = program.run_decompositions(decomposition_table())
    except (UnsupportedOperationError, CaptureError):
        raise
    except Exception as exc:  # noqa: BLE001 - reported as one clear error
        raise _capture_error(exc) from None
    sig = program.graph_signature
    placeholders: Dict[torch.fx.Node, Placeholder] = {}
    nodes = {n.name: n for n in program.graph.nodes if n.op == "placeholder"}
    user_index = 0
    state = program.state_dict
    constants = program.constants
    for spec in sig.input_specs:
        node = nodes[spec.arg.name]
        kind = spec.kind.name
        if kind == "USER_INPUT":
            placeholders[node] = Placeholder("input", spec.arg.name, index=user_index)
            user_index += 1
        elif kind == "PARAMETER":
            placeholders[node] = Placeholder("parameter", spec.target)
        elif kind == "BUFFER":
            value = state[spec.target] if spec.target in state else constants[spec.target]
            placeholders[node] = Placeholder("buffer", spec.target, value=value)
        elif kind == "CONSTANT_TENSOR":
            placeholders[node] = Placeholder("constant", spec.target, value=constants[spec.target])
        else:
            raise UnsupportedOperationError(f"graph input of kind {kind}", None)
    for spec in sig.output_specs:
        kind = spec.kind.name
        if kind == "BUFFER_MUTATION":
            raise UnsupportedOperationError("in-place update of a buffer", None,
                                            f"the forward writes buffer '{spec.target}' (call module.eval()?)")
        if kind == "USER_INPUT_MUTATION":
            raise UnsupportedOperationError("in-place update of an input", None,
                                            f"the forward writes its input '{spec.target}'")
    return Captured(program, placeholders, program.call_spec.in_spec, program.call_spec.out_spec, module)


def lower(module: Any, example_inputs: Any, example_kwargs: Optional[Dict[str, Any]] = None,
          strict: bool = True, target: str = "cpu") -> Tuple[Lowered, Captured]:
    """Captures ``module`` and translates it into ``func.func @forward`` for
    ``target`` ("cpu" or "cuda": the layouts parameters are prepared in)."""
    captured = capture(module, example_inputs, example_kwargs)
    lowered = Translator(captured.program.graph, captured.placeholders, strict=strict,
                         weight_panels=target == "cpu").run()
    name = type(captured.module).__name__
    lowered.mlir = f"// attn_opt.to_mlir of {name}\n" + lowered.mlir
    return lowered, captured


def to_mlir(module: Any, example_inputs: Any, example_kwargs: Optional[Dict[str, Any]] = None) -> str:
    """The attn-dialect IR of ``module`` for these example inputs.

    One ``func.func @forward`` whose arguments are the tensor inputs
    followed by the prepared parameters (weights never appear in the IR);
    raises UnsupportedOperationError naming the first ATen op without a
    translation and the user's source line that called it.
    """
    return lower(module, example_inputs, example_kwargs)[0].mlir


# What pytree treats as a leaf without looking further: a call whose
# positional arguments are all of these and that has no keyword arguments
# flattens to its arguments, without pytree's per-node walk (a tenth of a
# small module's compiled call).
_LEAF_TYPES = (torch.Tensor, np.ndarray, int, float, bool, str, type(None))


def flatten_inputs(args: Sequence[Any], kwargs: Optional[Dict[str, Any]] = None) -> List[Any]:
    if not kwargs and all(type(a) in _LEAF_TYPES or isinstance(a, torch.Tensor) for a in args):
        return list(args)
    return pytree.tree_flatten((tuple(args), dict(kwargs or {})))[0]
