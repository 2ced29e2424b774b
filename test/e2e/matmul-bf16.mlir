// bf16 contractions (a Linear and a batched product with a transposed
// operand) through attn_uk_matmul_bf16: AMX tiles where the CPU has them,
// VDPBF16PS where it runs at the FMA's rate (AMD Zen 4 and later), the
// widened f32 micro-kernel otherwise or when ATTN_UKERNEL_BF16=widen asks
// for it (=avx512bf16 for VDPBF16PS on any CPU with AVX512-BF16). All
// against the f64 reference at bf16 tolerance.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=linear --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=widen attn-run %s --entry=linear --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=avx512bf16 attn-run %s --entry=linear --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=avx512bf16 attn-run %s --entry=pairs --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=scores --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=widen attn-run %s --entry=scores --check | FileCheck %s
// A Linear whose weight is prepared as panels of row pairs (the VNNI form
// the Python package gives bf16 weights) through attn_uk_matmul_bf16_pairs:
// k = 768 (AMX tiles loaded in place), k = 70 (not a multiple of 32: B is
// unpacked first), 100 columns (a last partial 32-column block copied), and
// the outer K loop split in two (a GELU output [.., 48, 64] read as pairs
// [.., 48, 32, 2]: both collapse into one K).
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=pairs --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=pairs_odd --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=pairs_split --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=widen attn-run %s --entry=pairs --check | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline --mlir-print-ir-before=convert-scf-to-openmp 2>&1 >/dev/null | FileCheck %s --check-prefix=IR
// CHECK: output 0: max abs error {{.*}}: OK
// IR-COUNT-2: func.call @attn_uk_matmul_bf16_overwrite(
// IR-COUNT-3: func.call @attn_uk_matmul_bf16_pairs_overwrite(

func.func @linear(%x: tensor<197x768xbf16>, %w: tensor<768x200xbf16>) -> tensor<197x200xbf16> {
  %y = attn.einsum "n i, i o -> n o" (%x, %w) : (tensor<197x768xbf16>, tensor<768x200xbf16>) -> tensor<197x200xbf16>
  return %y : tensor<197x200xbf16>
}

func.func @scores(%q: tensor<3x45x64xbf16>, %k: tensor<3x70x64xbf16>) -> tensor<3x45x70xbf16> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) : (tensor<3x45x64xbf16>, tensor<3x70x64xbf16>) -> tensor<3x45x70xbf16>
  return %s : tensor<3x45x70xbf16>
}

func.func @pairs(%x: tensor<197x384x2xbf16>, %w: tensor<3x384x64x2xbf16>) -> tensor<197x3x64xbf16> {
  %y = attn.einsum "n i e, p i c e -> n p c" (%x, %w) : (tensor<197x384x2xbf16>, tensor<3x384x64x2xbf16>) -> tensor<197x3x64xbf16>
  return %y : tensor<197x3x64xbf16>
}

func.func @pairs_odd(%x: tensor<2x45x35x2xbf16>, %w: tensor<2x35x100x2xbf16>) -> tensor<2x45x2x100xbf16> {
  %y = attn.einsum "b n i e, p i c e -> b n p c" (%x, %w) : (tensor<2x45x35x2xbf16>, tensor<2x35x100x2xbf16>) -> tensor<2x45x2x100xbf16>
  return %y : tensor<2x45x2x100xbf16>
}

func.func @pairs_split(%x: tensor<197x48x32x2xbf16>, %w: tensor<2x48x32x64x2xbf16>) -> tensor<197x2x64xbf16> {
  %y = attn.einsum "n h i e, p h i c e -> n p c" (%x, %w) : (tensor<197x48x32x2xbf16>, tensor<2x48x32x64x2xbf16>) -> tensor<197x2x64xbf16>
  return %y : tensor<197x2x64xbf16>
}
