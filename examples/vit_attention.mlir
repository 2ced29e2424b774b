// G1: the ViT multi-head self-attention block, as PyTorch's ViT writes it:
//   qkv = x @ W_qkv^T; q, k, v = qkv.chunk(3, dim=-1)
//   q, k, v = rearrange(t, 'b n (h d) -> b h n d', h=8)
//   attn = softmax(einsum('b h i d, b h j d -> b h i j', q, k) * d**-0.5)
//   out = rearrange(einsum('b h i j, b h j d -> b h i d', attn, v),
//                   'b h n d -> b n (h d)') @ W_out^T + b_out
// Reference shape: b=7, n=257 (256 patches + class token), c=512, h=8, d=64.
// Weights use nn.Linear's [out, in] layout.
func.func @vit_attention(%x: tensor<7x257x512xf32>,
                         %w_qkv: tensor<1536x512xf32>,
                         %w_out: tensor<512x512xf32>,
                         %b_out: tensor<512xf32>) -> tensor<7x257x512xf32> {
  %qkv = attn.einsum "b n c, o c -> b n o" (%x, %w_qkv)
      : (tensor<7x257x512xf32>, tensor<1536x512xf32>) -> tensor<7x257x1536xf32>
  %q0 = tensor.extract_slice %qkv[0, 0, 0] [7, 257, 512] [1, 1, 1]
      : tensor<7x257x1536xf32> to tensor<7x257x512xf32>
  %k0 = tensor.extract_slice %qkv[0, 0, 512] [7, 257, 512] [1, 1, 1]
      : tensor<7x257x1536xf32> to tensor<7x257x512xf32>
  %v0 = tensor.extract_slice %qkv[0, 0, 1024] [7, 257, 512] [1, 1, 1]
      : tensor<7x257x1536xf32> to tensor<7x257x512xf32>
  %q = attn.rearrange %q0 "b n (h d) -> b h n d" {h = 8}
      : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  %k = attn.rearrange %k0 "b n (h d) -> b h n d" {h = 8}
      : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  %v = attn.rearrange %v0 "b n (h d) -> b h n d" {h = 8}
      : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  %dots = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k)
      : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32>
  %scale = arith.constant dense<0.125> : tensor<7x8x257x257xf32>
  %scaled = arith.mulf %dots, %scale : tensor<7x8x257x257xf32>
  %attn = attn.softmax %scaled axis(-1) : tensor<7x8x257x257xf32>
  %mixed = attn.einsum "b h i j, b h j d -> b h i d" (%attn, %v)
      : (tensor<7x8x257x257xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x64xf32>
  %merged = attn.rearrange %mixed "b h n d -> b n (h d)"
      : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
  %proj = attn.einsum "b n c, o c -> b n o" (%merged, %w_out)
      : (tensor<7x257x512xf32>, tensor<512x512xf32>) -> tensor<7x257x512xf32>
  %init = tensor.empty() : tensor<7x257x512xf32>
  %bias = linalg.broadcast ins(%b_out : tensor<512xf32>)
      outs(%init : tensor<7x257x512xf32>) dimensions = [0, 1]
  %y = arith.addf %proj, %bias : tensor<7x257x512xf32>
  return %y : tensor<7x257x512xf32>
}
