"""Ahead-of-time compilation with attn-run and calls through ctypes.

``compile`` captures the module (``attn_opt.capture``), has
``attn-run --emit=so --header=...`` build a shared library into a cache
directory keyed by the hash of the IR and of the attn-run binary, loads it
with ctypes and calls ``_mlir_ciface_forward`` with MLIR memref descriptors
(the ABI in the header attn-run writes, see tools/attn-run/Aot.cpp):

    void _mlir_ciface_forward([RESULT *result,] attn_memref_Nd *arg0, ...);

The arguments are the user's tensor inputs, then the prepared parameters:
weights are not in the IR, so the library is as small as the model's code,
two models of one architecture share it, and ``load_state_dict`` takes
effect on the next call (the load step reruns when a parameter's version
changes). Result buffers are malloc'ed by the callee; a dense one becomes
the returned tensor's storage (freed when the tensor dies), others are
copied and freed, except those aliasing an argument or a constant global.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import platform
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn as nn
import torch.utils._pytree as pytree

from .capture import flatten_inputs
from .errors import ToolError
from .translate import Lowered, Placeholder, Translator

_PACKAGE_DIR = Path(__file__).resolve().parent
_REPO_ROOT = _PACKAGE_DIR.parents[1]
_ABI_VERSION = "attn-opt-python-abi-2"

_NUMPY: Dict[str, Any] = {"f32": np.float32, "f64": np.float64, "f16": np.float16, "bf16": np.uint16,
                          "i1": np.bool_, "i64": np.int64, "i32": np.int32, "i16": np.int16, "i8": np.int8,
                          "ui8": np.uint8}
_DEADBEEF = 0xDEADBEEF


def build_dirs() -> List[Path]:
    """Where the tools are looked for: $ATTN_OPT_BUILD_DIR, else the source
    tree's build/ (an editable install), else next to the package."""
    env = os.environ.get("ATTN_OPT_BUILD_DIR")
    if env:
        return [Path(env)]
    return [_REPO_ROOT / "build", _PACKAGE_DIR]


def find_tool(name: str) -> Optional[Path]:
    """Path of ``attn-opt`` or ``attn-run``: the build dirs, else PATH."""
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
    """attn-run and the micro-kernel archive it links into every library
    (``lib/libattn_ukernels.a`` beside ``bin/``): a rebuilt kernel must not
    reuse libraries built with the old one."""
    parts = []
    for p in (path, path.resolve().parent.parent / "lib" / "libattn_ukernels.a"):
        if p.exists():
            st = p.stat()
            parts.append(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}")
    return ";".join(parts)


_HOST: Optional[str] = None


def _host_identity() -> str:
    """The CPU the libraries are built for: attn-run compiles for the host
    (its CPU name and features pick instructions, the exp expansion and
    whether bf16 flash products stay bf16), so a cache shared by two machines
    must not hand one the other's library."""
    global _HOST
    if _HOST is None:
        fields = []
        try:
            with open("/proc/cpuinfo") as cpuinfo:
                for line in cpuinfo:
                    key, _, value = line.partition(":")
                    if key.strip() in ("vendor_id", "cpu family", "model", "model name", "flags"):
                        fields.append(f"{key.strip()}={value.strip()}")
                    elif not line.strip() and fields:
                        break  # the first processor's block is enough
        except OSError:
            pass
        _HOST = hashlib.sha256("\n".join([platform.machine(), *fields]).encode()).hexdigest()[:16]
    return _HOST


def _digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _cache_hit(target: Path, so: Path, header: Path) -> bool:
    """A complete earlier build: the library matches the size and hash its
    manifest recorded (a truncated or corrupted .so would kill the process
    with SIGBUS inside dlopen instead of failing)."""
    manifest = target / "manifest.json"
    if not (so.is_file() and header.is_file() and manifest.is_file()):
        return False
    try:
        meta = json.loads(manifest.read_text())
        return so.stat().st_size == meta["size"] and _digest(so) == meta["sha256"]
    except (OSError, ValueError, KeyError):
        return False


def cache_key(tool: Path, entry: str, extra_args: Sequence[str], mlir: str) -> str:
    """What a cached library depends on: the ABI, attn-run and its kernels,
    the host CPU, the entry, attn-run's options and the MLIR."""
    return hashlib.sha256("\0".join([_ABI_VERSION, _tool_identity(tool), _host_identity(), entry, *extra_args,
                                     mlir]).encode()).hexdigest()


