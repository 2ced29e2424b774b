// A head split of a batch-1 slice and an attention with partial flash tiles
// both copy between strided buffers. The pipeline must turn those copies into
// loops: left as memref.copy they would call MLIR's `memrefCopy` runtime,
// which an ahead-of-time library cannot link (it needs only libc, libm and
// libomp).
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-opt %s --attn-cpu-pipeline | FileCheck %s --check-prefix=IR
// IR-NOT: memrefCopy
// IR: llvm.func @_mlir_ciface_strided
// RUN: attn-run %s --emit=so -o %t/libstrided.so
// RUN: readelf -dW %t/libstrided.so | FileCheck %s --check-prefix=DEPS
// DEPS-NOT: mlir_c_runner_utils
// DEPS: (NEEDED)
// RUN: env OMP_NUM_THREADS=2 attn-run %s --check | FileCheck %s
// CHECK: output 0: max abs error {{.*}}: OK

func.func @strided(%qkv: tensor<1x100x96xf32>) -> tensor<1x100x32xf32> {
  %q0 = tensor.extract_slice %qkv[0, 0, 0] [1, 100, 32] [1, 1, 1]
      : tensor<1x100x96xf32> to tensor<1x100x32xf32>
  %k0 = tensor.extract_slice %qkv[0, 0, 32] [1, 100, 32] [1, 1, 1]
      : tensor<1x100x96xf32> to tensor<1x100x32xf32>
  %v0 = tensor.extract_slice %qkv[0, 0, 64] [1, 100, 32] [1, 1, 1]
      : tensor<1x100x96xf32> to tensor<1x100x32xf32>
  %q = attn.rearrange %q0 "b n (h d) -> b h n d" {h = 2}
      : tensor<1x100x32xf32> -> tensor<1x2x100x16xf32>
  %k = attn.rearrange %k0 "b n (h d) -> b h n d" {h = 2}
      : tensor<1x100x32xf32> -> tensor<1x2x100x16xf32>
  %v = attn.rearrange %v0 "b n (h d) -> b h n d" {h = 2}
      : tensor<1x100x32xf32> -> tensor<1x2x100x16xf32>
  %o_init = tensor.empty() : tensor<1x2x100x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>, tensor<1x2x100x16xf32>)
      outs(%o_init : tensor<1x2x100x16xf32>) scale(0.25) -> tensor<1x2x100x16xf32>
  %r = attn.rearrange %o "b h n d -> b n (h d)"
      : tensor<1x2x100x16xf32> -> tensor<1x100x32xf32>
  return %r : tensor<1x100x32xf32>
}
