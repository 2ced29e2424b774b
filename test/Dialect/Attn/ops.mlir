// RUN: attn-opt %s | FileCheck %s
// RUN: attn-opt %s | attn-opt | FileCheck %s
// RUN: attn-opt %s --mlir-print-op-generic | attn-opt | FileCheck %s
// Round trip of every op form of the attn dialect.

// CHECK-LABEL: func @rearrange_split_heads
// CHECK: attn.rearrange %{{.*}} "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
func.func @rearrange_split_heads(%x: tensor<7x257x512xf32>) -> tensor<7x8x257x64xf32> {
  %0 = attn.rearrange %x "b n (h d) -> b h n d" {h = 8} : tensor<7x257x512xf32> -> tensor<7x8x257x64xf32>
  return %0 : tensor<7x8x257x64xf32>
}

// CHECK-LABEL: func @rearrange_merge_heads
// CHECK: attn.rearrange %{{.*}} "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
func.func @rearrange_merge_heads(%x: tensor<7x8x257x64xf32>) -> tensor<7x257x512xf32> {
  %0 = attn.rearrange %x "b h n d -> b n (h d)" : tensor<7x8x257x64xf32> -> tensor<7x257x512xf32>
  return %0 : tensor<7x257x512xf32>
}

// CHECK-LABEL: func @rearrange_five_d
// CHECK: attn.rearrange %{{.*}} "b p n (h d) -> b p h n d" {d = 32, h = 8} : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
func.func @rearrange_five_d(%x: tensor<2x4x50x256xf32>) -> tensor<2x4x8x50x32xf32> {
  %0 = attn.rearrange %x "b p n (h d) -> b p h n d" {h = 8, d = 32} : tensor<2x4x50x256xf32> -> tensor<2x4x8x50x32xf32>
  return %0 : tensor<2x4x8x50x32xf32>
}

// CHECK-LABEL: func @rearrange_ellipsis
// CHECK: attn.rearrange %{{.*}} "b ... d -> b d ..." : tensor<2x3x4x5xf16> -> tensor<2x5x3x4xf16>
func.func @rearrange_ellipsis(%x: tensor<2x3x4x5xf16>) -> tensor<2x5x3x4xf16> {
  %0 = attn.rearrange %x "b ... d -> b d ..." : tensor<2x3x4x5xf16> -> tensor<2x5x3x4xf16>
  return %0 : tensor<2x5x3x4xf16>
}

// CHECK-LABEL: func @rearrange_flatten_ellipsis
// CHECK: attn.rearrange %{{.*}} "b ... -> b (...)" : tensor<2x3x4xbf16> -> tensor<2x12xbf16>
func.func @rearrange_flatten_ellipsis(%x: tensor<2x3x4xbf16>) -> tensor<2x12xbf16> {
  %0 = attn.rearrange %x "b ... -> b (...)" : tensor<2x3x4xbf16> -> tensor<2x12xbf16>
  return %0 : tensor<2x12xbf16>
}

// CHECK-LABEL: func @rearrange_units
// CHECK: attn.rearrange %{{.*}} "b 1 n () -> () n 1 b" : tensor<3x1x5x1xf32> -> tensor<1x5x1x3xf32>
func.func @rearrange_units(%x: tensor<3x1x5x1xf32>) -> tensor<1x5x1x3xf32> {
  %0 = attn.rearrange %x "b 1 n () -> () n 1 b" : tensor<3x1x5x1xf32> -> tensor<1x5x1x3xf32>
  return %0 : tensor<1x5x1x3xf32>
}

