#!/usr/bin/python3
"""Training speed through the real pipeline, attnlab vs PyTorch, side by side in one run.

    /usr/bin/python3 bench/bench_pipeline.py [--build build] [--repeats 3] [--models seed,transformer,textcnn,mmoe]
                                             [--batches 32,256] [--threads 1,2] [--steps 200,100]

For every model, batch size and thread count, runs `attnlab run bench/specs/<model>.yaml` (the registry-built
model, the trainer, the data pipeline: dataset, batcher with prefetch, evaluation after each epoch) for two
epochs and reads the second epoch's training samples/s from the trial file (/timing/epoch_samples_per_second:
the steady state, after the first epoch's warm-up), its peak RSS (/timing/peak_rss_bytes, the trial
alone in its process) and its minor page faults per training step in that epoch
(/timing/epoch_faults_per_step: 0 when every step reuses cached memory). Its PyTorch twin
(bench/pipeline_torch.py) trains the same model on data of the same shapes for the same steps, also
timed on its second epoch. The two sides alternate, `--repeats` fresh processes each; the table gives medians and the ratio attnlab / PyTorch. `--steps` is the number of steps
per epoch for each batch size, in the order of `--batches`.

PyTorch runs at its best on these machines: OpenBLAS with its AVX-512 kernels (OPENBLAS_CORETYPE=SkylakeX),
glibc malloc thresholds raised (the memory policy attnlab sets itself), flush-to-zero on. Install it with
`bash scripts/setup.sh --bench`. Run on an otherwise idle machine: 2-thread figures suffer badly from
another busy process (OpenMP threads spin-wait).
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TORCH_ENV = {
    "OPENBLAS_CORETYPE": "SkylakeX",
    "GLIBC_TUNABLES": "glibc.malloc.mmap_threshold=134217728:glibc.malloc.trim_threshold=1073741824",
}
VALID_ROWS = 256  # validation and test rows of the attnlab side (evaluated between epochs, not timed)


def write_features(path, rows, seed=0):
    """128 normal features and two binary labels from two random hyperplanes (MMoE's feature-vector setting)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows, 128)).astype(np.float32)
    w = rng.standard_normal((128, 2)).astype(np.float32)
    y = (x @ w > 0).astype(np.int32)
    with open(path, "w") as f:
        f.write(",".join([f"f{i}" for i in range(128)] + ["a", "b"]) + "\n")
        for r in range(rows):
            f.write(",".join(f"{v:.5f}" for v in x[r]) + f",{y[r, 0]},{y[r, 1]}\n")


def run_attnlab(binary, model, batch, steps, threads, work, features):
    rows = batch * steps
    spec = os.path.join(HERE, "specs", f"{model}.yaml")
    overrides = [f"train.batch_size={batch}"]
    if model == "mmoe":
        total = rows + 2 * VALID_ROWS
        overrides += [f"data.dataset.path={features}", f"data.dataset.train={rows / total!r}",
                      f"data.dataset.valid={VALID_ROWS / total!r}"]
    else:
        overrides += [f"data.dataset.train={rows}", f"data.dataset.valid={VALID_ROWS}", f"data.dataset.test={VALID_ROWS}"]
    out = tempfile.mkdtemp(dir=work)
    subprocess.run([binary, "run", spec, *overrides, "--threads", str(threads), "--out", out, "--quiet"], check=True,
                   stdout=subprocess.DEVNULL)
    import h5py
    [path] = [p for p in glob.glob(os.path.join(out, "*.h5")) if not p.endswith("index.h5")]
    with h5py.File(path, "r") as f:
        return {"samples_per_s": float(f["timing/epoch_samples_per_second"][-1]),
                "peak_rss_bytes": int(f["timing/peak_rss_bytes"][()]),
                "faults_per_step": float(f["timing/epoch_faults_per_step"][-1])}


def run_torch(model, batch, steps, threads, features):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads), **TORCH_ENV)
    cmd = [sys.executable, os.path.join(HERE, "pipeline_torch.py"), "--model", model, "--batch", str(batch), "--threads",
           str(threads), "--steps", str(steps)]
    if model == "mmoe":
        cmd += ["--features", features]
    r = json.loads(subprocess.run(cmd, env=env, check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
    r["samples_per_s"] = r["samples_per_s"][-1]
    return r


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--repeats", type=int, default=3, help="processes per point and side (the median is reported)")
    p.add_argument("--models", default="seed,transformer,textcnn,mmoe")
    p.add_argument("--batches", default="32,256")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--steps", default="200,100", help="steps per epoch, one per batch size")
    a = p.parse_args()

    binary = os.path.join(a.build, "attnlab")
    if not os.path.exists(binary):
        sys.exit(f"bench_pipeline: {binary} not found; build first (cmake --build {a.build})")
    batches = [int(b) for b in a.batches.split(",")]
    steps = dict(zip(batches, [int(s) for s in a.steps.split(",")]))
    if len(steps) != len(batches):
        sys.exit("bench_pipeline: give one --steps value per batch size")
    models = a.models.split(",")

    rows = []
    blas = torch_version = None
    with tempfile.TemporaryDirectory(prefix="attnlab_bench_") as work:
        tables = {}
        if "mmoe" in models:
            for b in batches:
                tables[b] = os.path.join(work, f"features_{b}.csv")
                write_features(tables[b], b * steps[b] + 2 * VALID_ROWS)
        for threads in [int(t) for t in a.threads.split(",")]:
            for batch in batches:
                features = tables.get(batch)
                for model in models:
                    ours, theirs = [], []
                    for _ in range(a.repeats):  # alternate the sides so that drift affects both alike
                        ours.append(run_attnlab(binary, model, batch, steps[batch], threads, work, features))
                        theirs.append(run_torch(model, batch, steps[batch], threads, features))
                        blas, torch_version = theirs[-1]["blas"], theirs[-1]["torch"]
                    o = statistics.median(r["samples_per_s"] for r in ours)
                    t = statistics.median(r["samples_per_s"] for r in theirs)
                    o_rss = statistics.median(r["peak_rss_bytes"] for r in ours)
                    t_rss = statistics.median(r["peak_rss_bytes"] for r in theirs)
                    faults = statistics.median(r["faults_per_step"] for r in ours)
                    rows.append((model, batch, threads, o, t, o / t, o_rss / 2**20, t_rss / 2**20, faults))
                    print(f"{model:12s} batch {batch:4d} threads {threads}: attnlab {o:8.0f}  pytorch {t:8.0f} samples/s  "
                          f"ratio {o / t:5.2f}  peak RSS {o_rss / 2**20:6.0f} / {t_rss / 2**20:6.0f} MiB  "
                          f"page faults per step {faults:.2f}", flush=True)

    print(f"\nPyTorch {torch_version}, BLAS: {blas}; {a.repeats} processes per point, medians; steady state: the second "
          f"epoch of {', '.join(f'{steps[b]} steps at batch {b}' for b in batches)}\n")
    print("| model | batch | threads | attnlab samples/s | PyTorch samples/s | attnlab / PyTorch "
          "| peak RSS attnlab / PyTorch (MiB) | attnlab page faults per step |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for model, batch, threads, o, t, r, orss, trss, faults in rows:
        print(f"| {model} | {batch} | {threads} | {o:.0f} | {t:.0f} | {r:.2f} | {orss:.0f} / {trss:.0f} | {faults:.2f} |")


if __name__ == "__main__":
    main()
