// RUN: attn-opt %s --canonicalize --attn-fuse-attention --split-input-file | FileCheck %s
// RUN: attn-opt %s --canonicalize --attn-fuse-attention="remarks=true" --split-input-file -o /dev/null 2>&1 \
// RUN: | FileCheck %s --check-prefix=REMARK
// attn-fuse-attention's two-pass form of re-attention (DeepViT): softmax
// probabilities mixed across heads by a learnt [H, H] matrix, a LayerNorm
// over the heads, then P·V. Pass 1 is an attn.attention whose lse result
// gives each row's log-sum-exp (its one-column output of ones is unused);
// pass 2 is an scf.forall over batch x query blocks and an scf.for over key
// blocks that recompute the scores of all heads, exp(s - lse), the head
// mix, the LayerNorm and accumulate P'·V. A head mix straight into P·V
// (no LayerNorm) takes the same form; near misses name their reason.

// DeepViT as the frontend writes it (batch 2, 70 tokens: with 32-row blocks
// two full and one partial block of queries and of keys).
// CHECK-LABEL: func.func @deepvit(
//  CHECK-SAME:   %[[Q:[^:]*]]: tensor<2x70x4x16xf32>, %[[K:[^:]*]]: tensor<2x70x4x16xf32>, %[[V:[^:]*]]: tensor<2x70x4x16xf32>, %[[W:[^:]*]]: tensor<4x4xf32>, %[[G:[^:]*]]: tensor<4xf32>, %[[BETA:[^:]*]]: tensor<4xf32>)
//   CHECK-NOT:   attn.softmax
//       CHECK:   %[[ONES:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4x70x1xf32>)
//       CHECK:   %[[P1:.*]]:2 = attn.attention ins(%[[Q]], %[[K]], %[[ONES]] : tensor<2x70x4x16xf32>, tensor<2x70x4x16xf32>, tensor<2x4x70x1xf32>) outs(%{{.*}} : tensor<2x4x70x1xf32>) lse(%{{.*}} : tensor<2x4x70xf32>) scale(2.500000e-01)
//       CHECK:   %[[NEST:.*]] = scf.forall (%[[B:.*]], %[[I:.*]]) = (0, 0) to (2, 70) step (1, 32) shared_outs(%[[OUT:.*]] = %{{.*}}) -> (tensor<2x4x70x16xf32>)
//       CHECK:     %[[QB:.*]] = tensor.extract_slice %[[Q]][%[[B]], %[[I]], 0, 0]
//       CHECK:     %[[KB:.*]] = tensor.extract_slice %[[K]][%[[B]], 0, 0, 0] [1, 70, 4, 16]
//       CHECK:     %[[LSE:.*]] = tensor.extract_slice %[[P1]]#1[%[[B]], 0, %[[I]]]
//       CHECK:     %[[VB:.*]] = tensor.extract_slice %[[V]][%[[B]], 0, 0, 0] [1, 70, 4, 16]
//       CHECK:     %[[ACC:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<1x4x?x16xf32>)
//       CHECK:     %[[STEPS:.*]] = scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ITER:.*]] = %[[ACC]]) -> (tensor<1x4x?x16xf32>)
//       CHECK:       %[[KJ:.*]] = tensor.extract_slice %[[KB]][0, %[[J]], 0, 0]
//       CHECK:       %[[S:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %[[KJ]] : tensor<1x?x4x16xf32>, tensor<1x?x4x16xf32>) outs(%{{.*}} : tensor<1x4x?x?xf32>)
//       CHECK:       %[[P:.*]] = linalg.generic {{.*}} ins(%[[S]], %{{.*}} : tensor<1x4x?x?xf32>, tensor<1x4x?xf32>)
//       CHECK:         arith.subf
//  CHECK-NEXT:         math.exp
//       CHECK:       %[[M:.*]] = linalg.generic {{.*}} ins(%[[P]], %[[W]] : tensor<1x4x?x?xf32>, tensor<4x4xf32>)
//       CHECK:       %[[SUM:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel", "parallel"]} ins(%[[M]] : tensor<1x4x?x?xf32>) outs(%{{.*}} : tensor<1x?x?xf32>)
//       CHECK:       %[[SQ:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "parallel", "parallel"]} ins(%[[M]], %[[SUM]] : tensor<1x4x?x?xf32>, tensor<1x?x?xf32>)
//       CHECK:       %[[Y:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[SUM]], %[[SQ]], %[[G]], %[[BETA]] :
//       CHECK:         math.rsqrt
//       CHECK:       %[[VJ:.*]] = tensor.extract_slice %[[VB]][0, %[[J]], 0, 0]
//       CHECK:       %[[ITERI:.*]] = tensor.extract_slice %[[ITER]][0, 0, 0, 0]
//   CHECK-NOT:       linalg.fill
//       CHECK:       %[[PV:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction", "parallel"]} ins(%[[Y]], %[[VJ]] : tensor<1x4x?x?xf32>, tensor<1x?x4x16xf32>) outs(%[[ITERI]] : tensor<1x4x?x16xf32>)
//       CHECK:       tensor.insert_slice %[[PV]] into %[[ITER]]
//       CHECK:     tensor.parallel_insert_slice %[[STEPS]] into %[[OUT]][%[[B]], 0, %[[I]], 0]
//       CHECK:   } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
//   CHECK-NOT:   tensor<2x4x70x70xf32>
//       CHECK:   return %[[NEST]]
func.func @deepvit(%q: tensor<2x70x4x16xf32>, %k: tensor<2x70x4x16xf32>, %v: tensor<2x70x4x16xf32>, %w: tensor<4x4xf32>, %gamma: tensor<4xf32>, %beta: tensor<4xf32>) -> tensor<2x4x70x16xf32> {
  %s = attn.einsum "bihd,bjhd->bhij" (%q, %k) scale(0.25) : (tensor<2x70x4x16xf32>, tensor<2x70x4x16xf32>) -> tensor<2x4x70x70xf32>
  %p = attn.softmax %s axis(-1) : tensor<2x4x70x70xf32>
  %pf = attn.rearrange %p "b h n d -> b h (n d)" : tensor<2x4x70x70xf32> -> tensor<2x4x4900xf32>
  %m = attn.einsum "bhi,hg->bgi" (%pf, %w) : (tensor<2x4x4900xf32>, tensor<4x4xf32>) -> tensor<2x4x4900xf32>
  %x = attn.rearrange %m "b n (h d) -> b h d n" {h = 70} : tensor<2x4x4900xf32> -> tensor<2x70x70x4xf32>
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<2x70x70xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x70x70xf32>) -> tensor<2x70x70xf32>
  %sum = linalg.reduce ins(%x : tensor<2x70x70x4xf32>) outs(%f0 : tensor<2x70x70xf32>) dimensions = [3]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %quarter = arith.constant dense<0.25> : tensor<2x70x70xf32>
  %mean = arith.mulf %sum, %quarter : tensor<2x70x70xf32>
  %e1 = tensor.empty() : tensor<2x70x70x4xf32>
  %bm = linalg.broadcast ins(%mean : tensor<2x70x70xf32>) outs(%e1 : tensor<2x70x70x4xf32>) dimensions = [3]
  %c = arith.subf %x, %bm : tensor<2x70x70x4xf32>
  %sq = arith.mulf %c, %c : tensor<2x70x70x4xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x70x70xf32>) -> tensor<2x70x70xf32>
  %ssum = linalg.reduce ins(%sq : tensor<2x70x70x4xf32>) outs(%f1 : tensor<2x70x70xf32>) dimensions = [3]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %var = arith.mulf %ssum, %quarter : tensor<2x70x70xf32>
  %eps = arith.constant dense<1.0e-5> : tensor<2x70x70xf32>
  %ve = arith.addf %var, %eps : tensor<2x70x70xf32>
  %r = math.rsqrt %ve : tensor<2x70x70xf32>
  %br = linalg.broadcast ins(%r : tensor<2x70x70xf32>) outs(%e1 : tensor<2x70x70x4xf32>) dimensions = [3]
  %n = arith.mulf %c, %br : tensor<2x70x70x4xf32>
  %bg = linalg.broadcast ins(%gamma : tensor<4xf32>) outs(%e1 : tensor<2x70x70x4xf32>) dimensions = [0, 1, 2]
  %ng = arith.mulf %n, %bg : tensor<2x70x70x4xf32>
  %bb = linalg.broadcast ins(%beta : tensor<4xf32>) outs(%e1 : tensor<2x70x70x4xf32>) dimensions = [0, 1, 2]
  %y = arith.addf %ng, %bb : tensor<2x70x70x4xf32>

  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention (two-pass re-attention): 'bihd,bjhd->bhij' scale 0.25, softmax over key axis 'j', heads mixed by 'bhi,hg->bgi', LayerNorm over the heads (eps 1e-05, weight, bias), 'bijh,bjhd->bhid'
  %o = attn.einsum "bijh,bjhd->bhid" (%y, %v) : (tensor<2x70x70x4xf32>, tensor<2x70x4x16xf32>) -> tensor<2x4x70x16xf32>
  return %o : tensor<2x4x70x16xf32>
}

