"""One self-contained HTML page per sweep: what a researcher reads first (data, floors, the best
trial per metric), ablation tables, learning curves, attention (precision table, bar chart,
heatmaps), failed trials, and each trial's config, environment and data protocol in collapsible
<details>. The learning curves are one interactive plotly figure, with plotly.js (from Debian's
python3-plotly) embedded in the page; the other figures are base64 PNG. The page loads nothing from
anywhere (no external script, CSS or font), so it opens offline and can be mailed."""
from __future__ import annotations

import datetime as _dt
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from . import attention as att
from . import plots, stats
from .errors import AnalysisError
from .load import SEED_KEY, Trial, final_columns, format_value, ledger_states, load_trial, param_columns

e = html.escape

CSS = """
.swatch{display:inline-block;width:.8em;height:.8em;border-radius:2px;margin-right:.4em;vertical-align:-1px}
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;margin:24px auto;max-width:1150px;color:#222;line-height:1.4;padding:0 16px}
h1{font-size:1.6em;margin-bottom:0}h2{border-bottom:2px solid #ddd;padding-bottom:4px;margin-top:2em}h3{margin-top:1.4em}
table{border-collapse:collapse;margin:8px 0;font-size:0.9em}th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}
thead th{background:#f0f3f7}tbody th{background:#fafafa;font-weight:normal}td.num{text-align:right;font-variant-numeric:tabular-nums}
.legend,.note{color:#555;font-size:0.85em}.meta{color:#555}.warn{color:#a15c00}.failed{color:#b00020}
pre{background:#f6f8fa;border:1px solid #e1e4e8;padding:8px;overflow-x:auto;font-size:0.85em;max-height:480px}
details{margin:6px 0;border:1px solid #e1e4e8;border-radius:4px;padding:4px 10px}summary{cursor:pointer;font-weight:600}
.figs{display:flex;flex-wrap:wrap;gap:12px}.figs figure{margin:0;flex:1 1 520px}img{max-width:100%;height:auto}
.banner{border:2px solid #a15c00;background:#fff8e6;border-radius:6px;padding:8px 14px;margin:14px 0}
.banner.complete{border-color:#2e7d32;background:#eef8ee}.banner .headline{font-size:1.15em;font-weight:600;margin:2px 0 6px}
figcaption{font-size:0.85em;color:#555}.badge{display:inline-block;padding:1px 7px;border-radius:9px;background:#eef;margin-right:6px;font-size:0.9em}
"""


def _img(fig, alt: str, caption: str = "") -> str:
    uri = plots.figure_png_base64(fig)
    cap = f"<figcaption>{e(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{e(alt)}" src="{uri}">{cap}</figure>'


def _num(v) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (float, np.floating)):
        return f"{v:.4g}" if abs(v) >= 1e4 or (v != 0 and abs(v) < 1e-3) else f"{v:.4f}"
    return e(format_value(v))


def _table(df: pd.DataFrame, numeric: list[str] | None = None, colours: list[str | None] | None = None) -> str:
    """A table; `colours` (one per row, or None) puts a swatch of the row's variant colour before its
    first cell, the colour its curves have."""
    numeric = numeric or []
    head = "".join(f"<th>{e(str(c))}</th>" for c in df.columns)
    body = []
    for i, (_, r) in enumerate(df.iterrows()):
        cells = [f'<td class="num">{_num(r[c])}</td>' if c in numeric else f"<td>{e(format_value(r[c]))}</td>" for c in df.columns]
        if colours and colours[i] and cells:
            cells[0] = cells[0].replace("<td>", f'<td><span class="swatch" style="background:{colours[i]}"></span>', 1)
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _kv(d: dict) -> str:
    if not d:
        return '<p class="note">(none)</p>'
    rows = "".join(f"<tr><th>{e(str(k))}</th><td>{e(str(v))}</td></tr>" for k, v in d.items())
    return f"<table><tbody>{rows}</tbody></table>"


