// RUN: attn-opt %s --attn-decompose-attention --canonicalize --split-input-file | FileCheck %s
// attn-decompose-attention: attn.online_attention becomes one flash step in
// linalg on tensors; attn.attention the unfused computation.

// A step with a broadcast boolean mask and the causal mask at global
// positions (offsets i0, j0): scores (a matmul reading K [K2, K1]), one op
// for scale and masks, the row max, alpha = exp(m - m_new), the new max,
// P = exp(s - m_new) (0 where the max is -inf), the rescaled sum and output.
// The running values are updated in place.
// CHECK-DAG:   #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG:   #[[BT:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG:   #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG:   #[[IJ:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG:   #[[MASK:.*]] = affine_map<(d0, d1) -> (0, d1)>
// CHECK-DAG:   #[[ROW:.*]] = affine_map<(d0, d1) -> (d0)>
// CHECK-LABEL: func.func @step
//  CHECK-SAME: (%[[Q:.*]]: tensor<32x16xf32>, %[[K:.*]]: tensor<16x16xf32>, %[[V:.*]]: tensor<16x8xf32>, %[[M:.*]]: tensor<1x16xi1>, %[[ACC:.*]]: tensor<32x8xf32>, %[[MX:.*]]: tensor<32xf32>, %[[L:.*]]: tensor<32xf32>, %[[I0:.*]]: index, %[[J0:.*]]: index)
//   CHECK-DAG: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
//   CHECK-DAG: %[[SCALE:.*]] = arith.constant 5.000000e-01 : f32
//       CHECK: %[[S0:.*]] = linalg.fill
//       CHECK: %[[S:.*]] = linalg.matmul indexing_maps = [#[[A]], #[[BT]], #[[C]]] ins(%[[Q]], %[[K]] : tensor<32x16xf32>, tensor<16x16xf32>) outs(%[[S0]] : tensor<32x16xf32>)
//       CHECK: %[[SM:.*]] = linalg.generic {indexing_maps = [#[[IJ]], #[[MASK]], #[[IJ]]], iterator_types = ["parallel", "parallel"]} ins(%[[S]], %[[M]] : tensor<32x16xf32>, tensor<1x16xi1>)
//  CHECK-NEXT: ^bb0(%[[SV:.*]]: f32, %[[MV:.*]]: i1, %{{.*}}: f32):
//  CHECK-NEXT:   %[[SS:.*]] = arith.mulf %[[SV]], %[[SCALE]] : f32
//  CHECK-NEXT:   %[[MS:.*]] = arith.select %[[MV]], %[[SS]], %[[NEG_INF]] : f32
//  CHECK-NEXT:   %[[II:.*]] = linalg.index 0 : index
//  CHECK-NEXT:   %[[I:.*]] = arith.addi %[[I0]], %[[II]] : index
//  CHECK-NEXT:   %[[JJ:.*]] = linalg.index 1 : index
//  CHECK-NEXT:   %[[J:.*]] = arith.addi %[[J0]], %[[JJ]] : index
//  CHECK-NEXT:   %[[FUT:.*]] = arith.cmpi ugt, %[[J]], %[[I]] : index
//  CHECK-NEXT:   %[[R:.*]] = arith.select %[[FUT]], %[[NEG_INF]], %[[MS]] : f32
//  CHECK-NEXT:   linalg.yield %[[R]] : f32
//       CHECK: %[[ROWMAX:.*]] = linalg.generic {indexing_maps = [#[[IJ]], #[[ROW]]], iterator_types = ["parallel", "reduction"]} ins(%[[SM]] : tensor<32x16xf32>)
//       CHECK:   arith.maxnumf
//       CHECK: %[[ALPHA:.*]] = linalg.generic {{.*}} ins(%[[MX]], %[[ROWMAX]] : tensor<32xf32>, tensor<32xf32>)
//       CHECK:   math.exp
//       CHECK: %[[MNEW:.*]] = linalg.generic {{.*}} ins(%[[ROWMAX]] : tensor<32xf32>) outs(%[[MX]] : tensor<32xf32>)
//       CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[SM]], %[[MNEW]] : tensor<32x16xf32>, tensor<32xf32>)
//       CHECK:   arith.cmpf oeq, %{{.*}}, %[[NEG_INF]] : f32
//       CHECK:   arith.negf
//       CHECK:   arith.select
//       CHECK:   arith.addf
//       CHECK:   math.exp %{{.*}} {attn.nonpositive_argument} : f32
//       CHECK: %[[LS:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[L]] : tensor<32xf32>)
//       CHECK: %[[LNEW:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x16xf32>) outs(%[[LS]] : tensor<32xf32>)
//       CHECK: %[[AS:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[ACC]] : tensor<32x8xf32>)
//       CHECK: %[[ANEW:.*]] = linalg.matmul ins(%[[P]], %[[V]] : tensor<32x16xf32>, tensor<16x8xf32>) outs(%[[AS]] : tensor<32x8xf32>)
//       CHECK: return %[[ANEW]], %[[MNEW]], %[[LNEW]]
func.func @step(%q: tensor<32x16xf32>, %k: tensor<16x16xf32>, %v: tensor<16x8xf32>, %m: tensor<1x16xi1>, %acc: tensor<32x8xf32>, %mx: tensor<32xf32>, %l: tensor<32xf32>, %i0: index, %j0: index) -> (tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) {
  %r:3 = attn.online_attention ins(%q, %k, %v : tensor<32x16xf32>, tensor<16x16xf32>, tensor<16x8xf32>) mask(%m : tensor<1x16xi1>)
      outs(%acc, %mx, %l : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) scale(0.5) causal offsets(%i0, %j0)
      -> tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
  return %r#0, %r#1, %r#2 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
}

