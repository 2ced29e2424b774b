// Small attentions covering the tensor-core kernel's cases, for
// flash-attention-emulated.test: causal (unmasked and diagonal loops),
// partial query and key blocks, boolean and additive masks that broadcast.

func.func @causal_bf16_d64(%q: tensor<1x2x128x64xbf16>, %k: tensor<1x2x128x64xbf16>,
                           %v: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  %init_0 = tensor.empty() : tensor<1x2x128x64xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>)
      outs(%init_0 : tensor<1x2x128x64xbf16>) scale(0.125) causal -> tensor<1x2x128x64xbf16>
  return %0 : tensor<1x2x128x64xbf16>
}

func.func @partial_f16_d128(%q: tensor<1x100x128xf16>, %k: tensor<1x150x128xf16>,
                            %v: tensor<1x150x128xf16>) -> tensor<1x100x128xf16> {
  %init_0 = tensor.empty() : tensor<1x100x128xf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x100x128xf16>, tensor<1x150x128xf16>, tensor<1x150x128xf16>)
      outs(%init_0 : tensor<1x100x128xf16>) scale(0.088388347648318) -> tensor<1x100x128xf16>
  return %0 : tensor<1x100x128xf16>
}

// Padding mask per batch entry and key, broadcast over heads (and queries
// where a row of it is all false, that query's output is 0).
func.func @bool_mask_bf16_d64(%q: tensor<2x1x70x64xbf16>, %k: tensor<2x1x130x64xbf16>,
                              %v: tensor<2x1x130x64xbf16>, %m: tensor<2x1x70x130xi1>)
    -> tensor<2x1x70x64xbf16> {
  %init_0 = tensor.empty() : tensor<2x1x70x64xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x1x70x64xbf16>, tensor<2x1x130x64xbf16>, tensor<2x1x130x64xbf16>) mask(%m : tensor<2x1x70x130xi1>)
      outs(%init_0 : tensor<2x1x70x64xbf16>) scale(0.125) -> tensor<2x1x70x64xbf16>
  return %0 : tensor<2x1x70x64xbf16>
}

func.func @additive_causal_f16_d64(%q: tensor<1x2x64x64xf16>, %k: tensor<1x2x200x64xf16>,
                                   %v: tensor<1x2x200x64xf16>, %m: tensor<1x2x1x200xf16>)
    -> tensor<1x2x64x64xf16> {
  %init_0 = tensor.empty() : tensor<1x2x64x64xf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x2x64x64xf16>, tensor<1x2x200x64xf16>, tensor<1x2x200x64xf16>) mask(%m : tensor<1x2x1x200xf16>)
      outs(%init_0 : tensor<1x2x64x64xf16>) scale(0.125) causal -> tensor<1x2x64x64xf16>
  return %0 : tensor<1x2x64x64xf16>
}
