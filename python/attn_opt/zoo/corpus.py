"""The model zoo's corpus: published attention code from the package registry.

Every entry builds its model with random weights (nothing is downloaded)
and draws inputs from a seed. ``small=True`` gives the configuration CI
runs (seconds per model); the default is the model at its real size where
that fits this machine (the published configs of timm and HF; for vit-pytorch,
whose models have no canonical sizes, the README's example configs).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

Inputs = Tuple[Any, ...]


@dataclass
class Entry:
    family: str
    name: str
    # (small) -> (model, inputs(seed))
    build: Callable[[bool], Tuple[nn.Module, Callable[[int], Inputs]]]
    kind: str = "features"  # "logits": argmax must agree too
    ci: bool = False  # in the CI subset (one per family)
    # Extracts the tensor to compare from the model's output.
    select: Callable[[Any], torch.Tensor] = lambda out: out
    note: str = ""


def _randn(*shape: int) -> Callable[[int], Inputs]:
    return lambda seed: (torch.randn(*shape, generator=torch.Generator().manual_seed(seed)),)


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _first(out: Any) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, (tuple, list)):
        return _first(out[0])
    if isinstance(out, dict) or hasattr(out, "keys"):
        for key in ("logits", "last_hidden_state", "pooler_output"):
            if key in out and out[key] is not None:
                return out[key]
        return _first(next(iter(out.values())))
    raise TypeError(f"cannot find a tensor in {type(out).__name__}")


# -- d2l ------------------------------------------------------------------------


def _d2l() -> Any:
    from . import d2l_attention
    return d2l_attention


def _lengths(b: int, n: int, seed: int, per_query: int = 0) -> torch.Tensor:
    g = _gen(seed + 100)
    if per_query:
        return torch.randint(1, n + 1, (b, per_query), generator=g)
    return torch.randint(1, n + 1, (b,), generator=g)


def _materialise(model: nn.Module, inputs: Inputs) -> nn.Module:
    """Runs a model with lazy modules (d2l uses nn.LazyLinear) once."""
    with torch.no_grad():
        model(*inputs)
    return model.eval()


class _Call(nn.Module):
    """A function of the book (no nn.Module) as a module."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        super().__init__()
        self.fn = fn

    def forward(self, *args: Any) -> Any:
        return self.fn(*args)


