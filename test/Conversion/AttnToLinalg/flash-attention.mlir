// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16" --split-input-file | FileCheck %s
// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16" --split-input-file | FileCheck %s --check-prefix=NOSQ
// RUN: attn-opt %s --convert-attn-to-linalg="flash=false" --split-input-file | FileCheck %s --check-prefix=UNFUSED
// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16 transpose-keys=true" --split-input-file | FileCheck %s --check-prefix=TKEYS
// RUN: attn-opt %s --convert-attn-to-linalg="q-tile=32 kv-tile=16 additive-masks=true" --split-input-file | FileCheck %s --check-prefix=AMASK
// The flash lowering of attn.attention: scf.forall over (batch..., query
// blocks), scf.for over key blocks carrying the running max, the running
// sum and the output accumulator (f32 for f16 inputs), and no tensor of the
// full Sq x Sk scores anywhere (NOSQ checks the whole output; UNFUSED shows
// those shapes do appear in the unfused lowering).
// NOSQ-NOT: {{256x256|70x50|96x80|40x24|64x48}}

// Causal f16, Sq = Sk = 256, D = 64: 8 query blocks of 32, key blocks of 16
// up to the block's last query.
// CHECK-LABEL: func.func @causal_f16
//  CHECK-SAME: (%[[Q:.*]]: tensor<1x2x256x64xf16>, %[[K:.*]]: tensor<1x2x256x64xf16>, %[[V:.*]]: tensor<1x2x256x64xf16>)
//   CHECK-DAG: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
//   CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
//   CHECK-DAG: %[[C32:.*]] = arith.constant 32 : index
//   CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
//       CHECK: %[[INIT:.*]] = tensor.empty() : tensor<1x2x256x64xf16>
//       CHECK: %[[RES:.*]] = scf.forall (%[[B:.*]], %[[H:.*]], %[[QB:.*]]) in (1, 2, 8) shared_outs(%[[OUT:.*]] = %[[INIT]]) -> (tensor<1x2x256x64xf16>)
//       CHECK:   %[[QS:.*]] = arith.muli %[[QB]], %[[C32]] : index
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %[[Q]][0, %[[H]], %[[QS]], 0] [1, 1, 32, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<32x64xf16>
//       CHECK:   %[[M0:.*]] = linalg.fill ins(%[[NEG_INF]] : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[L0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[A0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32x64xf32>)
// The causal bound: keys j < min(Sk, qs + 32), a multiple of the key tile, so
// every key block is full.
//       CHECK:   %[[QE:.*]] = arith.addi %[[QS]], %[[C32]] : index
//       CHECK:   %[[KEND:.*]] = arith.minsi %[[QE]], %[[C256]] : index
//       CHECK:   %[[LOOP:.*]]:3 = scf.for %[[KS:.*]] = %{{.*}} to %[[KEND]] step %[[C16]] iter_args(%[[M:.*]] = %[[M0]], %[[L:.*]] = %[[L0]], %[[ACC:.*]] = %[[A0]]) -> (tensor<32xf32>, tensor<32xf32>, tensor<32x64xf32>)
//       CHECK:     %[[KT:.*]] = tensor.extract_slice %[[K]][0, %[[H]], %[[KS]], 0] [1, 1, 16, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<16x64xf16>
//       CHECK:     %[[VT:.*]] = tensor.extract_slice %[[V]][0, %[[H]], %[[KS]], 0] [1, 1, 16, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf16> to tensor<16x64xf16>
//       CHECK:     %[[S:.*]] = linalg.matmul {{.*}} ins(%[[QT]], %[[KT]] : tensor<32x64xf16>, tensor<16x64xf16>) outs(%{{.*}} : tensor<32x16xf32>)
// Scale and the causal mask on global indices.
//       CHECK:     linalg.generic {{.*}} ins(%[[S]] : tensor<32x16xf32>)
//       CHECK:       arith.mulf
//       CHECK:       %[[I:.*]] = arith.addi %[[QS]], %{{.*}} : index
//       CHECK:       %[[J:.*]] = arith.addi %[[KS]], %{{.*}} : index
//       CHECK:       %[[FUT:.*]] = arith.cmpi ugt, %[[J]], %[[I]] : index
//       CHECK:       arith.select %[[FUT]], %[[NEG_INF]], %{{.*}} : f32
// Row max, rescale factor, new max, P, l and acc; all in f32.
//       CHECK:     %[[ROWMAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%{{.*}} : tensor<32x16xf32>) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:       arith.maximumf
//       CHECK:     %[[ALPHA:.*]] = linalg.generic {{.*}} ins(%[[M]], %[[ROWMAX]] : tensor<32xf32>, tensor<32xf32>)
//       CHECK:       math.exp
//       CHECK:     %[[MNEW:.*]] = linalg.generic {{.*}} ins(%[[ROWMAX]] : tensor<32xf32>) outs(%[[M]] : tensor<32xf32>)
//       CHECK:     %[[P:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MNEW]] : tensor<32x16xf32>, tensor<32xf32>)
// The -inf guard: exp(s - 0) rather than exp(-inf - -inf).
//       CHECK:       arith.cmpf oeq, %{{.*}}, %[[NEG_INF]] : f32
//       CHECK:       arith.select
//       CHECK:       arith.subf
//       CHECK:       math.exp
//       CHECK:     %[[LS:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[L]] : tensor<32xf32>)
//       CHECK:     %[[LNEW:.*]] = linalg.generic {{.*}} ins(%[[P]] : tensor<32x16xf32>) outs(%[[LS]] : tensor<32xf32>)
//       CHECK:     %[[AS:.*]] = linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[ACC]] : tensor<32x64xf32>)
//       CHECK:     %[[ANEW:.*]] = linalg.matmul ins(%[[P]], %[[VT]] : tensor<32x16xf32>, tensor<16x64xf16>) outs(%[[AS]] : tensor<32x64xf32>)
//       CHECK:     scf.yield %[[MNEW]], %[[LNEW]], %[[ANEW]] : tensor<32xf32>, tensor<32xf32>, tensor<32x64xf32>
// out = acc / l, 0 where l == 0, rounded to f16 once.
//       CHECK:   %[[O:.*]] = linalg.generic {{.*}} ins(%[[LOOP]]#2, %[[LOOP]]#1 : tensor<32x64xf32>, tensor<32xf32>) outs(%{{.*}} : tensor<32x64xf16>)
//       CHECK:     arith.cmpf oeq
//       CHECK:     arith.divf
//       CHECK:     arith.select
//       CHECK:     arith.truncf %{{.*}} : f32 to f16
//       CHECK:   scf.forall.in_parallel
//       CHECK:     tensor.parallel_insert_slice %[[O]] into %[[OUT]][%[[B]], %[[H]], %[[QS]], 0] [1, 1, 32, 64] [1, 1, 1, 1] : tensor<32x64xf16> into tensor<1x2x256x64xf16>
//       CHECK: return %[[RES]]
// With transpose-keys (the CPU form), Kᵀ is built once before the loop nest
// and each key block's Q Kᵀ is a plain matmul reading a [D, 16] slice of it.
// f16 keys and values are widened to f32 once there too, and each query
// block once (with the scale), so every block product is an f32 matmul.
// TKEYS-LABEL: func.func @causal_f16
//  TKEYS-SAME: (%[[Q:.*]]: tensor<1x2x256x64xf16>, %[[K:.*]]: tensor<1x2x256x64xf16>, %[[V:.*]]: tensor<1x2x256x64xf16>)
//       TKEYS: %[[KW:.*]] = linalg.generic {{.*}} ins(%[[K]] : tensor<1x2x256x64xf16>) outs(%{{.*}} : tensor<1x2x256x64xf32>)
//       TKEYS:   arith.extf %{{.*}} : f16 to f32
//       TKEYS: %[[VW:.*]] = linalg.generic {{.*}} ins(%[[V]] : tensor<1x2x256x64xf16>) outs(%{{.*}} : tensor<1x2x256x64xf32>)
//       TKEYS: %[[KT:.*]] = linalg.transpose ins(%[[KW]] : tensor<1x2x256x64xf32>) outs(%{{.*}} : tensor<1x2x64x256xf32>) permutation = [0, 1, 3, 2]
//       TKEYS: scf.forall (%{{.*}}, %[[H:.*]], %{{.*}}) in (1, 2, 8)
//       TKEYS:   %[[QT:.*]] = tensor.extract_slice %[[Q]]
//       TKEYS:   %[[QW:.*]] = linalg.generic {{.*}} ins(%[[QT]] : tensor<32x64xf16>) outs(%{{.*}} : tensor<32x64xf32>)
//       TKEYS:     arith.extf
//       TKEYS:     arith.mulf
//       TKEYS:   scf.for %[[KS:[^ ]*]] =
//       TKEYS:     %[[KTT:.*]] = tensor.extract_slice %[[KT]][0, %[[H]], 0, %[[KS]]] [1, 1, 64, 16] [1, 1, 1, 1] : tensor<1x2x64x256xf32> to tensor<64x16xf32>
//       TKEYS:     %[[VT:.*]] = tensor.extract_slice %[[VW]][0, %[[H]], %[[KS]], 0] [1, 1, 16, 64] [1, 1, 1, 1] : tensor<1x2x256x64xf32> to tensor<16x64xf32>
//       TKEYS:     linalg.matmul ins(%[[QW]], %[[KTT]] : tensor<32x64xf32>, tensor<64x16xf32>) outs(%{{.*}} : tensor<32x16xf32>)
//       TKEYS:     linalg.matmul ins(%{{.*}}, %[[VT]] : tensor<32x16xf32>, tensor<16x64xf32>)
// Other score kinds read K as it is.
// TKEYS-LABEL: func.func @additive_f16
//   TKEYS-NOT: linalg.transpose
// TKEYS-LABEL: func.func @gaussian_causal_odd
// UNFUSED-LABEL: func.func @causal_f16
//       UNFUSED: tensor<2x256x256xf32>
func.func @causal_f16(%q: tensor<1x2x256x64xf16>, %k: tensor<1x2x256x64xf16>, %v: tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16> {
  %o = attn.attention %q, %k, %v scale(0.125) causal : (tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16>) -> tensor<1x2x256x64xf16>
  return %o : tensor<1x2x256x64xf16>
}

// -----

// Odd sizes (Sq = 70, Sk = 50): the two full query blocks of 32 and the
// partial one of 6 are separate foralls, and in each the full key blocks (up
// to 48) are a loop and the partial one of 2 one step after it, so that every
// tile has a static shape. The f32 queries are scaled once per block, before
// the key loop. A broadcast [B, 1, Sk] boolean mask is sliced per key block
// and read at row 0.
// CHECK-LABEL: func.func @odd_masked
//  CHECK-SAME: %[[MASK:[^:]*]]: tensor<3x1x50xi1>
//   CHECK-DAG: %[[C48:.*]] = arith.constant 48 : index
//   CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
//       CHECK: %[[FULL:.*]] = scf.forall (%[[B:.*]], %[[QB:.*]]) in (3, 2)
//       CHECK:   %[[QS:.*]] = arith.muli %[[QB]], %{{.*}} : index
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %{{.*}}[%[[B]], %[[QS]], 0] [1, 32, 16] [1, 1, 1] : tensor<3x70x16xf32> to tensor<32x16xf32>
//       CHECK:   %[[QSC:.*]] = linalg.generic {{.*}} ins(%[[QT]] : tensor<32x16xf32>)
//       CHECK:     arith.mulf
//       CHECK:   scf.for %[[KS:.*]] = %{{.*}} to %[[C48]] step %{{.*}} iter_args({{.*}}) -> (tensor<32xf32>, tensor<32xf32>, tensor<32x8xf32>)
//       CHECK:     linalg.matmul {{.*}} ins(%[[QSC]], %{{.*}} : tensor<32x16xf32>, tensor<16x16xf32>)
//       CHECK:     %[[MT:.*]] = tensor.extract_slice %[[MASK]][%[[B]], 0, %[[KS]]] [1, 1, 16] [1, 1, 1] : tensor<3x1x50xi1> to tensor<1x16xi1>
//       CHECK:     linalg.generic {{.*}} ins(%{{.*}}, %[[MT]] : tensor<32x16xf32>, tensor<1x16xi1>)
//   CHECK-NOT:       arith.mulf
//       CHECK:       arith.select
//       CHECK:     scf.yield
//       CHECK:   linalg.matmul {{.*}} ins(%[[QSC]], %{{.*}} : tensor<32x16xf32>, tensor<2x16xf32>)
//       CHECK:   tensor.extract_slice %[[MASK]][%[[B]], 0, %[[C48]]] [1, 1, 2] [1, 1, 1] : tensor<3x1x50xi1> to tensor<1x2xi1>
//       CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x2xf32>, tensor<2x8xf32>)
//       CHECK:   tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%[[B]], %[[QS]], 0] [1, 32, 8]
//       CHECK: scf.forall (%{{.*}}, %{{.*}}) in (3, 1) shared_outs(%{{.*}} = %[[FULL]])
//       CHECK:   tensor.extract_slice %{{.*}}[%{{.*}}, %[[C64]], 0] [1, 6, 16] [1, 1, 1] : tensor<3x70x16xf32> to tensor<6x16xf32>
//       CHECK:   scf.for {{.*}} -> (tensor<6xf32>, tensor<6xf32>, tensor<6x8xf32>)
//       CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<6x2xf32>, tensor<2x8xf32>)
//       CHECK:   tensor.parallel_insert_slice %{{.*}} into %{{.*}}[%{{.*}}, %[[C64]], 0] [1, 6, 8]
// With additive-masks, the boolean mask becomes 0 / -inf once, before the
// loop nest, and each key block applies its slice to the scores: -inf
// replaces a score (a NaN or +inf score of a masked key plus -inf would be
// NaN), 0 keeps it.
// AMASK-LABEL: func.func @odd_masked
//  AMASK-SAME: %[[MASK:[^:]*]]: tensor<3x1x50xi1>
//   AMASK-DAG: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
//   AMASK-DAG: %[[NEGINF:.*]] = arith.constant 0xFF800000 : f32
//       AMASK: %[[ADD:.*]] = linalg.generic {{.*}} ins(%[[MASK]] : tensor<3x1x50xi1>) outs(%{{.*}} : tensor<3x1x50xf32>)
//  AMASK-NEXT:   ^bb0(%[[M:.*]]: i1, %{{.*}}: f32):
//  AMASK-NEXT:     %[[SEL:.*]] = arith.select %[[M]], %[[ZERO]], %[[NEGINF]] : f32
//  AMASK-NEXT:     linalg.yield %[[SEL]] : f32
//       AMASK: scf.forall
//       AMASK:   scf.for %[[KS:[^ ]*]] =
//       AMASK:     %[[MT:.*]] = tensor.extract_slice %[[ADD]][%{{.*}}, 0, %[[KS]]] [1, 1, 16] [1, 1, 1] : tensor<3x1x50xf32> to tensor<1x16xf32>
//       AMASK:     linalg.generic {{.*}} ins(%{{.*}}, %[[MT]] : tensor<32x16xf32>, tensor<1x16xf32>)
//  AMASK-NEXT:       ^bb0(%[[S:.*]]: f32, %[[MV:.*]]: f32, %{{.*}}: f32):
//  AMASK-NEXT:         %[[DROP:.*]] = arith.cmpf oeq, %[[MV]], %[[NEGINF]] : f32
//  AMASK-NEXT:         %[[R:.*]] = arith.select %[[DROP]], %[[NEGINF]], %[[S]] : f32
//  AMASK-NEXT:         linalg.yield %[[R]] : f32
// UNFUSED-LABEL: func.func @odd_masked
//       UNFUSED: tensor<3x70x50xf32>
func.func @odd_masked(%q: tensor<3x70x16xf32>, %k: tensor<3x50x16xf32>, %v: tensor<3x50x8xf32>, %m: tensor<3x1x50xi1>) -> tensor<3x70x8xf32> {
  %o = attn.attention %q, %k, %v mask(%m) scale(0.25) : (tensor<3x70x16xf32>, tensor<3x50x16xf32>, tensor<3x50x8xf32>, tensor<3x1x50xi1>) -> tensor<3x70x8xf32>
  return %o : tensor<3x70x8xf32>
}

// -----

// Additive score, f16 with its weight (Sq = 96, Sk = 80, D = 64): the key
// block's scores are one (i, j, d) generic reducing d, tanh(q + k) * w summed
// in f32, inside the key loop in place of the Q K^T matmul; the online
// softmax and P V are those of the dot score.
// CHECK-LABEL: func.func @additive_f16
//  CHECK-SAME: (%[[Q:[^:]*]]: tensor<2x96x64xf16>, %[[K:[^:]*]]: tensor<2x80x64xf16>, %[[V:[^:]*]]: tensor<2x80x32xf16>, %[[W:[^:]*]]: tensor<64xf16>)
//       CHECK: scf.forall (%[[B:.*]], %[[QB:.*]]) in (2, 3)
//       CHECK:   %[[QT:.*]] = tensor.extract_slice %[[Q]]{{.*}} to tensor<32x64xf16>
//       CHECK:   scf.for %[[KS:[^ ]*]] = {{.*}} -> (tensor<32xf32>, tensor<32xf32>, tensor<32x32xf32>)
//       CHECK:     %[[KT:.*]] = tensor.extract_slice %[[K]][%[[B]], %[[KS]], 0] [1, 16, 64] [1, 1, 1] : tensor<2x80x64xf16> to tensor<16x64xf16>
//       CHECK:     %[[VT:.*]] = tensor.extract_slice %[[V]]{{.*}} to tensor<16x32xf16>
//   CHECK-NOT:     linalg.matmul
//       CHECK:     %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[QT]], %[[KT]], %[[W]] : tensor<32x64xf16>, tensor<16x64xf16>, tensor<64xf16>) outs(%{{.*}} : tensor<32x16xf32>)
//  CHECK-NEXT:     ^bb0(%[[QE:.*]]: f16, %[[KE:.*]]: f16, %[[WE:.*]]: f16, %[[SA:.*]]: f32):
//   CHECK-DAG:       %[[QF:.*]] = arith.extf %[[QE]] : f16 to f32
//   CHECK-DAG:       %[[KF:.*]] = arith.extf %[[KE]] : f16 to f32
//   CHECK-DAG:       %[[WF:.*]] = arith.extf %[[WE]] : f16 to f32
//       CHECK:       %[[SUM:.*]] = arith.addf %[[QF]], %[[KF]] : f32
//       CHECK:       %[[TANH:.*]] = math.tanh %[[SUM]] : f32
//       CHECK:       %[[TERM:.*]] = arith.mulf %[[WF]], %[[TANH]] : f32
//       CHECK:       %[[NEXT:.*]] = arith.addf %[[SA]], %[[TERM]] : f32
//       CHECK:       linalg.yield %[[NEXT]] : f32
// The scale, then the shared online softmax and P V.
//       CHECK:     linalg.generic {{.*}} ins(%[[S]] : tensor<32x16xf32>)
//       CHECK:       arith.mulf
//       CHECK:     math.exp
//       CHECK:     linalg.matmul ins(%{{.*}}, %[[VT]] : tensor<32x16xf32>, tensor<16x32xf16>) outs(%{{.*}} : tensor<32x32xf32>)
//       CHECK:     scf.yield
//       CHECK:   tensor.parallel_insert_slice
// UNFUSED-LABEL: func.func @additive_f16
//       UNFUSED: tensor<2x96x80xf32>
func.func @additive_f16(%q: tensor<2x96x64xf16>, %k: tensor<2x80x64xf16>, %v: tensor<2x80x32xf16>, %w: tensor<64xf16>) -> tensor<2x96x32xf16> {
  %o = attn.attention %q, %k, %v weight(%w) scale(0.5) score(additive) : (tensor<2x96x64xf16>, tensor<2x80x64xf16>, tensor<2x80x32xf16>, tensor<64xf16>) -> tensor<2x96x32xf16>
  return %o : tensor<2x96x32xf16>
}

// -----

// Gaussian score without a weight, causal, odd sizes (Sq = 40, Sk = 24):
// the generic sums (q - k)^2 over d, and the elementwise op after it applies
// -scale / 2 and the causal mask. Both query blocks (32 rows, then 8) see
// keys up to min(Sk, last query + 1) = 24, a static bound: one full key block
// of 16, then a partial one of 8, each one step (a loop of one iteration is
// not built). The first step has nothing to rescale: its row max is m, its
// row sum of P is l (into the zero fill), P V is acc; only the second step
// computes alpha = exp(m - m_new).
// CHECK-LABEL: func.func @gaussian_causal_odd
// -scale / 2 = -0.75.
//   CHECK-DAG: %[[FACTOR:.*]] = arith.constant -7.500000e-01 : f32
//       CHECK: scf.forall (%{{.*}}) in (1)
//       CHECK:   tensor.extract_slice {{.*}} to tensor<32x4xf32>
//       CHECK:   %[[L0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32xf32>)
//       CHECK:   %[[A0:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<32x3xf32>)
//   CHECK-NOT:   scf.for
//   CHECK-NOT:   linalg.matmul
//       CHECK:   %[[S:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<32x4xf32>, tensor<16x4xf32>) outs(%{{.*}} : tensor<32x16xf32>)
//  CHECK-NEXT:   ^bb0(%[[QE:.*]]: f32, %[[KE:.*]]: f32, %[[SA:.*]]: f32):
//  CHECK-NEXT:     %[[DIFF:.*]] = arith.subf %[[QE]], %[[KE]] : f32
//  CHECK-NEXT:     %[[SQ:.*]] = arith.mulf %[[DIFF]], %[[DIFF]] : f32
//  CHECK-NEXT:     %[[NEXT:.*]] = arith.addf %[[SA]], %[[SQ]] : f32
//  CHECK-NEXT:     linalg.yield %[[NEXT]] : f32
//       CHECK:   %[[MASKED:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<32x16xf32>)
//       CHECK:     arith.mulf %{{.*}}, %[[FACTOR]] : f32
//       CHECK:     arith.cmpi ugt
//       CHECK:   %[[M1:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]} ins(%[[MASKED]] : tensor<32x16xf32>)
//       CHECK:   %[[P1:.*]] = linalg.generic {{.*}} ins(%[[MASKED]], %[[M1]] : tensor<32x16xf32>, tensor<32xf32>)
//       CHECK:     math.exp
//       CHECK:   %[[L1:.*]] = linalg.generic {{.*}} ins(%[[P1]] : tensor<32x16xf32>) outs(%[[L0]] : tensor<32xf32>)
//       CHECK:   %[[A1:.*]] = linalg.matmul ins(%[[P1]], %{{.*}} : tensor<32x16xf32>, tensor<16x3xf32>) outs(%[[A0]] : tensor<32x3xf32>)
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<32x4xf32>, tensor<8x4xf32>) outs(%{{.*}} : tensor<32x8xf32>)
//       CHECK:   %[[ALPHA:.*]] = linalg.generic {{.*}} ins(%[[M1]], %{{.*}} : tensor<32xf32>, tensor<32xf32>)
//       CHECK:     math.exp
//       CHECK:   linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[L1]] : tensor<32xf32>)
//       CHECK:   linalg.generic {{.*}} ins(%[[ALPHA]] : tensor<32xf32>) outs(%[[A1]] : tensor<32x3xf32>)
//       CHECK:   linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<32x8xf32>, tensor<8x3xf32>)
//       CHECK: scf.forall (%{{.*}}) in (1)
//       CHECK:   tensor.extract_slice {{.*}} to tensor<8x4xf32>
//   CHECK-NOT:   scf.for
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<16x4xf32>) outs(%{{.*}} : tensor<8x16xf32>)
//       CHECK:   linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<8x4xf32>, tensor<8x4xf32>) outs(%{{.*}} : tensor<8x8xf32>)
// UNFUSED-LABEL: func.func @gaussian_causal_odd
//       UNFUSED: tensor<40x24xf32>
func.func @gaussian_causal_odd(%q: tensor<40x4xf32>, %k: tensor<24x4xf32>, %v: tensor<24x3xf32>) -> tensor<40x3xf32> {
  %o = attn.attention %q, %k, %v scale(1.5) causal score(gaussian) : (tensor<40x4xf32>, tensor<24x4xf32>, tensor<24x3xf32>) -> tensor<40x3xf32>
  return %o : tensor<40x3xf32>
}

