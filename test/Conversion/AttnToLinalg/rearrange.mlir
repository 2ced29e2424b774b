// RUN: attn-opt %s --convert-attn-to-linalg --split-input-file --verify-diagnostics | FileCheck %s
// attn.rearrange becomes expand_shape to the elementary axes, a transpose
// only when elements move, and a reshape to the result.

// CHECK-LABEL: func @split_heads
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x12xf32>)
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0], [1], [2, 3]] output_shape [2, 5, 3, 4] : tensor<2x5x12xf32> into tensor<2x5x3x4xf32>
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x3x5x4xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[E]] : tensor<2x5x3x4xf32>) outs(%[[INIT]] : tensor<2x3x5x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: return %[[T]]
func.func @split_heads(%x: tensor<2x5x12xf32>) -> tensor<2x3x5x4xf32> {
  %0 = attn.rearrange %x "b n (h d) -> b h n d" {h = 3} : tensor<2x5x12xf32> -> tensor<2x3x5x4xf32>
  return %0 : tensor<2x3x5x4xf32>
}

// -----

// CHECK-LABEL: func @merge_heads
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x5x4xf32>)
// CHECK: %[[INIT:.*]] = tensor.empty() : tensor<2x5x3x4xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[X]] : tensor<2x3x5x4xf32>) outs(%[[INIT]] : tensor<2x5x3x4xf32>) permutation = [0, 2, 1, 3]
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[T]] {{\[\[}}0], [1], [2, 3]] : tensor<2x5x3x4xf32> into tensor<2x5x12xf32>
// CHECK: return %[[C]]
func.func @merge_heads(%x: tensor<2x3x5x4xf32>) -> tensor<2x5x12xf32> {
  %0 = attn.rearrange %x "b h n d -> b n (h d)" : tensor<2x3x5x4xf32> -> tensor<2x5x12xf32>
  return %0 : tensor<2x5x12xf32>
}

// -----

// A reshape-only rearrange that regroups factors: split, then merge; no
// transpose.
// CHECK-LABEL: func @regroup
// CHECK-SAME: (%[[X:.*]]: tensor<6x4xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[E:.*]] = tensor.expand_shape %[[X]] {{\[\[}}0, 1], [2]] output_shape [2, 3, 4] : tensor<6x4xf32> into tensor<2x3x4xf32>
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[E]] {{\[\[}}0], [1, 2]] : tensor<2x3x4xf32> into tensor<2x12xf32>
// CHECK-NOT: linalg.transpose
// CHECK: return %[[C]]
func.func @regroup(%x: tensor<6x4xf32>) -> tensor<2x12xf32> {
  %0 = attn.rearrange %x "(a b) c -> a (b c)" {a = 2} : tensor<6x4xf32> -> tensor<2x12xf32>
  return %0 : tensor<2x12xf32>
}

// -----

// Moving only a size-1 axis moves no element: a single reshape.
// CHECK-LABEL: func @unit_head
// CHECK-SAME: (%[[X:.*]]: tensor<2x5x1x4xf32>)
// CHECK-NOT: linalg.transpose
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1], [2, 3]] : tensor<2x5x1x4xf32> into tensor<2x5x4xf32>
// CHECK: %[[E:.*]] = tensor.expand_shape %[[C]] {{\[\[}}0], [1, 2], [3]] output_shape [2, 1, 5, 4] : tensor<2x5x4xf32> into tensor<2x1x5x4xf32>
// CHECK: return %[[E]]
func.func @unit_head(%x: tensor<2x5x1x4xf32>) -> tensor<2x1x5x4xf32> {
  %0 = attn.rearrange %x "b n h d -> b h n d" : tensor<2x5x1x4xf32> -> tensor<2x1x5x4xf32>
  return %0 : tensor<2x1x5x4xf32>
}

// -----

// Unit axes: a left-hand `1` is dropped before the transpose, a right-hand
// `1` is re-created by the final reshape.
// CHECK-LABEL: func @units
// CHECK-SAME: (%[[X:.*]]: tensor<3x1x4xf32>)
// CHECK: %[[C:.*]] = tensor.collapse_shape %[[X]] {{\[\[}}0], [1, 2]] : tensor<3x1x4xf32> into tensor<3x4xf32>
// CHECK: %[[T:.*]] = linalg.transpose ins(%[[C]] : tensor<3x4xf32>) outs(%{{.*}} : tensor<4x3xf32>) permutation = [1, 0]
// CHECK: %[[E:.*]] = tensor.expand_shape %[[T]] {{\[\[}}0], [1, 2]] output_shape [4, 3, 1] : tensor<4x3xf32> into tensor<4x3x1xf32>
// CHECK: return %[[E]]
func.func @units(%x: tensor<3x1x4xf32>) -> tensor<4x3x1xf32> {
  %0 = attn.rearrange %x "a 1 b -> b a 1" : tensor<3x1x4xf32> -> tensor<4x3x1xf32>
  return %0 : tensor<4x3x1xf32>
}

// -----

// Ellipsis axes move as a block.
// CHECK-LABEL: func @ellipsis
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3x4x5xf32>) outs(%{{.*}} : tensor<5x2x3x4xf32>) permutation = [3, 0, 1, 2]
func.func @ellipsis(%x: tensor<2x3x4x5xf32>) -> tensor<5x2x3x4xf32> {
  %0 = attn.rearrange %x "... d -> d ..." : tensor<2x3x4x5xf32> -> tensor<5x2x3x4xf32>
  return %0 : tensor<5x2x3x4xf32>
}

// -----

// Dynamic shapes are diagnosed, not silently left behind.
func.func @dynamic(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  // expected-error@+1 {{has a dynamic shape}}
  %0 = attn.softmax %x axis(1) : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}

// -----

// Zero-size tensors reshape through one collapse/expand group each way
// (reassociation by factors does not exist when a dimension is 0).
// CHECK-LABEL: func @empty_merge
// CHECK: %[[C:.*]] = tensor.collapse_shape %{{.*}} {{\[\[}}0, 1, 2]] : tensor<0x3x4xf32> into tensor<0xf32>
// CHECK: return %[[C]]
func.func @empty_merge(%x: tensor<0x3x4xf32>) -> tensor<0xf32> {
  %r = attn.rearrange %x "a b c -> (a b c)" : tensor<0x3x4xf32> -> tensor<0xf32>
  return %r : tensor<0xf32>
}

// -----

// CHECK-LABEL: func @empty_split
// CHECK: %[[E:.*]] = tensor.expand_shape %{{.*}} {{\[\[}}0, 1, 2]] output_shape [0, 3, 4] : tensor<0xf32> into tensor<0x3x4xf32>
// CHECK: return %[[E]]
func.func @empty_split(%x: tensor<0xf32>) -> tensor<0x3x4xf32> {
  %r = attn.rearrange %x "(a b c) -> a b c" {b = 3, c = 4} : tensor<0xf32> -> tensor<0x3x4xf32>
  return %r : tensor<0x3x4xf32>
}
