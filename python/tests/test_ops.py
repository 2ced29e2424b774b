"""Every translation of the ATen table, compiled and compared with eager
PyTorch on inputs other than the compile example.

Ops are grouped into a few modules (one library each, to keep the run
short); every op is its own output, so a wrong translation names itself.
"""

from __future__ import annotations

import re
from typing import Callable, Dict, List, Sequence, Tuple


import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import attn_opt

# (name, function of the inputs) per group; inputs are drawn by `_inputs`.
Case = Tuple[str, Callable[..., torch.Tensor]]

ELEMENTWISE: List[Case] = [
    ("add_alpha", lambda x, y, i: torch.add(x, y, alpha=0.5)),
    ("sub_scalar", lambda x, y, i: x - 3),
    ("rsub", lambda x, y, i: 1 - x),
    ("mul_int_tensor", lambda x, y, i: x * i),
    ("div", lambda x, y, i: x / (y.abs() + 1)),
    ("div_int_by_int", lambda x, y, i: i / 3),
    ("floor_divide", lambda x, y, i: torch.div(i, 3, rounding_mode="floor")),
    ("remainder_int", lambda x, y, i: i % 3),
    ("pow_2", lambda x, y, i: x ** 2),
    ("pow_tensor", lambda x, y, i: (x.abs() + 0.1) ** y),
    ("sqrt_rsqrt", lambda x, y, i: torch.sqrt(x.abs()) + torch.rsqrt(x.abs() + 1)),
    ("exp_log", lambda x, y, i: torch.exp(x) + torch.log(x.abs() + 1e-3)),
    ("tanh_sigmoid", lambda x, y, i: torch.tanh(x) * torch.sigmoid(y)),
    ("erf_abs_neg", lambda x, y, i: torch.erf(x) - torch.abs(y) + (-x)),
    ("relu_gelu", lambda x, y, i: F.relu(x) + F.gelu(y) + F.gelu(x, approximate="tanh")),
    ("silu_mish_softplus", lambda x, y, i: F.silu(x) + F.mish(y) + F.softplus(x)),
    ("hardswish_hardsigmoid", lambda x, y, i: F.hardswish(x) + F.hardsigmoid(y)),
    ("leaky_elu", lambda x, y, i: F.leaky_relu(x, 0.2) + F.elu(y)),
    ("clamp", lambda x, y, i: torch.clamp(x, -0.5, 0.7) + x.clamp(min=0.1) + F.hardtanh(y)),
    ("max_min", lambda x, y, i: torch.maximum(x, y) - torch.minimum(x, y)),
    ("sin_cos_reciprocal", lambda x, y, i: torch.sin(x) * torch.cos(y) + torch.reciprocal(y.abs() + 1)),
    ("floor_ceil_round", lambda x, y, i: torch.floor(x * 3) + torch.ceil(y * 3) + torch.round(x * 3)),
    ("sign", lambda x, y, i: torch.sign(x)),
    ("compare_float_int", lambda x, y, i: ((x * 4 < i) | (y >= 0.5)) & ~(x == y)),
    ("where_scalar", lambda x, y, i: torch.where(x > 0, x, 0.0)),
    ("masked_fill", lambda x, y, i: x.masked_fill(y > 0.3, float("-inf")).softmax(-1)),
    ("cast_int_bool", lambda x, y, i: (x * 10).to(torch.int64) + (y > 0).long() + i.bool().long()),
    ("isnan_nan_to_num", lambda x, y, i: torch.nan_to_num(torch.log(x)) + torch.isnan(torch.log(y)).float()),
]

