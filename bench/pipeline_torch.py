#!/usr/bin/python3
"""The PyTorch twins of bench/specs/*.yaml, trained as attnlab trains them, for bench/bench_pipeline.py.

    /usr/bin/python3 bench/pipeline_torch.py --model seed|transformer|textcnn|mmoe --batch B --threads T
        --steps S [--epochs 2] [--features features.csv]

Each epoch draws a fresh random order of the training rows and runs S steps of B rows: gather the
batch, forward, loss, backward, Adam. The data has the spec's shapes (token ids in [1, 5000), 1,000
classes, sequences of 50; or the 128-column table the attnlab side reads). Prints one JSON line with
the samples/s of every epoch (the last one is the steady state), the process's peak RSS, the BLAS it
loaded and the torch version. PyTorch runs at its best: flush-to-zero on (torch.set_flush_denormal),
set_to_none gradients, no masks (the sequences have no padding), tensors prepared before timing.
"""
import argparse
import json
import resource
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


class TransformerModel(nn.Module):
    """Embedding -> 2 x TransformerEncoderLayer(64, 4 heads, ffn 256, post-norm, dropout 0.1) -> mean -> linear."""

    def __init__(self, vocab, emb, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        layer = nn.TransformerEncoderLayer(emb, 4, 256, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)
        self.out = nn.Linear(emb, classes)

    def forward(self, ids):
        return self.out(self.encoder(self.emb(ids)).mean(dim=1))


class TextCNN(nn.Module):
    """Embedding -> Conv1d widths 3, 4, 5 (100 channels each, 'same' padding as attnlab's) -> ReLU -> max over time -> linear."""

    def __init__(self, vocab, emb, classes):
        super().__init__()
        self.emb = nn.Embedding(vocab, emb, padding_idx=0)
        self.convs = nn.ModuleList(nn.Conv1d(emb, 100, k) for k in (3, 4, 5))
        self.out = nn.Linear(300, classes)

    def forward(self, ids):
        x = self.emb(ids).transpose(1, 2)  # [B, E, T]
        ys = []
        for conv in self.convs:
            k = conv.kernel_size[0]
            left = (k - 1) // 2
            y = torch.relu(conv(nn.functional.pad(x, (left, k - 1 - left))))  # [B, 100, T]
            ys.append(y)
        return self.out(torch.cat(ys, dim=1).amax(dim=2))


class MMoE(nn.Module):
    """128 features -> 4 experts (64, 32, ReLU) -> a softmax gate per task -> towers (16, ReLU) -> one logit per task."""

    def __init__(self, features, experts=4, tasks=2):
        super().__init__()
        self.experts = nn.ModuleList(nn.Sequential(nn.Linear(features, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU())
                                     for _ in range(experts))
        self.gates = nn.ModuleList(nn.Linear(features, experts) for _ in range(tasks))
        self.towers = nn.ModuleList(nn.Sequential(nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1)) for _ in range(tasks))

    def forward(self, x):
        e = torch.stack([m(x) for m in self.experts], dim=1)  # [B, E, 32]
        outs = []
        for gate, tower in zip(self.gates, self.towers):
            w = torch.softmax(gate(x), dim=-1).unsqueeze(2)  # [B, E, 1]
            outs.append(tower((w * e).sum(dim=1)).squeeze(1))
        return outs


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, choices=["seed", "transformer", "textcnn", "mmoe"])
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, required=True, help="steps per epoch")
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--features", help="mmoe: the table bench_pipeline.py wrote")
    a = p.parse_args()

    torch.set_num_threads(a.threads)
    torch.set_flush_denormal(True)
    torch.manual_seed(0)
    rows = a.batch * a.steps
    if a.model == "mmoe":
        import numpy as np
        table = np.loadtxt(a.features, delimiter=",", skiprows=1, dtype=np.float32, max_rows=rows)
        x_all = torch.from_numpy(table[:, :128].copy())
        y_all = [torch.from_numpy(table[:, 128 + t].copy()) for t in range(2)]
        model = MMoE(128)
        bce = nn.BCEWithLogitsLoss()

        def loss_of(idx):
            outs = model(x_all[idx])
            return sum(bce(o, y[idx]) for o, y in zip(outs, y_all))
    else:
        vocab, classes, seq_len = 5001, 1000, 50
        ids = torch.randint(1, vocab, (rows, seq_len))
        labels = torch.randint(0, classes, (rows,))
        model = {"seed": lambda: SeedModel(vocab, 64, 128, seq_len, classes),
                 "transformer": lambda: TransformerModel(vocab, 64, classes),
                 "textcnn": lambda: TextCNN(vocab, 64, classes)}[a.model]()
        ce = nn.CrossEntropyLoss()

        def loss_of(idx):
            return ce(model(ids[idx]), labels[idx])

    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model.train()
    per_epoch = []
    for _ in range(a.epochs):
        order = torch.randperm(rows)
        t0 = time.perf_counter()
        for k in range(a.steps):
            idx = order[k * a.batch:(k + 1) * a.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_of(idx)
            loss.backward()
            opt.step()
        per_epoch.append(rows / (time.perf_counter() - t0))
    print(json.dumps({"samples_per_s": per_epoch, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                      "blas": blas_in_use(), "torch": torch.__version__}))


if __name__ == "__main__":
    main()
