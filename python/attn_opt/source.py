"""The user's source line behind a graph node.

torch.export records, per node, the Python stack that called the ATen op
(``node.meta["stack_trace"]``, outermost frame first). The user's line is the
innermost frame outside PyTorch, einops and attn_opt: for ``self.to_qkv(x)``
that is the model's line, not ``F.linear`` inside ``torch/nn``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import List, Optional

import torch

_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line (?P<line>\d+), in (?P<func>.*)$')


def _package_dir(module_name: str) -> Optional[str]:
    try:
        module = __import__(module_name)
    except ImportError:
        return None
    return os.path.dirname(os.path.abspath(module.__file__)) + os.sep


_LIBRARY_DIRS = [d for d in (_package_dir("torch"), _package_dir("einops"),
                             os.path.dirname(os.path.abspath(__file__)) + os.sep) if d]


@dataclass
class SourceLine:
    filename: str
    lineno: int
    function: str
    code: str

    @property
    def text(self) -> str:
        where = f'File "{self.filename}", line {self.lineno}, in {self.function}'
        return f"{where}: {self.code}" if self.code else where


def frames(stack_trace: Optional[str]) -> List[SourceLine]:
    """The frames of a recorded stack, outermost first."""
    if not stack_trace:
        return []
    lines = stack_trace.rstrip("\n").split("\n")
    out: List[SourceLine] = []
    for i, line in enumerate(lines):
        m = _FRAME.match(line)
        if not m:
            continue
        code = ""
        if i + 1 < len(lines) and not _FRAME.match(lines[i + 1]):
            code = lines[i + 1].strip()
        out.append(SourceLine(m.group("file"), int(m.group("line")), m.group("func"), code))
    return out


def user_frame(stack_trace: Optional[str]) -> Optional[SourceLine]:
    found = frames(stack_trace)
    for frame in reversed(found):
        if not any(frame.filename.startswith(d) for d in _LIBRARY_DIRS):
            return frame
    return None


def source_of(node: torch.fx.Node) -> Optional[SourceLine]:
    return user_frame(node.meta.get("stack_trace"))
