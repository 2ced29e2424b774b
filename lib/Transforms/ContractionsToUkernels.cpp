//===- ContractionsToUkernels.cpp - matrix products as micro-kernel calls -===//
//
// Implements attn-contractions-to-ukernels: f32 contractions on buffers, and
// bf16 ones into f32, become calls of the runtime's matrix-product
// micro-kernels (lib/Runtime/Ukernels.cpp, register-tiled AVX-512/AVX2;
// lib/Runtime/UkernelsBf16.cpp, AMX tiles), one per 2-D slice, under an
// scf.forall over output tiles when they are not already inside one.
//
//===----------------------------------------------------------------------===//

#include "attn/Transforms/Passes.h"

#include "CodegenUtils.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::attn {
#define GEN_PASS_DEF_CONTRACTIONSTOUKERNELSPASS
#include "attn/Transforms/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

/// The runtime functions: C += A · B on rank-2 views with any strides, f32
/// throughout or bf16 A and B into an f32 C; each with an overwrite form
/// (C = A · B, C not read).
static constexpr StringLiteral kMatmulF32 = "attn_uk_matmul_f32";
static constexpr StringLiteral kMatmulF32Overwrite =
    "attn_uk_matmul_f32_overwrite";
static constexpr StringLiteral kMatmulBf16 = "attn_uk_matmul_bf16";
static constexpr StringLiteral kMatmulBf16Overwrite =
    "attn_uk_matmul_bf16_overwrite";
/// C[g] += A · B[g] over groups g of narrow products (rank-3 B and C).
static constexpr StringLiteral kMatmulF32Groups = "attn_uk_matmul_f32_groups";
static constexpr StringLiteral kMatmulF32GroupsOverwrite =
    "attn_uk_matmul_f32_groups_overwrite";
/// N below this (one AVX-512 vector) leaves lanes idle on every FMA: such
/// products go to the grouped kernel when further N loops can be its groups.
static constexpr int64_t kVectorLanes = 16;
/// bf16 with B in VNNI form: (k / 2) x (2 n), pairs of rows interleaved.
static constexpr StringLiteral kMatmulBf16Pairs = "attn_uk_matmul_bf16_pairs";
static constexpr StringLiteral kMatmulBf16PairsOverwrite =
    "attn_uk_matmul_bf16_pairs_overwrite";

namespace {
/// How a contraction's loops map onto the micro-kernel's C[M, N] +=
/// A[M, K] · B[K, N]: one M, N and K dimension, each possibly several loops
/// collapsed into one; every other loop (batch loops, M loops that do not
/// collapse) is iterated around the calls.
struct UkernelPlan {
  /// The M loops, outermost first: C's innermost M loop, and the loops
  /// before it that both A and C store consecutively and contiguously (the
  /// rows of a Linear applied to windows, "b x y w1 w2 i, i o -> b x y w1 w2
  /// o": M is all x·y·w1·w2 rows, not the 7 of w2), collapsed into one.
  SmallVector<unsigned> m;
  /// The N loops, outermost first: the output's innermost loop, and the
  /// loops before it that both B and C store consecutively and contiguously
  /// (a convolution's output rows and columns, "b c p q h w, o c p q -> b o
  /// h w": N is all H·W positions, not one row of W), collapsed into one.
  SmallVector<unsigned> n;
  /// The K loops, in the order both inputs store them (consecutively: they
  /// are collapsed into one, as "b n h d, o h d -> b n o" needs).
  SmallVector<unsigned> k;
  /// Further N loops, collapsed into one, that the call iterates as its
  /// groups when N is narrower than a vector (the windows of a 1x1
  /// convolution on 2 x 2 positions, "g c h w, o c -> g o h w": N = 4, the
  /// groups g side by side fill the kernel's vectors).
  SmallVector<unsigned> groups;
  SmallVector<unsigned> outer;
  OpOperand *a, *b, *c;
  /// A and B are bf16 (C is f32 either way).
  bool bf16 = false;
  /// B holds pairs of rows (VNNI form): its dimensions end with the outer K
  /// loops, N, then the last K loop, of 2, as a bf16 weight prepared for AMX
  /// tiles is stored ("n i e, p i c e -> n p c"; k = {i, e}).
  bool pairs = false;
};
} // namespace