// -----

// The first step (running values still the initial fills) has nothing to
// rescale: m = rowmax S, l = rowsum P, acc = P V. Keys read as Kᵀ [K1, K2]
// make the score a plain matmul; scale 1 and no mask: no elementwise op.
// CHECK-LABEL: func.func @first_step
//  CHECK-SAME: (%[[Q:.*]]: tensor<32x16xf32>, %[[KT:.*]]: tensor<16x48xf32>, %[[V:.*]]: tensor<48x8xf32>)
//       CHECK: %[[S:.*]] = linalg.matmul ins(%[[Q]], %[[KT]] : tensor<32x16xf32>, tensor<16x48xf32>) outs(%{{.*}} : tensor<32x48xf32>)
//       CHECK: %[[ROWMAX:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<32x48xf32>)
//       CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[ROWMAX]] : tensor<32x48xf32>, tensor<32xf32>)
//   CHECK-NOT: arith.mulf
//       CHECK: %[[ACC:.*]] = linalg.matmul ins(%[[P]], %[[V]] : tensor<32x48xf32>, tensor<48x8xf32>)
//       CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x48xf32>)
//       CHECK: return %[[ACC]], %[[ROWMAX]], %[[L]]
func.func @first_step(%q: tensor<32x16xf32>, %kt: tensor<16x48xf32>, %v: tensor<48x8xf32>) -> (tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<32xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<32xf32>) -> tensor<32xf32>
  %e1 = tensor.empty() : tensor<32xf32>
  %l0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %e2 = tensor.empty() : tensor<32x8xf32>
  %a0 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<32x8xf32>) -> tensor<32x8xf32>
  %r:3 = attn.online_attention ins(%q, %kt, %v : tensor<32x16xf32>, tensor<16x48xf32>, tensor<48x8xf32>)
      outs(%a0, %m0, %l0 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) scale(1.0)
      {indexing_maps = [affine_map<(m, k1, k2, n) -> (m, k1)>, affine_map<(m, k1, k2, n) -> (k1, k2)>,
                        affine_map<(m, k1, k2, n) -> (k2, n)>, affine_map<(m, k1, k2, n) -> (m, n)>,
                        affine_map<(m, k1, k2, n) -> (m)>, affine_map<(m, k1, k2, n) -> (m)>]}
      -> tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
  return %r#0, %r#1, %r#2 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
}

// -----

// bf16 keys and values (left bf16 for AMX): the scores are a bf16 matmul
// into f32; P is rounded to bf16 for P V, and the row sum adds the
// unrounded P.
// CHECK-LABEL: func.func @first_step_bf16
//  CHECK-SAME: (%[[Q:.*]]: tensor<32x16xbf16>, %[[KT:.*]]: tensor<16x48xbf16>, %[[V:.*]]: tensor<48x8xbf16>)
//       CHECK: %[[S:.*]] = linalg.matmul ins(%[[Q]], %[[KT]] : tensor<32x16xbf16>, tensor<16x48xbf16>) outs(%{{.*}} : tensor<32x48xf32>)
//       CHECK: %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<32x48xf32>, tensor<32xf32>)
//       CHECK: %[[PB:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x48xf32>) outs(%{{.*}} : tensor<32x48xbf16>)
//       CHECK:   arith.truncf %{{.*}} : f32 to bf16
//       CHECK: %[[ACC:.*]] = linalg.matmul ins(%[[PB]], %[[V]] : tensor<32x48xbf16>, tensor<48x8xbf16>) outs(%{{.*}} : tensor<32x8xf32>)
//       CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x48xf32>)
//       CHECK: return %[[ACC]], %{{.*}}, %[[L]]
func.func @first_step_bf16(%q: tensor<32x16xbf16>, %kt: tensor<16x48xbf16>, %v: tensor<48x8xbf16>) -> (tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) {
  %ninf = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<32xf32>
  %m0 = linalg.fill ins(%ninf : f32) outs(%e0 : tensor<32xf32>) -> tensor<32xf32>
  %e1 = tensor.empty() : tensor<32xf32>
  %l0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<32xf32>) -> tensor<32xf32>
  %e2 = tensor.empty() : tensor<32x8xf32>
  %a0 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<32x8xf32>) -> tensor<32x8xf32>
  %r:3 = attn.online_attention ins(%q, %kt, %v : tensor<32x16xbf16>, tensor<16x48xbf16>, tensor<48x8xbf16>)
      outs(%a0, %m0, %l0 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>) scale(1.0)
      {indexing_maps = [affine_map<(m, k1, k2, n) -> (m, k1)>, affine_map<(m, k1, k2, n) -> (k1, k2)>,
                        affine_map<(m, k1, k2, n) -> (k2, n)>, affine_map<(m, k1, k2, n) -> (m, n)>,
                        affine_map<(m, k1, k2, n) -> (m)>, affine_map<(m, k1, k2, n) -> (m)>]}
      -> tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
  return %r#0, %r#1, %r#2 : tensor<32x8xf32>, tensor<32xf32>, tensor<32xf32>
}