def build_library(mlir: str, entry: str = "forward", attn_run: Optional[Path] = None,
                  extra_args: Sequence[str] = ()) -> Tuple[Path, Path]:
    """Compiles ``mlir`` to (shared library, header) in the cache; reuses hits.
    ``extra_args`` go to attn-run (``--target=cuda`` ...) and into the key."""
    tool = attn_run or find_tool("attn-run")
    if tool is None:
        raise ToolError("attn-run not found: build it (./scripts/build.sh) or set ATTN_OPT_BUILD_DIR "
                        f"(looked in {', '.join(str(d / 'bin') for d in build_dirs())} and on PATH)")
    key = cache_key(tool, entry, extra_args, mlir)
    root = cache_dir()
    target = root / key[:32]
    so, header = target / f"{entry}.so", target / f"{entry}.h"
    if _cache_hit(target, so, header):
        return so, header
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="build-", dir=root))
    try:
        source = work / f"{entry}.mlir"
        source.write_text(mlir)
        command = [str(tool), str(source), f"--entry={entry}", "--emit=so", "-o", str(work / so.name),
                   f"--header={work / header.name}", *extra_args]
        proc = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            raise ToolError(f"attn-run failed (exit {proc.returncode}) on {source}:\n"
                            + (proc.stderr or proc.stdout)[-4000:])
        built = work / so.name
        (work / "manifest.json").write_text(json.dumps({"size": built.stat().st_size, "sha256": _digest(built)}))
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)  # a broken earlier build
        try:
            os.replace(work, target)
        except OSError:
            if not _cache_hit(target, so, header):  # not a concurrent build of the same key
                raise
        else:
            work = None  # type: ignore[assignment]
    finally:
        if work is not None and work.exists():
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
# as attn-run does: trimming is off (-1), because every call reaches the same
# peak again; a 512 MiB threshold still re-faulted GPT-2 prefill's ~800 MB
# of intermediates on every call (~200k page faults a call).
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
        mallopt(_M_TRIM_THRESHOLD, -1)


# A graph this small is run on one thread: its parallel loops are too short
# to pay for waking OpenMP's workers (on a loaded 2-core machine a d2l
# attention of 0.1 ms took 20 ms with two threads), which PyTorch avoids the
# same way (a grain size per op). It is compiled without OpenMP at all: even
# on one thread each parallel region costs ~2.5 us to enter (d2l's
# Nadaraya-Watson, 9 regions: 25 us with OpenMP, 3 us without). The bound
# is 64 MFLOP of work (a few hundred microseconds on one thread): d2l's
# MultiHeadAttention (23 M, 14 regions) took 1.20 ms with two threads and
# 0.39 ms sequential against eager's 0.43 ms on a quiet machine, while its
# encoders (550 M) gain from the second thread.
SINGLE_THREAD_FLOPS = 64_000_000

# Work outside the contractions, which Lowered.flops does not count: each
# element an op produces counts as this many flops (an elementwise element
# takes about as long as 32 flops of a micro-kernel GEMM), so a large
# softmax or LayerNorm alone still gets threads.
_ELEMENT_FLOPS = 32
_RESULT = re.compile(r"^\s*%[^=\n]*= [^\n]*?(?:->|:) *\(?tensor<((?:\d+x)*)[a-z]", re.M)


def work(lowered: Lowered) -> int:
    """The contractions' flops plus the elements every other op produces
    (weighted by _ELEMENT_FLOPS), read from the IR."""
    elements = 0
    for match in _RESULT.finditer(lowered.mlir):
        dims = [int(d) for d in match.group(1).split("x") if d]
        elements += int(np.prod(dims)) if dims else 1
    return lowered.flops + _ELEMENT_FLOPS * elements


def single_threaded(lowered: Lowered) -> bool:
    """Whether ``lowered`` is built as sequential code (the user's
    OMP_NUM_THREADS, when set, keeps OpenMP)."""
    return work(lowered) < SINGLE_THREAD_FLOPS and "OMP_NUM_THREADS" not in os.environ


def cpu_build_args(lowered: Lowered) -> List[str]:
    """attn-run options for a CPU library of ``lowered``."""
    return ["--cpu-pipeline=openmp=0"] if single_threaded(lowered) else []


