//===- CudaRuntimeWrappers.cpp - mgpu* functions on the dlopen'd driver ---===//
//
// The mgpu* entry points that MLIR's gpu-to-llvm lowering (LLVM 22) calls,
// implemented on the driver that Cuda.cpp loads at run time. Built as
// libattn_cuda_runtime.so so that compiled graphs link against it without a
// CUDA toolkit; on a machine without a GPU every call reports the reason
// once on stderr and does nothing instead of crashing.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Cuda.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

using namespace attn::runtime::cuda;

#define ATTN_EXPORT extern "C" __attribute__((visibility("default")))

namespace {
/// The driver, or null after reporting (once per process) why not.
const Driver *driver() {
  std::string reason;
  const Driver *d = getDriver(reason);
  static std::atomic<bool> reported{false};
  if (!d && !reported.exchange(true))
    std::fprintf(stderr, "error: CUDA unavailable: %s\n", reason.c_str());
  return d;
}

void check(CUresult result, const char *what) {
  if (result != 0)
    std::fprintf(stderr, "error: %s failed: %s\n", what,
                 describeError(result).c_str());
}

/// The stream that compiled code launches on in this thread, set by
/// attnCudaSetStream (null: a stream of its own per call), and whether the
/// end of a call waits for it.
thread_local CUstream currentStream = nullptr;
thread_local bool synchronizeCurrent = true;

/// Kernels whose dynamic shared memory limit was raised, and to what.
std::mutex kernelMutex;
std::unordered_map<CUfunction, int> sharedLimits;

/// Device buffers from cuMemAllocAsync, which cuMemFreeAsync must free.
std::mutex allocationMutex;
std::unordered_set<CUdeviceptr> asyncAllocations;

/// Makes the primary context current for the scope of a call, as MLIR's
/// own wrappers do: the caller's thread may have none (or another) current.
struct ScopedContext {
  explicit ScopedContext(const Driver *d) : d(d) {
    if (d)
      check(d->cuCtxPushCurrent(getContext()), "cuCtxPushCurrent");
  }
  ~ScopedContext() {
    if (d)
      check(d->cuCtxPopCurrent(nullptr), "cuCtxPopCurrent");
  }
  const Driver *d;
};
} // namespace

/// Loads a cubin or fatbin (from gpu-module-to-binary format=bin/fatbin).
ATTN_EXPORT CUmodule mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  ScopedContext scope(d);
  CUmodule module = nullptr;
  check(d->cuModuleLoadData(&module, data), "cuModuleLoadData");
  return module;
}

/// Loads PTX text (format=isa), which the driver JIT-compiles for the GPU
/// at hand at `optLevel`.
ATTN_EXPORT CUmodule mgpuModuleLoadJIT(void *data, int optLevel) {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  ScopedContext scope(d);
  CUmodule module = nullptr;
  // CU_JIT_OPTIMIZATION_LEVEL = 7, CU_JIT_ERROR_LOG_BUFFER = 5,
  // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6.
  char log[8192] = "";
  CUjit_option options[] = {7, 5, 6};
  void *values[] = {reinterpret_cast<void *>(intptr_t(optLevel)), log,
                    reinterpret_cast<void *>(intptr_t(sizeof(log)))};
  CUresult result = d->cuModuleLoadDataEx(&module, data, 3, options, values);
  if (result != 0) {
    check(result, "cuModuleLoadDataEx (PTX JIT)");
    if (log[0])
      std::fprintf(stderr, "%s\n", log);
    return nullptr;
  }
  return module;
}

ATTN_EXPORT void mgpuModuleUnload(CUmodule module) {
  const Driver *d = driver();
  if (d && module)
    check(d->cuModuleUnload(module), "cuModuleUnload");
}

ATTN_EXPORT CUfunction mgpuModuleGetFunction(CUmodule module,
                                             const char *name) {
  const Driver *d = driver();
  if (!d || !module)
    return nullptr;
  CUfunction function = nullptr;
  check(d->cuModuleGetFunction(&function, module, name),
        "cuModuleGetFunction");
  return function;
}

/// intptr_t dimensions match MLIR's index type, as in MLIR's wrappers.
ATTN_EXPORT void mgpuLaunchKernel(CUfunction function, intptr_t gridX,
                                  intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY,
                                  intptr_t blockZ, int32_t smem,
                                  CUstream stream, void **params,
                                  void **extra, size_t /*paramsCount*/) {
  const Driver *d = driver();
  if (!d)
    return;
  if (!function) {
    std::fprintf(stderr, "error: kernel launch skipped: the kernel was not "
                         "loaded (see the errors above)\n");
    return;
  }
  ScopedContext scope(d);
  // Above 48 KiB a kernel must opt in to dynamic shared memory
  // (CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8), once per size.
  if (smem > 48 * 1024) {
    std::lock_guard<std::mutex> lock(kernelMutex);
    int &limit = sharedLimits[function];
    if (limit < smem) {
      CUresult result = d->cuFuncSetAttribute(function, 8, smem);
      check(result, "cuFuncSetAttribute(MAX_DYNAMIC_SHARED_SIZE_BYTES)");
      if (result == 0)
        limit = smem;
    }
  }
  check(d->cuLaunchKernel(function, unsigned(gridX), unsigned(gridY),
                          unsigned(gridZ), unsigned(blockX), unsigned(blockY),
                          unsigned(blockZ), unsigned(smem), stream, params,
                          extra),
        "cuLaunchKernel");
}

