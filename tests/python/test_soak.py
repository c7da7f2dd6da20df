"""Soak: one process runs 200 small trials of 20 model variants (4 extractors x 5 attentions, 10
seeds each). Its resident memory must plateau: a leak of a trial's tensors, kernels, HDF5 handles or
threads grows it with every trial. The report prints the resident set after every 25 trials and
the trials' own peak tensor memory (from their files) so that a growth can be read."""
import os
import subprocess
import time

import pytest

h5py = pytest.importorskip("h5py")

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")

SPEC = """name: soak
data:
  dataset: {type: marker, train: 128, valid: 32, test: 32, seq_len: 12, vocab: 30, classes: 4}
model:
  embedding: 16
  extractor: {type: lstm, hidden: 16}
  attention: {type: seed_self}
  pooling: {type: mean}
  head: {type: classification}
train: {epochs: 1, batch_size: 32, optimizer: {type: adam, lr: 0.01}, seed: 1}
eval: {metrics: [accuracy], select: accuracy}
log: {probes: 4, attention_epochs: [1], checkpoint: false}
sweep:
  grid:
    train.seed: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    model.extractor: [{type: lstm, hidden: 16}, {type: gru, hidden: 16}, {type: cnn, channels: 16},
                      {type: transformer, layers: 1, num_heads: 2}]
    model.attention: [{type: none}, {type: seed_self}, {type: scaled_dot}, {type: multi_head, num_heads: 2},
                      {type: additive}]
"""


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_resident_memory_plateaus_over_200_trials(tmp_path):
    spec = tmp_path / "soak.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([BIN, "sweep", str(spec), "--jobs", "2", "--threads", "1", "--quiet", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    samples = []  # (finished trials, resident KiB)
    deadline = time.monotonic() + 1500
    while p.poll() is None and time.monotonic() < deadline:
        try:
            rss = rss_kib(p.pid)
            done = sum(1 for f in os.listdir(out) if f.endswith(".h5") and f != "index.h5") if out.exists() else 0
        except (FileNotFoundError, ProcessLookupError):
            break
        samples.append((done, rss))
        time.sleep(0.2)
    if p.poll() is None:
        p.kill()
        pytest.fail("the soak sweep did not finish")
    stdout, stderr = p.communicate()
    assert p.returncode == 0, stderr[-3000:]
    files = sorted(f for f in os.listdir(out) if f.endswith(".h5") and f != "index.h5")
    assert len(files) == 200

    by_stage = {}
    for done, rss in samples:
        by_stage.setdefault(done // 25, []).append(rss)
    print("trials finished  resident MiB (max while there)")
    for stage in sorted(by_stage):
        print(f"  {stage * 25:>3}-{stage * 25 + 24:<3}       {max(by_stage[stage]) / 1024:8.1f}")
    peaks = []
    for name in files:
        with h5py.File(out / name, "r") as f:
            peaks.append(int(f["timing"].attrs["peak_tensor_bytes"]))
    print(f"trial peak tensor memory: min {min(peaks) / 2**20:.2f} MiB, max {max(peaks) / 2**20:.2f} MiB")

    # The first 100 trials have seen every variant five times (the seed is the outer axis) and warmed
    # every cache; the last 100 must not need more memory than they did, give or take the allocator.
    first = max(rss for done, rss in samples if done < 100)
    last = [rss for done, rss in samples if done >= 100]
    assert last, "no sample after 100 trials"
    assert max(last) <= first * 1.10 + 16 * 1024, (first, max(last))