def _d2l_entries() -> List[Entry]:
    def dot(small: bool, per_query: bool):
        d = _d2l()
        b, q, k, dim, dv = 2, 5, 10, 8, 6

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            return (torch.randn(b, q, dim, generator=g), torch.randn(b, k, dim, generator=g),
                    torch.randn(b, k, dv, generator=g), _lengths(b, k, seed, q if per_query else 0))
        return d.DotProductAttention(0.5).eval(), inputs

    def additive(small: bool):
        d = _d2l()
        b, q, k = 2, 4, 10

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            return (torch.randn(b, q, 20, generator=g), torch.randn(b, k, 2, generator=g),
                    torch.randn(b, k, 4, generator=g), _lengths(b, k, seed))
        return _materialise(d.AdditiveAttention(num_hiddens=8, dropout=0.1), inputs(0)), inputs

    def mha(small: bool):
        d = _d2l()
        h, n = (100, 5) if small else (512, 8)
        b, q, k = 2, 4, 6

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            return (torch.randn(b, q, h, generator=g), torch.randn(b, k, h, generator=g),
                    torch.randn(b, k, h, generator=g), _lengths(b, k, seed))
        return _materialise(d.MultiHeadAttention(h, n, 0.5), inputs(0)), inputs

    def block(small: bool):
        d = _d2l()
        h = 24 if small else 512

        def inputs(seed: int) -> Inputs:
            return (torch.randn(2, 100, h, generator=_gen(seed)), _lengths(2, 100, seed))
        return _materialise(d.TransformerEncoderBlock(h, 48 if small else 2048, 8, 0.5), inputs(0)), inputs

    def encoder(small: bool):
        d = _d2l()
        h, blocks = (24, 2) if small else (256, 2)

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            return (torch.randint(0, 200, (2, 100), generator=g), _lengths(2, 100, seed))
        return _materialise(d.TransformerEncoder(200, h, 48 if small else 64, 8, blocks, 0.5), inputs(0)), inputs

    def bert(small: bool):
        d = _d2l()
        h = 128 if small else 768

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            return (torch.randint(0, 10000, (2, 8), generator=g), torch.randint(0, 2, (2, 8), generator=g),
                    _lengths(2, 8, seed))
        model = d.BERTEncoder(10000, h, 256 if small else 1024, 4, 2, 0.2)
        return _materialise(model, inputs(0)), inputs

    def nw(small: bool):
        d = _d2l()
        n_train, n_test = 50, 50

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            x_train = torch.sort(torch.rand(n_train, generator=g) * 5).values
            y_train = 2 * torch.sin(x_train) + x_train ** 0.8
            x_test = torch.arange(0, 5, 0.1)
            keys = x_train.repeat((n_test, 1))
            values = y_train.repeat((n_test, 1))
            return (x_test, keys, values)
        torch.manual_seed(0)
        return d.NWKernelRegression().eval(), inputs

    def nw_function(small: bool):
        d = _d2l()

        def inputs(seed: int) -> Inputs:
            g = _gen(seed)
            x_train = torch.sort(torch.rand(40, generator=g) * 5).values
            y_train = 2 * torch.sin(x_train) + x_train ** 0.8
            return (x_train, y_train, torch.arange(0, 5, 0.1))
        return _Call(lambda xt, yt, xv: d.nadaraya_watson(xt, yt, xv, d.gaussian)[0]).eval(), inputs

    return [
        Entry("d2l", "DotProductAttention(valid_lens 1-D)", lambda s: dot(s, False), ci=True),
        Entry("d2l", "DotProductAttention(valid_lens 2-D)", lambda s: dot(s, True)),
        Entry("d2l", "AdditiveAttention", additive),
        Entry("d2l", "MultiHeadAttention", mha),
        Entry("d2l", "TransformerEncoderBlock", block),
        Entry("d2l", "TransformerEncoder", encoder),
        Entry("d2l", "BERTEncoder", bert),
        Entry("d2l", "NWKernelRegression (0.17)", nw),
        Entry("d2l", "nadaraya_watson (1.0)", nw_function),
    ]


# -- vit-pytorch ----------------------------------------------------------------

# Constructor keyword arguments: (small, README-size).
_VIT_COMMON_SMALL = dict(image_size=32, patch_size=8, num_classes=10, dim=64, depth=2, heads=4, mlp_dim=128,
                         dim_head=16)
_VIT_COMMON = dict(image_size=256, patch_size=32, num_classes=1000, dim=1024, depth=6, heads=16, mlp_dim=2048)

