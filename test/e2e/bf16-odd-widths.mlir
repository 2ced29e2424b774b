// bf16 adds of two loaded rows of 8k + 1 elements (9, 17, 49, 65: a Swin
// window of 7 x 7 is 49), which LLVM 22's x86 backend aborted on ("Do not
// know how to soft promote this operator's operand") when the target has
// native bf16 conversions (AVX512-BF16): attn-run compiles for the host
// without them. JIT and ahead-of-time paths, against the f64 reference.
// RUN: env OMP_NUM_THREADS=2 attn-run %s --entry=window --check | FileCheck %s
// RUN: env OMP_NUM_THREADS=1 attn-run %s --entry=rows --check | FileCheck %s
// RUN: attn-run %s --entry=window --emit=obj -o %t.o && test -s %t.o
// CHECK: output 0: max abs error {{.*}}: OK

func.func @window(%a: tensor<64x49xbf16>, %b: tensor<64x49xbf16>) -> tensor<64x49xbf16> {
  %r = arith.addf %a, %b : tensor<64x49xbf16>
  return %r : tensor<64x49xbf16>
}

func.func @rows(%a: tensor<3x9xbf16>, %b: tensor<3x9xbf16>, %c: tensor<2x17xbf16>, %d: tensor<2x17xbf16>,
                %e: tensor<5x65xbf16>, %f: tensor<5x65xbf16>) -> (tensor<3x9xbf16>, tensor<2x17xbf16>, tensor<5x65xbf16>) {
  %x = arith.addf %a, %b : tensor<3x9xbf16>
  %y = arith.mulf %c, %d : tensor<2x17xbf16>
  %z = arith.subf %e, %f : tensor<5x65xbf16>
  return %x, %y, %z : tensor<3x9xbf16>, tensor<2x17xbf16>, tensor<5x65xbf16>
}
