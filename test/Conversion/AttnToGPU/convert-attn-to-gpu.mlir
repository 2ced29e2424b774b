// RUN: attn-opt %s --split-input-file --convert-attn-to-gpu --canonicalize | FileCheck %s
// RUN: attn-opt %s --split-input-file --convert-attn-to-gpu=remarks=true --verify-diagnostics -o /dev/null
// RUN: not attn-opt %s --split-input-file --convert-attn-to-gpu=chip=sm_75 -o /dev/null 2>&1 | FileCheck %s --check-prefix=CHIP
// RUN: attn-opt %s --split-input-file --convert-attn-to-gpu=chip=sm_90a --canonicalize | FileCheck %s --check-prefix=SM90A

// CHIP: error: convert-attn-to-gpu: chip 'sm_75' is not sm_80 or later

// The host side, on tensors: the operands as read-only buffers, a fresh
// output, one launch of a CTA per (64 queries, batch entry) with 128 threads
// and 8 KiB (Q) + 2 stages x 2 x 8 KiB (K, V) of dynamic shared memory.
// CHECK-LABEL: func.func @attention(
// CHECK: %[[Q:.*]] = bufferization.to_buffer %arg0 read_only : tensor<2x4x128x64xbf16> to memref<2x4x128x64xbf16>
// CHECK: memref.extract_aligned_pointer_as_index %[[Q]]
// CHECK: bufferization.to_buffer %arg1 read_only
// CHECK: bufferization.to_buffer %arg2 read_only
// CHECK: %[[OUT:.*]] = memref.alloc() {alignment = 128 : i64} : memref<2x4x128x64xbf16>
// CHECK: gpu.launch_func @attn_kernels::@[[KERNEL:attn_flash_sm80_bf16_b8_q128_k192_d64_w4_n64_s2_x[0-9a-f]+]] blocks in (%c2, %c8, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c40960_i32 args(%{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)
// CHECK: %[[RESULT:.*]] = bufferization.to_tensor %[[OUT]] restrict writable
// CHECK: return %[[RESULT]]

