// .npy inputs and outputs in f16, i1 and f64 round-trip through NumPy, with
// several results (a struct of descriptors through the C interface) and a
// result that aliases an argument.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %torch_python -c "import numpy as np; np.save('%t/x.npy', (np.arange(12).reshape(3, 4) / 7 - 0.8).astype(np.float16)); np.save('%t/m.npy', np.arange(12).reshape(3, 4) %% 3 == 0); np.save('%t/y.npy', np.array([1.5, -2, 3, 1e-300]))"
// RUN: attn-run %s --input=%t/x.npy,%t/m.npy,%t/y.npy --output=%t/out --check | FileCheck %s
// CHECK: output 0: max abs error 0.000e+00, {{.*}}: OK
// CHECK: output 1: max abs error 0.000e+00, {{.*}}: OK
// CHECK: output 2: max abs error 0.000e+00, {{.*}}: OK
// RUN: %torch_python -c "import numpy as np; a = np.load('%t/out.0.npy'); b = np.load('%t/out.1.npy'); c = np.load('%t/out.2.npy'); assert a.dtype == np.float16 and (a == -np.load('%t/x.npy')).all(); assert b.dtype == bool and (b == np.load('%t/m.npy')).all(); assert c.dtype == np.float64 and (c == -np.load('%t/y.npy')).all(); print('NPY OK')" | FileCheck %s --check-prefix=NPY
// NPY: NPY OK

func.func @neg(%x: tensor<3x4xf16>, %m: tensor<3x4xi1>, %y: tensor<4xf64>)
    -> (tensor<3x4xf16>, tensor<3x4xi1>, tensor<4xf64>) {
  %e = tensor.empty() : tensor<3x4xf16>
  %n = linalg.negf ins(%x : tensor<3x4xf16>) outs(%e : tensor<3x4xf16>)
      -> tensor<3x4xf16>
  %e2 = tensor.empty() : tensor<4xf64>
  %z = linalg.negf ins(%y : tensor<4xf64>) outs(%e2 : tensor<4xf64>)
      -> tensor<4xf64>
  return %n, %m, %z : tensor<3x4xf16>, tensor<3x4xi1>, tensor<4xf64>
}
