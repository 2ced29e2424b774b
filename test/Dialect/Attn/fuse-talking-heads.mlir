// RUN: attn-opt %s --canonicalize --attn-fuse-attention --split-input-file | FileCheck %s
// RUN: attn-opt %s --canonicalize --attn-fuse-attention="remarks=true" --split-input-file -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=REMARK
// RUN: attn-opt %s --canonicalize --attn-fuse-attention="remarks=true talking-heads=false" --split-input-file -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=OFF
// attn-fuse-attention's row-block form of talking heads (CaiT): the scores
// mixed across heads by a learnt [H, H] matrix before the softmax, the
// probabilities by another after it, then P·V. An scf.forall over batch x
// query blocks computes, for all heads of one block of queries, the scores
// against every key, the first mix (by the matrix times the score scale,
// computed once before the nest), the row max, exp(s - max), the row sum,
// its reciprocal and the probabilities, the second mix and P·V, each
// product a pure contraction (the micro-kernel's later): no computation on
// [.., H, N, N] tensors outside the nest. Near misses name their reason.

// vit-pytorch's CaiT (batch 2, 70 tokens: two full and one partial block of
// 32 queries).
// CHECK-LABEL: func.func @vit_pytorch(
//  CHECK-SAME:   %[[Q:[^:]*]]: tensor<2x4x70x16xf32>, %[[K:[^:]*]]: tensor<2x4x70x16xf32>, %[[V:[^:]*]]: tensor<2x4x70x16xf32>, %[[W1:[^:]*]]: tensor<4x4xf32>, %[[W2:[^:]*]]: tensor<4x4xf32>)
//   CHECK-NOT:   attn.softmax
//   CHECK-NOT:   linalg.
//       CHECK:   %[[W1S:.*]] = linalg.generic {{.*}} ins(%[[W1]] : tensor<4x4xf32>)
//  CHECK-NEXT:     ^bb0
//  CHECK-NEXT:       arith.constant 2.500000e-01 : f32
//  CHECK-NEXT:       arith.mulf
//   CHECK-NOT:   linalg.generic
//       CHECK:   %[[NEST:.*]] = scf.forall (%[[B:.*]], %[[I:.*]]) = (0, 0) to (2, 70) step (1, 32) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x4x70x16xf32>)
//       CHECK:     %[[QB:.*]] = tensor.extract_slice %[[Q]][%[[B]], 0, %[[I]], 0]
//       CHECK:     %[[KB:.*]] = tensor.extract_slice %[[K]][%[[B]], 0, 0, 0] [1, 4, 70, 16]
//       CHECK:     %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[QB]], %[[KB]] : tensor<1x4x?x16xf32>, tensor<1x4x70x16xf32>) outs(%{{.*}} : tensor<1x4x?x70xf32>)
//       CHECK:     %[[M:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[S]], %[[W1S]] : tensor<1x4x?x70xf32>, tensor<4x4xf32>) outs(%{{.*}} : tensor<1x4x?x70xf32>)
//  CHECK-NEXT:     ^bb0
//  CHECK-NEXT:       arith.mulf
//  CHECK-NEXT:       arith.addf
//       CHECK:     %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[M]] : tensor<1x4x?x70xf32>) outs(%{{.*}} : tensor<1x4x?xf32>)
//       CHECK:       arith.maximumf
//       CHECK:     %[[E:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[MAX]] : tensor<1x4x?x70xf32>, tensor<1x4x?xf32>) outs(%{{.*}} : tensor<1x4x?x70xf32>)
//       CHECK:       arith.subf
//  CHECK-NEXT:       math.exp
//       CHECK:     %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[E]] : tensor<1x4x?x70xf32>) outs(%{{.*}} : tensor<1x4x?xf32>)
//       CHECK:     %[[INV:.*]] = linalg.generic {{.*}} ins(%[[SUM]] : tensor<1x4x?xf32>) outs(%{{.*}} : tensor<1x4x?xf32>)
//       CHECK:       arith.divf
//       CHECK:     %[[P:.*]] = linalg.generic {{.*}} ins(%[[E]], %[[INV]] : tensor<1x4x?x70xf32>, tensor<1x4x?xf32>) outs(%{{.*}} : tensor<1x4x?x70xf32>)
//       CHECK:     %[[A:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%[[P]], %[[W2]] : tensor<1x4x?x70xf32>, tensor<4x4xf32>) outs(%{{.*}} : tensor<1x4x?x70xf32>)
//       CHECK:     %[[VB:.*]] = tensor.extract_slice %[[V]][%[[B]], 0, 0, 0] [1, 4, 70, 16]
//       CHECK:     %[[OB:.*]] = tensor.extract_slice %[[OUT]][%[[B]], 0, %[[I]], 0]
//       CHECK:     %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OB]] : tensor<1x4x?x16xf32>)
//       CHECK:     %[[PV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[A]], %[[VB]] : tensor<1x4x?x70xf32>, tensor<1x4x70x16xf32>) outs(%[[ACC]] : tensor<1x4x?x16xf32>)
//       CHECK:     tensor.parallel_insert_slice %[[PV]] into %[[OUT]][%[[B]], 0, %[[I]], 0]
//       CHECK:   } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
//       CHECK:   return %[[NEST]]
func.func @vit_pytorch(%q: tensor<2x4x70x16xf32>, %k: tensor<2x4x70x16xf32>, %v: tensor<2x4x70x16xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<2x4x70x16xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25) : (tensor<2x4x70x16xf32>, tensor<2x4x70x16xf32>) -> tensor<2x4x70x70xf32>
  %m = attn.einsum "b h i j, h g -> b g i j" (%s, %w1) : (tensor<2x4x70x70xf32>, tensor<4x4xf32>) -> tensor<2x4x70x70xf32>
  %p = attn.softmax %m axis(-1) : tensor<2x4x70x70xf32>
  %a = attn.einsum "b h i j, h g -> b g i j" (%p, %w2) : (tensor<2x4x70x70xf32>, tensor<4x4xf32>) -> tensor<2x4x70x70xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+2]]:{{[0-9]+}}: remark: fused attention (talking heads, row blocks): 'b h i d, b h j d -> b h i j' scale 0.25, heads mixed by 'b h i j, h g -> b g i j' before and 'b h i j, h g -> b g i j' after the softmax over key axis 'j', 'b h i j, b h j d -> b h i d'
  // OFF: fuse-talking-heads.mlir:[[@LINE-3]]:{{[0-9]+}}: remark: attention not fused: talking heads: the scores are mixed across heads by 'b h i j, h g -> b g i j' before the softmax, and the row-block nest is off (talking-heads=false)
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%a, %v) : (tensor<2x4x70x70xf32>, tensor<2x4x70x16xf32>) -> tensor<2x4x70x16xf32>
  return %o : tensor<2x4x70x16xf32>
}

