// RUN: attn-opt %s --attn-fold-addends-into-contractions --canonicalize --split-input-file | FileCheck %s
// attn-fold-addends-into-contractions: the values added to a contraction's
// result (a bias, a residual) become its initial value instead of a zero
// fill, and the adds leave the consumer.

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
// A Linear with a bias: the contraction starts from the broadcast bias and
// the bias add disappears (canonicalisation erases the identity left).
// CHECK-DAG:   #[[ID:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[COL:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func.func @bias(
// CHECK-SAME:    %[[X:.*]]: tensor<197x64xf32>, %[[W:.*]]: tensor<64x96xf32>, %[[B:.*]]: tensor<96xf32>)
// CHECK-NOT:     linalg.fill
// CHECK:         %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[COL]], #[[ID]]], iterator_types = ["parallel", "parallel"]} ins(%[[B]] : tensor<96xf32>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      linalg.yield %[[IN]] : f32
// CHECK:         %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[W]] : tensor<197x64xf32>, tensor<64x96xf32>) outs(%[[INIT]] : tensor<197x96xf32>)
// CHECK-NEXT:    return %[[Y]]
func.func @bias(%x: tensor<197x64xf32>, %w: tensor<64x96xf32>, %b: tensor<96xf32>) -> tensor<197x96xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<197x96xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<197x96xf32>) -> tensor<197x96xf32>
  %m = linalg.matmul ins(%x, %w : tensor<197x64xf32>, tensor<64x96xf32>) outs(%z : tensor<197x96xf32>) -> tensor<197x96xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %b : tensor<197x96xf32>, tensor<96xf32>) outs(%e : tensor<197x96xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %s = arith.addf %r, %bi : f32
    linalg.yield %s : f32
  } -> tensor<197x96xf32>
  return %y : tensor<197x96xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
// Bias, then a residual: the chain (r + b) + x becomes r + (b + x), all of it
// the initial value.
// CHECK-LABEL: func.func @bias_and_residual(
// CHECK-SAME:    %[[X:.*]]: tensor<197x64xf32>, %[[W:.*]]: tensor<64x96xf32>, %[[B:.*]]: tensor<96xf32>, %[[RES:.*]]: tensor<197x96xf32>)
// CHECK:         %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[B]], %[[RES]] : tensor<96xf32>, tensor<197x96xf32>)
// CHECK-NEXT:    ^bb0(%[[BI:.*]]: f32, %[[RI:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      %[[S:.*]] = arith.addf %[[BI]], %[[RI]] : f32
// CHECK-NEXT:      linalg.yield %[[S]] : f32
// CHECK:         %[[Y:.*]] = linalg.matmul ins(%[[X]], %[[W]] : {{.*}}) outs(%[[INIT]] : tensor<197x96xf32>)
// CHECK-NEXT:    return %[[Y]]
func.func @bias_and_residual(%x: tensor<197x64xf32>, %w: tensor<64x96xf32>, %b: tensor<96xf32>,
                             %res: tensor<197x96xf32>) -> tensor<197x96xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<197x96xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<197x96xf32>) -> tensor<197x96xf32>
  %m = linalg.matmul ins(%x, %w : tensor<197x64xf32>, tensor<64x96xf32>) outs(%z : tensor<197x96xf32>) -> tensor<197x96xf32>
  %y = linalg.generic {indexing_maps = [#id, #col, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m, %b, %res : tensor<197x96xf32>, tensor<96xf32>, tensor<197x96xf32>) outs(%e : tensor<197x96xf32>) {
  ^bb0(%r: f32, %bi: f32, %ri: f32, %o: f32):
    %s = arith.addf %r, %bi : f32
    %t = arith.addf %ri, %s : f32
    linalg.yield %t : f32
  } -> tensor<197x96xf32>
  return %y : tensor<197x96xf32>
}

// -----

