"""Builds the text of one attn-dialect ``func.func``.

The op translations (``attn_opt/ops``) call these helpers; each helper emits
upstream or attn ops on tensors and returns the new value. Every op carries
the location of the user's source line that produced it, so that remarks
(``attn-opt --attn-fuse-attention=remarks=true``) and errors point there.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from .errors import UnsupportedOperationError
from .ir import (BITS, DTYPES, TORCH_DTYPES, Const, Deferred, Pieces, Prepared, Tensor, TensorLike, Value, View, ViewState,
                 dense_literal, dtype_of, fmt_scalar, scalar_constant, is_float, is_int, shape_of, signless, tensor_type)

# Float types PyTorch's CPU kernels compute in f32 (reductions, normalisation,
# activations), rounding only their results.
NARROW_FLOATS = ("f16", "bf16")


_LOCAL_DEF = re.compile(r"^\s*(%[A-Za-z_][A-Za-z0-9_]*)\s*=")
_SSA = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*)\b(?!\.)")


def localize(lines: List[str], block_args: Sequence[str], tag: int) -> List[str]:
    """Renames the SSA values a region defines (its block arguments and the
    results of its ops) to ``%name.tag``: a name with a dot never comes from
    ``Emitter.fresh``, so region-local names cannot collide with the
    function's (a region may not redefine a value it can see).

    Uses are renamed only after the definition, in order: a body may read a
    function value that has the name of one of its own later results (a
    pad's ``%r = arith.select`` after ``tensor.extract %r[...]`` of the
    padded tensor, itself named ``%r``: timm's TNT)."""
    local = {a.lstrip("%") for a in block_args}

    def rename(text: str) -> str:
        return _SSA.sub(lambda m: f"%{m.group(1)}.{tag}" if m.group(1) in local else m.group(0), text)

    out = []
    for line in lines:
        m = _LOCAL_DEF.match(line)
        if not m:
            out.append(rename(line))
            continue
        rhs = rename(line[m.end():])
        local.add(m.group(1).lstrip("%"))
        out.append(rename(line[:m.end()]) + rhs)
    return out


def _mlir_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Emitter:
    """Accumulates the body of ``@forward`` and the arguments it needs."""

    def __init__(self, materialize: Callable[[Any], Tensor]) -> None:
        # Called for a Prepared value (or a large constant) that the IR
        # needs: returns the function argument that carries it.
        self._materialize = materialize
        self.lines: List[str] = []
        self.used_names: set = set()
        self.cache: Dict[int, Tensor] = {}
        # The objects whose id() keys `cache`, kept alive so that an id is
        # never reused by a later, different value.
        self.keep_alive: List[Any] = []
        self.locations: Dict[str, str] = {}
        # How broadcasts and elementwise ops were built, by result name, so
        # that a reshape that splits their dimensions can rebuild them in
        # the new shape (see `_resplit`).
        self.recipes: Dict[str, Tuple[Any, ...]] = {}
        # Multiply-adds of the einsums and attentions emitted (x2 = FLOPs),
        # for the runtime's choice of threads.
        self.flops = 0
        self.loc: Optional[str] = None
        self.op_name = "?"
        self.source: Optional[str] = None

    # -- naming, locations and errors -----------------------------------------

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

    def set_location(self, filename: Optional[str], line: Optional[int], name: Optional[str] = None) -> None:
        """Ops emitted from now on carry ``loc(name(file:line:0))``."""
        if filename is None or line is None:
            self.loc = None
            return
        text = f"{_mlir_string(filename)}:{int(line)}:0"
        if name:
            text = f"{_mlir_string(name)}({text})"
        alias = self.locations.get(text)
        if alias is None:
            alias = f"#loc{len(self.locations)}"
            self.locations[text] = alias
        self.loc = alias

    def error(self, detail: str = "", op: Optional[str] = None) -> UnsupportedOperationError:
        return UnsupportedOperationError(op or self.op_name, self.source, detail)

    def emit(self, line: str) -> None:
        """A line inside the function body (a region's line, or an op that
        needs no location)."""
        self.lines.append("  " + line)

    def op(self, text: str) -> None:
        """One op, possibly with a region over several lines; the location
        goes after its last line."""
        lines = text.split("\n")
        if self.loc is not None:
            lines[-1] += f" loc({self.loc})"
        for line in lines:
            self.emit(line)

    def live_lines(self, roots: Sequence[str]) -> List[str]:
        """The body without the ops nothing uses (rewrites such as moving a
        scale into an einsum leave the first form behind; every op emitted
        here is pure). ``roots`` are the names the function returns."""
        ops: List[List[str]] = []
        for line in self.lines:
            if line.startswith("  %") or not ops:
                ops.append([line])
            else:
                ops[-1].append(line)
        defined = [(_LOCAL_DEF.match(op[0]).group(1) if _LOCAL_DEF.match(op[0]) else None) for op in ops]
        uses: Dict[str, int] = {}
        texts = ["\n".join(op) for op in ops]
        for k, text in enumerate(texts):
            for name in set(re.findall(r"%[A-Za-z_][A-Za-z0-9_]*\b(?!\.)", text)):
                if name != defined[k]:
                    uses[name] = uses.get(name, 0) + 1
        for name in roots:
            uses[name] = uses.get(name, 0) + 1
        alive = [True] * len(ops)
        changed = True
        while changed:
            changed = False
            for k in range(len(ops) - 1, -1, -1):
                if alive[k] and defined[k] is not None and not uses.get(defined[k]):
                    alive[k] = False
                    changed = True
                    for name in set(re.findall(r"%[A-Za-z_][A-Za-z0-9_]*\b(?!\.)", texts[k])):
                        if name != defined[k] and uses.get(name):
                            uses[name] -= 1
        return [line for k, op in enumerate(ops) if alive[k] for line in op]

    # -- constants --------------------------------------------------------------

    def splat(self, value: Any, shape: Sequence[int], dtype: str) -> Tensor:
        name = self.fresh("cst")
        ty = tensor_type(shape, dtype)
        self.op(f"{name} = arith.constant dense<{fmt_scalar(value, dtype)}> : {ty}")
        self.recipes[name] = ("splat", value)
        return Tensor(name, tuple(int(s) for s in shape), dtype)

    def scalar(self, value: Any, dtype: str) -> str:
        name = self.fresh("c")
        self.emit(f"{name} = arith.constant {scalar_constant(value, dtype)}")
        return name

    def constant(self, tensor: torch.Tensor) -> Tensor:
        key = id(tensor)
        if key in self.cache:
            return self.cache[key]
        self.keep_alive.append(tensor)
        t = tensor.detach().cpu()
        if t.dtype not in DTYPES:
            raise self.error(f"a constant of dtype {t.dtype}")
        dtype = DTYPES[t.dtype]
        shape = tuple(int(s) for s in t.shape)
        flat = t.reshape(-1)
        if flat.numel() > 0 and bool((flat == flat[0]).all()) and not (
                t.is_floating_point() and bool(torch.isnan(flat[0]))):
            result = self.splat(flat[0].item(), shape, dtype)
        elif flat.numel() == 0:
            result = self.splat(0, shape, dtype)
        else:
            name = self.fresh("cst")
            self.op(f"{name} = arith.constant dense<{dense_literal(t)}> : {tensor_type(shape, dtype)}")
            self.recipes[name] = ("const", t)
            result = Tensor(name, shape, dtype)
        self.cache[key] = result
        return result

    # -- value access -----------------------------------------------------------

    def tensor(self, value: Value) -> Tensor:
        if isinstance(value, Tensor):
            return value
        if isinstance(value, View):
            key = id(value)
            if key not in self.cache:
                self.cache[key] = self._emit_view(value)
                self.keep_alive.append(value)
            return self.cache[key]
        if isinstance(value, Const):
            return self._materialize(value)
        if isinstance(value, Prepared):
            return self._materialize(value)
        if isinstance(value, Deferred):
            key = id(value)
            if key not in self.cache:
                self.cache[key] = self.tensor(value.build())
                self.keep_alive.append(value)
            return self.cache[key]
        if isinstance(value, Pieces):
            raise self.error("a chunk/split result used as a tensor")
        raise self.error(f"expected a tensor operand, got {type(value).__name__}")

    def _emit_view(self, view: View) -> Tensor:
        if view.state.is_identity():
            return view.base
        pattern, sizes = view.state.pattern()
        name = self.fresh("r")
        attrs = (" {" + ", ".join(f"{k} = {v}" for k, v in sizes.items()) + "}") if sizes else ""
        result = Tensor(name, view.shape, view.dtype)
        self.op(f'{name} = attn.rearrange {view.base.name} "{pattern}"{attrs} : {view.base.type} -> {result.type}')
        return result

    # -- layout -----------------------------------------------------------------

    def view_of(self, value: Value) -> View:
        if isinstance(value, View):
            return View(value.base, value.state.clone(), value.dtype)
        t = self.tensor(value)
        return View(t, ViewState(t.shape), t.dtype)

    def reshape(self, value: Value, shape: Sequence[int]) -> Value:
        shape = [int(s) for s in shape]
        if isinstance(value, Const):
            return Const(value.value.reshape(shape))
        if list(shape_of(value)) == shape:
            return value
        if isinstance(value, Tensor) and value.name in self.recipes:
            rebuilt = self._resplit(value, shape)
            if rebuilt is not None:
                return rebuilt
        if 0 in shape or 0 in shape_of(value):
            # Nothing to move: an empty tensor of the new shape.
            return self.splat(0, shape, dtype_of(value))
        view = self.view_of(value)
        if not view.state.reshape(shape):
            # No single einops pattern: go through the flat tensor.
            flat = self.view_of(value)
            if not flat.state.reshape([int(np.prod(shape_of(value)))]):
                raise self.error(f"reshape {list(shape_of(value))} -> {shape}")
            mid = self.tensor(flat)
            view = self.view_of(mid)
            if not view.state.reshape(shape):
                raise self.error(f"reshape {list(shape_of(value))} -> {shape}")
        return view

    def _resplit(self, value: Value, shape: Sequence[int]) -> Optional[Value]:
        """``value`` rebuilt directly in ``shape``, a split of its own shape,
        when it is built only from broadcasts, constants and elementwise ops
        on them (a mask: nn.MultiheadAttention adds the causal and padding
        masks on merged (batch, head) rows, then views them [B, H, L, S]).
        Then the attention sees ``causal + padding`` in its own layout and
        canonicalisation can split the causal part off. None otherwise."""
        shape = [int(s) for s in shape]
        if not self._can_resplit(value, shape):
            return None
        if isinstance(value, Const):
            return Const(value.value.reshape(shape))
        groups = split_groups(value.shape, shape)
        assert groups is not None
        recipe = self.recipes[value.name]
        if recipe[0] == "splat":
            return self.splat(recipe[1], shape, value.dtype)
        if recipe[0] == "const":
            return Const(recipe[1].reshape(shape))
        if recipe[0] == "broadcast":
            source, added = recipe[1], recipe[2]
            src_shape: List[int] = []
            new_added: List[int] = []
            for j, group in enumerate(groups):
                if j in added:
                    new_added += group
                else:
                    src_shape += [shape[i] for i in group]
            return self.broadcast_into(self.tensor(self.reshape(source, src_shape)), shape, new_added)
        parts = [self._resplit(v, shape) for v in recipe[2:]]
        if recipe[0] == "binary":
            return self.binary(recipe[1], parts[0], parts[1], shape, value.dtype)
        return self.select(parts[0], parts[1], parts[2], shape, value.dtype)

    def _can_resplit(self, value: Value, shape: Sequence[int]) -> bool:
        """Whether `_resplit` succeeds (checked first: it emits as it goes)."""
        if isinstance(value, Const):
            return True
        if not isinstance(value, Tensor) or value.name not in self.recipes:
            return False
        if split_groups(value.shape, shape) is None:
            return False
        recipe = self.recipes[value.name]
        if recipe[0] in ("splat", "const", "broadcast"):
            return True
        return all(self._can_resplit(v, shape) for v in recipe[2:])

    def permute(self, value: Value, perm: Sequence[int]) -> Value:
        if isinstance(value, Deferred) and value.kind.startswith("headmix"):
            from .ops import talking_heads  # the mix stays lazy through permutes
            return talking_heads.permuted(self, value, perm)
        if isinstance(value, Const):
            return Const(value.value.permute(*perm))
        view = self.view_of(value)
        view.state.permute([int(p) for p in perm])
        return view

    def broadcast(self, value: Value, shape: Sequence[int], dtype: Optional[str] = None) -> Tensor:
        """numpy-style broadcast of a tensor, constant or scalar to ``shape``
        (casting to ``dtype`` when given)."""
        shape = tuple(int(s) for s in shape)
        if not isinstance(value, TensorLike):
            assert dtype is not None
            return self.splat(value, shape, dtype)
        if dtype is not None and dtype_of(value) != dtype:
            value = self.cast(value, dtype)
        if isinstance(value, Const) and value.value.numel() == 1:
            return self.splat(value.value.reshape(-1)[0].item(), shape, value.dtype)
        src = shape_of(value)
        if src == shape:
            return self.tensor(value)
        offset = len(shape) - len(src)
        if offset < 0:
            raise self.error(f"cannot broadcast {list(src)} to {list(shape)}")
        kept: List[int] = []
        kept_shape: List[int] = []
        for i, s in enumerate(src):
            target = shape[offset + i]
            if s == target:
                kept.append(offset + i)
                kept_shape.append(s)
            elif s != 1:
                raise self.error(f"cannot broadcast {list(src)} to {list(shape)}")
        if 0 in shape:
            return self.splat(0, shape, dtype_of(value))
        source = self.tensor(self.reshape(value, kept_shape) if tuple(kept_shape) != src else value)
        return self.broadcast_into(source, shape, [d for d in range(len(shape)) if d not in kept])

    def broadcast_into(self, source: Tensor, shape: Sequence[int], added: Sequence[int]) -> Tensor:
        """linalg.broadcast of ``source`` to ``shape``, which has the new
        dimensions ``added`` (source's dims fill the others in order)."""
        shape = tuple(int(s) for s in shape)
        added = sorted(int(d) for d in added)
        if not added:
            return source
        init = self.fresh("init")
        out = Tensor(self.fresh("bcast"), shape, source.dtype)
        self.emit(f"{init} = tensor.empty() : {out.type}")
        self.op(f"{out.name} = linalg.broadcast ins({source.name} : {source.type}) "
                f"outs({init} : {out.type}) dimensions = [{', '.join(map(str, added))}]")
        self.recipes[out.name] = ("broadcast", source, added)
        return out

    def extract_slice(self, x: Value, offsets: Sequence[int], sizes: Sequence[int],
                      strides: Sequence[int]) -> Value:
        if isinstance(x, Const):
            index = tuple(slice(o, o + (n - 1) * s + 1, s) if n else slice(0, 0)
                          for o, n, s in zip(offsets, sizes, strides))
            return Const(x.value[index])
        t = self.tensor(x)
        if tuple(sizes) == t.shape:
            return t
        if 0 in sizes:
            return self.splat(0, sizes, t.dtype)
        out = Tensor(self.fresh("slice"), tuple(int(s) for s in sizes), t.dtype)
        fmt = lambda xs: ", ".join(str(int(v)) for v in xs)  # noqa: E731
        self.op(f"{out.name} = tensor.extract_slice {t.name}[{fmt(offsets)}] [{fmt(sizes)}] [{fmt(strides)}] "
                f": {t.type} to {out.type}")
        return out

    def insert_slice(self, part: Tensor, into: Tensor, offsets: Sequence[int]) -> Tensor:
        """``into`` with ``part`` written at ``offsets`` (unit strides)."""
        out = Tensor(self.fresh("update"), into.shape, into.dtype)
        fmt = lambda xs: ", ".join(str(int(v)) for v in xs)  # noqa: E731
        self.op(f"{out.name} = tensor.insert_slice {part.name} into {into.name}[{fmt(offsets)}] "
                f"[{fmt(part.shape)}] [{fmt([1] * len(part.shape))}] : {part.type} into {into.type}")
        return out

    def slice_dim(self, x: Value, dim: int, start: int, length: int, step: int = 1) -> Value:
        shape = list(shape_of(x))
        offsets = [0] * len(shape)
        strides = [1] * len(shape)
        offsets[dim], strides[dim] = start, step
        shape[dim] = length
        return self.extract_slice(x, offsets, shape, strides)

    # -- casts ------------------------------------------------------------------

    def cast(self, x: Value, dtype: str) -> Value:
        src = dtype_of(x)
        if src == dtype or src is None:
            return x
        if isinstance(x, Const):
            return Const(x.value.to(TORCH_DTYPES[dtype]))
        t = self.tensor(x)
        if dtype == "i1":
            zero = self.splat(0, t.shape, src)
            return self.compare("ne", t, zero, t.shape)
        if src == "i1":
            return self.select(t, 1, 0, t.shape, dtype)
        out = Tensor(self.fresh("cast"), t.shape, dtype)
        if is_float(src) and is_float(dtype):
            op = "arith.extf" if BITS[dtype] > BITS[src] else "arith.truncf"
            if BITS[dtype] == BITS[src]:  # f16 <-> bf16: through f32
                return self.cast(self.cast(t, "f32"), dtype)
        elif is_int(src) and is_float(dtype):
            op = "arith.uitofp" if src == "ui8" else "arith.sitofp"
        elif is_float(src) and is_int(dtype):
            op = "arith.fptoui" if dtype == "ui8" else "arith.fptosi"
        elif is_int(src) and is_int(dtype):
            if BITS[src] == BITS[dtype]:
                return Tensor(t.name, t.shape, dtype)  # i8 <-> ui8: the same bits
            op = "arith.trunci" if BITS[dtype] < BITS[src] else ("arith.extui" if src == "ui8" else "arith.extsi")
        else:
            raise self.error(f"a conversion from {src} to {dtype}")
        self.op(f"{out.name} = {op} {t.name} : {t.type} to {out.type}")
        return out

    # -- elementwise ------------------------------------------------------------

    def binary(self, op: str, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        name = self.fresh("t")
        ty = tensor_type(shape, dtype)
        self.op(f"{name} = {op} {ta.name}, {tb.name} : {ty}")
        self.recipes[name] = ("binary", op, ta, tb)
        return Tensor(name, tuple(int(s) for s in shape), dtype)

    _FLOAT_OPS = {"add": "arith.addf", "sub": "arith.subf", "mul": "arith.mulf", "div": "arith.divf",
                  "max": "arith.maximumf", "min": "arith.minimumf", "pow": "math.powf", "rem": "arith.remf"}
    _INT_OPS = {"add": "arith.addi", "sub": "arith.subi", "mul": "arith.muli", "max": "arith.maxsi",
                "min": "arith.minsi", "floordiv": "arith.floordivsi", "rem": "arith.remsi", "and": "arith.andi",
                "or": "arith.ori", "xor": "arith.xori"}

    def arith(self, kind: str, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Value:
        """``a <kind> b`` elementwise in ``dtype`` (operands are converted)."""
        if is_float(dtype):
            op = self._FLOAT_OPS.get(kind)
        elif dtype == "i1":
            op = {"and": "arith.andi", "or": "arith.ori", "xor": "arith.xori", "add": "arith.ori",
                  "mul": "arith.andi", "max": "arith.ori", "min": "arith.andi"}.get(kind)
        else:
            op = self._INT_OPS.get(kind)
        if op is None:
            raise self.error(f"'{kind}' on {dtype} tensors")
        if isinstance(a, Const) and isinstance(b, Const):
            raise AssertionError("constant operands are folded before emission")
        pulled = self.binary_through_view(op, a, b, shape, dtype)
        if pulled is not None:
            return pulled
        return self.binary(op, a, b, shape, dtype)

    def in_base_layout(self, operands: Sequence[Value], shape: Sequence[int],
                       dtype: Optional[str]) -> Optional[Tuple[List[Value], List[int]]]:
        """An elementwise op on ``view(x)`` whose view only regroups x's
        dimensions (splits or merges, no permutation) is computed in x's
        shape, the other operands reshaped alike, and its result is a lazy
        view of that. Swin adds its mask to ``attn.view(B, nW, nH, n, n)``,
        d2l masks the scores of ``bmm`` as a 2-D view; computed in place,
        the view back composes away and the scores stay one chain from the
        product to the softmax. Returns the operands in the base layout and
        that layout, or None."""
        shape = [int(s) for s in shape]
        for k, view in enumerate(operands):
            if not isinstance(view, View) or list(view.shape) != shape or not view.state.preserves_order():
                continue
            base = [int(s) for s in view.base.shape]
            if base == shape or 0 in base:
                continue
            if view.state.only_unit_dims() and len(base) > len(shape):
                # A squeeze: compute in the squeezed shape, which is the
                # form the additive-score recogniser expects.
                continue
            if sum(1 for d in base if d == 1) > sum(1 for d in shape if d == 1):
                # Unit dims the view drops (d2l's squeezed additive scores,
                # merged into 2-D rows): compute without them.
                base = [d for d in base if d != 1]
                if base == shape:
                    continue
            groups = split_groups(base, shape)
            out: List[Value] = []
            for j, other in enumerate(operands):
                if j == k:
                    out.append(self.reshape(view, base))
                    continue
                if not isinstance(other, TensorLike):
                    out.append(other)
                    continue
                src = list(shape_of(other))
                if len(src) > len(shape):
                    return None
                odt = dtype if dtype is not None and dtype_of(other) != "i1" else dtype_of(other)
                if groups is None:
                    # Merged dimensions: the other operand at full size first.
                    if src != shape:
                        other = self.broadcast(other, shape, odt)
                    out.append(self.reshape(other, base))
                    continue
                aligned = [1] * (len(shape) - len(src)) + src
                target, other_base = list(aligned), []
                for g, group in enumerate(groups):
                    if all(aligned[i] == 1 for i in group):
                        other_base.append(1)
                        continue
                    for i in group:
                        target[i] = shape[i]
                    other_base.append(base[g])
                if target != aligned:
                    if isinstance(other, Const):
                        other = Const(other.value.reshape(aligned).expand(target).contiguous())
                    else:
                        other = self.broadcast(other, target, odt)
                out.append(self.reshape(other, other_base))
            return out, base
        return None

    def binary_through_view(self, op: str, a: Value, b: Value, shape: Sequence[int],
                            dtype: str) -> Optional[Value]:
        regrouped = self.in_base_layout([a, b], shape, dtype)
        if regrouped is None:
            return None
        (x, y), base = regrouped
        return self.reshape(self.binary(op, x, y, base, dtype), shape)

    def _through_views(self, value: Value, fn: Callable[[Tensor], Tensor]) -> Value:
        """``fn`` (elementwise, one operand) applied to a view's base, the
        result viewed the same way: a chain of elementwise ops on a permuted
        or reshaped tensor stays lazy and is laid out once."""
        if isinstance(value, View) and not value.state.is_identity() and not value.state.only_unit_dims():
            out = fn(value.base)
            return View(out, value.state.clone(), out.dtype)
        return fn(self.tensor(value))

    def unary(self, op: str, a: Value) -> Value:
        def emit(t: Tensor) -> Tensor:
            name = self.fresh("t")
            self.op(f"{name} = {op} {t.name} : {t.type}")
            return Tensor(name, t.shape, t.dtype)
        return self._through_views(a, emit)

    def compare(self, kind: str, a: Value, b: Value, shape: Sequence[int], dtype: Optional[str] = None,
                regroup: bool = True) -> Value:
        """``a <kind> b`` (eq, ne, lt, le, gt, ge) after promoting both to
        ``dtype`` (torch's result type of the two)."""
        dtype = dtype or dtype_of(a) or dtype_of(b)
        regrouped = self.in_base_layout([a, b], shape, dtype) if regroup else None
        if regrouped is not None:
            (x, y), base = regrouped
            return self.reshape(self.compare(kind, x, y, base, dtype, regroup=False), shape)
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        if is_float(dtype):
            op = "arith.cmpf " + {"eq": "oeq", "ne": "une", "lt": "olt", "le": "ole", "gt": "ogt",
                                  "ge": "oge"}[kind]
        else:
            u = "u" if dtype in ("ui8", "i1") else "s"
            op = "arith.cmpi " + {"eq": "eq", "ne": "ne", "lt": f"{u}lt", "le": f"{u}le", "gt": f"{u}gt",
                                  "ge": f"{u}ge"}[kind]
        name = self.fresh("cmp")
        self.op(f"{name} = {op}, {ta.name}, {tb.name} : {ta.type}")
        return Tensor(name, tuple(int(s) for s in shape), "i1")

    def select(self, cond: Value, a: Value, b: Value, shape: Sequence[int], dtype: str,
               regroup: bool = True) -> Value:
        regrouped = self.in_base_layout([cond, a, b], shape, None) if regroup else None
        if regrouped is not None:
            (c, x, y), base = regrouped
            return self.reshape(self.select(c, x, y, base, dtype, regroup=False), shape)
        c = self.broadcast(self.cast(cond, "i1") if isinstance(cond, TensorLike) else cond, shape, "i1")
        ta = self.broadcast(a, shape, dtype)
        tb = self.broadcast(b, shape, dtype)
        name = self.fresh("sel")
        ty = tensor_type(shape, dtype)
        self.op(f"{name} = arith.select {c.name}, {ta.name}, {tb.name} : {c.type}, {ty}")
        self.recipes[name] = ("select", None, c, ta, tb)
        return Tensor(name, tuple(int(s) for s in shape), dtype)

    def _in_f32(self, t: Tensor, compute: Callable[[Value], Value]) -> Value:
        """``compute`` of an f16/bf16 ``t`` done in f32 and rounded once to
        t's dtype, as PyTorch's CPU kernels do (sums, means, activations)."""
        return self.cast(compute(self.cast(t, "f32")), t.dtype)

    def sigmoid(self, x: Value) -> Value:
        t = self.tensor(x)
        if t.dtype in NARROW_FLOATS:
            return self._in_f32(t, self.sigmoid)
        e = self.unary("math.exp", self.unary("arith.negf", t))
        return self.arith("div", 1.0, self.arith("add", e, 1.0, t.shape, t.dtype), t.shape, t.dtype)

    def gelu(self, x: Value, approximate: str) -> Value:
        t = self.tensor(x)
        if t.dtype in NARROW_FLOATS:
            return self._in_f32(t, lambda w: self.gelu(w, approximate))
        shape, dtype = t.shape, t.dtype
        half = self.arith("mul", t, 0.5, shape, dtype)
        if approximate == "tanh":
            x3 = self.arith("mul", self.arith("mul", t, t, shape, dtype), t, shape, dtype)
            inner = self.arith("add", t, self.arith("mul", x3, 0.044715, shape, dtype), shape, dtype)
            inner = self.arith("mul", inner, math.sqrt(2.0 / math.pi), shape, dtype)
            core = self.unary("math.tanh", inner)
        elif approximate == "none":
            core = self.unary("math.erf", self.arith("mul", t, 1.0 / math.sqrt(2.0), shape, dtype))
        else:
            raise self.error(f"gelu approximate={approximate!r}")
        return self.arith("mul", half, self.arith("add", core, 1.0, shape, dtype), shape, dtype)

    # -- reductions -------------------------------------------------------------

    def reduce(self, kind: str, value: Value, dims: Sequence[int], keepdim: bool = False) -> Value:
        """sum/max/min over ``dims``; ``keepdim`` keeps them as size 1."""
        t = self.tensor(value)
        if kind == "sum" and t.dtype in NARROW_FLOATS and dims:
            return self._in_f32(t, lambda w: self.reduce(kind, w, dims, keepdim))
        rank = len(t.shape)
        dims = sorted({int(d) % rank for d in dims}) if rank else []
        out_shape = tuple(s for i, s in enumerate(t.shape) if i not in dims)
        if not dims:
            result: Value = t
        else:
            out_type = tensor_type(out_shape, t.dtype)
            if kind == "sum":
                init_value: Any = 0
                combine = "arith.addf" if is_float(t.dtype) else "arith.addi"
            elif kind in ("max", "min"):
                if is_float(t.dtype):
                    init_value = float("-inf") if kind == "max" else float("inf")
                    combine = "arith.maximumf" if kind == "max" else "arith.minimumf"
                else:
                    info = torch.iinfo(TORCH_DTYPES[t.dtype]) if t.dtype != "i1" else None
                    init_value = (info.min if kind == "max" else info.max) if info else (kind == "min")
                    combine = {"max": "arith.maxsi", "min": "arith.minsi"}[kind] if t.dtype != "i1" else (
                        "arith.ori" if kind == "max" else "arith.andi")
            elif kind in ("any", "all"):
                init_value = kind == "all"
                combine = "arith.ori" if kind == "any" else "arith.andi"
            else:
                raise self.error(f"reduction {kind}")
            init = self.fresh("init")
            fill = self.fresh("fill")
            zero = self.scalar(init_value, t.dtype)
            self.emit(f"{init} = tensor.empty() : {out_type}")
            self.emit(f"{fill} = linalg.fill ins({zero} : {signless(t.dtype)}) outs({init} : {out_type}) "
                      f"-> {out_type}")
            name = self.fresh(kind)
            el = signless(t.dtype)
            region = localize([f"  (%in: {el}, %acc: {el}) {{", f"    %s = {combine} %in, %acc : {el}",
                               f"    linalg.yield %s : {el}"], ["%in", "%acc"], len(self.lines))
            self.op(f"{name} = linalg.reduce ins({t.name} : {t.type}) outs({fill} : {out_type}) "
                    f"dimensions = [{', '.join(map(str, dims))}]\n" + "\n".join(region) + "\n  }")
            result = Tensor(name, out_shape, t.dtype)
        if keepdim and dims:
            result = self.reshape(result, [1 if i in dims else s for i, s in enumerate(t.shape)])
        return result

    def mean(self, value: Value, dims: Sequence[int], keepdim: bool = False) -> Value:
        t = self.tensor(value)
        rank = len(t.shape)
        dims = sorted({int(d) % rank for d in dims}) if rank else []
        count = int(np.prod([t.shape[d] for d in dims])) if dims else 1
        if t.dtype in NARROW_FLOATS and dims:
            return self._in_f32(t, lambda w: self.mean(w, dims, keepdim))
        total = self.reduce("sum", t, dims, keepdim)
        return self.arith("mul", total, 1.0 / count if count else float("nan"), shape_of(total), t.dtype)

    def keepdim_broadcast(self, reduced: Value, dims: Sequence[int], shape: Sequence[int]) -> Tensor:
        """Broadcasts a reduction (dims removed) back to ``shape``."""
        t = self.tensor(reduced)
        init = self.fresh("init")
        out = Tensor(self.fresh("bcast"), tuple(shape), t.dtype)
        self.emit(f"{init} = tensor.empty() : {out.type}")
        self.op(f"{out.name} = linalg.broadcast ins({t.name} : {t.type}) "
                f"outs({init} : {out.type}) dimensions = [{', '.join(map(str, sorted(dims)))}]")
        return out

    def softmax(self, x: Value, dim: int) -> Value:
        """attn.softmax along ``dim``. On a view whose ``dim`` is one whole
        dimension of its base (d2l's scores, masked as a 2-D view of a
        merged (batch, head) bmm), it runs on the base along that
        dimension and the result is the same view."""
        if isinstance(x, View) and not x.state.is_identity() and not x.state.only_unit_dims():
            rank = len(x.shape)
            group = [a for a in x.state.dims[int(dim) % rank] if x.state.sizes[a] != 1]
            for j, axes in enumerate(x.state.inputs):
                real = [a for a in axes if x.state.sizes[a] != 1]
                if group and real == group and len(group) == 1:
                    out = self.softmax(x.base, j)
                    return View(self.tensor(out), x.state.clone(), x.dtype)
        t = self.tensor(x)
        name = self.fresh("softmax")
        self.op(f"{name} = attn.softmax {t.name} axis({int(dim)}) : {t.type}")
        self.recipes[name] = ("softmax", t, int(dim))
        return Tensor(name, t.shape, t.dtype)

    def log_softmax(self, x: Value, dim: int) -> Value:
        """x - max - log(sum(exp(x - max))) along ``dim``."""
        t = self.tensor(x)
        d = int(dim) % len(t.shape)
        m = self.keepdim_broadcast(self.reduce("max", t, [d]), [d], t.shape)
        shifted = self.arith("sub", t, m, t.shape, t.dtype)
        total = self.reduce("sum", self.unary("math.exp", shifted), [d])
        log = self.keepdim_broadcast(self.unary("math.log", total), [d], t.shape)
        return self.arith("sub", shifted, log, t.shape, t.dtype)

    def normalize(self, x: Value, dims: Sequence[int], eps: float, subtract_mean: bool = True) -> Tensor:
        """(x - mean) / sqrt(var + eps) over ``dims`` (biased variance), or
        x / sqrt(mean(x²) + eps) without ``subtract_mean`` (RMSNorm). f16/bf16
        inputs are normalised in f32 and the result stays f32: callers
        apply the affine part in f32 and round once, as PyTorch's CPU
        kernels do (bf16 statistics of 768 values are off by percents)."""
        t = self.tensor(x)
        if t.dtype in NARROW_FLOATS:
            t = self.tensor(self.cast(t, "f32"))
        rank = len(t.shape)
        dims = sorted({int(d) % rank for d in dims})
        if subtract_mean:
            mean = self.keepdim_broadcast(self.mean(t, dims), dims, t.shape)
            centred = self.tensor(self.arith("sub", t, mean, t.shape, t.dtype))
        else:
            centred = t
        var = self.mean(self.arith("mul", centred, centred, t.shape, t.dtype), dims)
        rstd = self.unary("math.rsqrt", self.arith("add", var, eps, shape_of(var), t.dtype))
        return self.tensor(self.arith("mul", centred, self.keepdim_broadcast(rstd, dims, t.shape), t.shape,
                                      t.dtype))

    # -- contractions -------------------------------------------------------------

    def einsum(self, equation: str, operands: Sequence[Value], shape: Sequence[int], dtype: str,
               scale: Optional[float] = None) -> Tensor:
        ts = [self.tensor(o) for o in operands]
        terms = _einsum_terms(equation)
        if terms is not None:
            sizes: Dict[str, int] = {}
            for labels, t in zip(terms[0], ts):
                sizes.update(zip(labels, t.shape))
            self.flops += 2 * int(np.prod(list(sizes.values()) or [1]))
        name = self.fresh("e")
        ty = tensor_type(shape, dtype)
        attr = f" scale({scale:.9e})" if scale is not None else ""
        self.op(f'{name} = attn.einsum "{equation}" ({", ".join(t.name for t in ts)}){attr} '
                f': ({", ".join(t.type for t in ts)}) -> {ty}')
        if len(operands) == 2:
            self.recipes[name] = ("einsum", equation, list(operands), scale)
        return Tensor(name, tuple(int(s) for s in shape), dtype)

    def scaled_einsum(self, kind: str, product: Value, factor: Value, dtype: str) -> Optional[Value]:
        """``einsum(a, b) * t`` (or ``/ t``) with a computed factor ``t`` that
        varies only along labels of ``a`` (a learnt temperature per head, or
        one scalar: XCiT, ViT for small datasets) is ``einsum(a * t, b)``:
        an einsum is linear in each operand. So the scores stay a plain
        Q Kᵀ the attention recogniser can fuse. A number becomes the einsum's
        scale."""
        if not isinstance(product, Tensor) or self.recipes.get(product.name, ("",))[0] != "einsum" \
                or kind not in ("mul", "div"):
            return None
        _, equation, operands, scale = self.recipes[product.name]
        if isinstance(factor, (int, float)) and not isinstance(factor, bool) and factor != 0:
            # A number: the einsum's own scale (what canonicalisation does
            # with a splat), so later rewrites still see the einsum.
            c = float(factor) if kind == "mul" else 1.0 / float(factor)
            return self.einsum(equation, operands, product.shape, dtype, scale=(scale or 1.0) * c)
        if not isinstance(factor, TensorLike) or isinstance(factor, Const) or scale is not None:
            return None
        terms = _einsum_terms(equation)
        if terms is None:
            return None
        inputs, output = terms
        fshape = list(shape_of(factor))
        if len(fshape) > len(output):
            return None
        aligned = [1] * (len(output) - len(fshape)) + fshape
        needed = {output[d] for d, n in enumerate(aligned) if n != 1}
        for k, labels in enumerate(inputs):
            if not needed <= set(labels):
                continue
            # The factor in operand k's layout: its sizes on k's labels that
            # the output keeps, 1 elsewhere.
            order = [output.index(l) for l in labels if l in output]
            f = self.reshape(factor, aligned)
            f = self.permute(f, order + [d for d in range(len(output)) if d not in order])
            f = self.reshape(f, [aligned[output.index(l)] if l in output else 1 for l in labels])
            new = list(operands)
            new[k] = self.arith(kind, operands[k], f, shape_of(operands[k]), dtype)
            return self.einsum(equation, new, product.shape, dtype)
        return None

    def matmul(self, a: Value, b: Value, shape: Sequence[int], dtype: str) -> Tensor:
        """torch.matmul semantics (1-D operands, broadcast batch dims) as one
        einsum with explicit labels, so transposed operands fold into it."""
        sa, sb = shape_of(a), shape_of(b)
        if not sa or not sb:
            raise self.error("matmul of a 0-d tensor")
        if 2 <= len(sa) < len(sb):
            # A matrix on the left of a batch (learnt queries against the
            # tokens: ViT's patch merger, attention pooling) is broadcast
            # over the batch: its rows are queries of every batch element,
            # and Q Kᵀ then has the batch axes the attention recogniser
            # needs. (A weight is on the right, x @ W, and never copied.)
            a = self.broadcast(a, list(sb[:-2]) + list(sa[-2:]))
            sa = shape_of(a)
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
            own_tail = list(shape_of(value)[len(own):])
            if len(keep_shape) != len(own):
                value = self.reshape(value, keep_shape + own_tail)
            terms.append(labels + tail)
            values.append(value)
        out = batch_names + (["i"] if len(sa) >= 2 else []) + (["j"] if len(sb) >= 2 else [])
        # A batch dim of size 1 in both: einsum needs the output label too.
        equation = ", ".join(" ".join(t) for t in terms) + " -> " + " ".join(out)
        return self.einsum(equation, values, shape, dtype)

    def linear(self, x: Value, weight: Value, bias: Optional[Value], shape: Sequence[int], dtype: str,
               weight_transposed: bool = False) -> Value:
        """``x @ W^T + b``; with ``weight_transposed`` the operand is W^T
        ([in, out], as the load step prepares parameters), so the product
        reads its rows in place."""
        rank = len(shape_of(x))
        lead = {1: [], 2: ["n"], 3: ["b", "n"], 4: ["b", "p", "n"]}.get(rank, [f"a{i}" for i in range(rank - 1)])
        if len(shape_of(weight)) != 2:
            raise self.error("linear with a weight that is not 2-D")
        w = "i o" if weight_transposed else "o i"
        equation = f"{' '.join(lead + ['i'])}, {w} -> {' '.join(lead + ['o'])}"
        y: Value = self.einsum(equation, [x, weight], shape, dtype)
        if bias is not None:
            y = self.arith("add", y, bias, shape, dtype)
        return y

    def linear_panels(self, x: Value, panels: Value, bias: Optional[Value], shape: Sequence[int],
                      dtype: str) -> Value:
        """``x @ W^T + b`` with W^T prepared as column panels [P, in, C]
        (out = P·C), or as panels of row pairs [P, in / 2, C, 2] (then x is
        read as [..., in / 2, 2], a view): one einsum into [..., P, C], then
        the merge back to [..., out], which moves nothing."""
        rank = len(shape_of(x))
        lead = [f"a{i}" for i in range(rank - 1)]
        if len(shape_of(panels)) == 4:
            p, half, c, _ = shape_of(panels)
            x = self.reshape(x, list(shape_of(x)[:-1]) + [half, 2])
            equation = f"{' '.join(lead + ['i', 'e'])}, p i c e -> {' '.join(lead + ['p', 'c'])}"
        else:
            p, _, c = shape_of(panels)
            equation = f"{' '.join(lead + ['i'])}, p i c -> {' '.join(lead + ['p', 'c'])}"
        y = self.einsum(equation, [x, panels], list(shape[:-1]) + [p, c], dtype)
        merged: Value = self.tensor(self.reshape(y, shape))
        if bias is not None:
            merged = self.arith("add", merged, bias, shape, dtype)
        return merged

    def attention(self, q: Value, k: Value, v: Value, mask: Optional[Value], scale: float, causal: bool,
                  shape: Sequence[int], dtype: str, maps: Optional[Sequence[str]] = None) -> Tensor:
        """One ``attn.attention`` (the fused form, destination-style: the
        output is written into a ``tensor.empty``; canonicalisation turns a
        constant causal mask into the causal flag and a constant band mask
        into ``window``). Operands are ``[B..., S, D]`` (the op's default
        indexing maps) unless ``maps`` (q, k, v, [mask,] out affine maps) are
        given; a mask dimension of size 1 broadcasts."""
        tq, tk, tv = self.tensor(q), self.tensor(k), self.tensor(v)
        self.flops += 2 * int(np.prod(tq.shape[:-1])) * int(tk.shape[-2]) * (int(tq.shape[-1]) + int(tv.shape[-1]))
        mask_text = ""
        if mask is not None:
            tm = self.tensor(mask)
            mask_text = f" mask({tm.name} : {tm.type})"
        name = self.fresh("attn")
        out = Tensor(name, tuple(int(s) for s in shape), dtype)
        init = self.fresh("init")
        self.emit(f"{init} = tensor.empty() : {out.type}")
        self.op(f"{name} = attn.attention ins({tq.name}, {tk.name}, {tv.name} : {tq.type}, {tk.type}, {tv.type})"
                f"{mask_text} outs({init} : {out.type}) scale({scale:.9e}){' causal' if causal else ''}"
                + (f" {{indexing_maps = [{', '.join(maps)}]}}" if maps else "")
                + f" -> {out.type}")
        return out

    # -- generics -----------------------------------------------------------------

    def index_generic(self, prefix: str, shape: Sequence[int], dtype: str, body: Sequence[str],
                      result: str, ins: Sequence[Tensor] = ()) -> Tensor:
        """A linalg.generic writing a new ``shape`` tensor: its block has
        ``%i<d> = linalg.index d`` for every dimension (and ``%in<k>`` for
        each of ``ins``, read at the same index), then the ``body`` lines,
        then yields ``result``."""
        rank = len(shape)
        init = self.fresh("init")
        out = Tensor(self.fresh(prefix), tuple(int(s) for s in shape), dtype)
        self.emit(f"{init} = tensor.empty() : {out.type}")
        dims = ", ".join(f"d{i}" for i in range(rank))
        ident = f"affine_map<({dims}) -> ({dims})>"
        maps = ", ".join([ident] * (len(ins) + 1))
        iterators = ", ".join(['"parallel"'] * rank)
        ins_text = ""
        if ins:
            ins_text = f"ins({', '.join(t.name for t in ins)} : {', '.join(t.type for t in ins)}) "
        lines = [f"{out.name} = linalg.generic {{indexing_maps = [{maps}], iterator_types = [{iterators}]}} "
                 f"{ins_text}outs({init} : {out.type}) {{"]
        args = "".join(f"%in{k}: {signless(t.dtype)}, " for k, t in enumerate(ins))
        region = [f"^bb0({args}%out: {signless(dtype)}):"]
        region += [f"  %i{i} = linalg.index {i} : index" for i in range(rank)]
        region += ["  " + line for line in body]
        region.append(f"  linalg.yield {result} : {signless(dtype)}")
        block_args = [f"%in{k}" for k in range(len(ins))] + ["%out"]
        lines += localize(region, block_args, len(self.lines))
        lines.append(f"}} -> {out.type}")
        self.op("\n".join(lines))
        return out

    def gather(self, x: Value, shape: Sequence[int], remap: Dict[int, List[str]],
               valid: Optional[List[str]] = None, fill: Any = 0, preamble: Sequence[str] = (),
               dims: Optional[Sequence[str]] = None) -> Tensor:
        """A ``shape`` tensor read from ``x`` at the result's own index
        (``%i<d>``) except along the dimensions ``d`` in ``remap``, whose
        lines compute ``%j<d>`` instead (after the ``preamble`` lines); where
        the ``valid`` conditions do not all hold, ``fill``. ``dims`` gives the
        index names of x's dimensions when x's rank differs."""
        t = self.tensor(x)
        body = list(preamble) + [line for d in sorted(remap) for line in remap[d]]
        names = list(dims) if dims is not None else [f"%j{d}" if d in remap else f"%i{d}"
                                                      for d in range(len(t.shape))]
        body.append(f"%v = tensor.extract {t.name}[{', '.join(names)}] : {t.type}")
        result = "%v"
        if valid:
            body.append(f"%fill = arith.constant {scalar_constant(fill, t.dtype)}")
            cond = valid[0]
            for k, c in enumerate(valid[1:]):
                body.append(f"%all{k} = arith.andi {cond}, {c} : i1")
                cond = f"%all{k}"
            body.append(f"%r = arith.select {cond}, %v, %fill : {signless(t.dtype)}")
            result = "%r"
        return self.index_generic("gather", shape, t.dtype, body, result)

    def concat(self, values: List[Value], dim: int, shape: Sequence[int], dtype: str) -> Value:
        """torch.cat as each operand inserted (``tensor.insert_slice``) at its
        offset along ``dim`` into one ``tensor.empty`` of the result: every
        part is one vectorised copy into the result's buffer (a strided one
        through attn-lower-strided-copies, so ahead-of-time libraries need no
        ``memrefCopy``). A generic over the result that picked each element
        from the operand covering its index (``tensor.extract`` at a clamped
        index, chosen by ``arith.select``) stayed a scalar loop: Swin's patch
        merging, the cat of four strided slices, took 0.7% of swin_t."""
        rank = len(shape)
        dim = int(dim) % rank
        parts = [self.tensor(self.cast(v, dtype)) for v in values]
        parts = [t for t in parts if t.shape and t.shape[dim] > 0]
        if not parts:
            return self.splat(0, shape, dtype)
        if len(parts) == 1:
            return parts[0]
        ty = tensor_type(shape, dtype)
        empty = self.fresh("cat")
        self.op(f"{empty} = tensor.empty() : {ty}")
        out = Tensor(empty, tuple(int(n) for n in shape), dtype)
        offset = 0
        for t in parts:
            out = self.insert_slice(t, out, [offset if i == dim else 0 for i in range(rank)])
            offset += t.shape[dim]
        return out

    def take(self, table: Value, index: Value, dim: int, shape: Sequence[int]) -> Tensor:
        """``table`` indexed along ``dim`` by the integer tensor ``index``:
        result[..., i_0..i_k, ...] = table[..., index[i_0..i_k], ...]
        (embedding, index_select, advanced indexing on one dimension).
        Negative indices count from the end, as in PyTorch."""
        t = self.tensor(table)
        idx = self.tensor(self.cast(index, "i64") if dtype_of(index) not in ("i64", "i32") else index)
        k = len(idx.shape)
        rank = len(t.shape)
        body = [f"%n = arith.constant {t.shape[dim]} : index"]
        # Result dims: table's dims before `dim`, then index's dims, then the rest.
        idx_names = ", ".join(f"%i{dim + a}" for a in range(k))
        body.append(f"%raw = tensor.extract {idx.name}[{idx_names}] : {idx.type}")
        body.append(f"%pos = arith.index_cast %raw : {signless(idx.dtype)} to index")
        body.append("%zero = arith.constant 0 : index")
        body.append("%neg = arith.cmpi slt, %pos, %zero : index")
        body.append("%wrapped = arith.addi %pos, %n : index")
        body.append("%j = arith.select %neg, %wrapped, %pos : index")
        names = [f"%i{d}" for d in range(dim)] + ["%j"] + [f"%i{d + k - 1}" for d in range(dim + 1, rank)]
        body.append(f"%v = tensor.extract {t.name}[{', '.join(names)}] : {t.type}")
        return self.index_generic("take", shape, t.dtype, body, "%v")


def _einsum_terms(equation: str) -> Optional[Tuple[List[List[str]], List[str]]]:
    """The labels of each operand and of the result (no ellipsis)."""
    if "..." in equation or "->" not in equation:
        return None
    lhs, rhs = equation.split("->")

    def labels(term: str) -> List[str]:
        term = term.strip()
        return term.split() if " " in term else list(term)
    return [labels(t) for t in lhs.split(",")], labels(rhs)


def split_groups(base: Sequence[int], shape: Sequence[int]) -> Optional[List[List[int]]]:
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
    owner = 0
    for i, size in enumerate(shape):
        if size != 1:
            owner = next(k for k, g in enumerate(groups) if i in g)
        elif i not in groups[owner]:
            groups[owner].append(i)
    groups = [sorted(g) for g in groups]
    flat = [i for g in groups for i in g]
    return groups if flat == sorted(flat) else None
