//===- AttnDialect.td - attn dialect definition ------------*- tablegen -*-===//
//
// The attention dialect: the building blocks people write attention with
// (einops rearrange, einsum, softmax) and the fused attention op they become.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
#define ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/EnumAttr.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let summary = "Attention building blocks with tensor semantics";
  let description = [{
    The `attn` dialect models attention graphs as people write them in
    PyTorch: `rearrange` with einops patterns to split and merge heads,
    `einsum` to score and mix, `softmax` over the key axis, and the fused
    `attention` op that recognition produces from those pieces. All ops have
    value (tensor) semantics, no side effects, and static shapes.
  }];
  let cppNamespace = "::mlir::attn";
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
  let useDefaultAttributePrinterParser = 1;
  // `attn.nonpositive_argument` on a `math.exp` whose argument is known to
  // be <= 0 or NaN: softmax's exp(s - max s), written by the lowerings of
  // `attn.softmax` and `attn.attention`. It cannot overflow, so
  // attn-approximate-math leaves out its clamp against overflow.
  let discardableAttrs = (ins "::mlir::UnitAttr":$nonpositive_argument);
  let extraClassDeclaration = [{
    void registerAttributes();
  }];
}

//===----------------------------------------------------------------------===//
// Score functions of the fused attention op
//===----------------------------------------------------------------------===//

// dot:      s(i, j) = scale * sum_d q[i, d] * k[j, d]
// additive: s(i, j) = scale * sum_d w[d] * tanh(q[i, d] + k[j, d])
// gaussian: s(i, j) = -scale / 2 * sum_d ((q[i, d] - k[j, d]) * w[d])^2
def Attn_ScoreKindAttr : I32EnumAttr<"ScoreKind", "attention score function", [
    I32EnumAttrCase<"Dot", 0, "dot">,
    I32EnumAttrCase<"Additive", 1, "additive">,
    I32EnumAttrCase<"Gaussian", 2, "gaussian">
  ]> {
  let cppNamespace = "::mlir::attn";
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_ATTN_IR_ATTNDIALECT_TD