// CHECK-LABEL: func @rearrange_attr_dict
// CHECK: attn.rearrange %{{.*}} "a b -> b a" attributes {note = "kept"} : tensor<2x3xf32> -> tensor<3x2xf32>
func.func @rearrange_attr_dict(%x: tensor<2x3xf32>) -> tensor<3x2xf32> {
  %0 = attn.rearrange %x "a b -> b a" attributes {note = "kept"} : tensor<2x3xf32> -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// CHECK-LABEL: func @einsum_spaced
// CHECK: attn.einsum "b h i d, b h j d -> b h i j" (%{{.*}}, %{{.*}}) : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32>
func.func @einsum_spaced(%q: tensor<7x8x257x64xf32>, %k: tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32> {
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<7x8x257x64xf32>, tensor<7x8x257x64xf32>) -> tensor<7x8x257x257xf32>
  return %0 : tensor<7x8x257x257xf32>
}

// CHECK-LABEL: func @einsum_compact_scaled
// CHECK: attn.einsum "bhij,bhjd->bhid" (%{{.*}}, %{{.*}}) scale(1.250000e-01) : (tensor<1x2x3x4xf32>, tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32>
func.func @einsum_compact_scaled(%p: tensor<1x2x3x4xf32>, %v: tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32> {
  %0 = attn.einsum "bhij,bhjd->bhid" (%p, %v) scale(0.125) : (tensor<1x2x3x4xf32>, tensor<1x2x4x5xf32>) -> tensor<1x2x3x5xf32>
  return %0 : tensor<1x2x3x5xf32>
}

// One operand, 0-d operands and results, and einops' one-word terms
// (`index ->` has one label when the operand has rank 1).
// CHECK-LABEL: func @einsum_one_operand
// CHECK: attn.einsum "ii->" (%{{.*}}) : (tensor<5x5xf32>) -> tensor<f32>
// CHECK: attn.einsum ",ij->ji" (%{{.*}}, %{{.*}}) : (tensor<f32>, tensor<2x3xf32>) -> tensor<3x2xf32>
// CHECK: attn.einsum "index ->" (%{{.*}}) : (tensor<10xf32>) -> tensor<f32>
func.func @einsum_one_operand(%a: tensor<5x5xf32>, %s: tensor<f32>, %b: tensor<2x3xf32>, %c: tensor<10xf32>) -> (tensor<f32>, tensor<3x2xf32>, tensor<f32>) {
  %0 = attn.einsum "ii->" (%a) : (tensor<5x5xf32>) -> tensor<f32>
  %1 = attn.einsum ",ij->ji" (%s, %b) : (tensor<f32>, tensor<2x3xf32>) -> tensor<3x2xf32>
  %2 = attn.einsum "index ->" (%c) : (tensor<10xf32>) -> tensor<f32>
  return %0, %1, %2 : tensor<f32>, tensor<3x2xf32>, tensor<f32>
}

// CHECK-LABEL: func @einsum_implicit
// CHECK: attn.einsum "ij,jk" (%{{.*}}, %{{.*}}) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
func.func @einsum_implicit(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = attn.einsum "ij,jk" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// CHECK-LABEL: func @einsum_ellipsis_broadcast
// CHECK: attn.einsum "...ij,...jk->...ik" (%{{.*}}, %{{.*}}) : (tensor<5x1x2x3xf32>, tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32>
func.func @einsum_ellipsis_broadcast(%a: tensor<5x1x2x3xf32>, %b: tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32> {
  %0 = attn.einsum "...ij,...jk->...ik" (%a, %b) : (tensor<5x1x2x3xf32>, tensor<4x3x6xf32>) -> tensor<5x4x2x6xf32>
  return %0 : tensor<5x4x2x6xf32>
}

// CHECK-LABEL: func @einsum_three_operands
// CHECK: attn.einsum "ab,bc,cd->ad" (%{{.*}}, %{{.*}}, %{{.*}}) : (tensor<2x3xf16>, tensor<3x4xf16>, tensor<4x5xf16>) -> tensor<2x5xf16>
func.func @einsum_three_operands(%a: tensor<2x3xf16>, %b: tensor<3x4xf16>, %c: tensor<4x5xf16>) -> tensor<2x5xf16> {
  %0 = attn.einsum "ab,bc,cd->ad" (%a, %b, %c) : (tensor<2x3xf16>, tensor<3x4xf16>, tensor<4x5xf16>) -> tensor<2x5xf16>
  return %0 : tensor<2x5xf16>
}

// CHECK-LABEL: func @softmax
// CHECK: attn.softmax %{{.*}} axis(-1) : tensor<7x8x257x257xf32>
// CHECK: attn.softmax %{{.*}} axis(0) : tensor<7x8x257x257xf32>
func.func @softmax(%s: tensor<7x8x257x257xf32>) -> tensor<7x8x257x257xf32> {
  %0 = attn.softmax %s axis(-1) : tensor<7x8x257x257xf32>
  %1 = attn.softmax %0 axis(0) : tensor<7x8x257x257xf32>
  return %1 : tensor<7x8x257x257xf32>
}

// CHECK-LABEL: func @attention_dot
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(1.250000e-01) : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
func.func @attention_dot(%q: tensor<1x8x128x64xf32>, %k: tensor<1x8x128x64xf32>, %v: tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32> {
  %0 = attn.attention %q, %k, %v scale(0.125) : (tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32>) -> tensor<1x8x128x64xf32>
  return %0 : tensor<1x8x128x64xf32>
}

// CHECK-LABEL: func @attention_causal_cross
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(1.000000e+00) causal : (tensor<2x10x16xbf16>, tensor<2x12x16xbf16>, tensor<2x12x8xbf16>) -> tensor<2x10x8xbf16>
func.func @attention_causal_cross(%q: tensor<2x10x16xbf16>, %k: tensor<2x12x16xbf16>, %v: tensor<2x12x8xbf16>) -> tensor<2x10x8xbf16> {
  %0 = attn.attention %q, %k, %v scale(1.0) causal : (tensor<2x10x16xbf16>, tensor<2x12x16xbf16>, tensor<2x12x8xbf16>) -> tensor<2x10x8xbf16>
  return %0 : tensor<2x10x8xbf16>
}

// CHECK-LABEL: func @attention_bool_mask
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) scale(5.000000e-01) : (tensor<2x4x6x8xf32>, tensor<2x4x7x8xf32>, tensor<2x4x7x8xf32>, tensor<2x1x1x7xi1>) -> tensor<2x4x6x8xf32>
func.func @attention_bool_mask(%q: tensor<2x4x6x8xf32>, %k: tensor<2x4x7x8xf32>, %v: tensor<2x4x7x8xf32>, %m: tensor<2x1x1x7xi1>) -> tensor<2x4x6x8xf32> {
  %0 = attn.attention %q, %k, %v mask(%m) scale(0.5) : (tensor<2x4x6x8xf32>, tensor<2x4x7x8xf32>, tensor<2x4x7x8xf32>, tensor<2x1x1x7xi1>) -> tensor<2x4x6x8xf32>
  return %0 : tensor<2x4x6x8xf32>
}

// CHECK-LABEL: func @attention_additive_mask
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) scale(1.000000e+00) : (tensor<3x5x4xf32>, tensor<3x6x4xf32>, tensor<3x6x2xf32>, tensor<3x5x6xf32>) -> tensor<3x5x2xf32>
func.func @attention_additive_mask(%q: tensor<3x5x4xf32>, %k: tensor<3x6x4xf32>, %v: tensor<3x6x2xf32>, %m: tensor<3x5x6xf32>) -> tensor<3x5x2xf32> {
  %0 = attn.attention %q, %k, %v mask(%m) scale(1.0) : (tensor<3x5x4xf32>, tensor<3x6x4xf32>, tensor<3x6x2xf32>, tensor<3x5x6xf32>) -> tensor<3x5x2xf32>
  return %0 : tensor<3x5x2xf32>
}

// CHECK-LABEL: func @attention_additive_score
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) weight(%{{.*}}) scale(1.000000e+00) score(additive) : (tensor<2x5x8xf32>, tensor<2x6x8xf32>, tensor<2x6x3xf32>, tensor<2x1x6xi1>, tensor<8xf32>) -> tensor<2x5x3xf32>
func.func @attention_additive_score(%q: tensor<2x5x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x6x3xf32>, %m: tensor<2x1x6xi1>, %w: tensor<8xf32>) -> tensor<2x5x3xf32> {
  %0 = attn.attention %q, %k, %v mask(%m) weight(%w) scale(1.0) score(additive) : (tensor<2x5x8xf32>, tensor<2x6x8xf32>, tensor<2x6x3xf32>, tensor<2x1x6xi1>, tensor<8xf32>) -> tensor<2x5x3xf32>
  return %0 : tensor<2x5x3xf32>
}

// CHECK-LABEL: func @attention_gaussian_score
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(1.000000e+00) score(gaussian) : (tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>) -> tensor<50x1xf32>
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} weight(%{{.*}}) scale(1.000000e+00) score(gaussian) : (tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>, tensor<1xf32>) -> tensor<50x1xf32>
func.func @attention_gaussian_score(%x: tensor<50x1xf32>, %xs: tensor<50x1xf32>, %ys: tensor<50x1xf32>, %w: tensor<1xf32>) -> (tensor<50x1xf32>, tensor<50x1xf32>) {
  %0 = attn.attention %x, %xs, %ys scale(1.0) score(gaussian) : (tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>) -> tensor<50x1xf32>
  %1 = attn.attention %x, %xs, %ys weight(%w) scale(1.0) score(gaussian) : (tensor<50x1xf32>, tensor<50x1xf32>, tensor<50x1xf32>, tensor<1xf32>) -> tensor<50x1xf32>
  return %0, %1 : tensor<50x1xf32>, tensor<50x1xf32>
}

// The default score is not printed.
// CHECK-LABEL: func @attention_explicit_dot
// CHECK: attn.attention %{{.*}}, %{{.*}}, %{{.*}} scale(2.000000e+00) : (
func.func @attention_explicit_dot(%q: tensor<4x8xf32>, %k: tensor<4x8xf32>, %v: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = attn.attention %q, %k, %v scale(2.0) score(dot) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// Code generation attributes: the flash nest's mapping and a strategy's
// lowering config.
// CHECK-LABEL: func @codegen_attributes
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [64, 256, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
// CHECK:         linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
// CHECK:         } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
func.func @codegen_attributes(%a: memref<8x4xf32>, %b: memref<4x32xf32>, %c: memref<8x32xf32>) {
  linalg.matmul {attn.lowering_config = #attn.lowering_config<parallel = [64, 256, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}
      ins(%a, %b : memref<8x4xf32>, memref<4x32xf32>) outs(%c : memref<8x32xf32>)
  scf.forall (%i, %j) in (2, 3) {
    linalg.matmul {attn.lowering_config = #attn.lowering_config<vector = [8, 32, 1]>}
        ins(%a, %b : memref<8x4xf32>, memref<4x32xf32>) outs(%c : memref<8x32xf32>)
  } {mapping = [#attn.flash_nest<0>, #attn.flash_nest<1>]}
  return
}
