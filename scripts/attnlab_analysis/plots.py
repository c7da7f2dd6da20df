"""Figures: learning curves (per trial, or mean ± std band per group of trials) and the helpers to
save figures (PNG + SVG) or embed them in HTML. matplotlib runs headless (Agg backend)."""
from __future__ import annotations

import base64
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .load import SEED_KEY, format_value


def pyplot():
    """matplotlib.pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, prefix: str | Path, formats=("png", "svg"), dpi: int = 120) -> list[str]:
    """Writes <prefix>.png and <prefix>.svg (creating the directory); returns the paths."""
    prefix = Path(prefix)
    if prefix.parent != Path(""):
        prefix.parent.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in formats:
        path = prefix.parent / f"{prefix.name}.{fmt}"
        fig.savefig(path, format=fmt, dpi=dpi, bbox_inches="tight")
        out.append(str(path))
    pyplot().close(fig)
    return out


def figure_png_base64(fig, dpi: int = 90) -> str:
    """The figure as a data: URI (PNG), for self-contained HTML; closes the figure."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    pyplot().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def variant_label(row, keys: list[str]) -> str:
    """'model.attention.type=seed_self, train.seed=2' ('' without keys)."""
    return ", ".join(f"{k}={format_value(row[k])}" for k in keys)


def available_curves(cv: pd.DataFrame) -> list[str]:
    return sorted({f"{s}/{n}" for s, n in zip(cv.split, cv.name)})


def select_curve(cv: pd.DataFrame, split: str, metric: str) -> pd.DataFrame:
    sel = cv[(cv.split == split) & (cv.name == metric)]
    if sel.empty:
        have = ", ".join(available_curves(cv)) or "(none)"
        raise AnalysisError(f"no curve {split}/{metric} in any finished trial; curves: {have}")
    return sel


def group_stats(sel: pd.DataFrame, group: list[str]) -> list[tuple[tuple, pd.DataFrame]]:
    """Per group of trials (sorted by group values): a frame epoch, mean, std (ddof=1, NaN for one
    trial), n (trials with a value at that epoch)."""
    out = []
    groups = sel.groupby(group if len(group) > 1 else group[0], sort=True, dropna=False) if group else [((), sel)]
    for k, g in groups:
        k = k if isinstance(k, tuple) else (k,)
        st = g.groupby("epoch")["value"].agg(["mean", "std", "count"]).reset_index().rename(columns={"count": "n"})
        out.append((k, st))
    return out


def plot_curves(
    cv: pd.DataFrame,
    split: str,
    metric: str,
    group: list[str] | None = None,
    params: list[str] | None = None,
    title: str | None = None,
    ax=None,
):
    """A learning-curve figure from a curves() frame. Without `group`: one line per finished trial
    (failed trials dashed), labelled by its swept keys. With `group` (swept keys): one line per
    group = mean over its done trials per epoch, with a ±std band. Returns the figure."""
    plt = pyplot()
    sel = select_curve(cv, split, metric)
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
    else:
        fig = ax.figure
    params = [p for p in (params or []) if p in sel.columns]
    if group:
        missing = [g for g in group if g not in sel.columns]
        if missing:
            raise AnalysisError(f"--group {', '.join(missing)}: not a swept key; swept keys: {', '.join(params) or '(none)'}")
        done = sel[sel.status == "done"] if "status" in sel.columns else sel
        if done.empty:
            raise AnalysisError(f"no done trial has the curve {split}/{metric}")
        for k, st in group_stats(done, group):
            n = int(done[np.logical_and.reduce([(done[g] == v).to_numpy() for g, v in zip(group, k)])].trial.nunique())
            label = ", ".join(f"{g}={format_value(v)}" for g, v in zip(group, k)) + f" (n={n})"
            (line,) = ax.plot(st.epoch, st["mean"], marker="o", markersize=3, label=label)
            if n > 1:
                std = st["std"].fillna(0.0)
                ax.fill_between(st.epoch, st["mean"] - std, st["mean"] + std, color=line.get_color(), alpha=0.2, linewidth=0)
    else:
        keys = [p for p in params if sel[p].nunique(dropna=False) > 1] or params
        for tid, g in sel.groupby("trial", sort=False):
            g = g.sort_values("epoch")
            first = g.iloc[0]
            label = variant_label(first, keys) or tid
            failed = "status" in g.columns and first.status == "failed"
            ax.plot(g.epoch, g.value, marker="o", markersize=3, linestyle="--" if failed else "-",
                    label=label + (" (failed)" if failed else ""))
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.set_title(title or f"{split}/{metric}")
    ax.grid(True, alpha=0.3)
    epochs = sorted(sel.epoch.unique())
    if len(epochs) <= 20:
        ax.set_xticks(epochs)
    handles, labels = ax.get_legend_handles_labels()
    if labels:
        ncol = 1 if len(labels) <= 12 else math.ceil(len(labels) / 12)
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0), ncol=ncol, frameon=False)
    return fig  # one axes: savefig(bbox_inches="tight") fits the outside legend, no tight_layout needed


def default_group(params: list[str], cv: pd.DataFrame, seed_key: str = SEED_KEY) -> list[str]:
    """The swept keys but the seed that vary among the trials, or in the sweep's plan when `cv` is a
    load_sweep frame of a running sweep (the grouping for mean ± std)."""
    planned = cv.attrs.get("planned_levels") or {}
    return [p for p in params if p != seed_key and p in cv.columns
            and max(cv[p].nunique(dropna=False), planned.get(p, 0)) > 1]