/// Position of loop `dim` among the results of `map`, if it is one.
static std::optional<unsigned> resultOf(AffineMap map, unsigned dim) {
  for (unsigned r = 0; r < map.getNumResults(); ++r)
    if (map.getDimPosition(r) == dim)
      return r;
  return std::nullopt;
}

/// Completes `plan` with the loops iterated around the calls (every loop not
/// its M, N or K), which must all be parallel (batch or M loops): their
/// iterations are independent calls.
static std::optional<UkernelPlan>
finishPlan(linalg::LinalgOp op, UkernelPlan &plan, ArrayRef<int64_t> ranges) {
  for (unsigned d = 0; d < op.getNumLoops(); ++d)
    if (!llvm::is_contained(plan.m, d) && !llvm::is_contained(plan.n, d) &&
        !llvm::is_contained(plan.k, d) && !llvm::is_contained(plan.groups, d))
      plan.outer.push_back(d);
  auto iterators = op.getIteratorTypesArray();
  for (unsigned d : plan.outer)
    if (iterators[d] != utils::IteratorType::parallel && ranges[d] != 1)
      return std::nullopt;
  return plan;
}

/// Accepts linalg contractions on f32 buffers (or bf16 inputs into an f32
/// output: the product of two bf16 values is exact in f32) whose indexing
/// maps are permutations of their operands' dimensions, with N the output's
/// innermost dimension (its unit-stride columns are what the micro-kernel
/// stores as vectors) and K loops stored consecutively in both inputs;
/// other parallel loops are iterated around the calls.
static std::optional<UkernelPlan> planUkernel(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !linalg::isaContractionOpInterface(op))
    return std::nullopt;
  auto elementType = [&](Value v) {
    return cast<ShapedType>(v.getType()).getElementType();
  };
  if (!elementType(op.getDpsInitOperand(0)->get()).isF32())
    return std::nullopt;
  Type inputType = elementType(op.getDpsInputOperand(0)->get());
  if (inputType != elementType(op.getDpsInputOperand(1)->get()) ||
      !(inputType.isF32() || inputType.isBF16()))
    return std::nullopt;
  for (OpOperand &operand : op->getOpOperands()) {
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || !type.isStrided())
      return std::nullopt;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!map.isProjectedPermutation(/*allowZeroInResults=*/false) ||
        map.getNumResults() != type.getRank())
      return std::nullopt;
  }
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims))
    return std::nullopt;
  // Unit loops (a "b n i, i s o -> b n s o" projection with s = 1) are
  // iterated like batch loops: one iteration.
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  UkernelPlan plan;
  plan.bf16 = inputType.isBF16();
  plan.c = op.getDpsInitOperand(0);
  AffineMap cMap = op.getMatchingIndexingMap(plan.c);
  if (cMap.getNumResults() < 2)
    return std::nullopt;
  unsigned inner = cMap.getDimPosition(cMap.getNumResults() - 1);
  for (auto *list : {&dims->m, &dims->n, &dims->k}) {
    SmallVector<unsigned, 2> all(*list);
    llvm::erase_if(*list, [&](unsigned d) { return ranges[d] == 1; });
    // A bf16 product whose only M, N or K loop has one iteration (a flash
    // nest's last block of one query or one key: n = 257 in blocks of 128)
    // keeps it as a micro-kernel dimension of size 1: the mixed-type
    // product has no register tiling (planContraction takes one element
    // type), so it would become a scalar loop nest, one dependent sum per
    // output element (15% of G1's bf16 time at n = 257).
    if (plan.bf16 && list->empty() && !all.empty())
      list->push_back(llvm::is_contained(all, inner) ? inner : all.back());
  }
  // inferContractionDims calls the parallel loops of the first input "m":
  // with the rhs first, the output's innermost (N) loop is among them.
  if (llvm::is_contained(dims->m, inner))
    std::swap(dims->m, dims->n);
  // Other N loops (the panel loop of "n i, p i c -> n p c", a weight
  // prepared as column panels) are iterated around the calls like batch
  // loops: each call reads one panel.
  if (!llvm::is_contained(dims->n, inner) || dims->k.empty() ||
      dims->m.empty())
    return std::nullopt;
  plan.n = {inner};
  // The innermost M loop of C is the micro-kernel's M.
  std::optional<unsigned> m;
  for (unsigned r = 0; r < cMap.getNumResults(); ++r)
    if (llvm::is_contained(dims->m, cMap.getDimPosition(r)))
      m = cMap.getDimPosition(r);
  if (!m)
    return std::nullopt;
  plan.m = {*m};
  OpOperand *in0 = op.getDpsInputOperand(0), *in1 = op.getDpsInputOperand(1);
  bool in0HasM = resultOf(op.getMatchingIndexingMap(in0), *m).has_value();
  plan.a = in0HasM ? in0 : in1;
  plan.b = in0HasM ? in1 : in0;
  // The K loops in A's order; several must be consecutive and contiguous in
  // both inputs (collapsible, below) and become one K.
  AffineMap aMap = op.getMatchingIndexingMap(plan.a);
  AffineMap bMap = op.getMatchingIndexingMap(plan.b);
  for (unsigned r = 0; r < aMap.getNumResults(); ++r)
    if (llvm::is_contained(dims->k, aMap.getDimPosition(r)))
      plan.k.push_back(aMap.getDimPosition(r));
  // Whether `loops` sit consecutively, in this order, in `operand`'s
  // dimensions and collapse into one without a copy.
  auto collapsible = [&](OpOperand *operand, ArrayRef<unsigned> loops) {
    AffineMap map = op.getMatchingIndexingMap(operand);
    std::optional<unsigned> first = resultOf(map, loops.front());
    if (!first || *first + loops.size() > map.getNumResults())
      return false;
    for (auto [i, d] : llvm::enumerate(loops))
      if (map.getDimPosition(*first + i) != d)
        return false;
    return attn::collapsesInPlace(cast<MemRefType>(operand->get().getType()),
                                  *first, loops.size());
  };
  // B as pairs of rows: its dimensions end with the outer K loops (in A's
  // order, consecutive: checked below), N, then the last K loop, of 2.
  unsigned bRank = bMap.getNumResults();
  ArrayRef<unsigned> kOuter = ArrayRef<unsigned>(plan.k).drop_back();
  plan.pairs = plan.bf16 && !kOuter.empty() && ranges[plan.k.back()] == 2 &&
               bRank >= 3 && bMap.getDimPosition(bRank - 3) == kOuter.back() &&
               bMap.getDimPosition(bRank - 2) == inner &&
               bMap.getDimPosition(bRank - 1) == plan.k.back();
  bool bCollapses = plan.pairs ? collapsible(plan.b, kOuter) &&
                                     collapsible(plan.b, {inner, plan.k.back()})
                               : collapsible(plan.b, plan.k);
  if (!collapsible(plan.a, plan.k) || !bCollapses)
    return std::nullopt;
  // Further M loops before the innermost one in C, as long as A stores them
  // in the same order right before it and both collapse (static: the calls
  // tile the collapsed rows, whose count is their product).
  if (ShapedType::isStatic(ranges[*m])) {
    for (int r = int(*resultOf(cMap, *m)) - 1; r >= 0; --r) {
      unsigned d = cMap.getDimPosition(r);
      if (!llvm::is_contained(dims->m, d) || ShapedType::isDynamic(ranges[d]))
        break;
      SmallVector<unsigned> wider = {d};
      wider.append(plan.m);
      if (!collapsible(plan.a, wider) || !collapsible(plan.c, wider))
        break;
      plan.m = std::move(wider);
    }
  }
  if (plan.pairs)
    return finishPlan(op, plan, ranges);
  // Further N loops before the innermost one in C, as long as B stores them
  // in the same order right before it and both collapse.
  for (int r = int(cMap.getNumResults()) - 2; r >= 0; --r) {
    unsigned d = cMap.getDimPosition(r);
    if (!llvm::is_contained(dims->n, d) || ranges[d] == 1)
      break;
    SmallVector<unsigned> wider = {d};
    wider.append(plan.n);
    if (!collapsible(plan.b, wider) || !collapsible(plan.c, wider))
      break;
    plan.n = std::move(wider);
  }
  // A narrow f32 N: the other N loops (in C's order; B must store them in
  // the same order, both collapsing them) become the call's groups.
  int64_t width = 1;
  for (unsigned d : plan.n)
    width = ShapedType::isDynamic(ranges[d]) ? kVectorLanes : width * ranges[d];
  if (!plan.bf16 && width < kVectorLanes) {
    SmallVector<unsigned> groups;
    for (unsigned r = 0; r < cMap.getNumResults(); ++r) {
      unsigned d = cMap.getDimPosition(r);
      if (llvm::is_contained(dims->n, d) && !llvm::is_contained(plan.n, d))
        groups.push_back(d);
    }
    if (!groups.empty() && collapsible(plan.b, groups) &&
        collapsible(plan.c, groups))
      plan.groups = std::move(groups);
  }
  return finishPlan(op, plan, ranges);
}

