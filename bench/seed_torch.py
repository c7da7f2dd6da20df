#!/usr/bin/python3
"""The seed model's training step in PyTorch, timed like bench_seed_step (the attnlab side).

Prints one JSON line: {"samples_per_s": ..., "ms_per_step": ..., "blas": ..., "torch": ...}.
Run through bench/bench_seed.py, which sets threads and the environment for both sides.
"""
import argparse
import json
import time

import torch
import torch.nn as nn


class SeedModel(nn.Module):
    """Embedding -> LSTM (all steps) -> self-attention (q = xW + b, scores = q x^T, softmax, weights x) -> flatten -> linear."""

    def __init__(self, vocab, emb, hidden, seq_len, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb)
        self.lstm = nn.LSTM(emb, hidden, batch_first=True)
        self.query = nn.Linear(hidden, hidden)
        self.out = nn.Linear(seq_len * hidden, classes)

    def forward(self, ids):
        x, _ = self.lstm(self.emb(ids))                  # [B, T, H]
        scores = self.query(x) @ x.transpose(1, 2)       # [B, T, T]
        y = torch.softmax(scores, dim=-1) @ x            # [B, T, H]
        return self.out(y.flatten(1))                    # [B, C]


def blas_in_use():
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line}
        return ", ".join(sorted(l.rsplit("/", 1)[-1] for l in libs)) or "none loaded"
    except OSError:
        return "unknown"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=50)
    p.add_argument("--vocab", type=int, default=5000)
    p.add_argument("--emb", type=int, default=64)
    p.add_argument("--hidden", type=int, default=128)
    p.add_argument("--classes", type=int, default=1000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--warmup", type=int, default=3)
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    model = SeedModel(a.vocab, a.emb, a.hidden, a.seq_len, a.classes)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    ids = torch.randint(0, a.vocab, (a.batch, a.seq_len))
    labels = torch.randint(0, a.classes, (a.batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(ids), labels)
        loss.backward()
        opt.step()
        return loss

    for _ in range(a.warmup):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = time.perf_counter() - t0
    print(json.dumps({"samples_per_s": a.batch * a.steps / dt, "ms_per_step": 1000 * dt / a.steps,
                      "blas": blas_in_use(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
