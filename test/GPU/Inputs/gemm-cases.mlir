// Small matrix-product einsums covering the tensor-core GEMM kernel's cases,
// for gemm-emulated.test: [N, K] and [K, N] weights, a scale, batches, and
// M, N, K that leave partial CTA tiles and K steps.

func.func @linear(%x: tensor<3x70x136xbf16>, %w: tensor<264x136xbf16>) -> tensor<3x70x264xbf16> {
  %0 = attn.einsum "b n c, o c -> b n o" (%x, %w) : (tensor<3x70x136xbf16>, tensor<264x136xbf16>) -> tensor<3x70x264xbf16>
  return %0 : tensor<3x70x264xbf16>
}
func.func @linear_nn(%x: tensor<2x100x200xf16>, %w: tensor<200x136xf16>) -> tensor<2x100x136xf16> {
  %0 = attn.einsum "b n i, i o -> b n o" (%x, %w) scale(0.5) : (tensor<2x100x200xf16>, tensor<200x136xf16>) -> tensor<2x100x136xf16>
  return %0 : tensor<2x100x136xf16>
}
func.func @bmm(%a: tensor<3x2x130x72xbf16>, %b: tensor<3x2x72x136xbf16>) -> tensor<3x2x130x136xbf16> {
  %0 = attn.einsum "b h i k, b h k j -> b h i j" (%a, %b) : (tensor<3x2x130x72xbf16>, tensor<3x2x72x136xbf16>) -> tensor<3x2x130x136xbf16>
  return %0 : tensor<3x2x130x136xbf16>
}

// A longer K (8 steps of 64), so that the K loop stays a loop in SASS.
func.func @linear_k512(%x: tensor<128x512xbf16>, %w: tensor<128x512xbf16>) -> tensor<128x128xbf16> {
  %0 = attn.einsum "n c, o c -> n o" (%x, %w) : (tensor<128x512xbf16>, tensor<128x512xbf16>) -> tensor<128x128xbf16>
  return %0 : tensor<128x128xbf16>
}
