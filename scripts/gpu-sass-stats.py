#!/usr/bin/env python3
"""Assembles PTX with ptxas, disassembles the cubin, and summarises each
kernel: registers, spills, shared memory, and the instructions that matter
for tensor-core kernels, counted in the whole kernel and inside loops.

usage: gpu-sass-stats.py FILE.ptx --arch sm_80 [--ptxas P] [--nvdisasm N]
                         [--expect 'KERNEL_REGEX:stat<=N,stat==N,...']...

One line per kernel, in the order ptxas reports them:

  kernel NAME: registers 210 stack 0 spill-stores 0 spill-loads 0
    shared 0 instructions 1682 loop-instructions 980 HMMA 256/256 ...

where `X a/b` means a in the kernel, b inside loops (between a backward
branch and its target). With --expect, each listed bound is checked for the
kernels whose name matches the regex (`*` for all); a violated bound prints
`FAIL: ...` and the exit status is 1. Standard library only.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

# Instruction families reported (SASS opcode prefixes).
OPCODES = ['HMMA', 'HGMMA', 'LDSM', 'STSM', 'LDGSTS', 'UTMALDG', 'SYNCS',
           'BAR', 'MUFU.EX2', 'SHFL', 'FFMA', 'FMUL', 'FADD', 'LDG', 'STG',
           'LDS', 'STS', 'LDL', 'STL', 'WARPGROUP']


def run(cmd):
    result = subprocess.run(cmd, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout)
        sys.exit(f'error: {" ".join(cmd)} failed ({result.returncode})')
    return result.stdout


def ptxas_info(log):
    """Per-kernel resource usage from `ptxas -v`."""
    kernels = {}
    current = None
    for line in log.splitlines():
        m = re.search(r"Compiling entry function '([^']+)'", line)
        if m:
            current = m.group(1)
            kernels[current] = {'order': len(kernels)}
            continue
        m = re.search(r"Function properties for (\S+)", line)
        if m:
            current = m.group(1)
            continue
        if current is None or current not in kernels:
            continue
        info = kernels[current]
        m = re.search(r'(\d+) bytes stack frame, (\d+) bytes spill stores, '
                      r'(\d+) bytes spill loads', line)
        if m:
            info['stack'], info['spill-stores'], info['spill-loads'] = (
                int(x) for x in m.groups())
        m = re.search(r'Used (\d+) registers', line)
        if m:
            info['registers'] = int(m.group(1))
            sm = re.search(r'(\d+) bytes smem', line)
            info['shared'] = int(sm.group(1)) if sm else 0
    return kernels


def sass_functions(text):
    """{kernel name: [(address, opcode, label-or-None, branch target)]}."""
    functions = {}
    current = None
    for line in text.splitlines():
        m = re.match(r'\s*\.text\.(\S+):', line) or \
            re.match(r'\s*//-+ \.text\.(\S+)\s+-+', line)
        if m:
            current = functions.setdefault(m.group(1), [])
            continue
        if current is None:
            continue
        m = re.match(r'^(\.L\w+):', line.strip())
        if m:
            current.append((None, None, m.group(1), None))
            continue
        m = re.match(r'\s*/\*([0-9a-f]+)\*/\s+(.*?);', line)
        if not m:
            continue
        body = m.group(2).strip()
        body = re.sub(r'^@!?U?P\w+\s+', '', body)  # predicate
        opcode = body.split()[0] if body else ''
        target = None
        t = re.search(r'`\((\.L\w+)\)', body)
        if t and opcode.startswith(('BRA', 'JMP')):
            target = t.group(1)
        current.append((int(m.group(1), 16), opcode, None, target))
    return functions


def loop_mask(instructions):
    """For each entry, whether it lies inside some loop: between a label and
    a later branch back to it."""
    labels = {}
    for i, (_, _, label, _) in enumerate(instructions):
        if label:
            labels[label] = i
    inside = [False] * len(instructions)
    for i, (_, opcode, _, target) in enumerate(instructions):
        if target in labels and labels[target] < i:
            for j in range(labels[target], i + 1):
                inside[j] = True
    return inside


def summarise(name, info, instructions):
    inside = loop_mask(instructions)
    stats = dict(info)
    stats.pop('order', None)
    real = [(op, inside[i]) for i, (_, op, label, _) in
            enumerate(instructions) if op]
    stats['instructions'] = len(real)
    stats['loop-instructions'] = sum(1 for _, loop in real if loop)
    for family in OPCODES:
        total = sum(1 for op, _ in real if op == family or
                    op.startswith(family + '.'))
        looped = sum(1 for op, loop in real if loop and
                     (op == family or op.startswith(family + '.')))
        key = family.replace('.', '-')
        stats[key] = total
        stats[key + '-loop'] = looped
    return stats


def format_stats(name, s):
    head = ' '.join(f'{k} {s.get(k, "?")}' for k in
                    ['registers', 'stack', 'spill-stores', 'spill-loads',
                     'shared', 'instructions', 'loop-instructions'])
    families = ' '.join(f'{f} {s[f.replace(".", "-")]}/'
                        f'{s[f.replace(".", "-") + "-loop"]}'
                        for f in OPCODES)
    return f'kernel {name}: {head} {families}'


def check(expectations, name, stats):
    failures = []
    for pattern, bounds in expectations:
        if pattern != '*' and not re.search(pattern, name):
            continue
        for bound in bounds:
            m = re.match(r'\s*([\w.-]+)\s*(<=|>=|==|<|>)\s*(\d+)\s*$', bound)
            if not m:
                sys.exit(f'error: bad bound "{bound}"')
            key, op, value = m.group(1).replace('.', '-'), m.group(2), \
                int(m.group(3))
            if key not in stats:
                sys.exit(f'error: unknown statistic "{key}"')
            actual = stats[key]
            ok = {'<=': actual <= value, '>=': actual >= value,
                  '==': actual == value, '<': actual < value,
                  '>': actual > value}[op]
            if not ok:
                failures.append(f'FAIL: {name}: {key} is {actual}, '
                                f'expected {op} {value}')
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('ptx')
    parser.add_argument('--arch', required=True)
    parser.add_argument('--ptxas', default='ptxas')
    parser.add_argument('--nvdisasm', default='nvdisasm')
    parser.add_argument('--expect', action='append', default=[],
                        help="'KERNEL_REGEX:bound,bound'")
    parser.add_argument('--keep', help='write the cubin and SASS here')
    args = parser.parse_args()

    expectations = []
    for e in args.expect:
        pattern, _, bounds = e.partition(':')
        expectations.append((pattern, [b for b in bounds.split(',') if b]))

    with tempfile.TemporaryDirectory() as tmp:
        cubin = os.path.join(args.keep or tmp, os.path.basename(args.ptx) +
                             '.' + args.arch + '.cubin')
        log = run([args.ptxas, f'-arch={args.arch}', '-v', args.ptx, '-o',
                   cubin])
        sass = run([args.nvdisasm, '-c', cubin])
        if args.keep:
            with open(cubin + '.sass', 'w') as f:
                f.write(sass)
    kernels = ptxas_info(log)
    functions = sass_functions(sass)
    failures = []
    for name, info in sorted(kernels.items(), key=lambda kv: kv[1]['order']):
        stats = summarise(name, info, functions.get(name, []))
        print(format_stats(name, stats))
        failures += check(expectations, name, stats)
    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
