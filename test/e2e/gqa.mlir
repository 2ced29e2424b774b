// Grouped-query and multi-query attention end to end, against the f64
// reference: the repeated key/value heads of HF's repeat_kv (broadcast +
// merge into the head dimension, also with the keys transposed as eager
// Llama reads them), of k.repeat (head order (g h)) and of an MQA expand
// are read in place by the CPU pipeline
// (attn-fold-attention-broadcasts), with a mask broadcast over the heads
// (and over the batch), which the tiles read through rank-reduced slices.
// RUN: attn-opt %s --attn-fold-attention-broadcasts --canonicalize | FileCheck %s --check-prefix=IR
// IR-NOT: linalg.broadcast
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=repeat_kv_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=repeat_gh --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=mqa_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=gqa_maps_mask --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=transposed_keys --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

// 8 query heads, 2 key/value heads, a [B, 1, Sq, Sk] additive mask.
func.func @repeat_kv_mask(%q: tensor<2x8x70x16xf32>, %k: tensor<2x2x50x16xf32>, %v: tensor<2x2x50x8xf32>, %m: tensor<2x1x70x50xf32>) -> tensor<2x8x70x8xf32> {
  %ek = tensor.empty() : tensor<2x2x4x50x16xf32>
  %bk = linalg.broadcast ins(%k : tensor<2x2x50x16xf32>) outs(%ek : tensor<2x2x4x50x16xf32>) dimensions = [2]
  %ev = tensor.empty() : tensor<2x2x4x50x8xf32>
  %bv = linalg.broadcast ins(%v : tensor<2x2x50x8xf32>) outs(%ev : tensor<2x2x4x50x8xf32>) dimensions = [2]
  %rk = attn.rearrange %bk "b h g n d -> b (h g) n d" : tensor<2x2x4x50x16xf32> -> tensor<2x8x50x16xf32>
  %rv = attn.rearrange %bv "b h g n d -> b (h g) n d" : tensor<2x2x4x50x8xf32> -> tensor<2x8x50x8xf32>
  %init = tensor.empty() : tensor<2x8x70x8xf32>
  %o = attn.attention ins(%q, %rk, %rv : tensor<2x8x70x16xf32>, tensor<2x8x50x16xf32>, tensor<2x8x50x8xf32>)
      mask(%m : tensor<2x1x70x50xf32>) outs(%init : tensor<2x8x70x8xf32>) scale(0.25) -> tensor<2x8x70x8xf32>
  return %o : tensor<2x8x70x8xf32>
}

// k.repeat(1, 3, 1, 1): head h of the queries reads key head h mod 2; causal.
func.func @repeat_gh(%q: tensor<1x6x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>) -> tensor<1x6x40x8xf32> {
  %ek = tensor.empty() : tensor<1x3x2x40x8xf32>
  %bk = linalg.broadcast ins(%k : tensor<1x2x40x8xf32>) outs(%ek : tensor<1x3x2x40x8xf32>) dimensions = [1]
  %bv = linalg.broadcast ins(%v : tensor<1x2x40x8xf32>) outs(%ek : tensor<1x3x2x40x8xf32>) dimensions = [1]
  %rk = attn.rearrange %bk "b g h n d -> b (g h) n d" : tensor<1x3x2x40x8xf32> -> tensor<1x6x40x8xf32>
  %rv = attn.rearrange %bv "b g h n d -> b (g h) n d" : tensor<1x3x2x40x8xf32> -> tensor<1x6x40x8xf32>
  %init = tensor.empty() : tensor<1x6x40x8xf32>
  %o = attn.attention ins(%q, %rk, %rv : tensor<1x6x40x8xf32>, tensor<1x6x40x8xf32>, tensor<1x6x40x8xf32>)
      outs(%init : tensor<1x6x40x8xf32>) scale(0.35) causal -> tensor<1x6x40x8xf32>
  return %o : tensor<1x6x40x8xf32>
}