REDUCTIONS: List[Case] = [
    ("sum_keepdim", lambda x, y, i: x.sum(-1, keepdim=True) + y),
    ("sum_all", lambda x, y, i: x.sum() + i.sum()),
    ("mean_dims", lambda x, y, i: x.mean(dim=(0, 2))),
    ("amax_amin", lambda x, y, i: x.amax(-1) - y.amin(-1) + x.amax(1).sum(-1, keepdim=True)),
    ("max_dim_values", lambda x, y, i: x.max(dim=1).values),
    ("var_std", lambda x, y, i: x.var(-1) + y.std(-1, unbiased=False) + x.var(1).mean(-1, keepdim=True)),
    ("any_all", lambda x, y, i: (x > 0.9).any(-1).float() + (y > -1).all(-1).float()),
    ("norm", lambda x, y, i: F.normalize(x, dim=-1) + torch.linalg.vector_norm(y, dim=-1, keepdim=True)),
    ("logsumexp", lambda x, y, i: torch.logsumexp(x, dim=-1)),
    ("softmax_log_softmax", lambda x, y, i: x.softmax(1) + y.log_softmax(-1)),
    ("cumsum", lambda x, y, i: x.cumsum(-1) + i.cumsum(1)),
]

LAYOUT: List[Case] = [
    ("permute_reshape", lambda x, y, i: x.permute(2, 0, 1).reshape(6, -1)),
    ("transpose_flatten", lambda x, y, i: x.transpose(0, 1).flatten(1)),
    ("unsqueeze_expand", lambda x, y, i: x[:, :1].expand(2, 3, 8) + y),
    ("repeat", lambda x, y, i: x.repeat(2, 1, 1)),
    ("repeat_interleave", lambda x, y, i: torch.repeat_interleave(x, 2, dim=1)),
    ("select_slice_step", lambda x, y, i: x[1, ::2, 1:7:3]),
    ("narrow_chunk", lambda x, y, i: torch.narrow(x, 2, 2, 4) * x.chunk(2, -1)[1]),
    ("split_unbind_stack", lambda x, y, i: torch.stack(list(x.unbind(1)), dim=-1) + torch.stack(
        [t for t in x.split([3, 5], -1)[0].unbind(0)], 0).sum()),
    ("cat", lambda x, y, i: torch.cat([x, y, x * 2], dim=-1)),
    ("pad_crop", lambda x, y, i: F.pad(x, (1, 2, 0, 1)) [..., :8] + F.pad(y, (-1, 1))[:, :2].sum()),
    ("roll_flip", lambda x, y, i: torch.roll(x, shifts=(1, -2), dims=(1, 2)) + torch.flip(y, [1])),
    ("tril_triu", lambda x, y, i: torch.tril(x) + torch.triu(y, 1)),
    ("movedim", lambda x, y, i: torch.movedim(x, 0, -1)),
]

