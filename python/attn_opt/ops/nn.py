"""Normalisation, dropout, convolution, pooling and embedding."""

from __future__ import annotations

from typing import List, Sequence

import numpy as np

from ..emitter import localize
from ..ir import Const, Prepared, Tensor, Unavailable, dtype_of, is_float, shape_of, signless
from . import aten
from .shape import pad_constant


# -- normalisation ------------------------------------------------------------------


def _affine(tx, y, weight, bias, shape, dtype, channel_dim=None):
    """y * weight + bias, weight/bias broadcast along the trailing dims (or
    along ``channel_dim`` for group/batch norm). A normalised f16/bf16 ``y``
    arrives in f32 (``normalize``): the affine part stays in f32 and the
    result is rounded to ``dtype`` once."""
    e = tx.e
    out_dtype, dtype = dtype, dtype_of(y) or dtype
    rank = len(shape)
    for value, kind in ((weight, "mul"), (bias, "add")):
        if value is None:
            continue
        if channel_dim is not None:
            value = e.reshape(value, [shape[channel_dim]] + [1] * (rank - channel_dim - 1))
        y = e.arith(kind, y, value, shape, dtype)
    return e.cast(y, out_dtype)


@aten("layer_norm")
def layer_norm(tx, input, normalized_shape, weight=None, bias=None, eps=1e-5, **_):
    e = tx.e
    shape, dtype = tx.meta()
    k = len(normalized_shape)
    x = e.cast(input, dtype)
    y = e.normalize(x, list(range(len(shape) - k, len(shape))), float(eps))
    return _affine(tx, y, weight, bias, shape, dtype)


@aten("native_layer_norm")
def native_layer_norm(tx, input, normalized_shape, weight=None, bias=None, eps=1e-5, **_):
    shape, dtype = tx.meta(0)
    e = tx.e
    k = len(normalized_shape)
    y = e.normalize(input, list(range(len(shape) - k, len(shape))), float(eps))
    return (_affine(tx, y, weight, bias, shape, dtype), Unavailable("layer_norm's mean"),
            Unavailable("layer_norm's rstd"))


