#!/usr/bin/python3
"""Seed-model training step, attnlab vs PyTorch, side by side in one run.

    /usr/bin/python3 bench/bench_seed.py [--build build] [--repeats 3] [--steps 20]

For batch 32 and 256 (seq_len 50, vocab 5000, embedding 64, LSTM 128, flatten -> 1000 classes) and 1 and 2
threads, runs the full training step (forward, loss, backward, Adam) of build/bench/bench_seed_step and of
bench/seed_torch.py, each in `--repeats` fresh processes, and prints the median samples/s of each and their
ratio. PyTorch runs at its best on this machine: with OpenBLAS (scripts/setup.sh --bench), its AVX-512 kernels
(OPENBLAS_CORETYPE=SkylakeX) and glibc malloc thresholds raised (the same memory policy attnlab sets itself).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_ENV = {
    "OPENBLAS_CORETYPE": "SkylakeX",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=134217728:glibc.malloc.trim_threshold=1073741824",
}


def run(cmd, threads, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **(extra_env or {}))
    out = subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--repeats", type=int, default=3, help="processes per point (median is reported)")
    p.add_argument("--steps", type=int, default=20, help="timed steps per process")
    p.add_argument("--batches", default="32,256")
    p.add_argument("--threads", default="1,2")
    a = p.parse_args()

    ours = os.path.join(a.build, "bench", "bench_seed_step")
    if not os.path.exists(ours):
        sys.exit(f"bench_seed: {ours} not found; build first (cmake --build {a.build})")
    theirs = [sys.executable, os.path.join(HERE, "seed_torch.py")]

    rows = []
    blas = None
    for threads in [int(t) for t in a.threads.split(",")]:
        for batch in [int(b) for b in a.batches.split(",")]:
            args = ["--batch", str(batch), "--threads", str(threads), "--steps", str(a.steps)]
            o, t = [], []
            for _ in range(a.repeats):  # interleave the two sides so drift affects both alike
                o.append(run([ours] + args, threads)["samples_per_s"])
                r = run(theirs + args, threads, TORCH_ENV)
                t.append(r["samples_per_s"])
                blas = r["blas"]
            mo, mt = statistics.median(o), statistics.median(t)
            rows.append((batch, threads, mo, mt, mo / mt))
            print(f"batch {batch:4d} threads {threads}: attnlab {mo:9.1f}  pytorch {mt:9.1f} samples/s  ratio {mo / mt:5.2f}",
                  file=sys.stderr, flush=True)

    print(f"\nseed model training step (T=50, vocab 5000, emb 64, LSTM 128, 1000 classes), median of {a.repeats} processes")
    print(f"PyTorch BLAS: {blas}\n")
    print("| batch | threads | attnlab samples/s | PyTorch samples/s | attnlab / PyTorch |")
    print("|---:|---:|---:|---:|---:|")
    for batch, threads, mo, mt, ratio in rows:
        print(f"| {batch} | {threads} | {mo:.0f} | {mt:.0f} | {ratio:.2f} |")


if __name__ == "__main__":
    main()
