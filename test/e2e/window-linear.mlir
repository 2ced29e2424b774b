// A Linear on windows, "a b c d i, i o -> a b c d o" (Swin: windows of 7 x 7
// tokens), whose four row dimensions attn-collapse-parallel-dims makes one
// 196-row product for the micro-kernel, alone and after the window
// partition of a 14 x 14 image: against the f64 reference, on two threads
// and one, and ahead of time. The IR dump runs on one thread: a function
// pass's dumps are otherwise printed from each function's own thread, in no
// fixed order.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=windows --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=partitioned --check | FileCheck %s
// RUN: attn-run %s --entry=windows --emit=obj -o %t.o && test -s %t.o
// RUN: attn-opt %s --mlir-disable-threading --attn-cpu-pipeline -mlir-print-ir-after=attn-collapse-parallel-dims -o /dev/null 2>&1 | FileCheck %s --check-prefix=IR
// CHECK: output 0: max abs error {{.*}}: OK
// IR-LABEL: func.func @windows(
// IR:         memref.collapse_shape %{{.*}} {{\[}}[0, 1, 2, 3], [4]] : memref<2x2x7x7x96xf32> into memref<196x96xf32>
// IR-LABEL: func.func @partitioned(
// IR:         memref.collapse_shape %{{.*}} {{\[}}[0, 1, 2, 3], [4]] : memref<2x2x7x7x96xf32> into memref<196x96xf32>

func.func @windows(%x: tensor<2x2x7x7x96xf32>, %w: tensor<96x288xf32>) -> tensor<2x2x7x7x288xf32> {
  %y = attn.einsum "a b c d i, i o -> a b c d o" (%x, %w) : (tensor<2x2x7x7x96xf32>, tensor<96x288xf32>) -> tensor<2x2x7x7x288xf32>
  return %y : tensor<2x2x7x7x288xf32>
}

func.func @partitioned(%x: tensor<1x14x14x96xf32>, %w: tensor<96x64xf32>) -> tensor<2x2x7x7x64xf32> {
  %p = attn.rearrange %x "b (h c) (w d) i -> (b h) w c d i" {c = 7, d = 7} : tensor<1x14x14x96xf32> -> tensor<2x2x7x7x96xf32>
  %y = attn.einsum "a b c d i, i o -> a b c d o" (%p, %w) : (tensor<2x2x7x7x96xf32>, tensor<96x64xf32>) -> tensor<2x2x7x7x64xf32>
  return %y : tensor<2x2x7x7x64xf32>
}
