#!/usr/bin/env python3
"""Mutation fuzzer for attn-opt and attn-run over the lit corpus.

Every .mlir file under test/ and examples/ is split at `// -----` into
chunks; each execution takes one chunk, applies one to three random
mutations (delete, duplicate or swap tokens, replace numbers with edge
values, drop or add brackets, change element types and dimension sizes,
delete or duplicate lines) and runs `attn-opt --verify-each` with a random
choice of passes on it; chunks whose tensors are small also go through
`attn-run --check`. Bad input must end with an `error:` and a non-zero exit
code, or succeed: a signal, an `internal compiler error` (the crash guard's
verdict) or a hang is a failure, and its input and command are saved under
--out.

  fuzz/mutate_ir.py --build build --runs 300           # the CI run
  fuzz/mutate_ir.py --build build --seconds 3600 -j 2  # a longer one

Exit code 0 when no execution failed. Deterministic for a given --seed and
--runs (--seconds stops after the time instead).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

TOKEN = re.compile(
    r'"(?:[^"\\\n]|\\.)*"'           # string
    r"|%[\w.$-]+|@[\w.$-]+|\^[\w.$-]+|#[\w.$-]+"  # SSA values, symbols, blocks, aliases
    r"|-?\d+\.\d*(?:e[+-]?\d+)?|-?\d+(?:e[+-]?\d+)?|0x[0-9a-fA-F]+"
    r"|[A-Za-z_][\w.$]*"
    r"|->|[()\[\]{}<>,:=*+\-/]"
    r"|\S")

EDGE_NUMBERS = ["0", "1", "-1", "2", "3", "7", "64", "4096", "65536",
                "2147483648", "9223372036854775807", "-9223372036854775808",
                "18446744073709551616", "0.0", "-0.0", "1.0e+39", "3.5e+38",
                "1.0e-45", "0x7FC00000", "0x7F800000", "0xFF800000"]
ELEMENT_TYPES = ["f32", "f16", "bf16", "f64", "i1", "i8", "i32", "i64",
                 "index", "f8E4M3FN", "complex<f32>"]
BRACKETS = list("()[]{}<>")
PIPELINES = [
    [],
    ["--canonicalize"],
    ["--canonicalize", "--attn-fuse-attention=remarks=true"],
    ["--convert-attn-to-linalg"],
    ["--convert-attn-to-linalg=flash=0"],
    ["--canonicalize", "--attn-fuse-attention", "--canonicalize",
     "--convert-attn-to-linalg", "--attn-fuse-elementwise-ops"],
    ["--attn-cpu-pipeline"],
]
TENSOR = re.compile(r"tensor<((?:\d+x)*)(?:f16|bf16|f32|f64|i1|i64)>")


def load_corpus(paths: list[Path], max_bytes: int) -> list[tuple[str, str]]:
    """(name, text) for every chunk of every .mlir file below `paths`."""
    chunks = []
    for base in paths:
        for path in sorted(base.rglob("*.mlir")):
            text = path.read_text(errors="replace")
            if len(text) > max_bytes * 8:
                continue
            for i, chunk in enumerate(re.split(r"^// -----\s*$", text,
                                               flags=re.M)):
                # RUN/CHECK lines are noise to the tools.
                body = "\n".join(line for line in chunk.splitlines()
                                 if not re.match(r"\s*//", line))
                if body.strip() and len(body) <= max_bytes:
                    chunks.append((f"{path.relative_to(ROOT)}#{i}", body))
    return chunks


def mutate(text: str, rng: random.Random, vocabulary: list[str]) -> str:
    tokens = [m for m in TOKEN.finditer(text)]
    if not tokens:
        return text
    # Mostly mutations that keep the text parseable, so that the verifier,
    # the passes and attn-run see the mutants too, not only the parser.
    kind = rng.choice(["number"] * 3 + ["dim"] * 3 + ["type"] * 2 +
                      ["replace"] * 2 + ["delete", "duplicate", "swap",
                                         "bracket", "line"])
    if kind == "line":
        lines = text.splitlines(keepends=True)
        i = rng.randrange(len(lines))
        if rng.random() < 0.5:
            del lines[i]
        else:
            lines.insert(rng.randrange(len(lines) + 1), lines[i])
        return "".join(lines)
    if kind == "type":
        spots = [m for m in tokens if m.group() in ELEMENT_TYPES[:7]]
        if spots:
            m = rng.choice(spots)
            return text[:m.start()] + rng.choice(ELEMENT_TYPES) + text[m.end():]
    if kind == "dim":
        spots = list(re.finditer(r"(?<=[<x])\d+(?=x)", text))
        if spots:
            m = rng.choice(spots)
            return (text[:m.start()] + rng.choice(["0", "1", "2", "3", "5"])
                    + text[m.end():])
    if kind == "number":
        spots = [m for m in tokens if re.fullmatch(r"-?[\d.]+(e[+-]?\d+)?|0x\w+",
                                                    m.group())]
        if spots:
            m = rng.choice(spots)
            return text[:m.start()] + rng.choice(EDGE_NUMBERS) + text[m.end():]
    m = rng.choice(tokens)
    if kind == "delete":
        return text[:m.start()] + text[m.end():]
    if kind == "duplicate":
        return text[:m.end()] + " " + m.group() + text[m.end():]
    if kind == "swap":
        i = tokens.index(m)
        if i + 1 < len(tokens):
            n = tokens[i + 1]
            return (text[:m.start()] + n.group() + text[m.end():n.start()]
                    + m.group() + text[n.end():])
    if kind == "bracket":
        brackets = [t for t in tokens if t.group() in BRACKETS]
        if brackets and rng.random() < 0.6:
            b = rng.choice(brackets)
            return text[:b.start()] + text[b.end():]
        return text[:m.start()] + rng.choice(BRACKETS) + text[m.start():]
    # replace, by a token of the same kind (SSA value by SSA value, word by
    # word) more often than not
    same = [v for v in vocabulary if v[:1] == m.group()[:1]]
    choice = rng.choice(same if same and rng.random() < 0.7 else vocabulary)
    return text[:m.start()] + choice + text[m.end():]


def small_enough_to_run(text: str, limit: int = 1 << 16) -> bool:
    """True if every tensor type in `text` has at most `limit` elements."""
    found = False
    for m in TENSOR.finditer(text):
        found = True
        dims = [int(d) for d in m.group(1).split("x") if d]
        if math.prod(dims) > limit:
            return False
    return found and "func.func" in text


def run_one(tool: Path, args: list[str], path: Path, timeout: float):
    """(verdict, stderr tail): 'ok', 'error' (clean), 'crash', 'hang'."""
    env = dict(os.environ, OMP_NUM_THREADS="1", TMPDIR=str(path.parent))
    try:
        proc = subprocess.run([str(tool), *args, str(path)],
                              stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return "hang", ""
    err = proc.stderr.decode(errors="replace")
    if proc.returncode < 0 or "internal compiler error" in err or \
            "Stack dump" in err or "LLVM ERROR" in err:
        return "crash", err[-3000:]
    if proc.returncode != 0 and "error" not in err:
        # Failing without saying why is a bug too (exit 1 with a check
        # verdict is fine: attn-run prints "FAIL" lines to stdout).
        if tool.name != "attn-run":
            return "silent", err[-3000:]
    return ("ok" if proc.returncode == 0 else "error"), ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", type=Path, default=ROOT / "build")
    parser.add_argument("--runs", type=int, default=300,
                        help="executions (ignored with --seconds)")
    parser.add_argument("--seconds", type=float, default=0,
                        help="run for this long instead of --runs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=60)
    parser.add_argument("--out", type=Path, default=None,
                        help="where failing inputs go (default: a temp dir)")
    parser.add_argument("--max-bytes", type=int, default=6000,
                        help="largest corpus chunk to mutate")
    args = parser.parse_args()

    opt = args.build / "bin" / "attn-opt"
    run = args.build / "bin" / "attn-run"
    for tool in (opt, run):
        if not tool.exists():
            print(f"mutate_ir: {tool} not found (build first)", file=sys.stderr)
            return 2
    corpus = load_corpus([ROOT / "test", ROOT / "examples"], args.max_bytes)
    vocabulary = sorted({m.group() for _, text in corpus
                         for m in TOKEN.finditer(text)})
    out = args.out or Path(tempfile.mkdtemp(prefix="mutate-ir-"))
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="mutate-ir-work-"))

    # Jobs are drawn up front from one generator, so a --runs run is the
    # same whatever -j and the machine's speed.
    rng = random.Random(args.seed)

    def draw(index: int):
        name, text = rng.choice(corpus)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            text = mutate(text, rng, vocabulary)
        pipeline = rng.choice(PIPELINES)
        use_run = small_enough_to_run(text) and rng.random() < 0.25
        return index, name, text, pipeline, use_run

    def execute(job):
        index, name, text, pipeline, use_run = job
        case = work / f"case{index}"
        case.mkdir()
        path = case / "input.mlir"
        path.write_text(text)
        results = []
        results.append(("attn-opt", ["--verify-each", *pipeline],
                        *run_one(opt, ["--verify-each", *pipeline], path,
                                 args.timeout)))
        if use_run:
            results.append(("attn-run", ["--check"],
                            *run_one(run, ["--check"], path, args.timeout)))
        failures = []
        verdicts = [verdict for _, _, verdict, _ in results]
        for tool, targs, verdict, err in results:
            if verdict in ("crash", "hang", "silent"):
                dest = out / f"{verdict}-{index}.mlir"
                shutil.copy(path, dest)
                failures.append(f"{verdict}: {tool} {' '.join(targs)} {dest} "
                                f"(from {name})\n{err}")
        shutil.rmtree(case, ignore_errors=True)
        return verdicts, failures

    start = time.monotonic()
    executions = 0
    failures: list[str] = []
    counts: dict[str, int] = {}
    index = 0
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        pending = set()
        while True:
            timed_out = args.seconds and time.monotonic() - start > args.seconds
            done_drawing = timed_out or (not args.seconds and index >= args.runs)
            while not done_drawing and len(pending) < 2 * args.jobs:
                pending.add(pool.submit(execute, draw(index)))
                index += 1
                done_drawing = not args.seconds and index >= args.runs
            if not pending:
                break
            finished, pending = concurrent.futures.wait(
                pending, return_when=concurrent.futures.FIRST_COMPLETED)
            for future in finished:
                verdicts, fails = future.result()
                executions += len(verdicts)
                for verdict in verdicts:
                    counts[verdict] = counts.get(verdict, 0) + 1
                failures.extend(fails)
    shutil.rmtree(work, ignore_errors=True)
    elapsed = time.monotonic() - start
    for failure in failures:
        print(failure)
    print(f"mutate_ir: {executions} executions of {index} mutants in "
          f"{elapsed:.1f} s (seed {args.seed}; "
          + ", ".join(f"{counts[k]} {k}" for k in sorted(counts))
          + f"), {len(failures)} failures"
          + (f"; inputs in {out}" if failures else ""))
    if not failures and not args.out:
        shutil.rmtree(out, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
