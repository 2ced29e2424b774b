// RUN: attn-opt %s --split-input-file --convert-einsum-to-gpu --canonicalize | FileCheck %s
// RUN: attn-opt %s --split-input-file --convert-einsum-to-gpu=remarks=true --verify-diagnostics -o /dev/null

// nn.Linear with its [out, in] weight: M = b n = 210 (partial CTA tile),
// N = 264, K = 136 (a partial K step), B read as [N, K] (no transpose in
// ldmatrix). 128 x 128 CTA tiles: 3 x 2 CTAs of 128 threads, 3 stages of
// 2 x 16 KiB.
// CHECK-LABEL: func.func @linear(
// CHECK: bufferization.to_buffer %arg0 read_only : tensor<3x70x136xbf16> to memref<3x70x136xbf16>
// CHECK: bufferization.to_buffer %arg1 read_only : tensor<264x136xbf16> to memref<264x136xbf16>
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 128 : i64} : memref<3x70x264xbf16>
// CHECK: gpu.launch_func @attn_kernels::@[[K:attn_gemm_sm80_bf16_nt_b1_m210_n264_k136_sa0_sb0_s3_x3ff0000000000000]] blocks in (%c3, %c2, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c98304_i32
// CHECK: bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: gpu.func @[[K]](%{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// Stages 0 and 1 (2 K steps in flight), zero-filling past M and K: 8 A and
// 8 B chunks of 16 bytes per thread each.
// CHECK-COUNT-16: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-COUNT-16: nvvm.cp.async.shared.global
// CHECK-NEXT: nvvm.cp.async.commit.group
// The K loop carries the thread's 4 x 8 m16n8 accumulators.
// CHECK: %{{.*}}:128 = scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.barrier0
// CHECK: scf.if
// CHECK-COUNT-16: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// Per step of 16: 4 ldmatrix.x4 of A, 4 of B (two n8 tiles each), 32 mma.
// CHECK-COUNT-8: nvvm.ldmatrix {{.*}}layout = #nvvm.mma_layout<row>, num = 4
// CHECK-COUNT-32: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>
// CHECK-NOT: nvvm.barrier0
// CHECK: scf.yield
// Bounds-checked stores of rounded column pairs.
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: scf.if
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<1>
func.func @linear(%x: tensor<3x70x136xbf16>, %w: tensor<264x136xbf16>) -> tensor<3x70x264xbf16> {
  // expected-remark @below {{tensor-core GEMM: attn_gemm_sm80_bf16_nt_b1_m210_n264_k136_sa0_sb0_s3_x3ff0000000000000, 3x2x1 CTAs}}
  %0 = attn.einsum "b n c, o c -> b n o" (%x, %w)
      : (tensor<3x70x136xbf16>, tensor<264x136xbf16>) -> tensor<3x70x264xbf16>
  return %0 : tensor<3x70x264xbf16>
}

// -----

// A [K, N] weight (the frontend's embedded x @ W layout): B through
// ldmatrix.trans; the scale multiplies the f32 result before rounding.
// CHECK-LABEL: func.func @linear_nn(
// CHECK: gpu.launch_func @attn_kernels::@[[K:attn_gemm_sm80_f16_nn_b1_m200_n136_k200_sa0_sb0_s3_x3fe0000000000000]]
// CHECK: gpu.func @[[K]](
// CHECK: scf.for
// CHECK: nvvm.ldmatrix {{.*}}layout = #nvvm.mma_layout<col>, num = 4
// CHECK: nvvm.mma.sync {{.*}} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// CHECK: scf.yield
// CHECK: arith.mulf %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xf16>
func.func @linear_nn(%x: tensor<2x100x200xf16>, %w: tensor<200x136xf16>) -> tensor<2x100x136xf16> {
  // expected-remark @below {{tensor-core GEMM}}
  %0 = attn.einsum "b n i, i o -> b n o" (%x, %w) scale(0.5)
      : (tensor<2x100x200xf16>, tensor<200x136xf16>) -> tensor<2x100x136xf16>
  return %0 : tensor<2x100x136xf16>
}

// -----

// Batched: b and h are batch labels (grid z), each entry's A and B at
// strides M K and K N.
// CHECK-LABEL: func.func @bmm(
// CHECK: gpu.launch_func @attn_kernels::@attn_gemm_sm80_bf16_nn_b6_m130_n136_k72_sa9360_sb9792_s3_x3ff0000000000000 blocks in (%c2, %c2, %c6)
// CHECK: nvvm.read.ptx.sreg.ctaid.z range <i32, 0, 6>
func.func @bmm(%a: tensor<3x2x130x72xbf16>, %b: tensor<3x2x72x136xbf16>) -> tensor<3x2x130x136xbf16> {
  // expected-remark @below {{tensor-core GEMM}}
  %0 = attn.einsum "b h i k, b h k j -> b h i j" (%a, %b)
      : (tensor<3x2x130x72xbf16>, tensor<3x2x72x136xbf16>) -> tensor<3x2x130x136xbf16>
  return %0 : tensor<3x2x130x136xbf16>
}

// -----

// Left for convert-attn-to-linalg, with the reason.
// CHECK-LABEL: func.func @unsupported(
// CHECK-COUNT-5: attn.einsum
// CHECK-NOT: gpu.launch_func
func.func @unsupported(%f: tensor<64x64xf32>, %a: tensor<64x64xbf16>,
                       %c: tensor<64x60xbf16>, %t: tensor<8x64x16xbf16>,
                       %u: tensor<8x16xbf16>)
    -> (tensor<64x64xf32>, tensor<64x64xbf16>, tensor<64x64xbf16>,
        tensor<64x60xbf16>, tensor<8x16xbf16>) {
  // expected-remark @below {{not a tensor-core GEMM: element type is not f16 or bf16}}
  %0 = attn.einsum "i k, j k -> i j" (%f, %f) : (tensor<64x64xf32>, tensor<64x64xf32>) -> tensor<64x64xf32>
  // expected-remark @below {{not a tensor-core GEMM: the operands are not laid out as [batch, M, K] x B -> [batch, M, N]}}
  %1 = attn.einsum "k i, k j -> i j" (%a, %a) : (tensor<64x64xbf16>, tensor<64x64xbf16>) -> tensor<64x64xbf16>
  // expected-remark @below {{not a tensor-core GEMM: the operands are not laid out as [batch, M, K] x B -> [batch, M, N]}}
  %2 = attn.einsum "i k, j k -> j i" (%a, %a) : (tensor<64x64xbf16>, tensor<64x64xbf16>) -> tensor<64x64xbf16>
  // expected-remark @below {{not a tensor-core GEMM: N = 60 is not a multiple of 8}}
  %3 = attn.einsum "i k, k j -> i j" (%a, %c) : (tensor<64x64xbf16>, tensor<64x60xbf16>) -> tensor<64x60xbf16>
  // expected-remark @below {{not a tensor-core GEMM: label 'n' is summed in one operand only}}
  %4 = attn.einsum "b n k, b k -> b k" (%t, %u) : (tensor<8x64x16xbf16>, tensor<8x16xbf16>) -> tensor<8x16xbf16>
  return %0, %1, %2, %3, %4 : tensor<64x64xf32>, tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x60xbf16>, tensor<8x16xbf16>
}
