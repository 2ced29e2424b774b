// Score regions end to end, against the f64 reference: softcapping and
// ALiBi as the frontends write them (elementwise ops between the scores and
// the softmax, which attn-fuse-attention moves into the score region), a
// relative position bias gathered from a table with T5's bucketed
// distances, written as a score region, and an f16 softcap.
// RUN: attn-opt %s --canonicalize --attn-fuse-attention --canonicalize | FileCheck %s --check-prefix=IR
// IR-COUNT-2: score_mod {
// IR-NOT: attn.softmax
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=softcap --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=alibi --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=t5_bias --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=softcap_f16 --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

// Gemma's 50 tanh(s / 50) on large scores (scale 4 makes the cap matter),
// 70 queries and 50 keys (partial blocks of both).
func.func @softcap(%q: tensor<2x70x16xf32>, %k: tensor<2x50x16xf32>, %v: tensor<2x50x8xf32>) -> tensor<2x70x8xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(4.0) : (tensor<2x70x16xf32>, tensor<2x50x16xf32>) -> tensor<2x70x50xf32>
  %c = arith.constant dense<50.0> : tensor<2x70x50xf32>
  %d = arith.divf %s, %c : tensor<2x70x50xf32>
  %t = math.tanh %d : tensor<2x70x50xf32>
  %capped = arith.mulf %t, %c : tensor<2x70x50xf32>
  %p = attn.softmax %capped axis(-1) : tensor<2x70x50xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v) : (tensor<2x70x50xf32>, tensor<2x50x8xf32>) -> tensor<2x70x8xf32>
  return %o : tensor<2x70x8xf32>
}

// ALiBi, causal: s - slope[h] * |i - j| with the slopes 2^-(8 (h + 1) / H),
// the bias built from broadcasts the way PyTorch code builds it.
func.func @alibi(%q: tensor<1x4x96x16xf32>, %k: tensor<1x4x96x16xf32>, %v: tensor<1x4x96x16xf32>) -> tensor<1x4x96x16xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25) : (tensor<1x4x96x16xf32>, tensor<1x4x96x16xf32>) -> tensor<1x4x96x96xf32>
  %slopes = arith.constant dense<[0.25, 0.0625, 0.015625, 0.00390625]> : tensor<4xf32>
  %e0 = tensor.empty() : tensor<1x4x96x96xf32>
  %m = linalg.broadcast ins(%slopes : tensor<4xf32>) outs(%e0 : tensor<1x4x96x96xf32>) dimensions = [0, 2, 3]
  %i = arith.constant dense<[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0, 24.0, 25.0, 26.0, 27.0, 28.0, 29.0, 30.0, 31.0, 32.0, 33.0, 34.0, 35.0, 36.0, 37.0, 38.0, 39.0, 40.0, 41.0, 42.0, 43.0, 44.0, 45.0, 46.0, 47.0, 48.0, 49.0, 50.0, 51.0, 52.0, 53.0, 54.0, 55.0, 56.0, 57.0, 58.0, 59.0, 60.0, 61.0, 62.0, 63.0, 64.0, 65.0, 66.0, 67.0, 68.0, 69.0, 70.0, 71.0, 72.0, 73.0, 74.0, 75.0, 76.0, 77.0, 78.0, 79.0, 80.0, 81.0, 82.0, 83.0, 84.0, 85.0, 86.0, 87.0, 88.0, 89.0, 90.0, 91.0, 92.0, 93.0, 94.0, 95.0]> : tensor<96xf32>
  %e1 = tensor.empty() : tensor<1x4x96x96xf32>
  %ii = linalg.broadcast ins(%i : tensor<96xf32>) outs(%e1 : tensor<1x4x96x96xf32>) dimensions = [0, 1, 3]
  %e2 = tensor.empty() : tensor<1x4x96x96xf32>
  %jj = linalg.broadcast ins(%i : tensor<96xf32>) outs(%e2 : tensor<1x4x96x96xf32>) dimensions = [0, 1, 2]
  %diff = arith.subf %ii, %jj : tensor<1x4x96x96xf32>
  %dist = math.absf %diff : tensor<1x4x96x96xf32>
  %bias = arith.mulf %m, %dist : tensor<1x4x96x96xf32>
  %sb = arith.subf %s, %bias : tensor<1x4x96x96xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<1x4x96x96xf32>
  %future = arith.cmpf ogt, %jj, %ii : tensor<1x4x96x96xf32>
  %masked = arith.select %future, %ninf, %sb : tensor<1x4x96x96xi1>, tensor<1x4x96x96xf32>
  %p = attn.softmax %masked axis(-1) : tensor<1x4x96x96xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x4x96x96xf32>, tensor<1x4x96x16xf32>) -> tensor<1x4x96x16xf32>
  return %o : tensor<1x4x96x16xf32>
}