def _fmt_bytes(n) -> str:
    try:
        n = float(n)
    except (TypeError, ValueError):
        return ""
    if n < 0 or math.isnan(n):
        return ""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return ""


def _glance(df: pd.DataFrame, trials: dict, chosen: list[str], params: list[str]) -> str:
    """What a researcher reads first: the data (split sizes, label balance and the majority-class
    baseline of each classification task, per distinct data set), the protocol, and the best trial
    of each reported metric with its configuration."""
    out = ['<h2>At a glance</h2>']
    seen: dict[str, list[str]] = {}  # a data description -> the trials with it
    for tid, t in trials.items():
        d = t.data or {}
        sizes = ", ".join(f"{k} {v:,}" for k, v in sorted(d.get("split_sizes", {}).items(), key=lambda kv: ("train", "valid", "test").index(kv[0]) if kv[0] in ("train", "valid", "test") else 9))
        lines = [f"examples: {sizes}"] if sizes else []
        for task, entry in sorted((d.get("labels") or {}).items()):
            names = entry.get("names") or []
            for split in ("train", "test"):
                counts = entry.get(split)
                if counts is None or int(np.sum(counts)) == 0:
                    continue
                total = int(np.sum(counts))
                share = ", ".join(f"{names[i] if i < len(names) else i} {100 * c / total:.1f}%" for i, c in enumerate(counts))
                lines.append(f"{task} ({split}): {share}")
            test = entry.get("test")
            if test is not None and int(np.sum(test)) > 0:
                top = int(np.argmax(test))
                lines.append(f"{task}: majority class ({names[top] if top < len(names) else top}) scores accuracy "
                             f"{test[top] / np.sum(test):.4f} on test: the floor every model must beat")
        if d.get("protocol"):
            lines.append(f"protocol: {d['protocol']}")
        seen.setdefault("\n".join(lines), []).append(tid)
    for text, ids in list(seen.items())[:4]:
        if not text:
            continue
        who = "" if len(seen) == 1 else f" ({len(ids)} trial{'s' if len(ids) != 1 else ''}, e.g. {ids[0]})"
        out.append(f"<h4>data{e(who)}</h4><ul>" + "".join(f"<li>{e(x)}</li>" for x in text.split("\n")) + "</ul>")
    done = df[df.status == "done"]
    best_rows = []
    for m in chosen:
        if m not in done.columns or done[m].isna().all():
            continue
        lower = stats.lower_is_better(m, df)
        r = done.loc[done[m].idxmin() if lower else done[m].idxmax()]
        config = ", ".join(f"{k}={format_value(r[k])}" for k in params if k in r.index)
        best_rows.append(f"<li><b>{e(m)}</b> {r[m]:.4f} ({'lowest' if lower else 'highest'}): trial {e(r.id)}"
                         f"{': ' + e(config) if config else ''}</li>")
    if best_rows:
        out.append("<h4>best trial per metric</h4><ul>" + "".join(best_rows) + "</ul>")
    return "\n".join(out)


def plotly_js() -> str | None:
    """plotly.js as bundled by python3-plotly (embedded, so the page works offline), or None."""
    try:
        import plotly.offline
    except ImportError:
        return None
    return plotly.offline.get_plotlyjs()


def variant_colours(df: pd.DataFrame, params: list[str], seed_key: str) -> tuple[str | None, list[str], dict[str, str]]:
    """(facet, keys, {variant label: colour}) for the curves and the trials table alike. The swept keys
    that tell variants apart (the seed aside) are the keys; with two or more, the first becomes the
    facet (one panel per level, at most 4) and the others the colours."""
    try:
        from plotly.colors import qualitative
        palette = qualitative.Plotly + qualitative.D3
    except ImportError:
        palette = ["#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880", "#FF97FF", "#FECB52"]
    group = plots.default_group(params, df, seed_key)
    facet = group[0] if len(group) >= 2 and stats.levels(df, group[0]) <= 4 else None
    keys = group[1:] if facet else group
    labels = sorted({variant_of(r, keys) for _, r in df.iterrows()}) if keys else []
    return facet, keys, {lab: palette[i % len(palette)] for i, lab in enumerate(labels)}


