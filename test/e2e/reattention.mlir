// Re-attention (DeepViT) end to end against the f64 reference:
// attn-fuse-attention's two-pass form (pass 1 the rows' log-sum-exp from
// attn.attention, pass 2 a tiled nest that recomputes the scores of all
// heads, mixes them, normalises them over the heads and accumulates P'·V)
// through the CPU pipeline. 70 queries and keys in 32-row blocks: full and
// partial blocks of both, and a sum over three key blocks.
// RUN: attn-opt %s --canonicalize --attn-fuse-attention --canonicalize | FileCheck %s --check-prefix=IR
// IR-COUNT-3: lse(
// IR-NOT: attn.softmax
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=reattention --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=layernorm_div --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=mix_only --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

// As vit-pytorch's DeepViT reaches the compiler (batch 2, 4 heads, LayerNorm
// with weight and bias).
func.func @reattention(%q: tensor<2x70x4x16xf32>, %k: tensor<2x70x4x16xf32>, %v: tensor<2x70x4x16xf32>, %w: tensor<4x4xf32>, %gamma: tensor<4xf32>, %beta: tensor<4xf32>) -> tensor<2x4x70x16xf32> {
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
  %o = attn.einsum "bijh,bjhd->bhid" (%y, %v) : (tensor<2x70x70x4xf32>, tensor<2x70x4x16xf32>) -> tensor<2x4x70x16xf32>
  return %o : tensor<2x4x70x16xf32>
}

// The LayerNorm written with divisions by H, operands of the commutative
// ops the other way round, no weight or bias.
func.func @layernorm_div(%q: tensor<2x70x4x16xf32>, %k: tensor<2x70x4x16xf32>, %v: tensor<2x70x4x16xf32>, %w: tensor<4x4xf32>) -> tensor<2x4x70x16xf32> {
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
  %heads = arith.constant dense<4.0> : tensor<2x70x70xf32>
  %mean = arith.divf %sum, %heads : tensor<2x70x70xf32>
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
  %var = arith.divf %ssum, %heads : tensor<2x70x70xf32>
  %eps = arith.constant dense<1.0e-5> : tensor<2x70x70xf32>
  %ve = arith.addf %eps, %var : tensor<2x70x70xf32>
  %r = math.rsqrt %ve : tensor<2x70x70xf32>
  %br = linalg.broadcast ins(%r : tensor<2x70x70xf32>) outs(%e1 : tensor<2x70x70x4xf32>) dimensions = [3]
  %y = arith.mulf %br, %c : tensor<2x70x70x4xf32>
  %o = attn.einsum "bijh,bjhd->bhid" (%y, %v) : (tensor<2x70x70x4xf32>, tensor<2x70x4x16xf32>) -> tensor<2x4x70x16xf32>
  return %o : tensor<2x4x70x16xf32>
}

// A head mix straight into P·V (no LayerNorm), the matrix read as 'g h'.
func.func @mix_only(%q: tensor<1x4x70x16xf32>, %k: tensor<1x4x70x16xf32>, %v: tensor<1x4x70x8xf32>, %w: tensor<4x4xf32>) -> tensor<1x4x70x8xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<1x4x70x16xf32>, tensor<1x4x70x16xf32>) -> tensor<1x4x70x70xf32>
  %p = attn.softmax %s axis(-1) : tensor<1x4x70x70xf32>
  %m = attn.einsum "bhij,gh->bgij" (%p, %w) : (tensor<1x4x70x70xf32>, tensor<4x4xf32>) -> tensor<1x4x70x70xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%m, %v) : (tensor<1x4x70x70xf32>, tensor<1x4x70x8xf32>) -> tensor<1x4x70x8xf32>
  return %o : tensor<1x4x70x8xf32>
}
