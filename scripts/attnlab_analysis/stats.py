"""Ablation tables: a final metric of a sweep, mean ± std over seeds per variant, the best variant
per column, and a paired test of each variant against a baseline over matched seeds.

    tab = ablation(load_sweep("runs/abl"), "test/accuracy", rows=["model.attention.type"],
                   baseline="none")
    tab.cells      # one row per (row variant, column value): mean, std, n, seeds, values, p, best...
    render(tab, "markdown" | "csv" | "latex" | "html")
"""
from __future__ import annotations

import html
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import AnalysisError
from .load import SEED_KEY, final_columns, format_value, param_columns

# For sweeps whose index does not record directions (older files): a metric whose last name
# component is one of these is better when lower. Newer indexes carry the metric table's answer.
LOWER_IS_BETTER = ("loss", "logloss", "rmse", "mae", "mse")
ALPHA = 0.05
SIG_MARK = "†"


def lower_is_better(metric: str, df: pd.DataFrame | None = None) -> bool:
    """Whether `metric` (a final column: test/logloss, test/click.rmse, test/hr@10...) improves
    downwards: as the sweep's index records it from attnlab's metric table (`attnlab plugins
    metric`), else by its last name component (loss, logloss, rmse, mae, mse)."""
    recorded = (df.attrs.get("lower_is_better") or {}) if df is not None else {}
    if metric in recorded:
        return bool(recorded[metric])
    name = metric.rsplit("/", 1)[-1].rsplit(".", 1)[-1].split("@", 1)[0]
    return name in LOWER_IS_BETTER


def default_metric(df: pd.DataFrame) -> str:
    finals = final_columns(df)
    if not finals:
        raise AnalysisError("the sweep has no final metrics (no /final/<split>/<metric> in any finished trial)")
    tests = [c for c in finals if c.startswith("test/")]
    return (tests or finals)[0]


def check_metric(df: pd.DataFrame, metric: str) -> str:
    finals = final_columns(df)
    if metric in finals:
        return metric
    if "/" not in metric:  # "accuracy" -> test/accuracy when unique enough
        for split in ("test", "valid"):
            if f"{split}/{metric}" in finals:
                return f"{split}/{metric}"
    raise AnalysisError(f"no final metric {metric!r}; the sweep has: {', '.join(finals) or '(none)'}")


def check_keys(df: pd.DataFrame, keys: list[str], what: str) -> None:
    params = param_columns(df)
    for k in keys:
        if k not in params:
            raise AnalysisError(f"{what} {k!r} is not a swept key; swept keys: {', '.join(params) or '(none)'}")


def levels(df: pd.DataFrame, key: str) -> int:
    """How many values a swept key takes: over the finished trials, or as many as sweep.yaml plans
    when that is more (a running sweep's layout is the finished sweep's: a key is not dropped from
    the table because only one of its values has finished yet)."""
    planned = (df.attrs.get("planned_levels") or {}).get(key, 0)
    return max(int(df[key].nunique(dropna=False)), int(planned))


def default_rows(df: pd.DataFrame, cols: list[str], seed_key: str = SEED_KEY) -> list[str]:
    """Every swept key but the seed and the column key that takes more than one value (the first
    swept key when none does)."""
    cand = [k for k in param_columns(df) if k != seed_key and k not in cols]
    varying = [k for k in cand if levels(df, k) > 1]
    return varying or cand[:1]


NO_BASELINE = "off"  # --baseline off: no paired tests


