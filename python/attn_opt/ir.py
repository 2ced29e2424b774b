"""The values the translator passes around, and MLIR text formatting.

A translated graph node is one of:

* ``Tensor``: an SSA value of the emitted function;
* ``View``: a lazy chain of reshapes and permutes of a ``Tensor`` (one
  ``attn.rearrange`` when something needs it as a tensor, so that chains of
  ``view``/``permute``/``transpose`` collapse into one einops pattern and
  permutes feeding an einsum fold into its equation);
* ``Const``: a tensor known at compile time (buffers, lifted constants and
  what is computed from them), embedded in the IR where it is used;
* ``Prepared``: a tensor computed from the parameters only (a weight, its
  transpose, a relative-position table gathered by a constant index). Its
  value changes with ``load_state_dict``, so it is never embedded: where the
  IR needs it, it becomes an argument of the compiled function, computed by
  PyTorch at load time (``translate.Lowered.prepare``);
* ``Pieces``: the lazy result of ``split``/``chunk``/``unbind``;
* plain Python values (ints, floats, lists, ``None``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

# torch dtype -> MLIR element type.
DTYPES: Dict[torch.dtype, str] = {
    torch.float32: "f32",
    torch.float64: "f64",
    torch.float16: "f16",
    torch.bfloat16: "bf16",
    torch.bool: "i1",
    torch.int64: "i64",
    torch.int32: "i32",
    torch.int16: "i16",
    torch.int8: "i8",
    torch.uint8: "ui8",
}
TORCH_DTYPES: Dict[str, torch.dtype] = {v: k for k, v in DTYPES.items()}
FLOAT_TYPES = ("f32", "f64", "f16", "bf16")
INT_TYPES = ("i64", "i32", "i16", "i8", "ui8")
BITS = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64, "i1": 1, "i8": 8, "ui8": 8, "i16": 16, "i32": 32,
        "i64": 64}


def is_float(dtype: Optional[str]) -> bool:
    return dtype in FLOAT_TYPES


def is_int(dtype: Optional[str]) -> bool:
    return dtype in INT_TYPES


def signless(dtype: str) -> str:
    """The element type as MLIR's arith ops see it (ui8 is stored as i8)."""
    return "i8" if dtype == "ui8" else dtype


def tensor_type(shape: Sequence[int], dtype: str) -> str:
    dims = "".join(f"{int(s)}x" for s in shape)
    return f"tensor<{dims}{signless(dtype)}>"


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
    """A tensor known at compile time."""

    value: torch.Tensor

    @property
    def shape(self) -> Tuple[int, ...]:
        return tuple(self.value.shape)

    @property
    def dtype(self) -> str:
        return DTYPES[self.value.dtype]


@dataclass
class Prepared:
    """A tensor computed by PyTorch from the parameters at load time: the
    value of graph node ``node``, then the ``post`` ops applied in order
    (``(aten_op, extra_args)``: the load step can also transpose a weight
    into the layout the compiled code reads best)."""

    node: Any
    shape: Tuple[int, ...]
    dtype: str
    post: Tuple[Tuple[Any, Tuple[Any, ...]], ...] = ()

    def then(self, op: Any, *args: Any) -> "Prepared":
        """This value with ``op(value, *args)`` applied at load time."""
        import torch  # local: ir has no torch dependency at import otherwise
        fake = torch.empty(self.shape, dtype=TORCH_DTYPES[self.dtype], device="meta")
        out = op(fake, *args)
        return Prepared(self.node, tuple(int(s) for s in out.shape), DTYPES[out.dtype],
                        self.post + ((op, tuple(args)),))


class ViewState:
    """A chain of reshapes and permutes as elementary axes (einops style).

    ``inputs[i]`` lists the elementary axes of input dimension ``i`` in
    row-major order; ``dims`` the elementary axes of each current dimension.
    """

    def __init__(self, shape: Sequence[int]) -> None:
        self.sizes: Dict[int, int] = {i: int(s) for i, s in enumerate(shape)}
        self.inputs: List[List[int]] = [[i] for i in range(len(shape))]
        self.dims: List[List[int]] = [[i] for i in range(len(shape))]
        self.next_id = len(shape)

    def clone(self) -> "ViewState":
        other = ViewState(())
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
        """Applies a row-major reshape; False when einops cannot express it
        (or a dimension is empty: einops cannot split a zero-size axis)."""
        if any(int(s) == 0 for s in shape) or any(v == 0 for v in self.sizes.values()):
            return False
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

    def only_unit_dims(self) -> bool:
        """Whether the view only adds or removes unit dimensions (a squeeze
        or unsqueeze: free to lay out, and the form recognisers expect)."""
        return self.preserves_order() and [s for s in self.shape if s != 1] == [
            int(np.prod([self.sizes[a] for a in g], dtype=np.int64)) for g in self.inputs
            if int(np.prod([self.sizes[a] for a in g], dtype=np.int64)) != 1]

    def is_identity(self) -> bool:
        lhs, rhs = self.pattern()[0].split(" -> ")
        return lhs == rhs


