// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// RUN: attn-opt %s --attn-cpu-pipeline="openmp=false c-interface=false" | FileCheck %s --check-prefix=SERIAL
// RUN: attn-opt %s --attn-cpu-pipeline="approximate-math=false" | FileCheck %s --check-prefix=LIBM
// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s --check-prefix=UK
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
// CHECK: omp.parallel
// CHECK: omp.wsloop
// CHECK: omp.loop_nest
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

// The flash nest's block products, Q Kᵀ and P V, are micro-kernel calls in
// the parallel loop's body (flash-ukernels, the default); without, they are
// generated FMA loops. Q Kᵀ overwrites its score block (which was
// zero-filled before), P V accumulates into the rescaled output.
// UK-LABEL: llvm.func @attention(
// UK: omp.loop_nest
// UK: llvm.call @attn_uk_matmul_f32_overwrite(
// UK: llvm.call @attn_uk_matmul_f32(
// UK: omp.yield
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
