// RUN: attn-opt %s --attn-gpu-pipeline="device-memory=1" --mlir-print-ir-after=gpu-async-region -o /dev/null 2>&1 | FileCheck %s
// RUN: attn-opt %s --attn-gpu-pipeline="device-memory=1" | FileCheck %s --check-prefix=HOST
// With device-memory=1 the caller passes device buffers, the result as a
// trailing out-parameter: no managed copies of the arguments, temporaries in
// device memory, every launch enqueued on one stream, one wait at the end.

// CHECK-LABEL: func.func @graph(
// CHECK-SAME: %[[Q:.*]]: memref<1x64x64xbf16>, %{{.*}}: memref<1x64x64xbf16>, %{{.*}}: memref<1x64x64xbf16>, %[[OUT:.*]]: memref<1x64x64xbf16>)
// CHECK-NOT: gpu.memcpy
// CHECK-NOT: host_shared
// CHECK: %[[T0:.*]] = gpu.wait async
// The attention's result is a device temporary that tanh reads and writes
// into the caller's output.
// CHECK: %[[TMP:.*]], %[[T1:.*]] = gpu.alloc async [%[[T0]]] () : memref<1x64x64xbf16>
// CHECK: %[[T2:.*]] = gpu.launch_func async [%[[T1]]] @attn_kernels::@attn_flash_sm80_bf16
// CHECK: %[[T3:.*]] = gpu.launch_func async [%[[T2]]] @graph_kernel::@graph_kernel {{.*}}%[[TMP]] : memref<1x64x64xbf16>{{.*}}%[[OUT]] : memref<1x64x64xbf16>
// CHECK: gpu.dealloc async [%{{.*}}] %[[TMP]]
// CHECK: gpu.wait [%{{.*}}]
// CHECK-NOT: gpu.memcpy
// CHECK: return

// One stream (the caller's under attnCudaSetStream), one wait.
// HOST-LABEL: llvm.func @graph(
// HOST: llvm.call @mgpuStreamCreate()
// HOST-NOT: llvm.call @mgpuStreamCreate()
// HOST: llvm.call @mgpuStreamSynchronize
// HOST-NEXT: llvm.call @mgpuStreamDestroy
// HOST-NEXT: llvm.return{{$}}
// The C interface takes four descriptors and returns nothing.
// HOST: llvm.func @_mlir_ciface_graph(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr) attributes
func.func @graph(%q: tensor<1x64x64xbf16>, %k: tensor<1x64x64xbf16>,
                 %v: tensor<1x64x64xbf16>) -> tensor<1x64x64xbf16> {
  %init_0 = tensor.empty() : tensor<1x64x64xbf16>
  %0 = attn.attention ins(%q, %k, %v : tensor<1x64x64xbf16>, tensor<1x64x64xbf16>, tensor<1x64x64xbf16>)
      outs(%init_0 : tensor<1x64x64xbf16>) scale(0.125) -> tensor<1x64x64xbf16>
  %1 = math.tanh %0 : tensor<1x64x64xbf16>
  return %1 : tensor<1x64x64xbf16>
}