def variant_of(row, group: list[str]) -> str:
    return ", ".join(f"{g}={format_value(row[g])}" for g in group)


def _interactive_curves(cv: pd.DataFrame, params: list[str], seed_key: str,
                        layout: tuple[str | None, list[str], dict[str, str]] | None = None) -> str | None:
    """Every learning curve in one interactive plotly figure (hover for values, click the legend to
    hide a variant everywhere, zoom): a panel per curve, mean ± std over seeds per variant of the
    swept keys, each variant in the same colour in every panel, one legend. Curves constant over
    every trial and epoch (a fixed learning rate) get no panel. None without python3-plotly."""
    try:
        import plotly.graph_objects as go
        from plotly.colors import qualitative
        from plotly.subplots import make_subplots
    except ImportError:
        return None
    facet, group, colours = layout if layout is not None else (None, plots.default_group(params, cv, seed_key), {})
    curves = []
    for split, nm in sorted({(a, b) for a, b in zip(cv.split, cv.name)}, key=lambda x: (x[0] != "valid", x)):
        sel = plots.select_curve(cv, split, nm)
        done = sel[sel.status == "done"] if "status" in sel.columns else sel
        values = done.value.to_numpy(dtype=float)
        if done.empty or not np.isfinite(values).any() or np.nanmax(values) == np.nanmin(values):
            continue
        curves.append((split, nm, done))
    # A loss that is the log-loss (classification) gets one panel, as in the tables.
    by_key = {(a, b): d for a, b, d in curves}
    def same(a: pd.DataFrame, b: pd.DataFrame) -> bool:
        m = a.merge(b, on=["trial", "epoch"], suffixes=("", "_2"))
        return len(m) == len(a) == len(b) and np.allclose(m.value, m.value_2, rtol=1e-9, atol=1e-12, equal_nan=True)
    curves = [(a, b, d) for a, b, d in curves if not (b == "loss" and (a, "logloss") in by_key and same(d, by_key[(a, "logloss")]))]
    if not curves:
        return None
    labels = sorted({", ".join(f"{g}={format_value(v)}" for g, v in zip(group, k)) for _, _, d in curves
                     for k, _ in plots.group_stats(d, group)}) if group else []
    palette = qualitative.Plotly + qualitative.D3
    colour = {lab: palette[i % len(palette)] for i, lab in enumerate(labels)}
    colour.update({k: v for k, v in (colours or {}).items() if k in colour})
    # Panels: a curve per row and a facet level per column; without a facet, two curves a row.
    levels = sorted(cv[facet].dropna().unique(), key=lambda v: (str(type(v)), v)) if facet else []
    panels = []  # (title, frame)
    for split, nm, done in curves:
        if facet:
            for lv in levels:
                panels.append((f"{split}/{nm} · {facet}={format_value(lv)}", done[done[facet] == lv]))
        else:
            panels.append((f"{split}/{nm}", done))
    cols = max(1, len(levels)) if facet else (2 if len(panels) > 1 else 1)
    rows = (len(panels) + cols - 1) // cols
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[t for t, _ in panels],
                        horizontal_spacing=0.08, vertical_spacing=min(0.2, 0.9 / rows))
    shown = set()
    for i, (_, done) in enumerate(panels):
        r, c = i // cols + 1, i % cols + 1
        if done.empty:
            continue
        if group:
            for k, st in plots.group_stats(done, group):
                lab = ", ".join(f"{g}={format_value(v)}" for g, v in zip(group, k))
                col = colour[lab]
                std = st["std"].fillna(0.0)
                if st["n"].max() > 1:
                    fig.add_trace(go.Scatter(x=list(st.epoch) + list(st.epoch[::-1]), y=list(st["mean"] + std) + list((st["mean"] - std)[::-1]),
                                             fill="toself", fillcolor=col, opacity=0.18, mode="lines",
                                             line={"width": 0, "color": col}, hoverinfo="skip",
                                             legendgroup=lab, showlegend=False), row=r, col=c)
                fig.add_trace(go.Scatter(x=st.epoch, y=st["mean"], mode="lines+markers", name=lab, legendgroup=lab,
                                         showlegend=lab not in shown, line={"color": col}, marker={"size": 5},
                                         customdata=np.stack([std, st["n"]], axis=1),
                                         hovertemplate=f"{lab}<br>epoch %{{x}}: %{{y:.4f}} ± %{{customdata[0]:.4f}} (n=%{{customdata[1]}})<extra></extra>"),
                              row=r, col=c)
                shown.add(lab)
        else:
            for tid, g in done.groupby("trial", sort=False):
                g = g.sort_values("epoch")
                fig.add_trace(go.Scatter(x=g.epoch, y=g.value, mode="lines+markers", name=tid, legendgroup=tid,
                                         showlegend=tid not in shown, marker={"size": 5}), row=r, col=c)
                shown.add(tid)
    fig.update_layout(height=max(320, 300 * rows), margin={"l": 50, "r": 20, "t": 40, "b": 40}, template="plotly_white",
                      legend={"orientation": "h", "y": -0.08 if rows > 1 else -0.2}, hovermode="closest")
    fig.update_xaxes(title_text="epoch", row=rows)
    fig.update_xaxes(tickformat="d", dtick=1 if cv.epoch.max() <= 12 else None)
    note = f"mean ± std over {e(seed_key)} per {e(', '.join(group))}" if group else "one line per trial"
    if facet:
        note += f", a panel per {e(facet)}"
    return (f'<p class="note">{note}; hover for values, click a legend entry to hide that variant in every panel, '
            f"drag to zoom.</p>" + fig.to_html(full_html=False, include_plotlyjs=False))


