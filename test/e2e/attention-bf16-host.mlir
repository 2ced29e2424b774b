// On an AMD Zen 4 or later with AVX512-BF16 (VDPBF16PS at the FMA's rate),
// attn-run keeps a bf16 attention's keys and values bf16 by itself, so the
// flash nest's block products are bf16 micro-kernel calls (which run on
// VDPBF16PS there: attn_uk_bf16_path), and the result still matches the f64
// reference within bf16 tolerance; the options can turn it off.
// REQUIRES: fast-avx512-bf16
// RUN: env OMP_NUM_THREADS=2 attn-run %s --check --print-ir-after-all 2>&1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --check --print-ir-after-all --cpu-pipeline=amx-bf16=0 2>&1 | FileCheck %s --check-prefix=OFF
// CHECK: IR Dump After ContractionsToUkernelsPass
// CHECK: call @attn_uk_matmul_bf16_overwrite(
// CHECK: call @attn_uk_matmul_bf16(
// CHECK: output 0: max abs error {{.*}}: OK
// OFF: IR Dump After ContractionsToUkernelsPass
// OFF-NOT: attn_uk_matmul_bf16
// OFF: output 0: max abs error {{.*}}: OK

func.func @attention(%q: tensor<1x4x150x64xbf16>, %k: tensor<1x4x150x64xbf16>,
                     %v: tensor<1x4x150x64xbf16>) -> tensor<1x4x150x64xbf16> {
  %init = tensor.empty() : tensor<1x4x150x64xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<1x4x150x64xbf16>, tensor<1x4x150x64xbf16>, tensor<1x4x150x64xbf16>)
      outs(%init : tensor<1x4x150x64xbf16>) scale(0.125) -> tensor<1x4x150x64xbf16>
  return %o : tensor<1x4x150x64xbf16>
}