_VIT_PYTORCH: Dict[str, Tuple[str, str, Dict[str, Any], Dict[str, Any]]] = {
    # name: (module, class, small kwargs, real kwargs)
    "ViT": ("vit", "ViT", {}, {}),
    "SimpleViT": ("simple_vit", "SimpleViT", {}, {}),
    "CaiT": ("cait", "CaiT", dict(cls_depth=1), dict(cls_depth=2, depth=12)),
    "DeepViT": ("deepvit", "DeepViT", {}, {}),
    "CrossViT": ("cross_vit", "CrossViT", "crossvit", "crossvit"),
    "T2TViT": ("t2t", "T2TViT", "t2t", "t2t"),
    "CvT": ("cvt", "CvT", "cvt", "cvt"),
    "CCT": ("cct", "CCT", "cct", "cct"),
    "PiT": ("pit", "PiT", "pit", "pit"),
    "LeViT": ("levit", "LeViT", "levit", "levit"),
    "RegionViT": ("regionvit", "RegionViT", "regionvit", "regionvit"),
    "CrossFormer": ("crossformer", "CrossFormer", "crossformer", "crossformer"),
    "ScalableViT": ("scalable_vit", "ScalableViT", "scalable", "scalable"),
    "SepViT": ("sep_vit", "SepViT", "sepvit", "sepvit"),
    "MaxViT": ("max_vit", "MaxViT", "maxvit", "maxvit"),
    "NesT": ("nest", "NesT", "nest", "nest"),
    "MobileViT": ("mobile_vit", "MobileViT", "mobilevit", "mobilevit"),
    "XCiT": ("xcit", "XCiT", dict(cls_depth=1), dict(cls_depth=2, depth=12)),
    "TwinsSVT": ("twins_svt", "TwinsSVT", "twins", "twins"),
    "LocalViT": ("local_vit", "LocalViT", {}, {}),
    "ParallelViT": ("parallel_vit", "ViT", {}, {}),
    "ViT for small datasets": ("vit_for_small_dataset", "ViT", {}, {}),
    "SimpleViT with qk norm": ("simple_vit_with_qk_norm", "SimpleViT", {}, {}),
    "SimpleViT with register tokens": ("simple_vit_with_register_tokens", "SimpleViT", {}, {}),
    "SimpleViT with patch dropout": ("simple_vit_with_patch_dropout", "SimpleViT", {}, {}),
    "RvT": ("rvt", "RvT", {}, {}),
    "SimpleViT (flash)": ("simple_flash_attn_vit", "SimpleViT", {}, {}),
    "ViT with patch merger": ("vit_with_patch_merger", "ViT", dict(patch_merge_layer=1), dict(patch_merge_layer=4)),
    "ViT with learnable memory": ("learnable_memory_vit", "ViT", {}, {}),
    "ViT 1-D": ("vit_1d", "ViT", "vit1d", "vit1d"),
    "SimpleViT 1-D": ("simple_vit_1d", "SimpleViT", "vit1d_simple", "vit1d_simple"),
    "ViT 3-D": ("vit_3d", "ViT", "vit3d", "vit3d"),
    "SimpleViT 3-D": ("simple_vit_3d", "SimpleViT", "vit3d_simple", "vit3d_simple"),
    "nViT": ("normalized_vit", "nViT", {}, {}),
    "SimpleUViT": ("simple_uvit", "SimpleUViT", {}, {}),
    # vit-pytorch 1.26.14 passes hidden widths where its FeedForward takes a multiplier
    # (FeedForward(6144, 6144 * 2): a 1.8 TB Linear at README size; FeedForward(dim, mlp_dim)
    # in every layer: 1024 x 2048 = 2M hidden units, 100 GB of weights). A jumbo_ff_mult
    # that makes the first product the paper's 2, and mlp_dim = 2048 / 1024 = 2 as the
    # multiplier, build the intended 2x feed-forwards.
    "JumboViT": ("jumbo_vit", "JumboViT", dict(jumbo_ff_mult=2 / (64 * 6), mlp_dim=2),
                 dict(jumbo_ff_mult=2 / (1024 * 6), mlp_dim=2)),
    "SimpleViT with value residual": ("simple_vit_with_value_residual", "SimpleViT", {}, {}),
    "SimpleViT with relative pos bias": ("simple_vit_with_relative_proj_pos_bias", "SimpleViT", {}, {}),
    "ViT-5": ("vit_5", "ViT", {}, {}),
    "SimpleViT with specialized cls": ("simple_vit_with_specialized_cls", "SimpleViT", {}, {}),
    "ViT with keel post-LN": ("vit_with_keel_post_ln", "ViT", {}, {}),
    "SimpleViT attn residual": ("simple_vit_attn_residual", "SimpleViTAttnResidual", {}, {}),
}


