// RUN: attn-opt %s -split-input-file --pass-pipeline='builtin.module(func.func(attn-vectorize-rows))' | FileCheck %s
// attn-vectorize-rows: row-wise linalg ops on buffers outside a flash nest
// become an scf.forall over rows, each row one vector per operand.

// -----

// A transpose that keeps the innermost dimension (attention's head split
// "b n (h d) -> b h n d") copies whole rows: one forall iteration per row.
// CHECK-LABEL: func.func @head_split(
// CHECK-SAME:    %[[X:.*]]: memref<2x5x4x16xf32>, %[[Y:.*]]: memref<2x4x5x16xf32>)
// CHECK:         scf.forall (%[[B:.*]], %[[H:.*]], %[[N:.*]]) in (2, 4, 5) {
// CHECK:           %[[SRC:.*]] = memref.subview %[[X]][%[[B]], %[[N]], %[[H]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[DST:.*]] = memref.subview %[[Y]][%[[B]], %[[H]], %[[N]], 0] [1, 1, 1, 16] [1, 1, 1, 1]
// CHECK:           %[[ROW:.*]] = vector.transfer_read %[[SRC]]{{.*}} : memref<1x1x1x16xf32, {{.*}}>, vector<1x1x1x16xf32>
// CHECK:           vector.transfer_write %[[ROW]], %[[DST]]{{.*}} : vector<1x1x1x16xf32>, memref<1x1x1x16xf32, {{.*}}>
// CHECK-NOT:     linalg.transpose
func.func @head_split(%x: memref<2x5x4x16xf32>, %y: memref<2x4x5x16xf32>) {
  linalg.transpose ins(%x : memref<2x5x4x16xf32>) outs(%y : memref<2x4x5x16xf32>) permutation = [0, 2, 1, 3]
  return
}

// -----

// A reduction of each row of one input (LayerNorm's mean): one horizontal
// reduction per row.
// CHECK-LABEL: func.func @row_sum(
// CHECK:         scf.forall (%{{.*}}) in (4) {
// CHECK:           %[[ROW:.*]] = vector.transfer_read {{.*}} : memref<1x96xf32, strided<[96, 1], offset: ?>>, vector<1x96xf32>
// CHECK:           %[[ACC:.*]] = vector.transfer_read {{.*}} : memref<1xf32, strided<[1], offset: ?>>, vector<1xf32>
// CHECK:           vector.multi_reduction <add>, %[[ROW]], %[[ACC]] [1] : vector<1x96xf32> to vector<1xf32>
// CHECK-NOT:     linalg.reduce
func.func @row_sum(%x: memref<4x96xf32>, %s: memref<4xf32>) {
  linalg.reduce ins(%x : memref<4x96xf32>) outs(%s : memref<4xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %0 = arith.addf %in, %acc : f32
      linalg.yield %0 : f32
    }
  return
}

// -----

// Rows longer than 1024 elements (ViT's 3072-wide MLP activations) in equal
// chunks of at most 1024, one vector each.
// CHECK-LABEL: func.func @long_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 3072) step (1, 1024) {
// CHECK:           math.erf %{{.*}} : vector<1x1024xf32>
func.func @long_rows(%x: memref<4x3072xf32>, %y: memref<4x3072xf32>) {
  linalg.generic {indexing_maps = [affine_map<(i, j) -> (i, j)>, affine_map<(i, j) -> (i, j)>],
                  iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x3072xf32>) outs(%y : memref<4x3072xf32>) {
  ^bb0(%a: f32, %out: f32):
    %e = math.erf %a : f32
    linalg.yield %e : f32
  }
  return
}

// -----

// A fill: the scalar broadcast into each row chunk (1536 = 3 x 512).
// CHECK-LABEL: func.func @fill_rows(
// CHECK:         scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (7, 1536) step (1, 512) {
// CHECK:           %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<1x512xf32>
// CHECK:           vector.transfer_write %[[ZERO]], %{{.*}} : vector<1x512xf32>, memref<1x512xf32, strided<[1536, 1], offset: ?>>
// CHECK-NOT:     linalg.fill
func.func @fill_rows(%y: memref<7x1536xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<7x1536xf32>)
  return
}

// -----

// An i1 buffer keeps its loops: a vector<Nxi1> load reads bits, not the
// buffer's bytes.
// CHECK-LABEL: func.func @mask(
// CHECK-NOT:     scf.forall
// CHECK:         linalg.generic
func.func @mask(%m: memref<3x5x32xi1>, %out: memref<3x5x32xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0, d1, d2) -> (d0, d1, d2)>,
                                   affine_map<(d0, d1, d2) -> (d0, d1, d2)>],
                  iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%m : memref<3x5x32xi1>) outs(%out : memref<3x5x32xf32>) {
  ^bb0(%k: i1, %o: f32):
    %z = arith.constant 0.0 : f32
    %s = arith.select %k, %o, %z : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Inside a flash nest rows are attn-vectorize-flash-steps' business.
// CHECK-LABEL: func.func @in_flash_nest(
// CHECK:         scf.forall
// CHECK-NEXT:      linalg.copy
func.func @in_flash_nest(%x: memref<2x64xf32>, %y: memref<2x64xf32>) {
  scf.forall (%i) in (2) {
    linalg.copy ins(%x : memref<2x64xf32>) outs(%y : memref<2x64xf32>)
  } {mapping = [#attn.flash_nest<0>]}
  return
}