/// The micro-kernel's argument type: a view of `rank` dimensions (2, or 3
/// with groups) of `elementType` with any strides.
static MemRefType abiType(Type elementType, int64_t rank = 2) {
  int64_t dyn = ShapedType::kDynamic;
  return MemRefType::get(SmallVector<int64_t>(rank, dyn), elementType,
                         StridedLayoutAttr::get(elementType.getContext(),
                                                /*offset=*/dyn,
                                                SmallVector<int64_t>(rank, dyn)));
}

/// Declares the micro-kernel for `bf16` (with B as `pairs` of rows) or f32
/// inputs, accumulating into or overwriting C (C interface: a pointer to
/// each descriptor) once per module.
static func::FuncOp declareUkernel(ModuleOp module, bool bf16, bool pairs,
                                   bool groups, bool overwrite) {
  StringRef name = pairs    ? (overwrite ? kMatmulBf16PairsOverwrite
                                         : kMatmulBf16Pairs)
                   : bf16   ? (overwrite ? kMatmulBf16Overwrite : kMatmulBf16)
                   : groups ? (overwrite ? kMatmulF32GroupsOverwrite
                                         : kMatmulF32Groups)
                            : (overwrite ? kMatmulF32Overwrite : kMatmulF32);
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
  MemRefType in = abiType(bf16 ? Type(b.getBF16Type()) : b.getF32Type());
  // With groups, B and C are rank 3 (f32 only).
  MemRefType rhs = groups ? abiType(b.getF32Type(), 3) : in;
  MemRefType out = abiType(b.getF32Type(), groups ? 3 : 2);
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType({in, rhs, out}, {}));
  f.setPrivate();
  f->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(), b.getUnitAttr());
  return f;
}

