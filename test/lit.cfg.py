# -*- Python -*-
# lit configuration for attn-opt's IR and end-to-end tests.

import os

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "ATTN"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".c"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.attn_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%attn_src_root", config.attn_src_root))
config.substitutions.append(("%attn_lib_dir", config.attn_lib_dir))

llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP"])
llvm_config.use_default_substitutions()

tool_dirs = [config.attn_tools_dir, config.llvm_tools_dir]
tools = [
    "FileCheck",
    "not",
    "count",
    "split-file",
    # Every attn-opt run also verifies the IR after each pass: the packaged
    # LLVM has no assertions, so this is how broken IR is caught early.
    ToolSubst("attn-opt", extra_args=["--verify-each"], unresolved="fatal"),
    ToolSubst("attn-capi-test", unresolved="fatal"),
    ToolSubst("attn-run", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, tool_dirs)

# Execution tests: JIT the LLVM dialect with the runtime support libraries
# (printMemrefF32 lives in mlir_runner_utils, memrefCopy in
# mlir_c_runner_utils, the OpenMP runtime in libomp).
llvm_config.add_tool_substitutions(
    [ToolSubst("mlir-runner", unresolved="fatal"),
     ToolSubst("mlir-translate", unresolved="fatal"),
     # GPU tests read PTX back from the NVPTX backend and check linkage.
     ToolSubst("llc", unresolved="fatal"),
     ToolSubst("llvm-readelf", unresolved="fatal")],
    [config.llvm_tools_dir])
_llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
# The CPU pipeline's matrix products call attn-opt's micro-kernels.
config.substitutions.append(
    ("%mlir_runner_libs",
     ",".join([os.path.join(_llvm_lib_dir, lib) for lib in
               ["libmlir_runner_utils.so", "libmlir_c_runner_utils.so",
                "libomp.so"]] +
              [os.path.join(config.attn_lib_dir, "libattn_ukernels.so")])))

# The project's virtual environment (scripts/setup.sh) has numpy, torch and
# einops, which end-to-end tests use to cross-check the reference evaluator;
# the first python3 on PATH may not.
config.substitutions.append(("%torch_python", config.attn_python))

# Install tests (test/Install): install this build and build a consumer project
# against it with the main build's generator, compilers, launcher and linker.
llvm_config.with_system_environment(
    ["CCACHE_DIR", "CCACHE_BASEDIR", "CCACHE_CONFIGPATH"])
config.substitutions.append(("%{cmake}", '"%s"' % config.cmake_command))
config.substitutions.append(("%{attn_obj_root}", config.attn_obj_root))
_consumer_args = [
    "-G", config.cmake_generator,
    "-DCMAKE_MAKE_PROGRAM=" + config.cmake_make_program,
    "-DCMAKE_BUILD_TYPE=" + (config.cmake_build_type or "Release"),
    "-DCMAKE_C_COMPILER=" + config.cmake_c_compiler,
    "-DCMAKE_CXX_COMPILER=" + config.cmake_cxx_compiler,
    "-DMLIR_DIR=" + config.mlir_dir,
]
if config.cmake_cxx_compiler_launcher:
    _consumer_args.append(
        "-DCMAKE_CXX_COMPILER_LAUNCHER=" + config.cmake_cxx_compiler_launcher)
if config.llvm_use_linker:
    _consumer_args.append(
        "-DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=" + config.llvm_use_linker)
config.substitutions.append(
    ("%{consumer_cmake_args}", " ".join('"%s"' % a for a in _consumer_args)))

# GPU static checks (test/GPU): the CUDA toolkit's ptxas assembles the PTX the
# pipeline emits and nvdisasm (or the PyPI package nvidia-cuda-nvdisasm in the
# project's environment) disassembles the cubin. No GPU is needed; tests that
# REQUIRE a missing tool are reported UNSUPPORTED.
import glob
import shutil


def _find_cuda_tool(name):
    override = os.environ.get("ATTN_" + name.upper())
    if override:
        return override if os.access(override, os.X_OK) else None
    found = shutil.which(name)
    if found:
        return found
    roots = [os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"),
             "/usr/local/cuda"]
    for root in roots:
        if root and os.access(os.path.join(root, "bin", name), os.X_OK):
            return os.path.join(root, "bin", name)
    venv = os.path.dirname(os.path.dirname(config.attn_python))
    for candidate in sorted(glob.glob(os.path.join(
            venv, "lib", "python3*", "site-packages", "nvidia", "*", "bin",
            name))):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


for _tool in ["ptxas", "nvdisasm", "cuobjdump"]:
    _path = _find_cuda_tool(_tool)
    if _path:
        config.available_features.add(_tool)
        config.substitutions.append(("%" + _tool, _path))
    else:
        lit_config.note(_tool + " not found (CUDA toolkit / nvidia-cuda-* "
                        "packages): the GPU tests that need it are skipped")
config.substitutions.append(
    ("%gpu_binaries", os.path.join(config.attn_src_root, "scripts",
                                   "gpu-binaries.py")))
config.substitutions.append(
    ("%gpu_sass_stats", os.path.join(config.attn_src_root, "scripts",
                                     "gpu-sass-stats.py")))
config.substitutions.append(
    ("%gpu_emulate", os.path.join(config.attn_src_root, "scripts",
                                  "gpu-emulate.py")))

# CPU features of this host (tests of code that needs them REQUIRE them).
try:
    with open("/proc/cpuinfo") as _cpuinfo:
        _flags = next((line.split(":", 1)[1].split() for line in _cpuinfo
                       if line.startswith("flags")), [])
except OSError:
    _flags = []
if "avx512f" in _flags:
    config.available_features.add("avx512f")
else:
    lit_config.note("the host has no AVX-512F: its tests are skipped")
# AMD Zen 4 and later with AVX512-BF16 (family 0x19 and up): where the bf16
# micro-kernel runs VDPBF16PS by itself and attn-run keeps bf16 attention's
# flash products bf16 (attn-run.cpp, UkernelsBf16.cpp).
try:
    with open("/proc/cpuinfo") as _cpuinfo:
        _info = {key.strip(): value.strip() for key, value in
                 (line.split(":", 1) for line in _cpuinfo if ":" in line)}
    _amd = _info.get("vendor_id") == "AuthenticAMD"
    _family = int(_info.get("cpu family") or 0)
except (OSError, ValueError):
    _amd, _family = False, 0
if _amd and _family >= 0x19 and "avx512_bf16" in _flags:
    config.available_features.add("fast-avx512-bf16")
