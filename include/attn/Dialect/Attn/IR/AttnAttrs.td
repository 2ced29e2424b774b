//===- AttnAttrs.td - attn dialect attributes --------------*- tablegen -*-===//
//
// Attributes that code generation records in the IR: which loops form a
// flash-attention nest, and the tile sizes a strategy pass chose for an op.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
#define ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD

include "attn/Dialect/Attn/IR/AttnDialect.td"
include "mlir/Dialect/SCF/IR/DeviceMappingInterface.td"
include "mlir/IR/AttrTypeBase.td"

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

// Tile sizes printed and parsed as `[8, 32, 1]`; absent when empty.
def Attn_SizesParameter : OptionalArrayRefParameter<"int64_t"> {
  let printer = [{
    $_printer << '[';
    ::llvm::interleaveComma($_self, $_printer);
    $_printer << ']';
  }];
  let parser = [{
    [&]() -> ::mlir::FailureOr<::llvm::SmallVector<int64_t>> {
      ::llvm::SmallVector<int64_t> sizes;
      if ($_parser.parseCommaSeparatedList(
              ::mlir::AsmParser::Delimiter::Square, [&] {
                return $_parser.parseInteger(sizes.emplace_back());
              }))
        return ::mlir::failure();
      return sizes;
    }()
  }];
}

def Attn_FlashNestAttr : Attn_Attr<"FlashNest", "flash_nest",
    [DeclareAttrInterfaceMethods<DeviceMappingAttrInterface>]> {
  let summary = "marks loop `dim` of an scf.forall as part of a flash nest";
  let description = [{
    The flash-attention lowering distributes the (batch..., query block)
    iterations of an attention with an `scf.forall` whose `mapping` is
    `[#attn.flash_nest<0>, ..., #attn.flash_nest<n-1>]`, one entry per loop,
    the last one over query blocks. The mapping survives bufferisation and
    canonicalisation (a discardable attribute would not), so later passes
    (CPU vectorisation of the softmax steps, GPU block mapping) find the
    nest by asking the loop instead of assuming that every `scf.forall` is
    one. `attn::getFlashNest(op)` returns the nest enclosing an op.
  }];
  let parameters = (ins "int64_t":$dim);
  let assemblyFormat = "`<` $dim `>`";
}

def Attn_LoweringConfigAttr : Attn_Attr<"LoweringConfig", "lowering_config"> {
  let summary = "tile sizes a strategy pass chose for one linalg op";
  let description = [{
    Recorded on a linalg op as `attn.lowering_config` by a per-target
    strategy pass (`attn-cpu-strategy`) and read, level by level, by the
    tiling passes; each tiling pass applies one level and drops it from the
    attribute of the ops it creates, so every level is applied once.
    Sizes are given per loop dimension of the op, 0 meaning "not tiled at
    this level"; an absent (empty) level is not applied.

    - `parallel`: `scf.forall` output tiles, one per thread task
      (`attn-tile-parallel`);
    - `reduction`: `scf.for` blocks of the reduction inside each output
      tile (`attn-tile-reduction`);
    - `registers`: the micro-kernel's register tile, `scf.for` loops with
      the reduction innermost and the M and N loops peeled
      (`attn-tile-registers`);
    - `vector`: set by `attn-tile-registers` on the register tiles it
      made: the (static) vector shape a full tile has, which
      `attn-vectorize-register-tiles` also gives the peeled partial tiles.

    Example: `{attn.lowering_config = #attn.lowering_config<parallel = [64,
    256, 0], reduction = [0, 0, 128], registers = [8, 32, 1]>}` on a
    `linalg.matmul`.
  }];
  let parameters = (ins
    Attn_SizesParameter:$parallel,
    Attn_SizesParameter:$reduction,
    Attn_SizesParameter:$registers,
    Attn_SizesParameter:$vector
  );
  let assemblyFormat = "`<` struct(params) `>`";
  let extraClassDeclaration = [{
    /// The attribute name under which ops carry their config.
    static ::llvm::StringRef getAttrName() { return "attn.lowering_config"; }
  }];
}

#endif // ATTN_DIALECT_ATTN_IR_ATTNATTRS_TD
