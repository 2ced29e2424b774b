"""Ahead-of-time compilation with attn-run and calls through ctypes.

``compile`` emits the module's IR, has ``attn-run --emit=so --header=...``
build a shared library into a cache directory keyed by the hash of the IR and
of the attn-run binary, loads it with ctypes and calls
``_mlir_ciface_forward`` with MLIR memref descriptors (the ABI in the header
attn-run writes, see tools/attn-run/Aot.cpp):

    void _mlir_ciface_forward([RESULT *result,] attn_memref_Nd *arg0, ...);

``RESULT`` is the descriptor of the only result, or a struct of descriptors
when there are several; each descriptor is ``{void *allocated, void *aligned,
int64_t offset, int64_t sizes[N], int64_t strides[N]}``. Result buffers are
malloc'ed by the callee and freed here after copying, unless they alias an
input or a constant global (``allocated == 0xdeadbeef``).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn

from .errors import ToolError
from .frontend import Lowered, lower

_REPO_ROOT = Path(__file__).resolve().parents[2]
_ABI_VERSION = "attn-opt-python-abi-1"

_NUMPY: Dict[str, Any] = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": np.uint16,
                          "i1": np.bool_, "i64": np.int64, "i32": np.int32}
_DEADBEEF = 0xDEADBEEF


def build_dirs() -> List[Path]:
    """Where the tools are looked for: $ATTN_OPT_BUILD_DIR, else <repo>/build."""
    env = os.environ.get("ATTN_OPT_BUILD_DIR")
    return [Path(env)] if env else [_REPO_ROOT / "build"]


def find_tool(name: str) -> Optional[Path]:
    """Path of ``attn-opt`` or ``attn-run`` in the build dir, else on PATH."""
    for directory in build_dirs():
        candidate = directory / "bin" / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    return Path(found) if found else None


def cache_dir() -> Path:
    """$ATTN_OPT_CACHE_DIR, default ~/.cache/attn-opt."""
    env = os.environ.get("ATTN_OPT_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "attn-opt"


def _tool_identity(path: Path) -> str:
    st = path.stat()
    return f"{path.resolve()}:{st.st_size}:{st.st_mtime_ns}"


def build_library(mlir: str, entry: str = "forward", attn_run: Optional[Path] = None) -> Tuple[Path, Path]:
    """Compiles ``mlir`` to (shared library, header) in the cache; reuses hits."""
    tool = attn_run or find_tool("attn-run")
    if tool is None:
        raise ToolError("attn-run not found: build it (ninja attn-run) or set ATTN_OPT_BUILD_DIR "
                        f"(looked in {', '.join(str(d / 'bin') for d in build_dirs())} and on PATH)")
    key = hashlib.sha256("\0".join([_ABI_VERSION, _tool_identity(tool), entry, mlir]).encode()).hexdigest()
    root = cache_dir()
    target = root / key[:32]
    so, header = target / f"{entry}.so", target / f"{entry}.h"
    if so.is_file() and header.is_file():
        return so, header
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        source = work / f"{entry}.mlir"
        source.write_text(mlir)
        command = [str(tool), str(source), f"--entry={entry}", "--emit=so", "-o", str(work / so.name),
                   f"--header={work / header.name}"]
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise ToolError(f"attn-run failed (exit {proc.returncode}) on {source}:\n"
                            + (proc.stderr or proc.stdout)[-4000:])
        try:
            os.replace(work, target)
        except OSError:
            if not so.is_file():  # not a concurrent build of the same key
                raise
        else:
            work = None  # type: ignore[assignment]
    finally:
        if work is not None and work.exists():
            # Keep the IR of a failed build next to nothing else: remove it all.
            shutil.rmtree(work, ignore_errors=True)
    return so, header


def _descriptor(rank: int) -> type:
    fields: List[Tuple[str, Any]] = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
                                     ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank), ("strides", ctypes.c_int64 * rank)]
    return type(f"attn_memref_{rank}d", (ctypes.Structure,), {"_fields_": fields})


_libc = ctypes.CDLL(None)
_libc.free.argtypes = [ctypes.c_void_p]
_libc.free.restype = None

# Compiled code mallocs its intermediate buffers on every call; with glibc's
# defaults, blocks above the mmap threshold are fresh mmaps and freed memory
# at the top of the heap goes back to the kernel, so each call page-faults
# and zeroes megabytes again (about a tenth of G1's time). Keep blocks up to
# 32 MiB (glibc's maximum threshold) in the heap and keep the heap mapped,
# as attn-run does. Other C libraries have no mallopt: nothing to tune.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_allocator_tuned = False


def _tune_allocator() -> None:
    global _allocator_tuned
    if _allocator_tuned:
        return
    _allocator_tuned = True
    mallopt = getattr(_libc, "mallopt", None)
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        mallopt(_M_TRIM_THRESHOLD, 512 << 20)


# Compiled kernels load whole 64-byte vectors from their arguments; an
# argument that does not start on a cache line (NumPy allocates on 16 bytes)
# makes every load straddle two lines, so such arguments are copied first.
_ALIGNMENT = 64


class _Library:
    """One loaded shared library and its entry's calling convention."""

    def __init__(self, so: Path, lowered: Lowered, entry: str = "forward") -> None:
        self.path = so
        _tune_allocator()
        self.handle = ctypes.CDLL(str(so))
        self.function = getattr(self.handle, f"_mlir_ciface_{entry}")
        self.function.restype = None
        self.inputs = lowered.input_specs
        self.outputs = lowered.output_specs
        self.arg_types = [_descriptor(len(shape)) for shape, _ in self.inputs]
        out_types = [_descriptor(len(shape)) for shape, _ in self.outputs]
        if len(out_types) == 1:
            self.result_type: Optional[type] = out_types[0]
        elif out_types:
            self.result_type = type("results", (ctypes.Structure,),
                                    {"_fields_": [(f"r{i}", t) for i, t in enumerate(out_types)]})
        else:
            self.result_type = None

    def __call__(self, tensors: Sequence[torch.Tensor]) -> List[np.ndarray]:
        descriptors = []
        pointers = set()
        tensors = [t if t.data_ptr() % _ALIGNMENT == 0 else t.clone() for t in tensors]
        for tensor, ty in zip(tensors, self.arg_types):
            d = ty()
            d.allocated = d.aligned = tensor.data_ptr()
            pointers.add(tensor.data_ptr())
            d.offset = 0
            rank = tensor.dim()
            stride = 1
            for i in range(rank - 1, -1, -1):
                d.sizes[i] = tensor.shape[i]
                d.strides[i] = stride
                stride *= tensor.shape[i]
            descriptors.append(d)
        call_args: List[Any] = []
        result = self.result_type() if self.result_type is not None else None
        if result is not None:
            call_args.append(ctypes.byref(result))
        call_args += [ctypes.byref(d) for d in descriptors]
        self.function(*call_args)
        if result is None:
            return []
        outs = [result] if len(self.outputs) == 1 else [getattr(result, f"r{i}") for i in range(len(self.outputs))]
        arrays = []
        freed = set()
        try:
            for d, (shape, dtype) in zip(outs, self.outputs):
                arrays.append(_copy_out(d, shape, np.dtype(_NUMPY[dtype])))
        finally:
            for d in outs:
                allocated = d.allocated
                if not allocated or allocated == _DEADBEEF or allocated in pointers or allocated in freed:
                    continue
                freed.add(allocated)
                _libc.free(allocated)
        return arrays