def choose_layout(df: pd.DataFrame, rows: list[str] | None, cols: list[str] | None, baseline: str | None,
                  seed_key: str = SEED_KEY) -> tuple[list[str] | None, list[str] | None, str | None]:
    """Rows, columns and baseline for the common case, when the user gave none: with two or more
    varying swept keys (the seed aside), the last one with at most 8 values becomes the columns;
    a row key with a value 'none' (no attention, no pooling, ...) is the baseline when seeds are
    swept, so that each variant is tested against it. Given values are kept; --baseline off
    disables the tests."""
    if baseline == NO_BASELINE:
        baseline_out: str | None = None
    else:
        baseline_out = baseline
    if rows is None and cols is None:
        varying = [k for k in param_columns(df) if k != seed_key and k in df.columns and levels(df, k) > 1]
        if len(varying) >= 2:
            narrow = [k for k in varying if levels(df, k) <= 8]
            if narrow:
                cols = [narrow[-1]]
    if baseline is None and seed_key in param_columns(df):
        keys = rows if rows is not None else default_rows(df, cols or [], seed_key)
        for k in [k for k in keys if k in df.columns]:
            if any(format_value(v) == "none" for v in df[k].dropna().unique()):
                baseline_out = f"{k}=none"
                break
    return rows, cols, baseline_out


@dataclass
class Ablation:
    metric: str
    rows: list[str]
    cols: list[str]
    seed_key: str | None
    baseline: dict[str, str] | None
    test: str
    lower_better: bool
    cells: pd.DataFrame  # see ablation()
    correction: str = "none"  # "holm": p adjusted over the comparisons of each column
    row_labels: list[tuple] = field(default_factory=list)  # row-key values, table order (baselines first)
    col_labels: list[tuple] = field(default_factory=list)  # column-key values ([()] without cols)
    excluded: int = 0  # finished trials left out (failed, or without the metric)
    lacking: list[str] = field(default_factory=list)  # ids of done trials without the metric (left out)


def _parse_baseline(spec: str, rows: list[str], df: pd.DataFrame) -> dict[str, str]:
    """'value' (matched against each row key) or 'key=value[,key=value]'."""
    if "=" in spec:
        out = {}
        for part in spec.split(","):
            k, _, v = part.partition("=")
            k = k.strip()
            if k not in rows:
                raise AnalysisError(f"--baseline {spec!r}: {k!r} is not a row key ({', '.join(rows)})")
            out[k] = v.strip()
        return out
    hits = [k for k in rows if spec in {format_value(v) for v in df[k]}]
    if not hits:
        values = "; ".join(f"{k}: {', '.join(sorted({format_value(v) for v in df[k]}))}" for k in rows)
        raise AnalysisError(f"--baseline {spec!r} is not a value of the row keys ({values})")
    if len(hits) > 1:
        raise AnalysisError(f"--baseline {spec!r} is ambiguous (a value of {', '.join(hits)}): write KEY=VALUE")
    return {hits[0]: spec}


def paired_p(x: list[float], y: list[float], test: str) -> float:
    """Two-sided p of a paired test of x against y (same order = same seed); NaN when undefined
    (fewer than 2 pairs, all differences equal...)."""
    from scipy import stats  # imported here: scipy is slow to import and only needed for tests

    if len(x) < 2:
        return float("nan")
    x_arr, y_arr = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    try:
        with warnings.catch_warnings():  # near-constant differences: scipy warns, p is ~0 or NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            if test == "ttest":
                r = stats.ttest_rel(x_arr, y_arr)
            elif test == "wilcoxon":
                r = stats.wilcoxon(x_arr, y_arr)
            else:
                raise AnalysisError(f"unknown test {test!r} (ttest, wilcoxon)")
    except ValueError:  # wilcoxon with all differences zero
        return float("nan")
    return float(r.pvalue)