// -----

// The head mix straight into P·V, in the default layout, the matrix read
// transposed ('g h'): the same nest without the LayerNorm.
// CHECK-LABEL: func.func @mix_only
//       CHECK:   attn.attention
//       CHECK:   scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (2, 8) step (1, 8)
//       CHECK:     scf.for
//       CHECK:       math.exp
//       CHECK:       linalg.generic {indexing_maps = [#[[PM:.*]], #[[WM:.*]], #{{.*}}], {{.*}} ins(%{{.*}}, %arg3 : tensor<1x4x8x8xf32>, tensor<4x4xf32>)
//   CHECK-NOT:       math.rsqrt
//       CHECK:       linalg.generic
//   CHECK-NOT:   attn.softmax
func.func @mix_only(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %w: tensor<4x4xf32>) -> tensor<2x4x8x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  %p = attn.softmax %s axis(-1) : tensor<2x4x8x8xf32>
  %m = attn.einsum "bhij,gh->bgij" (%p, %w) : (tensor<2x4x8x8xf32>, tensor<4x4xf32>) -> tensor<2x4x8x8xf32>
  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: fused attention (two-pass re-attention): 'bhid,bhjd->bhij' scale 0.25, softmax over key axis 'j', heads mixed by 'bhij,gh->bgij', no LayerNorm, 'bhij,bhjd->bhid'
  %o = attn.einsum "bhij,bhjd->bhid" (%m, %v) : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// A mixing matrix that is not [H, H] (4 heads into 3): not fused.
