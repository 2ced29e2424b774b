// RUN: attn-opt %s --attn-gpu-pipeline=tensor-cores=0 --mlir-print-ir-after=gpu-kernel-outlining -o /dev/null 2>&1 | FileCheck %s --check-prefix=KERNEL
// RUN: attn-opt %s --attn-gpu-pipeline=tensor-cores=0 | FileCheck %s --check-prefix=HOST
// RUN: attn-opt %s --attn-gpu-pipeline=tensor-cores=0 | FileCheck %s --check-prefix=PTX
// RUN: attn-opt %s --attn-gpu-pipeline=tensor-cores=0 | FileCheck %s --check-prefix=NOLIB
// RUN: attn-opt %s --attn-gpu-pipeline="chip=sm_80 features=+ptx75 q-tile=16 kv-tile=16 threads=64 tensor-cores=0" | FileCheck %s --check-prefix=OPTS
// Without tensor cores (tensor-cores=0, or a chip before sm_80, or an
// attention the tensor-core kernel does not support), the GPU pipeline maps
// the flash loop nest to one kernel: a block per
// (batch, query tile), its threads sharing the tiles in shared memory,
// barriers between the steps of the online softmax; the host copies the
// inputs to managed memory, launches, and frees what it does not return.

// KERNEL-LABEL: func.func @attention(
// KERNEL: gpu.alloc host_shared () : memref<2x64x64xbf16>
// KERNEL: gpu.memcpy async
// 2 batches x (64 queries / q-tile 32) blocks of 128 threads.
// KERNEL: gpu.launch_func @attention_kernel::@attention_kernel blocks in (%c4, %c1, %c1) threads in (%c128, %c1, %c1)
// KERNEL: gpu.dealloc async
// KERNEL: return %{{.*}} : memref<2x64x64xbf16>
// KERNEL: gpu.module @attention_kernel
// KERNEL: gpu.func @attention_kernel(
// KERNEL-SAME: workgroup(
// KERNEL-SAME: #gpu.address_space<workgroup>
// KERNEL-SAME: kernel
// The Q tile is staged into shared memory once, before the kv loop.
// KERNEL: memref.memory_space_cast %{{.*}} : memref<32x64xbf16, #gpu.address_space<workgroup>> to memref<32x64xbf16>
// KERNEL: scf.for %{{.*}} = %thread_id_x to
// KERNEL: gpu.barrier
// The kv loop stages K and V tiles, then the softmax steps follow.
// KERNEL: scf.for
// KERNEL: memref.memory_space_cast %{{.*}} : memref<32x64xbf16, #gpu.address_space<workgroup>> to memref<32x64xbf16>
// KERNEL: gpu.barrier
// KERNEL: arith.extf %{{.*}} : bf16 to f32
// KERNEL: math.exp
// KERNEL: gpu.barrier
// KERNEL: arith.truncf %{{.*}} : f32 to bf16
// KERNEL: gpu.return

// HOST-NOT: attn.
// HOST-NOT: linalg.
// HOST-NOT: scf.
// HOST-LABEL: llvm.func @attention(
// HOST: llvm.call @mgpuMemAlloc(
// HOST: llvm.call @mgpuMemcpy(
// HOST: gpu.launch_func @attention_kernel::@attention_kernel
// HOST: llvm.call @mgpuMemFree(
// HOST: llvm.func @_mlir_ciface_attention(
// HOST: gpu.binary @attention_kernel [#gpu.object<#nvvm.target<O = 3, chip = "sm_90", features = "+ptx80">

// The embedded PTX (escaped in the attribute: checked piece by piece).
// PTX: gpu.binary @attention_kernel
// PTX-SAME: .target sm_90
// PTX-SAME: .visible .entry attention_kernel(
// PTX-SAME: .maxntid 128, 1, 1
// PTX-SAME: .shared .align
// PTX-SAME: ld.global
// PTX-SAME: st.shared
// PTX-SAME: bar.sync
// PTX-SAME: ld.shared
// PTX-SAME: ex2.approx.ftz.f32
// PTX-SAME: cvt.rn.bf16.f32
// PTX-SAME: st.global

// No libdevice calls: without a CUDA toolkit nothing resolves them.
// NOLIB-NOT: __nv_
// NOLIB-NOT: .extern .func

// OPTS: gpu.launch_func @attention_kernel::@attention_kernel blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}})
// OPTS: #nvvm.target<O = 3, chip = "sm_80", features = "+ptx75">
// OPTS-SAME: .target sm_80
// OPTS-SAME: .maxntid 64, 1, 1
func.func @attention(%q: tensor<2x64x64xbf16>, %k: tensor<2x96x64xbf16>,
                     %v: tensor<2x96x64xbf16>) -> tensor<2x64x64xbf16> {
  %init_0 = tensor.empty() : tensor<2x64x64xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<2x64x64xbf16>, tensor<2x96x64xbf16>, tensor<2x96x64xbf16>)
      outs(%init_0 : tensor<2x64x64xbf16>) scale(0.125) causal -> tensor<2x64x64xbf16>
  return %0 : tensor<2x64x64xbf16>
}