// -----

// Gaussian score with a weight and a per-key float mask: ((q - k) * w)^2.
// CHECK-LABEL: func.func @gaussian_weighted
//  CHECK-SAME: %[[W:[^:]*]]: tensor<4xf32>
//       CHECK: scf.for
//       CHECK:   linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}}, %[[W]] : tensor<32x4xf32>, tensor<16x4xf32>, tensor<4xf32>) outs(%{{.*}} : tensor<32x16xf32>)
//  CHECK-NEXT:   ^bb0(%[[QE:.*]]: f32, %[[KE:.*]]: f32, %[[WE:.*]]: f32, %[[SA:.*]]: f32):
//  CHECK-NEXT:     %[[DIFF:.*]] = arith.subf %[[QE]], %[[KE]] : f32
//  CHECK-NEXT:     %[[WD:.*]] = arith.mulf %[[DIFF]], %[[WE]] : f32
//  CHECK-NEXT:     %[[SQ:.*]] = arith.mulf %[[WD]], %[[WD]] : f32
//  CHECK-NEXT:     arith.addf %[[SA]], %[[SQ]] : f32
//       CHECK:   linalg.generic
//       CHECK:     arith.addf
//       CHECK:   linalg.matmul
// UNFUSED-LABEL: func.func @gaussian_weighted
//       UNFUSED: tensor<64x48xf32>
func.func @gaussian_weighted(%q: tensor<64x4xf32>, %k: tensor<48x4xf32>, %v: tensor<48x3xf32>, %m: tensor<1x48xf32>, %w: tensor<4xf32>) -> tensor<64x3xf32> {
  %o = attn.attention %q, %k, %v mask(%m) weight(%w) scale(1.0) score(gaussian) : (tensor<64x4xf32>, tensor<48x4xf32>, tensor<48x3xf32>, tensor<1x48xf32>, tensor<4xf32>) -> tensor<64x3xf32>
  return %o : tensor<64x3xf32>
}