def _progress(df: pd.DataFrame) -> str:
    """The banner at the top of the page: how complete the sweep is (N of M trials finished; which
    are running, interrupted, pending, missing), what the index gets wrong, and the ledger's counts.
    Amber for a partial or stale sweep, green for a complete one."""
    sweep_dir = Path(df.attrs.get("sweep_dir", "."))
    c = df.attrs.get("completeness")
    parts = []
    if c is not None:
        of = f"{c.finished} of {c.total} trials finished"
        what = "complete" if c.complete else "PARTIAL sweep" if (c.running or c.interrupted or c.pending) else "INCOMPLETE sweep"
        parts.append(f'<p class="headline">{e(what)}: {e(of)}</p>')
        badges = [("done", len(c.done)), ("failed", len(c.failed)), ("running", len(c.running)),
                  ("interrupted", len(c.interrupted)), ("pending", len(c.pending)), ("missing", len(c.missing))]
        parts.append("<p>" + " ".join(f'<span class="badge">{k} {v}</span>' for k, v in badges if v or k in ("done", "failed"))
                     + ("" if c.listed else ' <span class="note">(sweep.yaml lists no trials: the total counts the '
                        "ledger's and the files')</span>") + "</p>")
        if not c.complete:
            rows = []
            notes = {"running": "no result yet (.h5.tmp or running in the ledger): not shown",
                     "interrupted (resumes on the next run)": "stopped; resumes from its checkpoint on the next run",
                     "pending": "not started"}
            shown = 0
            for state, ids in c.groups():
                for tid in ids:
                    if shown >= 50:
                        break
                    note = f"finished once, but {c.missing[tid]}: no result shown" if state == "missing" else notes[state]
                    rows.append(f"<tr><td>{e(tid)}</td><td>{e(state.split(' ')[0])}</td><td>{e(c.labels.get(tid, ''))}</td>"
                                f"<td>{e(note)}</td></tr>")
                    shown += 1
            left = len(c.running) + len(c.interrupted) + len(c.pending) + len(c.missing) - shown
            parts.append("<table><thead><tr><th>trial</th><th>state</th><th>swept keys</th><th></th></tr></thead><tbody>"
                         + "".join(rows) + "</tbody></table>" + (f'<p class="note">... and {left} more.</p>' if left > 0 else "")
                         + '<p class="note">The tables and figures below show the finished trials only.</p>')
        for x in c.stale:
            parts.append(f'<p class="warn">stale index: {e(x)}</p>')
    states = ledger_states(sweep_dir)
    counts: dict[str, int] = {}
    for st in states.values():
        counts[st] = counts.get(st, 0) + 1
    if counts:
        parts.append(f'<p class="note">ledger: {len(states)} trials — ' + ", ".join(f"{e(k)} {v}" for k, v in sorted(counts.items())) + "</p>")
    klass = "banner complete" if c is None or c.clean else "banner"
    return f'<div class="{klass}" id="completeness">' + "".join(parts) + "</div>"


