"""Views, slicing, concatenation, padding and other layout ops.

Reshapes and permutes stay lazy (``View``): a chain of them becomes one
``attn.rearrange`` where a tensor is needed, and permutes feeding an einsum
fold into its equation during canonicalisation.
"""

from __future__ import annotations

from typing import Any, List

import numpy as np
import torch

from ..ir import Const, Tensor, TensorLike, scalar_constant, shape_of, signless, tensor_type
from . import aten
from .common import dims, pieces


@aten("view", "_unsafe_view", "reshape", "_reshape_alias", "view_copy", "unsqueeze", "squeeze", "flatten",
      "unflatten", "view_as", "reshape_as", "_reshape_copy")
def reshape(tx, self, **_):
    return tx.e.reshape(self, tx.shape)


@aten("alias", "clone", "contiguous", "detach", "lift_fresh_copy", "lift_fresh", "positive", "resolve_conj",
      "resolve_neg", "_conj", "alias_copy", "detach_copy")
def identity(tx, self, **_):
    return self


@aten("permute", "permute_copy")
def permute(tx, self, dims: List[int], **_):
    rank = len(shape_of(self))
    return tx.e.permute(self, [int(d) % rank for d in dims])


@aten("transpose", "swapaxes", "swapdims", "transpose_copy")
def transpose(tx, self, dim0=None, dim1=None, axis0=None, axis1=None, **_):
    rank = len(shape_of(self))
    a = int(dim0 if dim0 is not None else axis0) % rank
    b = int(dim1 if dim1 is not None else axis1) % rank
    perm = list(range(rank))
    perm[a], perm[b] = perm[b], perm[a]
    return tx.e.permute(self, perm)


@aten("t", "numpy_T", "t_copy")
def t(tx, self, **_):
    rank = len(shape_of(self))
    return tx.e.permute(self, list(range(rank))[::-1])


@aten("movedim", "moveaxis")
def movedim(tx, self, source, destination, **_):
    rank = len(shape_of(self))
    src = dims(source, rank)
    dst = dims(destination, rank)
    rest = [d for d in range(rank) if d not in src]
    perm = [-1] * rank
    for s, d in zip(src, dst):
        perm[d] = s
    it = iter(rest)
    return tx.e.permute(self, [p if p >= 0 else next(it) for p in perm])


@aten("expand", "expand_as", "broadcast_to", "expand_copy")
def expand(tx, self, **_):
    return tx.e.broadcast(self, tx.shape)


@aten("copy")
def copy(tx, self, src, non_blocking=False, **_):
    """The functional form of ``self.copy_(src)`` (slice assignment after
    functionalisation, as in MViTv2's relative position terms): ``src``
    broadcast to ``self``'s shape in ``self``'s dtype; self's values are
    overwritten."""
    e = tx.e
    shape, dtype = tx.meta()
    return e.broadcast(src, shape, dtype)


@aten("repeat")
def repeat(tx, self, repeats, **_):
    """x.repeat(r0, r1, ...): broadcast each dim d to (r_d, n_d), then merge."""
    e = tx.e
    src = list(shape_of(self))
    reps = [int(r) for r in repeats]
    src = [1] * (len(reps) - len(src)) + src
    interleaved_src, interleaved = [], []
    for r, n in zip(reps, src):
        interleaved_src += [1, n]
        interleaved += [r, n]
    x = e.reshape(self, interleaved_src)
    return e.reshape(e.broadcast(x, interleaved), tx.shape)


@aten("repeat_interleave")
def repeat_interleave(tx, self, repeats=None, dim=None, output_size=None, **_):
    """Each element repeated ``repeats`` times along ``dim`` (a constant
    count): broadcast to (n, r) and merge. Per-element counts must be
    constants (the result's size depends on them)."""
    e = tx.e
    if isinstance(repeats, TensorLike) and not isinstance(repeats, Const):
        raise tx.error("repeat counts that are computed at run time")
    if isinstance(repeats, Const):
        counts = repeats.value.reshape(-1).tolist()
        if len(set(counts)) != 1:
            index = Const(torch.repeat_interleave(
                torch.arange(len(counts)), repeats.value.reshape(-1)))
            from .indexing import take_along
            d = 0 if dim is None else int(dim) % len(shape_of(self))
            x = self if dim is not None else e.reshape(self, [int(np.prod(shape_of(self)))])
            return take_along(tx, x, d, index)
        repeats = counts[0]
    r = int(repeats)
    src = list(shape_of(self))
    if dim is None:
        src = [int(np.prod(src))]
        x = e.reshape(self, src)
        d = 0
    else:
        d = int(dim) % len(src)
        x = self
    split = src[:d + 1] + [1] + src[d + 1:]
    target = src[:d + 1] + [r] + src[d + 1:]
    return e.reshape(e.broadcast(e.reshape(x, split), target), tx.shape)