/// Rows [offset, offset + size) of a collapsed M: a tile of the collapsed
/// dimension (no rectangle of the loops it collapses).
struct RowTile {
  OpFoldResult offset, size;
};

/// The view of `operand` at iteration `ivs` of the outer loops with one
/// dimension per side: the loops of each side (several collapsed into one
/// dimension) kept with the given offsets and sizes, every other dimension
/// fixed at its outer index, transposed into the sides' order when stored
/// in another, and cut to `rowTile`'s rows in side `rowSide` when there is
/// one.
static Value viewOf(OpBuilder &b, Location loc, linalg::LinalgOp op,
                    OpOperand *operand, ArrayRef<ArrayRef<unsigned>> sides,
                    const DenseMap<unsigned, OpFoldResult> &offsets,
                    const DenseMap<unsigned, OpFoldResult> &sizes,
                    std::optional<RowTile> rowTile = std::nullopt,
                    unsigned rowSide = 0) {
  Value source = operand->get();
  auto type = cast<MemRefType>(source.getType());
  AffineMap map = op.getMatchingIndexingMap(operand);
  auto kept = [&](unsigned d) {
    return llvm::any_of(sides, [&](ArrayRef<unsigned> side) {
      return llvm::is_contained(side, d);
    });
  };
  SmallVector<OpFoldResult> off, size, stride;
  SmallVector<int64_t> keptSizes;
  for (unsigned r = 0; r < map.getNumResults(); ++r) {
    unsigned d = map.getDimPosition(r);
    off.push_back(offsets.lookup(d));
    stride.push_back(b.getIndexAttr(1));
    if (kept(d)) {
      OpFoldResult s = sizes.lookup(d);
      size.push_back(s);
      std::optional<int64_t> c = getConstantIntValue(s);
      keptSizes.push_back(c ? *c : ShapedType::kDynamic);
    } else {
      size.push_back(b.getIndexAttr(1));
    }
  }
  auto viewType = memref::SubViewOp::inferRankReducedResultType(
      keptSizes, type, off, size, stride);
  Value view = memref::SubViewOp::create(b, loc, cast<MemRefType>(viewType),
                                         source, off, size, stride);
  // The sides in the order the operand stores them (each side's loops are
  // consecutive there: the plan checked it).
  SmallVector<unsigned> stored = llvm::to_vector(llvm::seq<unsigned>(sides.size()));
  llvm::sort(stored, [&](unsigned x, unsigned y) {
    return *resultOf(map, sides[x].front()) < *resultOf(map, sides[y].front());
  });
  // Collapse the loops of each side into one dimension.
  if (keptSizes.size() > sides.size()) {
    SmallVector<ReassociationIndices> groups;
    int64_t next = 0;
    for (unsigned side : stored) {
      groups.emplace_back();
      for (size_t i = 0; i < sides[side].size(); ++i)
        groups.back().push_back(next++);
    }
    view = memref::CollapseShapeOp::create(b, loc, view, groups);
  }
  // Dimension r of the result is side r: stored at position stored⁻¹(r).
  SmallVector<unsigned> permutation(sides.size());
  for (auto [position, side] : llvm::enumerate(stored))
    permutation[side] = position;
  if (!llvm::equal(permutation, llvm::seq<unsigned>(sides.size()))) {
    AffineMap perm = AffineMap::getPermutationMap(permutation, b.getContext());
    view = memref::TransposeOp::create(b, loc, view, AffineMapAttr::get(perm));
  }
  if (rowTile) {
    SmallVector<OpFoldResult> tileOffsets(sides.size(), b.getIndexAttr(0)),
        tileSizes = memref::getMixedSizes(b, loc, view),
        unit(sides.size(), b.getIndexAttr(1));
    tileOffsets[rowSide] = rowTile->offset;
    tileSizes[rowSide] = rowTile->size;
    view = memref::SubViewOp::create(b, loc, view, tileOffsets, tileSizes, unit);
  }
  auto viewMemRef = cast<MemRefType>(view.getType());
  return memref::CastOp::create(
      b, loc, abiType(viewMemRef.getElementType(), viewMemRef.getRank()), view);
}