def ablation(
    df: pd.DataFrame,
    metric: str | None = None,
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    baseline: str | None = None,
    test: str = "ttest",
    seed_key: str = SEED_KEY,
    correction: str = "none",
) -> Ablation:
    """The ablation table of `metric` over the done trials of a load_sweep frame.

    cells columns: the row keys, the column keys, mean, std (sample std, ddof=1; NaN when n < 2),
    n, seeds (list), values (list, same order), best (bool: best mean of its column; ties all
    best), baseline (bool), pairs (seeds matched with the baseline cell of the same column), p
    (paired test, NaN for the baseline and when pairs < 2), significant (p < 0.05)."""
    metric = check_metric(df, metric) if metric else default_metric(df)
    cols = list(cols or [])
    check_keys(df, cols, "--cols")
    rows = list(rows) if rows else default_rows(df, cols, seed_key)
    check_keys(df, rows, "--rows")
    if test not in ("ttest", "wilcoxon"):
        raise AnalysisError(f"unknown test {test!r} (ttest, wilcoxon)")
    sk = seed_key if seed_key in param_columns(df) and seed_key not in rows + cols else None
    done = df[(df.status == "done") & df[metric].notna()]
    excluded = len(df) - len(done)
    lacking = list(df.id[(df.status == "done") & df[metric].isna()])
    if done.empty:
        raise AnalysisError(f"no done trial has {metric}")
    keys = rows + cols
    grouped: dict[tuple, pd.DataFrame] = {}
    if keys:
        for k, g in done.groupby(keys if len(keys) > 1 else keys[0], sort=False, dropna=False):
            grouped[k if isinstance(k, tuple) else (k,)] = g
    else:
        grouped[()] = done
    recs = []
    for k, g in grouped.items():
        g = g.sort_values(sk) if sk else g
        vals = [float(v) for v in g[metric]]
        rec: dict[str, Any] = dict(zip(keys, k))
        rec.update(
            mean=float(np.mean(vals)),
            std=float(np.std(vals, ddof=1)) if len(vals) > 1 else float("nan"),
            n=len(vals),
            seeds=list(g[sk]) if sk else [],
            values=vals,
            ids=list(g.id),
        )
        recs.append(rec)
    cells = pd.DataFrame(recs)
    row_labels = list(dict.fromkeys(tuple(r[k] for k in rows) for r in recs))
    col_labels = list(dict.fromkeys(tuple(r[k] for k in cols) for r in recs))
    row_labels.sort(key=lambda t: tuple(_sort_key(v) for v in t))
    col_labels.sort(key=lambda t: tuple(_sort_key(v) for v in t))

    lower = lower_is_better(metric, df)
    col_of = [tuple(r[k] for k in cols) for r in recs]
    cells["best"] = False
    for c in col_labels:
        idx = [i for i, cl in enumerate(col_of) if cl == c]
        means = cells.loc[idx, "mean"]
        target = means.min() if lower else means.max()
        cells.loc[[i for i in idx if cells.at[i, "mean"] == target], "best"] = True

    cells["baseline"] = False
    cells["pairs"] = 0
    cells["p"] = float("nan")
    base = None
    if baseline is not None:
        if not rows:
            raise AnalysisError("--baseline needs row keys")
        if sk is None:
            raise AnalysisError(f"--baseline: a paired test matches trials by {seed_key}, which is not swept here")
        base = _parse_baseline(baseline, rows, df)
        is_base = [all(format_value(r[k]) == v for k, v in base.items()) for r in recs]
        if not any(is_base):
            raise AnalysisError(f"--baseline {baseline!r}: no done trial has it")
        # Row keys the baseline does not name group the rows: each row is tested against the baseline
        # of its group (--baseline none over extractor x attention: each extractor's 'none' row).
        others = [k for k in rows if k not in base]
        group_of = [tuple(format_value(r[k]) for k in others) for r in recs]
        for c in col_labels:
            idx = [i for i, cl in enumerate(col_of) if cl == c]
            bidx = {}
            for i in idx:
                if is_base[i]:
                    bidx.setdefault(group_of[i], i)
            for b in bidx.values():
                cells.at[b, "baseline"] = True
            for i in idx:
                b = bidx.get(group_of[i])
                if b is None or i == b:
                    continue
                bmap = dict(zip(recs[b]["seeds"], recs[b]["values"]))
                common = [s for s in recs[i]["seeds"] if s in bmap]
                vmap = dict(zip(recs[i]["seeds"], recs[i]["values"]))
                cells.at[i, "pairs"] = len(common)
                cells.at[i, "p"] = paired_p([vmap[s] for s in common], [bmap[s] for s in common], test)
    cells["p_raw"] = cells["p"]
    if correction not in ("none", "holm"):
        raise AnalysisError(f"unknown correction {correction!r} (none, holm)")
    if correction == "holm" and base is not None:
        for c in col_labels:
            idx = [i for i, cl in enumerate(col_of) if cl == c and not math.isnan(cells.at[i, "p"])]
            for i, p in zip(idx, holm([cells.at[i, "p"] for i in idx])):
                cells.at[i, "p"] = p
    cells["significant"] = cells["p"] < ALPHA
    if base is not None:  # the baseline rows first, the others in their order
        is_base_row = {tuple(r[k] for k in rows): all(format_value(r[k]) == v for k, v in base.items()) for r in recs}
        row_labels.sort(key=lambda t: not is_base_row.get(t, False))
    return Ablation(metric, rows, cols, sk, base, test, lower, cells, correction, row_labels, col_labels, excluded, lacking)


