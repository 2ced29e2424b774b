// RUN: attn-opt %s --attn-fold-slice-updates --split-input-file | FileCheck %s
// attn-fold-slice-updates: insert_slice(x[s] + d, into x) becomes x + pad(d).

// One slice, the term on the right.
// CHECK-LABEL: func.func @add_right
//  CHECK-SAME: (%[[X:.*]]: tensor<4x9xf32>, %[[D:.*]]: tensor<3x9xf32>)
//       CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//       CHECK: %[[P:.*]] = tensor.pad %[[D]] low[1, 0] high[0, 0]
//       CHECK:   tensor.yield %[[ZERO]] : f32
//       CHECK: %[[R:.*]] = arith.addf %[[X]], %[[P]] : tensor<4x9xf32>
//   CHECK-NOT: tensor.insert_slice
//       CHECK: return %[[R]]
func.func @add_right(%x: tensor<4x9xf32>, %d: tensor<3x9xf32>) -> tensor<4x9xf32> {
  %s = tensor.extract_slice %x[1, 0] [3, 9] [1, 1] : tensor<4x9xf32> to tensor<3x9xf32>
  %u = arith.addf %s, %d : tensor<3x9xf32>
  %r = tensor.insert_slice %u into %x[1, 0] [3, 9] [1, 1] : tensor<3x9xf32> into tensor<4x9xf32>
  return %r : tensor<4x9xf32>
}

// -----

// The slice on the right of an addf, then a subf: operand order and
// fastmath flags are kept.
// CHECK-LABEL: func.func @add_left_then_sub
//  CHECK-SAME: (%[[X:.*]]: tensor<5x6xf32>, %[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<2x3xf32>)
//       CHECK: %[[PA:.*]] = tensor.pad %[[A]] low[2, 1] high[1, 2]
//       CHECK: %[[S:.*]] = arith.addf %[[PA]], %[[X]] fastmath<contract> : tensor<5x6xf32>
//       CHECK: %[[PB:.*]] = tensor.pad %[[B]] low[2, 1] high[1, 2]
//       CHECK: %[[R:.*]] = arith.subf %[[S]], %[[PB]] : tensor<5x6xf32>
//       CHECK: return %[[R]]
func.func @add_left_then_sub(%x: tensor<5x6xf32>, %a: tensor<2x3xf32>, %b: tensor<2x3xf32>) -> tensor<5x6xf32> {
  %s = tensor.extract_slice %x[2, 1] [2, 3] [1, 1] : tensor<5x6xf32> to tensor<2x3xf32>
  %u = arith.addf %a, %s fastmath<contract> : tensor<2x3xf32>
  %v = arith.subf %u, %b : tensor<2x3xf32>
  %r = tensor.insert_slice %v into %x[2, 1] [2, 3] [1, 1] : tensor<2x3xf32> into tensor<5x6xf32>
  return %r : tensor<5x6xf32>
}

// -----

// MViTv2's x[:, :, 1:, 1:] += rel_h + rel_w as PyTorch traces it: two
// nested updates whose two reads of x[:, :, 1:] are distinct but equivalent
// extract_slice ops. Both fold, from the inside out, into x plus two padded
// terms.
// CHECK-LABEL: func.func @nested
//  CHECK-SAME: (%[[X:.*]]: tensor<1x2x5x5xf32>, %[[H:.*]]: tensor<1x2x4x4xf32>, %[[W:.*]]: tensor<1x2x4x4xf32>)
//   CHECK-DAG: %[[PH:.*]] = tensor.pad %[[H]] low[0, 0, 0, 1] high[0, 0, 0, 0]
//   CHECK-DAG: %[[PW:.*]] = tensor.pad %[[W]] low[0, 0, 0, 1] high[0, 0, 0, 0]
//   CHECK-DAG: %[[PPH:.*]] = tensor.pad %[[PH]] low[0, 0, 1, 0] high[0, 0, 0, 0]
//       CHECK: %[[S1:.*]] = arith.addf %[[X]], %[[PPH]] : tensor<1x2x5x5xf32>
//       CHECK: %[[PPW:.*]] = tensor.pad %[[PW]] low[0, 0, 1, 0] high[0, 0, 0, 0]
//       CHECK: %[[S2:.*]] = arith.addf %[[S1]], %[[PPW]] : tensor<1x2x5x5xf32>
//   CHECK-NOT: tensor.insert_slice
//       CHECK: return %[[S2]]
func.func @nested(%x: tensor<1x2x5x5xf32>, %h: tensor<1x2x4x4xf32>, %w: tensor<1x2x4x4xf32>) -> tensor<1x2x5x5xf32> {
  %rows = tensor.extract_slice %x[0, 0, 1, 0] [1, 2, 4, 5] [1, 1, 1, 1] : tensor<1x2x5x5xf32> to tensor<1x2x4x5xf32>
  %block = tensor.extract_slice %rows[0, 0, 0, 1] [1, 2, 4, 4] [1, 1, 1, 1] : tensor<1x2x4x5xf32> to tensor<1x2x4x4xf32>
  %t1 = arith.addf %block, %h : tensor<1x2x4x4xf32>
  %t2 = arith.addf %t1, %w : tensor<1x2x4x4xf32>
  %rows2 = tensor.extract_slice %x[0, 0, 1, 0] [1, 2, 4, 5] [1, 1, 1, 1] : tensor<1x2x5x5xf32> to tensor<1x2x4x5xf32>
  %inner = tensor.insert_slice %t2 into %rows2[0, 0, 0, 1] [1, 2, 4, 4] [1, 1, 1, 1] : tensor<1x2x4x4xf32> into tensor<1x2x4x5xf32>
  %outer = tensor.insert_slice %inner into %x[0, 0, 1, 0] [1, 2, 4, 5] [1, 1, 1, 1] : tensor<1x2x4x5xf32> into tensor<1x2x5x5xf32>
  return %outer : tensor<1x2x5x5xf32>
}

