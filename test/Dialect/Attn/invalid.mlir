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
// 1. one map per tensor operand
func.func @attention_map_count(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{has 3 indexing maps but 4 tensor operands}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 1. the domain has rank >= 4
func.func @attention_map_dims(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{indexing maps must have at least 4 dimensions (B..., M, K1, K2, N), got 3}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 1. every map over the same domain
func.func @attention_map_rank(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{the key map affine_map<(d0, d1, d2, d3) -> (d0, d1)> must have 5 dimensions and no symbols}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m, k1)>, affine_map<(b, m, k1, k2) -> (b, m)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>, affine_map<(b, m, k1, k2, n) -> (b, m, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 1. default maps need a query of rank >= 2
func.func @attention_rank1(%q: tensor<4xf32>) {
  // expected-error @+1 {{query must have rank >= 2, got 1}}
  %0 = attn.attention ins(%q, %q, %q : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>)
      outs(%q : tensor<4xf32>) scale(1.0) -> tensor<4xf32>
  return
}

// -----
// 2. projected permutations
func.func @attention_not_permutation(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{the query map affine_map<(d0, d1, d2, d3, d4) -> (d0, d1 + d2, d2)> must be a projected permutation}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m + k1, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>, affine_map<(b, m, k1, k2, n) -> (b, m, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 2. the query does not broadcast
func.func @attention_query_broadcast(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{the query map affine_map<(d0, d1, d2, d3, d4) -> (0, d1, d2)> must be a projected permutation}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (0, m, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>, affine_map<(b, m, k1, k2, n) -> (b, m, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 2. which dimensions each operand reads
func.func @attention_key_reads_query(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{the key map affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2)> reads domain dimensions {B0, M, K1}; it must read {K1, K2} and may read {B0, K1, K2}}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m, k1)>, affine_map<(b, m, k1, k2, n) -> (b, m, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>, affine_map<(b, m, k1, k2, n) -> (b, m, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 3. ranks
func.func @attention_ranks(%q: tensor<2x4x8xf32>, %k: tensor<4x8xf32>) {
  // expected-error @+1 {{the key has rank 2 but its map affine_map<(d0, d1, d2, d3, d4) -> (d0, d3, d2)> has 3 results}}
  %0 = attn.attention ins(%q, %k, %q : tensor<2x4x8xf32>, tensor<4x8xf32>, tensor<2x4x8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. extents
func.func @attention_batch(%q: tensor<2x4x8xf32>, %k: tensor<3x4x8xf32>) {
  // expected-error @+1 {{the key's dimension 0 is 3 but the domain dimension it reads is 2}}
  %0 = attn.attention ins(%q, %k, %q : tensor<2x4x8xf32>, tensor<3x4x8xf32>, tensor<2x4x8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. extents
func.func @attention_head_dim(%q: tensor<2x4x8xf32>, %k: tensor<2x4x16xf32>) {
  // expected-error @+1 {{the key's dimension 2 is 16 but the domain dimension it reads is 8}}
  %0 = attn.attention ins(%q, %k, %q : tensor<2x4x8xf32>, tensor<2x4x16xf32>, tensor<2x4x8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. extents
func.func @attention_kv_length(%q: tensor<2x4x8xf32>, %k: tensor<2x6x8xf32>, %v: tensor<2x5x8xf32>) {
  // expected-error @+1 {{the value's dimension 1 is 5 but the domain dimension it reads is 6}}
  %0 = attn.attention ins(%q, %k, %v : tensor<2x4x8xf32>, tensor<2x6x8xf32>, tensor<2x5x8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. extents
func.func @attention_result(%q: tensor<2x4x8xf32>, %v: tensor<2x4x3xf32>) {
  // expected-error @+1 {{the output's dimension 2 is 8 but the domain dimension it reads is 3}}
  %0 = attn.attention ins(%q, %q, %v : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x3xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. a constant-0 result reads a dimension of size 1
func.func @attention_broadcast_size(%q: tensor<2x4x8xf32>, %m: tensor<2x4x4xi1>) {
  // expected-error @+1 {{the mask's dimension 1 is read at 0 but has size 4}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) mask(%m : tensor<2x4x4xi1>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) {indexing_maps = [affine_map<(b, m, k1, k2, n) -> (b, m, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, k1)>, affine_map<(b, m, k1, k2, n) -> (b, k2, n)>, affine_map<(b, m, k1, k2, n) -> (b, 0, k2)>, affine_map<(b, m, k1, k2, n) -> (b, m, n)>]} -> tensor<2x4x8xf32>
  return
}

// -----
// 4. element types
func.func @attention_integer(%q: tensor<4x8xi8>) {
  // expected-error @+1 {{the query must have a floating-point element type, got 'i8'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<4x8xi8>, tensor<4x8xi8>, tensor<4x8xi8>)
      outs(%q : tensor<4x8xi8>) scale(1.0) -> tensor<4x8xi8>
  return
}

// -----
// 4. mask type
func.func @attention_mask_type(%q: tensor<2x4x8xf32>, %m: tensor<2x4x4xi8>) {
  // expected-error @+1 {{mask element type must be i1 or a float, got 'i8'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) mask(%m : tensor<2x4x4xi8>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 4. key_lengths type
func.func @attention_lengths_type(%q: tensor<2x4x8xf32>, %l: tensor<2xf32>) {
  // expected-error @+1 {{key_lengths must have an integer or index element type, got 'f32'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) key_lengths(%l : tensor<2xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 4. block_mask type
func.func @attention_block_mask_type(%q: tensor<2x4x8xf32>, %b: tensor<2x1x1xi8>) {
  // expected-error @+1 {{block_mask element type must be i1, got 'i8'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) block_mask(%b : tensor<2x1x1xi8>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) block_sizes([4, 4]) -> tensor<2x4x8xf32>
  return
}

// -----
// 5. weight
func.func @attention_dot_weight(%q: tensor<2x4x8xf32>, %w: tensor<8xf32>) {
  // expected-error @+1 {{weight is not allowed with the dot score}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) weight(%w : tensor<8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 3. weight extent
func.func @attention_weight_shape(%q: tensor<2x4x8xf32>, %w: tensor<4xf32>) {
  // expected-error @+1 {{the weight's dimension 0 is 4 but the domain dimension it reads is 8}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) weight(%w : tensor<4xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) score(gaussian) -> tensor<2x4x8xf32>
  return
}

// -----
// 5. weight
func.func @attention_additive_no_weight(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{the additive score requires a weight}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) score(additive) -> tensor<2x4x8xf32>
  return
}

// -----
// 6. scale
func.func @attention_scale_nan(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{scale must be finite}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(0x7FF8000000000000) -> tensor<2x4x8xf32>
  return
}

// -----
// 6. window
func.func @attention_window(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{window must be [left, right] with non-negative entries}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) window([-1, 0]) -> tensor<2x4x8xf32>
  return
}

// -----
// 6. block sizes
func.func @attention_block_sizes_without_mask(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{block_sizes must be given exactly when block_mask is}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) block_sizes([4, 4]) -> tensor<2x4x8xf32>
  return
}

// -----
// einops rejects names that start or end with an underscore.
func.func @rearrange_underscore_name(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{invalid pattern "x _ -> _ x" at column 2: Invalid axis identifier: _}}
  %0 = attn.rearrange %x "x _ -> _ x" : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----
// 6. block sizes
func.func @attention_block_sizes_positive(%q: tensor<2x4x8xf32>, %b: tensor<2x1x1xi1>) {
  // expected-error @+1 {{block_sizes must be [query block, key block], both positive}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) block_mask(%b : tensor<2x1x1xi1>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) block_sizes([4, 0]) -> tensor<2x4x8xf32>
  return
}

// -----
// 7. offsets
func.func @attention_offsets(%q: tensor<2x4x8xf32>, %i: index) {
  // expected-error @+1 {{offsets must be empty or give at least 3 positions (batch..., query, key), got 1}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%q : tensor<2x4x8xf32>) scale(1.0) offsets(%i) -> tensor<2x4x8xf32>
  return
}

// -----
// 8. score_mod arguments
func.func @attention_score_mod_args(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{score_mod arguments must be ('f32', 3 x index: batch..., query, key)}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) score_mod {
  ^bb0(%s: f32, %i: index):
    attn.yield %s : f32
  } -> tensor<2x4x8xf32>
  return
}

// -----
// 8. score_mod result
func.func @attention_score_mod_yield(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{score_mod must yield one value of type 'f32'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) score_mod {
  ^bb0(%s: f32, %b: index, %i: index, %j: index):
    %h = arith.truncf %s : f32 to f16
    attn.yield %h : f16
  } -> tensor<2x4x8xf32>
  return
}

// -----
// 9. results
func.func @attention_result_type(%q: tensor<2x4x8xf32>, %o: tensor<2x4x8xf32>) {
  // expected-error @+1 {{result type 'tensor<2x4x8xf16>' differs from its destination's 'tensor<2x4x8xf32>'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%o : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf16>
  return
}

// -----
// 9. results
func.func @attention_result_count(%q: tensor<2x4x8xf32>, %l: tensor<2x4xf32>) {
  // expected-error @+1 {{has 1 results but 2 destinations}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%q : tensor<2x4x8xf32>) lse(%l : tensor<2x4xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
// 10. accumulator types
func.func @online_attention_types(%q: tensor<2x4x8xf32>, %m: tensor<2x4xf16>, %l: tensor<2x4xf32>) {
  // expected-error @+1 {{acc, max and sum must share one element type, got 'f32' and 'f16'}}
  %0:3 = attn.online_attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>)
      outs(%q, %m, %l : tensor<2x4x8xf32>, tensor<2x4xf16>, tensor<2x4xf32>) scale(1.0)
      -> tensor<2x4x8xf32>, tensor<2x4xf16>, tensor<2x4xf32>
  return
}

// -----
func.func @yield_parent(%x: f32) {
  // expected-error @+1 {{expects parent op to be one of 'attn.attention, attn.online_attention'}}
  attn.yield %x : f32
}

// -----
// 6. scale representable in the query's element type
func.func @attention_scale_overflows(%q: tensor<4x8xf32>) {
  // expected-error @+1 {{scale 3.500000e+38 overflows 'f32'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>)
      outs(%q : tensor<4x8xf32>) scale(3.5e38) -> tensor<4x8xf32>
  return
}

// -----
func.func @attention_scale_overflows_f16(%q: tensor<4x8xf16>) {
  // expected-error @+1 {{scale 7.000000e+04 overflows 'f16' (largest finite value 6.550400e+04)}}
  %0 = attn.attention ins(%q, %q, %q : tensor<4x8xf16>, tensor<4x8xf16>, tensor<4x8xf16>)
      outs(%q : tensor<4x8xf16>) scale(70000.0) -> tensor<4x8xf16>
  return
}

// -----
// 4. keep_or_drop marks a float mask
func.func @attention_keep_or_drop_boolean(%q: tensor<2x4x8xf32>, %m: tensor<2x4x4xi1>) {
  // expected-error @+1 {{keep_or_drop needs a float mask (0 / -inf), got 'i1'}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) mask(%m : tensor<2x4x4xi1>) keep_or_drop
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}

// -----
func.func @attention_keep_or_drop_without_mask(%q: tensor<2x4x8xf32>) {
  // expected-error @+1 {{keep_or_drop needs a mask}}
  %0 = attn.attention ins(%q, %q, %q : tensor<2x4x8xf32>, tensor<2x4x8xf32>, tensor<2x4x8xf32>) keep_or_drop
      outs(%q : tensor<2x4x8xf32>) scale(1.0) -> tensor<2x4x8xf32>
  return
}