def holm(ps: list[float]) -> list[float]:
    """Holm's step-down adjustment of m p-values (Holm 1979): the i-th smallest times (m - i), made
    monotone, at most 1; same order as given."""
    m = len(ps)
    order = sorted(range(m), key=lambda i: ps[i])
    out = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * ps[i]))
        out[i] = running
    return out


def distinct_finals(df: pd.DataFrame, finals: list[str]) -> list[str]:
    """`finals` without the columns that repeat another in every row: "<split>/loss" when the task's
    loss is its log-loss ("<split>/logloss", equal for every trial), so a report shows it once."""
    out = []
    for c in finals:
        split, _, name = c.partition("/")
        twin = f"{split}/logloss"
        if name == "loss" and twin in df.columns:
            a, b = df[c].to_numpy(dtype=float), df[twin].to_numpy(dtype=float)
            same = np.isnan(a) == np.isnan(b)
            same &= np.isnan(a) | np.isclose(a, b, rtol=1e-9, atol=1e-12)
            if same.all():
                continue
        out.append(c)
    return out


def _sort_key(v: Any) -> tuple:
    if isinstance(v, (int, float, np.integer, np.floating)) and not (isinstance(v, float) and math.isnan(v)):
        return (0, float(v), "")
    return (1, 0.0, str(v))


# ---- rendering -----------------------------------------------------------------------------------
# Every renderer takes one Ablation or a list of them (several metrics over the same rows: the
# columns are then each metric's columns side by side, each marked against its own direction).


def _tabs(tab) -> list[Ablation]:
    tabs = list(tab) if isinstance(tab, (list, tuple)) else [tab]
    if not tabs:
        raise AnalysisError("nothing to tabulate")
    if any(t.rows != tabs[0].rows for t in tabs):
        raise AnalysisError("tables with different row keys cannot be shown side by side")
    return tabs


def _row_labels(tabs: list[Ablation]) -> list[tuple]:
    labels = list(dict.fromkeys(r for t in tabs for r in t.row_labels))
    base = {r for t in tabs if t.baseline for r in t.row_labels
            if all(format_value(dict(zip(t.rows, r))[k]) == v for k, v in t.baseline.items())}
    labels.sort(key=lambda t: (t not in base, tuple(_sort_key(v) for v in t)))
    return labels


def _columns(tabs: list[Ablation]) -> list[tuple[Ablation, tuple, str]]:
    out = []
    for t in tabs:
        for c in t.col_labels:
            ctitle = ", ".join(f"{k}={format_value(v)}" for k, v in zip(t.cols, c))
            if len(tabs) == 1:
                title = ctitle or t.metric
            else:
                title = f"{t.metric} {'↓' if t.lower_better else '↑'}" + (f" · {ctitle}" if ctitle else "")
            out.append((t, c, title))
    return out


def _cell(tab: Ablation, row: tuple, col: tuple) -> pd.Series | None:
    c = tab.cells
    mask = np.ones(len(c), dtype=bool)
    for k, v in zip(tab.rows + tab.cols, row + col):
        mask &= (c[k] == v).to_numpy()
    hit = c[mask]
    return hit.iloc[0] if len(hit) else None


