// Ahead-of-time: attn-run emits a shared library and a C header; a plain C
// program links the library, calls the generated wrapper and checks the
// result against its own loops. The library must need only libc, libm and
// libomp at run time.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attn-run %s --emit=so -o %t/libsmall_attention.so --header=%t/small_attention.h
// RUN: readelf -dW %t/libsmall_attention.so | FileCheck %s --check-prefix=DEPS
// DEPS-NOT: libMLIR
// DEPS-NOT: libLLVM
// DEPS-NOT: mlir_c_runner_utils
// DEPS: (NEEDED)
// RUN: clang-22 -std=c99 -Wall -Werror %S/Inputs/aot_main.c -I%t -L%t -lsmall_attention -Wl,-rpath,%t -lm -o %t/aot_main
// RUN: env OMP_NUM_THREADS=1 %t/aot_main | FileCheck %s
// RUN: env OMP_NUM_THREADS=2 %t/aot_main | FileCheck %s
// CHECK: OK
// RUN: attn-run %s --emit=obj -o %t/small.o
// RUN: readelf -sW %t/small.o | FileCheck %s --check-prefix=SYMS
// SYMS: GLOBAL {{.*}} _mlir_ciface_small_attention

func.func @small_attention(%q: tensor<2x8x16xf32>, %k: tensor<2x8x16xf32>,
                           %v: tensor<2x8x16xf32>) -> tensor<2x8x16xf32> {
  %o_init = tensor.empty() : tensor<2x8x16xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x8x16xf32>, tensor<2x8x16xf32>, tensor<2x8x16xf32>)
      outs(%o_init : tensor<2x8x16xf32>) scale(0.25) causal -> tensor<2x8x16xf32>
  return %o : tensor<2x8x16xf32>
}