def _vit_special(kind: str, small: bool) -> Tuple[Dict[str, Any], Tuple[int, ...]]:
    """kwargs and input shape of the models with their own signatures."""
    s = small
    if kind == "crossvit":
        return dict(image_size=32 if s else 256, num_classes=10, sm_dim=32 if s else 192, lg_dim=64 if s else 384,
                    sm_patch_size=8 if s else 16, sm_enc_depth=1, sm_enc_heads=2 if s else 8,
                    sm_enc_mlp_dim=64 if s else 2048, lg_patch_size=16 if s else 64, lg_enc_depth=1 if s else 3,
                    lg_enc_heads=2 if s else 8, lg_enc_mlp_dim=64 if s else 2048, cross_attn_depth=1 if s else 2,
                    cross_attn_heads=2 if s else 8, sm_enc_dim_head=16 if s else 64, lg_enc_dim_head=16 if s else 64,
                    cross_attn_dim_head=16 if s else 64), (1, 3, 32 if s else 256, 32 if s else 256)
    if kind == "t2t":
        return dict(image_size=64 if s else 224, num_classes=10, dim=64 if s else 512, depth=2 if s else 5,
                    heads=2 if s else 8, mlp_dim=128 if s else 512, dim_head=16 if s else 64,
                    t2t_layers=((7, 4), (3, 2), (3, 2))), (1, 3, 64 if s else 224, 64 if s else 224)
    if kind == "cvt":
        return dict(num_classes=10, s1_emb_dim=16 if s else 64, s2_emb_dim=32 if s else 192,
                    s3_emb_dim=64 if s else 384, s3_depth=2 if s else 10), (1, 3, 64 if s else 224, 64 if s else 224)
    if kind == "cct":
        return dict(img_size=(32, 32) if s else (224, 448), embedding_dim=64 if s else 384, n_conv_layers=2,
                    kernel_size=7, stride=2, padding=3, pooling_kernel_size=3, pooling_stride=2, pooling_padding=1,
                    num_layers=2 if s else 14, num_heads=2 if s else 6, mlp_ratio=2.0 if s else 3.0,
                    num_classes=10, positional_embedding="learnable"), (1, 3, 32 if s else 224, 32 if s else 448)
    if kind == "pit":
        return dict(image_size=32 if s else 224, patch_size=8 if s else 14, num_classes=10, dim=64 if s else 256,
                    depth=(1, 1, 1) if s else (3, 3, 3), heads=4 if s else 16, mlp_dim=128 if s else 2048,
                    dim_head=16 if s else 64), (1, 3, 32 if s else 224, 32 if s else 224)
    if kind == "levit":
        return dict(image_size=64 if s else 224, num_classes=10, stages=3, dim=(32, 64, 96) if s else (256, 384, 512),
                    depth=2 if s else 4, heads=(2, 2, 2) if s else (4, 6, 8), mlp_mult=2, dim_key=16 if s else 32,
                    dim_value=16 if s else 64), (1, 3, 64 if s else 224, 64 if s else 224)
    if kind == "regionvit":
        return dict(dim=(16, 32, 64, 128) if s else (64, 128, 256, 512), depth=(1, 1, 1, 1) if s else (2, 2, 8, 2),
                    window_size=7, num_classes=10, tokenize_local_3_conv=False, use_peg=False), (1, 3, 224, 224)
    if kind == "crossformer":
        return dict(num_classes=10, dim=(32, 64, 128, 256) if s else (64, 128, 256, 512),
                    depth=(1, 1, 1, 1) if s else (2, 2, 8, 2), global_window_size=(8, 4, 2, 1),
                    local_window_size=7), (1, 3, 224, 224)
    if kind == "scalable":
        return dict(num_classes=10, dim=16 if s else 64, heads=(1, 2, 4, 8) if s else (2, 4, 8, 16),
                    depth=(1, 1, 1, 1) if s else (2, 2, 20, 2), ssa_dim_key=(8, 8, 8, 8) if s else (40, 40, 40, 32),
                    reduction_factor=(8, 4, 2, 1), window_size=(8, 8, None, None)), (1, 3, 64 if s else 256,
                                                                                      64 if s else 256)
    if kind == "sepvit":
        return dict(num_classes=10, dim=16 if s else 32, dim_head=8 if s else 32, heads=(1, 2, 4, 8),
                    depth=(1, 1, 1, 1) if s else (1, 2, 6, 2), window_size=7), (1, 3, 224, 224)
    if kind == "maxvit":
        return dict(num_classes=10, dim_conv_stem=16 if s else 64, dim=16 if s else 96, dim_head=8 if s else 32,
                    depth=(1, 1, 1, 1) if s else (2, 2, 5, 2), window_size=7, mbconv_expansion_rate=4,
                    mbconv_shrinkage_rate=0.25, dropout=0.0), (1, 3, 224, 224)
    if kind == "nest":
        return dict(image_size=64 if s else 224, patch_size=4, dim=32 if s else 96, heads=2 if s else 3,
                    num_hierarchies=3, block_repeats=(1, 1, 1) if s else (2, 2, 8), num_classes=10,
                    dim_head=16 if s else 64), (1, 3, 64 if s else 224, 64 if s else 224)
    if kind == "mobilevit":
        return dict(image_size=(64, 64) if s else (256, 256),
                    dims=[16, 24, 32] if s else [96, 120, 144],
                    channels=[8, 8, 16, 16, 24, 24, 32, 32, 48, 48, 64] if s else
                    [16, 32, 64, 64, 96, 96, 128, 128, 160, 160, 640],
                    num_classes=10), (1, 3, 64 if s else 256, 64 if s else 256)
    if kind == "twins":
        return dict(num_classes=10, s1_emb_dim=16 if s else 64, s2_emb_dim=32 if s else 128,
                    s3_emb_dim=64 if s else 256, s4_emb_dim=128 if s else 512,
                    s3_depth=1 if s else 5), (1, 3, 224, 224)
    if kind in ("vit1d", "vit1d_simple"):
        return dict(seq_len=64 if s else 256, patch_size=8 if s else 16, num_classes=10, dim=64 if s else 1024,
                    depth=2 if s else 6, heads=4 if s else 8, mlp_dim=128 if s else 2048, channels=3,
                    dim_head=16 if s else 64), (1, 3, 64 if s else 256)
    if kind in ("vit3d", "vit3d_simple"):
        return dict(image_size=32 if s else 128, frames=8 if s else 16, image_patch_size=8 if s else 16,
                    frame_patch_size=2, num_classes=10, dim=64 if s else 1024, depth=2 if s else 6,
                    heads=4 if s else 8, mlp_dim=128 if s else 2048, dim_head=16 if s else 64), \
            (1, 3, 8 if s else 16, 32 if s else 128, 32 if s else 128)
    raise KeyError(kind)


