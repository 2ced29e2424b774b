// An in-place update of part of the scores (MViTv2's relative position
// terms on all but the class token: attn[:, :, 1:, 1:] += rel_h + rel_w,
// as PyTorch traces it, two nested slice updates) end to end against the
// f64 reference: attn-fold-slice-updates turns it into two zero-padded
// additive terms and the attention fuses.
// RUN: attn-opt %s --canonicalize --attn-fold-slice-updates --attn-fuse-attention | FileCheck %s --check-prefix=IR
// IR: attn.attention
// IR-NOT: attn.softmax
// IR-NOT: tensor.insert_slice
// RUN: env OMP_NUM_THREADS=2 attn-run %s --check | FileCheck %s
// CHECK: output 0: {{.*}}: OK

func.func @cls_rel_pos(%q: tensor<1x2x17x16xf32>, %k: tensor<1x2x17x16xf32>, %v: tensor<1x2x17x16xf32>,
                       %rh: tensor<1x2x16x16xf32>, %rw: tensor<1x2x16x16xf32>) -> tensor<1x2x17x16xf32> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25) : (tensor<1x2x17x16xf32>, tensor<1x2x17x16xf32>) -> tensor<1x2x17x17xf32>
  %rows = tensor.extract_slice %s[0, 0, 1, 0] [1, 2, 16, 17] [1, 1, 1, 1] : tensor<1x2x17x17xf32> to tensor<1x2x16x17xf32>
  %block = tensor.extract_slice %rows[0, 0, 0, 1] [1, 2, 16, 16] [1, 1, 1, 1] : tensor<1x2x16x17xf32> to tensor<1x2x16x16xf32>
  %t1 = arith.addf %block, %rh : tensor<1x2x16x16xf32>
  %t2 = arith.addf %t1, %rw : tensor<1x2x16x16xf32>
  %rows2 = tensor.extract_slice %s[0, 0, 1, 0] [1, 2, 16, 17] [1, 1, 1, 1] : tensor<1x2x17x17xf32> to tensor<1x2x16x17xf32>
  %inner = tensor.insert_slice %t2 into %rows2[0, 0, 0, 1] [1, 2, 16, 16] [1, 1, 1, 1] : tensor<1x2x16x16xf32> into tensor<1x2x16x17xf32>
  %scores = tensor.insert_slice %inner into %s[0, 0, 1, 0] [1, 2, 16, 17] [1, 1, 1, 1] : tensor<1x2x16x17xf32> into tensor<1x2x17x17xf32>
  %p = attn.softmax %scores axis(-1) : tensor<1x2x17x17xf32>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v) : (tensor<1x2x17x17xf32>, tensor<1x2x17x16xf32>) -> tensor<1x2x17x16xf32>
  return %o : tensor<1x2x17x16xf32>
}
