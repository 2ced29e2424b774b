// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=4 kv-tile=4" --attn-cpu-pipeline \
// RUN: | env OMP_NUM_THREADS=2 mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN: | FileCheck %s
// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=8 kv-tile=3" --attn-cpu-pipeline="openmp=false" \
// RUN: | mlir-runner -e main -entry-point-result=void -shared-libs=%mlir_runner_libs \
// RUN: | FileCheck %s
//
// Numeric check of the flash lowering of attn.attention against the unfused
// computation of the same attention. Each @flash_* is one attn.attention
// (flash-tiled by convert-attn-to-linalg with small tiles, so there are
// several query and key blocks, partial last blocks and, with tile 8/3,
// causal bounds that are not multiples of the key tile); each @ref_* is the
// unfused chain einsum -> select(-inf) -> softmax -> einsum in f32, which
// convert-attn-to-linalg lowers op by op before attn-cpu-pipeline (and so
// its fusion) ever sees it. Inputs are 2*sin of a mix of the indices.
// @report prints [max |flash - ref|, max |ref|]: the difference must be at
// f32 rounding level (< 5e-5, see below; < 1e-3 for f16 outputs, whose
// rounding alone
// is ~5e-4 at |out| ~ 2), and the reference must not be trivially 0. A NaN
// anywhere (e.g. from a fully masked row) propagates through maximumf and
// fails the check.
// The bound is 5e-5 for f32 outputs: the flash lowering multiplies each query
// block by the (non power-of-two) scale before Q Kᵀ, the reference scales the
// scores after it, so scores (|s| up to ~10 here) differ by a few f32 ulps,
// ~1e-6, which the softmax turns into relative output errors of that order at
// |out| up to 4.

// cross: B=2, H=2, Sq=16, Sk=24, no mask.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// causal: Sq=Sk=16.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// padding: boolean mask from valid lengths [5, 11], row 3 fully masked (-> 0).
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// odd: Sq=7, Sk=13, Dv=5.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// odd_causal_mask: Sq=7, Sk=13, causal and the padding mask.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// f16_causal: f16 inputs and output, f32 running max/sum; f32 reference.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|0\.000[0-9]+|[0-9.]+e-(0[4-9]|[1-9][0-9])),  [1-9]}}
// The additive and Gaussian scores (Sq=7, Sk=13, D=8, Dv=5), whose
// references sum the score over d in their own (b, h, i, j, d) generic.
// additive_mask: weight, padding mask (row 3 fully masked).
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// additive_causal: weight, causal.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// gaussian_mask: no weight, padding mask.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}
// gaussian_weight_causal_mask: weight, causal and the padding mask.
// CHECK: data =
// CHECK-NEXT: {{^\[(0|[0-9.]+e-(0[6-9]|[1-9][0-9])|[1-4](\.[0-9]+)?e-05),  [1-9]}}

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#sq5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d4)>
#sk5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d3, d4)>
#sw5 = affine_map<(d0, d1, d2, d3, d4) -> (d4)>
#ss5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3)>
#scalar4 = affine_map<(d0, d1, d2, d3) -> ()>
func.func private @printMemrefF32(tensor<*xf32>)

func.func private @gen_2x2x16x8_f32(%seed: f32) -> tensor<2x2x16x8xf32> {
  %e = tensor.empty() : tensor<2x2x16x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<2x2x16x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<2x2x16x8xf32>
  return %r : tensor<2x2x16x8xf32>
}

func.func private @gen_2x2x24x8_f32(%seed: f32) -> tensor<2x2x24x8xf32> {
  %e = tensor.empty() : tensor<2x2x24x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<2x2x24x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<2x2x24x8xf32>
  return %r : tensor<2x2x24x8xf32>
}

func.func @flash_cross(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x24x8xf32>, %v: tensor<2x2x24x8xf32>) -> tensor<2x2x16x8xf32> {
  %o_init = tensor.empty() : tensor<2x2x16x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x2x16x8xf32>, tensor<2x2x24x8xf32>, tensor<2x2x24x8xf32>)
      outs(%o_init : tensor<2x2x16x8xf32>) scale(0.35) -> tensor<2x2x16x8xf32>
  return %o : tensor<2x2x16x8xf32>
}