// -----

// Not an update of the same slice: the read is shifted by one row.
// CHECK-LABEL: func.func @other_slice
//       CHECK: tensor.insert_slice
//   CHECK-NOT: tensor.pad
func.func @other_slice(%x: tensor<4x9xf32>, %d: tensor<3x9xf32>) -> tensor<4x9xf32> {
  %s = tensor.extract_slice %x[0, 0] [3, 9] [1, 1] : tensor<4x9xf32> to tensor<3x9xf32>
  %u = arith.addf %s, %d : tensor<3x9xf32>
  %r = tensor.insert_slice %u into %x[1, 0] [3, 9] [1, 1] : tensor<3x9xf32> into tensor<4x9xf32>
  return %r : tensor<4x9xf32>
}

// -----

// Not an update of the same tensor.
// CHECK-LABEL: func.func @other_tensor
//       CHECK: tensor.insert_slice
//   CHECK-NOT: tensor.pad
func.func @other_tensor(%x: tensor<4x9xf32>, %y: tensor<4x9xf32>, %d: tensor<3x9xf32>) -> tensor<4x9xf32> {
  %s = tensor.extract_slice %y[1, 0] [3, 9] [1, 1] : tensor<4x9xf32> to tensor<3x9xf32>
  %u = arith.addf %s, %d : tensor<3x9xf32>
  %r = tensor.insert_slice %u into %x[1, 0] [3, 9] [1, 1] : tensor<3x9xf32> into tensor<4x9xf32>
  return %r : tensor<4x9xf32>
}

// -----

// The slice on the right of a subf (d - x[s]) and a multiplication are not
// updates by a padded term: left alone.
// CHECK-LABEL: func.func @not_additive
//       CHECK-COUNT-2: tensor.insert_slice
//   CHECK-NOT: tensor.pad
func.func @not_additive(%x: tensor<4x9xf32>, %d: tensor<3x9xf32>) -> (tensor<4x9xf32>, tensor<4x9xf32>) {
  %s = tensor.extract_slice %x[1, 0] [3, 9] [1, 1] : tensor<4x9xf32> to tensor<3x9xf32>
  %u = arith.subf %d, %s : tensor<3x9xf32>
  %r = tensor.insert_slice %u into %x[1, 0] [3, 9] [1, 1] : tensor<3x9xf32> into tensor<4x9xf32>
  %m = arith.mulf %s, %d : tensor<3x9xf32>
  %q = tensor.insert_slice %m into %x[1, 0] [3, 9] [1, 1] : tensor<3x9xf32> into tensor<4x9xf32>
  return %r, %q : tensor<4x9xf32>, tensor<4x9xf32>
}

// -----

// A strided update is left alone.
// CHECK-LABEL: func.func @strided
//       CHECK: tensor.insert_slice
//   CHECK-NOT: tensor.pad
func.func @strided(%x: tensor<8x4xf32>, %d: tensor<4x4xf32>) -> tensor<8x4xf32> {
  %s = tensor.extract_slice %x[0, 0] [4, 4] [2, 1] : tensor<8x4xf32> to tensor<4x4xf32>
  %u = arith.addf %s, %d : tensor<4x4xf32>
  %r = tensor.insert_slice %u into %x[0, 0] [4, 4] [2, 1] : tensor<4x4xf32> into tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}
