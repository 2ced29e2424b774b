"""python -m attn_opt.zoo: the model zoo.

    .venv/bin/python -m attn_opt.zoo --ci                 # one small model per family (CI)
    .venv/bin/python -m attn_opt.zoo --family d2l,hf      # some families at real size
    .venv/bin/python -m attn_opt.zoo --out zoo.jsonl      # everything (hours), resumable
    .venv/bin/python -m attn_opt.zoo --table zoo.jsonl    # the README's summary table
    .venv/bin/python -m attn_opt.zoo --backend --small --family hf   # through torch.compile(backend="attn_opt")
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
from collections import defaultdict
from typing import Dict, List

from .corpus import entries
from .runner import BackendRow, Row, run_backend_entry, run_entry, timm_subset_entries


def _row_line(r: Row) -> str:
    speed = f"{r.speedup:.2f}x" if r.speedup == r.speedup else "-"
    return (f"{r.family:14s} {r.model[:46]:46s} {'compiled' if r.compiled else '-':8s} "
            f"{'matched' if r.matched else '-':7s} fused {r.fused}/{r.attentions}  {speed:>7s}  {r.note[:160]}"
            + (f"  one thread {r.one_thread_speedup:.2f}x" if r.one_thread_speedup == r.one_thread_speedup else "")
            + (f"  slower: {r.slower_because}" if r.slower_because else ""))


def _backend_line(r: BackendRow) -> str:
    fused = f"{r.fused}/{r.attentions}" if r.attentions >= 0 else f"{r.fused}/?"
    return (f"{r.family:14s} {r.model[:46]:46s} no_grad {r.no_grad or '-':5s} grad {r.grad or '-':5s} "
            f"dynamic {r.dynamic or '-':5s} graphs {r.graphs} regions {r.regions} fallbacks {r.fallbacks} "
            f"fused {fused}  {r.fallback_ops[:60]}  {r.note[:200]}")


def backend_summary(rows: List[dict]) -> str:
    """One markdown row per model of a --backend run."""
    out = ["| family | model | no_grad | grad | dynamic | graphs | regions | fallbacks (ops) | fused |",
           "|--------|-------|---------|------|---------|-------:|--------:|-----------------|------:|"]
    for r in rows:
        if r.get("excluded"):
            continue
        att = r["attentions"] if r["attentions"] is not None and r["attentions"] >= 0 else "?"
        ops = f" ({r['fallback_ops']})" if r["fallback_ops"] else ""
        out.append(f"| {r['family']} | {r['model']} | {r['no_grad'] or '-'} | {r['grad'] or '-'} | "
                   f"{r['dynamic'] or '-'} | {r['graphs']} | {r['regions']} | {r['fallbacks']}{ops} | "
                   f"{r['fused']}/{att} |")
    return "\n".join(out)


def summary(rows: List[dict]) -> str:
    by: Dict[str, List[dict]] = defaultdict(list)
    for r in rows:
        if not r.get("excluded"):
            by[r["family"]].append(r)
    out = ["| family | models | compiled | matched | attentions fused | at least as fast as eager "
           "| slower: on threads / in code | as fast on one thread |",
           "|--------|-------:|---------:|--------:|-----------------:|--------------------------:"
           "|------------------------------:|----------------------:|"]
    for fam, rs in by.items():
        n = len(rs)
        comp = sum(r["compiled"] for r in rs)
        match = sum(r["matched"] for r in rs)
        att = sum(r["attentions"] for r in rs)
        fused = sum(min(r["fused"], r["attentions"]) for r in rs)
        timed = [r for r in rs if r["matched"] and r.get("speedup") is not None and r["speedup"] == r["speedup"]]
        fast = sum(r["speedup"] >= 1.0 for r in timed)
        pct = lambda a, b: f"{a}/{b} ({100 * a / b:.0f}%)" if b else "0/0"  # noqa: E731
        # A slower row says why (runner.explain_slowdown): faster than eager
        # on one thread (the loss is in threading), or slower there too.
        slow = [r for r in timed if r["speedup"] < 1.0]
        on_threads = sum(str(r.get("slower_because", "")).startswith("threads") for r in slow)
        in_code = sum(str(r.get("slower_because", "")).startswith("code") for r in slow)
        # Both sides on one thread (runner.explain_slowdown): on a shared
        # machine the steadier comparison.
        single = [r for r in timed if r.get("one_thread_speedup") == r.get("one_thread_speedup")
                  and r.get("one_thread_speedup") is not None]
        fast1 = sum(r["one_thread_speedup"] >= 1.0 for r in single)
        out.append(f"| {fam} | {n} | {pct(comp, n)} | {pct(match, n)} | {pct(fused, att)} | {pct(fast, len(timed))} "
                   f"| {on_threads} / {in_code} | {pct(fast1, len(single))} |")
    return "\n".join(out)


def main(argv: List[str] = None) -> int:
    p = argparse.ArgumentParser(description="attn-opt model zoo")
    p.add_argument("--family", default="", help="comma-separated families (default: all)")
    p.add_argument("--models", default="", help="regular expression on model names")
    p.add_argument("--ci", action="store_true", help="the CI subset: one small model per family")
    p.add_argument("--small", action="store_true", help="small configurations")
    p.add_argument("--runs", type=int, default=5,
                   help="timed rounds per model, eager and compiled interleaved round by round, three "
                        "calls of each a round; the fastest of each counts (0: no timing)")
    p.add_argument("--out", default="", help="append one JSON row per model to this file; resumes")
    p.add_argument("--table", default="", help="print the per-family summary of a JSONL file and exit")
    p.add_argument("--limit", type=int, default=0, help="at most this many models")
    p.add_argument("--capture-only", action="store_true",
                   help="stop after capture, translation and recognition (no compile, no timing)")
    p.add_argument("--backend", action="store_true",
                   help="run each model through torch.compile(backend='attn_opt') instead of attn_opt.compile: "
                        "no_grad, grad mode (with parameter gradients) and dynamic=True on two shapes")
    p.add_argument("--timm-subset", action="store_true",
                   help="the dozen timm models of the backend check (runner.TIMM_SUBSET), at reduced size, "
                        "instead of timm's whole list")
    args = p.parse_args(argv)
    if args.table:
        rows = [json.loads(line) for line in open(args.table) if line.strip()]
        print(backend_summary(rows) if rows and "no_grad" in rows[0] else summary(rows))
        return 0
    families = [f for f in args.family.split(",") if f] or None
    if args.timm_subset:
        todo = entries([f for f in families or () if f != "timm"]) if families else []
        todo += timm_subset_entries()
    else:
        todo = entries(families)
    if args.ci:
        todo = [e for e in todo if e.ci]
    if args.models:
        todo = [e for e in todo if re.search(args.models, e.name)]
    done = set()
    if args.out and os.path.exists(args.out):
        done = {(r["family"], r["model"]) for r in map(json.loads, open(args.out)) if r}
    todo = [e for e in todo if (e.family, e.name) not in done]
    if args.limit:
        todo = todo[:args.limit]
    rows = []
    for e in todo:
        if args.backend:
            b = run_backend_entry(e, small=args.small or args.ci, runs=args.runs)
            row = b.as_dict()
            print(_backend_line(b), flush=True)
        else:
            r = run_entry(e, small=args.small or args.ci, runs=args.runs, capture_only=args.capture_only)
            row = r.as_dict()
            print(_row_line(r), flush=True)
        rows.append(row)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps({k: (None if isinstance(v, float) and math.isnan(v) else v)
                                    for k, v in row.items()}) + "\n")
    if rows and args.backend:
        print()
        print(backend_summary(rows))
        failed = [r for r in rows if not r["excluded"] and not r["no_grad"] == r["grad"] == r["dynamic"] == "ok"]
        return 1 if args.ci and failed else 0
    if rows:
        print()
        print(summary([{k: (float("nan") if v is None else v) for k, v in r.items()} for r in rows]))
    failed = [r for r in rows if not (r["compiled"] and r["matched"])]
    return 1 if args.ci and failed else 0


if __name__ == "__main__":
    sys.exit(main())