func.func @ref_cross(%q: tensor<2x2x16x8xf32>, %k: tensor<2x2x24x8xf32>, %v: tensor<2x2x24x8xf32>) -> tensor<2x2x16x8xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<2x2x16x8xf32>, tensor<2x2x24x8xf32>) -> tensor<2x2x16x24xf32>
  %p = attn.softmax %s axis(3) : tensor<2x2x16x24xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<2x2x16x24xf32>, tensor<2x2x24x8xf32>) -> tensor<2x2x16x8xf32>
  return %o : tensor<2x2x16x8xf32>
}

func.func @run_cross() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_2x2x16x8_f32(%s1) : (f32) -> tensor<2x2x16x8xf32>
  %k = call @gen_2x2x24x8_f32(%s2) : (f32) -> tensor<2x2x24x8xf32>
  %v = call @gen_2x2x24x8_f32(%s3) : (f32) -> tensor<2x2x24x8xf32>
  %fo = call @flash_cross(%q, %k, %v) : (tensor<2x2x16x8xf32>, tensor<2x2x24x8xf32>, tensor<2x2x24x8xf32>) -> tensor<2x2x16x8xf32>
  %ro = call @ref_cross(%q, %k, %v) : (tensor<2x2x16x8xf32>, tensor<2x2x24x8xf32>, tensor<2x2x24x8xf32>) -> tensor<2x2x16x8xf32>
  call @report_3(%fo, %ro) : (tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>) -> ()
  return
}

func.func private @gen_1x2x16x8_f32(%seed: f32) -> tensor<1x2x16x8xf32> {
  %e = tensor.empty() : tensor<1x2x16x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x16x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<1x2x16x8xf32>
  return %r : tensor<1x2x16x8xf32>
}

func.func @flash_causal(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %o_init = tensor.empty() : tensor<1x2x16x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>)
      outs(%o_init : tensor<1x2x16x8xf32>) scale(0.35) causal -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

func.func @ref_causal(%q: tensor<1x2x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x16xf32>
  %ce = tensor.empty() : tensor<1x2x16x16xi1>
  %cm = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%ce : tensor<1x2x16x16xi1>) {
  ^bb0(%o: i1):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %keep = arith.cmpi ule, %j, %i : index
    linalg.yield %keep : i1
  } -> tensor<1x2x16x16xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x16x16xf32>
  %sc = arith.select %cm, %s, %ninf : tensor<1x2x16x16xi1>, tensor<1x2x16x16xf32>
  %p = attn.softmax %sc axis(3) : tensor<1x2x16x16xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

func.func @run_causal() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_1x2x16x8_f32(%s1) : (f32) -> tensor<1x2x16x8xf32>
  %k = call @gen_1x2x16x8_f32(%s2) : (f32) -> tensor<1x2x16x8xf32>
  %v = call @gen_1x2x16x8_f32(%s3) : (f32) -> tensor<1x2x16x8xf32>
  %fo = call @flash_causal(%q, %k, %v) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  %ro = call @ref_causal(%q, %k, %v) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  call @report_0(%fo, %ro) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> ()
  return
}

func.func private @gen_2x1x16x8_f32(%seed: f32) -> tensor<2x1x16x8xf32> {
  %e = tensor.empty() : tensor<2x1x16x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<2x1x16x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<2x1x16x8xf32>
  return %r : tensor<2x1x16x8xf32>
}

func.func @flash_padding(%q: tensor<2x1x16x8xf32>, %k: tensor<2x1x16x8xf32>, %v: tensor<2x1x16x8xf32>, %m: tensor<2x1x16x16xi1>) -> tensor<2x1x16x8xf32> {
  %o_init = tensor.empty() : tensor<2x1x16x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>) mask(%m : tensor<2x1x16x16xi1>)
      outs(%o_init : tensor<2x1x16x8xf32>) scale(0.35) -> tensor<2x1x16x8xf32>
  return %o : tensor<2x1x16x8xf32>
}

func.func @ref_padding(%q: tensor<2x1x16x8xf32>, %k: tensor<2x1x16x8xf32>, %v: tensor<2x1x16x8xf32>, %m: tensor<2x1x16x16xi1>) -> tensor<2x1x16x8xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>) -> tensor<2x1x16x16xf32>
  %ninf2 = arith.constant dense<0xFF800000> : tensor<2x1x16x16xf32>
  %sm = arith.select %m, %s, %ninf2 : tensor<2x1x16x16xi1>, tensor<2x1x16x16xf32>
  %p = attn.softmax %sm axis(3) : tensor<2x1x16x16xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<2x1x16x16xf32>, tensor<2x1x16x8xf32>) -> tensor<2x1x16x8xf32>
  return %o : tensor<2x1x16x8xf32>
}