// CHECK-LABEL: func.func @not_square
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @not_square(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x3x8x16xf32>, %w: tensor<4x3xf32>) -> tensor<2x3x8x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: re-attention (probabilities mixed across heads by 'bhij,hg->bgij'): the mixing matrix is not square
  %p = attn.softmax %s axis(-1) : tensor<2x4x8x8xf32>
  %m = attn.einsum "bhij,hg->bgij" (%p, %w) : (tensor<2x4x8x8xf32>, tensor<4x3xf32>) -> tensor<2x3x8x8xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%m, %v) : (tensor<2x3x8x8xf32>, tensor<2x3x8x16xf32>) -> tensor<2x3x8x16xf32>
  return %o : tensor<2x3x8x16xf32>
}

// -----

// A matrix over the query axis instead of the heads: not a head mix.
// CHECK-LABEL: func.func @mix_over_queries
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @mix_over_queries(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %w: tensor<8x8xf32>) -> tensor<2x4x8x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: re-attention (probabilities mixed across heads by 'bhij,ig->bhgj'): the mix does not sum over the head axis of the scores
  %p = attn.softmax %s axis(-1) : tensor<2x4x8x8xf32>
  %m = attn.einsum "bhij,ig->bhgj" (%p, %w) : (tensor<2x4x8x8xf32>, tensor<8x8xf32>) -> tensor<2x4x8x8xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%m, %v) : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o : tensor<2x4x8x16xf32>
}

// -----