// The kernel: noalias arguments, the inputs read-only.
// CHECK: gpu.module @attn_kernels
// CHECK: llvm.mlir.global external @attn_dynamic_shared_memory() {addr_space = 3 : i32, alignment = 1024 : i64} : !llvm.array<0 x i8>
// CHECK: gpu.func @[[KERNEL]](%{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}, %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias}) kernel attributes {known_block_size = array<i32: 128, 1, 1>}
// Group 0: the Q tile (64 rows of 8 16-byte chunks over 128 threads);
// group 1: the first K and V blocks. All 192 keys are full blocks and there
// is no mask: no zero-fill, one unmasked key loop.
// CHECK-COUNT-4: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-COUNT-8: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
// CHECK-NEXT: nvvm.cp.async.commit.group
// CHECK-NEXT: nvvm.cp.async.wait.group 1
// CHECK-NEXT: nvvm.barrier0
// Q's A fragments: one ldmatrix.x4 per 16 of the 64 features.
// CHECK-COUNT-4: nvvm.ldmatrix %{{.*}} {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<row>, num = 4 : i32
// One key loop carrying 8 accumulator fragments x 4 + max and sum x 2.
// CHECK: %{{.*}}:36 = scf.for
// CHECK-NEXT: nvvm.cp.async.wait.group 0
// CHECK-NEXT: nvvm.barrier0
// The next block's copies, then one commit per iteration.
// CHECK: scf.if
// CHECK-COUNT-8: nvvm.cp.async.shared.global
// CHECK: nvvm.cp.async.commit.group
// S = Q Kᵀ: 4 feature steps x 4 ldmatrix.x4 (two key octets each) x 2 mma.
// CHECK-COUNT-32: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
// Row maxima over the quad, 2 rows x (16 + 1) exponentials.
// CHECK-COUNT-2: nvvm.shfl.sync bfly
// CHECK-COUNT-34: llvm.nvvm.ex2.approx.ftz.f
// P, rounded to bf16 pairs, is the A operand of O += P V (V by ldmatrix.trans).
// CHECK: arith.truncf %{{.*}} : vector<2xf32> to vector<2xbf16>
// CHECK: nvvm.ldmatrix %{{.*}}layout = #nvvm.mma_layout<col>, num = 4
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK: scf.yield
// CHECK-NOT: nvvm.mma.sync
// Epilogue: row sums over the quad, O / l staged through shared memory,
// 16-byte global stores.
// CHECK: nvvm.shfl.sync bfly
// CHECK: nvvm.bar.warp.sync
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<4xi32>
// CHECK: llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xi32>, !llvm.ptr<1>
// CHECK: gpu.return
// sm_90a: 8 KiB more shared memory (the P tile); no ldmatrix or mma.sync.
// Per key block: the copies fenced for the async proxy, S by 4 wgmma
// m64n64k16 (K-major descriptors: stride 1024 bytes, 128-byte swizzle) in
// one committed group, P stored to shared memory, fenced, a barrier, then 4
// wgmma m64n64k16 with V N-major (layout row).
// SM90A-LABEL: func.func @attention(
// SM90A: gpu.launch_func @attn_kernels::@attn_flash_sm90a_bf16_b8_q128_k192_d64_w4_n64_s2_x{{[0-9a-f]+}} {{.*}} dynamic_shared_memory_size %c49152_i32
// SM90A: gpu.func @attn_flash_sm90a_
// SM90A-NOT: nvvm.ldmatrix
// SM90A: scf.for
// SM90A-NEXT: nvvm.cp.async.wait.group 0
// SM90A-NEXT: nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
// SM90A-NEXT: nvvm.barrier0
// SM90A: nvvm.wgmma.fence.aligned
// SM90A-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>]
// SM90A-NEXT: nvvm.wgmma.commit.group.sync.aligned
// SM90A-NEXT: nvvm.wgmma.wait.group.sync.aligned 0
// SM90A: llvm.store %{{.*}}, %{{.*}} {alignment = 4 : i64} : i32, !llvm.ptr<3>
// SM90A: nvvm.fence.proxy
// SM90A-NEXT: nvvm.barrier0
// SM90A: nvvm.wgmma.fence.aligned
// SM90A-COUNT-4: nvvm.wgmma.mma_async {{.*}} <m = 64, n = 64, k = 16>, D[<f32>, <one>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <row>]
// SM90A-NOT: nvvm.mma.sync
// SM90A: scf.yield
func.func @attention(%q: tensor<2x4x128x64xbf16>, %k: tensor<2x4x192x64xbf16>,
                     %v: tensor<2x4x192x64xbf16>) -> tensor<2x4x128x64xbf16> {
  %init_0 = tensor.empty() : tensor<2x4x128x64xbf16>
  // expected-remark @below {{tensor-core flash attention: attn_flash_sm80_bf16_b8_q128_k192_d64_w4_n64_s2_x3fc0000000000000, 2x8 CTAs of 128 threads, 40960 bytes of shared memory}}
  %0 = attn.attention ins(%q, %k, %v : tensor<2x4x128x64xbf16>, tensor<2x4x192x64xbf16>, tensor<2x4x192x64xbf16>)
      outs(%init_0 : tensor<2x4x128x64xbf16>) scale(0.125) -> tensor<2x4x128x64xbf16>
  return %0 : tensor<2x4x128x64xbf16>
}

// -----