// -----

// The score region inlined between the scale and the masks, with the
// batch positions of a rank-reduced tile (b, h from offsets) and global i,
// j; then the window, the key length and the block mask, each -inf where
// it drops the key.
// CHECK-LABEL: func.func @region_and_structured_masks
//  CHECK-SAME: %[[LEN:[^:]*]]: tensor<i32>, %[[BM:[^:]*]]: tensor<2x2xi1>, %[[SLOPES:[^:]*]]: tensor<4xf32>, %[[B:[^:]*]]: index, %[[H:[^:]*]]: index, %[[I0:[^:]*]]: index, %[[J0:[^:]*]]: index)
//       CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[LEN]] : tensor<8x8xf32>, tensor<i32>)
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[N:.*]]: i32, %{{.*}}: f32):
//       CHECK:   %[[I:.*]] = arith.addi %[[I0]], %{{.*}} : index
//       CHECK:   %[[J:.*]] = arith.addi %[[J0]], %{{.*}} : index
//       CHECK:   %[[SLOPE:.*]] = tensor.extract %[[SLOPES]][%[[H]]] : tensor<4xf32>
//       CHECK:   arith.subi %[[I]], %[[J]] : index
//       CHECK:   %[[MOD:.*]] = arith.subf %[[S]], %{{.*}} : f32
// Window [2, 0]: drop j < i - 2 or j > i.
//       CHECK:   arith.addi %{{.*}}, %c2 : index
//       CHECK:   arith.cmpi slt
//       CHECK:   arith.cmpi sgt
//       CHECK:   arith.ori
//       CHECK:   arith.select %{{.*}}, %{{.*}}, %[[MOD]] : f32
// Key length: drop j >= length.
//       CHECK:   %[[NI:.*]] = arith.index_cast %[[N]] : i32 to index
//       CHECK:   arith.cmpi sge, %{{.*}}, %[[NI]] : index
// Block mask over blocks of 4: drop where bm[i / 4, j / 4] is false.
//       CHECK:   %[[BI:.*]] = arith.divui %{{.*}}, %c4 : index
//       CHECK:   %[[BJ:.*]] = arith.divui %{{.*}}, %c4 : index
//       CHECK:   %[[KEEP:.*]] = tensor.extract %[[BM]][%[[BI]], %[[BJ]]] : tensor<2x2xi1>
//       CHECK:   arith.select %[[KEEP]], %{{.*}}, %{{.*}} : f32
//       CHECK:   linalg.yield
func.func @region_and_structured_masks(%q: tensor<8x4xf32>, %acc: tensor<8x4xf32>, %mx: tensor<8xf32>, %l: tensor<8xf32>, %len: tensor<i32>, %bm: tensor<2x2xi1>, %slopes: tensor<4xf32>, %b: index, %h: index, %i0: index, %j0: index) -> (tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>) {
  %r:3 = attn.online_attention ins(%q, %q, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>)
      key_lengths(%len : tensor<i32>) block_mask(%bm : tensor<2x2xi1>)
      outs(%acc, %mx, %l : tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>) scale(1.0) window([2, 0]) block_sizes([4, 4])
      offsets(%b, %h, %i0, %j0) score_mod {
  ^bb0(%s: f32, %bb: index, %hh: index, %i: index, %j: index):
    %slope = tensor.extract %slopes[%hh] : tensor<4xf32>
    %d = arith.subi %i, %j : index
    %di = arith.index_cast %d : index to i64
    %df = arith.sitofp %di : i64 to f32
    %bias = arith.mulf %slope, %df : f32
    %r = arith.subf %s, %bias : f32
    attn.yield %r : f32
  } -> tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>
  return %r#0, %r#1, %r#2 : tensor<8x4xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// The unfused attention in any layout: q, k, v "b n h d", the output
// "b h n d", with its log-sum-exp. The Sq x Sk scores are materialised
// over (b, h, i, j).
// CHECK-LABEL: func.func @unfused
//  CHECK-SAME: (%[[Q:.*]]: tensor<2x5x3x4xf32>, %[[O:.*]]: tensor<2x3x5x4xf32>, %[[LSE:.*]]: tensor<2x3x5xf32>)
//       CHECK: %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[Q]], %[[Q]] : tensor<2x5x3x4xf32>, tensor<2x5x3x4xf32>) outs(%{{.*}} : tensor<2x3x5x5xf32>)
//       CHECK: linalg.generic {{.*}} ins(%[[S]] : tensor<2x3x5x5xf32>)
//       CHECK:   arith.mulf
//       CHECK: %[[MAX:.*]] = linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3x5xf32>)
//       CHECK:   arith.maxnumf
//       CHECK: %[[P:.*]] = linalg.generic
//       CHECK:   math.exp
//       CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<2x3x5x5xf32>)
//       CHECK: %[[PV:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[Q]] : tensor<2x3x5x5xf32>, tensor<2x5x3x4xf32>)
//       CHECK: %[[OUT:.*]] = linalg.generic {{.*}} ins(%[[PV]], %[[SUM]] : tensor<2x3x5x4xf32>, tensor<2x3x5xf32>) outs(%[[O]] : tensor<2x3x5x4xf32>)
//  CHECK-NEXT: ^bb0(%[[ACC:.*]]: f32, %[[LS:.*]]: f32, %{{.*}}: f32):
//       CHECK:   %[[EMPTY:.*]] = arith.cmpf oeq, %[[LS]], %{{.*}} : f32
//       CHECK:   %[[DIV:.*]] = arith.divf %[[ACC]], %[[LS]] : f32
// A row whose keys are all masked keeps P V, the sum of 0 * v (0, or NaN
// where a value is NaN), as the unfused softmax(s) @ v gives.
//       CHECK:   arith.select %[[EMPTY]], %[[ACC]], %[[DIV]] : f32
//       CHECK: %[[L:.*]] = linalg.generic {{.*}} ins(%[[MAX]], %[[SUM]] : tensor<2x3x5xf32>, tensor<2x3x5xf32>) outs(%[[LSE]] : tensor<2x3x5xf32>)
//       CHECK:   math.log
//       CHECK: return %[[OUT]], %[[L]]
func.func @unfused(%q: tensor<2x5x3x4xf32>, %o: tensor<2x3x5x4xf32>, %lse: tensor<2x3x5xf32>) -> (tensor<2x3x5x4xf32>, tensor<2x3x5xf32>) {
  %r:2 = attn.attention ins(%q, %q, %q : tensor<2x5x3x4xf32>, tensor<2x5x3x4xf32>, tensor<2x5x3x4xf32>)
      outs(%o : tensor<2x3x5x4xf32>) lse(%lse : tensor<2x3x5xf32>) scale(0.5)
      {indexing_maps = [affine_map<(b, h, m, k1, k2, n) -> (b, m, h, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, h, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, m)>]}
      -> tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
  return %r#0, %r#1 : tensor<2x3x5x4xf32>, tensor<2x3x5xf32>
}

// -----

// keep_or_drop: the 0 / -inf mask replaces a score rather than being added
// to it (NaN + -inf would be NaN), as the boolean mask it came from does.
// CHECK-LABEL: func.func @keep_or_drop
//       CHECK: %[[NINF:.*]] = arith.constant 0xFF800000 : f32
//       CHECK: linalg.generic
//  CHECK-NEXT: ^bb0(%[[S:.*]]: f32, %[[MV:.*]]: f32, %{{.*}}: f32):
//  CHECK-NEXT:   %[[DROP:.*]] = arith.cmpf oeq, %[[MV]], %[[NINF]] : f32
//  CHECK-NEXT:   %[[R:.*]] = arith.select %[[DROP]], %[[NINF]], %[[S]] : f32
//  CHECK-NEXT:   linalg.yield %[[R]] : f32
func.func @keep_or_drop(%q: tensor<8x4xf32>, %m: tensor<8x8xf32>) -> tensor<8x4xf32> {
  %init = tensor.empty() : tensor<8x4xf32>
  %o = attn.attention ins(%q, %q, %q : tensor<8x4xf32>, tensor<8x4xf32>, tensor<8x4xf32>) mask(%m : tensor<8x8xf32>) keep_or_drop
      outs(%init : tensor<8x4xf32>) scale(1.0) -> tensor<8x4xf32>
  return %o : tensor<8x4xf32>
}