def _trial_details(t: Trial, row: pd.Series, params: list[str]) -> str:
    label = ", ".join(f"{k}={format_value(row[k])}" for k in params) if params else ""
    status = f'<span class="failed">{e(t.status)}</span>' if t.status == "failed" else e(t.status)
    out = [f"<details><summary>{e(t.id)} — {status}{' — ' + e(label) if label else ''}</summary>"]
    out.append(f'<p class="meta">file: {e(t.path)}; config hash {e(t.config_hash)}</p>')
    if t.status == "failed":
        out.append(f'<p class="failed">failed at {e(t.failed_at)}: </p><pre>{e(t.message)}</pre>')
    fin = t.finals_dict()
    if fin:
        out.append("<h4>final metrics</h4>" + _kv({k: f"{v:.6g}" for k, v in fin.items()}))
    out.append("<h4>resolved config</h4>")
    out.append(f"<pre>{e(t.config_yaml) if t.config_yaml else '(none)'}</pre>")
    d = t.data
    out.append("<h4>data</h4>")
    info = {"protocol": d.get("protocol", "")}
    info.update({f"split {k}": v for k, v in d.get("split_sizes", {}).items()})
    for step, arrays in d.get("fitted", {}).items():
        info[f"fitted {step}"] = ", ".join(f"{k} [{np.asarray(v).size}]" for k, v in arrays.items())
    out.append(_kv(info))
    if d.get("report"):
        out.append("<pre>" + e("\n".join(d["report"])) + "</pre>")
    out.append("<h4>environment</h4>" + _kv(t.env))
    tm = t.timing
    if tm:
        info = {}
        if "total_seconds" in tm:
            info["total seconds"] = f"{float(tm['total_seconds']):.2f}"
        if "samples_per_second" in tm:
            info["samples / s"] = f"{float(tm['samples_per_second']):.1f}"
        if "peak_tensor_bytes" in tm:
            info["peak tensor memory (the trial's own)"] = _fmt_bytes(tm["peak_tensor_bytes"])
        if "peak_rss_bytes" in tm:
            scope = tm.get("peak_rss_scope", "process")
            info["peak RSS" if scope == "trial" else "peak RSS (the process's, shared with other trials)"] = _fmt_bytes(tm["peak_rss_bytes"])
        if "epoch_seconds" in tm and np.size(tm["epoch_seconds"]):
            info["epoch seconds"] = ", ".join(f"{x:.2f}" for x in np.atleast_1d(tm["epoch_seconds"]))
        out.append("<h4>timing</h4>" + _kv(info))
    out.append("</details>")
    return "\n".join(out)


