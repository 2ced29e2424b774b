// G3: single-head self-attention from three weight matrices, as in
//   Q = X Wq, K = X Wk, V = X Wv; out = softmax(Q K^T / sqrt(d)) V
// with plain two-operand einsums and no rearrange. Shape: n=33, c=48, d=16.
func.func @single_head_attention(%x: tensor<33x48xf32>,
                                 %wq: tensor<48x16xf32>,
                                 %wk: tensor<48x16xf32>,
                                 %wv: tensor<48x16xf32>) -> tensor<33x16xf32> {
  %q = attn.einsum "n c, c d -> n d" (%x, %wq)
      : (tensor<33x48xf32>, tensor<48x16xf32>) -> tensor<33x16xf32>
  %k = attn.einsum "n c, c d -> n d" (%x, %wk)
      : (tensor<33x48xf32>, tensor<48x16xf32>) -> tensor<33x16xf32>
  %v = attn.einsum "n c, c d -> n d" (%x, %wv)
      : (tensor<33x48xf32>, tensor<48x16xf32>) -> tensor<33x16xf32>
  %dots = attn.einsum "i d, j d -> i j" (%q, %k)
      : (tensor<33x16xf32>, tensor<33x16xf32>) -> tensor<33x33xf32>
  // 1 / sqrt(16)
  %scale = arith.constant dense<4.0> : tensor<33x33xf32>
  %scaled = arith.divf %dots, %scale : tensor<33x33xf32>
  %p = attn.softmax %scaled axis(1) : tensor<33x33xf32>
  %out = attn.einsum "i j, j d -> i d" (%p, %v)
      : (tensor<33x33xf32>, tensor<33x16xf32>) -> tensor<33x16xf32>
  return %out : tensor<33x16xf32>
}
