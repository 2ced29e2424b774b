#!/usr/bin/env python3
"""Writes the PTX (or cubin) that gpu.binary ops embed in MLIR text to files.

`attn-opt --attn-gpu-pipeline` leaves every kernel module as
`gpu.binary @name [#gpu.object<#nvvm.target<... chip = "sm_80" ...>, "...">]`
with the object escaped as an MLIR string. This script unescapes each object
and writes it to DIR/NAME.CHIP.ptx (format=isa) or DIR/NAME.CHIP.cubin
(format=bin), printing one path per line, so ptxas, nvdisasm and cuobjdump
can look at what the pipeline produced. Standard library only.

usage: gpu-binaries.py INPUT.mlir -o DIR
"""

import argparse
import os
import re
import sys

BINARY = re.compile(r'gpu\.binary\s+@([\w$.]+)\s*(?:<[^>]*>\s*)?\[')


def parse_string(text, start):
    """The MLIR string literal starting at text[start] == '"', unescaped to
    bytes, and the index after its closing quote."""
    assert text[start] == '"'
    out = bytearray()
    i = start + 1
    while True:
        c = text[i]
        if c == '"':
            return bytes(out), i + 1
        if c == '\\':
            nxt = text[i + 1]
            if nxt in '\\"':
                out.append(ord(nxt))
                i += 2
            elif nxt == 'n':
                out.append(10)
                i += 2
            elif nxt == 't':
                out.append(9)
                i += 2
            else:
                out.append(int(text[i + 1:i + 3], 16))
                i += 3
            continue
        out += c.encode('utf-8')
        i += 1


def objects(text):
    """(module name, chip, format, payload bytes) for every object."""
    for match in BINARY.finditer(text):
        name = match.group(1)
        i = match.end()
        depth = 1
        chip = None
        fmt = None
        # Walk the object list: strings are skipped whole, so '<' or ']'
        # inside the PTX never confuses the bracket count.
        segment_start = i
        while depth > 0 and i < len(text):
            c = text[i]
            if c == '"':
                before = text[segment_start:i]
                # The object's payload is `assembly = "..."` (PTX) or
                # `bin = "..."` (cubin, fatbin).
                tail = before.rstrip()
                fmt = None
                if tail.endswith('assembly ='):
                    fmt = 'ptx'
                elif tail.endswith('bin ='):
                    fmt = 'cubin'
                payload, i = parse_string(text, i)
                if tail.endswith('chip ='):
                    chip = payload.decode()
                    segment_start = i
                    continue
                if fmt is not None and chip is not None:
                    yield name, chip, fmt, payload
                fmt = None
                segment_start = i
                continue
            if c == '[':
                depth += 1
            elif c == ']':
                depth -= 1
            i += 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('input')
    parser.add_argument('-o', '--output-dir', required=True)
    args = parser.parse_args()
    with open(args.input, encoding='utf-8') as f:
        text = f.read()
    os.makedirs(args.output_dir, exist_ok=True)
    count = 0
    for name, chip, fmt, payload in objects(text):
        path = os.path.join(args.output_dir, f'{name}.{chip}.{fmt}')
        with open(path, 'wb') as f:
            f.write(payload)
        print(path)
        count += 1
    if count == 0:
        print(f'error: no gpu.binary objects in {args.input}', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
