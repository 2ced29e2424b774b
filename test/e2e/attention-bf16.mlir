// bf16 inputs, fused and unfused, against the f64 reference computed from the
// same rounded inputs (default bf16 tolerance).
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=unfused --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=unfused --check | FileCheck %s
// Larger shapes: several key blocks of 64 and a partial one (150 keys), and a
// linear whose bf16 operands attn-tile-and-vectorize widens to f32 for the
// register-tiled micro-kernel (full and partial 8 x 32 tiles).
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused_blocks --check | FileCheck %s
// The same widened to f32 explicitly (attn-run keeps bf16 flash products by
// default on AMD Zen 4 and later: attention-bf16-host.mlir).
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check --cpu-pipeline=amx-bf16=0 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused_blocks --check --cpu-pipeline=amx-bf16=0 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=linear --check | FileCheck %s
// The flash nest's products as bf16 micro-kernel calls (amx-bf16: keys and
// values left bf16, P rounded to bf16 for P V): on AMX where the host has it,
// widened per call elsewhere (or on AVX512-BF16 where asked for and there), the
// same check either way.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused_blocks --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=fused_long --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=widen attn-run %s --entry=fused_long --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=avx512bf16 attn-run %s --entry=fused_long --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=causal_long --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=causal_long --check --cpu-pipeline=amx-bf16=0 | FileCheck %s
// 257 tokens (one query and one key past the last full block): every product
// of both nests on the bf16 micro-kernel, each mode, and no widened scalar loop.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=fused_tails --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 ATTN_UKERNEL_BF16=widen attn-run %s --entry=fused_tails --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 ATTN_UKERNEL_BF16=avx512bf16 attn-run %s --entry=fused_tails --check --cpu-pipeline=amx-bf16=1 | FileCheck %s
// RUN: attn-opt %s --attn-cpu-pipeline=amx-bf16=1 --mlir-print-ir-before=convert-scf-to-openmp -o /dev/null 2>&1 | FileCheck %s --check-prefix=TAILS
// A shared library of the bf16 calls links (the bf16 micro-kernel needs nothing
// beyond libc: no compiler-rt CPU-model symbols).
// RUN: attn-run %s --entry=fused_long --emit=so -o %t.so --cpu-pipeline=amx-bf16=1
// RUN: attn-run %s --entry=linear --emit=so -o %t.so
// The lowered code: the block products are bf16 calls.
// RUN: attn-opt %s --attn-cpu-pipeline=amx-bf16=1 | FileCheck %s --check-prefix=IR
// IR-LABEL: llvm.func @fused_long(
//       IR: llvm.call @attn_uk_matmul_bf16_overwrite(
//       IR: llvm.call @attn_uk_matmul_bf16(
// CHECK: output 0: max abs error {{.*}}: OK

func.func @fused(%q: tensor<2x4x33x16xbf16>, %k: tensor<2x4x33x16xbf16>,
                 %v: tensor<2x4x33x16xbf16>) -> tensor<2x4x33x16xbf16> {
  %o_init = tensor.empty() : tensor<2x4x33x16xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x4x33x16xbf16>, tensor<2x4x33x16xbf16>, tensor<2x4x33x16xbf16>)
      outs(%o_init : tensor<2x4x33x16xbf16>) scale(0.25) -> tensor<2x4x33x16xbf16>
  return %o : tensor<2x4x33x16xbf16>
}

func.func @unfused(%q: tensor<2x4x33x16xbf16>, %k: tensor<2x4x33x16xbf16>,
                   %v: tensor<2x4x33x16xbf16>) -> tensor<2x4x33x16xbf16> {
  %s = attn.einsum "b h i d, b h j d -> b h i j" (%q, %k) scale(0.25)
      : (tensor<2x4x33x16xbf16>, tensor<2x4x33x16xbf16>) -> tensor<2x4x33x33xbf16>
  %p = attn.softmax %s axis(-1) : tensor<2x4x33x33xbf16>
  %o = attn.einsum "b h i j, b h j d -> b h i d" (%p, %v)
      : (tensor<2x4x33x33xbf16>, tensor<2x4x33x16xbf16>) -> tensor<2x4x33x16xbf16>
  return %o : tensor<2x4x33x16xbf16>
}

func.func @fused_blocks(%q: tensor<2x150x32xbf16>, %k: tensor<2x150x32xbf16>,
                        %v: tensor<2x150x32xbf16>) -> tensor<2x150x32xbf16> {
  %o_init = tensor.empty() : tensor<2x150x32xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x150x32xbf16>, tensor<2x150x32xbf16>, tensor<2x150x32xbf16>)
      outs(%o_init : tensor<2x150x32xbf16>) scale(0.17677669529663687) -> tensor<2x150x32xbf16>
  return %o : tensor<2x150x32xbf16>
}

func.func @linear(%x: tensor<2x70x96xbf16>, %w: tensor<96x80xbf16>)
    -> tensor<2x70x80xbf16> {
  %y = attn.einsum "b n i, i o -> b n o" (%x, %w)
      : (tensor<2x70x96xbf16>, tensor<96x80xbf16>) -> tensor<2x70x80xbf16>
  return %y : tensor<2x70x80xbf16>
}

// Several 64-query blocks and 128-key blocks (d = 64, the sizes of the
// bench rows), a partial last block of each.
func.func @fused_long(%q: tensor<2x300x64xbf16>, %k: tensor<2x300x64xbf16>,
                      %v: tensor<2x300x64xbf16>) -> tensor<2x300x64xbf16> {
  %o_init = tensor.empty() : tensor<2x300x64xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x300x64xbf16>, tensor<2x300x64xbf16>, tensor<2x300x64xbf16>)
      outs(%o_init : tensor<2x300x64xbf16>) scale(0.125) -> tensor<2x300x64xbf16>
  return %o : tensor<2x300x64xbf16>
}

func.func @causal_long(%q: tensor<2x2x260x64xbf16>, %k: tensor<2x2x260x64xbf16>,
                       %v: tensor<2x2x260x64xbf16>) -> tensor<2x2x260x64xbf16> {
  %o_init = tensor.empty() : tensor<2x2x260x64xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<2x2x260x64xbf16>, tensor<2x2x260x64xbf16>, tensor<2x2x260x64xbf16>)
      outs(%o_init : tensor<2x2x260x64xbf16>) scale(0.125) causal -> tensor<2x2x260x64xbf16>
  return %o : tensor<2x2x260x64xbf16>
}

// TAILS-LABEL: func.func @fused_tails(
// TAILS:         scf.parallel
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16_overwrite(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16_overwrite(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16_overwrite(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16_overwrite(
// TAILS-NOT:     arith.extf
// TAILS:         func.call @attn_uk_matmul_bf16(
// TAILS-NOT:     arith.extf
// TAILS:         return
// ViT's 257 tokens: a last block of one query and one of one key, whose
// products (the scores' N = 1, P V's K = 1, the last query's M = 1) are
// micro-kernel calls of size 1 too, not scalar loops.
func.func @fused_tails(%q: tensor<1x2x257x64xbf16>, %k: tensor<1x2x257x64xbf16>,
                       %v: tensor<1x2x257x64xbf16>) -> tensor<1x2x257x64xbf16> {
  %o_init = tensor.empty() : tensor<1x2x257x64xbf16>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x257x64xbf16>, tensor<1x2x257x64xbf16>, tensor<1x2x257x64xbf16>)
      outs(%o_init : tensor<1x2x257x64xbf16>) scale(0.125) -> tensor<1x2x257x64xbf16>
  return %o : tensor<1x2x257x64xbf16>
}
