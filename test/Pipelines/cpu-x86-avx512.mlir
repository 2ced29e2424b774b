// RUN: attn-opt %s --attn-cpu-pipeline="x86-avx512=1" | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s --check-prefix=PORTABLE
// RUN: attn-opt %s --attn-cpu-pipeline="x86-avx512=1" | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVMIR
// x86-avx512: the flash nest's exp (rows of 16k lanes) scales by 2^k with
// vscalefps (attn-approximate-math x86-avx512) inside the parallel loop, the
// lanes below ln(FLT_MIN) zeroed by its mask;
// without it (the pipeline's default) nothing needs AVX-512.

// CHECK-LABEL: llvm.func @attention(
// CHECK:         omp.parallel
// CHECK:         llvm.intr.roundeven({{.*}}) : (vector<64xf32>) -> vector<64xf32>
// CHECK-COUNT-8: llvm.intr.fma({{.*}}) : (vector<64xf32>, vector<64xf32>, vector<64xf32>) -> vector<64xf32>
// CHECK-COUNT-4: llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"({{.*}}) : (vector<16xf32>, vector<16xf32>, vector<16xf32>, i16, i32) -> vector<16xf32>
// CHECK-NOT:     llvm.call_intrinsic "llvm.x86.avx512.mask.scalef.ps.512"
// CHECK:         omp.terminator

// PORTABLE-NOT: llvm.x86.avx512
// PORTABLE-NOT: llvm.intr.roundeven

// LLVMIR: %[[MASK:[0-9]+]] = extractelement <1 x i16> %{{[0-9]+}}, i64 0
// LLVMIR: call <16 x float> @llvm.x86.avx512.mask.scalef.ps.512(<16 x float> %{{[0-9]+}}, <16 x float> %{{[0-9]+}}, <16 x float> zeroinitializer, i16 %[[MASK]], i32 4)
func.func @attention(%q: tensor<1x64x16xf32>, %k: tensor<1x128x16xf32>, %v: tensor<1x128x16xf32>) -> tensor<1x64x16xf32> {
  %init = tensor.empty() : tensor<1x64x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x64x16xf32>, tensor<1x128x16xf32>, tensor<1x128x16xf32>)
      outs(%init : tensor<1x64x16xf32>) scale(0.25) -> tensor<1x64x16xf32>
  return %o : tensor<1x64x16xf32>
}
