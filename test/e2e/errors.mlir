// attn-run's error paths: each prints a located or named `error:` and exits 1.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not attn-run %s --entry=missing 2>&1 | FileCheck %s --check-prefix=ENTRY
// ENTRY: error: no function @missing in '{{.*}}errors.mlir'; available functions: @small, @other
// RUN: not attn-run %s 2>&1 | FileCheck %s --check-prefix=NOENTRY
// NOENTRY: error: no --entry given and the module has 2 functions; available functions: @small, @other
// RUN: not attn-run %t/does-not-exist.mlir 2>&1 | FileCheck %s --check-prefix=NOFILE
// NOFILE: error: cannot open input file '{{.*}}does-not-exist.mlir'
// RUN: echo "func.func @f() { %%x = " > %t/bad.mlir
// RUN: not attn-run %t/bad.mlir 2>&1 | FileCheck %s --check-prefix=PARSE
// PARSE: bad.mlir:1:{{[0-9]+}}: error:
// PARSE: error: could not parse
// RUN: echo "not a numpy file" > %t/bad.npy
// RUN: not attn-run %s --entry=small --input=%t/bad.npy 2>&1 | FileCheck %s --check-prefix=BADNPY
// BADNPY: error: argument #0 of @small: '{{.*}}bad.npy' is not a .npy file (bad magic string)
// RUN: attn-run %s --entry=other --output=%t/other
// RUN: not attn-run %s --entry=small --input=%t/other.0.npy 2>&1 | FileCheck %s --check-prefix=SHAPE
// SHAPE: error: argument #0 of @small expects f32 [4x5] but '{{.*}}other.0.npy' holds f32 [3x5]
// RUN: head -c 140 %t/other.0.npy > %t/truncated.npy
// RUN: not attn-run %s --entry=small --input=%t/truncated.npy 2>&1 | FileCheck %s --check-prefix=TRUNC
// TRUNC: error: argument #0 of @small: '{{.*}}truncated.npy' is truncated: expected 60 bytes of data
// RUN: not attn-run %s --entry=small --input=%t/other.0.npy,%t/other.0.npy 2>&1 | FileCheck %s --check-prefix=COUNT
// COUNT: error: @small takes 1 arguments but 2 --input files were given
// RUN: not attn-run %s --entry=small --no-such-flag 2>&1 | FileCheck %s --check-prefix=FLAG
// FLAG: Unknown command line argument '--no-such-flag'
// RUN: not attn-run %s --entry=small --cpu-pipeline="fuse-elementwise=0 bogus=1" 2>&1 | FileCheck %s --check-prefix=PIPELINE
// PIPELINE: no such option bogus
// PIPELINE: attn-run: error: invalid --cpu-pipeline options 'fuse-elementwise=0 bogus=1'
// RUN: not attn-run %s --entry=small --emit=so 2>&1 | FileCheck %s --check-prefix=EMIT
// EMIT: error: --emit needs -o <file>

func.func @small(%x: tensor<4x5xf32>) -> tensor<4x5xf32> {
  %y = attn.softmax %x axis(1) : tensor<4x5xf32>
  return %y : tensor<4x5xf32>
}

func.func @other(%x: tensor<3x5xf32>) -> tensor<3x5xf32> {
  %y = attn.softmax %x axis(0) : tensor<3x5xf32>
  return %y : tensor<3x5xf32>
}