# Compiled kernels load whole 64-byte vectors from their arguments; an
# argument that does not start on a cache line makes every load straddle two
# lines, so such arguments are copied first.
_ALIGNMENT = 64


class Library:
    """One loaded shared library and its entry's calling convention."""

    def __init__(self, so: Path, header: Path, lowered: Lowered, entry: str = "forward") -> None:
        self.path = so
        self.header = header
        _tune_allocator()
        self.handle = ctypes.CDLL(str(so))
        self.function = getattr(self.handle, f"_mlir_ciface_{entry}")
        self.function.restype = None
        self.arg_specs = [(a.shape, a.dtype) for a in lowered.args]
        from .ir import TORCH_DTYPES
        self.arg_dtypes = [TORCH_DTYPES.get(dtype) for _, dtype in self.arg_specs]
        self.results = lowered.results
        self.arg_types = [_descriptor(len(shape)) for shape, _ in self.arg_specs]
        self._local = threading.local()
        # What a call compares against, computed once: torch.Size compares
        # with a tensor's shape without building tuples.
        self._arg_sizes = [torch.Size(shape) for shape, _ in self.arg_specs]
        self._result_plans = [_ResultPlan(shape, np.dtype(_NUMPY[dtype])) for shape, dtype in self.results]
        out_types = [_descriptor(len(shape)) for shape, _ in self.results]
        if len(out_types) == 1:
            self.result_type: Optional[type] = out_types[0]
        else:
            self.result_type = type("results", (ctypes.Structure,),
                                    {"_fields_": [(f"r{i}", t) for i, t in enumerate(out_types)]})

    def _call_state(self) -> Any:
        """This thread's argument and result descriptors: the shapes of a
        library are fixed, so sizes and strides are written once and a call
        only sets the data pointers (building ctypes structures field by
        field was half of a small module's call)."""
        state = getattr(self._local, "state", None)
        if state is None:
            descriptors = []
            for (shape, _), ty in zip(self.arg_specs, self.arg_types):
                d = ty()
                d.offset = 0
                stride = 1
                for i in range(len(shape) - 1, -1, -1):
                    d.sizes[i] = shape[i]
                    d.strides[i] = stride
                    stride *= shape[i]
                descriptors.append(d)
            result = self.result_type()
            refs = [ctypes.byref(result)] + [ctypes.byref(d) for d in descriptors]
            state = self._local.state = (descriptors, result, refs)
        return state

    def __call__(self, tensors: Sequence[torch.Tensor]) -> List[np.ndarray]:
        descriptors, result, refs = self._call_state()
        if len(tensors) != len(descriptors):
            raise ToolError(f"the library takes {len(descriptors)} arguments, got {len(tensors)}")
        pointers = []
        keep = []
        for k, tensor in enumerate(tensors):
            if tensor.shape != self._arg_sizes[k]:
                # The kernels are specialised to these sizes: another shape
                # would be read out of bounds.
                raise ToolError(f"argument {k} has shape {list(tensor.shape)}, the library was compiled for "
                                f"{list(self.arg_specs[k][0])}")
            dtype = self.arg_dtypes[k]
            if dtype is not None and tensor.dtype != dtype:
                # A wider element would be read as the wrong values, and past
                # the end of a narrower one (a module converted with .float()
                # or .to(...) after it was compiled).
                raise ToolError(f"argument {k} has dtype {tensor.dtype}, the library was compiled for {dtype}: "
                                f"compile the module again after changing its dtype")
            pointer = tensor.data_ptr()
            if pointer % _ALIGNMENT or not tensor.is_contiguous():
                tensor = tensor.contiguous().clone()
                keep.append(tensor)
                pointer = tensor.data_ptr()
            d = descriptors[k]
            d.allocated = d.aligned = pointer
            pointers.append(pointer)
        self.function(*refs)
        outs = [result] if len(self.results) == 1 else [getattr(result, f"r{i}") for i in range(len(self.results))]
        arrays = []
        owned: List[int] = []
        for k, (d, plan) in enumerate(zip(outs, self._result_plans)):
            try:
                allocated = d.allocated
                if allocated and allocated != _DEADBEEF and allocated not in pointers and allocated not in owned:
                    owned.append(allocated)
                    arrays.append(plan.adopt_or_copy(d))
                else:  # an argument, a constant global, or a buffer an earlier result owns
                    arrays.append(_copy_out(d, plan.shape, plan.dtype))
            except BaseException:
                for later in outs[k + 1:]:  # free what no result owns yet
                    allocated = later.allocated
                    if allocated and allocated != _DEADBEEF and allocated not in pointers \
                            and allocated not in owned:
                        owned.append(allocated)
                        _libc.free(allocated)
                raise
        del keep
        return arrays