// Causal f16 at d = 128 with a partial query block (100 rows) and a partial
// key block (100 keys): copies past the end are zero-filled (src-size), the
// causal CTAs start with the longest rows, and after the unmasked blocks a
// second key loop masks the diagonal and the end.
// CHECK-LABEL: func.func @causal_partial(
// CHECK: gpu.launch_func @attn_kernels::@[[KERNEL:attn_flash_sm80_f16_b1_q100_k100_d128_w4_n64_s2_causal_x[0-9a-f]+]] blocks in (%c2, %c1, %c1) threads in (%c128, %c1, %c1) dynamic_shared_memory_size %c81920_i32
// CHECK: gpu.func @[[KERNEL]](
// CHECK: %[[BX:.*]] = nvvm.read.ptx.sreg.ctaid.x range <i32, 0, 2> : i32
// CHECK: arith.subi %c1_i32, %[[BX]]
// CHECK: nvvm.cp.async.shared.global %{{.*}}, %{{.*}}, 16, cache = cg, %{{.*}} : !llvm.ptr<3>, !llvm.ptr<1>, i32
// CHECK: scf.for
// CHECK: scf.yield
// CHECK: scf.for
// CHECK: arith.cmpi sle
// CHECK: arith.cmpi slt
// CHECK: arith.select %{{.*}}, %{{.*}}, %cst{{.*}} : f32
// CHECK: arith.cmpf oeq
// CHECK: scf.yield
// Only rows inside the 100 are stored.
// CHECK: scf.if
// CHECK: llvm.store {{.*}} : vector<4xi32>, !llvm.ptr<1>
func.func @causal_partial(%q: tensor<1x100x128xf16>, %k: tensor<1x100x128xf16>,
                          %v: tensor<1x100x128xf16>) -> tensor<1x100x128xf16> {
  %init_0 = tensor.empty() : tensor<1x100x128xf16>
  // expected-remark @below {{tensor-core flash attention: attn_flash_sm80_f16_b1_q100_k100_d128_w4_n64_s2_causal_x3fb6a09e667f3bad, 2x1 CTAs of 128 threads, 81920 bytes of shared memory}}
  %0 = attn.attention ins(%q, %k, %v : tensor<1x100x128xf16>, tensor<1x100x128xf16>, tensor<1x100x128xf16>)
      outs(%init_0 : tensor<1x100x128xf16>) scale(0.088388347648318) causal -> tensor<1x100x128xf16>
  return %0 : tensor<1x100x128xf16>
}

// -----

// A boolean padding mask broadcast over heads and queries: a fifth kernel
// argument, read as bytes in every block (here one, so canonicalisation
// inlines the key loop).
// CHECK-LABEL: func.func @masked(
// CHECK: bufferization.to_buffer %arg3 read_only : tensor<2x1x1x64xi1> to memref<2x1x1x64xi1>
// CHECK: gpu.launch_func @attn_kernels::@[[KERNEL:attn_flash_sm80_bf16_b8_q64_k64_d64_w4_n64_s2_bmask_64_0_0_1_x[0-9a-f]+]] {{.*}} args(%{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr)
// CHECK: gpu.func @[[KERNEL]](
// CHECK-SAME: %{{.*}}: !llvm.ptr {llvm.align = 16 : i64, llvm.noalias, llvm.readonly}) kernel
// CHECK: llvm.load %{{.*}} {alignment = 1 : i64} : !llvm.ptr<1> -> i8
// CHECK: arith.cmpi ne
func.func @masked(%q: tensor<2x4x64x64xbf16>, %k: tensor<2x4x64x64xbf16>,
                  %v: tensor<2x4x64x64xbf16>, %m: tensor<2x1x1x64xi1>)
    -> tensor<2x4x64x64xbf16> {
  %init_0 = tensor.empty() : tensor<2x4x64x64xbf16>
  // expected-remark @below {{tensor-core flash attention}}
  %0 = attn.attention ins(%q, %k, %v : tensor<2x4x64x64xbf16>, tensor<2x4x64x64xbf16>, tensor<2x4x64x64xbf16>) mask(%m : tensor<2x1x1x64xi1>)
      outs(%init_0 : tensor<2x4x64x64xbf16>) scale(0.125) -> tensor<2x4x64x64xbf16>
  return %0 : tensor<2x4x64x64xbf16>
}

// -----

