"""Attention weights on the probe samples: heatmaps, and precision@k against the planted truth.

Weights (/attention/<layer>/epoch_<e>) come in three shapes, P = probe samples, T = positions:
    [P, T]        attention that pools (one weight per position)
    [P, T, T]     self-attention, query x key
    [P, H, T, T]  multi-head self-attention
Positions are padded coordinates: column t is /attention/probe/ids[p, t] (or inputs[p, t, :]);
mask[p, t] = 1 marks real positions. truth/truth_offsets give the planted informative positions
of each probe sample (generated data only).

Key scores (what precision@k ranks). For [P, T] the weights themselves. For [P, T, T] the attention
each key RECEIVES, averaged over the real queries (query="mean", the default: "which positions
does the layer read from", independent of where the sequence ends), or the row of the last real
query (query="last": what the final position, the one a next-item model predicts from, attends to).
For [P, H, T, T] the heads are averaged first, then the same. Padded keys never count.

precision@k of probe p: the fraction of its k highest-scoring real keys that are truth positions;
k = its number of truth positions by default (then precision@k = recall@k). Ties go to the earlier
position. Probes without truth positions are left out. A trial's value is the mean over probes.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .load import SEED_KEY, Trial, format_value, load_trial, param_columns, sweep_of, trial_file

QUERY_MODES = ("mean", "last")
PRECISION_COLUMNS = ["trial", "layer", "epoch", "shape", "probes", "precision"]


def key_scores(weights: np.ndarray, mask: np.ndarray | None = None, query: str = "mean") -> np.ndarray:
    """[P, T] score of each key (see the module comment); -inf at padded keys."""
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim not in (2, 3, 4):
        raise AnalysisError(f"attention weights of shape {list(w.shape)}: expected [P,T], [P,T,T] or [P,H,T,T]")
    if query not in QUERY_MODES:
        raise AnalysisError(f"unknown query mode {query!r} ({', '.join(QUERY_MODES)})")
    p, t = w.shape[0], w.shape[-1]
    m = np.ones((p, t), dtype=bool) if mask is None else np.asarray(mask) > 0
    if m.shape != (p, t):
        raise AnalysisError(f"attention weights {list(w.shape)} do not fit the probe mask {list(m.shape)}")
    if w.ndim == 4:
        w = w.mean(axis=1)
    if w.ndim == 3:
        if w.shape[1] != t:
            raise AnalysisError(f"self-attention weights {list(w.shape)} are not square")
        out = np.empty((p, t))
        for i in range(p):
            q = np.flatnonzero(m[i])
            if q.size == 0:
                out[i] = 0.0
            elif query == "mean":
                out[i] = w[i, q].mean(axis=0)
            else:
                out[i] = w[i, q[-1]]
        w = out
    return np.where(m, w, -np.inf)


def precision_at_k(scores: np.ndarray, truth: list[np.ndarray], k: int | None = None) -> np.ndarray:
    """[P] precision@k per probe (NaN for a probe without truth), from key_scores()."""
    out = np.full(len(truth), np.nan)
    for p, tr in enumerate(truth):
        tset = {int(x) for x in tr}
        if not tset:
            continue
        s = scores[p]
        valid = np.flatnonzero(np.isfinite(s))
        kk = min(k or len(tset), len(valid))
        if kk == 0:
            continue
        order = valid[np.argsort(-s[valid], kind="stable")]
        out[p] = len(tset.intersection(int(x) for x in order[:kk])) / kk
    return out


def fits_probe(trial: Trial, weights: np.ndarray) -> bool:
    """Whether the weights' positions are the probe's (an extractor that changes the length, e.g.
    cnn2d over images, attends over its own output positions instead)."""
    m = trial.probe_mask()
    return m is not None and weights.shape[0] == m.shape[0] and weights.shape[-1] == m.shape[1]


def resolve_epoch(trial: Trial, layer: str, epoch: int | None) -> int:
    epochs = list(trial.attention[layer])
    if epoch is None:
        return epochs[-1]
    if epoch not in trial.attention[layer]:
        raise AnalysisError(f"{trial.path}: layer {layer!r} has no epoch {epoch} (epochs: {', '.join(map(str, epochs))})")
    return epoch


def trial_precision(trial: Trial, layers: list[str] | None = None, epoch: int | None = None, k: int | None = None, query: str = "mean") -> pd.DataFrame:
    """One row per attention layer of a trial: trial, layer, epoch, shape, probes (with truth),
    precision (mean over them). Empty when the trial has no truth or no attention; layers without
    weights at `epoch` (when given) or whose positions are not the probe's are left out."""
    truth = trial.truth()
    rows = []
    if truth is not None:
        for layer in layers or list(trial.attention):
            if layer not in trial.attention or (epoch is not None and epoch not in trial.attention[layer]):
                continue
            e = resolve_epoch(trial, layer, epoch)
            w = trial.attention[layer][e]
            if not fits_probe(trial, w):
                continue
            prec = precision_at_k(key_scores(w, trial.probe_mask(), query), truth, k)
            ok = prec[~np.isnan(prec)]
            rows.append((trial.id, layer, e, "x".join(map(str, w.shape)), len(ok), float(ok.mean()) if len(ok) else float("nan")))
    return pd.DataFrame(rows, columns=PRECISION_COLUMNS)