def _vit_pytorch_entries() -> List[Entry]:
    def make(name: str):
        module, cls_name, small_kw, real_kw = _VIT_PYTORCH[name]

        def build(small: bool):
            cls = getattr(importlib.import_module(f"vit_pytorch.{module}"), cls_name)
            kw = small_kw if small else real_kw
            if isinstance(kw, str):
                kwargs, shape = _vit_special(kw, small)
            else:
                kwargs = dict(_VIT_COMMON_SMALL if small else _VIT_COMMON)
                kwargs.update(kw)
                shape = (1, 3, kwargs["image_size"], kwargs["image_size"])
            torch.manual_seed(0)
            return cls(**kwargs).eval(), _randn(*shape)
        return build

    return [Entry("vit-pytorch", name, make(name), kind="logits", ci=(name == "ViT")) for name in _VIT_PYTORCH]


# -- timm -----------------------------------------------------------------------

TIMM_FAMILIES = ("vit", "deit", "beit", "eva", "swin", "swinv2", "cait", "xcit", "convit", "levit", "pit",
                 "twins", "coat", "crossvit", "maxvit", "maxxvit", "mvitv2", "efficientformer", "efficientformerv2",
                 "fastvit", "volo", "tnt", "pvt_v2", "nest", "davit", "gcvit", "tiny_vit", "flexivit", "samvit",
                 "hiera", "vitamin", "eva02", "deit3", "coatnet", "mobilevit", "mobilevitv2", "poolformer")


def timm_family(name: str) -> Optional[str]:
    best = None
    for fam in TIMM_FAMILIES:
        if name == fam or name.startswith(fam + "_"):
            if best is None or len(fam) > len(best):
                best = fam
    return best


def _timm_entries() -> List[Entry]:
    import timm

    def make(name: str, small: bool = False, **extra: Any):
        def build(small_: bool):
            torch.manual_seed(0)
            kwargs = dict(extra)
            model = timm.create_model(name, pretrained=False, **kwargs).eval()
            cfg = model.pretrained_cfg if hasattr(model, "pretrained_cfg") else model.default_cfg
            size = kwargs.get("img_size", cfg.get("input_size", (3, 224, 224))[-1])
            c = cfg.get("input_size", (3, 224, 224))[0]
            return model, _randn(1, c, size, size)
        return build

    out = [Entry("timm", "vit_tiny_patch16_224 (img 64)", make("vit_tiny_patch16_224", img_size=64),
                 kind="logits", ci=True)]
    for name in timm.list_models():
        fam = timm_family(name)
        if fam is not None:
            out.append(Entry("timm", name, make(name), kind="logits"))
    return out


# -- HF transformers ------------------------------------------------------------