func.func @run_padding() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_2x1x16x8_f32(%s1) : (f32) -> tensor<2x1x16x8xf32>
  %k = call @gen_2x1x16x8_f32(%s2) : (f32) -> tensor<2x1x16x8xf32>
  %v = call @gen_2x1x16x8_f32(%s3) : (f32) -> tensor<2x1x16x8xf32>
  %me = tensor.empty() : tensor<2x1x16x16xi1>
  %m = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%me : tensor<2x1x16x16xi1>) {
  ^bb0(%o: i1):
    %b = linalg.index 0 : index
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %c11 = arith.constant 11 : index
    %first = arith.cmpi eq, %b, %c0 : index
    %len = arith.select %first, %c5, %c11 : index
    %valid = arith.cmpi ult, %j, %len : index
    %row3 = arith.cmpi ne, %i, %c3 : index
    %keep = arith.andi %valid, %row3 : i1
    linalg.yield %keep : i1
  } -> tensor<2x1x16x16xi1>
  %fo = call @flash_padding(%q, %k, %v, %m) : (tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x16xi1>) -> tensor<2x1x16x8xf32>
  %ro = call @ref_padding(%q, %k, %v, %m) : (tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>, tensor<2x1x16x16xi1>) -> tensor<2x1x16x8xf32>
  call @report_2(%fo, %ro) : (tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>) -> ()
  return
}

func.func private @gen_1x2x7x8_f32(%seed: f32) -> tensor<1x2x7x8xf32> {
  %e = tensor.empty() : tensor<1x2x7x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x7x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<1x2x7x8xf32>
  return %r : tensor<1x2x7x8xf32>
}

func.func private @gen_1x2x13x8_f32(%seed: f32) -> tensor<1x2x13x8xf32> {
  %e = tensor.empty() : tensor<1x2x13x8xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x13x8xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<1x2x13x8xf32>
  return %r : tensor<1x2x13x8xf32>
}

func.func private @gen_1x2x13x5_f32(%seed: f32) -> tensor<1x2x13x5xf32> {
  %e = tensor.empty() : tensor<1x2x13x5xf32>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x13x5xf32>) {
  ^bb0(%o: f32):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.addf %z, %z : f32
    linalg.yield %w : f32
  } -> tensor<1x2x13x5xf32>
  return %r : tensor<1x2x13x5xf32>
}

func.func @flash_odd(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(0.35) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @ref_odd(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>) -> tensor<1x2x7x13xf32>
  %p = attn.softmax %s axis(3) : tensor<1x2x7x13xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x7x13xf32>, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @run_odd() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_1x2x7x8_f32(%s1) : (f32) -> tensor<1x2x7x8xf32>
  %k = call @gen_1x2x13x8_f32(%s2) : (f32) -> tensor<1x2x13x8xf32>
  %v = call @gen_1x2x13x5_f32(%s3) : (f32) -> tensor<1x2x13x5xf32>
  %fo = call @flash_odd(%q, %k, %v) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  %ro = call @ref_odd(%q, %k, %v) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo, %ro) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()
  return
}

