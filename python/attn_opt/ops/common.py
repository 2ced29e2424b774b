"""Helpers shared by the op translations."""

from __future__ import annotations

from typing import Any, List, Optional, Sequence

import torch

from ..ir import DTYPES, TORCH_DTYPES, Pieces, TensorLike, Value, dtype_of, shape_of


def dims(value: Any, rank: int) -> List[int]:
    """A dim or list of dims, normalised to non-negative ints."""
    if value is None:
        return list(range(rank))
    if isinstance(value, int):
        value = [value]
    return [int(d) % rank if rank else 0 for d in value]


def result_dtype(*operands: Any) -> str:
    """torch's type promotion over tensors and Python scalars."""
    stand_ins = []
    for v in operands:
        if isinstance(v, TensorLike):
            stand_ins.append(torch.empty((1,) * len(shape_of(v)), dtype=TORCH_DTYPES[dtype_of(v)]))
        elif isinstance(v, (bool, int, float)):
            stand_ins.append(v)
    if not stand_ins:
        return "f32"
    if len(stand_ins) == 1:
        s = stand_ins[0]
        return DTYPES[s.dtype] if isinstance(s, torch.Tensor) else DTYPES[torch.tensor(s).dtype]
    out = stand_ins[0]
    dtype = None
    for s in stand_ins[1:]:
        dtype = torch.result_type(out, s)
        out = torch.empty((1,), dtype=dtype)
    return DTYPES[dtype]


def scalar_value(value: Any) -> Any:
    """A Python number from a number or a one-element constant."""
    from ..ir import Const
    if isinstance(value, Const) and value.value.numel() == 1:
        return value.value.item()
    return value


def getitem(tx: Any, container: Any, index: Any) -> Value:
    """``operator.getitem`` on a multi-result op or a split."""
    e = tx.e
    if isinstance(container, Pieces):
        shape = list(shape_of(container.base))
        offsets = [0] * len(shape)
        offsets[container.dim] = container.offsets[index]
        shape[container.dim] = container.lengths[index]
        piece = e.extract_slice(container.base, offsets, shape, [1] * len(shape))
        if container.drop_dim:
            return e.reshape(piece, shape[:container.dim] + shape[container.dim + 1:])
        return piece
    if isinstance(container, (tuple, list)):
        return container[index]
    raise e.error(f"indexing a {type(container).__name__}")


def pieces(x: Value, dim: int, lengths: Sequence[int], drop_dim: bool = False) -> Pieces:
    offsets = [int(sum(lengths[:i])) for i in range(len(lengths))]
    return Pieces(x, dim, offsets, [int(n) for n in lengths], drop_dim)


def optional(value: Optional[Any], default: Any) -> Any:
    return default if value is None else value