def _hf_entries() -> List[Entry]:
    def text(cls_name: str, config: Callable[[bool], Any], seq: int = 128, causal: bool = False,
             pad: bool = True, vocab: int = 1000):
        def build(small: bool):
            import transformers
            torch.manual_seed(0)
            cfg = config(small)
            cfg._attn_implementation = "sdpa"
            if hasattr(cfg, "use_cache"):
                cfg.use_cache = False
            model = _KwargsModel(getattr(transformers, cls_name)(cfg).eval(), ("input_ids", "attention_mask"))
            n = 16 if small else seq

            def inputs(s: int) -> Inputs:
                g = _gen(s)
                ids = torch.randint(0, min(vocab, cfg.vocab_size), (2, n), generator=g)
                mask = torch.ones(2, n, dtype=torch.long)
                if pad:
                    mask[1, n - n // 4:] = 0
                return (ids, mask)
            return model, inputs
        return build

    def cfg(cls_name: str, small_kw: Dict[str, Any], real_kw: Optional[Dict[str, Any]] = None):
        def make(small: bool):
            import transformers
            return getattr(transformers, cls_name)(**(small_kw if small else (real_kw or {})))
        return make

    small_enc = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                     vocab_size=1000, max_position_embeddings=128)
    entries = [
        Entry("hf", "BERT", text("BertModel", cfg("BertConfig", small_enc)), ci=True),
        Entry("hf", "RoBERTa", text("RobertaModel", cfg("RobertaConfig", dict(small_enc, pad_token_id=1)))),
        Entry("hf", "DistilBERT", text("DistilBertModel", cfg("DistilBertConfig", dict(
            dim=64, n_layers=2, n_heads=4, hidden_dim=128, vocab_size=1000, max_position_embeddings=128)))),
        Entry("hf", "GPT-2", text("GPT2Model", cfg("GPT2Config", dict(n_embd=64, n_layer=2, n_head=4,
                                                                        vocab_size=1000, n_positions=128)),
                                  causal=True)),
        Entry("hf", "Llama (GQA)", text("LlamaModel", cfg("LlamaConfig", dict(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, max_position_embeddings=256), dict(
            hidden_size=1024, intermediate_size=2816, num_hidden_layers=4, num_attention_heads=16,
            num_key_value_heads=4, vocab_size=32000, max_position_embeddings=2048)), causal=True)),
        Entry("hf", "Mistral (sliding window)", text("MistralModel", cfg("MistralConfig", dict(
            hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, vocab_size=1000, sliding_window=8, max_position_embeddings=256), dict(
            hidden_size=1024, intermediate_size=2816, num_hidden_layers=4, num_attention_heads=16,
            num_key_value_heads=4, vocab_size=32000, sliding_window=64, max_position_embeddings=2048)),
            causal=True)),
    ]

    def t5(small: bool):
        import transformers
        torch.manual_seed(0)
        c = transformers.T5Config(**(dict(d_model=64, d_kv=16, d_ff=128, num_layers=2, num_heads=4,
                                          vocab_size=1000) if small else {}))
        c._attn_implementation = "eager"
        c.use_cache = False
        model = transformers.T5Model(c).eval()
        n = 16 if small else 128

        def inputs(s: int) -> Inputs:
            g = _gen(s)
            return (torch.randint(0, 1000, (2, n), generator=g), torch.ones(2, n, dtype=torch.long),
                    torch.randint(0, 1000, (2, n // 2), generator=g))
        return _KwargsModel(model, ("input_ids", "attention_mask", "decoder_input_ids")), inputs

    def vision(cls_name: str, config_name: str, small_kw: Dict[str, Any], size: int, channels: int = 3):
        def build(small: bool):
            import transformers
            torch.manual_seed(0)
            c = getattr(transformers, config_name)(**(small_kw if small else {}))
            c._attn_implementation = "sdpa"
            model = getattr(transformers, cls_name)(c).eval()
            s = small_kw.get("image_size", size) if small else getattr(c, "image_size", size)
            return _KwargsModel(model, ("pixel_values",)), _randn(1, channels, s, s)
        return build

    def whisper(small: bool):
        import transformers
        torch.manual_seed(0)
        c = transformers.WhisperConfig(**(dict(d_model=64, encoder_layers=2, encoder_attention_heads=4,
                                               decoder_attention_heads=4, encoder_ffn_dim=128,
                                               max_source_positions=100, num_mel_bins=80)
                                          if small else dict(d_model=384, encoder_layers=4,
                                                             encoder_attention_heads=6, encoder_ffn_dim=1536)))
        c._attn_implementation = "sdpa"
        encoder = transformers.WhisperModel(c).encoder.eval()
        frames = 2 * c.max_source_positions
        return _KwargsModel(encoder, ("input_features",)), _randn(1, 80, frames)

    def clip_text(small: bool):
        import transformers
        torch.manual_seed(0)
        c = transformers.CLIPTextConfig(**(dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                                num_attention_heads=4, vocab_size=1000) if small else {}))
        c._attn_implementation = "sdpa"
        model = transformers.CLIPTextModel(c).eval()
        n = 16 if small else 77

        def inputs(s: int) -> Inputs:
            return (torch.randint(0, 1000, (2, n), generator=_gen(s)),)
        return _KwargsModel(model, ("input_ids",)), inputs

    entries += [
        Entry("hf", "T5 (relative position bias)", t5),
        Entry("hf", "ViT", vision("ViTModel", "ViTConfig", dict(hidden_size=64, num_hidden_layers=2,
                                                                num_attention_heads=4, intermediate_size=128,
                                                                image_size=32, patch_size=8), 224)),
        Entry("hf", "CLIP vision", vision("CLIPVisionModel", "CLIPVisionConfig", dict(
            hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128, image_size=32,
            patch_size=8), 224)),
        Entry("hf", "CLIP text (causal)", clip_text),
        Entry("hf", "Whisper encoder", whisper),
    ]
    for e in entries:
        e.select = _first
    return entries


class _KwargsModel(nn.Module):
    """Calls an HF model with keyword arguments from positional inputs and
    returns its main tensor."""

    def __init__(self, model: nn.Module, names: Sequence[str]) -> None:
        super().__init__()
        self.model = model
        self.names = tuple(names)

    def forward(self, *args: Any) -> torch.Tensor:
        return _first(self.model(**dict(zip(self.names, args))))


# -- x-transformers -------------------------------------------------------------


def _x_transformers_entries() -> List[Entry]:
    def make(kind: str, **attn: Any):
        def build(small: bool):
            from x_transformers import Decoder, Encoder, TransformerWrapper
            torch.manual_seed(0)
            layers = Decoder if kind == "decoder" else Encoder
            dim, depth, heads = (64, 2, 4) if small else (512, 6, 8)
            model = TransformerWrapper(num_tokens=1000, max_seq_len=256,
                                       attn_layers=layers(dim=dim, depth=depth, heads=heads, **attn)).eval()
            n = 16 if small else 128
            return model, lambda s: (torch.randint(0, 1000, (2, n), generator=_gen(s)),)
        return build

    return [
        Entry("x-transformers", "Encoder", make("encoder"), kind="logits", ci=True),
        Entry("x-transformers", "Encoder (rotary)", make("encoder", rotary_pos_emb=True), kind="logits"),
        Entry("x-transformers", "Decoder (causal)", make("decoder"), kind="logits"),
        Entry("x-transformers", "Decoder (ALiBi)", make("decoder", alibi_pos_bias=True, alibi_num_heads=4),
              kind="logits"),
        Entry("x-transformers", "Decoder (GQA)", make("decoder", attn_kv_heads=2), kind="logits"),
        Entry("x-transformers", "Decoder (rotary, GQA)", make("decoder", rotary_pos_emb=True, attn_kv_heads=2),
              kind="logits"),
    ]


FAMILIES: Dict[str, Callable[[], List[Entry]]] = {
    "d2l": _d2l_entries,
    "vit-pytorch": _vit_pytorch_entries,
    "timm": _timm_entries,
    "hf": _hf_entries,
    "x-transformers": _x_transformers_entries,
}


def entries(families: Optional[Sequence[str]] = None) -> List[Entry]:
    out: List[Entry] = []
    for fam in families or FAMILIES:
        if fam not in FAMILIES:
            raise ValueError(f"unknown family {fam!r}: expected one of {', '.join(FAMILIES)}")
        out += FAMILIES[fam]()
    return out

