"""Runs zoo entries: compile, match, count fused attentions, time.

One row per model: compiled / matched / fused k of n / speed vs eager / the
first unsupported op or the first near-miss remark. n counts the attentions
in the captured graph independently of the recogniser: every softmax and
every scaled_dot_product_attention node; k is what attn-opt turns into
attn.attention (recognised or stated as SDPA).
"""

from __future__ import annotations

import statistics
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any, Optional

import torch

from .corpus import Entry

_SOFTMAX = {"softmax", "_softmax", "_safe_softmax", "log_softmax", "_log_softmax"}
_SDPA = {"scaled_dot_product_attention", "_scaled_dot_product_flash_attention_for_cpu",
         "_scaled_dot_product_attention_math", "_scaled_dot_product_efficient_attention",
         "_scaled_dot_product_cudnn_attention", "_scaled_dot_product_flash_attention"}


@dataclass
class Row:
    family: str
    model: str
    compiled: bool = False
    matched: bool = False
    attentions: int = 0
    fused: int = 0
    error: float = float("nan")  # max |compiled - eager| / max |eager|
    argmax_equal: Optional[bool] = None
    eager_ms: float = float("nan")
    compiled_ms: float = float("nan")
    compile_s: float = float("nan")
    ir_bytes: int = 0
    note: str = ""
    # The published model itself fails in eager PyTorch: not counted.
    excluded: bool = False

    @property
    def speedup(self) -> float:
        return self.eager_ms / self.compiled_ms if self.compiled_ms == self.compiled_ms and self.compiled_ms else \
            float("nan")

    def as_dict(self) -> dict:
        d = asdict(self)
        d["speedup"] = self.speedup
        return d


def count_attentions(graph: torch.fx.Graph) -> int:
    from ..ops import packet_name
    return sum(1 for n in graph.nodes if n.op == "call_function" and packet_name(n.target) in _SOFTMAX | _SDPA)


def _median_ms(fn: Any, runs: int) -> float:
    fn()  # warm
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def run_entry(entry: Entry, small: bool = False, runs: int = 3, rtol: float = 1e-4) -> Row:
    """Builds, compiles and checks one entry; never raises."""
    import attn_opt
    from ..capture import lower
    from ..explain import direct_attentions, remarks_of

    row = Row(entry.family, entry.name)
    try:
        model, make_inputs = entry.build(small)
        example, test = make_inputs(0), make_inputs(1)
    except Exception as exc:  # noqa: BLE001 - a row, not a crash
        row.note = f"build failed: {type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}"
        return row
    try:
        with torch.no_grad():
            model(*example)
    except Exception as exc:  # noqa: BLE001 - the model's own bug
        row.excluded = True
        row.note = f"the model fails in eager PyTorch: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}"
        return row
    try:
        lowered, captured = lower(model, example, strict=False)
        row.attentions = count_attentions(captured.program.graph)
        row.ir_bytes = len(lowered.mlir.encode())
        if lowered.unsupported:
            first = lowered.unsupported[0]
            row.note = f"{str(first).splitlines()[0]} at {first.source or 'unknown line'}"
            return row
        remarks = remarks_of(lowered.mlir)
        row.fused = sum(r.fused for r in remarks) + len(direct_attentions(lowered.mlir))
        misses = [r for r in remarks if not r.fused]
        if misses:
            row.note = f"near miss: {misses[0]}"
        elif row.fused < row.attentions:
            row.note = "a softmax without a remark (not an attention chain)"
        start = time.perf_counter()
        compiled = attn_opt.compile(model, example)
        row.compile_s = time.perf_counter() - start
        row.compiled = True
        with torch.no_grad():
            want = entry.select(model(*test))
            got = entry.select(compiled(*test))
            scale = float(want.abs().max()) or 1.0
            row.error = float((got.double() - want.double()).abs().max()) / scale
            ok = got.shape == want.shape and row.error <= rtol
            if entry.kind == "logits":
                row.argmax_equal = bool((got.argmax(-1) == want.argmax(-1)).all())
                ok = ok and row.argmax_equal
            row.matched = ok
            if not ok and not row.note:
                row.note = f"mismatch: relative error {row.error:.2e}"
            if runs:
                row.eager_ms = _median_ms(lambda: model(*test), runs)
                row.compiled_ms = _median_ms(lambda: compiled(*test), runs)
    except Exception as exc:  # noqa: BLE001 - a row, not a crash
        text = str(exc).strip().splitlines()
        head = text[0] if text else type(exc).__name__
        src = next((l.strip() for l in text[1:] if l.strip().startswith("at ")), "")
        row.note = (f"{type(exc).__name__}: {head[:240]} {src[:200]}").strip()
        if not isinstance(exc, attn_opt.AttnOptError):
            row.note += " | " + traceback.format_exc().strip().splitlines()[-1][:200]
    return row