def _slice_assign(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Slice assignment (MViTv2's relative position terms): aten.copy once functionalised."""
    z = x * 2
    z[:, 1:, 2:6] = y[:, :2, :4] + 1
    z[0, :, 7:] = y[1, :, :1]
    return z


INDEXING: List[Case] = [
    ("index_select", lambda x, y, i: torch.index_select(x, 2, i[0, 0, :3].abs() % 8)),
    ("gather", lambda x, y, i: torch.gather(x, 2, (i.abs() % 8)[:, :, :4].repeat(1, 1, 1))),
    ("advanced_index", lambda x, y, i: x[:, i[0].abs() % 3]),
    ("advanced_index_two", lambda x, y, i: x[i[0].abs() % 2, :, i[1].abs() % 8]),
    ("negative_index", lambda x, y, i: x[:, :, torch.tensor([-1, 0, -2])]),
    ("embedding", lambda x, y, i: F.embedding(i.abs() % 5, x.reshape(-1, 8)[:5])),
    ("bool_mask_put", lambda x, y, i: x.index_put((x > 0.5,), torch.tensor(-1e6))),
    ("const_index_put", lambda x, y, i: x.index_put((torch.tensor([0, 1]), torch.tensor([2, 0])), y[0, :2] * 0 + 7)),
    ("slice_assign_copy", lambda x, y, i: _slice_assign(x, y)),
    ("slice_scatter", lambda x, y, i: torch.slice_scatter(x, y[:, :, :3] * 10, dim=2, start=1, end=7, step=2)),
    # accumulate=True: repeated constant positions add up (in PyTorch's order),
    # on the first dimension with the others carried, and on the last two.
    ("index_put_accumulate", lambda x, y, i: x.index_put((torch.tensor([1, 0, 1, 1]),), torch.cat([y, y * 2]),
                                                         accumulate=True)),
    ("index_put_accumulate_2d", lambda x, y, i: x[0].index_put(
        (torch.tensor([[0, 2, 2], [1, 2, 0]]), torch.tensor([[7, 7, 7], [0, 7, 1]])), y[0, :2, :3] * 3,
        accumulate=True)),
    # F.fold (col2im: an accumulating scatter with overlapping windows).
    ("fold_overlapping", lambda x, y, i: F.fold(torch.cat([x, y, x * y], 1).reshape(2, 12, 6), (3, 4),
                                                kernel_size=2)),
]

LINALG: List[Case] = [
    ("matmul_broadcast", lambda x, y, i: x @ y[0].transpose(0, 1)),
    ("bmm_baddbmm", lambda x, y, i: torch.baddbmm(x[:, :, :3], x, y.transpose(1, 2)[:, :, :3], beta=0.5, alpha=2)),
    ("mm_addmm", lambda x, y, i: torch.addmm(x[0, :, :3], x[0], y[1].T[:, :3])),
    ("einsum_three", lambda x, y, i: torch.einsum("abc,abd,b->cd", x, y, x[0, :, 0])),
    ("matvec_outer", lambda x, y, i: torch.mv(x[0], y[0, 0]) + torch.outer(x[0, 0], y[1, 1]).sum()),
    ("linear_func", lambda x, y, i: F.linear(x, y[0].T.reshape(8, 3)[:5, :3].repeat(1, 3)[:, :8], torch.ones(5))),
]


def _inputs(seed: int) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(2, 3, 8, generator=g)
    y = torch.randn(2, 3, 8, generator=g)
    i = torch.randint(-5, 6, (2, 3, 8), generator=g)
    return x, y, i


class Group(nn.Module):
    def __init__(self, cases: Sequence[Case]) -> None:
        super().__init__()
        self.cases = list(cases)

    def forward(self, x: torch.Tensor, y: torch.Tensor, i: torch.Tensor):
        return tuple(fn(x, y, i) for _, fn in self.cases)


GROUPS: Dict[str, List[Case]] = {"elementwise": ELEMENTWISE, "reductions": REDUCTIONS, "layout": LAYOUT,
                                 "indexing": INDEXING, "linalg": LINALG}


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_op_group_matches_eager(group: str, compiler) -> None:
    module = Group(GROUPS[group]).eval()
    compiled = attn_opt.compile(module, _inputs(1))
    inputs = _inputs(2)
    with torch.no_grad():
        want = module(*inputs)
    got = compiled(*inputs)
    for (name, _), g, w in zip(module.cases, got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, f"{name}: {g.shape}/{g.dtype} vs {w.shape}/{w.dtype}"
        if w.is_floating_point():
            torch.testing.assert_close(g, w, rtol=2e-4, atol=1e-5, equal_nan=True, msg=lambda m: f"{name}: {m}")
        else:
            assert torch.equal(g, w), f"{name}: {g} vs {w}"


def test_convolutions_and_pooling(compiler) -> None:
    """General convolutions (stride, padding, dilation, groups, depthwise,
    1-d), the patch-embedding special case, norms, pooling and
    interpolation."""
    torch.manual_seed(3)
    layers = nn.ModuleDict({
        "patch": nn.Conv2d(3, 8, 4, stride=4),
        "general": nn.Conv2d(3, 6, 3, stride=2, padding=1, dilation=1),
        "dilated": nn.Conv2d(3, 4, 3, padding=2, dilation=2, bias=False),
        "grouped": nn.Conv2d(4, 8, 3, padding=1, groups=2),
        "depthwise": nn.Conv2d(4, 4, 3, padding=1, groups=4),
        "conv1d": nn.Conv1d(3, 5, 3, padding=1),
        "bn": nn.BatchNorm2d(8),
        "gn": nn.GroupNorm(2, 8),
        "ln": nn.LayerNorm(16),
        "rms": nn.RMSNorm(16),
    }).eval()
    with torch.no_grad():
        layers["bn"].running_mean.uniform_(-1, 1)
        layers["bn"].running_var.uniform_(0.5, 2)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.l = layers

        def forward(self, x: torch.Tensor):
            p = self.l["patch"](x)                                 # [1, 8, 4, 4]
            g4 = self.l["grouped"](self.l["dilated"](x))
            return (self.l["bn"](p), self.l["gn"](p), self.l["general"](x), g4,
                    self.l["depthwise"](g4[:, :4]), self.l["conv1d"](x[:, :, 0]),
                    F.max_pool2d(x, 3, stride=2, padding=1), F.avg_pool2d(x, 2),
                    F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False),
                    F.adaptive_avg_pool2d(x, 1), F.adaptive_avg_pool2d(x, 4),
                    self.l["ln"](x), self.l["rms"](x), F.unfold(x, 2, stride=2),
                    F.interpolate(p, size=(7, 9), mode="bilinear"),
                    F.interpolate(p, scale_factor=2, mode="bilinear", align_corners=True),
                    F.interpolate(p, scale_factor=2, mode="nearest"), F.interpolate(p, size=(5, 3), mode="bicubic"))

    net = Net().eval()
    g = torch.Generator().manual_seed(5)
    example, x = torch.randn(1, 3, 16, 16, generator=g), torch.randn(1, 3, 16, 16, generator=g)
    compiled = attn_opt.compile(net, (example,))
    with torch.no_grad():
        want = net(x)
    for k, (a, b) in enumerate(zip(compiled(x), want)):
        torch.testing.assert_close(a, b, rtol=2e-4, atol=2e-5, msg=lambda m: f"output {k}: {m}")


def _no_gather_no_im2col(mlir: str, module: nn.Module, x: torch.Tensor) -> None:
    """No element-by-element gather (``tensor.extract`` in a generic: the
    old im2col and padding) and no im2col tensor [N, C, K..., O...]."""
    assert "tensor.extract " not in mlir, mlir
    with torch.no_grad():
        out = module(x).shape[2:]
    patches = "x".join(str(int(v)) for v in [*x.shape[:2], *module.kernel_size, *out])
    assert f"tensor<{patches}xf32>" not in mlir, mlir


@pytest.mark.parametrize("layer, shape", [
    (lambda: nn.Conv2d(6, 6, 3, padding=1, groups=6), (1, 6, 9, 11)),
    (lambda: nn.Conv2d(6, 6, 3, stride=2, padding=1, groups=6, bias=False), (2, 6, 9, 11)),
    (lambda: nn.Conv2d(4, 4, 5, padding=4, dilation=2, groups=4), (1, 4, 8, 8)),
    (lambda: nn.Conv2d(4, 4, (3, 2), stride=(3, 1), padding=(2, 0), dilation=(2, 1), groups=4), (1, 4, 10, 7)),
    (lambda: nn.Conv1d(5, 5, 3, padding=1, groups=5), (2, 5, 7)),
    (lambda: nn.Conv3d(3, 3, 3, padding=1, groups=3), (1, 3, 4, 5, 6)),
], ids=["3x3", "stride2-nobias", "dilated", "stride3-dilated-rect", "1d", "3d"])
def test_depthwise_convolution_reads_its_input_in_place(layer, shape, compiler) -> None:
    """One filter per channel: the sum over the kernel taps of a window of
    the padded input (of its stride phases) times the tap's weights, no
    im2col copy and no gather; matches eager."""
    torch.manual_seed(0)
    module = layer().eval()
    x = torch.randn(shape)
    compiled = attn_opt.compile(module, (x,))
    _no_gather_no_im2col(compiled.mlir, module, x)
    assert "attn.einsum" not in compiled.mlir
    x2 = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x2), module(x2), rtol=1e-5, atol=1e-5)


