"""einops-compatible ``rearrange`` on torch tensors.

Eagerly it is a reshape, a permute and a reshape; under ``torch.fx`` tracing it
records one ``call_function`` node (a leaf) that ``to_mlir`` turns into a
single ``attn.rearrange`` with the same pattern and sizes.
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

import torch
import torch.fx

from .errors import EinopsError

_ELLIPSIS = "..."
_GROUPED_ELLIPSIS = "(...)"  # an ellipsis inside parentheses


@dataclass(frozen=True)
class _Side:
    """One side of a pattern: groups of axis names (ellipsis kept as '...')."""

    groups: Tuple[Tuple[str, ...], ...]
    has_ellipsis: bool
    ellipsis_in_parens: bool
    identifiers: Tuple[str, ...]


def _parse_side(text: str) -> _Side:
    groups: List[Tuple[str, ...]] = []
    current: List[str] | None = None
    identifiers: List[str] = []
    has_ellipsis = False
    in_parens = False
    text = text.replace(_ELLIPSIS, " … ")

    def add(name: str) -> None:
        nonlocal has_ellipsis, in_parens
        if name == "…":
            if has_ellipsis:
                raise EinopsError("Only one ellipsis (...) allowed per side of the pattern")
            has_ellipsis = True
            name = _ELLIPSIS
            if current is not None:
                in_parens = True
                name = _GROUPED_ELLIPSIS
        elif name == "1":
            if current is None:
                groups.append(())
            return
        elif name.isdigit():
            raise EinopsError(f"Non-unitary anonymous axes are not supported in rearrange (exception is length 1): {name}")
        else:
            if not (name.isidentifier() and not keyword.iskeyword(name)) or name.startswith("_") and name.endswith("_"):
                raise EinopsError(f"Invalid axis identifier: {name}\nnot a valid python identifier")
            if name in identifiers:
                raise EinopsError(f'Indexing expression contains duplicate dimension "{name}"')
            identifiers.append(name)
        if current is None:
            groups.append((name,))
        else:
            current.append(name)

    word = ""
    for ch in text + " ":
        if ch.isalnum() or ch == "_" or ch == "…":
            if ch == "…":
                if word:
                    add(word)
                    word = ""
                add("…")
                continue
            word += ch
            continue
        if word:
            add(word)
            word = ""
        if ch.isspace():
            continue
        if ch == "(":
            if current is not None:
                raise EinopsError("Axis composition is one-level (brackets inside brackets not allowed)")
            current = []
        elif ch == ")":
            if current is None:
                raise EinopsError("Brackets are not balanced")
            groups.append(tuple(current))
            current = None
        elif ch == ".":
            raise EinopsError("Expression may contain dots only inside ellipsis (...)")
        else:
            raise EinopsError(f"Unknown character '{ch}'")
    if current is not None:
        raise EinopsError("Imbalanced parentheses in expression: " + repr(text))
    return _Side(tuple(groups), has_ellipsis, in_parens, tuple(identifiers))


def _parse(pattern: str) -> Tuple[_Side, _Side]:
    if pattern.count("->") != 1:
        raise EinopsError("Pattern must contain exactly one '->': " + repr(pattern))
    left_text, right_text = pattern.split("->")
    left, right = _parse_side(left_text), _parse_side(right_text)
    if left.ellipsis_in_parens:
        raise EinopsError("Ellipsis inside parenthesis in the left side is not allowed")
    if right.has_ellipsis and not left.has_ellipsis:
        raise EinopsError("Ellipsis found in right side, but not left side of a pattern " + pattern)
    if left.has_ellipsis and not right.has_ellipsis:
        raise EinopsError("Ellipsis found in left side, but not right side of a pattern " + pattern)
    difference = set(left.identifiers).symmetric_difference(right.identifiers)
    if difference:
        raise EinopsError("Identifiers only on one side of expression (should be on both): "
                          + "{" + ", ".join(sorted(difference)) + "}")
    return left, right


@dataclass(frozen=True)
class RearrangePlan:
    """How to apply a pattern to one input shape: reshape, permute, reshape."""

    elementary_shape: Tuple[int, ...]
    permutation: Tuple[int, ...]
    output_shape: Tuple[int, ...]


def plan_rearrange(pattern: str, shape: Sequence[int], sizes: Dict[str, int]) -> RearrangePlan:
    """Solves ``pattern`` for ``shape``; raises EinopsError as einops would."""
    left, right = _parse(pattern)
    for name, value in sizes.items():
        if name not in left.identifiers:
            raise EinopsError(f"Axis {name} is not used in transform")
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise EinopsError(f"Size of axis {name} must be a positive integer, got {value!r}")
    shape = tuple(int(s) for s in shape)
    n_named = len(left.groups) - (1 if left.has_ellipsis else 0)
    if left.has_ellipsis:
        if len(shape) < n_named:
            raise EinopsError(f"Wrong shape: expected >={n_named} dims. Received {len(shape)}-dim tensor.")
    elif len(shape) != len(left.groups):
        raise EinopsError(f"Wrong shape: expected {len(left.groups)} dims. Received {len(shape)}-dim tensor.")
    ellipsis_names = tuple(f"…{i}" for i in range(len(shape) - n_named))

    def expand(groups: Tuple[Tuple[str, ...], ...]) -> List[Tuple[str, ...]]:
        out: List[Tuple[str, ...]] = []
        for g in groups:
            if g == (_ELLIPSIS,):
                out.extend((n,) for n in ellipsis_names)
            else:
                out.append(tuple(n for a in g for n in (ellipsis_names if a == _GROUPED_ELLIPSIS else (a,))))
        return out

    left_groups = expand(left.groups)
    right_groups = expand(right.groups)
    known: Dict[str, int] = dict(sizes)
    for group, length in zip(left_groups, shape):
        unknown = [a for a in group if a not in known]
        product = 1
        for a in group:
            if a in known:
                product *= known[a]
        if len(unknown) > 1:
            raise EinopsError(f"Could not infer sizes for {set(unknown)}")
        if not unknown:
            if product != length:
                raise EinopsError(f"Shape mismatch, {length} != {product}")
        else:
            if length % product != 0:
                raise EinopsError(f"Shape mismatch, can't divide axis of length {length} in chunks of {product}")
            known[unknown[0]] = length // product
    elementary = [a for g in left_groups for a in g]
    order = [a for g in right_groups for a in g]
    out_shape = []
    for g in right_groups:
        p = 1
        for a in g:
            p *= known[a]
        out_shape.append(p)
    return RearrangePlan(tuple(known[a] for a in elementary),
                         tuple(elementary.index(a) for a in order), tuple(out_shape))


def rearrange(tensor: torch.Tensor, pattern: str, **sizes: int) -> torch.Tensor:
    """einops.rearrange for torch tensors (reshape + permute + reshape).

    Under ``torch.fx.symbolic_trace`` this is a leaf: it becomes one node, and
    ``attn_opt.to_mlir`` emits one ``attn.rearrange`` for it.
    """
    if isinstance(tensor, torch.fx.Proxy):
        # The original function, not the wrapper torch.fx.wrap patches in.
        return tensor.tracer.create_proxy("call_function", _ORIGINAL, (tensor, pattern), dict(sizes))
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"rearrange expects a torch.Tensor, got {type(tensor).__name__}")
    try:
        plan = plan_rearrange(pattern, tensor.shape, sizes)
    except EinopsError as error:
        raise EinopsError(f' Error while processing rearrange-reduction pattern "{pattern}".\n'
                          f" Input tensor shape: {tuple(tensor.shape)}. Additional info: {sizes}.\n {error}") from None
    return tensor.reshape(plan.elementary_shape).permute(plan.permutation).reshape(plan.output_shape)


_ORIGINAL = rearrange

# A leaf for torch.fx wherever it is called from this module; calls through
# other modules are caught by the Proxy check above.
torch.fx.wrap("rearrange")