// Equal attentions share one kernel; another shape gets its own.
// CHECK-LABEL: func.func @shared_kernel(
// CHECK: gpu.launch_func @attn_kernels::@[[A:attn_flash_[a-z0-9_]+]] blocks
// CHECK: gpu.launch_func @attn_kernels::@[[A]] blocks
// CHECK: gpu.launch_func @attn_kernels::@[[B:attn_flash_[a-z0-9_]+]] blocks
// CHECK: gpu.func @[[A]](
// CHECK-NOT: gpu.func @[[A]](
// CHECK: gpu.func @[[B]](
func.func @shared_kernel(%x: tensor<1x64x64xf16>, %y: tensor<1x128x64xf16>)
    -> (tensor<1x64x64xf16>, tensor<1x64x64xf16>, tensor<1x128x64xf16>) {
  %init_0 = tensor.empty() : tensor<1x64x64xf16>
  // expected-remark @below {{tensor-core flash attention}}
  %0 = attn.attention ins(%x, %x, %x : tensor<1x64x64xf16>, tensor<1x64x64xf16>, tensor<1x64x64xf16>)
      outs(%init_0 : tensor<1x64x64xf16>) scale(0.125) -> tensor<1x64x64xf16>
  %init_1 = tensor.empty() : tensor<1x64x64xf16>
  // expected-remark @below {{tensor-core flash attention}}
  %1 = attn.attention ins(%0, %x, %x : tensor<1x64x64xf16>, tensor<1x64x64xf16>, tensor<1x64x64xf16>)
      outs(%init_1 : tensor<1x64x64xf16>) scale(0.125) -> tensor<1x64x64xf16>
  %init_2 = tensor.empty() : tensor<1x128x64xf16>
  // expected-remark @below {{tensor-core flash attention}}
  %2 = attn.attention ins(%y, %y, %y : tensor<1x128x64xf16>, tensor<1x128x64xf16>, tensor<1x128x64xf16>)
      outs(%init_2 : tensor<1x128x64xf16>) scale(0.125) -> tensor<1x128x64xf16>
  return %0, %1, %2 : tensor<1x64x64xf16>, tensor<1x64x64xf16>, tensor<1x128x64xf16>
}

// -----

// What the kernel does not cover stays attn.attention, with the reason.
// CHECK-LABEL: func.func @unsupported(
// CHECK-COUNT-4: attn.attention
// CHECK-NOT: gpu.launch_func
func.func @unsupported(%f: tensor<1x64x64xf32>, %h: tensor<1x64x32xbf16>,
                       %a: tensor<1x64x64xbf16>, %w: tensor<64xbf16>,
                       %v: tensor<1x64x128xbf16>)
    -> (tensor<1x64x64xf32>, tensor<1x64x32xbf16>, tensor<1x64x64xbf16>,
        tensor<1x64x128xbf16>) {
  %init_0 = tensor.empty() : tensor<1x64x64xf32>
  // expected-remark @below {{not a tensor-core kernel: element type is not f16 or bf16}}
  %0 = attn.attention ins(%f, %f, %f : tensor<1x64x64xf32>, tensor<1x64x64xf32>, tensor<1x64x64xf32>)
      outs(%init_0 : tensor<1x64x64xf32>) scale(0.125) -> tensor<1x64x64xf32>
  %init_1 = tensor.empty() : tensor<1x64x32xbf16>
  // expected-remark @below {{not a tensor-core kernel: head dimension 32 is not 64 or 128}}
  %1 = attn.attention ins(%h, %h, %h : tensor<1x64x32xbf16>, tensor<1x64x32xbf16>, tensor<1x64x32xbf16>)
      outs(%init_1 : tensor<1x64x32xbf16>) scale(0.125) -> tensor<1x64x32xbf16>
  %init_2 = tensor.empty() : tensor<1x64x64xbf16>
  // expected-remark @below {{not a tensor-core kernel: the score is not a dot product}}
  %2 = attn.attention ins(%a, %a, %a : tensor<1x64x64xbf16>, tensor<1x64x64xbf16>, tensor<1x64x64xbf16>) weight(%w : tensor<64xbf16>)
      outs(%init_2 : tensor<1x64x64xbf16>) scale(1.0) score(additive) -> tensor<1x64x64xbf16>
  %init_3 = tensor.empty() : tensor<1x64x128xbf16>
  // expected-remark @below {{not a tensor-core kernel: value and query head dimensions differ}}
  %3 = attn.attention ins(%a, %a, %v : tensor<1x64x64xbf16>, tensor<1x64x64xbf16>, tensor<1x64x128xbf16>)
      outs(%init_3 : tensor<1x64x128xbf16>) scale(0.125) -> tensor<1x64x128xbf16>
  return %0, %1, %2, %3 : tensor<1x64x64xf32>, tensor<1x64x32xbf16>, tensor<1x64x64xbf16>, tensor<1x64x128xbf16>
}
