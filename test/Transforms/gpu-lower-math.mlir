// RUN: attn-opt %s --pass-pipeline="builtin.module(gpu.module(attn-gpu-lower-math))" | FileCheck %s

// No libdevice: f32 exp is the hardware ex2 of x log2(e), tanh a polynomial
// of plain arithmetic; f64 math has no approximation and is left alone.
// CHECK-LABEL: gpu.func @k(
// CHECK-SAME: %[[X:[^:]*]]: f32, %[[Y:[^:]*]]: f64
// CHECK-DAG: %[[LOG2E:.*]] = arith.constant 1.44269502 : f32
// CHECK: %[[S:.*]] = arith.mulf %[[X]], %[[LOG2E]] : f32
// CHECK: %[[E:.*]] = llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%[[S]]) : (f32) -> f32
// CHECK: memref.store %[[E]]
// CHECK-NOT: math.tanh
// CHECK: math.fma
// CHECK: arith.divf
// CHECK: memref.store
// CHECK: math.exp %[[Y]] : f64
gpu.module @kernels {
  gpu.func @k(%x: f32, %y: f64, %out: memref<2xf32>, %out64: memref<f64>) kernel {
    %c0 = arith.constant 0 : index
    %c1 = arith.constant 1 : index
    %e = math.exp %x : f32
    memref.store %e, %out[%c0] : memref<2xf32>
    %t = math.tanh %x : f32
    memref.store %t, %out[%c1] : memref<2xf32>
    %d = math.exp %y : f64
    memref.store %d, %out64[] : memref<f64>
    gpu.return
  }
}