// The mixed probabilities also returned: the two-pass form would have to
// materialise them, not fused.
// CHECK-LABEL: func.func @mixed_used_elsewhere
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @mixed_used_elsewhere(%q: tensor<2x4x8x16xf32>, %k: tensor<2x4x8x16xf32>, %v: tensor<2x4x8x16xf32>, %w: tensor<4x4xf32>) -> (tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32>) {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x8x16xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x8xf32>
  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: re-attention (probabilities mixed across heads by 'bhij,hg->bgij'): 'func.return' uses the mixed probabilities outside the LayerNorm over the heads
  %p = attn.softmax %s axis(-1) : tensor<2x4x8x8xf32>
  %m = attn.einsum "bhij,hg->bgij" (%p, %w) : (tensor<2x4x8x8xf32>, tensor<4x4xf32>) -> tensor<2x4x8x8xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%m, %v) : (tensor<2x4x8x8xf32>, tensor<2x4x8x16xf32>) -> tensor<2x4x8x16xf32>
  return %o, %m : tensor<2x4x8x16xf32>, tensor<2x4x8x8xf32>
}

// -----

// A LayerNorm whose variance squares the uncentred values: not a LayerNorm.
// CHECK-LABEL: func.func @not_layernorm
//       CHECK: attn.softmax
//   CHECK-NOT: attn.attention
func.func @not_layernorm(%q: tensor<1x8x4x16xf32>, %k: tensor<1x8x4x16xf32>, %v: tensor<1x8x4x16xf32>, %w: tensor<4x4xf32>, %gamma: tensor<4xf32>, %beta: tensor<4xf32>) -> tensor<1x4x8x16xf32> {
  %s = attn.einsum "bihd,bjhd->bhij" (%q, %k) scale(0.25) : (tensor<1x8x4x16xf32>, tensor<1x8x4x16xf32>) -> tensor<1x4x8x8xf32>
  // REMARK: fuse-reattention.mlir:[[@LINE+1]]:{{[0-9]+}}: remark: attention not fused: re-attention (probabilities mixed across heads by 'bhij,hg->bijg'): the LayerNorm's variance is not the mean over the heads of the squared centred values
  %p = attn.softmax %s axis(-1) : tensor<1x4x8x8xf32>
  %x = attn.einsum "bhij,hg->bijg" (%p, %w) : (tensor<1x4x8x8xf32>, tensor<4x4xf32>) -> tensor<1x8x8x4xf32>
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<1x8x8xf32>
  %f0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %sum = linalg.reduce ins(%x : tensor<1x8x8x4xf32>) outs(%f0 : tensor<1x8x8xf32>) dimensions = [3]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %quarter = arith.constant dense<0.25> : tensor<1x8x8xf32>
  %mean = arith.mulf %sum, %quarter : tensor<1x8x8xf32>
  %e1 = tensor.empty() : tensor<1x8x8x4xf32>
  %bm = linalg.broadcast ins(%mean : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8x4xf32>) dimensions = [3]
  %c = arith.subf %x, %bm : tensor<1x8x8x4xf32>
  %sq = arith.mulf %x, %x : tensor<1x8x8x4xf32>
  %f1 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<1x8x8xf32>) -> tensor<1x8x8xf32>
  %ssum = linalg.reduce ins(%sq : tensor<1x8x8x4xf32>) outs(%f1 : tensor<1x8x8xf32>) dimensions = [3]
    (%in: f32, %acc: f32) {
      %a = arith.addf %in, %acc : f32
      linalg.yield %a : f32
    }
  %var = arith.mulf %ssum, %quarter : tensor<1x8x8xf32>
  %eps = arith.constant dense<1.0e-5> : tensor<1x8x8xf32>
  %ve = arith.addf %var, %eps : tensor<1x8x8xf32>
  %r = math.rsqrt %ve : tensor<1x8x8xf32>
  %br = linalg.broadcast ins(%r : tensor<1x8x8xf32>) outs(%e1 : tensor<1x8x8x4xf32>) dimensions = [3]
  %n = arith.mulf %c, %br : tensor<1x8x8x4xf32>
  %bg = linalg.broadcast ins(%gamma : tensor<4xf32>) outs(%e1 : tensor<1x8x8x4xf32>) dimensions = [0, 1, 2]
  %ng = arith.mulf %n, %bg : tensor<1x8x8x4xf32>
  %bb = linalg.broadcast ins(%beta : tensor<4xf32>) outs(%e1 : tensor<1x8x8x4xf32>) dimensions = [0, 1, 2]
  %y = arith.addf %ng, %bb : tensor<1x8x8x4xf32>

  %o = attn.einsum "bijh,bjhd->bhid" (%y, %v) : (tensor<1x8x8x4xf32>, tensor<1x8x4x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}