def _copy_out(d: Any, shape: Tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    rank = len(shape)
    sizes = tuple(d.sizes[i] for i in range(rank)) if rank else ()
    if sizes != tuple(shape):
        raise ToolError(f"compiled function returned shape {list(sizes)}, expected {list(shape)}")
    strides = [d.strides[i] for i in range(rank)] if rank else []
    if any(s == 0 for s in sizes):
        return np.zeros(shape, dtype)
    if any(s < 0 for s in strides):
        raise ToolError("negative result strides are not supported")
    span = 1 + sum((n - 1) * s for n, s in zip(sizes, strides))
    address = d.aligned + d.offset * dtype.itemsize
    buffer = (ctypes.c_char * (span * dtype.itemsize)).from_address(address)
    base = np.frombuffer(buffer, dtype=dtype, count=span)
    view = np.lib.stride_tricks.as_strided(base, shape=sizes, strides=[s * dtype.itemsize for s in strides])
    return np.array(view, copy=True)


_TORCH_FROM_MLIR = {"f32": torch.float32, "f64": torch.float64, "f16": torch.float16, "bf16": torch.bfloat16,
                    "i1": torch.bool, "i64": torch.int64, "i32": torch.int32}


class CompiledModule:
    """A module compiled for given input shapes and dtypes.

    Call it with torch tensors (torch tensors come back) or numpy arrays
    (numpy arrays come back). Inputs with other shapes or dtypes than the
    example inputs are compiled for on first use (a new entry in this object's
    own table and in the on-disk cache). Parameters are embedded at compile
    time: recompile after changing the module's weights.
    """

    def __init__(self, module: nn.Module, example_inputs: Sequence[Any], target: str = "cpu",
                 tracer: str = "auto") -> None:
        self.module = module
        self.target = target
        self.tracer = tracer
        self._variants: Dict[Tuple[Any, ...], Tuple[Lowered, _Library]] = {}
        self._default = self._variant(list(example_inputs))

    @staticmethod
    def _signature(tensors: Sequence[Any]) -> Tuple[Any, ...]:
        # Which inputs are the same object is part of the key: PyTorch's
        # modules branch on it (nn.MultiheadAttention's `query is key`), and
        # the ATen tracer specialises on the branch taken.
        first: Dict[int, int] = {}
        key = []
        for i, t in enumerate(tensors):
            if isinstance(t, (torch.Tensor, np.ndarray)):
                key.append((tuple(t.shape), str(t.dtype), first.setdefault(id(t), i)))
            else:
                key.append(("value", t))
        return tuple(key)

    def _variant(self, inputs: List[Any]) -> Tuple[Lowered, _Library]:
        key = self._signature(inputs)
        if key not in self._variants:
            lowered = lower(self.module, tuple(inputs), self.tracer)
            so, header = build_library(lowered.mlir)
            library = _Library(so, lowered)
            library.header = header  # type: ignore[attr-defined]
            self._variants[key] = (lowered, library)
        return self._variants[key]

    @property
    def mlir(self) -> str:
        """The attn-dialect IR of the example-input variant."""
        return self._default[0].mlir

    @property
    def library_path(self) -> Path:
        return self._default[1].path

    @property
    def header_path(self) -> Path:
        return self._default[1].header  # type: ignore[attr-defined]

    def __call__(self, *inputs: Any) -> Any:
        use_numpy = bool(inputs) and not any(isinstance(x, torch.Tensor) for x in inputs) \
            and any(isinstance(x, np.ndarray) for x in inputs)
        lowered, library = self._variant(list(inputs))
        tensors = []
        for x in inputs:
            if isinstance(x, np.ndarray):
                x = torch.from_numpy(np.ascontiguousarray(x))
            if isinstance(x, torch.Tensor):
                if x.device.type != "cpu":
                    raise ValueError(f"target 'cpu' takes CPU tensors, got one on {x.device}")
                tensors.append(x.detach().contiguous())
        for t, (shape, dtype) in zip(tensors, library.inputs):
            assert tuple(t.shape) == shape and t.dtype == dtype, "signature lookup mismatch"
        arrays = library(tensors)
        outputs: List[Any] = []
        for array, (_, dtype) in zip(arrays, library.outputs):
            if use_numpy:
                outputs.append(array)
            else:
                # bf16 comes back as uint16 bits, which torch.from_numpy
                # rejects: reinterpret them as int16, then as bfloat16.
                if dtype == "bf16":
                    outputs.append(torch.from_numpy(array.view(np.int16)).view(torch.bfloat16))
                else:
                    outputs.append(torch.from_numpy(array))
        if lowered.rebuild is not None:
            return lowered.rebuild(outputs)
        if lowered.output_structure is None:
            return outputs[0]
        return tuple(outputs) if lowered.output_structure == "tuple" else list(outputs)


def compile(module: nn.Module, example_inputs: Any, target: str = "cpu",  # noqa: A001
            tracer: str = "auto") -> CompiledModule:
    """Compiles ``module`` for the shapes and dtypes of ``example_inputs``.

    Returns a callable taking tensors (or numpy arrays) like ``module`` and
    returning its outputs computed by native code built with attn-run.
    ``tracer``: "auto" (torch.fx, else the ATen tracer), "fx" or "aten"
    (see ``attn_opt.frontend.lower``).
    """
    if target != "cpu":
        raise ValueError(f"unsupported target {target!r}: only 'cpu' is implemented")
    if isinstance(example_inputs, (torch.Tensor, np.ndarray)):
        example_inputs = (example_inputs,)
    return CompiledModule(module, tuple(example_inputs), target, tracer)