@aten("rms_norm")
def rms_norm(tx, input, normalized_shape, weight=None, eps=None, **_):
    import torch
    e = tx.e
    shape, dtype = tx.meta()
    k = len(normalized_shape)
    if eps is None:
        eps = torch.finfo({"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                           "bf16": torch.bfloat16}[dtype]).eps
    y = e.normalize(e.cast(input, dtype), list(range(len(shape) - k, len(shape))), float(eps),
                    subtract_mean=False)
    return _affine(tx, y, weight, None, shape, dtype)


def _group_norm(tx, input, groups, weight, bias, eps, shape, dtype):
    e = tx.e
    n, c = shape[0], shape[1]
    rest = list(shape[2:])
    grouped = e.reshape(input, [n, int(groups), c // int(groups)] + rest)
    y = e.normalize(grouped, list(range(2, 3 + len(rest))), float(eps))
    y = e.reshape(y, shape)
    return _affine(tx, y, weight, bias, shape, dtype, channel_dim=1)


@aten("group_norm")
def group_norm(tx, input, num_groups, weight=None, bias=None, eps=1e-5, **_):
    shape, dtype = tx.meta()
    return _group_norm(tx, input, num_groups, weight, bias, eps, shape, dtype)


@aten("native_group_norm")
def native_group_norm(tx, input, weight, bias, N, C, HxW, group, eps, **_):
    shape, dtype = tx.meta(0)
    return (_group_norm(tx, input, group, weight, bias, eps, shape, dtype), Unavailable("group_norm's mean"),
            Unavailable("group_norm's rstd"))


@aten("_native_batch_norm_legit_no_training")
def batch_norm_inference(tx, input, weight, bias, running_mean, running_var, momentum, eps, **_):
    """Inference BatchNorm: (x - mean) * rsqrt(var + eps) * weight + bias,
    per channel (dim 1)."""
    e = tx.e
    shape, dtype = tx.meta(0)
    rank = len(shape)
    c = shape[1]

    def per_channel(v):
        return e.reshape(v, [c] + [1] * (rank - 2))

    centred = e.arith("sub", input, per_channel(running_mean), shape, dtype)
    rstd = e.unary("math.rsqrt", e.arith("add", e.tensor(running_var), float(eps), (c,), dtype))
    y = e.arith("mul", centred, per_channel(rstd), shape, dtype)
    y = _affine(tx, y, weight, bias, shape, dtype, channel_dim=1)
    return (y, Unavailable("batch_norm's saved mean"), Unavailable("batch_norm's saved rstd"))


@aten("_native_batch_norm_legit", "native_batch_norm", "_native_batch_norm_legit_functional")
def batch_norm_training(tx, input, weight, bias, running_mean=None, running_var=None, training=True,
                        momentum=0.1, eps=1e-5, **_):
    if training or running_mean is None:
        raise tx.error("batch norm in training mode (call module.eval())")
    return batch_norm_inference(tx, input, weight, bias, running_mean, running_var, momentum, eps)


@aten("dropout", "feature_dropout", "alpha_dropout", "feature_alpha_dropout", "native_dropout")
def dropout(tx, input, p=0.5, train=None, **_):
    if train and p > 0:
        raise tx.error("dropout with train=True (call module.eval())")
    if tx.node.target._schema.name.endswith("native_dropout"):
        return (input, Unavailable("the dropout mask"))
    return input


# -- convolution and pooling ------------------------------------------------------


def _patches(tx, x, kernel: Sequence[int], stride: Sequence[int], dilation: Sequence[int],
             out_spatial: Sequence[int]):
    """im2col as a gather: x [N, C, S...] -> [N, C, K..., O...] with
    patch[n, c, k.., o..] = x[n, c, o*stride + k*dilation ...]."""
    e = tx.e
    shape = shape_of(x)
    nd = len(kernel)
    out_shape = list(shape[:2]) + list(kernel) + list(out_spatial)
    body = []
    names = ["%i0", "%i1"]
    for s in range(nd):
        k_idx, o_idx = f"%i{2 + s}", f"%i{2 + nd + s}"
        body += [f"%st{s} = arith.constant {int(stride[s])} : index",
                 f"%dl{s} = arith.constant {int(dilation[s])} : index",
                 f"%os{s} = arith.muli {o_idx}, %st{s} : index",
                 f"%ks{s} = arith.muli {k_idx}, %dl{s} : index",
                 f"%p{s} = arith.addi %os{s}, %ks{s} : index"]
        names.append(f"%p{s}")
    return e.gather(x, out_shape, {}, preamble=body, dims=names)


def _split_strides(e, x, lead: Sequence[int], sizes: Sequence[int], stride: Sequence[int]):
    """``x`` [*lead, size·stride per spatial dimension] viewed as [*lead,
    size, (stride)...], each dimension of stride 1 kept whole. Returns the
    view, the position of each dimension's size axis and those of the
    stride (phase) axes."""
    shape = list(lead)
    for size, st in zip(sizes, stride):
        shape += [size, st] if st > 1 else [size]
    x = e.reshape(x, shape)
    pos, size_dims, phase_dims = len(lead), [], []
    for st in stride:
        size_dims.append(pos)
        if st > 1:
            phase_dims.append(pos + 1)
        pos += 2 if st > 1 else 1
    return x, size_dims, phase_dims


class _Phases:
    """A convolution's padded input taken apart by stride, so that every
    kernel tap reads a plain (unit-stride) window of it.

    Output position o of tap k reads the padded input at o*s + k*d. With
    s = 1 that is a window shifted by k*d. With s > 1 the input is split
    into its s phases along each dimension, ``x[s*i + a] -> phase a at i``
    (one transposing copy of the input): the tap reads phase (k*d) % s at
    the shift (k*d) // s. ``x`` is [N, C, s... (the strides > 1), P...],
    P the phase sizes (the padded size over s, rounded up, plus
    ``extra_rows`` of zeros along the first spatial dimension)."""

    def __init__(self, tx, input, kernel, stride, padding, dilation, dtype, extra_rows: int = 0):
        e = tx.e
        xs = list(shape_of(input))
        self.nd = nd = len(kernel)
        self.stride, self.dilation, self.kernel = list(stride), list(dilation), list(kernel)
        self.sizes = [-(-(xs[2 + i] + 2 * padding[i]) // stride[i]) for i in range(nd)]
        self.sizes[0] += extra_rows
        pads: List[int] = []
        for i in reversed(range(nd)):
            pads += [padding[i], self.sizes[i] * stride[i] - xs[2 + i] - padding[i]]
        x = pad_constant(tx, e.cast(input, dtype), pads, 0.0)
        self.split = [i for i in range(nd) if stride[i] > 1]
        if self.split:
            x, size_dims, phase_dims = _split_strides(e, x, xs[:2], self.sizes, stride)
            x = e.tensor(e.permute(x, [0, 1] + phase_dims + size_dims))
        self.x = x

    def taps(self):
        """(kernel index, phase of each split dimension, shift per dimension)
        for every tap, in the kernel's row-major order."""
        import itertools
        for tap in itertools.product(*[range(k) for k in self.kernel]):
            t = [k * d for k, d in zip(tap, self.dilation)]
            yield (list(tap), [t[i] % self.stride[i] for i in self.split],
                   [ti // st for ti, st in zip(t, self.stride)])


def _depthwise(tx, input, weight, stride: Sequence[int], padding: Sequence[int], dilation: Sequence[int],
               shape: Sequence[int], dtype: str):
    """A depthwise convolution (one filter per channel) as the sum over the
    kernel taps of a window of the input (``_Phases``) times the tap's
    per-channel weight: elementwise products that fuse into one generic
    whose rows (the output's last dimension) vectorise. No im2col copy
    (K times the input: 43 MB for MaxViT's 384-channel 3x3 at 56x56) and
    no batch of one-column matrix products."""
    e = tx.e
    nd = len(shape) - 2
    n, c = shape[0], shape[1]
    out = list(shape[2:])
    kernel = list(shape_of(weight)[2:])
    ph = _Phases(tx, input, kernel, stride, padding, dilation, dtype)
    w = e.reshape(e.cast(weight, dtype), [c] + kernel)
    xs = list(shape_of(ph.x))
    acc = None
    for tap, phase, shift in ph.taps():
        window = e.extract_slice(ph.x, [0, 0] + phase + shift, [n, c] + [1] * len(phase) + out, [1] * len(xs))
        window = e.reshape(window, list(shape))
        wt = e.reshape(e.extract_slice(w, [0] + tap, [c] + [1] * nd, [1] * (1 + nd)), [c] + [1] * nd)
        term = e.arith("mul", window, wt, shape, dtype)
        acc = term if acc is None else e.arith("add", acc, term, shape, dtype)
    return acc


# f16/bf16 convolutions as taps run in f32 (input and weight widened once,
# exactly) and are rounded once at the end, as one product over all taps
# would be: an einsum's result has its operands' type, so products in bf16
# would round each tap's partial sum.
_ACCUMULATOR = {"f16": "f32", "bf16": "f32"}


def _taps_pay(channels: int, kernel) -> bool:
    """Whether a convolution is the sum over its kernel taps (``_tap_sum``)
    rather than an im2col: each tap is a product that contracts only the
    input channels (of a group), which must be enough to feed the
    micro-kernel (16: one AVX-512 vector)."""
    return channels >= 16 and int(np.prod(kernel)) > 1


def _phases_pay(channels: int, kernel, stride, dilation) -> bool:
    """Whether a strided convolution contracts each stride phase as more
    channels (``_tap_sum(phase_channels=True)``): one product per shift of
    ceil(k/s) per dimension over c * s... channels, the kernel padded with
    zero taps to whole strides. Without dilation; when the kernel is whole
    strides (no zero taps: CrossFormer's 4 to 32-wide kernels at stride 4)
    or the channels alone are too few for the per-tap products (an RGB
    stem: 3 channels)."""
    if all(st == 1 for st in stride) or any(d != 1 for d in dilation):
        return False
    whole = all(k % st == 0 for k, st in zip(kernel, stride))
    return whole or channels < 16


def _tap_sum(tx, input, weight, stride, padding, dilation, groups: int, shape, dtype,
             phase_channels: bool = False):
    """A convolution as an implicit GEMM: the sum over the kernel taps of
    one product each, ``W[:, :, tap] (o x c) . X_tap (c x positions)``,
    each X_tap a contiguous run of the flattened input phases
    (``_Phases``), read in place: no im2col copy.

    Why a run: flattening the phase rows, tap t's window at output (h, w)
    starts at ``shift_h*P1 + shift_w`` and its element (h, w) is
    ``h*P1 + w`` further, so every tap reads ``oh*P1`` consecutive
    elements. The products are computed at all P1 columns of each row and
    the columns past ow dropped at the end (2 of 58 for a 3x3 at 56x56).
    The micro-kernel's N is then one run, not a call per output row, and
    attn-fold-addends-into-contractions makes each tap's product start from
    the sum of those before it.

    With ``phase_channels`` (stride s > 1, no dilation) the taps that share
    a shift, one per phase, are one product: the phases are contracted as
    channels (``b c a n, o c a -> b o n``), the weight's taps zero-padded
    to whole strides and arranged [shift..., o, c, phase...] once per
    call (a strided conv as a stride-1 conv over c * s channels)."""
    e = tx.e
    ws = list(shape_of(weight))
    nd = len(ws) - 2
    n, c = shape_of(input)[:2]
    o, cg = ws[0], ws[1]
    kernel = ws[2:]
    out = list(shape[2:])
    # Rows so that the last tap's run stays inside: one more phase row when
    # its shifts past the first dimension reach beyond the last row.
    sizes = [-(-(shape_of(input)[2 + i] + 2 * padding[i]) // stride[i]) for i in range(nd)]
    row = int(np.prod(sizes[1:]))
    run = out[0] * row
    last = sum(((k - 1) * d // st) * int(np.prod(sizes[i + 1:]))
               for i, (k, d, st) in enumerate(zip(kernel, dilation, stride)))
    extra = max(0, -(-(last + run - int(np.prod(sizes))) // row))
    acc_dtype = _ACCUMULATOR.get(dtype, dtype)
    ph = _Phases(tx, input, kernel, stride, padding, dilation, acc_dtype, extra)
    cgroup = c // groups
    x = e.reshape(ph.x, [n, groups, cgroup] + [stride[i] for i in ph.split] + [int(np.prod(ph.sizes))])
    if phase_channels:
        return _phase_channel_sum(tx, ph, x, e.cast(weight, acc_dtype), groups, shape, dtype, run)
    # A parameter weight is prepared tap-major at load time, [K..., O, C]:
    # each tap's product then reads a contiguous [O, C] matrix, where a
    # slice of [O, C, K...] puts a tap's consecutive channels prod(K)
    # elements apart (the micro-kernel's rows of A span 9x the cache lines
    # for a 3x3, and compete with B's panel for L1).
    tap_major = isinstance(weight, Prepared) and tx.translator.weight_panels
    if tap_major:
        import torch
        weight = weight.then(torch.ops.aten.permute.default, tuple(range(2, 2 + nd)) + (0, 1))
    w = e.cast(weight, acc_dtype)
    acc = None
    for tap, phase, shift in ph.taps():
        off = sum(sh * int(np.prod(ph.sizes[i + 1:])) for i, sh in enumerate(shift))
        xt = e.extract_slice(x, [0, 0, 0] + phase + [off], [n, groups, cgroup] + [1] * len(phase) + [run],
                             [1] * (4 + len(phase)))
        if tap_major:
            wt = e.extract_slice(w, tap + [0, 0], [1] * nd + [o, cg], [1] * len(ws))
        else:
            wt = e.extract_slice(w, [0, 0] + tap, [o, cg] + [1] * nd, [1] * len(ws))
        if groups == 1:
            y = e.einsum("b c n, o c -> b o n", [e.reshape(xt, [n, c, run]), e.reshape(wt, [o, c])],
                         [n, o, run], acc_dtype)
        else:
            y = e.einsum("b g c n, g o c -> b g o n",
                         [e.reshape(xt, [n, groups, cgroup, run]), e.reshape(wt, [groups, o // groups, cg])],
                         [n, groups, o // groups, run], acc_dtype)
        acc = y if acc is None else e.arith("add", acc, y, shape_of(y), acc_dtype)
    full = e.reshape(acc, [n, o, out[0]] + ph.sizes[1:])
    return e.cast(e.extract_slice(full, [0] * (2 + nd), [n, o] + out, [1] * (2 + nd)), dtype)


def _phase_channel_sum(tx, ph: "_Phases", x, w, groups: int, shape, dtype, run: int):
    """``_tap_sum`` with the stride phases contracted as channels: x is
    [N, G, C, s..., F] (the flattened phases), w the [O, C, K...] weight."""
    e = tx.e
    import itertools
    ws = list(shape_of(w))
    nd = len(ws) - 2
    n, o, cg = shape[0], ws[0], ws[1]
    out = list(shape[2:])
    kernel, stride = ws[2:], ph.stride
    shifts = [-(-k // st) for k, st in zip(kernel, stride)]
    pads: List[int] = []
    for i in reversed(range(nd)):
        pads += [0, shifts[i] * stride[i] - kernel[i]]
    w = pad_constant(tx, w, pads, 0.0)  # zero taps up to whole strides
    w, shift_dims, phase_dims = _split_strides(e, w, [o, cg], shifts, stride)
    w = e.tensor(e.permute(w, shift_dims + [0, 1] + phase_dims))  # [shift..., o, c, phase...]
    phases = [stride[i] for i in ph.split]
    labels = "".join(" " + "pqrstu"[i] for i in range(len(phases)))
    cgroup = cg
    acc_dtype = _ACCUMULATOR.get(dtype, dtype)
    acc = None
    for shift in itertools.product(*[range(k) for k in shifts]):
        off = sum(sh * int(np.prod(ph.sizes[i + 1:])) for i, sh in enumerate(shift))
        xt = e.extract_slice(x, [0, 0, 0] + [0] * len(phases) + [off],
                             [n, groups, cgroup] + phases + [run], [1] * (4 + len(phases)))
        wt = e.extract_slice(w, list(shift) + [0] * (2 + len(phases)), [1] * nd + [o, cg] + phases,
                             [1] * (nd + 2 + len(phases)))
        if groups == 1:
            y = e.einsum(f"b c{labels} n, o c{labels} -> b o n",
                         [e.reshape(xt, [n, cg] + phases + [run]), e.reshape(wt, [o, cg] + phases)],
                         [n, o, run], acc_dtype)
        else:
            y = e.einsum(f"b g c{labels} n, g o c{labels} -> b g o n",
                         [e.reshape(xt, [n, groups, cg] + phases + [run]),
                          e.reshape(wt, [groups, o // groups, cg] + phases)],
                         [n, groups, o // groups, run], acc_dtype)
        acc = y if acc is None else e.arith("add", acc, y, shape_of(y), acc_dtype)
    full = e.reshape(acc, [n, o, out[0]] + ph.sizes[1:])
    return e.cast(e.extract_slice(full, [0] * (2 + nd), [n, o] + out, [1] * (2 + nd)), dtype)


@aten("convolution", "_convolution", "conv2d", "conv1d", "conv3d")
def convolution(tx, input, weight, bias=None, stride=(1,), padding=(0,), dilation=(1,), transposed=False,
                output_padding=(0,), groups=1, **_):
    """Any N-d convolution (not transposed): pad, then either a free split
    (stride == kernel, no padding or dilation: a ViT patch embedding) or an
    im2col gather, then one einsum over channels and kernel positions, with
    groups as a batch label (depthwise convolutions included)."""
    e = tx.e
    shape, dtype = tx.meta()
    if transposed:
        raise tx.error("transposed convolution")
    xs, ws = shape_of(input), shape_of(weight)
    nd = len(ws) - 2
    if isinstance(padding, str):
        raise tx.error(f"padding={padding!r}")

    def per_dim(v, default):
        v = list(v) if isinstance(v, (list, tuple)) else [v]
        v = v or [default]
        return [int(a) for a in (v * nd if len(v) == 1 else v)]

    stride, padding, dilation = per_dim(stride, 1), per_dim(padding, 0), per_dim(dilation, 1)
    g = int(groups)
    n, c = xs[0], xs[1]
    o, cg = ws[0], ws[1]
    kernel = list(ws[2:])
    x = input
    spatial = list(shape[2:])
    y = None
    if g == c and o == c and cg == 1 and is_float(dtype):
        y = _depthwise(tx, input, weight, stride, padding, dilation, shape, dtype)
    elif is_float(dtype) and _phases_pay(c // g, kernel, stride, dilation) and not (
            stride == kernel and not any(padding)):
        y = _tap_sum(tx, input, weight, stride, padding, dilation, g, shape, dtype, phase_channels=True)
    elif is_float(dtype) and _taps_pay(c // g, kernel):
        y = _tap_sum(tx, input, weight, stride, padding, dilation, g, shape, dtype)
    if y is not None:
        if bias is not None:
            y = e.arith("add", y, e.reshape(bias, [o] + [1] * nd), shape, dtype)
        return y
    if any(padding):
        pads: List[int] = []
        for p in reversed(padding):
            pads += [p, p]
        x = pad_constant(tx, x, pads, 0.0)
    sp = ["h", "w", "t"][:nd] if nd <= 3 else [f"s{i}" for i in range(nd)]
    kp = ["p", "q", "r"][:nd] if nd <= 3 else [f"k{i}" for i in range(nd)]
    padded_shape = shape_of(x)
    patch_free = stride == kernel and all(d == 1 for d in dilation) and \
        all(pz == 0 for pz in padding)
    if patch_free:
        # x[b, c, (h p), (w q)]: a split, no copy (crop trailing rows first).
        # Kernel dimensions of size 1 get no label: a 1x1 convolution is
        # then "b c h w, o c -> b o h w", whose positions the micro-kernel
        # takes as one N (with unit labels in between it took each row of
        # a 7x7 window as its own call of N = 7).
        full = [o_ * k for o_, k in zip(spatial, kernel)]
        if list(padded_shape[2:]) != full:
            x = e.extract_slice(x, [0] * len(padded_shape), list(padded_shape[:2]) + full,
                                [1] * len(padded_shape))
        split = [n, c]
        x_labels = ["b", "c"]
        for o_, k, s_lbl, k_lbl in zip(spatial, kernel, sp, kp):
            split += [o_, k] if k > 1 else [o_]
            x_labels += [s_lbl, k_lbl] if k > 1 else [s_lbl]
        x = e.reshape(x, split)
        w_labels = [lbl for lbl, k in zip(kp, kernel) if k > 1]
        w_kernel = [k for k in kernel if k > 1]
    else:
        x = _patches(tx, x, kernel, stride, dilation, spatial)
        x_labels = ["b", "c"] + kp + sp
        w_labels, w_kernel = kp, kernel
    if g == 1:
        eq = f"{' '.join(x_labels)}, o c {' '.join(w_labels)} -> b o {' '.join(sp)}"
        y = e.einsum(eq, [x, e.reshape(weight, [o, cg] + w_kernel)], shape, dtype)
    else:
        # Channels split into groups: x [b, (g c)], w [(g o), c].
        xg_shape = [n, g, c // g] + list(shape_of(x)[2:])
        xg = e.reshape(x, xg_shape)
        wg = e.reshape(weight, [g, o // g, cg] + w_kernel)
        xl = ["b", "g", "c"] + x_labels[2:]
        eq = f"{' '.join(xl)}, g o c {' '.join(w_labels)} -> b g o {' '.join(sp)}"
        yg = e.einsum(eq, [xg, wg], [n, g, o // g] + spatial, dtype)
        y = e.reshape(yg, shape)
    if bias is not None:
        y = e.arith("add", y, e.reshape(bias, [o] + [1] * nd), shape, dtype)
    return y


def _pool_window(tx, input, kernel, stride, padding, dilation, ceil_mode, fill):
    e = tx.e
    shape, dtype = tx.meta() if not isinstance(tx.node.meta.get("val"), (tuple, list)) else tx.meta(0)
    xs = shape_of(input)
    nd = len(shape) - 2
    k = [int(v) for v in (kernel * nd if len(kernel) == 1 else kernel)]
    s = [int(v) for v in (stride if stride else k)]
    s = s * nd if len(s) == 1 else s
    p = [int(v) for v in (padding * nd if len(padding) == 1 else padding)]
    d = [int(v) for v in (dilation * nd if len(dilation) == 1 else dilation)] if dilation else [1] * nd
    x = input
    if any(p) or ceil_mode:
        pads: List[int] = []
        # ceil_mode windows may run past the end: pad the far side too.
        for i in reversed(range(nd)):
            need = (shape[2 + i] - 1) * s[i] + (k[i] - 1) * d[i] + 1
            after = max(p[i], need - xs[2 + i] - p[i])
            pads += [p[i], after]
        x = pad_constant(tx, x, pads, fill)
    return x, shape, dtype, k, s, d, p


def _pool(tx, x, kind: str, k, s, d, shape, dtype):
    """``kind`` ("max" or "sum") over each window of the padded ``x``:
    for a float input, the elementwise max or sum of one window per kernel
    tap (``_Phases``: vectorised rows, no gather); otherwise a reduction
    of the im2col gather."""
    e = tx.e
    nd = len(k)
    if not is_float(dtype_of(x)):
        return e.reduce(kind, _patches(tx, x, k, s, d, shape[2:]), list(range(2, 2 + nd)))
    # A sum of f16/bf16 windows accumulates in f32.
    work = "f32" if kind == "sum" and dtype_of(x) in ("f16", "bf16") else dtype_of(x)
    ph = _Phases(tx, x, k, s, [0] * nd, d, work)
    xs = list(shape_of(ph.x))
    n, c = shape[0], shape[1]
    acc = None
    for _, phase, shift in ph.taps():
        window = e.extract_slice(ph.x, [0, 0] + phase + shift, [n, c] + [1] * len(phase) + list(shape[2:]),
                                 [1] * len(xs))
        window = e.reshape(window, list(shape))
        acc = window if acc is None else e.arith("max" if kind == "max" else "add", acc, window, shape, work)
    return e.cast(acc, dtype)


@aten("max_pool2d", "max_pool2d_with_indices", "max_pool1d", "max_pool3d", "max_pool3d_with_indices")
def max_pool(tx, self, kernel_size, stride=(), padding=(0,), dilation=(1,), ceil_mode=False, **_):
    x, shape, dtype, k, s, d, _ = _pool_window(tx, self, list(kernel_size), list(stride or ()),
                                                      list(padding), list(dilation), ceil_mode, float("-inf"))
    y = _pool(tx, x, "max", k, s, d, shape, dtype)
    if isinstance(tx.node.meta.get("val"), (tuple, list)):
        return (y, Unavailable("max_pool's indices"))
    return y


@aten("avg_pool2d", "avg_pool1d", "avg_pool3d")
def avg_pool(tx, self, kernel_size, stride=(), padding=(0,), ceil_mode=False, count_include_pad=True,
             divisor_override=None, **_):
    e = tx.e
    x, shape, dtype, k, s, d, p = _pool_window(tx, self, list(kernel_size), list(stride or ()),
                                                      list(padding), [], ceil_mode, 0.0)
    total = _pool(tx, x, "sum", k, s, d, shape, dtype)
    if divisor_override:
        return e.arith("div", total, float(divisor_override), shape, dtype)
    if (count_include_pad or not any(p)) and not ceil_mode:
        return e.arith("div", total, float(np.prod(k)), shape, dtype)
    # PyTorch's divisor per window, a product of per-dimension counts: the
    # window clipped to the padded input (count_include_pad) or to the input.
    import torch
    s_ = [int(v) for v in (stride or k)]
    s_ = s_ * len(k) if len(s_) == 1 else s_
    per_dim = []
    for d, (n, kk, st, pp) in enumerate(zip(shape_of(self)[2:], k, s_, p)):
        o = torch.arange(shape[2 + d])
        start = o * st - pp
        end = torch.minimum(start + kk, torch.tensor(n + pp))
        if not count_include_pad:
            start, end = start.clamp(min=0), end.clamp(max=n)
        per_dim.append((end - start).double())
    div = per_dim[0]
    for v in per_dim[1:]:
        div = div[..., None] * v
    counts = Const(div.to({"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                           "bf16": torch.bfloat16}[dtype]))
    return e.arith("div", total, counts, shape, dtype)


@aten("adaptive_avg_pool2d", "_adaptive_avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool3d",
      "_adaptive_avg_pool3d")
def adaptive_avg_pool(tx, self, output_size, **_):
    e = tx.e
    shape, dtype = tx.meta()
    xs = shape_of(self)
    nd = len(xs) - 2
    out = [int(v) for v in output_size]
    if all(o == 1 for o in out):
        return e.reshape(e.mean(self, list(range(2, 2 + nd))), shape)
    if all(i % o == 0 for i, o in zip(xs[2:], out)):
        k = [i // o for i, o in zip(xs[2:], out)]
        split = list(xs[:2])
        for o, kk in zip(out, k):
            split += [o, kk]
        x = e.reshape(self, split)
        return e.reshape(e.mean(x, [3 + 2 * i for i in range(nd)]), shape)
    raise tx.error("adaptive average pooling to a size that does not divide the input")


@aten("embedding")
def embedding(tx, weight, indices, padding_idx=-1, scale_grad_by_freq=False, sparse=False, **_):
    """table[indices]: a gather of rows (padding_idx only matters for
    gradients)."""
    shape, _ = tx.meta()
    return tx.e.take(weight, indices, 0, shape)


@aten("im2col")
def im2col(tx, self, kernel_size, dilation, padding, stride, **_):
    """nn.Unfold: [N, C, H, W] -> [N, C*kh*kw, L] (T2T-ViT's soft split)."""
    e = tx.e
    shape, dtype = tx.meta()
    xs = shape_of(self)
    k, d, p, s = ([int(v) for v in a] for a in (kernel_size, dilation, padding, stride))
    x = self
    if any(p):
        x = pad_constant(tx, x, [p[1], p[1], p[0], p[0]], 0.0)
    px = shape_of(x)
    out_sp = [(px[2 + i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
    patches = _patches(tx, x, k, s, d, out_sp)  # [N, C, kh, kw, oh, ow]
    return e.reshape(patches, [xs[0], xs[1] * k[0] * k[1], out_sp[0] * out_sp[1]])


def _interpolation_matrix(n_in: int, n_out_size: int, axis: int, mode: str, align_corners, scale, dtype) -> Const:
    """The [out, in] matrix PyTorch's separable interpolation applies along
    one spatial axis, read off F.interpolate on the identity."""
    import torch
    import torch.nn.functional as F
    eye = torch.eye(n_in, dtype=torch.float64)
    if axis == 0:
        x, size = eye.reshape(n_in, 1, n_in, 1), (n_out_size, 1)
        sf = (scale, 1.0) if scale is not None else None
    else:
        x, size = eye.reshape(n_in, 1, 1, n_in), (1, n_out_size)
        sf = (1.0, scale) if scale is not None else None
    kwargs = {} if mode in ("nearest", "nearest-exact") else {"align_corners": bool(align_corners)}
    if sf is not None:
        y = F.interpolate(x, scale_factor=sf, mode=mode, **kwargs)
    else:
        y = F.interpolate(x, size=size, mode=mode, **kwargs)
    m = y.reshape(n_in, n_out_size).T.contiguous()
    return Const(m.to({"f32": torch.float32, "f64": torch.float64, "f16": torch.float16,
                       "bf16": torch.bfloat16}[dtype]))


def _upsample(tx, input, output_size, scale_factors, mode, align_corners=None):
    """F.interpolate on [N, C, H, W] (nearest, bilinear, bicubic): separable,
    so two contractions with the constant interpolation matrices."""
    e = tx.e
    shape, dtype = tx.meta()
    xs = shape_of(input)
    if len(xs) != 4:
        raise tx.error(f"{mode} interpolation of a {len(xs)}-d tensor")
    scales = list(scale_factors) if scale_factors else [None, None]
    if output_size:
        scales = [None, None]
    ah = _interpolation_matrix(xs[2], shape[2], 0, mode, align_corners, scales[0], dtype)
    aw = _interpolation_matrix(xs[3], shape[3], 1, mode, align_corners, scales[1], dtype)
    y = e.einsum("n c h w, y h -> n c y w", [input, ah], [xs[0], xs[1], shape[2], xs[3]], dtype)
    return e.einsum("n c y w, x w -> n c y x", [y, aw], shape, dtype)


@aten("upsample_bilinear2d")
def upsample_bilinear2d(tx, input, output_size=None, align_corners=False, scale_factors=None, scales_h=None,
                        scales_w=None, **_):
    sf = scale_factors or ([scales_h, scales_w] if scales_h else None)
    return _upsample(tx, input, output_size, sf, "bilinear", align_corners)


@aten("upsample_bicubic2d")
def upsample_bicubic2d(tx, input, output_size=None, align_corners=False, scale_factors=None, scales_h=None,
                       scales_w=None, **_):
    sf = scale_factors or ([scales_h, scales_w] if scales_h else None)
    return _upsample(tx, input, output_size, sf, "bicubic", align_corners)


@aten("upsample_nearest2d", "_upsample_nearest_exact2d")
def upsample_nearest2d(tx, input, output_size=None, scale_factors=None, scales_h=None, scales_w=None, **_):
    exact = tx.node.target._schema.name.endswith("exact2d")
    sf = scale_factors or ([scales_h, scales_w] if scales_h else None)
    return _upsample(tx, input, output_size, sf, "nearest-exact" if exact else "nearest")