@aten("select", "select_copy")
def select(tx, self, dim, index, **_):
    e = tx.e
    shape = list(shape_of(self))
    d = int(dim) % len(shape)
    i = int(index) % shape[d] if shape[d] else 0
    piece = e.slice_dim(self, d, i, 1)
    return e.reshape(piece, shape[:d] + shape[d + 1:])


@aten("slice", "slice_copy")
def slice_(tx, self, dim=0, start=None, end=None, step=1, **_):
    e = tx.e
    shape = list(shape_of(self))
    d = int(dim) % len(shape)
    begin, stop, stride = slice(start, end, step).indices(shape[d])
    if stride <= 0:
        raise tx.error("a slice step that is not positive")
    length = max(0, -(-(stop - begin) // stride))
    return e.slice_dim(self, d, begin, length, stride)


@aten("narrow", "narrow_copy")
def narrow(tx, self, dim, start, length, **_):
    shape = list(shape_of(self))
    d = int(dim) % len(shape)
    return tx.e.slice_dim(self, d, int(start) % shape[d] if shape[d] else 0, int(length))


@aten("split", "split_with_sizes", "split_copy", "split_with_sizes_copy", "unsafe_split")
def split(tx, self, split_size=None, dim=0, split_sizes=None, **_):
    shape = shape_of(self)
    d = int(dim) % len(shape)
    size = shape[d]
    spec = split_sizes if split_sizes is not None else split_size
    if isinstance(spec, int):
        lengths = [min(spec, size - i) for i in range(0, size, spec)] if size else [0]
    else:
        lengths = [int(s) for s in spec]
    return pieces(self, d, lengths)


@aten("chunk")
def chunk(tx, self, chunks, dim=0, **_):
    shape = shape_of(self)
    d = int(dim) % len(shape)
    size = shape[d]
    step = -(-size // int(chunks)) if size else 1
    lengths = [min(step, size - i) for i in range(0, size, step)] or [0]
    return pieces(self, d, lengths)


@aten("unbind", "unbind_copy")
def unbind(tx, self, dim=0, **_):
    shape = shape_of(self)
    d = int(dim) % len(shape)
    return pieces(self, d, [1] * shape[d], drop_dim=True)


@aten("cat", "concat", "concatenate")
def cat(tx, tensors, dim=0, **_):
    shape, dtype = tx.meta()
    return tx.e.concat(list(tensors), dim, shape, dtype)


@aten("stack")
def stack(tx, tensors, dim=0, **_):
    e = tx.e
    shape, dtype = tx.meta()
    d = int(dim) % len(shape)
    parts = [e.reshape(t, shape[:d] + (1,) + shape[d + 1:]) for t in tensors]
    return e.concat(parts, d, shape, dtype)


@aten("constant_pad_nd")
def constant_pad_nd(tx, self, pad, value=0, **_):
    return pad_constant(tx, self, [int(p) for p in pad], value or 0)


@aten("pad")
def pad(tx, self, pad, mode="constant", value=None, **_):
    if mode != "constant":
        raise tx.error(f"padding mode {mode!r}")
    return pad_constant(tx, self, [int(p) for p in pad], value or 0)


def pad_constant(tx, x, pads: List[int], value: Any):
    """F.pad with a constant: ``pads`` holds (before, after) pairs from the
    last dimension backwards; negative pads crop. Zero pads are the input."""
    e = tx.e
    if not any(pads):
        return x
    src = list(shape_of(x))
    rank = len(src)
    before = [0] * rank
    after = [0] * rank
    for k in range(len(pads) // 2):
        before[rank - 1 - k] = pads[2 * k]
        after[rank - 1 - k] = pads[2 * k + 1]
    # Negative pads crop first (a slice), then only positive pads remain.
    if any(p < 0 for p in before + after):
        offsets = [max(0, -b) for b in before]
        sizes = [n + min(0, b) + min(0, a) for n, b, a in zip(src, before, after)]
        x = e.extract_slice(x, offsets, sizes, [1] * rank)
        src = sizes
        before = [max(0, b) for b in before]
        after = [max(0, a) for a in after]
        if not any(before + after):
            return x
    out_shape = [n + b + a for n, b, a in zip(src, before, after)]
    # A fill of the padded shape with x inserted: both vectorise (a
    # [1, 64, 56, 56] input padded by one: 36 us on one thread, where the
    # gather that picked each element or the fill took 510 us).
    t = e.tensor(x)
    ty = tensor_type(out_shape, t.dtype)
    empty, filled = e.fresh("init"), e.fresh("padfill")
    e.op(f"{empty} = tensor.empty() : {ty}")
    e.op(f"{filled} = linalg.fill ins({e.scalar(value, t.dtype)} : {signless(t.dtype)}) "
         f"outs({empty} : {ty}) -> {ty}")
    return e.insert_slice(t, Tensor(filled, tuple(out_shape), t.dtype), before)


@aten("roll")
def roll(tx, self, shifts, dims=(), **_):
    """torch.roll: out[i] = x[(i - shift) mod n] (Swin's cyclic shift)."""
    e = tx.e
    src = shape_of(self)
    rank = len(src)
    shifts = [int(s) for s in (shifts if isinstance(shifts, (list, tuple)) else [shifts])]
    dims_ = [int(d) for d in (dims if isinstance(dims, (list, tuple)) else [dims])]
    if not dims_:
        flat = e.reshape(self, [int(np.prod(src))])
        rolled = _roll(tx, flat, {0: shifts[0]}, (int(np.prod(src)),))
        return e.reshape(rolled, src)
    return _roll(tx, self, {d % rank: s for s, d in zip(shifts, dims_)}, src)


def _roll(tx, x, shift_of, shape):
    remap = {}
    for d, shift in shift_of.items():
        n = shape[d]
        shift = shift % n if n else 0
        if shift:
            remap[d] = [f"%off{d} = arith.constant {n - shift} : index",
                        f"%n{d} = arith.constant {n} : index",
                        f"%s{d} = arith.addi %i{d}, %off{d} : index",
                        f"%w{d} = arith.cmpi sge, %s{d}, %n{d} : index",
                        f"%m{d} = arith.subi %s{d}, %n{d} : index",
                        f"%j{d} = arith.select %w{d}, %m{d}, %s{d} : index"]
    if not remap:
        return x
    return tx.e.gather(x, shape, remap)


@aten("flip")
def flip(tx, self, dims, **_):
    src = shape_of(self)
    remap = {d: [f"%last{d} = arith.constant {src[d] - 1} : index", f"%j{d} = arith.subi %last{d}, %i{d} : index"]
             for d in sorted({int(d) % len(src) for d in dims})}
    return tx.e.gather(self, src, remap)


@aten("as_strided", "as_strided_copy")
def as_strided(tx, self, size, stride, storage_offset=None, **_):
    """Only the restride PyTorch applies to keep a memory format (the pooled
    [B, C, 1, 1] after Swin's mean): same sizes, and every dimension longer
    than 1 has the stride of a contiguous tensor of those sizes."""
    src = list(shape_of(self))
    size, stride = [int(v) for v in size], [int(v) for v in stride]
    contiguous, acc = [0] * len(src), 1
    for d in range(len(src) - 1, -1, -1):
        contiguous[d] = acc
        acc *= src[d]
    if size == src and storage_offset in (None, 0) and all(
            n == 1 or st == c for n, st, c in zip(size, stride, contiguous)):
        return self
    raise tx.error("as_strided other than a restride of the same elements")


@aten("tril", "triu")
def tril(tx, self, diagonal=0, **_):
    """tril/triu of a computed tensor: a select on the index comparison."""
    e = tx.e
    shape, dtype = tx.meta()
    t = e.tensor(self)
    rank = len(shape)
    lower = tx.node.target._schema.name.endswith("tril")
    cmp = "sle" if lower else "sge"
    el = signless(dtype)
    body = [f"%k = arith.constant {int(diagonal)} : index",
            f"%lim = arith.addi %i{rank - 2}, %k : index",
            f"%keep = arith.cmpi {cmp}, %i{rank - 1}, %lim : index",
            f"%zero = arith.constant {scalar_constant(0, dtype)}",
            f"%r = arith.select %keep, %in0, %zero : {el}"]
    return e.index_generic("tri", shape, dtype, body, "%r", ins=[t])


@aten("_assert_tensor_metadata", "_assert_scalar", "_assert_async", "sym_constrain_range_for_size",
      "sym_constrain_range", "_functional_assert_async", "_functional_sym_constrain_range")
def assertion(tx, **_):
    """Checks torch.export records about shapes and dtypes: the static types
    of the IR already guarantee them."""
    return None