def test_bf16_convolution_taps_round_once(compiler) -> None:
    """A bf16 convolution as taps is computed in f32 and rounded once: its
    error against an f64 reference stays near eager's (summing the taps'
    bf16 products rounded each partial sum: 6.5e-3 here, against 3.4e-3)."""
    torch.manual_seed(0)
    module = nn.Conv2d(16, 8, 3, padding=1).eval().bfloat16()
    x = torch.randn(1, 16, 9, 11).bfloat16()
    compiled = attn_opt.compile(module, (x,))
    with torch.no_grad():
        want = F.conv2d(x.double(), module.weight.double(), module.bias.double(), padding=1)
        error = ((compiled(x).double() - want).abs().max() / want.abs().max()).item()
    assert error < 5e-3, error


@pytest.mark.parametrize("pool, shape", [
    (lambda x: F.max_pool2d(x, 3, stride=2, padding=1), (1, 4, 9, 11)),
    (lambda x: F.max_pool2d(x, 3, stride=2, ceil_mode=True), (2, 3, 8, 9)),
    (lambda x: F.max_pool2d(x, 2, dilation=2), (1, 3, 8, 8)),
    (lambda x: F.avg_pool2d(x, 3, stride=2, padding=1, count_include_pad=False), (1, 4, 9, 11)),
    (lambda x: F.avg_pool2d(x, 3, stride=1, padding=1), (1, 2, 6, 7)),
    (lambda x: F.max_pool1d(x, 5, stride=3, padding=2), (2, 3, 17)),
    (lambda x: F.avg_pool3d(x, 2), (1, 2, 4, 6, 6)),
], ids=["max-3x3-s2", "max-ceil", "max-dilated", "avg-exclude-pad", "avg-s1", "max-1d", "avg-3d"])
def test_pooling_reads_windows_in_place(pool, shape, compiler) -> None:
    """Max and average pooling: the elementwise max or sum of one window of
    the padded input (of its stride phases) per kernel tap, no gather;
    matches eager."""

    class Pool(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return pool(x)

    module = Pool()
    g = torch.Generator().manual_seed(0)
    compiled = attn_opt.compile(module, (torch.randn(shape, generator=g),))
    assert "tensor.extract " not in compiled.mlir, compiled.mlir
    x = torch.randn(shape, generator=g)
    torch.testing.assert_close(compiled(x), module(x), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("layer, shape, products", [
    (lambda: nn.Conv2d(16, 8, 3, padding=1), (1, 16, 9, 11), 9),
    (lambda: nn.Conv2d(16, 12, 3, stride=2, padding=1, bias=False), (2, 16, 9, 11), 9),
    (lambda: nn.Conv2d(16, 8, 3, padding=2, dilation=2), (1, 16, 8, 7), 9),
    (lambda: nn.Conv2d(32, 8, (3, 2), stride=(2, 3), padding=(1, 0), groups=2), (1, 32, 9, 10), 6),
    (lambda: nn.Conv1d(16, 4, 5, stride=2, padding=2), (2, 16, 13), 5),
    (lambda: nn.Conv3d(16, 4, 3, padding=1), (1, 16, 3, 4, 5), 27),
    # Stride phases as channels: one product per shift, ceil(k / s) of them
    # per dimension (whole strides; an RGB stem with zero taps; mixed).
    (lambda: nn.Conv2d(3, 8, 8, stride=4, padding=2), (1, 3, 30, 29), 4),
    (lambda: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 9, 12), 4),
    (lambda: nn.Conv2d(4, 6, (4, 3), stride=(2, 1), padding=1, groups=2), (1, 4, 9, 8), 6),
    (lambda: nn.Conv1d(2, 4, 5, stride=3), (1, 2, 17), 2),
], ids=["3x3", "stride2-nobias", "dilated", "groups-stride23-rect", "1d-stride2", "3d",
        "phases-whole", "phases-zero-taps", "phases-groups-mixed", "phases-1d"])
def test_convolution_sums_kernel_taps_in_place(layer, shape, products, compiler) -> None:
    """A convolution over 16 or more channels per group: one product per
    kernel tap, each reading a run of the flattened padded input in place
    (an implicit GEMM), no im2col copy and no gather; a strided one over
    fewer channels, or with whole strides, one product per shift over the
    stride phases as channels. Matches eager."""
    torch.manual_seed(0)
    module = layer().eval()
    x = torch.randn(shape)
    compiled = attn_opt.compile(module, (x,))
    _no_gather_no_im2col(compiled.mlir, module, x)
    assert compiled.mlir.count("attn.einsum") == products
    x2 = torch.randn(shape)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x2), module(x2), rtol=1e-5, atol=1e-5)


