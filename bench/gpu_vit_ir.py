"""Writes the attn IR of torchvision's vit_b_16 in bf16 (batch 1) with the
project's frontend, and the manifest record of its case, for
bench/gpu-prepare.sh. The frontend passes weights as arguments (the prepared
parameters), so the compiled library is small enough to carry to the GPU
machine, where bench/gpu_bench.py recomputes the prepared parameters from
the same model with the same frontend and checks the signature matches.

usage: gpu_vit_ir.py OUT.mlir OUT.json   (needs torch and torchvision)
"""

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))


def main() -> int:
    import torch
    import torchvision
    from attn_opt.capture import capture_module, lower

    torch.manual_seed(0)
    model = torchvision.models.vit_b_16(weights=None).eval().bfloat16()
    x = torch.randn(1, 3, 224, 224).bfloat16()
    lowered, _ = lower(capture_module(model), (x,))
    with open(sys.argv[1], "w") as f:
        f.write(lowered.mlir)
    record = {
        "name": "vit_b_16_whole_bf16_b1", "kind": "vit_whole",
        "purpose": "model", "pipeline": "", "entry": "forward",
        "inputs": [{"kind": a.kind, "name": a.name, "shape": list(a.shape),
                    "dtype": a.dtype} for a in lowered.args],
        "outputs": [{"shape": list(shape), "dtype": dtype}
                    for shape, dtype in lowered.results],
        "flops": 0.0,
    }
    with open(sys.argv[2], "w") as f:
        json.dump(record, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