def sweep_precision(sweep, layers: list[str] | None = None, epoch: int | None = None, k: int | None = None, query: str = "mean") -> pd.DataFrame:
    """trial_precision of every done trial of a sweep (path or load_sweep frame), joined with the
    trial's swept keys. Empty when no trial has attention with planted truth."""
    df = sweep_of(sweep)
    params = param_columns(df)
    parts = []
    for _, r in df[df.status == "done"].iterrows():
        f = trial_file(df, r)
        if f is not None:
            parts.append(trial_precision(load_trial(f), layers, epoch, k, query))
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=PRECISION_COLUMNS)
    return out.merge(df[["id", *params]].drop_duplicates("id").rename(columns={"id": "trial"}), on="trial", how="left")


def aggregate_precision(per_trial: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Mean ± std (ddof=1) of the trials' precision per variant (keys) and layer; n = trials."""
    by = [*keys, "layer"]
    if per_trial.empty:
        return pd.DataFrame(columns=[*by, "epoch", "mean", "std", "n"])
    g = per_trial.groupby(by, sort=True, dropna=False)
    out = g["precision"].agg(["mean", "std", "count"]).rename(columns={"count": "n"}).reset_index()
    out.insert(len(by), "epoch", g["epoch"].max().to_numpy())
    return out


def precision_table(agg: pd.DataFrame, keys: list[str], fmt: str = "markdown", digits: int = 3, k: int | None = None, query: str = "mean") -> str:
    kk = f"k={k}" if k else "k = truth positions per probe"
    legend = (f"attention precision@k against the planted truth ({kk}; keys scored by the attention they receive, "
              f"{'averaged over queries and heads' if query == 'mean' else 'from the last query, heads averaged'}): "
              "mean ± std over trials, n = trials, at each trial's last epoch unless --epoch.")
    if fmt == "csv":
        out = agg.copy()
        for c in keys:
            out[c] = [format_value(v) for v in out[c]]
        return out.to_csv(index=False, float_format="%.10g")
    if fmt != "markdown":
        raise AnalysisError(f"unknown format {fmt!r} (markdown, csv)")
    head = [*keys, "layer", "epoch", "precision@k", "n"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for _, d in agg.iterrows():
        vals = [format_value(d[c]) for c in keys]
        std = "–" if math.isnan(d["std"]) else f"{d['std']:.{digits}f}"
        lines.append("| " + " | ".join([*vals, str(d["layer"]), str(d["epoch"]), f"{d['mean']:.{digits}f} ± {std}", str(d["n"])]) + " |")
    return "\n".join(lines) + "\n\n" + legend + "\n"


def plot_precision_bars(agg: pd.DataFrame, keys: list[str], title: str = "attention precision@k"):
    """Bars per variant (mean, ±std error bars), one bar colour per layer."""
    from .plots import pyplot

    plt = pyplot()
    labels = list(dict.fromkeys(", ".join(format_value(v) for v in row) or "all" for row in agg[keys].itertuples(index=False))) if keys else ["all"]
    layers = list(dict.fromkeys(agg.layer))
    fig, ax = plt.subplots(figsize=(min(14.0, max(4.0, 0.9 * len(labels) * max(1, len(layers)) + 2.5)), 4.2))
    width = min(0.8 / max(1, len(layers)), 0.5)
    x = np.arange(len(labels))
    for j, layer in enumerate(layers):
        a = agg[agg.layer == layer]
        lab = [", ".join(format_value(v) for v in row) or "all" for row in a[keys].itertuples(index=False)] if keys else ["all"] * len(a)
        pos = [labels.index(s) for s in lab]
        ax.bar(x[pos] + (j - (len(layers) - 1) / 2) * width, a["mean"], width, yerr=a["std"].fillna(0.0), capsize=3, label=layer)
    ax.set_xticks(x)
    ax.set_xlim(-0.7, len(labels) - 0.3)
    ax.set_xticklabels(labels, rotation=20 if len(labels) > 4 else 0, ha="right" if len(labels) > 4 else "center")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("precision@k")
    ax.set_xlabel(", ".join(keys))
    ax.set_title(title)
    ax.grid(True, axis="y", alpha=0.3)
    if len(layers) > 1 or layers[:1] != [""]:
        ax.legend(title="layer", fontsize="small")
    return fig


def token_name(trial: Trial, token_id: int) -> str:
    """What a token id stands for (the word, the file's item id) when the trial stored its vocabulary
    (/data/tokens), else the id itself."""
    tokens = (trial.data or {}).get("tokens") or []
    return str(tokens[token_id]) if 0 <= token_id < len(tokens) else str(token_id)


def heatmap_data(trial: Trial, weights: np.ndarray, p: int, query: str = "mean"):
    """(matrix, x labels, y labels, truth columns) of probe p: real positions only; rows are the
    single pooling row, the queries ([P,T,T]) or the heads ([P,H,T,T], key scores per head)."""
    fits = fits_probe(trial, weights)
    t = weights.shape[-1]
    mask = trial.probe_mask()
    valid = np.flatnonzero(mask[p]) if fits else np.arange(t)
    ids = trial.probe.get("ids")
    if fits and ids is not None and ids.ndim == 2:
        names = [token_name(trial, int(x)) for x in ids[p, valid]]
    else:
        names = [str(int(x)) for x in valid]
    truth = trial.truth() if fits else None
    tset = {int(x) for x in truth[p]} if truth is not None and p < len(truth) else set()
    tcols = [j for j, pos in enumerate(valid) if int(pos) in tset]
    w = np.asarray(weights, dtype=np.float64)[p]
    if w.ndim == 1:
        return w[valid][None, :], names, [""], tcols
    if w.ndim == 2:
        return w[np.ix_(valid, valid)], names, names, tcols
    heads = []
    for h in range(w.shape[0]):
        s = key_scores(w[h][None], (mask[p][None] if fits else None), query)[0]
        heads.append(s[valid])
    return np.array(heads), names, [f"head {h}" for h in range(w.shape[0])], tcols


def _thin(n: int, limit: int = 60) -> int:
    return 1 if n <= limit else math.ceil(n / limit)


def plot_heatmaps(trial: Trial, layer: str, epoch: int | None = None, probes: list[int] | None = None, query: str = "mean"):
    """One heatmap per probe sample (stacked): x = key positions (tick labels: the token ids),
    y = queries / heads / one row; truth positions outlined in red with red tick labels."""
    from matplotlib.patches import Rectangle

    from .plots import pyplot

    plt = pyplot()
    if layer not in trial.attention:
        raise AnalysisError(f"{trial.path}: no attention layer {layer!r} (layers: {', '.join(trial.attention) or 'none'})")
    e = resolve_epoch(trial, layer, epoch)
    w = trial.attention[layer][e]
    n_probe = w.shape[0]
    probes = probes if probes is not None else list(range(min(3, n_probe)))
    bad = [p for p in probes if not 0 <= p < n_probe]
    if bad:
        raise AnalysisError(f"probe {bad[0]} out of range: the probe has {n_probe} samples")
    data = [heatmap_data(trial, w, p, query) for p in probes]
    widest = max(d[0].shape[1] for d in data)
    heights = [0.9 + (0.35 if d[0].shape[0] == 1 else min(0.22 * d[0].shape[0], 6.0)) for d in data]
    fig, axes = plt.subplots(len(data), 1, figsize=(min(18.0, max(6.0, 0.28 * widest + 2.5)), sum(heights) + 0.8),
                             gridspec_kw={"height_ratios": heights}, squeeze=False)
    rows = trial.probe.get("rows")
    kind = {2: "pooling [P,T]", 3: "self-attention [P,T,T]: query x key", 4: f"{w.shape[1]} heads [P,H,T,T]: head x key ({query} query)"}[w.ndim]
    for ax, p, (mat, xs, ys, tcols) in zip(axes[:, 0], probes, data):
        im = ax.imshow(mat, aspect="auto", cmap="viridis", interpolation="nearest", vmin=0.0)
        step = _thin(len(xs))
        ax.set_xticks(range(0, len(xs), step))
        ax.set_xticklabels(xs[::step], rotation=90 if len(xs) > 20 else 0, fontsize=7)
        if ys == [""]:
            ax.set_yticks([])
        else:
            ystep = _thin(len(ys), 40)
            ax.set_yticks(range(0, len(ys), ystep))
            ax.set_yticklabels(ys[::ystep], fontsize=7)
        for j in tcols:
            ax.add_patch(Rectangle((j - 0.5, -0.5), 1, mat.shape[0], fill=False, edgecolor="red", linewidth=1.8))
        for lab in ax.get_xticklabels():
            try:
                if xs.index(lab.get_text()) in tcols:
                    lab.set_color("red")
                    lab.set_fontweight("bold")
            except ValueError:
                pass
        example = f" (example {int(rows[p])})" if rows is not None and p < len(rows) else ""
        ax.set_title(f"probe {p}{example}" + (" · truth in red" if tcols else ""), fontsize=9)
        fig.colorbar(im, ax=ax, fraction=0.025, pad=0.01)
    fig.suptitle(f"trial {trial.id} · layer {layer} · epoch {e} · {kind}", fontsize=10)
    fig.tight_layout()
    return fig


def representative_trials(df: pd.DataFrame, seed_key: str = SEED_KEY) -> list[str]:
    """One done trial per variant (swept keys but the seed): the one with the smallest seed."""
    params = [p for p in param_columns(df) if p != seed_key]
    done = df[df.status == "done"]
    if seed_key in done.columns:
        done = done.sort_values(seed_key, kind="stable")
    if not params:
        return list(done.id[:1])
    return list(done.drop_duplicates(params).id)
