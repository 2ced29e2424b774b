"""The plain-text table of bench/run.sh and the issue's targets computed from
the same run's measurements."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

from peers import LOW_PRECISION, OURS

Result = Dict[str, Any]


def base_impl(result: Result) -> str:
    """The impl name without the thread-count suffix ("torch eager (1t)")."""
    impl = result["impl"]
    return impl.rsplit(" (", 1)[0] if impl.endswith("t)") else impl


def is_peer(result: Result) -> bool:
    name = base_impl(result)
    return name not in OURS and name not in LOW_PRECISION and bool(result.get("ms"))


def ceiling(results: Sequence[Result]) -> Optional[float]:
    """The sgemm ceiling: the best f32 library GEMM of the run."""
    values = [r["gflops"] for r in results if r["work"].startswith("sgemm") and r.get("gflops")
              and base_impl(r) not in OURS]
    return max(values) if values else None


def print_table(results: Sequence[Result], works: Sequence[Any]) -> None:
    top = ceiling(results)
    if top:
        print(f"# sgemm ceiling (best f32 library GEMM of this run): {top:.1f} GFLOP/s")
    head = (f"{'work':<34} {'impl':<24} {'ms':>9} {'min ms':>9} {'GFLOP/s':>8} {'x best':>7} {'%sgemm':>7} "
            f"{'RSS MiB':>8} {'max err':>8}  note")
    print(head)
    print("-" * len(head))
    order = [w.key for w in works]
    by_work: Dict[str, List[Result]] = {}
    for r in results:
        by_work.setdefault(r["work"], []).append(r)
    for key in sorted(by_work, key=lambda k: order.index(k) if k in order else len(order)):
        rows = by_work[key]
        peer_ms = [r["ms"] for r in rows if is_peer(r)]
        best = min(peer_ms) if peer_ms else None
        for r in rows:
            if not r.get("ms"):
                reason = r.get("error", "?")
                reason = reason if len(reason) <= 120 else reason[:117] + "..."
                print(f"{key:<34} {r['impl']:<24} {'-':>9} {'-':>9} {'-':>8} {'':>7} {'':>7} {'':>8} {'':>8}  "
                      f"cannot run: {reason}")
                continue
            ratio = f"{best / r['ms']:6.2f}x" if best else f"{'':>7}"
            pct = f"{100 * r['gflops'] / top:6.1f}%" if top else f"{'':>7}"
            rss = f"{r['rss_mb']:8.0f}" if r.get("rss_mb") else f"{'':>8}"
            err = r.get("max_err")
            err_s = f"{err:8.1e}" if err is not None else f"{'':>8}"
            min_ms = f"{r['min_ms']:9.2f}" if r.get("min_ms") else f"{'':>9}"
            print(f"{key:<34} {r['impl']:<24} {r['ms']:9.2f} {min_ms} {r['gflops']:8.1f} {ratio} {pct} "
                  f"{rss} {err_s}  {r.get('note') or ''}")
    print("# ms = median of the runs (GFLOP/s and ratios use it), min ms = fastest run; "
          "x best = time of the fastest f32 peer in the row / this time (> 1: faster than every "
          "f32 peer); %sgemm = GFLOP/s / the ceiling; RSS = peak of the process that ran it "
          "(attn-run: attn-run itself; the Python peers: the worker, torch and the reference "
          "run included); max err = max |output - reference| (SDPA for attention, eager otherwise)")


def _ms(results: Sequence[Result], work: str, impls: Sequence[str],
        key: str = "ms") -> Optional[float]:
    values = [r[key] for r in results if r["work"] == work and base_impl(r) in impls and r.get(key)]
    return min(values) if values else None


def targets(results: Sequence[Result]) -> List[str]:
    """The issue's targets that this run measured, one line each."""
    lines = []
    top = ceiling(results)
    works = list(dict.fromkeys(r["work"] for r in results))

    def line(what: str, value: Optional[float], need: float, detail: str) -> None:
        if value is None:
            lines.append(f"{what}: not measured ({detail})")
        else:
            lines.append(f"{what}: {value:.2f}x (need >= {need}x) {'MET' if value >= need else 'NOT MET'}"
                         f"; {detail}")

    def ratio(work: str, theirs: Sequence[str], ours: Sequence[str]) -> Optional[str]:
        """The same ratio from the fastest runs, which other load disturbs least."""
        a = _ms(results, work, theirs, "min_ms")
        b = _ms(results, work, ours, "min_ms")
        return f"from the fastest runs {a / b:.2f}x" if a and b else None

    for work in works:
        if not work.startswith("attention h8 n4096 d64") and not work.startswith("attention h8 n8192"):
            continue
        if "causal" in work:
            continue
        ours = _ms(results, work, ("attn-run",))
        peer = _ms(results, work, ("torch SDPA", "onnxruntime"))
        line(f"{work} vs best of SDPA/ORT MHA", peer / ours if ours and peer else None, 1.2,
             f"attn-run {ours:.2f} ms, peer {peer:.2f} ms; "
             f"{ratio(work, ('torch SDPA', 'onnxruntime'), ('attn-run',))}"
             if ours and peer else "attn-run or both peers missing")
        gflop = next(r["gflop"] for r in results if r["work"] == work)
        if ours and top:
            line(f"{work} vs sgemm", gflop / (ours / 1e3) / top, 0.8,
                 f"{gflop / (ours / 1e3):.1f} of {top:.1f} GFLOP/s")
    for work in works:
        fused = _ms(results, work, ("attn-run",))
        unfused = _ms(results, work, ("attn-run unfused",))
        if fused and unfused:
            line(f"{work}: fused vs fusion off", unfused / fused, 1.0,
                 f"attn-run {fused:.2f} ms, fuse-elementwise=0 {unfused:.2f} ms; "
                 f"{ratio(work, ('attn-run unfused',), ('attn-run',))}")
    for work in works:
        uk = _ms(results, work, ("attn-run",))
        generated = _ms(results, work, ("attn-run ukernels=0",))
        if uk and generated:
            line(f"{work}: micro-kernel vs generated FMA kernels", generated / uk, 1.0,
                 f"attn-run {uk:.2f} ms, ukernels=0 {generated:.2f} ms; "
                 f"{ratio(work, ('attn-run ukernels=0',), ('attn-run',))}")
    for work in works:
        if work.startswith("G1"):
            for ours_impl in ("attn-opt", "attn-run"):
                ours = _ms(results, work, (ours_impl,))
                peer = _ms(results, work, ("torch eager", "torch.compile"))
                line(f"{work} {ours_impl} vs best of eager/torch.compile",
                     peer / ours if ours and peer else None, 1.2,
                     f"{ours_impl} {ours:.2f} ms, peer {peer:.2f} ms; "
                     f"{ratio(work, ('torch eager', 'torch.compile'), (ours_impl,))}"
                     if ours and peer else f"{ours_impl} or the peers missing")
        if work.startswith(("vit_b_16", "swin_t")):
            ours = _ms(results, work, ("attn-opt",))
            peer = [r for r in results if r["work"] == work and is_peer(r)]
            best = min(peer, key=lambda r: r["ms"]) if peer else None
            line(f"{work} vs best f32 peer", best["ms"] / ours if ours and best else None, 1.2,
                 f"attn-opt {ours:.1f} ms, best peer {best['impl']} {best['ms']:.1f} ms; "
                 f"{ratio(work, (base_impl(best),), ('attn-opt',))}"
                 if ours and best else "attn-opt or every peer missing")
    return lines


def print_targets(results: Sequence[Result]) -> None:
    lines = targets(results)
    if lines:
        print("# targets (issue #18), from this run:")
        for l in lines:
            print("#   " + l)