def build_report(
    df: pd.DataFrame,
    metrics: list[str] | None = None,
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    baseline: str | None = None,
    test: str = "ttest",
    probes: int = 2,
    correction: str = "none",
    max_heatmaps: int = 8,
    seed_key: str = SEED_KEY,
) -> str:
    """The HTML text of the report of a load_sweep frame."""
    params = param_columns(df)
    if "sweep" in df.columns:
        raise AnalysisError("a report covers one sweep: give a sweep directory, not a directory of sweeps")
    files = df.attrs.get("files", {})
    name = df.attrs.get("name", "sweep")
    trials = {r.id: load_trial(files[r.id]) for r in df.itertuples() if r.id in files}
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [f"<h1>{e(name)}</h1>", f'<p class="meta">{e(df.attrs.get("sweep_dir", ""))} · report of {now}</p>', _progress(df)]
    for w in df.attrs.get("warnings", []):
        body.append(f'<p class="warn">warning: {e(w)}</p>')

    finals = stats.distinct_finals(df, final_columns(df))
    chosen = metrics or [m for m in finals if m.startswith("test/")] or finals
    body.append(_glance(df, trials, chosen, params))

    # Ablation tables.
    body.append("<h2>Summary</h2>")
    done = df[df.status == "done"]
    if done.empty or not chosen:
        body.append('<p class="note">No done trial with final metrics yet.</p>')
    tabs = []
    for m in chosen:
        try:
            tabs.append(stats.ablation(df, m, rows=rows, cols=cols, baseline=baseline, test=test, seed_key=seed_key,
                                       correction=correction))
        except AnalysisError as err:
            if metrics:
                raise
            body.append(f'<p class="note">{e(m)}: {e(str(err))}</p>')
    if tabs and not cols:  # one table, the metrics side by side
        body.append(stats.to_html(tabs))
    else:
        for tab in tabs:
            body.append(f"<h3>{e(tab.metric)}</h3>" + stats.to_html(tab))

    # Every finished trial.
    body.append("<h2>Trials</h2>")
    layout = variant_colours(df, params, seed_key)
    _, group, colours = layout
    tt = df[["id", "status", *params, *finals]].copy()
    tt["seconds"] = [float(trials[i].timing.get("total_seconds", float("nan"))) if i in trials else float("nan") for i in tt.id]
    # The trial's own memory: its tensors' peak (RSS is the process's when trials shared it).
    tt["peak MB"] = [float(trials[i].timing.get("peak_tensor_bytes", float("nan"))) / 1e6 if i in trials else float("nan") for i in tt.id]
    body.append(_table(tt, numeric=[*finals, "seconds", "peak MB"],
                       colours=[colours.get(variant_of(r, group)) if group else None for _, r in df.iterrows()]))
    # A metric some done trials have and others lack: its column stays, empty for those; say so.
    done_ids = df.status == "done"
    lacking = [(m, list(df.id[done_ids & df[m].isna()])) for m in finals if df.loc[done_ids, m].notna().any()]
    lacking = [(m, ids) for m, ids in lacking if ids]
    if lacking:
        body.append('<p class="note">Empty cells: the trial file has no such final metric. '
                    + "; ".join(f"{e(m)}: {len(ids)} done trial(s) without it ({e(', '.join(ids[:5]))}{', ...' if len(ids) > 5 else ''})"
                                for m, ids in lacking) + ".</p>")

    # Learning curves.
    from .load import curves as load_curves

    cv = load_curves(df)
    interactive = _interactive_curves(cv, params, seed_key, layout) if not cv.empty else None
    if interactive is not None:
        body.append("<h2>Learning curves</h2>")
        body.append(interactive)
    elif not cv.empty:
        body.append("<h2>Learning curves</h2>")
        group = plots.default_group(params, cv, seed_key)
        body.append(f'<p class="note">{"mean ± std over " + e(seed_key) + " per " + e(", ".join(group)) if group else "one line per trial"}.</p>')
        figs = []
        for split, nm in sorted({(s, n) for s, n in zip(cv.split, cv.name)}, key=lambda x: (x[0] != "valid", x)):
            try:
                fig = plots.plot_curves(cv, split, nm, group=group or None, params=params)
            except AnalysisError:  # e.g. a curve only failed trials have
                continue
            figs.append(_img(fig, f"{split}/{nm}", f"{split}/{nm}"))
        body.append('<div class="figs">' + "".join(figs) + "</div>")

    # Attention.
    with_att = [t for t in trials.values() if t.attention and t.status == "done"]
    if with_att:
        body.append("<h2>Attention</h2>")
        keys = [p for p in params if p != seed_key and stats.levels(df, p) > 1]
        parts = [att.trial_precision(t) for t in with_att]
        per_trial = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=att.PRECISION_COLUMNS)
        if not per_trial.empty:
            per_trial = per_trial.merge(df[["id", *params]].rename(columns={"id": "trial"}), on="trial", how="left")
            agg = att.aggregate_precision(per_trial, keys)
            show = agg.rename(columns={"mean": "precision@k", "std": "std"})
            body.append("<h3>Precision@k against the planted truth</h3>" + _table(show, numeric=["precision@k", "std"]))
            body.append('<p class="legend">k = the number of truth positions of each probe sample; a key\'s score is the attention it '
                        "receives, averaged over the real queries (and heads); mean ± std over trials at their last epoch.</p>")
            body.append('<div class="figs">' + _img(att.plot_precision_bars(agg, keys), "precision bar chart") + "</div>")
        else:
            body.append('<p class="note">No planted truth in the probes (real data): no precision.</p>')
        body.append("<h3>Heatmaps</h3>")
        reps = [i for i in att.representative_trials(df, seed_key) if i in trials and trials[i].attention]
        shown = 0
        figs = []
        for tid in reps:
            t = trials[tid]
            for layer in t.attention:
                if shown >= max_heatmaps:
                    break
                n = min(probes, next(iter(t.attention[layer].values())).shape[0])
                label = ", ".join(f"{k}={format_value(df.loc[df.id == tid, k].iloc[0])}" for k in params)
                figs.append(_img(att.plot_heatmaps(t, layer, probes=list(range(n))), f"attention {tid} {layer}", f"{label} · {layer}"))
                shown += 1
        body.append('<div class="figs">' + "".join(figs) + "</div>")
        if shown >= max_heatmaps:
            body.append(f'<p class="note">First {max_heatmaps} heatmaps shown; scripts/attention draws any trial and layer.</p>')

    # Failed trials.
    failed = [t for t in trials.values() if t.status == "failed"]
    body.append("<h2>Failed trials</h2>")
    if failed:
        rows_html = []
        for t in failed:
            r = df[df.id == t.id].iloc[0]
            label = ", ".join(f"{k}={format_value(r[k])}" for k in params)
            rows_html.append(f"<tr><td>{e(t.id)}</td><td>{e(label)}</td><td>{e(t.failed_at)}</td><td><pre>{e(t.message)}</pre></td></tr>")
        body.append("<table><thead><tr><th>trial</th><th>swept keys</th><th>failed at</th><th>message</th></tr></thead><tbody>"
                    + "".join(rows_html) + "</tbody></table>")
    else:
        body.append('<p class="note">None.</p>')

    # Per-trial details.
    body.append("<h2>Trial details</h2>")
    for r in df.itertuples(index=False):
        if r.id in trials:
            body.append(_trial_details(trials[r.id], df[df.id == r.id].iloc[0], params))

    # plotly.js inline (python3-plotly bundles it): interactive figures with no network.
    script = ""
    if interactive is not None and (js := plotly_js()):
        script = f'<script type="text/javascript">{js}</script>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(name)} — attnlab report</title><style>{CSS}</style>{script}</head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def default_output(df: pd.DataFrame, source: Path) -> Path:
    """<sweep dir>/report.html, or <dir>/<id>.report.html for a single trial file."""
    if source.is_file() and source.name != "index.h5":
        return source.parent / f"{source.name[:-3] if source.name.endswith('.h5') else source.name}.report.html"
    return Path(df.attrs.get("sweep_dir", ".")) / "report.html"