ATTN_EXPORT CUstream mgpuStreamCreate() {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  if (currentStream)
    return currentStream;
  ScopedContext scope(d);
  CUstream stream = nullptr;
  // CU_STREAM_NON_BLOCKING = 1, as MLIR's wrappers.
  check(d->cuStreamCreate(&stream, 1), "cuStreamCreate");
  return stream;
}

ATTN_EXPORT void mgpuStreamDestroy(CUstream stream) {
  const Driver *d = driver();
  if (stream && stream == currentStream)
    return; // the caller's
  if (d && stream)
    check(d->cuStreamDestroy(stream), "cuStreamDestroy");
}

ATTN_EXPORT void mgpuStreamSynchronize(CUstream stream) {
  const Driver *d = driver();
  if (!d)
    return;
  if (stream && stream == currentStream && !synchronizeCurrent)
    return; // the caller waits when it needs the results
  ScopedContext scope(d);
  check(d->cuStreamSynchronize(stream), "cuStreamSynchronize");
}

/// Device memory, or managed memory (addressable from host and device) for
/// `gpu.alloc host_shared`, which the attn GPU pipeline uses for every
/// buffer so that results can be returned to C callers directly.
ATTN_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, CUstream stream,
                               bool isHostShared) {
  const Driver *d = driver();
  if (!d)
    return nullptr;
  ScopedContext scope(d);
  CUdeviceptr pointer = 0;
  if (sizeBytes == 0)
    sizeBytes = 1; // cuMemAlloc rejects 0; a distinct pointer is expected
  if (isHostShared) {
    // CU_MEM_ATTACH_GLOBAL = 1.
    check(d->cuMemAllocManaged(&pointer, sizeBytes, 1), "cuMemAllocManaged");
  } else if (stream && d->cuMemAllocAsync && d->cuMemFreeAsync) {
    // Stream-ordered: no device-wide synchronisation when it is freed, so
    // a call's temporaries cost nothing between its kernels.
    check(d->cuMemAllocAsync(&pointer, sizeBytes, stream), "cuMemAllocAsync");
    std::lock_guard<std::mutex> lock(allocationMutex);
    asyncAllocations.insert(pointer);
  } else {
    check(d->cuMemAlloc(&pointer, sizeBytes), "cuMemAlloc");
  }
  return reinterpret_cast<void *>(pointer);
}

ATTN_EXPORT void mgpuMemFree(void *pointer, CUstream stream) {
  const Driver *d = driver();
  if (!d || !pointer)
    return;
  ScopedContext scope(d);
  auto address = reinterpret_cast<CUdeviceptr>(pointer);
  bool async;
  {
    std::lock_guard<std::mutex> lock(allocationMutex);
    async = asyncAllocations.erase(address) > 0;
  }
  if (async)
    check(d->cuMemFreeAsync(address, stream), "cuMemFreeAsync");
  else
    check(d->cuMemFree(address), "cuMemFree");
}

ATTN_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                            CUstream stream) {
  const Driver *d = driver();
  if (!d)
    return;
  ScopedContext scope(d);
  // Unified addressing: the driver tells host from device pointers.
  check(d->cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst),
                         reinterpret_cast<CUdeviceptr>(src), sizeBytes, stream),
        "cuMemcpyAsync");
}

ATTN_EXPORT void mgpuMemset32(void *dst, unsigned value, size_t count,
                              CUstream stream) {
  const Driver *d = driver();
  if (!d)
    return;
  ScopedContext scope(d);
  check(d->cuMemsetD32Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            stream),
        "cuMemsetD32Async");
}

ATTN_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                              CUstream stream) {
  const Driver *d = driver();
  if (!d)
    return;
  ScopedContext scope(d);
  check(d->cuMemsetD16Async(reinterpret_cast<CUdeviceptr>(dst), value, count,
                            stream),
        "cuMemsetD16Async");
}

/// Waits for all work on the context; for callers that launched
/// asynchronously (the pipeline's launches synchronise already).
ATTN_EXPORT void mgpuSynchronize() {
  const Driver *d = driver();
  if (!d)
    return;
  ScopedContext scope(d);
  check(d->cuCtxSynchronize(), "cuCtxSynchronize");
}

/// Makes compiled code called from this thread launch its kernels (and
/// allocate its temporaries) on `stream`, e.g. PyTorch's current stream;
/// with `synchronize` 0 a call returns as soon as its work is enqueued and
/// the caller synchronises. A null stream restores the default: a stream of
/// the call's own, waited for before the call returns.
ATTN_EXPORT void attnCudaSetStream(void *stream, int synchronize) {
  currentStream = static_cast<CUstream>(stream);
  synchronizeCurrent = !stream || synchronize != 0;
}

/// 1 when a GPU can run the compiled code; otherwise 0 with the reason
/// copied (NUL-terminated, truncated) into `reason`. For C callers of an
/// ahead-of-time library, to check before calling the compiled function.
ATTN_EXPORT int attnCudaAvailable(char *reason, size_t reasonSize) {
  std::string why;
  if (isAvailable(why))
    return 1;
  if (reason && reasonSize > 0)
    std::snprintf(reason, reasonSize, "%s", why.c_str());
  return 0;
}
