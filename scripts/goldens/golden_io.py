"""Golden files: named float tensors in a small text format that C++ tests read without HDF5.

Format (one file per scenario, tests/data/goldens/<name>.txt):

    # attnlab golden v1
    # <free comment lines: generator, torch version, ...>
    tensor <name> <rank> <d0> ... <d(rank-1)>
    <all values on one line, row-major, %.9g>

Values are written with 9 significant digits, which round-trips f32 exactly.
"""
from __future__ import annotations

import os
from typing import Mapping

import numpy as np

GOLDEN_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "data", "goldens")


def write_golden(name: str, tensors: Mapping[str, "np.ndarray"], comment: str = "") -> str:
    """Writes tensors (numpy arrays or torch tensors) to tests/data/goldens/<name>.txt."""
    path = os.path.normpath(os.path.join(GOLDEN_DIR, name + ".txt"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("# attnlab golden v1\n")
        for line in comment.splitlines():
            f.write(f"# {line}\n")
        for key, value in tensors.items():
            if hasattr(value, "detach"):
                value = value.detach().cpu().numpy()
            arr = np.asarray(value, dtype=np.float64)
            f.write(f"tensor {key} {arr.ndim} {' '.join(str(d) for d in arr.shape)}".rstrip() + "\n")
            f.write(" ".join(f"{v:.9g}" for v in arr.reshape(-1)) + "\n")
    return path


def read_golden(path: str) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l and not l.startswith("#")]
    for head, body in zip(lines[0::2], lines[1::2]):
        parts = head.split()
        rank = int(parts[2])
        shape = tuple(int(d) for d in parts[3 : 3 + rank])
        out[parts[1]] = np.array([float(v) for v in body.split()], dtype=np.float64).reshape(shape)
    return out