/// The `linalg.fill` of +0.0 right before `op` into exactly its output
/// buffer, if there is one: the calls can overwrite C instead (f32 or bf16
/// inputs alike; a bf16 Linear's f32 accumulator is such a filled buffer).
/// The calls write every element of C, so the fill's zeros are dead once
/// the sums start from +0 (+0 + x is x, and -0 products sum to +0 from +0
/// as from the filled +0).
static linalg::FillOp zeroFillOfOutput(linalg::LinalgOp op,
                                       const UkernelPlan &plan) {
  // Reshapes in between (attn-collapse-parallel-dims collapses a Linear's
  // leading loops after the fill) neither read nor write memory, and C may
  // be such a reshape of the filled buffer: a reshape views all of it.
  Operation *prev = op->getPrevNode();
  while (isa_and_nonnull<memref::CollapseShapeOp, memref::ExpandShapeOp>(prev))
    prev = prev->getPrevNode();
  Value c = plan.c->get();
  while (Operation *def = c.getDefiningOp()) {
    if (auto collapse = dyn_cast<memref::CollapseShapeOp>(def))
      c = collapse.getSrc();
    else if (auto expand = dyn_cast<memref::ExpandShapeOp>(def))
      c = expand.getSrc();
    else
      break;
  }
  auto fill = dyn_cast_or_null<linalg::FillOp>(prev);
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getOutputs().size() != 1 || fill.getOutputs()[0] != c)
    return {};
  FloatAttr value;
  if (!matchPattern(fill.getInputs()[0], m_Constant(&value)) ||
      !value.getValue().isPosZero())
    return {};
  return fill;
}