class _WindowProducts(nn.Module):
    """Products on windows as MaxViT and CrossFormer write them: a Linear
    and an MLP on "b x y w1 w2 d" windows (their rows collapse into one M of
    the micro-kernel), and 1x1 convolutions on a batch of 2 x 2 windows
    (N = 4 columns a window; the windows are the grouped kernel's groups,
    144 of them: more than one 512-column chunk), with a residual that the
    products accumulate onto."""

    def __init__(self, d: int = 16) -> None:
        super().__init__()
        self.qkv = nn.Linear(d, 3 * d, bias=False)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))
        self.pointwise = nn.Conv2d(d, 2 * d, 1)
        self.project = nn.Conv2d(2 * d, d, 1, bias=False)

    def forward(self, x: torch.Tensor):
        b, d, h, w = x.shape
        win = x.view(b, d, h // 7, 7, w // 7, 7).permute(0, 2, 4, 3, 5, 1).contiguous()
        rows = self.qkv(win), win + self.mlp(win)
        s = x[:, :, :24, :24].reshape(b, d, 12, 2, 12, 2).permute(0, 2, 4, 1, 3, 5).reshape(-1, d, 2, 2)
        t = self.pointwise(s)
        return (*rows, t, s + self.project(t))


def test_window_products_match_eager(compiler) -> None:
    torch.manual_seed(4)
    module = _WindowProducts().eval()
    shape = (1, 16, 28, 28)
    compiled = attn_opt.compile(module, (torch.randn(shape),))
    x = torch.randn(shape)
    with torch.no_grad():
        want = module(x)
    for g, w in zip(compiled(x), want):
        torch.testing.assert_close(g, w, rtol=2e-5, atol=2e-5)


@pytest.mark.parametrize("groups", [1, 2])
def test_convolution_taps_read_a_tap_major_weight(groups, compiler) -> None:
    """A stride-1 convolution summed over its taps gets its parameter weight
    prepared tap-major at load time ([3, 3, O, C / groups]), so that each
    tap's product reads one contiguous [O, C] matrix; matches eager."""
    torch.manual_seed(5)
    module = nn.Conv2d(32, 16, 3, padding=1, groups=groups).eval()
    x = torch.randn(1, 32, 9, 11)
    compiled = attn_opt.compile(module, (x,))
    assert f"tensor<3x3x16x{32 // groups}xf32>" in compiled.mlir
    assert f"tensor<16x{32 // groups}x3x3xf32>" not in compiled.mlir
    x2 = torch.randn(1, 32, 9, 11)
    with torch.no_grad():
        torch.testing.assert_close(compiled(x2), module(x2), rtol=1e-5, atol=1e-5)
