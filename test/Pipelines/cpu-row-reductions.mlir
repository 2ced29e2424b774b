// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// A row sum (LayerNorm's mean) reaches LLVM as one vector reduction per row
// that may be reassociated, so LLVM sums it as a tree of vector adds; in
// order it was 192 dependent scalar adds per row (ViT-Tiny's LayerNorm
// statistics: 11 us against 2 us for these 197 rows).

// CHECK-LABEL: llvm.func @row_sum(
// CHECK:         "llvm.intr.vector.reduce.fadd"(%{{.*}}, %{{.*}}) <{fastmathFlags = #llvm.fastmath<reassoc>}> : (f32, vector<192xf32>) -> f32
// LLVMIR-LABEL: define {{.*}} @row_sum(
// LLVMIR:         call reassoc float @llvm.vector.reduce.fadd.v192f32(
func.func @row_sum(%x: tensor<197x192xf32>) -> tensor<197xf32> {
  %c = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<197xf32>
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<197xf32>) -> tensor<197xf32>
  %r = linalg.reduce ins(%x : tensor<197x192xf32>) outs(%f : tensor<197xf32>) dimensions = [1]
    (%in: f32, %acc: f32) {
      %s = arith.addf %in, %acc : f32
      linalg.yield %s : f32
    }
  return %r : tensor<197xf32>
}