#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
#bias3 = affine_map<(d0, d1, d2) -> (d2)>
// A bias then a GELU, the contraction's result read through a transposing
// map: the bias moves into the init (read at the contraction's output
// indices: the generic's d2 is the result's d1), the GELU stays and no
// longer reads the bias.
// CHECK-DAG:   #[[BIAS:.*]] = affine_map<(d0, d1, d2) -> (d1)>
// CHECK-LABEL: func.func @bias_then_gelu(
// CHECK-SAME:    %[[X:.*]]: tensor<2x8x16xf32>, %[[W:.*]]: tensor<16x32xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK:         %[[INIT:.*]] = linalg.generic {indexing_maps = [#[[BIAS]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel"]} ins(%[[B]] : tensor<32xf32>) outs(%{{.*}} : tensor<2x32x8xf32>)
// CHECK:         %[[C:.*]] = linalg.generic {{.*}} ins(%[[X]], %[[W]] : tensor<2x8x16xf32>, tensor<16x32xf32>) outs(%[[INIT]] : tensor<2x32x8xf32>)
// CHECK:         linalg.generic {{.*}} ins(%[[C]] : tensor<2x32x8xf32>) outs(%{{.*}} : tensor<2x8x32xf32>)
// CHECK-NEXT:    ^bb0(%[[R:.*]]: f32, %{{.*}}: f32):
// CHECK-NOT:       arith.addf %[[R]]
// CHECK:           math.erf
func.func @bias_then_gelu(%x: tensor<2x8x16xf32>, %w: tensor<16x32xf32>, %b: tensor<32xf32>) -> tensor<2x8x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x32x8xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<2x32x8xf32>) -> tensor<2x32x8xf32>
  // "b n i, i o -> b o n"
  %m = linalg.generic {indexing_maps = [affine_map<(b, o, n, i) -> (b, n, i)>, affine_map<(b, o, n, i) -> (i, o)>,
                                        affine_map<(b, o, n, i) -> (b, o, n)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w : tensor<2x8x16xf32>, tensor<16x32xf32>) outs(%z : tensor<2x32x8xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<2x32x8xf32>
  %e2 = tensor.empty() : tensor<2x8x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d2, d1)>, #bias3, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m, %b : tensor<2x32x8xf32>, tensor<32xf32>) outs(%e2 : tensor<2x8x32xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %half = arith.constant 0.5 : f32
    %s = arith.addf %r, %bi : f32
    %h = arith.mulf %s, %half : f32
    %f = math.erf %h : f32
    %g = arith.mulf %s, %f : f32
    linalg.yield %g : f32
  } -> tensor<2x8x32xf32>
  return %y : tensor<2x8x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