// T5's relative position bias: the key-minus-query distance in 8 buckets
// (4 after the query, 4 before: exact below 2, then logarithmic), a learnt
// bias per (bucket, head) gathered from a table in the region. The log
// factor (2.5) keeps every bucket boundary between integer distances, so
// f32 and the f64 reference agree on every bucket.
func.func @t5_bias(%q: tensor<1x2x40x8xf32>, %k: tensor<1x2x40x8xf32>, %v: tensor<1x2x40x8xf32>, %table: tensor<8x2xf32>) -> tensor<1x2x40x8xf32> {
  %init = tensor.empty() : tensor<1x2x40x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>, tensor<1x2x40x8xf32>)
      outs(%init : tensor<1x2x40x8xf32>) scale(1.0) score_mod {
  ^bb0(%s: f32, %b: index, %h: index, %i: index, %j: index):
    %c0 = arith.constant 0 : index
    %c2 = arith.constant 2 : index
    %c3 = arith.constant 3 : index
    %c4 = arith.constant 4 : index
    %rel = arith.subi %j, %i : index
    // Half the buckets for keys after the query, half before.
    %after = arith.cmpi sgt, %rel, %c0 : index
    %offset = arith.select %after, %c4, %c0 : index
    %neg = arith.subi %c0, %rel : index
    %abs = arith.maxsi %rel, %neg : index
    %small = arith.cmpi slt, %abs, %c2 : index
    // Logarithmic beyond 2: 2 + floor(log(|rel| / 2) / log(16) * 2.5).
    %absi = arith.index_cast %abs : index to i64
    %absf = arith.sitofp %absi : i64 to f32
    %two = arith.constant 2.0 : f32
    %ratio = arith.divf %absf, %two : f32
    %log = math.log %ratio : f32
    %log16 = arith.constant 2.77258872 : f32
    %frac = arith.divf %log, %log16 : f32
    %factor = arith.constant 2.5 : f32
    %scaled = arith.mulf %frac, %factor : f32
    %large = arith.fptosi %scaled : f32 to i64
    %largei = arith.index_cast %large : i64 to index
    %large2 = arith.addi %largei, %c2 : index
    %capped = arith.minsi %large2, %c3 : index
    %bucket0 = arith.select %small, %abs, %capped : index
    %bucket = arith.addi %bucket0, %offset : index
    %bias = tensor.extract %table[%bucket, %h] : tensor<8x2xf32>
    %r = arith.addf %s, %bias : f32
    attn.yield %r : f32
  } -> tensor<1x2x40x8xf32>
  return %o : tensor<1x2x40x8xf32>
}

// f16 operands and a softcap region: the region computes in f32 like every
// score, the output is rounded once.
func.func @softcap_f16(%q: tensor<2x64x32xf16>, %k: tensor<2x64x32xf16>, %v: tensor<2x64x32xf16>) -> tensor<2x64x32xf16> {
  %init = tensor.empty() : tensor<2x64x32xf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x64x32xf16>, tensor<2x64x32xf16>, tensor<2x64x32xf16>)
      outs(%init : tensor<2x64x32xf16>) scale(2.0) causal score_mod {
  ^bb0(%s: f32, %b: index, %i: index, %j: index):
    %c = arith.constant 30.0 : f32
    %d = arith.divf %s, %c : f32
    %t = math.tanh %d : f32
    %r = arith.mulf %t, %c : f32
    attn.yield %r : f32
  } -> tensor<2x64x32xf16>
  return %o : tensor<2x64x32xf16>
}
