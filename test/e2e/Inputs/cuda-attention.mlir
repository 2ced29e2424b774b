// A small bf16 causal attention for the --target=cuda tests.
func.func @attention(%q: tensor<2x40x32xbf16>, %k: tensor<2x40x32xbf16>,
                     %v: tensor<2x40x32xbf16>) -> tensor<2x40x32xbf16> {
  %init_0 = tensor.empty() : tensor<2x40x32xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x40x32xbf16>, tensor<2x40x32xbf16>, tensor<2x40x32xbf16>)
      outs(%init_0 : tensor<2x40x32xbf16>) scale(0.176) causal -> tensor<2x40x32xbf16>
  return %0 : tensor<2x40x32xbf16>
}
