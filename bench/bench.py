"""Side-by-side CPU benchmark: attn-opt against the engines people would pick
instead (PyTorch eager and SDPA, torch.compile, OpenVINO, ONNX Runtime, IREE)
and the sgemm ceiling, in one run on one machine.

The machines we use are shared and noisy, so only ratios within one run mean
much. Each (row, implementation) is measured in a fresh worker process
(``bench.py --worker``): thread pools, allocator state and caches of one
engine cannot slow the next, and the peak RSS is that engine's own. A peer
that cannot run a row reports why, and the run goes on.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Dict, List, Optional

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULT_MARK = "@@bench-result "


# --------------------------------------------------------------------------
# Worker: one measurement.

def worker(spec: Dict[str, Any]) -> int:
    sys.path[:0] = [str(HERE), str(ROOT / "python")]
    import torch

    import peers
    from works import Work, build

    torch.set_num_threads(spec["threads"])
    work = Work.from_json(spec["work"])
    impl = spec["impl"]
    result: Dict[str, Any] = {"work": work.key, "impl": impl}
    with tempfile.TemporaryDirectory(prefix="attn-bench-") as tmp:
        ctx = peers.Context(ROOT, Path(spec["attn_run"]), spec["runs"], spec["threads"],
                            Path(spec["cache"]), Path(tmp))
        try:
            built = build(work, ROOT)
            m = peers.run_peer(impl, work, built, ctx)
            result.update(impl=peers.label(impl, work, m), ms=m.time.median_ms,
                          min_ms=m.time.min_ms, threads=m.threads,
                          max_err=peers.error_of(m.output, built), note=m.note,
                          rss_mb=m.rss_mb if m.rss_mb is not None else
                          resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
        except peers.Unsupported as e:
            result.update(impl=peers.label(impl, work, None), error=str(e))
        except Exception as e:  # noqa: BLE001 (a failing peer is a row, not the end of the run)
            traceback.print_exc()
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            result.update(impl=peers.label(impl, work, None),
                          error=f"{type(e).__name__}: {first}"[:400])
    print(RESULT_MARK + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------
# Driver.

def cpu_description() -> str:
    model, flags = platform.processor(), set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name") and model in ("", "x86_64"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")
    return f"{model}, {os.cpu_count()} CPUs, " + " ".join(f for f in wanted if f in flags)


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    out = []
    for pkg in ("torch", "numpy", "onnxruntime", "openvino", "iree-base-compiler", "transformers"):
        try:
            out.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            out.append(f"{pkg} missing")
    return ", ".join(out)


def git_commit() -> str:
    try:
        head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return head + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def find_attn_run(explicit: Optional[str]) -> Path:
    build = Path(os.environ.get("ATTN_OPT_BUILD_DIR", ROOT / "build"))
    path = Path(explicit) if explicit else build / "bin/attn-run"
    if not path.exists():
        raise SystemExit(f"attn-run not found at {path}; build it (scripts/build.sh) or pass --attn-run")
    return path.resolve()


def measure(work: Any, impl: str, args: argparse.Namespace, attn_run: Path,
            runs: int) -> Dict[str, Any]:
    spec = {"work": work.to_json(), "impl": impl, "runs": runs, "threads": args.threads,
            "attn_run": str(attn_run), "cache": str(args.cache)}
    env = dict(os.environ, ATTN_OPT_BUILD_DIR=str(attn_run.parent.parent),
               OPENBLAS_NUM_THREADS=str(args.threads), OMP_NUM_THREADS=str(args.threads),
               PYTHONWARNINGS="ignore", TF_CPP_MIN_LOG_LEVEL="3")
    log = args.cache / "logs" / f"{abs(hash((work.key, impl))):x}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    start = time.time()
    try:
        proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker",
                               json.dumps(spec)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, env=env, timeout=args.timeout)
        output = proc.stdout
    except subprocess.TimeoutExpired as e:
        output = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        log.write_text(output)
        return {"work": work.key, "impl": impl, "error": f"timed out after {args.timeout} s"}
    log.write_text(output)
    for line in reversed(output.splitlines()):
        if line.startswith(RESULT_MARK):
            result = json.loads(line[len(RESULT_MARK):])
            result["wall_s"] = round(time.time() - start, 1)
            return result
    tail = [l for l in output.splitlines() if l.strip()][-1:] or ["no output"]
    return {"work": work.key, "impl": impl,
            "error": f"worker died (exit {proc.returncode}): {tail[0][:200]} (log {log})"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--attn-run", help="attn-run binary (default: $ATTN_OPT_BUILD_DIR or build/)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per measurement (median)")
    parser.add_argument("--long", action="store_true", help="also attention at n = 8192 and 16384")
    parser.add_argument("--min-n", type=int, default=0, help="skip attention lengths below this")
    parser.add_argument("--max-n", type=int, default=0, help="skip attention lengths above this (0: none)")
    parser.add_argument("--only", default="", help="comma list of groups: sgemm,g1,attention,cliff,models")
    parser.add_argument("--work", default="", help="comma list of substrings of row names to keep")
    parser.add_argument("--impl", default="", help="comma list of implementations to run "
                        "(attn-run, attn-opt, torch eager, torch SDPA, torch.compile, openvino f32, ...)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure each row's implementations this many times, taking turns, "
                        "and keep each one's fastest median (spreads other load on a shared "
                        "machine evenly over the peers)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per measurement on stdout instead of the table")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per measurement")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get(
        "ATTN_OPT_BENCH_CACHE", Path.home() / ".cache/attn-opt-bench")),
        help="exported and compiled peer models are kept here")
    args = parser.parse_args()
    if args.worker:
        return worker(json.loads(args.worker))

    sys.path[:0] = [str(HERE)]
    import peers
    from table import print_table, print_targets
    from works import all_works

    attn_run = find_attn_run(args.attn_run)
    groups = set(filter(None, args.only.split(",")))
    keys = [k.strip() for k in args.work.split(",") if k.strip()]
    impls = [i.strip() for i in args.impl.split(",") if i.strip()] or list(peers.PEERS)
    unknown = [i for i in impls if i not in peers.PEERS]
    if unknown:
        raise SystemExit(f"unknown --impl {', '.join(unknown)} (known: {', '.join(peers.PEERS)})")

    def wanted(work: Any) -> bool:
        if work.key.startswith("sgemm") and work.dtype == "f32":
            return True  # the ceiling every row is reported against
        if groups and work.group not in groups:
            return False
        if keys and not any(k in work.key for k in keys):
            return False
        if work.group == "attention":
            n = work.params["n"]
            return (args.long or not work.long) and n >= args.min_n and (not args.max_n or n <= args.max_n)
        return not work.long or args.long

    out = sys.stderr if args.json else sys.stdout
    header = [f"# bench/run.sh {' '.join(sys.argv[1:])}",
              f"# CPU: {cpu_description()}",
              f"# {versions()}",
              f"# attn-opt {git_commit()} ({attn_run}); {args.threads} threads; median of {args.runs} "
              f"(attention n >= 8192: of {max(1, args.runs // 3)})"
              + (f", best of {args.rounds} rounds" if args.rounds > 1 else "")]
    print("\n".join(header), file=out, flush=True)
    results: List[Dict[str, Any]] = []
    for work in [w for w in all_works() if wanted(w)]:
        runs = args.runs if not (work.group == "attention" and work.params["n"] >= 8192) \
            else max(1, args.runs // 3)
        row_impls = impls
        if work.key.startswith("sgemm") and work.dtype == "f32":
            # The ceiling every row is reported against, whatever --impl says.
            row_impls = list(dict.fromkeys(impls + ["torch eager", "numpy"]))
        best: Dict[str, Dict[str, Any]] = {}
        for turn in range(args.rounds):
            for impl in row_impls:
                if not peers.applies(impl, work) or (impl in best and not best[impl].get("ms")):
                    continue  # a peer that cannot run a row is not asked again
                r = measure(work, impl, args, attn_run, runs)
                what = f"{r['ms']:.2f} ms" if r.get("ms") else f"cannot run: {r['error']}"
                print(f"# {work.key} | {r['impl']}: {what}"
                      + (f" (round {turn + 1})" if args.rounds > 1 else ""), file=out, flush=True)
                kept = best.get(impl)
                if kept is None or (r.get("ms") and r["ms"] < kept["ms"]):
                    if kept is not None:
                        r["min_ms"] = min(r["min_ms"], kept["min_ms"])
                    best[impl] = r
                elif r.get("ms"):
                    kept["min_ms"] = min(r["min_ms"], kept["min_ms"])
        for impl, r in best.items():
            r["gflop"] = work.gflop
            if r.get("ms"):
                r["gflops"] = work.gflop / (r["ms"] / 1e3)
            results.append(r)
            if args.json:
                print(json.dumps({k: r.get(k) for k in (
                    "work", "impl", "ms", "min_ms", "gflops", "rss_mb", "threads", "max_err",
                    "note", "error")}), flush=True)
    if not args.json:
        print("\n".join(header[1:]))
        print_table(results, all_works())
        print_targets(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
