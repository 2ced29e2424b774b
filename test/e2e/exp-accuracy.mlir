// exp as attn-approximate-math computes it, through attn-run (JIT), over the
// whole f32 range against numpy's f64 exp: with x86-avx512 (vscalefps, where
// the host has AVX-512F; 0.99 ulp measured) and the portable expansion (5.1
// ulp measured); both flush subnormal results to 0 and are exact at -inf,
// +inf, NaN, 0, underflow and overflow.
// REQUIRES: avx512f
// RUN: rm -rf %t && %torch_python %S/Inputs/exp_accuracy.py attn-run %s %t x86-avx512=1 1.5 flush | FileCheck %s --check-prefix=AVX512
// RUN: %torch_python %S/Inputs/exp_accuracy.py attn-run %s %t x86-avx512=0 8 flush | FileCheck %s --check-prefix=PORTABLE
// AVX512: OK x86-avx512=1
// PORTABLE: OK x86-avx512=0

func.func @exp(%x: tensor<512x1024xf32>) -> tensor<512x1024xf32> {
  %0 = math.exp %x : tensor<512x1024xf32>
  return %0 : tensor<512x1024xf32>
}
