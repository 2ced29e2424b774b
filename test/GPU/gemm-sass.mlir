// REQUIRES: ptxas, nvdisasm
// The tensor-core GEMM kernels (convert-einsum-to-gpu) through ptxas and
// nvdisasm: no spills or stack; per K step of 64, 128 HMMA (4 x 8 m16n8
// tiles x 4 k16 steps) fed by 32 ldmatrix.x4, one barrier.
//
// RUN: attn-opt %S/Inputs/gemm-cases.mlir --attn-gpu-pipeline="chip=sm_80" -o %t.sm80.mlir
// RUN: %torch_python %gpu_binaries %t.sm80.mlir -o %t.sm80
// RUN: %torch_python %gpu_sass_stats %t.sm80/attn_kernels.sm_80.ptx --arch sm_80 --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0,registers<=255,instructions<=1500' | FileCheck %s
// RUN: attn-opt %S/Inputs/gemm-cases.mlir --attn-gpu-pipeline="chip=sm_90" -o %t.sm90.mlir
// RUN: %torch_python %gpu_binaries %t.sm90.mlir -o %t.sm90
// RUN: %torch_python %gpu_sass_stats %t.sm90/attn_kernels.sm_90.ptx --arch sm_90 --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0,registers<=255,instructions<=1500' | FileCheck %s

// CHECK-DAG: kernel attn_gemm_sm80_bf16_nt_b1_m210_n264_k136_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 32/32 {{.*}} BAR 1/1
// CHECK-DAG: kernel attn_gemm_sm80_f16_nn_b1_m200_n136_k200_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 32/32 {{.*}} BAR 1/1
// CHECK-DAG: kernel attn_gemm_sm80_bf16_nn_b6_m130_n136_k72_sa9360_sb9792_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 32/32 {{.*}} BAR 1/1
// CHECK-DAG: kernel attn_gemm_sm80_bf16_nt_b1_m128_n128_k512_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 128/128 HGMMA 0/0 LDSM 32/32 {{.*}} BAR 1/1
// CHECK-NOT: FAIL

// sm_90a: [N, K] weights use warpgroup MMA: per K step 8 HGMMA 64x128x16
// (two m64 halves x 4 k16 steps) from shared-memory descriptors, no
// ldmatrix; [K, N] ones keep HMMA.
// RUN: attn-opt %S/Inputs/gemm-cases.mlir --attn-gpu-pipeline="chip=sm_90a" -o %t.sm90a.mlir
// RUN: %torch_python %gpu_binaries %t.sm90a.mlir -o %t.sm90a
// RUN: %torch_python %gpu_sass_stats %t.sm90a/attn_kernels.sm_90a.ptx --arch sm_90a --ptxas %ptxas --nvdisasm %nvdisasm \
// RUN:   --expect '*:stack==0,spill-stores==0,spill-loads==0,LDL==0,STL==0,registers<=255,instructions<=1500' | FileCheck %s --check-prefix=SM90A
// SM90A-DAG: kernel attn_gemm_sm90a_bf16_nt_b1_m128_n128_k512_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 0/0 HGMMA 8/8 LDSM 0/0 {{.*}} BAR 1/1
// SM90A-DAG: kernel attn_gemm_sm90a_bf16_nt_b1_m210_n264_k136_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} spill-stores 0 spill-loads 0 {{.*}} HMMA 0/0 HGMMA 24/{{[0-9]+}} LDSM 0/0
// SM90A-DAG: kernel attn_gemm_sm80_f16_nn_b1_m200_n136_k200_sa0_sb0_s3_x{{[0-9a-f]+}}: {{.*}} HMMA 128/128 HGMMA 0/0
// SM90A-NOT: FAIL
