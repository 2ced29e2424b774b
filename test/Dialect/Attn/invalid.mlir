// RUN: attn-opt %s -split-input-file -verify-diagnostics
// One case per verifier error of the attn ops.

// -----
func.func @rearrange_unbalanced(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{invalid pattern "b (h d -> b h d" at column 2}}
  %0 = attn.rearrange %x "b (h d -> b h d" : tensor<2x6xf32> -> tensor<2x3x2xf32>
  return
}

// -----
func.func @rearrange_one_side(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{Identifiers only on one side of expression (should be on both): {'n'}}}
  %0 = attn.rearrange %x "b n -> b" : tensor<2x6xf32> -> tensor<2xf32>
  return
}

// -----
func.func @rearrange_no_arrow(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{invalid pattern "b n"}}
  %0 = attn.rearrange %x "b n" : tensor<2x6xf32> -> tensor<2x6xf32>
  return
}

// -----
func.func @rearrange_duplicate(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{duplicate dimension "b"}}
  %0 = attn.rearrange %x "b b -> b b" : tensor<2x6xf32> -> tensor<2x6xf32>
  return
}

// -----
func.func @rearrange_anonymous(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{Non-unitary anonymous axes are not supported in rearrange}}
  %0 = attn.rearrange %x "b (h 2) -> b h" : tensor<2x6xf32> -> tensor<2x3xf32>
  return
}

// -----
func.func @rearrange_two_ellipses(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{invalid pattern "... b ... -> b"}}
  %0 = attn.rearrange %x "... b ... -> b" : tensor<2x6xf32> -> tensor<2xf32>
  return
}

// -----
func.func @rearrange_ellipsis_in_group_lhs(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{Ellipsis inside parenthesis in the left side is not allowed}}
  %0 = attn.rearrange %x "(b ...) -> b ..." : tensor<2x6xf32> -> tensor<2x6xf32>
  return
}

// -----
func.func @rearrange_size_not_integer(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{size of axis 'h' must be an integer}}
  %0 = "attn.rearrange"(%x) <{pattern = "b (h d) -> b h d", sizes = {h = "three"}}> : (tensor<2x6xf32>) -> tensor<2x3x2xf32>
  return
}

// -----
func.func @rearrange_size_negative(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{size of axis 'h' must not be negative, got -3}}
  %0 = attn.rearrange %x "b (h d) -> b h d" {h = -3} : tensor<2x6xf32> -> tensor<2x3x2xf32>
  return
}

// -----
// A size of 0 must agree with the shape like any other: 6 is not 0 x d.
func.func @rearrange_size_zero(%x: tensor<2x6xf32>) {
  // expected-error @+1 {{pattern "b (h d) -> b h d": Shape mismatch, can't divide axis of length 6 in chunks of 0}}
  %0 = attn.rearrange %x "b (h d) -> b h d" {h = 0} : tensor<2x6xf32> -> tensor<2x0x2xf32>
  return
}

// -----
func.func @rearrange_dynamic(%x: tensor<?x6xf32>) {
  // expected-error @+1 {{requires a statically shaped input, got 'tensor<?x6xf32>'}}
  %0 = attn.rearrange %x "b n -> n b" : tensor<?x6xf32> -> tensor<6x?xf32>
  return
}

// -----
func.func @rearrange_rank_mismatch(%x: tensor<2x6x4xf32>) {
  // expected-error @+1 {{(input shape 2x6x4)}}
  %0 = attn.rearrange %x "b n -> n b" : tensor<2x6x4xf32> -> tensor<6x2xf32>
  return
}

// -----
func.func @rearrange_not_divisible(%x: tensor<2x10xf32>) {
  // expected-error @+1 {{can't divide axis of length 10 in chunks of 3}}
  %0 = attn.rearrange %x "b (h d) -> b h d" {h = 3} : tensor<2x10xf32> -> tensor<2x3x3xf32>
  return
}

// -----
func.func @rearrange_cannot_infer(%x: tensor<2x12xf32>) {
  // expected-error @+1 {{Could not infer sizes for}}
  %0 = attn.rearrange %x "b (h d) -> b h d" : tensor<2x12xf32> -> tensor<2x3x4xf32>
  return
}

// -----
func.func @rearrange_size_contradicts(%x: tensor<2x12xf32>) {
  // expected-error @+1 {{pattern "b n -> n b"}}
  %0 = attn.rearrange %x "b n -> n b" {n = 5} : tensor<2x12xf32> -> tensor<12x2xf32>
  return
}

// -----
func.func @rearrange_unknown_size_key(%x: tensor<2x12xf32>) {
  // expected-error @+1 {{pattern "b n -> n b"}}
  %0 = attn.rearrange %x "b n -> n b" {z = 5} : tensor<2x12xf32> -> tensor<12x2xf32>
  return
}