func.func @flash_odd_causal_mask(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %m: tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) mask(%m : tensor<1x2x7x13xi1>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(0.35) causal -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @ref_odd_causal_mask(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %m: tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.35) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>) -> tensor<1x2x7x13xf32>
  %ce = tensor.empty() : tensor<1x2x7x13xi1>
  %cm = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%ce : tensor<1x2x7x13xi1>) {
  ^bb0(%o: i1):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %keep = arith.cmpi ule, %j, %i : index
    linalg.yield %keep : i1
  } -> tensor<1x2x7x13xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x7x13xf32>
  %sc = arith.select %cm, %s, %ninf : tensor<1x2x7x13xi1>, tensor<1x2x7x13xf32>
  %ninf2 = arith.constant dense<0xFF800000> : tensor<1x2x7x13xf32>
  %sm = arith.select %m, %sc, %ninf2 : tensor<1x2x7x13xi1>, tensor<1x2x7x13xf32>
  %p = attn.softmax %sm axis(3) : tensor<1x2x7x13xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x7x13xf32>, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @run_odd_causal_mask() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_1x2x7x8_f32(%s1) : (f32) -> tensor<1x2x7x8xf32>
  %k = call @gen_1x2x13x8_f32(%s2) : (f32) -> tensor<1x2x13x8xf32>
  %v = call @gen_1x2x13x5_f32(%s3) : (f32) -> tensor<1x2x13x5xf32>
  %me = tensor.empty() : tensor<1x2x7x13xi1>
  %m = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%me : tensor<1x2x7x13xi1>) {
  ^bb0(%o: i1):
    %b = linalg.index 0 : index
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %c11 = arith.constant 11 : index
    %first = arith.cmpi eq, %b, %c0 : index
    %len = arith.select %first, %c5, %c11 : index
    %valid = arith.cmpi ult, %j, %len : index
    %row3 = arith.cmpi ne, %i, %c3 : index
    %keep = arith.andi %valid, %row3 : i1
    linalg.yield %keep : i1
  } -> tensor<1x2x7x13xi1>
  %fo = call @flash_odd_causal_mask(%q, %k, %v, %m) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32>
  %ro = call @ref_odd_causal_mask(%q, %k, %v, %m) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo, %ro) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()
  return
}

func.func private @gen_1x2x16x8_f16(%seed: f32) -> tensor<1x2x16x8xf16> {
  %e = tensor.empty() : tensor<1x2x16x8xf16>
  %r = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%e : tensor<1x2x16x8xf16>) {
  ^bb0(%o: f16):
    %i0 = linalg.index 0 : index
    %i1 = linalg.index 1 : index
    %i2 = linalg.index 2 : index
    %i3 = linalg.index 3 : index
    %c5 = arith.constant 5 : index
    %c7 = arith.constant 7 : index
    %c3 = arith.constant 3 : index
    %a0 = arith.muli %i0, %c7 : index
    %a1 = arith.muli %i1, %c5 : index
    %a2 = arith.muli %i2, %c3 : index
    %s0 = arith.addi %a0, %a1 : index
    %s1 = arith.addi %s0, %a2 : index
    %s2 = arith.addi %s1, %i3 : index
    %n = arith.index_cast %s2 : index to i64
    %f = arith.sitofp %n : i64 to f32
    %x = arith.mulf %f, %seed : f32
    %y = math.sin %x : f32
    %two = arith.constant 2.0 : f32
    %z = arith.mulf %y, %two : f32
    %w = arith.truncf %z : f32 to f16
    linalg.yield %w : f16
  } -> tensor<1x2x16x8xf16>
  return %r : tensor<1x2x16x8xf16>
}

func.func @flash_f16_causal(%q: tensor<1x2x16x8xf16>, %k: tensor<1x2x16x8xf16>, %v: tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf16> {
  %o_init = tensor.empty() : tensor<1x2x16x8xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>)
      outs(%o_init : tensor<1x2x16x8xf16>) scale(0.35) causal -> tensor<1x2x16x8xf16>
  return %o : tensor<1x2x16x8xf16>
}

func.func @ref_f16_causal(%q: tensor<1x2x16x8xf16>, %k: tensor<1x2x16x8xf16>, %v: tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf32> {
  %qf = arith.extf %q : tensor<1x2x16x8xf16> to tensor<1x2x16x8xf32>
  %kf = arith.extf %k : tensor<1x2x16x8xf16> to tensor<1x2x16x8xf32>
  %vf = arith.extf %v : tensor<1x2x16x8xf16> to tensor<1x2x16x8xf32>
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%qf, %kf) scale(0.35) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x16xf32>
  %ce = tensor.empty() : tensor<1x2x16x16xi1>
  %cm = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%ce : tensor<1x2x16x16xi1>) {
  ^bb0(%o: i1):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %keep = arith.cmpi ule, %j, %i : index
    linalg.yield %keep : i1
  } -> tensor<1x2x16x16xi1>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x2x16x16xf32>
  %sc = arith.select %cm, %s, %ninf : tensor<1x2x16x16xi1>, tensor<1x2x16x16xf32>
  %p = attn.softmax %sc axis(3) : tensor<1x2x16x16xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %vf) : (tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x16x8xf32>
  return %o : tensor<1x2x16x8xf32>
}