def find_library(name: str) -> Optional[Path]:
    for directory in build_dirs():
        candidate = directory / "lib" / name
        if candidate.is_file():
            return candidate
    return None


_cuda_runtime: Optional[ctypes.CDLL] = None


def cuda_runtime() -> ctypes.CDLL:
    """libattn_cuda_runtime.so (which dlopens libcuda.so.1), loaded once;
    raises ToolError with the driver's reason when no GPU can run code."""
    global _cuda_runtime
    if _cuda_runtime is None:
        path = find_library("libattn_cuda_runtime.so")
        if path is None:
            raise ToolError("libattn_cuda_runtime.so not found (build attn-opt, or set ATTN_OPT_BUILD_DIR)")
        lib = ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        lib.attnCudaSetStream.argtypes = [ctypes.c_void_p, ctypes.c_int]
        lib.attnCudaAvailable.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
        _cuda_runtime = lib
    reason = ctypes.create_string_buffer(512)
    if not _cuda_runtime.attnCudaAvailable(reason, 512):
        raise ToolError(f"target 'cuda': no usable CUDA GPU: {reason.value.decode() or 'unknown reason'}")
    return _cuda_runtime


class CudaLibrary:
    """A library built for ``--target=cuda`` with the device-memory ABI
    (docs/gpu.md): device pointers in, outputs allocated here as CUDA torch
    tensors and written in place on PyTorch's current stream; no host copy."""

    def __init__(self, so: Path, header: Path, lowered: Lowered, entry: str = "forward") -> None:
        self.path, self.header = so, header
        self.runtime = cuda_runtime()
        self.handle = ctypes.CDLL(str(so))
        self.function = getattr(self.handle, f"_mlir_ciface_{entry}")
        self.function.restype = None
        self.arg_specs = [(a.shape, a.dtype) for a in lowered.args]
        self.results = lowered.results
        self.types = [_descriptor(len(shape)) for shape, _ in self.arg_specs + self.results]

    def __call__(self, tensors: Sequence[torch.Tensor]) -> List[torch.Tensor]:
        from .ir import TORCH_DTYPES
        outs = [torch.empty(shape, dtype=TORCH_DTYPES[dtype], device="cuda") for shape, dtype in self.results]
        keep = [t if t.is_contiguous() and t.data_ptr() % 16 == 0 else t.contiguous().clone() for t in tensors]
        descriptors = []
        for tensor, ty in zip(keep + outs, self.types):
            d = ty()
            d.allocated = d.aligned = tensor.data_ptr()
            d.offset = 0
            stride = 1
            for i in range(tensor.dim() - 1, -1, -1):
                d.sizes[i] = tensor.shape[i]
                d.strides[i] = stride
                stride *= tensor.shape[i]
            descriptors.append(d)
        self.runtime.attnCudaSetStream(ctypes.c_void_p(torch.cuda.current_stream().cuda_stream), 0)
        self.function(*[ctypes.byref(d) for d in descriptors])
        return outs


def cuda_build_args(chip: Optional[str] = None) -> List[str]:
    """attn-run options for target "cuda": the device-memory ABI, PTX that
    the driver compiles for the GPU at load time, tuned for ``chip``
    (default: the current GPU's compute capability, else sm_90)."""
    if chip is None:
        chip = "sm_90"
        if torch.cuda.is_available():
            major, minor = torch.cuda.get_device_capability()
            chip = f"sm_{major}{minor}"
    return ["--target=cuda", f"--gpu-chip={chip}", "--gpu-pipeline=device-memory=1 format=isa"]


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


class _Malloced:
    """Owns a result buffer the compiled code malloc'ed; frees it when the
    last array or tensor viewing it goes away."""

    __slots__ = ("address",)

    def __init__(self, address: int) -> None:
        self.address = address

    def __del__(self) -> None:
        _libc.free(self.address)


