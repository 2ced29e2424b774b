//===- Cuda.cpp - the CUDA driver, loaded at run time ---------------------===//
//
// Loads libcuda.so.1 with dlopen and resolves the driver API, turning every
// way of not having a GPU into an error message instead of a crash.
//
//===----------------------------------------------------------------------===//

#include "attn/Runtime/Cuda.h"

#include <dlfcn.h>

#include <cstdlib>
#include <mutex>

using namespace attn::runtime::cuda;

namespace {
struct State {
  Driver driver{};
  CUcontext context = nullptr;
  bool ok = false;
  std::string reason;
};

/// Resolves `name` (or its `_v2` version, which is what cuda.h's macros
/// name for the functions whose ABI changed) into `slot`.
template <typename Fn>
bool resolve(void *library, const char *name, Fn &slot, bool required,
             std::string &reason) {
  std::string v2 = std::string(name) + "_v2";
  void *symbol = dlsym(library, v2.c_str());
  if (!symbol)
    symbol = dlsym(library, name);
  slot = reinterpret_cast<Fn>(symbol);
  if (!symbol && required) {
    reason = std::string("libcuda.so.1 has no ") + name;
    return false;
  }
  return true;
}

std::string describeWith(const Driver &driver, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName)
    driver.cuGetErrorName(result, &name);
  if (driver.cuGetErrorString)
    driver.cuGetErrorString(result, &text);
  std::string out = name ? name : "CUDA error " + std::to_string(result);
  if (text)
    out += std::string(" (") + text + ")";
  return out;
}

void load(State &state) {
  // The driver is part of the NVIDIA kernel driver install, not the toolkit;
  // the versioned name is what every install provides.
  // ATTN_CUDA_DRIVER names another file: a driver outside the loader's
  // path, or a missing one to test the no-GPU path on a GPU machine.
  const char *path = std::getenv("ATTN_CUDA_DRIVER");
  if (!path || !*path)
    path = "libcuda.so.1";
  void *library = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char *message = dlerror();
    state.reason = std::string("cannot load ") + path +
                   " (no NVIDIA driver installed?): " +
                   (message ? message : "unknown dlopen error");
    return;
  }
  Driver &d = state.driver;
  std::string &reason = state.reason;
#define ATTN_RESOLVE(name, required)                                           \
  if (!resolve(library, #name, d.name, required, reason))                      \
    return;
  ATTN_RESOLVE(cuInit, true)
  ATTN_RESOLVE(cuDriverGetVersion, false)
  ATTN_RESOLVE(cuDeviceGetCount, true)
  ATTN_RESOLVE(cuDeviceGet, true)
  ATTN_RESOLVE(cuDeviceGetName, false)
  ATTN_RESOLVE(cuDevicePrimaryCtxRetain, true)
  ATTN_RESOLVE(cuCtxCreate, true)
  ATTN_RESOLVE(cuCtxPushCurrent, true)
  ATTN_RESOLVE(cuCtxPopCurrent, true)
  ATTN_RESOLVE(cuCtxSynchronize, true)
  ATTN_RESOLVE(cuModuleLoadData, true)
  ATTN_RESOLVE(cuModuleLoadDataEx, true)
  ATTN_RESOLVE(cuModuleUnload, true)
  ATTN_RESOLVE(cuModuleGetFunction, true)
  ATTN_RESOLVE(cuLaunchKernel, true)
  ATTN_RESOLVE(cuMemAlloc, true)
  ATTN_RESOLVE(cuMemAllocManaged, true)
  ATTN_RESOLVE(cuMemFree, true)
  ATTN_RESOLVE(cuMemcpy, true)
  ATTN_RESOLVE(cuMemcpyAsync, true)
  ATTN_RESOLVE(cuMemcpyHtoD, true)
  ATTN_RESOLVE(cuMemcpyDtoH, true)
  ATTN_RESOLVE(cuMemsetD32Async, true)
  ATTN_RESOLVE(cuMemsetD16Async, true)
  ATTN_RESOLVE(cuStreamCreate, true)
  ATTN_RESOLVE(cuStreamDestroy, true)
  ATTN_RESOLVE(cuStreamSynchronize, true)
  ATTN_RESOLVE(cuGetErrorName, true)
  ATTN_RESOLVE(cuGetErrorString, true)
  ATTN_RESOLVE(cuFuncSetAttribute, true)
  ATTN_RESOLVE(cuMemAllocAsync, false)
  ATTN_RESOLVE(cuMemFreeAsync, false)
  ATTN_RESOLVE(cuDeviceGetAttribute, false)
#undef ATTN_RESOLVE
  // Called while getState() is still initialising: no describeError here.
  auto describeError = [&](CUresult r) { return describeWith(d, r); };

  CUresult result = d.cuInit(0);
  if (result != 0) {
    // 100 = CUDA_ERROR_NO_DEVICE: the driver is installed, the GPU is not.
    reason = "cuInit failed: " + describeError(result);
    return;
  }
  int count = 0;
  result = d.cuDeviceGetCount(&count);
  if (result != 0 || count == 0) {
    reason = result != 0 ? "cuDeviceGetCount failed: " + describeError(result)
                         : std::string("no CUDA device found");
    return;
  }
  CUdevice device = 0;
  if ((result = d.cuDeviceGet(&device, 0)) != 0) {
    reason = "cuDeviceGet failed: " + describeError(result);
    return;
  }
  // The primary context is the one the CUDA runtime and PyTorch share, so
  // buffers can be exchanged with them in the same process.
  if ((result = d.cuDevicePrimaryCtxRetain(&state.context, device)) != 0) {
    reason = "cuDevicePrimaryCtxRetain failed: " + describeError(result);
    return;
  }
  state.ok = true;
}

State &getState() {
  static State state;
  static std::once_flag once;
  std::call_once(once, [] { load(state); });
  return state;
}
} // namespace

const Driver *attn::runtime::cuda::getDriver(std::string &reason) {
  State &state = getState();
  if (!state.ok) {
    reason = state.reason;
    return nullptr;
  }
  return &state.driver;
}

CUcontext attn::runtime::cuda::getContext() { return getState().context; }

bool attn::runtime::cuda::isAvailable(std::string &reason) {
  return getDriver(reason) != nullptr;
}

std::string attn::runtime::cuda::describeError(CUresult result) {
  return describeWith(getState().driver, result);
}

std::string attn::runtime::cuda::describeDevice() {
  std::string reason;
  const Driver *d = getDriver(reason);
  if (!d)
    return "no device: " + reason;
  char name[256] = "unknown device";
  CUdevice device = 0;
  if (d->cuDeviceGetName && d->cuDeviceGet(&device, 0) == 0)
    d->cuDeviceGetName(name, sizeof(name), device);
  int version = 0;
  if (d->cuDriverGetVersion)
    d->cuDriverGetVersion(&version);
  return std::string(name) + " (driver " + std::to_string(version / 1000) +
         "." + std::to_string(version % 1000 / 10) + ")";
}
