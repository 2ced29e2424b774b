// Input for consumer-opt in test/Install/install.test: a head split and merge
// that the attn canonicalizer folds away, and a transpose it keeps.
func.func @split_merge(%x: tensor<7x257x512xf32>) -> tensor<7x257x512xf32> {
  %0 = attn.rearrange %x "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  %1 = attn.rearrange %0 "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
  return %1 : tensor<7x257x512xf32>
}

func.func @transpose(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = attn.rearrange %x "a b -> b a" : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}
