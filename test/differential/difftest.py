#!/usr/bin/env python3
"""Differential tests of attn-opt against independent implementations.

Generates random small programs and compares what attn-run computes with
them (and attn-opt's accept/reject decisions with theirs):

- einsum: 1-4 operands, random labels (repeated ones, ellipses that
  broadcast, sizes 0 and 1, 0-d operands, implicit outputs, scales), in
  torch's compact spelling against torch.einsum and in einops' spaced one
  against einops.einsum, both in float64; malformed equations must be
  rejected by both;
- rearrange: patterns drawn from the einops grammar, valid and invalid
  (bad names, underscores, numbers, dots, brackets, arrows, sizes,
  ranks), against the real einops package: the same accept/reject decision,
  and for accepted ones the same elements;
- attention: attn.attention and the unfused einsum/select/softmax/einsum
  graph with random batch dims, lengths, masks (boolean, additive, fully
  masked rows), causal flags and score kinds, with NaN and infinities placed
  where they must be ignored (keys and values of masked keys) or must
  propagate, against numpy in float64.

Each program's compiled result is compared with the independent result
(f32 tolerance relative to the largest magnitude, NaN where it is NaN), and
attn-run's own f64 reference with it (1e-9).

  test/differential/difftest.py --build build                 # the CI run
  test/differential/difftest.py --build build --programs 3000 # a long run

Prints one line per discrepancy (inputs kept under --out) and a summary
'differential: N programs ... P passed, F failed'; exit code 1 on a failure.
The programs depend only on --seed and --programs.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

warnings.simplefilter("ignore")
import einops  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent.parent


@dataclass
class Case:
    """One generated program: its IR, inputs and what to expect."""
    kind: str
    name: str
    mlir: str = ""
    inputs: list = field(default_factory=list)
    expected: list | None = None  # None: must be rejected
    run: bool = True  # False: attn-opt's verdict only
    note: str = ""


def mlir_type(shape, dtype="f32"):
    return "tensor<" + "".join(f"{d}x" for d in shape) + dtype + ">"


def mlir_string(text):
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= ord(ch) < 127:
            out.append(ch)
        else:
            out.extend(f"\\{b:02X}" for b in ch.encode())
    return '"' + "".join(out) + '"'


def uniform(rng, shape):
    return rng.uniform(-1, 1, shape).astype(np.float32)


# ---------------------------------------------------------------------------
# einsum
# ---------------------------------------------------------------------------

WORDS = ["b", "h", "i", "j", "d", "n", "head", "x1", "first_tensor", "seq",
         "c", "k"]


def gen_einsum(rng: random.Random, index: int) -> Case:
    spaced = rng.random() < 0.35
    pool = WORDS if spaced else list("abcdefgh")
    num_labels = rng.randint(1, 5)
    labels = rng.sample(pool, num_labels)
    sizes = {l: rng.choice([0, 1, 1, 2, 3, 3, 4, 5, 7]) if rng.random() > 0.06
             else 0 for l in labels}
    if rng.random() < 0.85:
        for l in labels:
            if sizes[l] == 0 and rng.random() < 0.7:
                sizes[l] = rng.choice([1, 2, 3])
    num_inputs = rng.choice([1, 1, 2, 2, 2, 3, 3, 4])
    use_ellipsis = rng.random() < 0.25
    ell_shape = [rng.choice([1, 2, 3]) for _ in range(rng.randint(0, 2))]
    terms, shapes = [], []
    for _ in range(num_inputs):
        rank = rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])
        term = [rng.choice(labels) for _ in range(rank)]
        shape = [sizes[l] for l in term]
        if use_ellipsis and rng.random() < 0.7:
            k = rng.randint(0, len(ell_shape))
            dims = [d if rng.random() < 0.75 else 1
                    for d in ell_shape[len(ell_shape) - k:]]
            pos = rng.randint(0, len(term))
            term = term[:pos] + ["..."] + term[pos:]
            shape = shape[:pos] + dims + shape[pos:]
        terms.append(term)
        shapes.append(shape)
    used = sorted({l for t in terms for l in t if l != "..."})
    has_ell = any("..." in t for t in terms)
    explicit = rng.random() < 0.8 or spaced  # einops needs '->'
    out = []
    if explicit:
        out = [l for l in used if rng.random() < 0.5]
        rng.shuffle(out)
        if has_ell and (rng.random() < 0.9 or spaced):
            out.insert(rng.randint(0, len(out)), "...")
    invalid = ""
    r = rng.random()
    if r < 0.04 and explicit:
        out.append("zz" if spaced else "z")
        invalid = "unknown output label"
    elif r < 0.07 and explicit and used:
        out = out + [used[0], used[0]]
        invalid = "repeated output label"
    elif r < 0.10 and shapes:
        shapes[0] = shapes[0] + [2]
        invalid = "rank mismatch"
    elif r < 0.12:
        invalid = "bad character"
    sep = " " if spaced else ""

    def term_text(t):
        return sep.join(t)

    eq = (", " if spaced else ",").join(term_text(t) for t in terms)
    if explicit:
        eq += (" -> " if spaced else "->") + term_text(out)
    if invalid == "bad character":
        eq = eq.replace("-", "=", 1) if "->" in eq else eq + "$"
    scale = rng.choice([None, None, None, 0.5, -1.25, 3.0])
    npr = np.random.default_rng(rng.getrandbits(32))
    arrays = [uniform(npr, s) for s in shapes]
    case = Case("einsum", f"einsum{index}", note=f"{eq!r} {shapes}")
    try:
        with torch.no_grad():
            tensors = [torch.from_numpy(a.astype(np.float64)) for a in arrays]
            if spaced:
                want = einops.einsum(*tensors, eq)
            else:
                want = torch.einsum(eq, *tensors)
        want = want.numpy() * (scale if scale is not None else 1.0)
        expected = [want]
    except Exception:  # noqa: BLE001 - any rejection is a rejection
        expected = None
    if expected is None and not invalid:
        # A generated equation the references refuse (e.g. numpy-style
        # broadcasting the torch rules do not allow): ours must refuse it
        # too.
        case.note += " (rejected by the reference)"
    out_shape = list(expected[0].shape) if expected is not None else [1]
    args = ", ".join(f"%a{i}: {mlir_type(s)}" for i, s in enumerate(shapes))
    scale_text = f" scale({scale!r})" if scale is not None else ""
    types = ", ".join(mlir_type(s) for s in shapes)
    case.mlir = (
        f"func.func @f({args}) -> {mlir_type(out_shape)} {{\n"
        f"  %r = attn.einsum {mlir_string(eq)} "
        f"({', '.join(f'%a{i}' for i in range(len(shapes)))}){scale_text} "
        f": ({types}) -> {mlir_type(out_shape)}\n"
        f"  return %r : {mlir_type(out_shape)}\n}}\n")
    case.inputs = arrays
    case.expected = expected
    return case


# ---------------------------------------------------------------------------
# rearrange
# ---------------------------------------------------------------------------

NAMES = ["a", "b", "c", "h", "w", "d", "n", "seq", "head", "x2", "in_dim",
         "for", "B", "t"]
# ASCII only: einops accepts any Python identifier, Unicode ones too; attn-opt
# refuses non-ASCII names by design (README, "einops grammar").
BAD_NAMES = ["_", "_pre", "post_", "2a", "a.b", "a-b", "__x__", "a$"]


def gen_rearrange(rng: random.Random, index: int) -> Case:
    num_axes = rng.randint(0, 5)
    axes = rng.sample(NAMES, num_axes)
    sizes = {a: rng.choice([1, 2, 2, 3, 3, 4, 5]) if rng.random() > 0.05
             else 0 for a in axes}

    def side(order, allow_paren_ellipsis):
        dims, i = [], 0
        while i < len(order):
            k = rng.choice([1, 1, 1, 2, 2, 3])
            group = order[i:i + k]
            i += k
            if len(group) > 1 or rng.random() < 0.1:
                dims.append(group)
            else:
                dims.append(group[0])
        for _ in range(rng.choice([0, 0, 0, 1, 2])):
            dims.insert(rng.randint(0, len(dims)),
                        rng.choice(["1", "()", "(1)", "01"]))
        return dims

    left_order = axes[:]
    rng.shuffle(left_order)
    right_order = axes[:]
    rng.shuffle(right_order)
    left = side(left_order, False)
    right = side(right_order, True)
    ellipsis = rng.random() < 0.3
    ell_shape = [rng.choice([0, 1, 2, 3]) if rng.random() > 0.1 else 0
                 for _ in range(rng.randint(0, 2))]
    if ellipsis:
        left.insert(rng.randint(0, len(left)), "...")
        pos = rng.randint(0, len(right))
        if rng.random() < 0.3:
            right.insert(pos, ["..."])
        else:
            right.insert(pos, "...")

    def text(dims):
        parts = []
        for d in dims:
            if isinstance(d, list):
                parts.append("(" + " ".join(d) + ")")
            else:
                parts.append(d)
        return " ".join(parts)

    shape = []
    for d in left:
        if d == "...":
            shape.extend(ell_shape)
        elif isinstance(d, list):
            shape.append(math.prod(sizes[a] for a in d if a not in
                                   ("1", "()")))
        elif d in ("1", "()", "(1)", "01"):
            shape.append(1)
        else:
            shape.append(sizes[d])
    given = {}
    for d in left:
        if isinstance(d, list) and len(d) > 1:
            for a in rng.sample(d, len(d) - 1):
                given[a] = sizes[a]
        if rng.random() < 0.1 and axes:
            a = rng.choice(axes)
            given[a] = sizes[a]
    pattern = text(left) + " -> " + text(right)

    # Break it in one of the ways einops refuses (or accepts, by surprise).
    r = rng.random()
    mutation = ""
    if r < 0.5:
        mutation = rng.choice([
            "rename", "bad name", "duplicate", "number", "zero", "two dots",
            "glued ellipsis", "left paren ellipsis", "right only ellipsis",
            "unbalanced", "nested", "tab", "unknown char", "no arrow",
            "two arrows", "unused size", "wrong size", "zero size",
            "wrong rank", "indivisible", "double space"])
        if mutation == "rename" and axes:
            a = rng.choice(axes)
            pattern = pattern.replace(" " + a + " ", " q ", 1) \
                if f" {a} " in f" {pattern} " else pattern + " q"
        elif mutation == "bad name":
            bad = rng.choice(BAD_NAMES)
            pattern = f"{bad} " + text(left) + f" -> {bad} " + text(right)
            shape = [2] + shape
        elif mutation == "duplicate" and axes:
            pattern = text(left) + f" {axes[0]} -> " + text(right)
            shape.append(sizes[axes[0]])
        elif mutation == "number":
            pattern = pattern + " 2" if rng.random() < 0.5 else "(a 2) -> a"
        elif mutation == "zero":
            pattern = text(left) + " 0 -> " + text(right)
            shape.append(1)
        elif mutation == "two dots":
            pattern = text(left) + " .. -> " + text(right)
        elif mutation == "glued ellipsis":
            pattern = "...pre -> ...pre"
            shape = [2, 3]
        elif mutation == "left paren ellipsis":
            pattern = "(a ...) -> a ..."
            shape = [6]
        elif mutation == "right only ellipsis":
            pattern = text(left) + " -> " + text(right) + " ..."
        elif mutation == "unbalanced":
            pattern = pattern.replace(")", "", 1) if ")" in pattern \
                else "(" + pattern
        elif mutation == "nested":
            pattern = "((a b)) -> a b"
            shape = [6]
        elif mutation == "tab":
            pattern = pattern.replace(" ", "\t", 1)
        elif mutation == "unknown char":
            pattern = pattern.replace(" ", " + ", 1)
        elif mutation == "no arrow":
            pattern = pattern.replace("->", " ")
        elif mutation == "two arrows":
            pattern = pattern + " -> " + text(right)
        elif mutation == "unused size":
            given["zz"] = 2
        elif mutation == "wrong size" and axes:
            given[axes[0]] = sizes[axes[0]] + 1
        elif mutation == "zero size" and axes:
            given[axes[0]] = 0
        elif mutation == "wrong rank":
            shape = shape + [2] if rng.random() < 0.5 else shape[1:]
        elif mutation == "indivisible":
            grouped = [i for i, d in enumerate(left) if isinstance(d, list)]
            if grouped and shape:
                pos = sum(len(ell_shape) - 1 if d == "..." else 0
                          for d in left[:grouped[0]]) + grouped[0]
                if 0 <= pos < len(shape):
                    shape[pos] += 1
        elif mutation == "double space":
            pattern = pattern.replace(" ", "  ")
    x = np.arange(max(math.prod(shape), 0), dtype=np.float32).reshape(shape)
    case = Case("rearrange", f"rearrange{index}",
                note=f"{pattern!r} {shape} {given} [{mutation or 'valid'}]")
    try:
        want = einops.rearrange(x, pattern, **given)
        case.expected = [np.array(want)]
    except Exception:  # noqa: BLE001 - einops raises several kinds
        case.expected = None
    out_shape = list(case.expected[0].shape) if case.expected is not None \
        else [1]
    size_text = ""
    if given:
        size_text = " {" + ", ".join(f"{json.dumps(k)} = {v}"
                                     for k, v in given.items()) + "}"
    case.mlir = (
        f"func.func @f(%x: {mlir_type(shape)}) -> {mlir_type(out_shape)} {{\n"
        f"  %r = attn.rearrange %x {mlir_string(pattern)}{size_text} "
        f": {mlir_type(shape)} -> {mlir_type(out_shape)}\n"
        f"  return %r : {mlir_type(out_shape)}\n}}\n")
    case.inputs = [x]
    case.run = case.expected is not None and rng.random() < 0.25
    return case


# ---------------------------------------------------------------------------
# attention
# ---------------------------------------------------------------------------

def softmax_rows(s):
    m = np.max(s, axis=-1, keepdims=True)
    dead = np.isneginf(m)
    e = np.exp(s - np.where(dead, 0.0, m))
    with np.errstate(invalid="ignore", divide="ignore"):
        p = e / np.sum(e, axis=-1, keepdims=True)
    return np.where(dead, 0.0, p)


def numpy_attention(q, k, v, keep, add, weight, scale, causal, kind):
    q, k, v = (x.astype(np.float64) for x in (q, k, v))
    with np.errstate(invalid="ignore", over="ignore"):
        if kind == "dot":
            s = scale * np.einsum("...id,...jd->...ij", q, k)
        else:
            w = np.ones(q.shape[-1]) if weight is None else \
                weight.astype(np.float64)
            diff = q[..., :, None, :] + k[..., None, :, :] if kind == \
                "additive" else q[..., :, None, :] - k[..., None, :, :]
            if kind == "additive":
                s = scale * np.sum(w * np.tanh(diff), axis=-1)
            else:
                s = -scale / 2 * np.sum((diff * w) ** 2, axis=-1)
        if keep is not None:
            s = np.where(keep, s, -np.inf)
        if add is not None:
            s = s + add.astype(np.float64)
        if causal:
            i = np.arange(s.shape[-2])[:, None]
            j = np.arange(s.shape[-1])[None, :]
            s = np.where(j > i, -np.inf, s)
        p = softmax_rows(s)
        # Plain loops (no BLAS): 0 * NaN must be NaN.
        return np.einsum("...ij,...jd->...id", p, v, optimize=False)


def gen_attention(rng: random.Random, index: int) -> Case:
    npr = np.random.default_rng(rng.getrandbits(32))
    batch = [rng.choice([1, 2, 3]) for _ in range(rng.choice([0, 1, 1, 2]))]
    sq = rng.choice([1, 2, 5, 7, 16, 33, 70])
    sk = rng.choice([1, 3, 7, 16, 40, 65, 70])
    d = rng.choice([1, 3, 8, 16])
    dv = rng.choice([1, 4, 8])
    kind = rng.choice(["dot", "dot", "dot", "additive", "gaussian"])
    unfused = kind == "dot" and rng.random() < 0.4
    causal = rng.random() < 0.3
    scale = rng.choice([0.125, 0.35, 1.0, 2.0])
    mask_kind = rng.choice(["none", "bool", "bool", "additive"])
    q = uniform(npr, batch + [sq, d])
    k = uniform(npr, batch + [sk, d])
    v = uniform(npr, batch + [sk, dv])
    keep = add = weight = None
    mask_shape = batch + [sq, sk]
    if mask_kind != "none" and not unfused:
        # Broadcast dims of size 1, sometimes.
        mask_shape = [n if rng.random() < 0.7 else 1 for n in mask_shape]
    if mask_kind == "bool":
        keep = npr.random(mask_shape) < rng.choice([0.3, 0.7, 0.95])
        if rng.random() < 0.5 and mask_shape[-2] > 1:
            keep[..., 0, :] = False  # a fully masked row
    elif mask_kind == "additive":
        add = np.where(npr.random(mask_shape) < 0.7, 0.0,
                       np.where(npr.random(mask_shape) < 0.5, -np.inf,
                                -3.0)).astype(np.float32)
    if kind == "additive" or (kind == "gaussian" and rng.random() < 0.5):
        weight = uniform(npr, [d])

    # Non-finite values where they must be ignored: keys and values of keys
    # that every query masks (not causal-masked values, whose blocks the
    # lowering may skip: their values are unspecified, see AttnOps.td).
    placement = "none"
    if rng.random() < 0.5:
        placement = rng.choice(["masked keys", "masked values", "query row",
                                "any"])
        full_keep = None
        if keep is not None:
            full_keep = np.broadcast_to(keep, batch + [sq, sk])
        dead = None
        if full_keep is not None:
            dead = ~full_keep.any(axis=-2)  # [batch..., sk]
        bad = rng.choice([np.nan, np.inf, -np.inf])
        # A value of a key that causal also masks may never be read (the
        # lowering skips those keys), so values only without causal.
        if placement == "masked values" and causal:
            placement = "masked keys"
        if placement in ("masked keys", "masked values") and dead is not None \
                and dead.any():
            target = k if placement == "masked keys" else v
            idx = np.argwhere(dead)
            for pos in idx[: rng.randint(1, len(idx))]:
                target[tuple(pos)] = bad
        elif placement == "query row":
            q[(0,) * len(batch) + (rng.randrange(sq),)] = np.nan
        elif placement == "any" and not causal:
            v.reshape(-1)[rng.randrange(v.size)] = bad
        else:
            placement = "none"
    want = numpy_attention(q, k, v, keep, add, weight, scale, causal, kind)

    qt, kt, vt = (mlir_type(x.shape) for x in (q, k, v))
    ot = mlir_type(want.shape)
    args = [f"%q: {qt}", f"%k: {kt}", f"%v: {vt}"]
    inputs = [q, k, v]
    if keep is not None:
        args.append(f"%m: {mlir_type(keep.shape, 'i1')}")
        inputs.append(keep)
    if add is not None:
        args.append(f"%m: {mlir_type(add.shape)}")
        inputs.append(add)
    if weight is not None:
        args.append(f"%w: {mlir_type(weight.shape)}")
        inputs.append(weight)
    lines = [f"func.func @f({', '.join(args)}) -> {ot} {{"]
    if not unfused:
        mtype = [mlir_type(x.shape, "i1" if x.dtype == bool else "f32")
                 for x in inputs[3:]]
        opt = ""
        rest = iter(mtype)
        if keep is not None or add is not None:
            opt += f" mask(%m : {next(rest)})"
        if weight is not None:
            opt += f" weight(%w : {next(rest)})"
        attrs = f" scale({scale})"
        if kind != "dot":
            attrs += f" score({kind})"
        if causal:
            attrs += " causal"
        lines.append(f"  %init = tensor.empty() : {ot}")
        lines.append(f"  %o = attn.attention ins(%q, %k, %v : {qt}, {kt}, "
                     f"{vt}){opt} outs(%init : {ot}){attrs} -> {ot}")
    else:
        st = mlir_type(batch + [sq, sk])
        lines.append(f'  %s = attn.einsum "... i d, ... j d -> ... i j" '
                     f"(%q, %k) scale({scale}) : ({qt}, {kt}) -> {st}")
        cur = "%s"
        if keep is not None or causal:
            lines.append(f"  %ninf = arith.constant dense<0xFF800000> : {st}")
        if keep is not None:
            lines.append(f"  %sm = arith.select %m, {cur}, %ninf : "
                         f"{mlir_type(keep.shape, 'i1')}, {st}")
            cur = "%sm"
        if add is not None:
            lines.append(f"  %sa = arith.addf {cur}, %m : {st}")
            cur = "%sa"
        if causal:
            tril = np.tril(np.ones((sq, sk), dtype=bool))
            full = np.broadcast_to(tril, batch + [sq, sk])
            text = json.dumps(full.tolist()).replace(" ", "")
            lines.append(f"  %c = arith.constant dense<{text}> : "
                         f"{mlir_type(full.shape, 'i1')}")
            lines.append(f"  %sc = arith.select %c, {cur}, %ninf : "
                         f"{mlir_type(full.shape, 'i1')}, {st}")
            cur = "%sc"
        lines.append(f"  %p = attn.softmax {cur} axis(-1) : {st}")
        lines.append(f'  %o = attn.einsum "... i j, ... j d -> ... i d" '
                     f"(%p, %v) : ({st}, {vt}) -> {ot}")
    lines += [f"  return %o : {ot}", "}"]
    return Case("attention", f"attention{index}", mlir="\n".join(lines) + "\n",
                inputs=inputs, expected=[want],
                note=f"{'unfused' if unfused else 'fused'} {kind} "
                     f"batch={batch} sq={sq} sk={sk} d={d} dv={dv} "
                     f"mask={mask_kind} causal={causal} nonfinite={placement}")


# ---------------------------------------------------------------------------
# Running and comparing
# ---------------------------------------------------------------------------

def close(got, want, rtol, atol):
    """'' when `got` matches `want` (NaN where it is NaN), else why not."""
    got = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        return f"shape {got.shape} != {want.shape}"
    if got.size == 0:
        return ""
    nan_got, nan_want = np.isnan(got), np.isnan(want)
    if not np.array_equal(nan_got, nan_want):
        return (f"NaN at {int(nan_got.sum())} places, expected "
                f"{int(nan_want.sum())}")
    inf_mismatch = (np.isinf(got) | np.isinf(want)) & (got != want)
    if inf_mismatch.any():
        return "infinities differ"
    finite = np.isfinite(want)
    if not finite.any():
        return ""
    scale = np.max(np.abs(want[finite]))
    err = np.max(np.abs(got[finite] - want[finite]))
    if err > atol + rtol * scale:
        return f"max error {err:.3e} (scale {scale:.3e})"
    return ""


def run_case(case: Case, tools, work: Path, keep_dir: Path) -> str:
    """'' on agreement, else a description of the discrepancy."""
    path = work / "input.mlir"
    path.write_text(case.mlir)
    env = dict(os.environ, OMP_NUM_THREADS="1", TMPDIR=str(work))
    if case.expected is None or not case.run:
        proc = subprocess.run([tools["attn-opt"], "--verify-each", str(path)],
                              capture_output=True, text=True, timeout=120,
                              env=env)
        err = proc.stderr
        if proc.returncode < 0 or "internal compiler error" in err:
            return f"attn-opt crashed: {err[-400:]}"
        if case.expected is None:
            if proc.returncode == 0:
                return "accepted, the reference rejects it"
            if "error:" not in err:
                return f"rejected without an error: {err[-200:]}"
            # Our parser and solver must refuse the pattern itself, not
            # only the placeholder result type of a rejected program.
            if "that the pattern produces" in err or \
                    "that the equation produces" in err:
                return f"pattern accepted (only the result type refused): " \
                       f"{err.splitlines()[0]}"
            return ""
        return "" if proc.returncode == 0 else \
            f"rejected, the reference accepts it: {err.strip()[:300]}"
    paths = []
    for i, a in enumerate(case.inputs):
        p = work / f"in{i}.npy"
        np.save(p, a)
        paths.append(str(p))
    cmd = [tools["attn-run"], str(path), f"--output={work}/out",
           f"--output-reference={work}/ref", "--check"]
    if paths:
        cmd.append("--input=" + ",".join(paths))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600,
                          env=env)
    if proc.returncode < 0 or "internal compiler error" in proc.stderr:
        return f"attn-run crashed: {proc.stderr[-400:]}"
    if not (work / "out.0.npy").exists():
        return f"attn-run failed: {proc.stderr.strip()[-400:]}"
    got = np.load(work / "out.0.npy")
    ref = np.load(work / "ref.0.npy")
    want = case.expected[0]
    problems = []
    if case.kind == "rearrange":
        if not np.array_equal(got, want):
            problems.append("compiled result differs")
        if not np.array_equal(ref, want):
            problems.append("reference differs")
    else:
        why = close(got, want, 1e-4, 1e-6)
        if why:
            problems.append("compiled vs independent: " + why)
        why = close(ref, want, 1e-9, 1e-12)
        if why:
            problems.append("attn-run reference vs independent: " + why)
    if proc.returncode != 0:
        problems.append("--check failed: " + proc.stdout.strip()[-300:])
    return "; ".join(problems)


def main() -> int:
    parser = argparse.ArgumentParser(
        description="differential tests of attn-opt (see the module doc)")
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--programs", type=int, default=260,
                        help="programs to generate (default: the CI run)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--out", type=Path, default=None,
                        help="where to keep the programs that disagree")
    parser.add_argument("--only", default="einsum,rearrange,attention")
    args = parser.parse_args()
    tools = {t: str(args.build / "bin" / t) for t in ("attn-opt", "attn-run")}
    for t in tools.values():
        if not Path(t).exists():
            print(f"difftest: {t} not found (build first)", file=sys.stderr)
            return 2
    kinds = args.only.split(",")
    # Mix: rearrange decisions are cheap, attention and einsum runs are not.
    weights = {"einsum": 3, "rearrange": 6, "attention": 2}
    generators = {"einsum": gen_einsum, "rearrange": gen_rearrange,
                  "attention": gen_attention}
    rng = random.Random(args.seed)
    cases = []
    for i in range(args.programs):
        kind = rng.choices(kinds, [weights[k] for k in kinds])[0]
        cases.append(generators[kind](rng, i))
    out = args.out or Path(tempfile.mkdtemp(prefix="difftest-"))
    out.mkdir(parents=True, exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="difftest-work-"))

    def execute(case: Case):
        work = base / case.name
        work.mkdir()
        try:
            problem = run_case(case, tools, work, out)
        except subprocess.TimeoutExpired:
            problem = "timed out"
        if problem:
            keep = out / case.name
            shutil.copytree(work, keep, dirs_exist_ok=True)
            if case.expected is not None:
                for i, e in enumerate(case.expected):
                    np.save(keep / f"expected{i}.npy", e)
        shutil.rmtree(work, ignore_errors=True)
        return case, problem

    start = time.monotonic()
    counts: dict[str, list[int]] = {}
    failures = []
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        for case, problem in pool.map(execute, cases):
            c = counts.setdefault(case.kind, [0, 0, 0])
            c[0] += 1
            c[1] += not problem
            c[2] += case.expected is not None and case.run
            if problem:
                failures.append(f"FAIL {case.name} ({case.note}): {problem}")
    shutil.rmtree(base, ignore_errors=True)
    elapsed = time.monotonic() - start
    for failure in failures:
        print(failure)
    passed = sum(c[1] for c in counts.values())
    detail = ", ".join(f"{k} {c[0]} ({c[2]} run)" for k, c in
                       sorted(counts.items()))
    print(f"differential: {len(cases)} programs ({detail}) in "
          f"{elapsed:.1f} s, seed {args.seed}: {passed} passed, "
          f"{len(cases) - passed} failed"
          + (f"; programs kept in {out}" if failures else ""))
    if not failures and not args.out:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
