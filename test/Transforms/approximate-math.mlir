// RUN: attn-opt %s --attn-approximate-math | FileCheck %s
// RUN: attn-opt %s --attn-approximate-math="x86-avx512=1" | FileCheck %s --check-prefix=AVX512
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

// With x86-avx512, exp of f32 vectors of 16k lanes: a mask of the lanes at
// or above ln(FLT_MIN) (or NaN: uge), the upper clamp (NaN passes the
// select), k = roundeven(x log2 e), r = x - k ln2 in two FMAs, a degree-6
// polynomial in six FMAs, then p * 2^k by vscalefps on each 16-lane piece
// (operands a = p, b = k, src = 0 where the mask's i16 is clear, current
// rounding).
// AVX512-LABEL: func.func @exp_avx512(
// AVX512-SAME:      %[[X:.*]]: vector<2x16xf32>)
// AVX512-DAG:     %[[ROUND:.*]] = arith.constant 4 : i32
// AVX512-DAG:     %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<16xf32>
// AVX512-DAG:     %[[ONE:.*]] = arith.constant dense<1.000000e+00> : vector<2x16xf32>
// AVX512-DAG:     %[[C6:.*]] = arith.constant dense<0.00138367899> : vector<2x16xf32>
// AVX512-DAG:     %[[LN2LO:.*]] = arith.constant dense<1.90465421E-9> : vector<2x16xf32>
// AVX512-DAG:     %[[LN2HI:.*]] = arith.constant dense<-0.693147182> : vector<2x16xf32>
// AVX512-DAG:     %[[LOG2E:.*]] = arith.constant dense<1.44269502> : vector<2x16xf32>
// AVX512-DAG:     %[[LO:.*]] = arith.constant dense<-87.3365402> : vector<2x16xf32>
// AVX512-DAG:     %[[HI:.*]] = arith.constant dense<8.880000e+01> : vector<2x16xf32>
// AVX512:         %[[KEPT:.*]] = arith.cmpf uge, %[[X]], %[[LO]]
// AVX512:         %[[ABOVE:.*]] = arith.cmpf ogt, %[[X]], %[[HI]]
// AVX512:         %[[X2:.*]] = arith.select %[[ABOVE]], %[[HI]], %[[X]]
// AVX512:         %[[T:.*]] = arith.mulf %[[X2]], %[[LOG2E]]
// AVX512:         %[[K:.*]] = math.roundeven %[[T]]
// AVX512:         %[[R0:.*]] = math.fma %[[K]], %[[LN2HI]], %[[X2]]
// AVX512:         %[[R:.*]] = math.fma %[[K]], %[[LN2LO]], %[[R0]]
// AVX512:         math.fma %[[C6]], %[[R]], %{{.*}}
// AVX512-COUNT-4: math.fma %{{.*}}, %[[R]], %{{.*}}
// AVX512:         %[[P:.*]] = math.fma %{{.*}}, %[[R]], %[[ONE]]
// AVX512:         %[[FP:.*]] = vector.shape_cast %[[P]] : vector<2x16xf32> to vector<32xf32>
// AVX512:         %[[FK:.*]] = vector.shape_cast %[[K]] : vector<2x16xf32> to vector<32xf32>
// AVX512:         %[[FM:.*]] = vector.shape_cast %[[KEPT]] : vector<2x16xi1> to vector<32xi1>
// AVX512:         %[[M0:.*]] = vector.extract_strided_slice %[[FM]] {offsets = [0], sizes = [16], strides = [1]}
// AVX512:         %[[B0:.*]] = vector.bitcast %[[M0]] : vector<16xi1> to vector<1xi16>
// AVX512:         %[[I0:.*]] = vector.extract %[[B0]][0] : i16 from vector<1xi16>
// AVX512:         %[[P0:.*]] = vector.extract_strided_slice %[[FP]] {offsets = [0], sizes = [16], strides = [1]}
// AVX512:         %[[K0:.*]] = vector.extract_strided_slice %[[FK]] {offsets = [0], sizes = [16], strides = [1]}
// AVX512:         %[[S0:.*]] = llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"(%[[P0]], %[[K0]], %[[ZERO]], %[[I0]], %[[ROUND]])
// AVX512:         %[[E0:.*]] = vector.insert_strided_slice %[[S0]], %{{.*}} {offsets = [0], strides = [1]}
// AVX512:         %[[M16:.*]] = vector.extract_strided_slice %[[FM]] {offsets = [16], sizes = [16], strides = [1]}
// AVX512:         %[[B16:.*]] = vector.bitcast %[[M16]] : vector<16xi1> to vector<1xi16>
// AVX512:         %[[I16:.*]] = vector.extract %[[B16]][0] : i16 from vector<1xi16>
// AVX512:         %[[P16:.*]] = vector.extract_strided_slice %[[FP]] {offsets = [16], sizes = [16], strides = [1]}
// AVX512:         %[[K16:.*]] = vector.extract_strided_slice %[[FK]] {offsets = [16], sizes = [16], strides = [1]}
// AVX512:         %[[S16:.*]] = llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"(%[[P16]], %[[K16]], %[[ZERO]], %[[I16]], %[[ROUND]])
// AVX512:         %[[E:.*]] = vector.insert_strided_slice %[[S16]], %[[E0]] {offsets = [16], strides = [1]}
// AVX512:         %[[RES:.*]] = vector.shape_cast %[[E]] : vector<32xf32> to vector<2x16xf32>
// AVX512:         return %[[RES]]
// Without the option the same function gets the portable expansion.
// CHECK-LABEL: func.func @exp_avx512(
// CHECK-NOT:     llvm.call_intrinsic
// CHECK:         arith.bitcast %{{.*}} : vector<2x16xi32> to vector<2x16xf32>
// CHECK-NOT:     llvm.call_intrinsic
// CHECK:         return
func.func @exp_avx512(%x: vector<2x16xf32>) -> vector<2x16xf32> {
  %0 = math.exp %x : vector<2x16xf32>
  return %0 : vector<2x16xf32>
}

