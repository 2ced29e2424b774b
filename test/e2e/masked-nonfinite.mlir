// Masked keys are ignored whatever they hold: NaN and infinite keys at
// masked positions leave the result finite (the CPU pipeline turns a boolean
// mask into 0 / -inf, where -inf must replace the score, not be added to
// it), in the fused op and the unfused graph, in the compiled code and in
// the f64 reference, as in PyTorch (masked_fill, softmax, matmul).
// RUN: rm -rf %t && %torch_python %S/Inputs/masked_nonfinite.py attn-run %s %t | FileCheck %s
// CHECK: OK fused-nonfinite-masked-keys
// CHECK: OK unfused-nonfinite-masked-keys
// CHECK: OK fused-nan-value-masked-key
// CHECK: OK unfused-nan-value-masked-key
// CHECK: OK fused-masked-row-nan-value
// CHECK: OK unfused-masked-row-nan-value
// CHECK: OK fused-nan-query
// CHECK: OK unfused-nan-query
// CHECK: OK fused-nan-kept-key
// CHECK: OK unfused-nan-kept-key

func.func @fused(%q: tensor<2x5x8xf32>, %k: tensor<2x70x8xf32>,
                 %v: tensor<2x70x8xf32>, %keep: tensor<2x5x70xi1>)
    -> tensor<2x5x8xf32> {
  %o_init = tensor.empty() : tensor<2x5x8xf32>
  %o = attn.attention ins(%q, %k, %v : tensor<2x5x8xf32>, tensor<2x70x8xf32>, tensor<2x70x8xf32>) mask(%keep : tensor<2x5x70xi1>)
      outs(%o_init : tensor<2x5x8xf32>) scale(0.35) -> tensor<2x5x8xf32>
  return %o : tensor<2x5x8xf32>
}

// The unfused form; the pipeline fuses it, the reference evaluates it as
// written.
func.func @unfused(%q: tensor<2x5x8xf32>, %k: tensor<2x70x8xf32>,
                   %v: tensor<2x70x8xf32>, %keep: tensor<2x5x70xi1>)
    -> tensor<2x5x8xf32> {
  %s = attn.einsum "b i d, b j d -> b i j" (%q, %k) scale(0.35)
      : (tensor<2x5x8xf32>, tensor<2x70x8xf32>) -> tensor<2x5x70xf32>
  %ninf = arith.constant dense<0xFF800000> : tensor<2x5x70xf32>
  %m = arith.select %keep, %s, %ninf : tensor<2x5x70xi1>, tensor<2x5x70xf32>
  %p = attn.softmax %m axis(-1) : tensor<2x5x70xf32>
  %o = attn.einsum "b i j, b j d -> b i d" (%p, %v)
      : (tensor<2x5x70xf32>, tensor<2x70x8xf32>) -> tensor<2x5x8xf32>
  return %o : tensor<2x5x8xf32>
}