// -----

// timm's TalkingHeadAttn: the queries scaled beforehand, the keys
// transposed, each mix a Linear over the head axis with a bias added as a
// broadcast. The first bias drops out of no computation: it is added to the
// scores like the frontend wrote it.
// CHECK-LABEL: func.func @timm(
//  CHECK-SAME:   %[[Q:[^:]*]]: tensor<1x4x40x8xf32>, %[[KT:[^:]*]]: tensor<1x4x8x40xf32>, %[[V:[^:]*]]: tensor<1x4x40x8xf32>, %[[W1:[^:]*]]: tensor<4x4xf32>, %[[B1:[^:]*]]: tensor<1x4xf32>, %[[W2:[^:]*]]: tensor<4x4xf32>, %[[B2:[^:]*]]: tensor<1x4xf32>)
//   CHECK-NOT:   linalg.broadcast
//       CHECK:   scf.forall (%[[I:.*]]) = (0) to (40) step (32)
//       CHECK:     %[[S:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[KT]] : tensor<1x4x?x8xf32>, tensor<1x4x8x40xf32>)
//       CHECK:     %[[M:.*]] = linalg.generic {{.*}} ins(%[[S]], %[[W1]] :
//       CHECK:     %[[MB:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[B1]] : tensor<1x4x?x40xf32>, tensor<1x4xf32>)
//       CHECK:     %[[MAX:.*]] = linalg.generic {{.*}} ins(%[[MB]] :
//       CHECK:     %[[E:.*]] = linalg.generic {{.*}} ins(%[[MB]], %[[MAX]] :
//       CHECK:     %[[P:.*]] = linalg.generic {{.*}} ins(%[[E]], %{{.*}} :
//       CHECK:     %[[A:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[W2]] :
//       CHECK:     %[[AB:.*]] = linalg.generic {{.*}} ins(%[[A]], %[[B2]] : tensor<1x4x?x40xf32>, tensor<1x4xf32>)
//       CHECK:     linalg.generic {{.*}} ins(%[[AB]], %[[V]] : tensor<1x4x?x40xf32>, tensor<1x4x40x8xf32>)
//       CHECK:   } {mapping = [#attn.flash_nest<0>]}
func.func @timm(%q: tensor<1x4x40x8xf32>, %kt: tensor<1x4x8x40xf32>, %v: tensor<1x4x40x8xf32>, %w1: tensor<4x4xf32>, %b1: tensor<1x4xf32>, %w2: tensor<4x4xf32>, %b2: tensor<1x4xf32>) -> tensor<1x4x40x8xf32> {
  %s = attn.einsum "b h i k, b h k j -> b h i j" (%q, %kt) : (tensor<1x4x40x8xf32>, tensor<1x4x8x40xf32>) -> tensor<1x4x40x40xf32>
  %m = attn.einsum "abcd,bz->azcd" (%s, %w1) : (tensor<1x4x40x40xf32>, tensor<4x4xf32>) -> tensor<1x4x40x40xf32>
  %e1 = tensor.empty() : tensor<1x4x40x40xf32>
  %bb1 = linalg.broadcast ins(%b1 : tensor<1x4xf32>) outs(%e1 : tensor<1x4x40x40xf32>) dimensions = [2, 3]
  %t = arith.addf %m, %bb1 : tensor<1x4x40x40xf32>
  %p = attn.softmax %t axis(-1) : tensor<1x4x40x40xf32>
  %a = attn.einsum "abcd,bz->azcd" (%p, %w2) : (tensor<1x4x40x40xf32>, tensor<4x4xf32>) -> tensor<1x4x40x40xf32>
  %e2 = tensor.empty() : tensor<1x4x40x40xf32>
  %bb2 = linalg.broadcast ins(%b2 : tensor<1x4xf32>) outs(%e2 : tensor<1x4x40x40xf32>) dimensions = [2, 3]
  %u = arith.addf %a, %bb2 : tensor<1x4x40x40xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention (talking heads, row blocks): 'b h i k, b h k j -> b h i j' scale 1, heads mixed by 'abcd,bz->azcd' before and 'abcd,bz->azcd' after the softmax over key axis 'j', both mixes with a bias, 'b h i k, b h k j -> b h i j'
  %o = attn.einsum "b h i k, b h k j -> b h i j" (%u, %v) : (tensor<1x4x40x40xf32>, tensor<1x4x40x8xf32>) -> tensor<1x4x40x8xf32>
  return %o : tensor<1x4x40x8xf32>
}