// An exp marked attn.nonpositive_argument (softmax's x - max) cannot
// overflow: no upper clamp; the rest is the same expansion.
// AVX512-LABEL: func.func @exp_nonpositive(
// AVX512-SAME:      %[[X:.*]]: vector<16xf32>)
// AVX512-NOT:     8.880000e+01
// AVX512:         %[[KEPT:.*]] = arith.cmpf uge, %[[X]], %{{.*}}
// AVX512-NOT:     arith.select
// AVX512:         %[[T:.*]] = arith.mulf %[[X]], %{{.*}}
// AVX512:         %[[K:.*]] = math.roundeven %[[T]]
// AVX512:         math.fma %[[K]], %{{.*}}, %[[X]]
// AVX512:         llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// AVX512:         return
func.func @exp_nonpositive(%x: vector<16xf32>) -> vector<16xf32> {
  %0 = math.exp %x {attn.nonpositive_argument} : vector<16xf32>
  return %0 : vector<16xf32>
}

// Other widths, scalars and f64 keep the portable forms (f64: libm).
// AVX512-LABEL: func.func @exp_avx512_other(
// AVX512-NOT:     llvm.call_intrinsic
// AVX512:         arith.bitcast %{{.*}} : vector<8xi32> to vector<8xf32>
// AVX512-NOT:     llvm.call_intrinsic
// AVX512:         arith.bitcast %{{.*}} : i32 to f32
// AVX512-NOT:     llvm.call_intrinsic
// AVX512:         math.exp %{{.*}} : vector<16xf64>
// AVX512:         return
func.func @exp_avx512_other(%x: vector<8xf32>, %y: f32, %z: vector<16xf64>)
    -> (vector<8xf32>, f32, vector<16xf64>) {
  %0 = math.exp %x : vector<8xf32>
  %1 = math.exp %y : f32
  %2 = math.exp %z : vector<16xf64>
  return %0, %1, %2 : vector<8xf32>, f32, vector<16xf64>
}
