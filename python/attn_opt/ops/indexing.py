"""Gathers and scatters: advanced indexing, index_select, gather, index_put,
slice_scatter.

Reads become a ``linalg.generic`` over the result that computes each source
index and ``tensor.extract``s it. Writes (``index_put``, ``x[mask] = v``) are
computed functionally: a boolean mask is a select; integer positions known
at compile time are inverted here into "which value lands at each output
element".
"""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch

from ..ir import Const, TensorLike, dtype_of, is_float, scalar_constant, shape_of, signless
from . import aten


def take_along(tx, x, dim: int, index):
    """x indexed along ``dim`` by a 1-D (or any-rank) integer tensor."""
    xs = list(shape_of(x))
    shape = xs[:dim] + list(shape_of(index)) + xs[dim + 1:]
    return tx.e.take(x, index, dim, shape)


@aten("index_select")
def index_select(tx, self, dim, index, **_):
    d = int(dim) % len(shape_of(self))
    if len(shape_of(index)) > 1:  # PyTorch reads any index as its flat list
        index = tx.e.reshape(index, [int(np.prod(shape_of(index)))])
    return tx.e.take(self, index, d, tx.shape)


def _index_line(body: List[str], e, idx, names: List[str], n: int, tag: str) -> str:
    """Appends the lines reading one index (wrapped if negative); returns
    the index value's name."""
    body.append(f"%raw{tag} = tensor.extract {idx.name}[{', '.join(names)}] : {idx.type}")
    body.append(f"%pos{tag} = arith.index_cast %raw{tag} : {signless(idx.dtype)} to index")
    body.append(f"%n{tag} = arith.constant {n} : index")
    body.append(f"%neg{tag} = arith.cmpi slt, %pos{tag}, %zero : index")
    body.append(f"%wr{tag} = arith.addi %pos{tag}, %n{tag} : index")
    body.append(f"%j{tag} = arith.select %neg{tag}, %wr{tag}, %pos{tag} : index")
    return f"%j{tag}"


@aten("index")
def index(tx, self, indices, **_):
    """Advanced indexing ``x[i0, :, i2]`` with integer (or constant boolean)
    index tensors: they broadcast together to a shape B; B replaces the
    indexed dimensions in place when they are adjacent, else goes first."""
    e = tx.e
    shape, dtype = tx.meta()
    xs = list(shape_of(self))
    items: List[Optional[object]] = list(indices) + [None] * (len(xs) - len(indices))
    # Constant boolean masks are their nonzero() positions.
    expanded: List[Optional[object]] = []
    for item in items:
        if isinstance(item, Const) and item.value.dtype == torch.bool:
            for coords in item.value.nonzero(as_tuple=True):
                expanded.append(Const(coords))
        elif isinstance(item, TensorLike) and dtype_of(item) == "i1":
            raise tx.error("boolean-mask indexing whose mask is computed at run time (its result size "
                           "depends on the data; use torch.where)")
        else:
            expanded.append(item)
    items = expanded + [None] * (len(xs) - len(expanded))
    positions = [d for d, it in enumerate(items) if it is not None]
    bshape = list(torch.broadcast_shapes(*[tuple(shape_of(items[d])) for d in positions]))
    adjacent = positions == list(range(positions[0], positions[-1] + 1))
    start = positions[0] if adjacent else 0
    # Result dims: names of each result index.
    nb = len(bshape)
    body = ["%zero = arith.constant 0 : index"]
    bnames = [f"%i{start + k}" for k in range(nb)]
    src_names: List[str] = []
    batch_dims = range(start, start + nb)
    other_iter = iter([r for r in range(len(shape)) if r not in batch_dims])
    for d in range(len(xs)):
        if items[d] is None:
            src_names.append(f"%i{next(other_iter)}")
            continue
        idx = e.tensor(e.broadcast(e.cast(items[d], "i64") if dtype_of(items[d]) not in ("i64", "i32")
                                   else items[d], bshape))
        src_names.append(_index_line(body, e, idx, bnames, xs[d], str(d)))
    t = e.tensor(self)
    body.append(f"%v = tensor.extract {t.name}[{', '.join(src_names)}] : {t.type}")
    return e.index_generic("index", shape, dtype, body, "%v")


@aten("gather")
def gather(tx, self, dim, index, sparse_grad=False, **_):
    """out[i..] = self[i.. with dim replaced by index[i..]]."""
    e = tx.e
    shape, dtype = tx.meta()
    rank = len(shape)
    d = int(dim) % rank
    idx = e.tensor(index)
    body = ["%zero = arith.constant 0 : index"]
    j = _index_line(body, e, idx, [f"%i{k}" for k in range(rank)], shape_of(self)[d], "g")
    t = e.tensor(self)
    names = [j if k == d else f"%i{k}" for k in range(rank)]
    body.append(f"%v = tensor.extract {t.name}[{', '.join(names)}] : {t.type}")
    return e.index_generic("gather", shape, dtype, body, "%v")


