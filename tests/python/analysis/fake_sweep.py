"""Writes fake attnlab results with h5py, following framework/store/trial.h and index.h exactly,
for the analysis tests (the real ones come from the C++ TrialWriter / write_index).

    write_trial(dir, id, ...)   one <id>.h5 (or <id>.h5.tmp with tmp=True)
    write_index(dir, rows)      index.h5 with /summary and /trials/<id> external links
    write_ledger(dir, entries)  ledger.tsv
    make_sweep(dir)             the default fixture: a 2-variant x 3-seed sweep with known numbers,
                                one failed trial, one running (.tmp), one finished after the index

Command line: /usr/bin/python3 tests/python/analysis/fake_sweep.py OUT_DIR  (writes make_sweep).
"""
from __future__ import annotations

import hashlib
import os
import sys
import time
from pathlib import Path

import h5py
import numpy as np

STR = h5py.string_dtype("utf-8")

# The default sweep: model.attention.type in (none, seed_self) x train.seed in (1, 2, 3) done;
# seed 4 of "none" failed, seed 4 of "seed_self" still running. test/accuracy of each done trial:
ACCURACY = {
    ("none", 1): 0.70, ("none", 2): 0.74, ("none", 3): 0.71,
    ("seed_self", 1): 0.82, ("seed_self", 2): 0.85, ("seed_self", 3): 0.80,
}
VARIANTS = ["none", "seed_self"]
SEEDS = [1, 2, 3]
EPOCHS = 3
P, T, H = 3, 6, 2  # probe samples, padded length, heads
# Probe: ids (0 = padding on the left), planted truth positions (padded coordinates).
PROBE_IDS = np.array([[0, 0, 11, 12, 13, 14], [21, 22, 23, 24, 25, 26], [0, 31, 32, 33, 34, 35]], dtype=np.int64)
PROBE_MASK = (PROBE_IDS != 0).astype(np.float32)
PROBE_TRUTH = [[4], [2, 5], [3]]


def trial_id(params: dict) -> str:
    text = ",".join(f"{k}={params[k]}" for k in sorted(params))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def config_yaml(params: dict) -> str:
    att = params.get("model.attention.type", "seed_self")
    emb = params.get("model.embedding", 16)
    seed = params.get("train.seed", 1)
    return (
        "name: fake-ablation\n"
        "data:\n  dataset:\n    type: marker\n    seq_len: 6\n    vocab: 50\n    classes: 5\n"
        f"model:\n  embedding: {emb}\n  extractor:\n    type: lstm\n    hidden: 8\n  attention:\n    type: {att}\n"
        "  pooling:\n    type: flatten\n  head:\n    type: classification\n"
        f"train:\n  epochs: {EPOCHS}\n  batch_size: 32\n  seed: {seed}\n  optimizer:\n    type: adam\n    lr: 0.001\n"
        "eval:\n  metrics: [accuracy, logloss]\n"
    )