// -----

// The probabilities are also returned: the nest would have to write them.
// CHECK-LABEL: func.func @probabilities_used_elsewhere
//       CHECK:   attn.softmax
//   CHECK-NOT:   scf.forall
func.func @probabilities_used_elsewhere(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16x16xf32>) {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads (the scores mixed across heads by 'bhij,hg->bgij' before the softmax): the probabilities are not mixed across heads by a square matrix before P·V (the row-block form takes no views between the softmax and the mix)
  %p = attn.softmax %m axis(-1) : tensor<1x4x16x16xf32>
  %a = attn.einsum "bhij,hg->bgij" (%p, %w2) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o, %p : tensor<1x4x16x8xf32>, tensor<1x4x16x16xf32>
}

// -----

// The first mix writes the mixed head elsewhere than the summed one.
// CHECK-LABEL: func.func @mix_moves_the_head
//       CHECK:   attn.softmax
//   CHECK-NOT:   scf.forall
func.func @mix_moves_the_head(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x16x4x8xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<1x16x4x8xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %m = attn.einsum "bhij,hg->bigj" (%s, %w1) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x16x4x16xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads (the scores mixed across heads by 'bhij,hg->bigj' before the softmax): the mix does not write the mixed head in place of the summed one
  %p = attn.softmax %m axis(-1) : tensor<1x16x4x16xf32>
  %a = attn.einsum "bihj,hg->bigj" (%p, %w2) : (tensor<1x16x4x16xf32>, tensor<4x4xf32>) -> tensor<1x16x4x16xf32>
  %o = attn.einsum "bihj,bjhd->bihd" (%a, %v) : (tensor<1x16x4x16xf32>, tensor<1x16x4x8xf32>) -> tensor<1x16x4x8xf32>
  return %o : tensor<1x16x4x8xf32>
}