class _ResultPlan:
    """How one result comes back: a buffer that the callee malloc'ed and that
    only this result uses becomes the array's storage without a copy when it
    is dense in row-major order (the usual case: its sizes and strides are
    compared as bytes, in one step), else it is copied out. Either way the
    buffer is freed once, by its owner or here."""

    __slots__ = ("shape", "dtype", "elements", "layout", "buffer_type")

    def __init__(self, shape: Tuple[int, ...], dtype: np.dtype) -> None:
        self.shape = tuple(shape)
        self.dtype = dtype
        rank = len(self.shape)
        strides, stride = [0] * rank, 1
        for i in range(rank - 1, -1, -1):
            strides[i] = stride
            stride *= self.shape[i]
        self.elements = stride
        self.layout = bytes((ctypes.c_int64 * (2 * rank))(*self.shape, *strides))
        self.buffer_type = ctypes.c_char * (stride * dtype.itemsize)

    def adopt_or_copy(self, d: Any) -> np.ndarray:
        rank = len(self.shape)
        # sizes and strides are adjacent int64 arrays in the descriptor.
        layout = ctypes.string_at(ctypes.addressof(d) + _LAYOUT_OFFSET, 16 * rank) if rank else b""
        if (layout != self.layout or self.elements == 0) and not self._dense(d):
            try:
                return _copy_out(d, self.shape, self.dtype)
            finally:
                _libc.free(d.allocated)
        owner = _Malloced(d.allocated)
        buffer = self.buffer_type.from_address(d.aligned + d.offset * self.dtype.itemsize)
        # The ctypes array keeps the owner alive, numpy keeps the ctypes array.
        buffer._owner = owner  # type: ignore[attr-defined]
        return np.ndarray(self.shape, self.dtype, buffer)

    def _dense(self, d: Any) -> bool:
        """Whether a result of other strides than the plan's is still dense
        row-major data of this shape (unit dimensions take any stride)."""
        rank = len(self.shape)
        sizes = tuple(d.sizes[i] for i in range(rank))
        strides = tuple(d.strides[i] for i in range(rank))
        dense, stride = True, 1
        for n, s in zip(reversed(sizes), reversed(strides)):
            dense = dense and (n == 1 or s == stride)
            stride *= n
        return sizes == self.shape and dense and stride != 0


# A descriptor's sizes start after allocated, aligned and offset.
_LAYOUT_OFFSET = 3 * 8


def _to_torch(array: np.ndarray, dtype: str) -> torch.Tensor:
    if dtype == "bf16":  # numpy has no bf16: the bits travel as uint16
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def signature(flat: Sequence[Any]) -> Tuple[Any, ...]:
    """A call's variant key: shapes and dtypes of the tensor inputs, the
    values of the others, and which inputs are the same object (PyTorch's
    modules branch on ``query is key``)."""
    first: Dict[int, int] = {}
    key = []
    for i, t in enumerate(flat):
        if isinstance(t, (torch.Tensor, np.ndarray)):
            # The shape and dtype objects themselves (a torch.Size hashes as
            # its tuple; torch and numpy dtypes never compare equal):
            # formatting them was a fifth of a small module's call.
            key.append((t.shape, t.dtype, first.setdefault(id(t), i)))
        else:
            key.append(("value", repr(t)))
    return tuple(key)


def _module_tensor(module: nn.Module, kind: str, name: str) -> torch.Tensor:
    """``module.get_parameter(name)`` (or ``get_buffer``) as it reads now,
    through the modules' own dictionaries: the load step's check runs on
    every call, and ``get_parameter``'s walk (``hasattr`` and ``getattr`` on
    each module of the path) cost 2.0-2.4 ms a call for vit_b_16's and
    swin_t's ~180 weights. Anything the dictionaries do not hold (an
    attribute that is not a registered module or tensor) takes the
    ``get_parameter`` path, with its errors."""
    *path, leaf = name.split(".")
    owner: Any = module
    for part in path:
        owner = owner._modules.get(part) if isinstance(owner, nn.Module) else None
        if owner is None:
            break
    if owner is not None:
        found = (owner._parameters if kind == "parameter" else owner._buffers).get(leaf)
        if found is not None:
            return found
    return module.get_parameter(name) if kind == "parameter" else module.get_buffer(name)