@aten("index_put")
def index_put(tx, self, indices, values, accumulate=False, **_):
    """``x[mask] = v`` and ``x[idx] = v`` computed functionally."""
    e = tx.e
    shape, dtype = tx.meta()
    items = [i for i in indices]
    if len(items) == 1 and isinstance(items[0], TensorLike) and dtype_of(items[0]) == "i1":
        mask = items[0]
        ms = list(shape_of(mask))
        if ms != list(shape[:len(ms)]):
            raise tx.error("a boolean index whose shape is not a prefix of the tensor's")
        if accumulate:
            raise tx.error("index_put with accumulate=True and a boolean mask")
        full_mask = e.reshape(mask, ms + [1] * (len(shape) - len(ms)))
        vs = shape_of(values)
        if isinstance(values, TensorLike) and int(np.prod(vs)) > 1 and list(vs) != list(shape[len(ms):]) \
                and list(vs) != [1] * len(vs):
            raise tx.error("x[mask] = values with one value per selected element (the count depends on "
                           "the data)")
        return e.select(full_mask, values, self, shape, dtype)
    if all(isinstance(i, Const) or i is None for i in items):
        return _scatter_static(tx, self, items, values, accumulate, shape, dtype)
    raise tx.error("index_put at positions computed at run time")


def _scatter_static(tx, self, items, values, accumulate, shape, dtype):
    """x[idx...] = values with constant idx: invert the mapping here. For
    every output element, the flat position in the (broadcast) values that
    lands there last, or -1."""
    e = tx.e
    if accumulate:
        return _scatter_add_static(tx, self, items, values, shape, dtype)
    probe = torch.full(tuple(shape), -1, dtype=torch.int64)
    index = [i.value if isinstance(i, Const) else slice(None) for i in items]
    count = probe[tuple(index)].numel()
    probe[tuple(index)] = torch.arange(count, dtype=torch.int64).reshape(probe[tuple(index)].shape)
    vshape = list(probe[tuple(index)].shape)
    flat_values = e.reshape(e.broadcast(values, vshape, dtype), [count])
    where = Const(probe)
    t = e.tensor(self)
    src = e.tensor(flat_values)
    w = e.constant(where.value)
    body = ["%zero = arith.constant 0 : i64"]
    body += _lookup(w, [f"%i{k}" for k in range(len(shape))], src, lambda at: [at], "%in0", dtype)
    return e.index_generic("scatter", shape, dtype, body, "%r", ins=[t])


def _lookup(table, table_ix, src, src_ix, fallback, dtype, tag=""):
    """Body lines of an inverted constant scatter: ``%r<tag>`` is ``src``
    at the position ``table`` holds at ``table_ix`` (``src_ix(position)``
    gives src's indices), or ``fallback`` where that is -1. Needs ``%zero``
    (i64 0) defined before."""
    return [f"%pos{tag} = tensor.extract {table.name}[{', '.join(table_ix)}] : {table.type}",
            f"%hit{tag} = arith.cmpi sge, %pos{tag}, %zero : i64",
            f"%safe{tag} = arith.select %hit{tag}, %pos{tag}, %zero : i64",
            f"%at{tag} = arith.index_cast %safe{tag} : i64 to index",
            f"%nv{tag} = tensor.extract {src.name}[{', '.join(src_ix(f'%at{tag}'))}] : {src.type}",
            f"%r{tag} = arith.select %hit{tag}, %nv{tag}, {fallback} : {signless(dtype)}"]


