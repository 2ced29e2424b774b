// Structured masks and the log-sum-exp end to end, against the f64
// reference: a causal sliding window, key lengths (the second batch element
// keeps no key: its rows are 0 and its lse -inf, never NaN), block-sparse
// masks whose masked blocks the flash nest skips (64 x 64 blocks, tiles of
// 64: aligned) or masks per element (blocks of 24: not aligned), and GQA
// read in place, fused from a grouped einsum and written with maps; a
// constant band mask, which canonicalisation turns into a window.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=window_lengths_lse --check | FileCheck %s --check-prefixes=CHECK,LSE
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=window_lengths_lse --check | FileCheck %s --check-prefixes=CHECK,LSE
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=block_sparse --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=block_sparse_unaligned --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=gqa_grouped_einsum --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=mqa_maps --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=band_constant --check | FileCheck %s
// RUN: attn-opt %s --canonicalize | FileCheck %s --check-prefix=BAND
// BAND-LABEL: func.func @band_constant(
// BAND-NOT: mask(
// BAND: window([5, 0])
// CHECK: output 0: max abs error {{.*}}: OK
// LSE: output 1: max abs error {{.*}}: OK
// The nest skips the masked blocks: an scf.if on the block mask per key
// block.
// RUN: attn-opt %s --attn-tile-attention | FileCheck %s --check-prefix=SKIP
// SKIP-LABEL: func.func @block_sparse(
// SKIP: scf.for
// SKIP: tensor.extract %{{.*}} : tensor<2x3xi1>
// SKIP: scf.if
// SKIP: attn.online_attention
// SKIP-LABEL: func.func @block_sparse_unaligned(
// SKIP-NOT: scf.if
// SKIP: return

// 70 queries and keys (partial blocks), a window of the 20 previous keys,
// key lengths 50 and 0.
func.func @window_lengths_lse(%q: tensor<2x2x70x16xf32>, %k: tensor<2x2x70x16xf32>, %v: tensor<2x2x70x8xf32>) -> (tensor<2x2x70x8xf32>, tensor<2x2x70xf32>) {
  %len = arith.constant dense<[50, 0]> : tensor<2xi32>
  %init = tensor.empty() : tensor<2x2x70x8xf32>
  %lse = tensor.empty() : tensor<2x2x70xf32>
  %o:2 = attn.attention ins(%q, %k, %v : tensor<2x2x70x16xf32>, tensor<2x2x70x16xf32>, tensor<2x2x70x8xf32>)
      key_lengths(%len : tensor<2xi32>)
      outs(%init : tensor<2x2x70x8xf32>) lse(%lse : tensor<2x2x70xf32>) scale(0.25) causal window([20, 0])
      {indexing_maps = [affine_map<(b, h, m, k1, k2, n) -> (b, h, m, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, k2, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, k2, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, h, m)>]}
      -> tensor<2x2x70x8xf32>, tensor<2x2x70xf32>
  return %o#0, %o#1 : tensor<2x2x70x8xf32>, tensor<2x2x70xf32>
}

// 128 queries x 192 keys in 64 x 64 blocks; query block 1 keeps no key
// block at all (its rows are 0).
func.func @block_sparse(%q: tensor<2x128x16xf32>, %k: tensor<2x192x16xf32>, %v: tensor<2x192x8xf32>) -> tensor<2x128x8xf32> {
  %blocks = arith.constant dense<[[true, false, true], [false, false, false]]> : tensor<2x3xi1>
  %init = tensor.empty() : tensor<2x128x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x128x16xf32>, tensor<2x192x16xf32>, tensor<2x192x8xf32>)
      block_mask(%blocks : tensor<2x3xi1>) outs(%init : tensor<2x128x8xf32>) scale(0.25) block_sizes([64, 64])
      {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m, k1)>,
                        affine_map<(b, m, k1, k2, n) -> (b, k2, k1)>,
                        affine_map<(b, m, k1, k2, n) -> (b, k2, n)>,
                        affine_map<(b, m, k1, k2, n) -> (m, k2)>,
                        affine_map<(b, m, k1, k2, n) -> (b, m, n)>]}
      -> tensor<2x128x8xf32>
  return %o : tensor<2x128x8xf32>
}