class Variant:
    """One compiled shape/dtype variant of a module."""

    def __init__(self, module: nn.Module, lowered: Lowered, captured: Any, target: str = "cpu") -> None:
        self.lowered = lowered
        self.target = target
        if target == "cuda":
            so, header = build_library(lowered.mlir, extra_args=cuda_build_args())
            self.library: Any = CudaLibrary(so, header, lowered)
        else:
            so, header = build_library(lowered.mlir, extra_args=cpu_build_args(lowered))
            self.library = Library(so, header, lowered)
        self.out_spec = captured.out_spec
        self.constants = captured.program.constants
        self.buffer_guard = [(fqn, *self._identity(module.get_buffer(fqn))) for fqn in lowered.embedded_buffers]
        # Whether the output is one tensor (no pytree to rebuild on a call).
        self.single_output = (self.out_spec is not None and self.out_spec.is_leaf()
                              and lowered.outputs == [0] and len(lowered.results) == 1)
        self._prepared_key: Any = None
        self._prepared: List[torch.Tensor] = []
        self._lock = threading.Lock()

    @staticmethod
    def _identity(t: torch.Tensor) -> Tuple[int, int]:
        return (t._version, t.data_ptr())

    def constant(self, arg: Any) -> torch.Tensor:
        """A large constant argument, on the target's device (moved once)."""
        key = f"on_{self.target}"
        if key not in arg.extra:
            arg.extra[key] = arg.extra["value"].to(self.target)
        return arg.extra[key]

    def buffers_unchanged(self, module: nn.Module) -> bool:
        return all(self._identity(_module_tensor(module, "buffer", fqn)) == (version, ptr)
                   for fqn, version, ptr in self.buffer_guard)

    def prepared(self, module: nn.Module) -> List[torch.Tensor]:
        """The load step: PyTorch computes every prepared argument from the
        current parameters; rerun only when one of them changed."""
        if self.lowered.prepare is None:
            return []
        sources = []
        for kind, name in self.lowered.prepare_inputs:
            if kind in ("parameter", "buffer"):
                sources.append(_module_tensor(module, kind, name))
            else:
                sources.append(self.constants[name])
        # The storage and dtype too: module.float() or `p.data = ...` swap a
        # parameter's tensor without bumping its version.
        key = tuple((id(t), t._version, t.data_ptr(), t.dtype) for t in sources)
        with self._lock:
            if key != self._prepared_key:
                with torch.no_grad():
                    # On the target's device once per load, not per call.
                    self._prepared = [t.detach().to(self.target) for t in self.lowered.prepare(*sources)]
                self._prepared_key = key
            return self._prepared


class CompiledModule:
    """A module compiled by attn-opt; call it like the module.

    Torch tensors in, torch tensors out (numpy arrays in, numpy out). Inputs
    of another shape or dtype than seen before compile a new variant on
    first use. Parameters are read from the module at call time (the load
    step reruns after ``load_state_dict``); buffers are compiled in, and a
    changed buffer recompiles.
    """

    def __init__(self, module: Any, example_inputs: Sequence[Any], example_kwargs: Optional[Dict[str, Any]],
                 target: str = "cpu") -> None:
        from .capture import capture_module
        self.module = capture_module(module)
        self.target = target
        self._variants: Dict[Tuple[Any, ...], Variant] = {}
        self._lock = threading.Lock()
        self._default = self._variant(tuple(example_inputs), dict(example_kwargs or {}))

    def _variant(self, args: Tuple[Any, ...], kwargs: Dict[str, Any], flat: Optional[List[Any]] = None) -> Variant:
        if flat is None:
            flat = flatten_inputs(args, kwargs)
        key = signature(flat)
        with self._lock:
            variant = self._variants.get(key)
            if variant is not None and variant.buffer_guard and not variant.buffers_unchanged(self.module):
                variant = None
            if variant is None:
                from .capture import lower  # here, not per call: a function-level import costs a microsecond
                lowered, captured = lower(self.module, args, kwargs, target=self.target)
                variant = Variant(self.module, lowered, captured, self.target)
                self._variants[key] = variant
            return variant

    @property
    def mlir(self) -> str:
        """The attn-dialect IR of the example-input variant."""
        return self._default.lowered.mlir

    @property
    def library_path(self) -> Path:
        return self._default.library.path

    @property
    def header_path(self) -> Path:
        return self._default.library.header

    @property
    def variants(self) -> int:
        return len(self._variants)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        flat = flatten_inputs(args, kwargs)
        use_numpy = any(isinstance(x, np.ndarray) for x in flat) and not any(
            isinstance(x, torch.Tensor) for x in flat)
        variant = self._variant(args, kwargs, flat)
        tensors: List[torch.Tensor] = []
        prepared = variant.prepared(self.module)
        prepared_iter = iter(prepared)
        for arg in variant.lowered.args:
            if arg.kind == "input":
                x = flat[arg.index]
                if isinstance(x, np.ndarray):
                    x = torch.from_numpy(np.ascontiguousarray(x))
                if x.device.type != self.target:
                    raise ValueError(f"target '{self.target}' takes {self.target.upper()} tensors, got one on "
                                     f"{x.device}")
                tensors.append(x.detach())
            elif arg.kind == "prepared":
                tensors.append(next(prepared_iter))
            else:
                tensors.append(variant.constant(arg))
        arrays = variant.library(tensors)
        if self.target == "cuda":
            results = list(arrays)
        else:
            results = [a if use_numpy else _to_torch(a, dtype) for a, (_, dtype) in zip(arrays, variant.library.results)]
        if variant.single_output:
            return results[0]
        flat_out = [results[m] if isinstance(m, int) else m[1] for m in variant.lowered.outputs]
        return pytree.tree_unflatten(flat_out, variant.out_spec)