// MQA: one key/value head expanded over 4 query heads, a boolean [Sq, Sk]
// mask (read at constant 0 over batch and heads).
func.func @mqa_mask(%q: tensor<2x4x33x16xf32>, %k: tensor<2x1x20x16xf32>, %v: tensor<2x1x20x16xf32>, %m: tensor<33x20xi1>) -> tensor<2x4x33x16xf32> {
  %k3 = attn.rearrange %k "b 1 n d -> b n d" : tensor<2x1x20x16xf32> -> tensor<2x20x16xf32>
  %v3 = attn.rearrange %v "b 1 n d -> b n d" : tensor<2x1x20x16xf32> -> tensor<2x20x16xf32>
  %e = tensor.empty() : tensor<2x4x20x16xf32>
  %bk = linalg.broadcast ins(%k3 : tensor<2x20x16xf32>) outs(%e : tensor<2x4x20x16xf32>) dimensions = [1]
  %bv = linalg.broadcast ins(%v3 : tensor<2x20x16xf32>) outs(%e : tensor<2x4x20x16xf32>) dimensions = [1]
  %m4 = attn.rearrange %m "i j -> 1 1 i j" : tensor<33x20xi1> -> tensor<1x1x33x20xi1>
  %init = tensor.empty() : tensor<2x4x33x16xf32>
  %o = attn.attention ins(%q, %bk, %bv : tensor<2x4x33x16xf32>, tensor<2x4x20x16xf32>, tensor<2x4x20x16xf32>)
      mask(%m4 : tensor<1x1x33x20xi1>) outs(%init : tensor<2x4x33x16xf32>) scale(0.25) -> tensor<2x4x33x16xf32>
  return %o : tensor<2x4x33x16xf32>
}

// GQA written with maps (as the SDPA frontend emits it) and a mask
// broadcast over batch and both head factors.
func.func @gqa_maps_mask(%q: tensor<1x2x2x70x8xf32>, %k: tensor<1x2x50x8xf32>, %v: tensor<1x2x50x8xf32>, %m: tensor<1x1x70x50xf32>) -> tensor<1x2x2x70x8xf32> {
  %init = tensor.empty() : tensor<1x2x2x70x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x2x70x8xf32>, tensor<1x2x50x8xf32>, tensor<1x2x50x8xf32>)
      mask(%m : tensor<1x1x70x50xf32>)
      outs(%init : tensor<1x2x2x70x8xf32>) scale(0.5) {indexing_maps = [
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, k1)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, k2, n)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (0, 0, m, k2)>,
        affine_map<(b, hk, g, m, k1, k2, n) -> (b, hk, g, m, n)>]} -> tensor<1x2x2x70x8xf32>
  return %o : tensor<1x2x2x70x8xf32>
}

// Eager Llama's keys: repeat_kv, then transposed (scores q @ kᵀ read
// through a (K1, K2) key map), with a causal mask.
func.func @transposed_keys(%q: tensor<2x4x24x8xf32>, %k: tensor<2x2x24x8xf32>, %v: tensor<2x2x24x8xf32>) -> tensor<2x4x24x8xf32> {
  %e = tensor.empty() : tensor<2x2x2x24x8xf32>
  %bk = linalg.broadcast ins(%k : tensor<2x2x24x8xf32>) outs(%e : tensor<2x2x2x24x8xf32>) dimensions = [2]
  %kt = attn.rearrange %bk "b h g n d -> b (h g) d n" : tensor<2x2x2x24x8xf32> -> tensor<2x4x8x24xf32>
  %bv = linalg.broadcast ins(%v : tensor<2x2x24x8xf32>) outs(%e : tensor<2x2x2x24x8xf32>) dimensions = [2]
  %rv = attn.rearrange %bv "b h g n d -> b (h g) n d" : tensor<2x2x2x24x8xf32> -> tensor<2x4x24x8xf32>
  %init = tensor.empty() : tensor<2x4x24x8xf32>
  %o = attn.attention ins(%q, %kt, %rv : tensor<2x4x24x8xf32>, tensor<2x4x8x24xf32>, tensor<2x4x24x8xf32>)
      outs(%init : tensor<2x4x24x8xf32>) scale(0.35) causal {indexing_maps = [
        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, k1)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, k1, k2)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, k2, n)>,
        affine_map<(b, h, m, k1, k2, n) -> (b, h, m, n)>]} -> tensor<2x4x24x8xf32>
  return %o : tensor<2x4x24x8xf32>
}