// Blocks of 24 x 24 do not align with the tiles: masked per element.
func.func @block_sparse_unaligned(%q: tensor<1x72x16xf32>, %k: tensor<1x72x16xf32>, %v: tensor<1x72x8xf32>) -> tensor<1x72x8xf32> {
  %blocks = arith.constant dense<[[[true, false, false], [true, true, false], [false, true, true]]]> : tensor<1x3x3xi1>
  %init = tensor.empty() : tensor<1x72x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x72x16xf32>, tensor<1x72x16xf32>, tensor<1x72x8xf32>)
      block_mask(%blocks : tensor<1x3x3xi1>) outs(%init : tensor<1x72x8xf32>) scale(0.25) block_sizes([24, 24])
      -> tensor<1x72x8xf32>
  return %o : tensor<1x72x8xf32>
}

// GQA as grouped einsums (8 query heads = 2 key heads x 4), causal by a
// constant mask.
func.func @gqa_grouped_einsum(%q: tensor<1x2x4x40x16xf32>, %k: tensor<1x2x40x16xf32>, %v: tensor<1x2x40x16xf32>) -> tensor<1x2x4x40x16xf32> {
  %s = attn.einsum "b h g i d, b h j d -> b h g i j" (%q, %k) scale(0.25) : (tensor<1x2x4x40x16xf32>, tensor<1x2x40x16xf32>) -> tensor<1x2x4x40x40xf32>
  %p = attn.softmax %s axis(-1) : tensor<1x2x4x40x40xf32>
  %o = attn.einsum "b h g i j, b h j d -> b h g i d" (%p, %v) : (tensor<1x2x4x40x40xf32>, tensor<1x2x40x16xf32>) -> tensor<1x2x4x40x16xf32>
  return %o : tensor<1x2x4x40x16xf32>
}

// MQA: one key head for all 4 query heads, the keys stored [b, n, d] and the
// output written [b, n, h, d] ("b n (h d)" before the out-projection).
func.func @mqa_maps(%q: tensor<2x4x40x16xf32>, %k: tensor<2x40x16xf32>, %v: tensor<2x40x16xf32>) -> tensor<2x40x4x16xf32> {
  %init = tensor.empty() : tensor<2x40x4x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4x40x16xf32>, tensor<2x40x16xf32>, tensor<2x40x16xf32>)
      outs(%init : tensor<2x40x4x16xf32>) scale(0.25) causal
      {indexing_maps = [affine_map<(b, h, m, k1, k2, n) -> (b, h, m, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, k1)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, k2, n)>,
                        affine_map<(b, h, m, k1, k2, n) -> (b, m, h, n)>]}
      -> tensor<2x40x4x16xf32>
  return %o : tensor<2x40x4x16xf32>
}

// A constant band (keys i - 5 .. i) that canonicalisation turns into
// window([5, 0]): the same numbers as the mask it replaces.
func.func @band_constant(%q: tensor<2x24x16xf32>, %k: tensor<2x24x16xf32>, %v: tensor<2x24x8xf32>) -> tensor<2x24x8xf32> {
  %band = arith.constant dense<[[[true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true, false], [false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, false, true, true, true, true, true, true]]]> : tensor<1x24x24xi1>
  %init = tensor.empty() : tensor<2x24x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x24x16xf32>, tensor<2x24x16xf32>, tensor<2x24x8xf32>)
      mask(%band : tensor<1x24x24xi1>)
      outs(%init : tensor<2x24x8xf32>) scale(0.25) -> tensor<2x24x8xf32>
  return %o : tensor<2x24x8xf32>
}