// Left alone: an init that is not +0.0 (it is added to the products), a
// result with another user (it would change too), and a result scaled
// before the add (the sum does not start at it).
// CHECK-LABEL: func.func @not_folded(
// CHECK:         %[[F1:.*]] = linalg.fill ins(%{{.*}} : f32)
// CHECK-NEXT:    %[[M1:.*]] = linalg.matmul {{.*}} outs(%[[F1]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[Y1:.*]] = linalg.generic {{.*}} ins(%[[M1]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK:           arith.addf
// CHECK:         %[[F2:.*]] = linalg.fill ins(%{{.*}} : f32)
// CHECK-NEXT:    %[[M2:.*]] = linalg.matmul {{.*}} outs(%[[F2]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[Y2:.*]] = linalg.generic {{.*}} ins(%[[M2]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK:           arith.addf
// CHECK:         %[[F3:.*]] = linalg.fill ins(%{{.*}} : f32)
// CHECK-NEXT:    %[[M3:.*]] = linalg.matmul {{.*}} outs(%[[F3]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[Y3:.*]] = linalg.generic {{.*}} ins(%[[M3]], %{{.*}} : tensor<4x16xf32>, tensor<16xf32>)
// CHECK:           arith.mulf
// CHECK:           arith.addf
// CHECK:         return %[[Y1]], %[[Y2]], %[[M2]], %[[Y3]]
func.func @not_folded(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %b: tensor<16xf32>)
    -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) {
  %one = arith.constant 1.0 : f32
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %f1 = linalg.fill ins(%one : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m1 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f1 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y1 = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m1, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %s = arith.addf %r, %bi : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %f2 = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m2 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f2 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y2 = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m2, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %s = arith.addf %r, %bi : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  %f3 = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %m3 = linalg.matmul ins(%x, %w : tensor<4x8xf32>, tensor<8x16xf32>) outs(%f3 : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y3 = linalg.generic {indexing_maps = [#id, #col, #id], iterator_types = ["parallel", "parallel"]}
      ins(%m3, %b : tensor<4x16xf32>, tensor<16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %t = arith.mulf %r, %two : f32
    %s = arith.addf %t, %bi : f32
    linalg.yield %s : f32
  } -> tensor<4x16xf32>
  return %y1, %y2, %m2, %y3 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>
}

// -----

// The bias viewed in the heads' layout after the contraction (as the frontend
// emits a qkv Linear read as "b n (h d)"): the view moves above the
// contraction, whose init reads it.
// CHECK-LABEL: func.func @bias_view_after_contraction(
// CHECK-SAME:    %[[X:.*]]: tensor<197x64xf32>, %[[W:.*]]: tensor<64x96xf32>, %[[B:.*]]: tensor<96xf32>)
// CHECK:         %[[V:.*]] = tensor.expand_shape %[[B]] {{\[}}[0, 1]] output_shape [3, 32] : tensor<96xf32> into tensor<3x32xf32>
// CHECK:         %[[INIT:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<3x32xf32>)
// CHECK:         %[[M:.*]] = linalg.generic {{.*}} outs(%[[INIT]] : tensor<197x3x32xf32>)
// CHECK-NEXT:    ^bb0(
// CHECK-NEXT:      arith.mulf
// CHECK-NEXT:      arith.addf
// CHECK-NEXT:      linalg.yield
// CHECK:         return %[[M]]
func.func @bias_view_after_contraction(%x: tensor<197x64xf32>, %w: tensor<64x96xf32>, %b: tensor<96xf32>) -> tensor<197x3x32xf32> {
  %zero = arith.constant 0.0 : f32
  %w3 = tensor.expand_shape %w [[0], [1, 2]] output_shape [64, 3, 32] : tensor<64x96xf32> into tensor<64x3x32xf32>
  %e = tensor.empty() : tensor<197x3x32xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<197x3x32xf32>) -> tensor<197x3x32xf32>
  %m = linalg.generic {indexing_maps = [affine_map<(n, h, d, i) -> (n, i)>, affine_map<(n, h, d, i) -> (i, h, d)>,
                                        affine_map<(n, h, d, i) -> (n, h, d)>],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x, %w3 : tensor<197x64xf32>, tensor<64x3x32xf32>) outs(%z : tensor<197x3x32xf32>) {
  ^bb0(%a: f32, %bb: f32, %acc: f32):
    %p = arith.mulf %a, %bb : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<197x3x32xf32>
  %bv = tensor.expand_shape %b [[0, 1]] output_shape [3, 32] : tensor<96xf32> into tensor<3x32xf32>
  %y = linalg.generic {indexing_maps = [affine_map<(n, h, d) -> (n, h, d)>, affine_map<(n, h, d) -> (h, d)>,
                                        affine_map<(n, h, d) -> (n, h, d)>],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m, %bv : tensor<197x3x32xf32>, tensor<3x32xf32>) outs(%e : tensor<197x3x32xf32>) {
  ^bb0(%r: f32, %bi: f32, %o: f32):
    %s = arith.addf %r, %bi : f32
    linalg.yield %s : f32
  } -> tensor<197x3x32xf32>
  return %y : tensor<197x3x32xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
// Eight contractions summed by one generic (a 3x3 convolution's kernel taps
// less one, after elementwise fusion): each starts from the one before, a
// chain with one zero fill, and no add is left. (A chain of more than six
// adds once read freed memory while the init was built.)
// CHECK-LABEL: func.func @sum_of_contractions(
// CHECK-SAME:    %[[A:.*]]: tensor<4x8xf32>, %[[B0:.*]]: tensor<8x16xf32>, %[[B1:.*]]: tensor<8x16xf32>, %[[B2:.*]]: tensor<8x16xf32>, %[[B3:.*]]: tensor<8x16xf32>, %[[B4:.*]]: tensor<8x16xf32>, %[[B5:.*]]: tensor<8x16xf32>, %[[B6:.*]]: tensor<8x16xf32>, %[[B7:.*]]: tensor<8x16xf32>)
// CHECK:         %[[Z:.*]] = linalg.fill
// CHECK-NEXT:    %[[C0:.*]] = linalg.matmul ins(%[[A]], %[[B0]] : {{.*}}) outs(%[[Z]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C1:.*]] = linalg.matmul ins(%[[A]], %[[B1]] : {{.*}}) outs(%[[C0]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C2:.*]] = linalg.matmul ins(%[[A]], %[[B2]] : {{.*}}) outs(%[[C1]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C3:.*]] = linalg.matmul ins(%[[A]], %[[B3]] : {{.*}}) outs(%[[C2]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C4:.*]] = linalg.matmul ins(%[[A]], %[[B4]] : {{.*}}) outs(%[[C3]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C5:.*]] = linalg.matmul ins(%[[A]], %[[B5]] : {{.*}}) outs(%[[C4]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C6:.*]] = linalg.matmul ins(%[[A]], %[[B6]] : {{.*}}) outs(%[[C5]] : tensor<4x16xf32>)
// CHECK-NEXT:    %[[C7:.*]] = linalg.matmul ins(%[[A]], %[[B7]] : {{.*}}) outs(%[[C6]] : tensor<4x16xf32>)
// CHECK-NEXT:    return %[[C7]]
func.func @sum_of_contractions(%a: tensor<4x8xf32>, %b0: tensor<8x16xf32>, %b1: tensor<8x16xf32>, %b2: tensor<8x16xf32>, %b3: tensor<8x16xf32>, %b4: tensor<8x16xf32>, %b5: tensor<8x16xf32>, %b6: tensor<8x16xf32>, %b7: tensor<8x16xf32>) -> tensor<4x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c0 = linalg.matmul ins(%a, %b0 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c1 = linalg.matmul ins(%a, %b1 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c2 = linalg.matmul ins(%a, %b2 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c3 = linalg.matmul ins(%a, %b3 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c4 = linalg.matmul ins(%a, %b4 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c5 = linalg.matmul ins(%a, %b5 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c6 = linalg.matmul ins(%a, %b6 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %c7 = linalg.matmul ins(%a, %b7 : tensor<4x8xf32>, tensor<8x16xf32>) outs(%z : tensor<4x16xf32>) -> tensor<4x16xf32>
  %y = linalg.generic {indexing_maps = [#id, #id, #id, #id, #id, #id, #id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c0, %c1, %c2, %c3, %c4, %c5, %c6, %c7 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>, tensor<4x16xf32>) outs(%e : tensor<4x16xf32>) {
  ^bb0(%x0: f32, %x1: f32, %x2: f32, %x3: f32, %x4: f32, %x5: f32, %x6: f32, %x7: f32, %o: f32):
    %s1 = arith.addf %x0, %x1 : f32
    %s2 = arith.addf %s1, %x2 : f32
    %s3 = arith.addf %s2, %x3 : f32
    %s4 = arith.addf %s3, %x4 : f32
    %s5 = arith.addf %s4, %x5 : f32
    %s6 = arith.addf %s5, %x6 : f32
    %s7 = arith.addf %s6, %x7 : f32
    linalg.yield %s7 : f32
  } -> tensor<4x16xf32>
  return %y : tensor<4x16xf32>
}