func.func @run_f16_causal() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_1x2x16x8_f16(%s1) : (f32) -> tensor<1x2x16x8xf16>
  %k = call @gen_1x2x16x8_f16(%s2) : (f32) -> tensor<1x2x16x8xf16>
  %v = call @gen_1x2x16x8_f16(%s3) : (f32) -> tensor<1x2x16x8xf16>
  %fo = call @flash_f16_causal(%q, %k, %v) : (tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf16>
  %fo32 = arith.extf %fo : tensor<1x2x16x8xf16> to tensor<1x2x16x8xf32>
  %ro = call @ref_f16_causal(%q, %k, %v) : (tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>, tensor<1x2x16x8xf16>) -> tensor<1x2x16x8xf32>
  call @report_0(%fo32, %ro) : (tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> ()
  return
}

func.func private @report_0(%a: tensor<1x2x16x8xf32>, %b: tensor<1x2x16x8xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %diff = linalg.generic {indexing_maps = [#id4, #id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%a, %b : tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %mx = arith.maximumf %acc, %ad : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %mag = linalg.generic {indexing_maps = [#id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%b : tensor<1x2x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%y: f32, %acc: f32):
    %ay = math.absf %y : f32
    %mx = arith.maximumf %acc, %ay : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %dv = tensor.extract %diff[] : tensor<f32>
  %mv = tensor.extract %mag[] : tensor<f32>
  %r = tensor.from_elements %dv, %mv : tensor<2xf32>
  %u = tensor.cast %r : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func private @report_1(%a: tensor<1x2x7x5xf32>, %b: tensor<1x2x7x5xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %diff = linalg.generic {indexing_maps = [#id4, #id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%a, %b : tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %mx = arith.maximumf %acc, %ad : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %mag = linalg.generic {indexing_maps = [#id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%b : tensor<1x2x7x5xf32>) outs(%init : tensor<f32>) {
  ^bb0(%y: f32, %acc: f32):
    %ay = math.absf %y : f32
    %mx = arith.maximumf %acc, %ay : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %dv = tensor.extract %diff[] : tensor<f32>
  %mv = tensor.extract %mag[] : tensor<f32>
  %r = tensor.from_elements %dv, %mv : tensor<2xf32>
  %u = tensor.cast %r : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func private @report_2(%a: tensor<2x1x16x8xf32>, %b: tensor<2x1x16x8xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %diff = linalg.generic {indexing_maps = [#id4, #id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%a, %b : tensor<2x1x16x8xf32>, tensor<2x1x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %mx = arith.maximumf %acc, %ad : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %mag = linalg.generic {indexing_maps = [#id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%b : tensor<2x1x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%y: f32, %acc: f32):
    %ay = math.absf %y : f32
    %mx = arith.maximumf %acc, %ay : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %dv = tensor.extract %diff[] : tensor<f32>
  %mv = tensor.extract %mag[] : tensor<f32>
  %r = tensor.from_elements %dv, %mv : tensor<2xf32>
  %u = tensor.cast %r : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

func.func private @report_3(%a: tensor<2x2x16x8xf32>, %b: tensor<2x2x16x8xf32>) {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<f32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<f32>) -> tensor<f32>
  %diff = linalg.generic {indexing_maps = [#id4, #id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%a, %b : tensor<2x2x16x8xf32>, tensor<2x2x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %d = arith.subf %x, %y : f32
    %ad = math.absf %d : f32
    %mx = arith.maximumf %acc, %ad : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %mag = linalg.generic {indexing_maps = [#id4, #scalar4], iterator_types = ["reduction", "reduction", "reduction", "reduction"]} ins(%b : tensor<2x2x16x8xf32>) outs(%init : tensor<f32>) {
  ^bb0(%y: f32, %acc: f32):
    %ay = math.absf %y : f32
    %mx = arith.maximumf %acc, %ay : f32
    linalg.yield %mx : f32
  } -> tensor<f32>
  %dv = tensor.extract %diff[] : tensor<f32>
  %mv = tensor.extract %mag[] : tensor<f32>
  %r = tensor.from_elements %dv, %mv : tensor<2xf32>
  %u = tensor.cast %r : tensor<2xf32> to tensor<*xf32>
  call @printMemrefF32(%u) : (tensor<*xf32>) -> ()
  return
}

// Additive and Gaussian scores. @ref_score_* computes the raw score sum
// (no scale) over (b, h, i, j, d); @ref_finish applies the factor, the mask
// and (when %causal) the causal mask, then softmax and P V.
func.func @ref_score_additive(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %w: tensor<8xf32>) -> tensor<1x2x7x13xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x7x13xf32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<1x2x7x13xf32>) -> tensor<1x2x7x13xf32>
  %s = linalg.generic {indexing_maps = [#sq5, #sk5, #sw5, #ss5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k, %w : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<8xf32>) outs(%init : tensor<1x2x7x13xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %acc: f32):
    %x = arith.addf %a, %b : f32
    %t = math.tanh %x : f32
    %wt = arith.mulf %c, %t : f32
    %r = arith.addf %acc, %wt : f32
    linalg.yield %r : f32
  } -> tensor<1x2x7x13xf32>
  return %s : tensor<1x2x7x13xf32>
}

func.func @ref_score_gaussian(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %w: tensor<8xf32>) -> tensor<1x2x7x13xf32> {
  %z = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x7x13xf32>
  %init = linalg.fill ins(%z : f32) outs(%e : tensor<1x2x7x13xf32>) -> tensor<1x2x7x13xf32>
  %s = linalg.generic {indexing_maps = [#sq5, #sk5, #sw5, #ss5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%q, %k, %w : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<8xf32>) outs(%init : tensor<1x2x7x13xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32, %acc: f32):
    %x = arith.subf %a, %b : f32
    %xw = arith.mulf %x, %c : f32
    %x2 = arith.mulf %xw, %xw : f32
    %r = arith.addf %acc, %x2 : f32
    linalg.yield %r : f32
  } -> tensor<1x2x7x13xf32>
  return %s : tensor<1x2x7x13xf32>
}

func.func @ref_finish(%s: tensor<1x2x7x13xf32>, %factor: f32, %m: tensor<1x2x7x13xi1>, %causal: i1, %v: tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32> {
  %e = tensor.empty() : tensor<1x2x7x13xf32>
  %sm = linalg.generic {indexing_maps = [#id4, #id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%s, %m : tensor<1x2x7x13xf32>, tensor<1x2x7x13xi1>) outs(%e : tensor<1x2x7x13xf32>) {
  ^bb0(%x: f32, %keep: i1, %o: f32):
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %past = arith.cmpi ule, %j, %i : index
    %true = arith.constant true
    %any = arith.select %causal, %past, %true : i1
    %ok = arith.andi %keep, %any : i1
    %xs = arith.mulf %x, %factor : f32
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %ok, %xs, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<1x2x7x13xf32>
  %p = attn.softmax %sm axis(3) : tensor<1x2x7x13xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x7x13xf32>, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @flash_additive_mask(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %m: tensor<1x2x7x13xi1>, %w: tensor<8xf32>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) mask(%m : tensor<1x2x7x13xi1>) weight(%w : tensor<8xf32>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(0.35) score(additive) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @flash_additive_causal(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %w: tensor<8xf32>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) weight(%w : tensor<8xf32>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(1.0) score(additive) causal -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @flash_gaussian_mask(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %m: tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) mask(%m : tensor<1x2x7x13xi1>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(0.1) score(gaussian) -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @flash_gaussian_weight_causal_mask(%q: tensor<1x2x7x8xf32>, %k: tensor<1x2x13x8xf32>, %v: tensor<1x2x13x5xf32>, %m: tensor<1x2x7x13xi1>, %w: tensor<8xf32>) -> tensor<1x2x7x5xf32> {
  %o_init = tensor.empty() : tensor<1x2x7x5xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>) mask(%m : tensor<1x2x7x13xi1>) weight(%w : tensor<8xf32>)
      outs(%o_init : tensor<1x2x7x5xf32>) scale(0.4) score(gaussian) causal -> tensor<1x2x7x5xf32>
  return %o : tensor<1x2x7x5xf32>
}

func.func @run_scores() {
  %s1 = arith.constant 0.37 : f32
  %s2 = arith.constant 0.53 : f32
  %s3 = arith.constant 0.71 : f32
  %q = call @gen_1x2x7x8_f32(%s1) : (f32) -> tensor<1x2x7x8xf32>
  %k = call @gen_1x2x13x8_f32(%s2) : (f32) -> tensor<1x2x13x8xf32>
  %v = call @gen_1x2x13x5_f32(%s3) : (f32) -> tensor<1x2x13x5xf32>
  %w = arith.constant dense<[0.9, -0.4, 0.25, 1.3, -0.7, 0.5, 0.15, -1.1]> : tensor<8xf32>
  %ones = arith.constant dense<1.0> : tensor<8xf32>
  %all = arith.constant dense<true> : tensor<1x2x7x13xi1>
  %true = arith.constant true
  %false = arith.constant false
  // Valid key lengths 5 (head 0) and 11 (head 1); query row 3 sees nothing.
  %me = tensor.empty() : tensor<1x2x7x13xi1>
  %m = linalg.generic {indexing_maps = [#id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} outs(%me : tensor<1x2x7x13xi1>) {
  ^bb0(%o: i1):
    %h = linalg.index 1 : index
    %i = linalg.index 2 : index
    %j = linalg.index 3 : index
    %c0 = arith.constant 0 : index
    %c3 = arith.constant 3 : index
    %c5 = arith.constant 5 : index
    %c11 = arith.constant 11 : index
    %first = arith.cmpi eq, %h, %c0 : index
    %len = arith.select %first, %c5, %c11 : index
    %valid = arith.cmpi ult, %j, %len : index
    %row3 = arith.cmpi ne, %i, %c3 : index
    %keep = arith.andi %valid, %row3 : i1
    linalg.yield %keep : i1
  } -> tensor<1x2x7x13xi1>
  %sa = call @ref_score_additive(%q, %k, %w) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<8xf32>) -> tensor<1x2x7x13xf32>
  %sg = call @ref_score_gaussian(%q, %k, %ones) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<8xf32>) -> tensor<1x2x7x13xf32>
  %sgw = call @ref_score_gaussian(%q, %k, %w) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<8xf32>) -> tensor<1x2x7x13xf32>
  %f035 = arith.constant 0.35 : f32
  %f1 = arith.constant 1.0 : f32
  // -scale / 2 for scale 0.1 and 0.4.
  %fg1 = arith.constant -0.05 : f32
  %fg2 = arith.constant -0.2 : f32

  %fo1 = call @flash_additive_mask(%q, %k, %v, %m, %w) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<1x2x7x13xi1>, tensor<8xf32>) -> tensor<1x2x7x5xf32>
  %ro1 = call @ref_finish(%sa, %f035, %m, %false, %v) : (tensor<1x2x7x13xf32>, f32, tensor<1x2x7x13xi1>, i1, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo1, %ro1) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()

  %fo2 = call @flash_additive_causal(%q, %k, %v, %w) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<8xf32>) -> tensor<1x2x7x5xf32>
  %ro2 = call @ref_finish(%sa, %f1, %all, %true, %v) : (tensor<1x2x7x13xf32>, f32, tensor<1x2x7x13xi1>, i1, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo2, %ro2) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()

  %fo3 = call @flash_gaussian_mask(%q, %k, %v, %m) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<1x2x7x13xi1>) -> tensor<1x2x7x5xf32>
  %ro3 = call @ref_finish(%sg, %fg1, %m, %false, %v) : (tensor<1x2x7x13xf32>, f32, tensor<1x2x7x13xi1>, i1, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo3, %ro3) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()

  %fo4 = call @flash_gaussian_weight_causal_mask(%q, %k, %v, %m, %w) : (tensor<1x2x7x8xf32>, tensor<1x2x13x8xf32>, tensor<1x2x13x5xf32>, tensor<1x2x7x13xi1>, tensor<8xf32>) -> tensor<1x2x7x5xf32>
  %ro4 = call @ref_finish(%sgw, %fg2, %m, %true, %v) : (tensor<1x2x7x13xf32>, f32, tensor<1x2x7x13xi1>, i1, tensor<1x2x13x5xf32>) -> tensor<1x2x7x5xf32>
  call @report_1(%fo4, %ro4) : (tensor<1x2x7x5xf32>, tensor<1x2x7x5xf32>) -> ()
  return
}

func.func @main() {
  call @run_cross() : () -> ()
  call @run_causal() : () -> ()
  call @run_padding() : () -> ()
  call @run_odd() : () -> ()
  call @run_odd_causal_mask() : () -> ()
  call @run_f16_causal() : () -> ()
  call @run_scores() : () -> ()
  return
}