// -----
func.func @rearrange_unit_not_one(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{pattern "b 1 -> b"}}
  %0 = attn.rearrange %x "b 1 -> b" : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----
func.func @rearrange_element_type(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result element type 'f16' differs from input element type 'f32'}}
  %0 = attn.rearrange %x "a b -> b a" : tensor<2x3xf32> -> tensor<3x2xf16>
  return
}

// -----
func.func @rearrange_result_shape(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result shape 2x3 does not match the shape 3x2 that the pattern produces}}
  %0 = attn.rearrange %x "a b -> b a" : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----
func.func @einsum_bad_equation(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{invalid equation "ij,j$->ik" at column 4}}
  %0 = attn.einsum "ij,j$->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_output_label_unknown(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{invalid equation "ij,jk->iz"}}
  %0 = attn.einsum "ij,jk->iz" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_no_input() {
  // expected-error @+1 {{requires at least one input}}
  %0 = attn.einsum "->" () : () -> tensor<f32>
  return
}

// -----
func.func @einsum_operand_count(%a: tensor<2x3xf32>) {
  // expected-error @+1 {{equation "ij,jk->ik": einsum expects 2 operands but got 1}}
  %0 = attn.einsum "ij,jk->ik" (%a) : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return
}

// -----
func.func @einsum_integer(%a: tensor<2x3xi32>, %b: tensor<3x4xi32>) {
  // expected-error @+1 {{requires a floating-point element type, got 'i32'}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xi32>, tensor<3x4xi32>) -> tensor<2x4xi32>
  return
}

// -----
func.func @einsum_mixed_types(%a: tensor<2x3xf32>, %b: tensor<3x4xf16>) {
  // expected-error @+1 {{input 1 has element type 'f16' but the result has 'f32'}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf16>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_dynamic(%a: tensor<?x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{input 0 must be statically shaped, got 'tensor<?x3xf32>'}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<?x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_operand_count(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{einsum expects 3 operands but got 2}}
  %0 = attn.einsum "ij,jk,kl->il" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_rank(%a: tensor<2x3x5xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{operand 0 has rank 3}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3x5xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_size_conflict(%q: tensor<1x2x5x64xf32>, %k: tensor<1x2x5x32xf32>) {
  // expected-error @+1 {{label 'd' is 64 in operand 0 but 32 in operand 1}}
  %0 = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) : (tensor<1x2x5x64xf32>, tensor<1x2x5x32xf32>) -> tensor<1x2x5x5xf32>
  return
}

// -----
func.func @einsum_broadcast(%a: tensor<3x2x3xf32>, %b: tensor<4x3x4xf32>) {
  // expected-error @+1 {{equation "...ij,...jk->...ik"}}
  %0 = attn.einsum "...ij,...jk->...ik" (%a, %b) : (tensor<3x2x3xf32>, tensor<4x3x4xf32>) -> tensor<4x2x4xf32>
  return
}

// -----
func.func @einsum_result_shape(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{result shape 4x2 does not match the shape 2x4 that the equation produces}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<4x2xf32>
  return
}

// -----
func.func @einsum_scale_inf(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{scale must be finite}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) scale(0x7FF0000000000000) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @einsum_scale_overflows(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error @+1 {{scale 3.500000e+38 overflows 'f32' (largest finite value 3.402823e+38)}}
  %0 = attn.einsum "ij,jk->ik" (%a, %b) scale(3.5e38) : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return
}

// -----
func.func @softmax_integer(%x: tensor<4x4xi32>) {
  // expected-error @+1 {{requires a floating-point element type, got 'i32'}}
  %0 = attn.softmax %x axis(-1) : tensor<4x4xi32>
  return
}

// -----
func.func @softmax_rank0(%x: tensor<f32>) {
  // expected-error @+1 {{requires an input of rank >= 1}}
  %0 = attn.softmax %x axis(0) : tensor<f32>
  return
}

// -----
func.func @softmax_axis(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2 (expected -2 <= axis < 2)}}
  %0 = attn.softmax %x axis(2) : tensor<4x4xf32>
  return
}

// -----
func.func @softmax_negative_axis(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{axis -3 is out of range for rank 2}}
  %0 = attn.softmax %x axis(-3) : tensor<4x4xf32>
  return
}

// -----
func.func @softmax_type(%x: tensor<4x4xf32>) {
  // expected-error @+1 {{requires the same type for all operands and results}}
  %0 = "attn.softmax"(%x) <{axis = 1 : i64}> : (tensor<4x4xf32>) -> tensor<4x4xf16>
  return
}