def _num(x: float, digits: int) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def _p(p: float) -> str:
    if math.isnan(p):
        return "n/a"
    return "<1e-4" if p < 1e-4 else f"{p:.3g}"


def _legend(tabs: list[Ablation]) -> str:
    t = tabs[0]
    if len(tabs) == 1:
        text = f"{t.metric} ({'lower' if t.lower_better else 'higher'} is better): "
    else:
        text = "↑ higher is better, ↓ lower is better: "
    over = f"over {t.seed_key}" if t.seed_key else "over trials"
    text += f"mean ± std {over}, n = trials; best per column marked."
    if t.baseline:
        name = "paired t-test" if t.test == "ttest" else "Wilcoxon signed-rank test"
        base = ", ".join(f"{k}={v}" for k, v in t.baseline.items())
        text += f" p: two-sided {name} against {base} on matched {t.seed_key}"
        if t.correction == "holm":
            text += ", Holm-adjusted over the comparisons of each column"
        text += f"; {SIG_MARK} p < {ALPHA}."
        pairs = [int(c.pairs) for x in tabs for _, c in x.cells.iterrows() if not c.baseline and c.pairs]
        if pairs and min(pairs) < 5:
            text += (f" Caveat: {min(pairs)} matched pair(s) at the least; with fewer than 5 a test has little power "
                     "and its p-values are only indicative (more seeds help).")
    failed = max(x.excluded - len(x.lacking) for x in tabs)
    if failed:
        text += f" {failed} finished trial(s) without the metric (failed) left out."
    for x in tabs:  # a done trial without a figure the others have: say so, never drop it silently
        if x.lacking:
            ids = ", ".join(x.lacking[:5]) + (f", ... ({len(x.lacking) - 5} more)" if len(x.lacking) > 5 else "")
            text += f" {len(x.lacking)} done trial(s) without {x.metric} left out of its cells: {ids}."
    return text


def _annotation(tab: Ablation, cell: pd.Series) -> tuple[str, bool]:
    """'n=3, p=0.012' and whether it is significant."""
    parts = [f"n={cell.n}"]
    if tab.baseline:
        if cell.baseline:
            parts.append("baseline")
        elif cell.pairs:
            parts.append(f"p{_p(cell.p)}" if _p(cell.p).startswith("<") else f"p={_p(cell.p)}")
    return ", ".join(parts), bool(cell.significant)


def _grid(tab, digits: int, bold, sig_mark: str, note_fmt, pm: str = "±", empty: str = "") -> tuple[list[str], list[list[str]], list[Ablation]]:
    """(header, body rows) of the table with cells rendered by the format's helpers."""
    tabs = _tabs(tab)
    rows = tabs[0].rows
    cols = _columns(tabs)
    head = [*rows] or ["trials"]
    head += [title for _, _, title in cols]
    body = []
    for r in _row_labels(tabs):
        out = [format_value(v) for v in r] or ["all"]
        for t, c, _ in cols:
            cell = _cell(t, r, c)
            if cell is None:
                out.append(empty)
                continue
            value = f"{_num(cell['mean'], digits)} {pm} {_num(cell['std'], digits)}"
            if cell.best:
                value = bold(value)
            note, sig = _annotation(t, cell)
            out.append(f"{value} {note_fmt(note)}{sig_mark if sig else ''}")
        body.append(out)
    return head, body, tabs


def _md_escape(s: str) -> str:
    return s.replace("|", "\\|")


def to_markdown(tab, digits: int = 4) -> str:
    head, body, tabs = _grid(tab, digits, lambda v: f"**{v}**", " " + SIG_MARK, lambda n: f"({n})")
    nrow = max(1, len(tabs[0].rows))
    lines = ["| " + " | ".join(_md_escape(h) for h in head) + " |", "|" + "|".join(["---"] * len(head)) + "|"]
    for r in body:
        lines.append("| " + " | ".join([_md_escape(x) for x in r[:nrow]] + r[nrow:]) + " |")
    return "\n".join(lines) + "\n\n" + _legend(tabs) + "\n"


