// RUN: attn-opt %s --attn-approximate-math | FileCheck %s
// attn-approximate-math: f32 exp, tanh and erf (scalars and vectors) become
// inline arithmetic; f16 ones are computed in f32; other math ops stay.

// CHECK-LABEL: func.func @exp_scalar
// CHECK-NOT:     math.exp
// Range reduction: x = n ln2 + r, 2^n built from the exponent bits.
// CHECK:         math.floor
// CHECK:         math.fma
// CHECK:         arith.shli
// CHECK:         arith.bitcast
// CHECK-NOT:     math.exp
// CHECK:         return
func.func @exp_scalar(%x: f32) -> f32 {
  %0 = math.exp %x : f32
  return %0 : f32
}

// CHECK-LABEL: func.func @exp_vector
// CHECK-NOT:     math.exp
// CHECK:         math.fma %{{.*}} : vector<16xf32>
// CHECK:         arith.bitcast %{{.*}} : vector<16xi32> to vector<16xf32>
// CHECK-NOT:     math.exp
func.func @exp_vector(%x: vector<16xf32>) -> vector<16xf32> {
  %0 = math.exp %x : vector<16xf32>
  return %0 : vector<16xf32>
}

// CHECK-LABEL: func.func @tanh_erf
// CHECK-NOT:     math.tanh
// CHECK-NOT:     math.erf
// CHECK:         return
func.func @tanh_erf(%x: f32) -> (f32, f32) {
  %0 = math.tanh %x : f32
  %1 = math.erf %x : f32
  return %0, %1 : f32, f32
}

// CHECK-LABEL: func.func @exp_f16
// CHECK:         %[[WIDE:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK-NOT:     math.exp
// CHECK:         arith.truncf %{{.*}} : f32 to f16
func.func @exp_f16(%x: f16) -> f16 {
  %0 = math.exp %x : f16
  return %0 : f16
}

// Not approximated: log and f64.
// CHECK-LABEL: func.func @untouched
// CHECK:         math.log %{{.*}} : f32
// CHECK:         math.exp %{{.*}} : f64
func.func @untouched(%x: f32, %y: f64) -> (f32, f64) {
  %0 = math.log %x : f32
  %1 = math.exp %y : f64
  return %0, %1 : f32, f64
}