def _scatter_add_static(tx, self, items, values, shape, dtype):
    """``x.index_put_(idx, values, accumulate=True)`` with constant index
    tensors on consecutive dimensions (what F.fold / col2im decomposes to:
    VOLO's outlook attention): several values can land on one element. The
    mapping is inverted here over the indexed dimensions only (the ``:``
    dimensions before and after them are carried through): for every output position, the
    flat positions of the values that land there, in increasing order (the
    order PyTorch adds them in), padded with -1 to the largest count K. The
    generic then adds K gathered values to each element."""
    e = tx.e
    lead = 0
    while lead < len(items) and items[lead] is None:
        lead += 1
    index = items[lead:]
    if not index or not all(isinstance(i, Const) for i in index):
        raise tx.error("index_put with accumulate=True other than constant indices on consecutive dimensions")
    end = lead + len(index)
    tshape = [int(n) for n in shape[lead:end]]
    rest = [int(n) for n in shape[end:]]
    idx = torch.broadcast_tensors(*[i.value.to(torch.int64) for i in index])
    bshape = list(idx[0].shape)
    count = int(np.prod(bshape)) if bshape else 1
    flat = torch.zeros(count, dtype=torch.int64)
    for d, t in enumerate(idx):
        size = tshape[d]
        t = t.reshape(-1)
        if bool(((t < -size) | (t >= size)).any()):
            raise tx.error("index_put with an index out of range")
        flat = flat * size + torch.remainder(t, size)
    order = torch.argsort(flat, stable=True)
    hits = torch.bincount(flat, minlength=int(np.prod(tshape)))
    k = int(hits.max()) if count else 0
    vshape = list(shape[:lead]) + bshape + rest
    t = e.tensor(self)
    if k == 0:
        return t
    # rank of each value among those landing on the same element
    starts = torch.cumsum(hits, 0) - hits
    sorted_targets = flat[order]
    rank = torch.arange(count) - starts[sorted_targets]
    table = torch.full((k, int(np.prod(tshape))), -1, dtype=torch.int64)
    table[rank, sorted_targets] = order
    table = table.reshape([k] + tshape)
    src = e.tensor(e.reshape(e.broadcast(values, vshape, dtype), list(shape[:lead]) + [count] + rest))
    w = e.constant(table)
    add = "arith.addf" if is_float(dtype) else "arith.addi"
    body = ["%zero = arith.constant 0 : i64", f"%none = arith.constant {scalar_constant(0, dtype)}"]
    acc = "%in0"
    lead_ix = [f"%i{d}" for d in range(lead)]
    trail_ix = [f"%i{d}" for d in range(lead, end)]
    rest_ix = [f"%i{d}" for d in range(end, len(shape))]
    for m in range(k):
        body.append(f"%m{m} = arith.constant {m} : index")
        body += _lookup(w, [f"%m{m}"] + trail_ix, src, lambda at: lead_ix + [at] + rest_ix, "%none", dtype,
                        tag=str(m))
        body.append(f"%acc{m} = {add} {acc}, %r{m} : {signless(dtype)}")
        acc = f"%acc{m}"
    return e.index_generic("scatter_add", shape, dtype, body, acc, ins=[t])


@aten("slice_scatter")
def slice_scatter(tx, self, src, dim=0, start=None, end=None, step=1, **_):
    """self with self[..., start:end:step, ...] = src."""
    e = tx.e
    shape, dtype = tx.meta()
    d = int(dim) % len(shape)
    begin, stop, stride = slice(start, end, step).indices(shape[d])
    length = shape_of(src)[d]
    t = e.tensor(self)
    s = e.tensor(e.cast(src, dtype))
    if stride == 1 and length > 0:
        # tensor.insert_slice, which attn-fold-slice-updates can read as an
        # update (x[1:, 1:] = x[1:, 1:] + d is x + pad(d)).
        return e.insert_slice(s, t, [begin if k == d else 0 for k in range(len(shape))])
    body = [f"%b = arith.constant {begin} : index",
            f"%st = arith.constant {stride} : index",
            f"%len = arith.constant {length} : index",
            "%zero = arith.constant 0 : index",
            f"%rel = arith.subi %i{d}, %b : index",
            "%q = arith.divsi %rel, %st : index",
            "%back = arith.muli %q, %st : index",
            "%exact = arith.cmpi eq, %back, %rel : index",
            "%ge = arith.cmpi sge, %rel, %zero : index",
            "%lt = arith.cmpi slt, %q, %len : index",
            "%in1 = arith.andi %ge, %lt : i1",
            "%hit = arith.andi %in1, %exact : i1",
            "%qc = arith.maxsi %q, %zero : index",
            f"%last = arith.constant {max(length - 1, 0)} : index",
            "%qs = arith.minsi %qc, %last : index"]
    names = ["%qs" if k == d else f"%i{k}" for k in range(len(shape))]
    if length == 0:
        return t
    body.append(f"%nv = tensor.extract {s.name}[{', '.join(names)}] : {s.type}")
    body.append(f"%r = arith.select %hit, %nv, %in0 : {signless(dtype)}")
    return e.index_generic("scatter", shape, dtype, body, "%r", ins=[t])


@aten("select_scatter")
def select_scatter(tx, self, src, dim, index, **_):
    e = tx.e
    shape, dtype = tx.meta()
    d = int(dim) % len(shape)
    i = int(index) % shape[d]
    expanded = e.reshape(src, list(shape[:d]) + [1] + list(shape[d + 1:]))
    return slice_scatter(tx, self, expanded, d, i, i + 1, 1)


@aten("fill")
def fill(tx, self, value, **_):
    shape, dtype = tx.meta()
    if isinstance(value, TensorLike) and not isinstance(value, Const):
        return tx.e.broadcast(value, shape, dtype)
    v = value.value.item() if isinstance(value, Const) else value
    return tx.e.splat(v, shape, dtype)