class GraphFunction:
    """An fx graph of ATen ops whose placeholders are all inputs (a region
    of the torch.compile backend), compiled to one library.

    When translation fails, the exception raised carries ``failed_node``:
    the name of the graph node it failed on (None when the failure is not
    one node's), so the backend can compile the rest of the region without
    that node."""

    def __init__(self, gm: torch.fx.GraphModule) -> None:
        placeholders = {}
        for node in gm.graph.nodes:
            if node.op == "placeholder":
                placeholders[node] = Placeholder("input", node.name, index=len(placeholders))
        translator = _NodeTrackingTranslator(gm.graph, placeholders)
        try:
            self.lowered = translator.run()
        except Exception as error:
            error.failed_node = translator.failed  # type: ignore[attr-defined]
            raise
        so, header = build_library(self.lowered.mlir, extra_args=cpu_build_args(self.lowered))
        self.library = Library(so, header, self.lowered)
        out = next(n for n in gm.graph.nodes if n.op == "output").args[0]
        self.single = not isinstance(out, (tuple, list))

    def __call__(self, *args: Any) -> Any:
        tensors = [args[a.index].detach() if a.kind == "input" else a.extra["value"] for a in self.lowered.args]
        arrays = self.library(tensors)
        results = [_to_torch(a, dtype) for a, (_, dtype) in zip(arrays, self.library.results)]
        flat = [results[m] if isinstance(m, int) else m[1] for m in self.lowered.outputs]
        return flat[0] if self.single else tuple(flat)


class _NodeTrackingTranslator(Translator):
    """A Translator that remembers the node a translation failed on."""

    failed: Optional[str] = None

    def _track(self, method: Any, node: torch.fx.Node) -> Any:
        try:
            return method(node)
        except Exception:
            self.failed = node.name
            raise

    def _translate(self, node: torch.fx.Node) -> Any:
        return self._track(super()._translate, node)

    def _evaluate(self, node: torch.fx.Node) -> Any:
        return self._track(super()._evaluate, node)


def compile(module: Any, example_inputs: Any, target: str = "cpu",  # noqa: A001
            example_kwargs: Optional[Dict[str, Any]] = None) -> CompiledModule:
    """Compiles ``module`` for the shapes and dtypes of ``example_inputs``.

    Strict: the whole graph or a clear error (``UnsupportedOperationError``
    naming the op and the user's line), never a silent fallback to PyTorch;
    ``torch.compile(model, backend="attn_opt")`` is the mode that leaves
    what attn-opt cannot compile to PyTorch.
    """
    if target not in ("cpu", "cuda"):
        raise ValueError(f"unsupported target {target!r}: expected 'cpu' or 'cuda'")
    from .capture import normalize_inputs
    return CompiledModule(module, normalize_inputs(example_inputs), example_kwargs, target)