def to_csv(tab) -> str:
    """One line per cell: the row and column keys, metric, mean, std, n, best ('*' or ''), p,
    significant ('†' or ''), baseline (1/0), seeds and values (';'-separated, same order)."""
    frames = []
    for t in _tabs(tab):
        c = t.cells
        out = pd.DataFrame({k: [format_value(v) for v in c[k]] for k in t.rows + t.cols})
        out["metric"] = t.metric
        out["mean"] = c["mean"]
        out["std"] = c["std"]
        out["n"] = c["n"]
        out["best"] = ["*" if b else "" for b in c.best]
        out["p"] = c["p"]
        out["significant"] = [SIG_MARK if s else "" for s in c.significant]
        out["baseline"] = c["baseline"].astype(int)
        out["seeds"] = [";".join(format_value(s) for s in ss) for ss in c.seeds]
        out["values"] = [";".join(repr(v) for v in vs) for vs in c["values"]]
        order = {r: i for i, r in enumerate(t.row_labels)}
        corder = {r: i for i, r in enumerate(t.col_labels)}
        key = [(order[tuple(row[k] for k in t.rows)], corder[tuple(row[k] for k in t.cols)]) for _, row in c.iterrows()]
        frames.append(out.iloc[sorted(range(len(out)), key=lambda i: key[i])])
    return pd.concat(frames, ignore_index=True).to_csv(index=False, float_format="%.10g")


_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_", "{": r"\{", "}": r"\}",
          "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "↑": r"$\uparrow$", "↓": r"$\downarrow$", "±": r"$\pm$",
          SIG_MARK: r"$^\dagger$"}


def latex_escape(s: str) -> str:
    return "".join(_LATEX.get(ch, ch) for ch in s)


def to_latex(tab, digits: int = 4) -> str:
    head, body, tabs = _grid(tab, digits, lambda v: f"\\textbf{{{v}}}", "$^\\dagger$", lambda n: f"{{\\scriptsize ({n})}}", pm="$\\pm$")
    nrow = max(1, len(tabs[0].rows))
    lines = [
        "% requires \\usepackage{booktabs}",
        "% " + latex_escape(_legend(tabs)),
        "\\begin{tabular}{" + "l" * nrow + "c" * (len(head) - nrow) + "}",
        "\\toprule",
        " & ".join(latex_escape(h) for h in head) + " \\\\",
        "\\midrule",
    ]
    for r in body:
        lines.append(" & ".join([latex_escape(x) for x in r[:nrow]] + r[nrow:]) + " \\\\")
    lines += ["\\bottomrule", "\\end{tabular}"]
    return "\n".join(lines) + "\n"


def to_html(tab, digits: int = 4) -> str:
    e = html.escape
    head, body, tabs = _grid(tab, digits, lambda v: f"<b>{v}</b>", " " + SIG_MARK, lambda n: f"<small>({e(n)})</small>")
    nrow = max(1, len(tabs[0].rows))
    lines = ['<table class="ablation">', "<thead><tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr></thead>", "<tbody>"]
    for r in body:
        lines.append("<tr>" + "".join(f"<th>{e(x)}</th>" for x in r[:nrow]) + "".join(f"<td>{x}</td>" for x in r[nrow:]) + "</tr>")
    lines += ["</tbody>", "</table>", f'<p class="legend">{e(_legend(tabs))}</p>']
    return "\n".join(lines) + "\n"


def render(tab, fmt: str, digits: int = 4) -> str:
    """tab: one Ablation or a list (several metrics over the same rows)."""
    if fmt == "markdown":
        return to_markdown(tab, digits)
    if fmt == "csv":
        return to_csv(tab)
    if fmt == "latex":
        return to_latex(tab, digits)
    if fmt == "html":
        return to_html(tab, digits)
    raise AnalysisError(f"unknown format {fmt!r} (markdown, csv, latex, html)")