// -----

// The second mix is over another head count than the first.
// CHECK-LABEL: func.func @second_mix_not_over_the_heads
//   CHECK-NOT:   scf.forall
func.func @second_mix_not_over_the_heads(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>, %w1: tensor<4x4xf32>, %w2: tensor<16x16xf32>) -> tensor<1x4x16x8xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads (the scores mixed across heads by 'bhij,hg->bgij' before the softmax): the probabilities' mix 'bhij,ig->bhgj' does not mix the same head axis in place
  %p = attn.softmax %m axis(-1) : tensor<1x4x16x16xf32>
  %a = attn.einsum "bhij,ig->bhgj" (%p, %w2) : (tensor<1x4x16x16xf32>, tensor<16x16xf32>) -> tensor<1x4x16x16xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// A scale on P·V (the nest takes none).
// CHECK-LABEL: func.func @scaled_pv
//   CHECK-NOT:   scf.forall
func.func @scaled_pv(%q: tensor<1x4x16x8xf32>, %k: tensor<1x4x16x8xf32>, %v: tensor<1x4x16x8xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<1x4x16x8xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x16xf32>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads (the scores mixed across heads by 'bhij,hg->bgij' before the softmax): the P·V einsum has a scale
  %p = attn.softmax %m axis(-1) : tensor<1x4x16x16xf32>
  %a = attn.einsum "bhij,hg->bgij" (%p, %w2) : (tensor<1x4x16x16xf32>, tensor<4x4xf32>) -> tensor<1x4x16x16xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) scale(0.5) : (tensor<1x4x16x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x16x8xf32>
  return %o : tensor<1x4x16x8xf32>
}

// -----

// f16 (the nest is built for f32).
// CHECK-LABEL: func.func @f16
//   CHECK-NOT:   scf.forall
func.func @f16(%q: tensor<1x4x16x8xf16>, %k: tensor<1x4x16x8xf16>, %v: tensor<1x4x16x8xf16>, %w1: tensor<4x4xf16>, %w2: tensor<4x4xf16>) -> tensor<1x4x16x8xf16> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x4x16x8xf16>, tensor<1x4x16x8xf16>) -> tensor<1x4x16x16xf16>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<1x4x16x16xf16>, tensor<4x4xf16>) -> tensor<1x4x16x16xf16>
  // REMARK: fuse-talking-heads.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: talking heads (the scores mixed across heads by 'bhij,hg->bgij' before the softmax): the row-block form is built for statically shaped f32 tensors
  %p = attn.softmax %m axis(-1) : tensor<1x4x16x16xf16>
  %a = attn.einsum "bhij,hg->bgij" (%p, %w2) : (tensor<1x4x16x16xf16>, tensor<4x4xf16>) -> tensor<1x4x16x16xf16>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<1x4x16x16xf16>, tensor<1x4x16x8xf16>) -> tensor<1x4x16x8xf16>
  return %o : tensor<1x4x16x8xf16>
}