// -----
func.func @attention_rank1(%q: tensor<4xf32>) {
  // expected-error @+1 {{query must have rank >= 2, got 1}}
  %0 = attn.attention %q, %q, %q scale(1.0) : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----
func.func @attention_ranks(%q: tensor<2x4x8xf32>, %k: tensor<4x8xf32>) {
  // expected-error @+1 {{query, key and value must have the same rank, got 3, 2 and 3}}
  %0 = attn.attention %q, %k, %q scale(1.0) : (tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_batch(%q: tensor<2x4x8xf32>, %k: tensor<3x4x8xf32>) {
  // expected-error @+1 {{batch dimension 0 differs between query (2), key (3) and value (2)}}
  %0 = attn.attention %q, %k, %q scale(1.0) : (tensor<2x4x8xf32>, tensor<3x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_head_dim(%q: tensor<2x4x8xf32>, %k: tensor<2x4x16xf32>) {
  // expected-error @+1 {{query and key head dimensions differ: 8 vs 16}}
  %0 = attn.attention %q, %k, %q scale(1.0) : (tensor<2x4x8xf32>, tensor<2x4x16xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_kv_length(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x5x8xf32>) {
  // expected-error @+1 {{key and value sequence lengths differ: 6 vs 5}}
  %0 = attn.attention %q, %k, %v scale(1.0) : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x5x8xf32>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_result(%q: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) {
  // expected-error @+1 {{result shape 2x4x8 must be 2x4x3}}
  %0 = attn.attention %q, %q, %v scale(1.0) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x3xf32>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_integer(%q: tensor<4x8xi8>) {
  // expected-error @+1 {{requires a floating-point element type, got 'i8'}}
  %0 = attn.attention %q, %q, %q scale(1.0) : (tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x8xi8>) -> tensor<4x8xi8>
  return
}

// -----
func.func @attention_mixed_types(%q: tensor<4x8xf32>, %k: tensor<4x8xf16>) {
  // expected-error @+1 {{query, key, value and result must share one element type}}
  %0 = attn.attention %q, %k, %q scale(1.0) : (tensor<4x8xf32>, tensor<4x8xf16>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_mask_rank(%q: tensor<2x4x8xf32>, %m: tensor<4x4xi1>) {
  // expected-error @+1 {{mask must have rank 3, got 2}}
  %0 = attn.attention %q, %q, %q mask(%m) scale(1.0) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<4x4xi1>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_mask_dim(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %m: tensor<2x4x4xi1>) {
  // expected-error @+1 {{mask dimension 2 is 4 but must be 6 or 1}}
  %0 = attn.attention %q, %k, %k mask(%m) scale(1.0) : (tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x6x8xf32>, tensor<2x4x4xi1>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_mask_type(%q: tensor<2x4x8xf32>, %m: tensor<2x4x4xi8>) {
  // expected-error @+1 {{mask element type must be i1 or 'f32', got 'i8'}}
  %0 = attn.attention %q, %q, %q mask(%m) scale(1.0) : (tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x4xi8>) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_dot_weight(%q: tensor<4x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight is not allowed with the dot score}}
  %0 = attn.attention %q, %q, %q weight(%w) scale(1.0) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_weight_shape(%q: tensor<4x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{weight must be 'tensor<8xf32>', got 'tensor<4xf32>'}}
  %0 = attn.attention %q, %q, %q weight(%w) scale(1.0) score(gaussian) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_additive_no_weight(%q: tensor<4x8xf32>) {
  // expected-error @+1 {{the additive score requires a weight}}
  %0 = attn.attention %q, %q, %q scale(1.0) score(additive) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_scale_nan(%q: tensor<4x8xf32>) {
  // expected-error @+1 {{scale must be finite}}
  %0 = attn.attention %q, %q, %q scale(0x7FF8000000000000) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_scale_overflows(%q: tensor<4x8xf32>) {
  // expected-error @+1 {{scale 3.500000e+38 overflows 'f32'}}
  %0 = attn.attention %q, %q, %q scale(3.5e38) : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_scale_overflows_f16(%q: tensor<4x8xf16>) {
  // expected-error @+1 {{scale 7.000000e+04 overflows 'f16' (largest finite value 6.550400e+04)}}
  %0 = attn.attention %q, %q, %q scale(70000.0) : (tensor<4x8xf16>, tensor<4x8xf16>, tensor<4x8xf16>) -> tensor<4x8xf16>
  return
}

// -----
// einops rejects names that start or end with an underscore.
func.func @rearrange_underscore_name(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{invalid pattern "x _ -> _ x" at column 2: Invalid axis identifier: _}}
  %0 = attn.rearrange %x "x _ -> _ x" : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}
