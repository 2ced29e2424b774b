// Talking heads (CaiT) end to end against the f64 reference:
// attn-fuse-attention's row-block nest (one block of queries' scores of all
// heads against every key, the first mix, an exact softmax over the row, the
// second mix and P·V) through the CPU pipeline. 70 queries in 32-row blocks:
// full and partial blocks.
// RUN: attn-opt %s --canonicalize --attn-fuse-attention --canonicalize | FileCheck %s --check-prefix=IR
// IR-COUNT-4: scf.forall
// IR-NOT: attn.softmax
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=vit_pytorch --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=timm --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=transposed_mix --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=causal --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

// As vit-pytorch's CaiT reaches the compiler (batch 2, 4 heads).
func.func @vit_pytorch(%q: tensor<2x4x70x16xf32>, %k: tensor<2x4x70x16xf32>, %v: tensor<2x4x70x16xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<2x4x70x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<2x4x70x16xf32>, tensor<2x4x70x16xf32>) -> tensor<2x4x70x70xf32>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<2x4x70x70xf32>, tensor<4x4xf32>) -> tensor<2x4x70x70xf32>
  %p = attn.softmax %m axis(-1) : tensor<2x4x70x70xf32>
  %a = attn.einsum "bhij,hg->bgij" (%p, %w2) : (tensor<2x4x70x70xf32>, tensor<4x4xf32>) -> tensor<2x4x70x70xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<2x4x70x70xf32>, tensor<2x4x70x16xf32>) -> tensor<2x4x70x16xf32>
  return %o : tensor<2x4x70x16xf32>
}

// As timm's TalkingHeadAttn reaches it: keys transposed, both mixes with a
// bias, and P·V written into a tokens-major layout.
func.func @timm(%q: tensor<1x4x70x8xf32>, %kt: tensor<1x4x8x70xf32>, %v: tensor<1x4x70x8xf32>, %w1: tensor<4x4xf32>, %b1: tensor<1x4xf32>, %w2: tensor<4x4xf32>, %b2: tensor<1x4xf32>) -> tensor<1x70x4x8xf32> {
  %s = attn.einsum "b h i k, b h k j -> b h i j" (%q, %kt) : (tensor<1x4x70x8xf32>, tensor<1x4x8x70xf32>) -> tensor<1x4x70x70xf32>
  %m = attn.einsum "abcd,bz->azcd" (%s, %w1) : (tensor<1x4x70x70xf32>, tensor<4x4xf32>) -> tensor<1x4x70x70xf32>
  %e1 = tensor.empty() : tensor<1x4x70x70xf32>
  %bb1 = linalg.broadcast ins(%b1 : tensor<1x4xf32>) outs(%e1 : tensor<1x4x70x70xf32>) dimensions = [2, 3]
  %t = arith.addf %m, %bb1 : tensor<1x4x70x70xf32>
  %p = attn.softmax %t axis(-1) : tensor<1x4x70x70xf32>
  %a = attn.einsum "abcd,bz->azcd" (%p, %w2) : (tensor<1x4x70x70xf32>, tensor<4x4xf32>) -> tensor<1x4x70x70xf32>
  %e2 = tensor.empty() : tensor<1x4x70x70xf32>
  %bb2 = linalg.broadcast ins(%b2 : tensor<1x4xf32>) outs(%e2 : tensor<1x4x70x70xf32>) dimensions = [2, 3]
  %u = arith.addf %a, %bb2 : tensor<1x4x70x70xf32>
  %o = attn.einsum "b h i k, b h k j -> b i h j" (%u, %v) : (tensor<1x4x70x70xf32>, tensor<1x4x70x8xf32>) -> tensor<1x70x4x8xf32>
  return %o : tensor<1x70x4x8xf32>
}

// Matrices read as [output head, input head], mix scales, 3 heads.
func.func @transposed_mix(%q: tensor<1x3x40x8xf32>, %k: tensor<1x3x40x8xf32>, %v: tensor<1x3x40x8xf32>, %w1: tensor<3x3xf32>, %w2: tensor<3x3xf32>) -> tensor<1x3x40x8xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) : (tensor<1x3x40x8xf32>, tensor<1x3x40x8xf32>) -> tensor<1x3x40x40xf32>
  %m = attn.einsum "bhij,gh->bgij" (%s, %w1) scale(0.5) : (tensor<1x3x40x40xf32>, tensor<3x3xf32>) -> tensor<1x3x40x40xf32>
  %p = attn.softmax %m axis(3) : tensor<1x3x40x40xf32>
  %a = attn.einsum "bhij,gh->bgij" (%p, %w2) scale(2.0) : (tensor<1x3x40x40xf32>, tensor<3x3xf32>) -> tensor<1x3x40x40xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<1x3x40x40xf32>, tensor<1x3x40x8xf32>) -> tensor<1x3x40x8xf32>
  return %o : tensor<1x3x40x8xf32>
}

// An additive causal mask after the first mix, broadcast over batch and
// heads: it is one more addend of the mixed scores.
func.func @causal(%q: tensor<1x4x70x16xf32>, %k: tensor<1x4x70x16xf32>, %v: tensor<1x4x70x16xf32>, %w1: tensor<4x4xf32>, %w2: tensor<4x4xf32>) -> tensor<1x4x70x16xf32> {
  %s = attn.einsum "bhid,bhjd->bhij" (%q, %k) scale(0.25) : (tensor<1x4x70x16xf32>, tensor<1x4x70x16xf32>) -> tensor<1x4x70x70xf32>
  %m = attn.einsum "bhij,hg->bgij" (%s, %w1) : (tensor<1x4x70x70xf32>, tensor<4x4xf32>) -> tensor<1x4x70x70xf32>
  %e0 = tensor.empty() : tensor<70x70xf32>
  %mask = linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>], iterator_types = ["parallel", "parallel"]} outs(%e0 : tensor<70x70xf32>) {
  ^bb0(%o: f32):
    %i = linalg.index 0 : index
    %j = linalg.index 1 : index
    %future = arith.cmpi ugt, %j, %i : index
    %ninf = arith.constant -1.0e9 : f32
    %zero = arith.constant 0.0 : f32
    %x = arith.select %future, %ninf, %zero : f32
    linalg.yield %x : f32
  } -> tensor<70x70xf32>
  %e1 = tensor.empty() : tensor<1x4x70x70xf32>
  %bm = linalg.broadcast ins(%mask : tensor<70x70xf32>) outs(%e1 : tensor<1x4x70x70xf32>) dimensions = [0, 1]
  %t = arith.addf %m, %bm : tensor<1x4x70x70xf32>
  %p = attn.softmax %t axis(-1) : tensor<1x4x70x70xf32>
  %a = attn.einsum "bhij,hg->bgij" (%p, %w2) : (tensor<1x4x70x70xf32>, tensor<4x4xf32>) -> tensor<1x4x70x70xf32>
  %o = attn.einsum "bhij,bhjd->bhid" (%a, %v) : (tensor<1x4x70x70xf32>, tensor<1x4x70x16xf32>) -> tensor<1x4x70x16xf32>
  return %o : tensor<1x4x70x16xf32>
}
