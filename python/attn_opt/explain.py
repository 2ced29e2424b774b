"""``attn_opt.explain``: what fused, what did not and why, with source lines
(in the spirit of ``torch._dynamo.explain``).

The model is captured and translated without stopping at the first
unsupported op (every one is listed), then attention recognition runs with
remarks on: each ``fused attention`` and each near miss (``attention not
fused: <reason>``) comes back with the user's line it points at.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional

from .errors import ToolError, UnsupportedOperationError

_REMARK = re.compile(r"^(?P<file>.+?):(?P<line>\d+):(?P<col>\d+): remark: (?P<message>.*)$")
_LOC_ALIAS = re.compile(r'^(#loc\d+) = loc\("(?P<file>(?:[^"\\]|\\.)*)":(?P<line>\d+):\d+\)$', re.M)
_DIRECT = re.compile(r"= attn\.attention [^\n]*?(?: loc\((#loc\d+)\))?$", re.M)


@dataclass
class Remark:
    fused: bool
    message: str
    filename: Optional[str] = None
    lineno: Optional[int] = None

    def __str__(self) -> str:
        where = f"{self.filename}:{self.lineno}: " if self.filename else ""
        return where + self.message


@dataclass
class Explanation:
    remarks: List[Remark] = field(default_factory=list)
    # Attention that the model states as such (scaled_dot_product_attention):
    # attn.attention from the start, nothing to recognise.
    direct: List[Remark] = field(default_factory=list)
    unsupported: List[UnsupportedOperationError] = field(default_factory=list)
    fallbacks: List[Any] = field(default_factory=list)  # torch.compile mode: what stayed in PyTorch
    mlir: List[str] = field(default_factory=list)

    @property
    def fused(self) -> int:
        """Attentions that reach attn.attention: recognised or stated."""
        return sum(1 for r in self.remarks if r.fused) + len(self.direct)

    @property
    def not_fused(self) -> List[Remark]:
        return [r for r in self.remarks if not r.fused]

    def __str__(self) -> str:
        lines = [f"{self.fused} attention(s) fused, {len(self.not_fused)} near miss(es), "
                 f"{len(self.unsupported)} unsupported op(s)"]
        lines += [f"  fused: {r}" for r in self.remarks if r.fused]
        lines += [f"  attention as written: {r}" for r in self.direct]
        lines += [f"  not fused: {r}" for r in self.not_fused]
        lines += [f"  unsupported: {str(u).splitlines()[0]} ({u.source or 'unknown line'})" for u in self.unsupported]
        lines += [f"  left to PyTorch: {f.op} ({f.source or 'unknown line'}): {f.reason}" for f in self.fallbacks]
        return "\n".join(lines)


def remarks_of(mlir: str) -> List[Remark]:
    """Runs attention recognition on ``mlir`` with remarks on."""
    from .runtime import find_tool
    tool = find_tool("attn-opt")
    if tool is None:
        raise ToolError("attn-opt not found: build it (./scripts/build.sh) or set ATTN_OPT_BUILD_DIR")
    proc = subprocess.run([str(tool), "-", "--canonicalize", "--attn-fold-slice-updates",
                           "--attn-fuse-attention=remarks=true", "-o",
                           "/dev/null"], input=mlir, capture_output=True, text=True)
    if proc.returncode != 0:
        # The first error on the first line: reports that keep one line
        # (the zoo's rows) still say what went wrong.
        first = next((line for line in proc.stderr.splitlines() if "error:" in line), "")
        raise ToolError(f"attn-opt rejected the IR: {first.strip()}\n" + proc.stderr[-3000:])
    out: List[Remark] = []
    for line in proc.stderr.splitlines():
        m = _REMARK.match(line)
        if not m:
            continue
        message = m.group("message")
        fused = message.startswith("fused attention")
        if not fused and "not fused" not in message:
            continue
        filename = m.group("file")
        out.append(Remark(fused, message, None if filename in ("-", "<stdin>") else filename,
                          int(m.group("line"))))
    return out


def direct_attentions(mlir: str) -> List[Remark]:
    """The attn.attention ops in the frontend's own output (SDPA)."""
    aliases = {m.group(1): (m.group("file"), int(m.group("line"))) for m in _LOC_ALIAS.finditer(mlir)}
    out = []
    for m in _DIRECT.finditer(mlir):
        filename, line = aliases.get(m.group(1) or "", (None, None))
        out.append(Remark(True, "scaled_dot_product_attention: attn.attention as written", filename, line))
    return out


def explain(module: Any, example_inputs: Any, example_kwargs: Optional[Dict[str, Any]] = None,
            mode: str = "compile") -> Explanation:
    """Explains what attn-opt makes of ``module`` on these inputs.

    ``mode="compile"`` (default) looks at the whole graph as
    ``attn_opt.compile`` would, listing every unsupported op instead of
    stopping at the first; ``mode="torch.compile"`` runs the model through
    ``torch.compile(backend="attn_opt")`` and also lists what stayed in
    PyTorch.
    """
    if mode == "compile":
        from .capture import lower
        lowered, _ = lower(module, example_inputs, example_kwargs, strict=False)
        result = Explanation(unsupported=lowered.unsupported, mlir=[lowered.mlir])
        if not lowered.unsupported:
            result.remarks = remarks_of(lowered.mlir)
            result.direct = direct_attentions(lowered.mlir)
        return result
    if mode == "torch.compile":
        import torch
        from . import backend
        from .capture import normalize_inputs
        report = backend.Report()
        compiled = torch.compile(module, backend=lambda gm, ex: backend.attn_opt_backend(gm, ex, report=report))
        with torch.no_grad():
            compiled(*normalize_inputs(example_inputs), **dict(example_kwargs or {}))
        result = Explanation(fallbacks=list(report.fallbacks), mlir=list(report.mlir))
        for text in report.mlir:
            result.remarks += remarks_of(text)
            result.direct += direct_attentions(text)
        return result
    raise ValueError(f"unknown mode {mode!r}: expected 'compile' or 'torch.compile'")