def write_trial(
    directory, tid, *, status="done", config=None, config_hash="0123456789abcdef", env=None,
    data=None, epochs=(), curves=None, finals=None, probe=None, attention=None, timing=None,
    message="", failed_at="", tmp=False,
):
    """One trial file. curves: {(split, name): [values aligned with epochs]}; finals: {(split,
    metric): value}; attention: {layer: {epoch: f32 array}}; probe: {name: array}."""
    path = Path(directory) / (f"{tid}.h5.tmp" if tmp else f"{tid}.h5")
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "attnlab-trial"
        f.attrs["format_version"] = np.int64(1)
        f.attrs["trial_id"] = tid
        if config is not None:
            g = f.create_group("config")
            g.attrs["hash"] = config_hash
            g.create_dataset("yaml", data=config, dtype=STR)
        if env is not None:
            g = f.create_group("env")
            for k, v in env.items():
                g.attrs[k] = v
        if data is not None:
            g = f.create_group("data")
            g.create_dataset("protocol", data=data["protocol"], dtype=STR)
            for k, v in data["split_sizes"].items():
                g.create_dataset(f"split_sizes/{k}", data=np.int64(v))
            g.create_dataset("report", data=np.array(data["report"], dtype=object), dtype=STR)
            if data.get("tokens"):
                g.create_dataset("tokens", data=np.array(data["tokens"], dtype=object), dtype=STR)
            for step, arrays in data.get("fitted", {}).items():
                for k, v in arrays.items():
                    g.create_dataset(f"fitted/{step}/{k}", data=np.asarray(v, dtype=np.float64))
        g = f.create_group("curves")
        g.create_dataset("epoch", data=np.asarray(epochs, dtype=np.int64), maxshape=(None,), chunks=(64,))
        for (split, name), values in (curves or {}).items():
            g.create_dataset(f"{split}/{name}", data=np.asarray(values, dtype=np.float64), maxshape=(None,), chunks=(64,))
        for (split, metric), v in (finals or {}).items():
            f.create_dataset(f"final/{split}/{metric}", data=np.float64(v))
        if probe:
            for k, v in probe.items():
                f.create_dataset(f"attention/probe/{k}", data=v)
        for layer, by_epoch in (attention or {}).items():
            for e, w in by_epoch.items():
                f.create_dataset(f"attention/{layer}/epoch_{e}", data=np.asarray(w, dtype=np.float32), compression="gzip", compression_opts=4, shuffle=True)
        if timing is not None:
            g = f.create_group("timing")
            for k in ("epoch_seconds", "epoch_samples_per_second"):
                g.create_dataset(k, data=np.asarray(timing[k], dtype=np.float64), maxshape=(None,), chunks=(64,))
            g.create_dataset("epoch", data=np.asarray(timing["epoch"], dtype=np.int64), maxshape=(None,), chunks=(64,))
            g.create_dataset("total_seconds", data=np.float64(timing["total_seconds"]))
            g.create_dataset("samples_per_second", data=np.float64(timing["samples_per_second"]))
            g.create_dataset("peak_rss_bytes", data=np.int64(timing["peak_rss_bytes"]))
        s = f.create_group("status")
        s.attrs["state"] = status
        s.attrs["message"] = message
        s.attrs["failed_at"] = failed_at
    return path


def write_index(directory, rows, params, finals):
    """index.h5: rows are dicts with id, status, every param key (str or number) and finals
    ({"test/accuracy": v}); a row with "file" gets an external link /trials/<id> -> file."""
    directory = Path(directory)
    numeric = {k: all(isinstance(r.get(k), (int, float)) for r in rows if r.get(k) is not None) for k in params}
    cols = ["id", "status", *params, *sorted(finals)]
    roles = ["id", "status", *["param"] * len(params), *["final"] * len(finals)]

    def width(k):
        return max(1, *(len(str(r.get(k, "")).encode()) for r in rows))

    dt = []
    for c in cols:
        if c in finals or (c in params and numeric[c]):
            dt.append((c, "<f8"))
        else:
            dt.append((c, f"S{width(c)}"))
    arr = np.zeros(len(rows), dtype=dt)
    for i, r in enumerate(rows):
        for c in cols:
            if c in finals:
                arr[i][c] = r.get("finals", {}).get(c, np.nan)
            elif c in params and numeric[c]:
                arr[i][c] = np.nan if r.get(c) is None else float(r[c])
            else:
                arr[i][c] = str(r.get(c, "")).encode()
    tmp = directory / "index.h5.tmp"
    with h5py.File(tmp, "w") as f:
        f.attrs["format"] = "attnlab-index"
        f.attrs["format_version"] = np.int64(1)
        f.attrs.create("summary_columns", data=np.array(cols, dtype=object), dtype=STR)
        f.attrs.create("summary_roles", data=np.array(roles, dtype=object), dtype=STR)
        g = f.create_group("trials")
        for r in rows:
            if r.get("file"):
                g[r["id"]] = h5py.ExternalLink(r["file"], "/")
        f.create_dataset("summary", data=arr)
    os.replace(tmp, directory / "index.h5")
    return directory / "index.h5"


def _escape(s: str) -> str:
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def write_ledger(directory, entries, torn=""):
    """entries: (trial, state, message); a torn last line (no newline) when `torn` is given."""
    with open(Path(directory) / "ledger.tsv", "w", encoding="utf-8") as f:
        f.write("time\ttrial\tstate\tmessage\n")
        for i, (tid, state, msg) in enumerate(entries):
            f.write(f"2026-11-24T08:31:{i:02d}.000Z\t{_escape(tid)}\t{state}\t{_escape(msg)}\n")
        f.write(torn)