@dataclass
class View:
    """A lazy chain of reshapes/permutes of ``base``; one attn.rearrange."""

    base: Tensor
    state: ViewState
    dtype: str

    @property
    def shape(self) -> Tuple[int, ...]:
        return self.state.shape


@dataclass
class Pieces:
    """The lazy result of split/chunk/unbind: slices along ``dim``."""

    base: Any
    dim: int
    offsets: List[int]
    lengths: List[int]
    drop_dim: bool = False


@dataclass
class Deferred:
    """A tensor emitted only when something needs it as such. A consumer
    that knows ``kind`` may use ``parts`` instead: the talking-heads mix of
    attention probabilities (CaiT) is folded into the P·V that follows."""

    kind: str
    shape: Tuple[int, ...]
    dtype: str
    parts: Dict[str, Any]
    build: Any  # () -> Value


@dataclass
class Unavailable:
    """A secondary result nothing may use (native_layer_norm's mean/rstd)."""

    what: str


Value = Union[Tensor, View, Const, Prepared, Pieces, Unavailable, Any]
TensorLike = (Tensor, View, Const, Prepared, Deferred)


def shape_of(value: Value) -> Tuple[int, ...]:
    if isinstance(value, TensorLike):
        return tuple(int(s) for s in value.shape)
    return ()


def dtype_of(value: Value) -> Optional[str]:
    if isinstance(value, TensorLike):
        return value.dtype
    return None


# -- literals -----------------------------------------------------------------


def fmt_float(value: float, dtype: str) -> str:
    value = float(value)
    if math.isfinite(value):
        if dtype == "f64":
            return f"{value:.17e}"
        return f"{value:.9e}"
    if dtype == "bf16":
        word = np.array([value], dtype="<f4").view("<u4")[0] >> 16
        return f"0x{int(word):04X}"
    np_type, digits = {"f32": ("<f4", 8), "f64": ("<f8", 16), "f16": ("<f2", 4)}[dtype]
    word = np.array([value], dtype=np_type).view(f"<u{np.dtype(np_type).itemsize}")[0]
    return f"0x{int(word):0{digits}X}"


def fmt_scalar(value: Any, dtype: str) -> str:
    if dtype == "i1":
        return "true" if bool(value) else "false"
    if is_float(dtype):
        return fmt_float(float(value), dtype)
    return str(int(value))


def scalar_constant(value: Any, dtype: str) -> str:
    """The operand text of a scalar ``arith.constant``: ``1.5 : f32``.
    (``true : i1`` does not parse, a bool attribute takes no type: i1 is
    written as an integer.)"""
    text = str(int(bool(value))) if dtype == "i1" else fmt_scalar(value, dtype)
    return f"{text} : {signless(dtype)}"


def dense_literal(tensor: torch.Tensor) -> str:
    """The body of ``dense<...>`` for a non-splat tensor: little-endian hex."""
    t = tensor.detach().cpu().contiguous()
    if t.dtype == torch.bool:
        # i1 elements are bit-packed, least significant bit first.
        raw = np.packbits(t.numpy().reshape(-1), bitorder="little").tobytes()
    elif t.dtype == torch.bfloat16:
        raw = t.view(torch.int16).numpy().astype("<i2").tobytes()
    else:
        a = t.numpy()
        raw = a.astype(a.dtype.newbyteorder("<")).tobytes()
    return f'"0x{raw.hex().upper()}"'


@dataclass
class FuncArg:
    """One argument of the emitted function: a user input (``index`` into the
    flat user inputs) or a prepared tensor (``node`` in the prepare graph)."""

    kind: str  # "input" or "prepared"
    name: str
    shape: Tuple[int, ...]
    dtype: str
    index: int = -1
    node: Any = None
    extra: Dict[str, Any] = field(default_factory=dict)
