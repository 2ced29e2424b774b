// G2: ViT attention with a leading patch axis, scores by
// matmul(q, k.transpose(-1, -2)) instead of einsum:
//   q, k, v = rearrange(t, 'b p n (h d) -> b p h n d', h=8)
//   attn = softmax(q @ k.transpose(-1, -2) * scale); out = attn @ v
// Shape: b=2, p=4, n=50, c=256, h=8, d=32.
func.func @vit_patch_attention(%x: tensor<2x4x50x256xf32>,
                               %w_qkv: tensor<768x256xf32>,
                               %w_out: tensor<256x256xf32>,
                               %b_out: tensor<256xf32>) -> tensor<2x4x50x256xf32> {
  %qkv = attn.einsum "b p n c, o c -> b p n o" (%x, %w_qkv)
      : (tensor<2x4x50x256xf32>, tensor<768x256xf32>) -> tensor<2x4x50x768xf32>
  %q0 = tensor.extract_slice %qkv[0, 0, 0, 0] [2, 4, 50, 256] [1, 1, 1, 1]
      : tensor<2x4x50x768xf32> to tensor<2x4x50x256xf32>
  %k0 = tensor.extract_slice %qkv[0, 0, 0, 256] [2, 4, 50, 256] [1, 1, 1, 1]
      : tensor<2x4x50x768xf32> to tensor<2x4x50x256xf32>
  %v0 = tensor.extract_slice %qkv[0, 0, 0, 512] [2, 4, 50, 256] [1, 1, 1, 1]
      : tensor<2x4x50x768xf32> to tensor<2x4x50x256xf32>
  %q = attn.rearrange %q0 "b p n (h d) -> b p h n d" {h = 8}
      : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
  %k = attn.rearrange %k0 "b p n (h d) -> b p h n d" {h = 8}
      : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
  %v = attn.rearrange %v0 "b p n (h d) -> b p h n d" {h = 8}
      : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
  // k.transpose(-1, -2)
  %kt = attn.rearrange %k "b p h n d -> b p h d n"
      : tensor<2x4x8x50x32xf32> -> tensor<2x4x8x32x50xf32>
  // torch.matmul(q, kt): a batched matmul over the leading axes.
  %dots = attn.einsum "...ik,...kj->...ij" (%q, %kt)
      : (tensor<2x4x8x50x32xf32>, tensor<2x4x8x32x50xf32>) -> tensor<2x4x8x50x50xf32>
  %scale = arith.constant dense<5.656854249492381> : tensor<2x4x8x50x50xf32>
  %scaled = arith.divf %dots, %scale : tensor<2x4x8x50x50xf32>
  %attn = attn.softmax %scaled axis(4) : tensor<2x4x8x50x50xf32>
  %mixed = attn.einsum "...ij,...jd->...id" (%attn, %v)
      : (tensor<2x4x8x50x50xf32>, tensor<2x4x8x50x32xf32>) -> tensor<2x4x8x50x32xf32>
  %merged = attn.rearrange %mixed "b p h n d -> b p n (h d)"
      : tensor<2x4x8x50x32xf32> -> tensor<2x4x50x256xf32>
  %proj = attn.einsum "b p n c, o c -> b p n o" (%merged, %w_out)
      : (tensor<2x4x50x256xf32>, tensor<256x256xf32>) -> tensor<2x4x50x256xf32>
  %init = tensor.empty() : tensor<2x4x50x256xf32>
  %bias = linalg.broadcast ins(%b_out : tensor<256xf32>)
      outs(%init : tensor<2x4x50x256xf32>) dimensions = [0, 1, 2]
  %y = arith.addf %proj, %bias : tensor<2x4x50x256xf32>
  return %y : tensor<2x4x50x256xf32>
}