namespace {
struct ContractionsToUkernelsPass
    : public attn::impl::ContractionsToUkernelsPassBase<
          ContractionsToUkernelsPass> {
  using Base::Base;

  /// Output tile sizes for a top-level contraction of M x N (other parallel
  /// loops of `outerTrips` iterations in all): whole rows up to
  /// parallel-tile-m and columns up to parallel-tile-n, halved (columns
  /// first, down to one 64-column panel; rows down to 48) until there are
  /// min-parallel-tiles tiles, so every thread has work.
  std::pair<int64_t, int64_t> tileSizes(int64_t m, int64_t n,
                                        int64_t outerTrips) const {
    int64_t tm = std::min<int64_t>(m, parallelTileM);
    int64_t tn = std::min<int64_t>(n, parallelTileN);
    auto count = [&]() -> int64_t {
      return outerTrips * int64_t(llvm::divideCeil(m, tm)) *
             int64_t(llvm::divideCeil(n, tn));
    };
    while (count() < minParallelTiles && tn > 64)
      tn = std::max<int64_t>(64, llvm::alignTo(tn / 2, 64));
    while (count() < minParallelTiles && tm > 48)
      tm = std::max<int64_t>(48, llvm::alignTo(tm / 2, 6));
    return {tm, tn};
  }

  void rewrite(linalg::LinalgOp op, const UkernelPlan &plan,
               func::FuncOp callee) {
    OpBuilder b(op);
    Location loc = op.getLoc();
    SmallVector<OpFoldResult> ranges = llvm::map_to_vector(
        op.createLoopRanges(b, loc), [](Range r) { return r.size; });
    bool nested = op->getParentOfType<scf::ForallOp>() != nullptr;
    SmallVector<int64_t> staticRanges = op.getStaticLoopRanges();
    int64_t outerTrips = 1;
    for (unsigned d : plan.outer)
      outerTrips *= ShapedType::isDynamic(staticRanges[d]) ? 1 : staticRanges[d];
    // Collapsed N loops are not tiled (a tile of H·W positions is no
    // rectangle of the loops): each call takes all of them, tiles split M.
    // Collapsed M loops are tiled as the one dimension they become.
    bool tileN = plan.n.size() == 1 && plan.groups.empty();
    bool collapsedM = plan.m.size() > 1;
    int64_t rows = 1;
    for (unsigned d : plan.m)
      rows = ShapedType::isDynamic(staticRanges[d]) || ShapedType::isDynamic(rows)
                 ? ShapedType::kDynamic
                 : rows * staticRanges[d];
    int64_t tm = ShapedType::kDynamic, tn = ShapedType::kDynamic;
    if (!nested && !ShapedType::isDynamic(rows) &&
        llvm::none_of(plan.n, [&](unsigned d) {
          return ShapedType::isDynamic(staticRanges[d]);
        }))
      std::tie(tm, tn) = tileSizes(
          rows, tileN ? staticRanges[plan.n.front()] : 64, outerTrips);

    // A weight's panel loop (pairs of rows, top level): each parallel
    // iteration takes a group of consecutive panels, called in turn, so one
    // thread walks one stretch of the weight and the micro-kernel's
    // prefetch of the panel after its own is the next call's (with one
    // panel per iteration the dynamic schedule deals them out alternately).
    // As many panels per group as keep min-parallel-tiles iterations.
    std::optional<unsigned> panelDim;
    int64_t group = 1;
    if (plan.pairs && !nested) {
      AffineMap aMap = op.getMatchingIndexingMap(plan.a);
      AffineMap bMap = op.getMatchingIndexingMap(plan.b);
      AffineMap cMap = op.getMatchingIndexingMap(plan.c);
      for (unsigned d : plan.outer)
        if (!resultOf(aMap, d) && resultOf(bMap, d) && resultOf(cMap, d) &&
            !ShapedType::isDynamic(staticRanges[d]) && staticRanges[d] > 1) {
          panelDim = d;
          break;
        }
      if (panelDim && !ShapedType::isDynamic(tm)) {
        int64_t iterations = outerTrips * llvm::divideCeil(rows, tm);
        if (tileN)
          iterations *= llvm::divideCeil(staticRanges[plan.n.front()], tn);
        group = std::clamp<int64_t>(iterations / minParallelTiles, 1,
                                    staticRanges[*panelDim]);
      }
    }

    // Loops: the outer dimensions, then (top level only) M and N tiles. The
    // tile loop of a collapsed M is no loop of the op: kRowTile stands for it.
    constexpr unsigned kRowTile = ~0u;
    SmallVector<unsigned> loopDims(plan.outer);
    SmallVector<OpFoldResult> ubs, steps;
    for (unsigned d : plan.outer) {
      ubs.push_back(ranges[d]);
      steps.push_back(b.getIndexAttr(panelDim == d ? group : 1));
    }
    bool tiled = !ShapedType::isDynamic(tm);
    if (tiled) {
      loopDims.push_back(collapsedM ? kRowTile : plan.m.front());
      ubs.push_back(collapsedM ? b.getIndexAttr(rows) : ranges[plan.m.front()]);
      steps.push_back(b.getIndexAttr(tm));
      if (tileN) {
        loopDims.push_back(plan.n.front());
        ubs.push_back(ranges[plan.n.front()]);
        steps.push_back(b.getIndexAttr(tn));
      }
    }
    auto body = [&](OpBuilder &b, Location loc, ValueRange ivs) {
      DenseMap<unsigned, OpFoldResult> offsets, sizes;
      for (unsigned d = 0; d < op.getNumLoops(); ++d) {
        offsets[d] = b.getIndexAttr(0);
        sizes[d] = ranges[d];
      }
      std::optional<RowTile> rowTile;
      // The size of the tile at `offset` of a loop of `range`.
      auto tileSize = [&](OpFoldResult offset, OpFoldResult range,
                          int64_t tile) {
        AffineExpr i, n;
        bindDims(b.getContext(), i);
        bindSymbols(b.getContext(), n);
        AffineMap rest = AffineMap::get(
            1, 1, {b.getAffineConstantExpr(tile), n - i}, b.getContext());
        return affine::makeComposedFoldedAffineMin(b, loc, rest,
                                                   {offset, range});
      };
      for (auto [d, iv] : llvm::zip(loopDims, ivs)) {
        if (d == kRowTile)
          rowTile = RowTile{iv, tileSize(iv, b.getIndexAttr(rows), tm)};
        else
          offsets[d] = iv;
      }
      if (tiled) {
        if (!collapsedM)
          sizes[plan.m.front()] =
              tileSize(offsets[plan.m.front()], ranges[plan.m.front()], tm);
        if (tileN)
          sizes[plan.n.front()] =
              tileSize(offsets[plan.n.front()], ranges[plan.n.front()], tn);
      }
      auto call = [&](OpBuilder &b, Location loc) {
        ArrayRef<unsigned> m = plan.m, n = plan.n, k = plan.k;
        Value a = viewOf(b, loc, op, plan.a, {m, k}, offsets, sizes, rowTile);
        Value bm, c;
        if (plan.pairs) {
          // B as pairs of rows: (outer K) x (N, inner K) collapsed, 2N wide.
          unsigned nk[] = {plan.n.front(), plan.k.back()};
          bm = viewOf(b, loc, op, plan.b, {k.drop_back(), nk}, offsets, sizes);
        } else if (!plan.groups.empty()) {
          ArrayRef<unsigned> g = plan.groups;
          bm = viewOf(b, loc, op, plan.b, {g, k, n}, offsets, sizes);
          c = viewOf(b, loc, op, plan.c, {g, m, n}, offsets, sizes, rowTile,
                     /*rowSide=*/1);
        } else {
          bm = viewOf(b, loc, op, plan.b, {k, n}, offsets, sizes);
        }
        if (!c)
          c = viewOf(b, loc, op, plan.c, {m, n}, offsets, sizes, rowTile);
        func::CallOp::create(b, loc, callee, ValueRange{a, bm, c});
      };
      if (group == 1)
        return call(b, loc);
      // The group's panels in turn: from the iteration's first to the
      // group's end or the last panel.
      AffineExpr i, n;
      bindDims(b.getContext(), i);
      bindSymbols(b.getContext(), n);
      AffineMap end = AffineMap::get(
          1, 1, {i + b.getAffineConstantExpr(group), n}, b.getContext());
      OpFoldResult first = offsets[*panelDim];
      OpFoldResult last = affine::makeComposedFoldedAffineMin(
          b, loc, end, {first, ranges[*panelDim]});
      scf::ForOp::create(
          b, loc, getValueOrCreateConstantIndexOp(b, loc, first),
          getValueOrCreateConstantIndexOp(b, loc, last),
          arith::ConstantIndexOp::create(b, loc, 1), ValueRange{},
          [&](OpBuilder &b, Location loc, Value panel, ValueRange) {
            offsets[*panelDim] = panel;
            call(b, loc);
            scf::YieldOp::create(b, loc);
          });
    };
    if (loopDims.empty()) {
      body(b, loc, {});
    } else if (nested) {
      // Already inside the flash nest's parallel loop: sequential loops.
      SmallVector<Value> lbs, ubValues, stepValues;
      for (auto [ub, step] : llvm::zip(ubs, steps)) {
        lbs.push_back(arith::ConstantIndexOp::create(b, loc, 0));
        ubValues.push_back(getValueOrCreateConstantIndexOp(b, loc, ub));
        stepValues.push_back(getValueOrCreateConstantIndexOp(b, loc, step));
      }
      scf::buildLoopNest(b, loc, lbs, ubValues, stepValues, body);
    } else {
      SmallVector<OpFoldResult> lbs(ubs.size(), b.getIndexAttr(0));
      scf::ForallOp::create(b, loc, lbs, ubs, steps, ValueRange{},
                            std::nullopt,
                            [&](OpBuilder &b, Location loc, ValueRange ivs) {
                              body(b, loc, ivs);
                              scf::InParallelOp::create(b, loc);
                            });
    }
    op->erase();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<std::pair<linalg::LinalgOp, UkernelPlan>, 4> work;
    module.walk([&](linalg::LinalgOp op) {
      if (!inLoops && op->getParentOfType<scf::ForallOp>())
        return;
      if (std::optional<UkernelPlan> plan = planUkernel(op))
        work.push_back({op, *plan});
    });
    for (auto &[op, plan] : work) {
      linalg::FillOp fill = zeroFillOfOutput(op, plan);
      if (fill)
        fill->erase();
      rewrite(op, plan,
              declareUkernel(module, plan.bf16, plan.pairs,
                             !plan.groups.empty(), bool(fill)));
    }
  }
};
} // namespace
