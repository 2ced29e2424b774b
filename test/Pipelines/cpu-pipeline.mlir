// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: attn-opt %s --attn-cpu-pipeline="openmp=false c-interface=false" | FileCheck %s --check-prefix=SERIAL
// RUN: attn-opt %s --attn-cpu-pipeline="approximate-math=false" | FileCheck %s --check-prefix=LIBM
// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s --check-prefix=UK
// RUN: attn-opt %s --attn-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=RANGES --implicit-check-not=__kmpc_for_static_init --implicit-check-not=__kmpc_dispatch
// RUN: attn-opt %s --attn-cpu-pipeline="flash-ukernels=false" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=RANGES --implicit-check-not=__kmpc_for_static_init --implicit-check-not=__kmpc_dispatch
// RUN: attn-opt %s --attn-cpu-pipeline="flash-ukernels=false" | FileCheck %s --check-prefix=NOUK
// The CPU pipeline takes attn on tensors to the LLVM dialect: parallel loops
// on OpenMP, a C interface per public function, nothing else left. The
// softmax's exp is inline arithmetic (range reduction: floor, fptosi, shl,
// bitcast for 2^n; polynomial: fma) unless approximate-math is off.

// CHECK-NOT: attn.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.
// CHECK-NOT: memref.
// CHECK-NOT: scf.
// CHECK-NOT: bufferization.
// CHECK-LABEL: llvm.func @attention(
// CHECK-SAME: attributes {llvm.emit_c_interface}
// Each thread of the region computes its own range of the loop's iterations
// (attn-omp-thread-ranges): no work-sharing loop is left.
// CHECK: omp.parallel
// CHECK: llvm.call @omp_get_thread_num()
// CHECK: llvm.call @omp_get_num_threads()
// CHECK-NOT: omp.wsloop
// CHECK-NOT: llvm.intr.exp
// CHECK-NOT: @expf
// CHECK: llvm.intr.floor
// CHECK: llvm.intr.fma
// CHECK: llvm.shl
// CHECK: llvm.bitcast
// CHECK-LABEL: llvm.func @_mlir_ciface_attention(
// CHECK: llvm.call @attention(
// CHECK-NOT: attn.
// CHECK-NOT: linalg.
// CHECK-NOT: tensor.

// LLVMIR: define { ptr, ptr, i64, [3 x i64], [3 x i64] } @attention(
// LLVMIR: call void (ptr, i32, ptr, ...) @__kmpc_fork_call(
// LLVMIR: define void @_mlir_ciface_attention(

// No loop-scheduling call into the OpenMP runtime, also where the flash nest
// has a dynamic schedule (its generated micro-kernels without flash-ukernels):
// RANGES: call i32 @omp_get_thread_num()

// The flash nest's block products, Q Kᵀ and P V, are micro-kernel calls in
// the parallel loop's body (flash-ukernels, the default); without, they are
// generated FMA loops. Q Kᵀ overwrites its score block (which was
// zero-filled before), P V accumulates into the rescaled output.
// UK-LABEL: llvm.func @attention(
// UK: omp.parallel
// UK: llvm.call @attn_uk_matmul_f32_overwrite(
// UK: llvm.call @attn_uk_matmul_f32(
// UK: omp.terminator
// NOUK-NOT: attn_uk_matmul

// LIBM-LABEL: llvm.func @attention(
// LIBM: llvm.intr.exp

// SERIAL-NOT: omp.
// SERIAL-NOT: _mlir_ciface_attention
// SERIAL-LABEL: llvm.func @attention(
// SERIAL-NOT: omp.
// SERIAL-NOT: _mlir_ciface_attention
func.func @attention(%q: tensor<2x5x4xf32>, %k: tensor<2x6x4xf32>, %v: tensor<2x6x3xf32>) -> tensor<2x5x3xf32> {
  %init_0 = tensor.empty() : tensor<2x5x3xf32>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x5x4xf32>, tensor<2x6x4xf32>, tensor<2x6x3xf32>)
      outs(%init_0 : tensor<2x5x3xf32>) scale(0.5) causal -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}
