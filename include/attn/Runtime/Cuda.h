//===- Cuda.h - the CUDA driver, loaded at run time -------------*- C++ -*-===//
//
// Access to the CUDA driver API through dlopen("libcuda.so.1"), so nothing
// that runs compiled GPU code needs a CUDA toolkit to build or link, and a
// machine without a GPU gets an error message instead of a loader failure.
// No LLVM or MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_RUNTIME_CUDA_H
#define ATTN_RUNTIME_CUDA_H

#include <cstddef>
#include <cstdint>
#include <string>

namespace attn::runtime::cuda {

// The few driver API types used, with their ABI (cuda.h is not needed).
using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUjit_option = int;

/// The resolved driver entry points (the `_v2` ABI where the driver has one).
struct Driver {
  CUresult (*cuInit)(unsigned);
  CUresult (*cuDriverGetVersion)(int *);
  CUresult (*cuDeviceGetCount)(int *);
  CUresult (*cuDeviceGet)(CUdevice *, int);
  CUresult (*cuDeviceGetName)(char *, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext *, CUdevice);
  CUresult (*cuCtxCreate)(CUcontext *, unsigned, CUdevice);
  CUresult (*cuCtxPushCurrent)(CUcontext);
  CUresult (*cuCtxPopCurrent)(CUcontext *);
  CUresult (*cuCtxSynchronize)();
  CUresult (*cuModuleLoadData)(CUmodule *, const void *);
  CUresult (*cuModuleLoadDataEx)(CUmodule *, const void *, unsigned,
                                 CUjit_option *, void **);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuModuleGetFunction)(CUfunction *, CUmodule, const char *);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned,
                             unsigned, unsigned, unsigned, unsigned, CUstream,
                             void **, void **);
  CUresult (*cuMemAlloc)(CUdeviceptr *, size_t);
  CUresult (*cuMemAllocManaged)(CUdeviceptr *, size_t, unsigned);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemcpy)(CUdeviceptr, CUdeviceptr, size_t);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyHtoD)(CUdeviceptr, const void *, size_t);
  CUresult (*cuMemcpyDtoH)(void *, CUdeviceptr, size_t);
  CUresult (*cuMemsetD32Async)(CUdeviceptr, unsigned, size_t, CUstream);
  CUresult (*cuMemsetD16Async)(CUdeviceptr, unsigned short, size_t,
                               CUstream);
  CUresult (*cuStreamCreate)(CUstream *, unsigned);
  CUresult (*cuStreamDestroy)(CUstream);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuGetErrorName)(CUresult, const char **);
  CUresult (*cuGetErrorString)(CUresult, const char **);
  CUresult (*cuFuncSetAttribute)(CUfunction, int, int);
  // Stream-ordered allocation (CUDA 11.2+); null on older drivers.
  CUresult (*cuMemAllocAsync)(CUdeviceptr *, size_t, CUstream);
  CUresult (*cuMemFreeAsync)(CUdeviceptr, CUstream);
  CUresult (*cuDeviceGetAttribute)(int *, int, CUdevice);
};

/// Loads the driver, initialises it and makes device 0's primary context
/// current on first use (thread-safe, once). Returns null and sets `reason`
/// when libcuda.so.1 is missing or incomplete, cuInit fails, or there is no
/// device; the failure is remembered, so later calls give the same reason.
const Driver *getDriver(std::string &reason);

/// The primary context of device 0, retained by getDriver.
CUcontext getContext();

/// True when a usable GPU is present; `reason` says why not otherwise.
bool isAvailable(std::string &reason);

/// "<name>: <description>" of a driver error code, e.g. for messages.
std::string describeError(CUresult result);

/// A short description of the device, e.g. "NVIDIA H100 (driver 12.8)".
std::string describeDevice();

} // namespace attn::runtime::cuda

#endif // ATTN_RUNTIME_CUDA_H
