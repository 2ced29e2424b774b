// REQUIRES: ptxas, nvdisasm
// The tensor-core flash-attention kernels, assembled by ptxas and
// disassembled: no spills and no stack, HMMA (mma.sync) inside the key
// loops, ldmatrix feeding them, cp.async (LDGSTS) copies, one barrier per key
// block, and registers and instruction counts bounded so that a regression
// shows. No GPU is needed.
//
// RUN: attn-opt %s --attn-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %torch_python %gpu_binaries %t.sm80.mlir -o %t.sm80
// RUN: %torch_python %gpu_sass_stats %t.sm80/attn_kernels.sm_80.ptx --arch sm_80 --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0' \
// RUN:   --expect '_d128_:registers<=240,instructions<=1900' --expect '_d64_:registers<=160,instructions<=1500' \
// RUN:   | FileCheck %s
// RUN: attn-opt %s --attn-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %torch_python %gpu_binaries %t.sm90.mlir -o %t.sm90
// RUN: %torch_python %gpu_sass_stats %t.sm90/attn_kernels.sm_90.ptx --arch sm_90 --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0' \
// RUN:   --expect '_d128_:registers<=240,instructions<=1900' --expect '_d64_:registers<=160,instructions<=1500' \
// RUN:   | FileCheck %s

// RUN: attn-opt %s --attn-gpu-pipeline="chip=sm_90a" -o %t.sm90a.mlir
// RUN: %torch_python %gpu_binaries %t.sm90a.mlir -o %t.sm90a
// RUN: %torch_python %gpu_sass_stats %t.sm90a/attn_kernels.sm_90a.ptx --arch sm_90a --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0,HMMA==0,LDSM==0' \
// RUN:   --expect '_d128_:registers<=200,instructions<=1800' --expect '_d64_:registers<=140,instructions<=1500' \
// RUN:   | FileCheck %s --check-prefix=SM90A

// Causal bf16 d128: 2 key loops (unmasked, then the diagonal) of
// 2 x 64 HMMA (S = QKᵀ and O += PV: 8 x 8 m16n8k16 each) and 2 x 32
// ldmatrix.x4; Q's 8 ldmatrix.x4 once; a barrier per iteration; 2 x 34
// exponentials (32 probabilities, 2 corrections).
// CHECK-DAG: kernel attn_flash_sm80_bf16_b4_q256_k256_d128_w4_n64_s2_causal_x{{[0-9a-f]+}}: registers {{[0-9]+}} stack 0 spill-stores 0 spill-loads 0 shared 0 {{.*}} HMMA 256/256 HGMMA 0/0 LDSM 136/128 STSM 0/0 LDGSTS 56/32 {{.*}} BAR 3/2 MUFU.EX2 68/68 SHFL 12/8
// Non-causal bf16 d64, full blocks: one loop of 64 HMMA.
// CHECK-DAG: kernel attn_flash_sm80_bf16_b4_q256_k256_d64_w4_n64_s2_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 64/64 HGMMA 0/0 LDSM 36/32 {{.*}} BAR 2/1 MUFU.EX2 34/34
// f16 d128 with a boolean mask: one masked loop, the mask read in it.
// CHECK-DAG: kernel attn_flash_sm80_f16_b4_q192_k192_d128_w4_n64_s2_bmask_36864_0_192_1_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 72/64 {{.*}} BAR 2/1 MUFU.EX2 34/34 {{.*}} LDG 32/32
// Causal f16 d64 with partial blocks (200 rows and keys).
// CHECK-DAG: kernel attn_flash_sm80_f16_b2_q200_k200_d64_w4_n64_s2_causal_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 68/64 {{.*}} BAR 3/2 MUFU.EX2 68/68
// CHECK-NOT: FAIL

// sm_90a: per key block, S = Q Kᵀ as D/16 HGMMA 64x64x16 and O += P V as 4
// HGMMA 64xDx16 (d128: 8 + 4, d64: 4 + 4), no HMMA or ldmatrix; two
// barriers per block (the second publishes P for the wgmma that reads it).
// SM90A-DAG: kernel attn_flash_sm90a_bf16_b4_q256_k256_d128_w4_n64_s2_causal_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 0/0 HGMMA 24/24 LDSM 0/0 {{.*}} BAR 4/4 MUFU.EX2 68/68
// SM90A-DAG: kernel attn_flash_sm90a_bf16_b4_q256_k256_d64_w4_n64_s2_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 0/0 HGMMA 8/8 LDSM 0/0 {{.*}} BAR 2/2 MUFU.EX2 34/34
// SM90A-DAG: kernel attn_flash_sm90a_f16_b4_q192_k192_d128_w4_n64_s2_bmask_36864_0_192_1_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HGMMA 12/12 {{.*}} BAR 2/2
// SM90A-DAG: kernel attn_flash_sm90a_f16_b2_q200_k200_d64_w4_n64_s2_causal_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HGMMA 16/16 {{.*}} BAR 4/4
// SM90A-NOT: FAIL
func.func @kernels(%q128: tensor<1x4x256x128xbf16>, %q64: tensor<1x4x256x64xbf16>,
                   %h128: tensor<2x2x192x128xf16>, %m: tensor<2x1x192x192xi1>,
                   %h64: tensor<1x2x200x64xf16>)
    -> (tensor<1x4x256x128xbf16>, tensor<1x4x256x64xbf16>,
        tensor<2x2x192x128xf16>, tensor<1x2x200x64xf16>) {
  %init_0 = tensor.empty() : tensor<1x4x256x128xbf16>
  %0 = attn.attention ins(%q128, %q128, %q128 : tensor<1x4x256x128xbf16>, tensor<1x4x256x128xbf16>, tensor<1x4x256x128xbf16>)
      outs(%init_0 : tensor<1x4x256x128xbf16>) scale(0.088388347648318) causal -> tensor<1x4x256x128xbf16>
  %init_1 = tensor.empty() : tensor<1x4x256x64xbf16>
  %1 = attn.attention ins(%q64, %q64, %q64 : tensor<1x4x256x64xbf16>, tensor<1x4x256x64xbf16>, tensor<1x4x256x64xbf16>)
      outs(%init_1 : tensor<1x4x256x64xbf16>) scale(0.125) -> tensor<1x4x256x64xbf16>
  %init_2 = tensor.empty() : tensor<2x2x192x128xf16>
  %2 = attn.attention ins(%h128, %h128, %h128 : tensor<2x2x192x128xf16>, tensor<2x2x192x128xf16>, tensor<2x2x192x128xf16>) mask(%m : tensor<2x1x192x192xi1>)
      outs(%init_2 : tensor<2x2x192x128xf16>) scale(0.088388347648318) -> tensor<2x2x192x128xf16>
  %init_3 = tensor.empty() : tensor<1x2x200x64xf16>
  %3 = attn.attention ins(%h64, %h64, %h64 : tensor<1x2x200x64xf16>, tensor<1x2x200x64xf16>, tensor<1x2x200x64xf16>)
      outs(%init_3 : tensor<1x2x200x64xf16>) scale(0.125) causal -> tensor<1x2x200x64xf16>
  return %0, %1, %2, %3 : tensor<1x4x256x128xbf16>, tensor<1x4x256x64xbf16>,
                          tensor<2x2x192x128xf16>, tensor<1x2x200x64xf16>
}