def attention_weights(seed: int, epoch: int):
    """Self-attention [P, T, T] over valid keys, sharper on the truth as epochs pass; for seed 3
    probe 0 attends most to position 2 instead of its truth 4 (so precision@k < 1 there)."""
    w = np.zeros((P, T, T), dtype=np.float32)
    for p in range(P):
        valid = np.flatnonzero(PROBE_MASK[p])
        target = [2] if (seed == 3 and p == 0) else PROBE_TRUTH[p]
        for q in valid:
            s = np.full(T, -np.inf)
            s[valid] = 0.1 * ((q + np.arange(T)[valid]) % 3)
            s[target] += epoch
            e = np.exp(s - s[valid].max())
            w[p, q] = e / e.sum()
    return w


def make_sweep(directory, *, with_index=True, with_sweep_yaml=True):
    """The default fixture (see ACCURACY). Returns what was written:
    {"trials": {id: {"params", "status", "finals", "curves", "file"}}, "done": [ids], "failed": id,
     "running": id, "late": id (done, listed as running by the stale index), "params": [...]}"""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    params_keys = ["model.attention.type", "train.seed"]
    trials, ledger, index_rows = {}, [], []
    plan = [(v, s) for v in VARIANTS for s in [*SEEDS, 4]]  # grid key slowest, seeds fastest
    for v, s in plan:
        ledger.append((trial_id({"model.attention.type": v, "train.seed": s}), "planned", ""))
    now = time.time()
    late = trial_id({"model.attention.type": "seed_self", "train.seed": 3})
    for v, s in plan:
        params = {"model.attention.type": v, "train.seed": s}
        tid = trial_id(params)
        ledger.append((tid, "running", ""))
        env = {"attnlab_version": "0.1.0", "compiler": "gcc 12.2", "host": "fake-host", "seed": str(s)}
        data = {
            "protocol": "random 0.8/0.1/0.1 seed 3",
            "split_sizes": {"train": 800, "valid": 100, "test": 100},
            "report": ["marker: generated 1000 sequences", "kept 1000 of 1000 rows"],
            "fitted": {"standardize": {"mean": [0.5, 1.5], "std": [1.0, 2.0]}},
        }
        common = dict(config=config_yaml(params), env=env, data=data)
        if (v, s) in ACCURACY:
            acc = ACCURACY[(v, s)]
            epochs = list(range(1, EPOCHS + 1))
            cv = {
                ("train", "loss"): [2.0 / e + 0.01 * s for e in epochs],
                ("train", "lr"): [0.001] * EPOCHS,
                ("valid", "loss"): [2.2 / e + 0.01 * s for e in epochs],
                ("valid", "accuracy"): [acc - 0.1 * (EPOCHS - e) - 0.01 for e in epochs],
                ("valid", "hr@10"): [np.nan, 0.5 + 0.01 * s, 0.6 + 0.01 * s],  # not computed at epoch 1
                ("valid", "click.auc"): [0.6 + 0.05 * e for e in epochs],
            }
            finals = {
                ("test", "accuracy"): acc,
                ("test", "logloss"): round(1.5 - acc, 6),
                ("test", "hr@10"): round(acc - 0.1, 6),
                ("valid", "accuracy"): round(acc - 0.01, 6),
            }
            att, probe = None, None
            if v == "seed_self":
                probe = {
                    "ids": PROBE_IDS, "mask": PROBE_MASK, "rows": np.array([5, 17, 42], dtype=np.int64),
                    "truth": np.array([t for ts in PROBE_TRUTH for t in ts], dtype=np.int64),
                    "truth_offsets": np.array([0, 1, 3, 4], dtype=np.int64),
                }
                att = {"attention": {e: attention_weights(s, e) for e in epochs}}
                att["pool"] = {EPOCHS: attention_weights(s, EPOCHS).mean(axis=1)}  # [P, T]
                att["mha"] = {EPOCHS: np.stack([attention_weights(s, EPOCHS)] * H, axis=1)}  # [P, H, T, T]
            timing = {"epoch": epochs, "epoch_seconds": [1.0 + 0.1 * e for e in epochs],
                      "epoch_samples_per_second": [800 / (1.0 + 0.1 * e) for e in epochs],
                      "total_seconds": 3.6, "samples_per_second": 666.7, "peak_rss_bytes": 123456789}
            path = write_trial(directory, tid, status="done", epochs=epochs, curves=cv, finals=finals,
                               probe=probe, attention=att, timing=timing, **common)
            ledger.append((tid, "done", ""))
            trials[tid] = {"params": params, "status": "done", "file": path, "curves": cv,
                           "finals": {f"{a}/{b}": x for (a, b), x in finals.items()}}
        elif v == "none":  # failed at epoch 2
            msg = "loss is NaN at epoch 2 batch 17\tstep 35"
            path = write_trial(directory, tid, status="failed", epochs=[1, 2],
                               curves={("train", "loss"): [2.0, np.nan]}, message=msg,
                               failed_at="epoch 2 batch 17", **common)
            ledger.append((tid, "failed", msg))
            trials[tid] = {"params": params, "status": "failed", "file": path, "curves": {}, "finals": {},
                           "message": msg}
        else:  # still running: only the .tmp
            path = write_trial(directory, tid, status="running", epochs=[1], curves={("train", "loss"): [2.0]},
                               tmp=True, **common)
            trials[tid] = {"params": params, "status": "running", "file": path, "curves": {}, "finals": {}}
            with h5py.File(directory / f"{tid}.ckpt.h5", "w") as f:  # its checkpoint (never a result)
                f.attrs["format"] = "attnlab-checkpoint"
                f.attrs["format_version"] = np.int64(1)
                f.attrs["epoch"] = np.int64(1)
                f.create_dataset("params/w", data=np.zeros(3, dtype=np.float32))
        index_rows.append({"id": tid, **params, "status": "running" if tid == late else trials[tid]["status"],
                           "finals": {} if tid == late else trials[tid]["finals"],
                           "file": f"{tid}.h5" if trials[tid]["status"] != "running" and tid != late else ""})
    finals_keys = sorted({k for t in trials.values() for k in t["finals"]})
    if with_index:
        idx = write_index(directory, index_rows, params_keys, finals_keys)
        os.utime(idx, (now, now))
    for tid, t in trials.items():  # every file older than the index, except the late one
        stamp = now + 10 if tid == late else now - 10
        os.utime(t["file"], (stamp, stamp))
    write_ledger(directory, ledger, torn="2026-11-24T08:32:00.000Z\tdeadbeef")
    if with_sweep_yaml:
        (directory / "sweep.yaml").write_text(
            "include: presets/seed.yaml\nname: fake-ablation\nsweep:\n  grid:\n"
            "    model.attention.type: [none, seed_self]\n  seeds: [1, 2, 3, 4]\n", encoding="utf-8")
    done = [tid for tid, t in trials.items() if t["status"] == "done"]
    failed = next(tid for tid, t in trials.items() if t["status"] == "failed")
    running = next(tid for tid, t in trials.items() if t["status"] == "running")
    return {"trials": trials, "done": done, "failed": failed, "running": running, "late": late,
            "params": params_keys, "finals": finals_keys, "dir": directory}


