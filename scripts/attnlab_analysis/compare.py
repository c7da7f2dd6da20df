"""Two trials or two sweeps side by side: each final metric of A and B, delta = B − A and relative
delta = 100 · (B − A) / |A| (NaN when A is 0).

Sweeps are matched on their common swept keys except the seed: each variant's metric is the mean
over its done trials (n shown), and variants present in one sweep only are kept with NaN on the
other side. per_seed=True matches on the seed too (trial by trial).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .load import SEED_KEY, Trial, canonical, final_columns, flatten, format_value, param_columns


def _rel(a: float, b: float) -> float:
    if a is None or b is None or math.isnan(a) or math.isnan(b) or a == 0:
        return float("nan")
    return 100.0 * (b - a) / abs(a)


def _resolve(requested: list[str] | None, names: list[str], what: str) -> list[str]:
    """Requested metrics among `names`: '<split>/<metric>' as is; a bare name is test/<name>, else
    valid/<name> (as in summarize)."""
    if not requested:
        return names
    out = []
    for m in requested:
        hit = m if m in names else next((f"{s}/{m}" for s in ("test", "valid") if "/" not in m and f"{s}/{m}" in names), None)
        if hit is None:
            raise AnalysisError(f"no final metric {m!r} in either {what}; they have: {', '.join(names) or '(none)'}")
        out.append(hit)
    return list(dict.fromkeys(out))


def compare_trials(a: Trial, b: Trial, metrics: list[str] | None = None) -> pd.DataFrame:
    """metric ("test/accuracy"), A, B, delta, rel_pct over the union of both trials' finals."""
    fa, fb = a.finals_dict(), b.finals_dict()
    names = _resolve(metrics, sorted(set(fa) | set(fb)), "trial")
    rows = []
    for m in names:
        va, vb = fa.get(m, float("nan")), fb.get(m, float("nan"))
        rows.append((m, va, vb, vb - va, _rel(va, vb)))
    return pd.DataFrame(rows, columns=["metric", "A", "B", "delta", "rel_pct"])


def config_diff(a: Trial, b: Trial) -> list[tuple[str, str, str]]:
    """(dotted key, A's value, B's value) for every config leaf that differs (canonical text;
    '' when absent). Empty when either config could not be parsed."""
    if a.config is None or b.config is None:
        return []
    fa, fb = flatten(a.config), flatten(b.config)
    keys = list(dict.fromkeys([*fa, *fb]))
    out = []
    for k in keys:
        va = canonical(fa[k]) if k in fa else ""
        vb = canonical(fb[k]) if k in fb else ""
        if va != vb:
            out.append((k, va, vb))
    return out


def compare_sweeps(a: pd.DataFrame, b: pd.DataFrame, metrics: list[str] | None = None, per_seed: bool = False, seed_key: str = SEED_KEY) -> tuple[pd.DataFrame, list[str]]:
    """(table, match keys). Table columns: the match keys, metric, A, n_A, B, n_B, delta, rel_pct;
    one row per (variant, metric) in either sweep (metrics: both sweeps' finals, or `metrics`)."""
    pa, pb = param_columns(a), param_columns(b)
    keys = [k for k in pa if k in pb and (per_seed or k != seed_key)]
    names = _resolve(metrics, sorted(set(final_columns(a)) | set(final_columns(b))), "sweep")

    def agg(df: pd.DataFrame) -> pd.DataFrame:
        done = df[df.status == "done"].copy()
        for k in keys:  # match on text so 64 and 64.0, or a number and its text, meet
            done[k] = [format_value(v) for v in done[k]]
        long = done.melt(id_vars=keys, value_vars=[m for m in names if m in done.columns], var_name="metric", value_name="v")
        long = long.dropna(subset=["v"])
        if keys:
            g = long.groupby([*keys, "metric"], sort=False)
        else:
            g = long.groupby("metric", sort=False)
        return g["v"].agg(["mean", "count"]).reset_index()

    ga, gb = agg(a), agg(b)
    on = [*keys, "metric"]
    m = ga.merge(gb, on=on, how="outer", suffixes=("_A", "_B"))
    m = m.rename(columns={"mean_A": "A", "mean_B": "B", "count_A": "n_A", "count_B": "n_B"})
    for c in ("n_A", "n_B"):
        m[c] = m[c].fillna(0).astype(int)
    m["delta"] = m["B"] - m["A"]
    m["rel_pct"] = [_rel(x, y) for x, y in zip(m["A"], m["B"])]
    m = m.sort_values(on, kind="stable").reset_index(drop=True)
    return m[[*on, "A", "n_A", "B", "n_B", "delta", "rel_pct"]], keys


def _f(x, digits: int) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _signed(x, digits: int, suffix: str = "") -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:+.{digits}f}{suffix}"


def to_markdown(table: pd.DataFrame, keys: list[str], name_a: str, name_b: str, digits: int = 4) -> str:
    counts = "n_A" in table.columns
    head = [*keys, "metric", f"A: {name_a}", f"B: {name_b}", "Δ (B − A)", "Δ %"]
    lines = ["| " + " | ".join(h.replace("|", "\\|") for h in head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for _, r in table.iterrows():
        a = _f(r["A"], digits) + (f" (n={r['n_A']})" if counts else "")
        b = _f(r["B"], digits) + (f" (n={r['n_B']})" if counts else "")
        vals = [format_value(r[k]) for k in keys] + [r["metric"], a, b, _signed(r["delta"], digits), _signed(r["rel_pct"], 2, "%")]
        lines.append("| " + " | ".join(str(v).replace("|", "\\|") for v in vals) + " |")
    return "\n".join(lines) + "\n"


def to_csv(table: pd.DataFrame) -> str:
    return table.to_csv(index=False, float_format="%.10g")


def mean_delta(table: pd.DataFrame, metric: str) -> float:
    """Mean of the deltas of one metric over the matched variants (for a one-line summary)."""
    d = table[(table.metric == metric)]["delta"].dropna()
    return float(np.mean(d)) if len(d) else float("nan")