def make_grid_sweep(directory, embeddings=(16, 32), variants=("none", "seed_self"), seeds=(1, 2)):
    """A complete 2 x 2 grid x 2 seeds sweep (for --rows/--cols): test/accuracy =
    0.5 + 0.1 * variant index + 0.001 * embedding + 0.01 * seed."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    keys = ["model.attention.type", "model.embedding", "train.seed"]
    rows, out = [], {}
    for vi, v in enumerate(variants):
        for emb in embeddings:
            for s in seeds:
                params = {"model.attention.type": v, "model.embedding": emb, "train.seed": s}
                tid = trial_id(params)
                acc = round(0.5 + 0.1 * vi + 0.001 * emb + 0.01 * s, 6)
                write_trial(directory, tid, config=config_yaml(params), epochs=[1, 2],
                            curves={("valid", "accuracy"): [acc - 0.05, acc]},
                            finals={("test", "accuracy"): acc, ("test", "loss"): round(1 - acc, 6)})
                rows.append({"id": tid, "status": "done", **params, "file": f"{tid}.h5",
                             "finals": {"test/accuracy": acc, "test/loss": round(1 - acc, 6)}})
                out[tid] = {"params": params, "acc": acc}
    write_index(directory, rows, keys, ["test/accuracy", "test/loss"])
    return out


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: fake_sweep.py OUT_DIR")
    info = make_sweep(sys.argv[1])
    print(f"wrote {len(info['trials'])} trials to {info['dir']}")
