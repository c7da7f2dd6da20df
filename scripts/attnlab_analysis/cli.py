"""The command lines of scripts/{summarize,curves,attention,report,compare}. Each main(argv) returns
the exit code: 0 ok, 2 for a problem with the input (missing or foreign file, unknown key or
metric, nothing finished yet) or the arguments. Heavy modules are imported after parsing, so
--help is instant."""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from .errors import AnalysisError

INPUT_HELP = ("a sweep directory (running or finished), its index.h5, one trial file <id>.h5, or a tuning directory "
              "(attnlab tune: tune.yaml + study.journal)")


def _run(prog: str, body, argv) -> int:
    try:
        return body(argv)
    except AnalysisError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _parser(prog: str, description: str, epilog: str) -> argparse.ArgumentParser:
    return argparse.ArgumentParser(prog=prog, description=textwrap.fill(description, 100), epilog=epilog,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)


def _open(path: str):
    """A sweep (load_sweep), or every sweep under a directory of sweeps (load_sweeps)."""
    from .load import _is_sweep_dir, load_sweep, load_sweeps

    p = Path(path)
    if p.is_dir() and not _is_sweep_dir(p) and any(d.is_dir() and _is_sweep_dir(d) for d in p.iterdir()):
        df = load_sweeps(p)
    else:
        df = load_sweep(p)
    return df


def _warn(df, prog: str) -> None:
    from .load import warn

    warn(df.attrs.get("warnings", []), prog)


def completeness_lines(df) -> tuple[list[str], bool]:
    """(lines, clean): each sweep's completeness (load.Completeness.line), and whether every sweep
    is complete with an index that agrees with its files. No lines for a single trial file."""
    state = df.attrs.get("completeness")
    if state is None:
        return [], True
    if isinstance(state, dict):  # a directory of sweeps: the ones with something to say
        bad = [c for c in state.values() if c is not None and not c.clean]
        if not bad:
            return [f"{len(state)} sweep(s), every one complete"], True
        return [c.line() for c in bad], False
    return [state.line()], state.clean


def _warn_partial(df, prog: str) -> None:
    """curves, attention, compare: one warning line per sweep that is partial or stale."""
    lines, clean = completeness_lines(df)
    if not clean:
        for line in lines:
            print(f"{prog}: warning: {line}", file=sys.stderr)


def _write(text: str, out: str | None, prog: str) -> None:
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text, encoding="utf-8")
        print(f"{prog}: wrote {out}", file=sys.stderr)
    else:
        sys.stdout.write(text)


# ---- summarize ---------------------------------------------------------------------------------------


def summarize_main(argv=None) -> int:
    prog = "summarize"
    ap = _parser(prog, "Ablation table of a sweep: a final metric, mean ± std over seeds per variant, the best variant per column "
                 "marked, and optionally a paired test of every variant against a baseline over matched seeds.",
                 "examples:\n"
                 "  scripts/summarize runs/seed-ablation\n"
                 "  scripts/summarize runs/seed-ablation --rows model.extractor --cols model.attention.type --metric test/logloss\n"
                 "  scripts/summarize runs/seed-ablation --rows model.attention.type --baseline none --test wilcoxon\n"
                 "  scripts/summarize runs/seed-ablation --format latex -o table.tex\n"
                 "  scripts/summarize runs/ --rows sweep          # every sweep under runs/, one row each")
    ap.add_argument("sweep", help=INPUT_HELP + "; or a directory of sweeps (then 'sweep' is a key)")
    ap.add_argument("--rows", nargs="+", metavar="KEY", help="swept keys of the rows (default: every swept key but train.seed and --cols that varies)")
    ap.add_argument("--cols", metavar="KEY", help="a swept key whose values become columns (default: one column)")
    ap.add_argument("--metric", nargs="+", help="final metric(s), '<split>/<name>' (default: the first test/ metric; 'accuracy' "
                    "means test/accuracy); several: side by side, or 'all' for every test/ metric")
    ap.add_argument("--baseline", metavar="VALUE", help="the row variant each other row is tested against: a value of a row key, or KEY=VALUE[,KEY=VALUE]; default: a row key's value 'none' when seeds are swept; 'off': no tests")
    ap.add_argument("--test", choices=["ttest", "wilcoxon"], default="ttest", help="paired test over seeds matched by train.seed (default: ttest = scipy.stats.ttest_rel)")
    ap.add_argument("--correction", choices=["none", "holm"], default="none", help="adjust the p-values of each column for the number of rows compared (Holm)")
    ap.add_argument("--seed-key", default="train.seed", help="the key that pairs trials (default: train.seed)")
    ap.add_argument("--format", choices=["markdown", "csv", "latex"], default="markdown", help="output format (default: markdown)")
    ap.add_argument("--digits", type=int, default=4, help="decimals of means and stds (default: 4)")
    ap.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    args = ap.parse_args(argv)

    def body(_):
        from . import stats, tune_results

        from .load import final_columns

        if tune_results.tune_dir_of(args.sweep) is not None:  # a tuning run (attnlab tune): its own table
            return tune_results.summarize(args, prog)
        df = _open(args.sweep)
        _warn(df, prog)
        metrics = args.metric or [None]
        if metrics == ["all"]:
            metrics = [m for m in final_columns(df) if m.startswith("test/")] or final_columns(df)
        rows, cols, baseline = stats.choose_layout(df, args.rows, [args.cols] if args.cols else None, args.baseline,
                                                   args.seed_key)
        tabs = [stats.ablation(df, m, rows=rows, cols=cols, correction=args.correction, baseline=baseline,
                               test=args.test, seed_key=args.seed_key) for m in metrics]
        text = stats.render(tabs, args.format, args.digits)
        # The sweep's completeness: a partial or stale sweep says so above the table (and on stderr
        # when the table goes to a file or is CSV); a complete one in a last line of the Markdown.
        lines, clean = completeness_lines(df)
        if args.format == "markdown" and lines:
            text = "".join(f"> {x}\n" for x in lines) + "\n" + text if not clean else text + "\n" + "\n".join(lines) + "\n"
        elif args.format == "latex" and lines and not clean:
            text = "".join(f"% {x}\n" for x in lines) + text
        if not clean and (args.output or args.format != "markdown"):
            for x in lines:
                print(f"{prog}: warning: {x}", file=sys.stderr)
        _write(text, args.output, prog)
        return 0

    return _run(prog, body, argv)


# ---- curves ----------------------------------------------------------------------------------------


def curves_main(argv=None) -> int:
    prog = "curves"
    ap = _parser(prog, "Learning curves (a metric per epoch) of the finished trials of a sweep: one line per trial, or with "
                 "--group the mean over each group's done trials with a ±std band. Writes PREFIX.png and PREFIX.svg.",
                 "examples:\n"
                 "  scripts/curves runs/seed-ablation --split valid --metric accuracy\n"
                 "  scripts/curves runs/seed-ablation --group model.attention.type --metric loss -o figs/loss\n"
                 "  scripts/curves runs/seed-ablation/3fa2c81b9d0e.h5 --split train --metric loss\n"
                 "  scripts/curves runs/seed-ablation --list")
    ap.add_argument("sweep", help=INPUT_HELP)
    ap.add_argument("--split", default="valid", help="curve split: train, valid... (default: valid)")
    ap.add_argument("--metric", help="curve name: loss, accuracy, auc, hr@10, click.auc... (default: accuracy, else loss, else the first)")
    ap.add_argument("--group", nargs="+", metavar="KEY", help="swept keys to group trials by (mean ± std band over each group)")
    ap.add_argument("-o", "--output", metavar="PREFIX", help="output prefix (default: curves-<split>-<metric> in the current directory)")
    ap.add_argument("--format", nargs="+", choices=["png", "svg", "pdf"], default=["png", "svg"], help="figure formats (default: png svg)")
    ap.add_argument("--list", action="store_true", help="list the available curves and exit")
    args = ap.parse_args(argv)

    def body(_):
        from . import plots
        from .load import curves, param_columns

        df = _open(args.sweep)
        _warn(df, prog)
        _warn_partial(df, prog)
        cv = curves(df)
        if args.list:
            for c in plots.available_curves(cv):
                print(c)
            return 0
        metric = args.metric
        if metric is None:
            names = sorted(set(cv[cv.split == args.split].name))
            metric = next((m for m in ("accuracy", "loss") if m in names), names[0] if names else "accuracy")
        params = param_columns(df)
        fig = plots.plot_curves(cv, args.split, metric, group=args.group, params=params)
        prefix = args.output or f"curves-{args.split}-{metric}".replace("/", "_")
        for p in plots.save_figure(fig, prefix, args.format):
            print(p)
        return 0

    return _run(prog, body, argv)


# ---- attention -------------------------------------------------------------------------------------


def attention_main(argv=None) -> int:
    prog = "attention"
    ap = _parser(prog, "Attention heatmaps of the probe samples (tick labels: the item ids; planted truth positions outlined "
                 "in red) and, on generated data, attention precision@k against the planted truth: per trial, "
                 "aggregated per swept variant (mean ± std) as a table and a bar chart.",
                 "precision@k: k = the number of truth positions of each probe sample (or --k); a key's score is\n"
                 "the attention it receives: [P,T] as is, [P,T,T] averaged over the real queries (or the last real\n"
                 "query with --query last), [P,H,T,T] averaged over heads too. Ties go to the earlier position.\n\n"
                 "examples:\n"
                 "  scripts/attention runs/seed-ablation                    # one trial per variant + precision\n"
                 "  scripts/attention runs/seed-ablation/3fa2c81b9d0e.h5 --layer attention --epoch 2 --probes 0 1 2 3\n"
                 "  scripts/attention runs/seed-ablation --no-heatmaps --format csv -o out/att")
    ap.add_argument("sweep", help=INPUT_HELP)
    ap.add_argument("--trial", nargs="+", metavar="ID", help="trials to draw (default: one done trial per variant, the smallest seed)")
    ap.add_argument("--layer", nargs="+", help="attention layers (default: all)")
    ap.add_argument("--epoch", type=int, help="epoch of the weights (default: each trial's last)")
    ap.add_argument("--probes", nargs="+", type=int, metavar="P", help="probe samples to draw (default: 0 1 2)")
    ap.add_argument("--query", choices=["mean", "last"], default="mean", help="key scores of self-attention: mean over queries (default) or last query")
    ap.add_argument("--k", type=int, help="k of precision@k (default: each probe's number of truth positions)")
    ap.add_argument("--format", choices=["markdown", "csv"], default="markdown", help="precision table format (default: markdown)")
    ap.add_argument("--no-heatmaps", action="store_true", help="only the precision table and chart")
    ap.add_argument("-o", "--output", metavar="PREFIX", default="attention", help="output prefix (default: attention): PREFIX-<trial>-<layer>.png/svg, PREFIX-precision.png/svg")
    args = ap.parse_args(argv)

    def body(_):
        from . import attention as att
        from . import plots, stats
        from .load import SEED_KEY, load_trial, param_columns, trial_file

        df = _open(args.sweep)
        if "sweep" in df.columns:
            raise AnalysisError("attention works on one sweep or trial: give a sweep directory, not a directory of sweeps")
        _warn(df, prog)
        _warn_partial(df, prog)
        params = param_columns(df)
        written, skipped = [], []
        any_attention = False
        if not args.no_heatmaps:
            ids = args.trial or att.representative_trials(df)
            for tid in ids:
                row = df[df.id == tid]
                if row.empty:  # a unique prefix of an id will do
                    row = df[df.id.str.startswith(tid)]
                    if len(row) != 1:
                        raise AnalysisError(f"no finished trial {tid!r}; trials: {', '.join(df.id)}")
                    tid = row.id.iloc[0]
                f = trial_file(df, row.iloc[0])
                if f is None:
                    continue
                t = load_trial(f)
                layers = args.layer or list(t.attention)
                for layer in layers:
                    if layer not in t.attention:
                        if args.trial:  # asked for by name: say what it has
                            raise AnalysisError(f"{t.path}: no attention layer {layer!r} (layers: {', '.join(t.attention) or 'none'})")
                        continue
                    if args.epoch is not None and args.epoch not in t.attention[layer] and not args.layer:
                        skipped.append(f"{tid}/{layer}")
                        continue
                    any_attention = True
                    fig = att.plot_heatmaps(t, layer, args.epoch, args.probes, args.query)
                    written += plots.save_figure(fig, f"{args.output}-{tid}-{layer}")
        if skipped:
            print(f"{prog}: no weights at epoch {args.epoch} for {', '.join(skipped)}", file=sys.stderr)
        if not args.no_heatmaps and not any_attention:
            what = f" at epoch {args.epoch}" if args.epoch is not None else ""
            what += f" for layer {', '.join(args.layer)}" if args.layer else ""
            raise AnalysisError(f"no attention weights{what} in the chosen trials (/attention/<layer>/epoch_<e>)")
        per_trial = att.sweep_precision(df, args.layer, args.epoch, args.k, args.query)
        if per_trial.empty:
            print(f"{prog}: no precision@k: no planted truth in the probes (/attention/probe/truth)"
                  + (f" or no weights at epoch {args.epoch}" if args.epoch is not None else ""), file=sys.stderr)
        else:
            keys = [p for p in params if p != SEED_KEY and stats.levels(df, p) > 1]
            agg = att.aggregate_precision(per_trial, keys)
            sys.stdout.write(att.precision_table(agg, keys, args.format, k=args.k, query=args.query))
            written += plots.save_figure(att.plot_precision_bars(agg, keys), f"{args.output}-precision")
        for p in written:
            print(f"{prog}: wrote {p}", file=sys.stderr)
        return 0

    return _run(prog, body, argv)


# ---- report ----------------------------------------------------------------------------------------


def report_main(argv=None) -> int:
    prog = "report"
    ap = _parser(prog, "One self-contained HTML page for a sweep (figures embedded, nothing loaded from the network): "
                 "progress, ablation tables, learning curves, attention, failed trials, and each trial's resolved "
                 "config, environment and data protocol.",
                 "examples:\n"
                 "  scripts/report runs/seed-ablation                       # writes runs/seed-ablation/report.html\n"
                 "  scripts/report runs/seed-ablation --baseline none -o ~/seed-ablation.html")
    ap.add_argument("sweep", help=INPUT_HELP)
    ap.add_argument("-o", "--output", metavar="FILE", help="the HTML file (default: <sweep>/report.html)")
    ap.add_argument("--metric", nargs="+", help="final metrics to tabulate (default: every test/ metric)")
    ap.add_argument("--rows", nargs="+", metavar="KEY", help="row keys of the tables (as in summarize)")
    ap.add_argument("--cols", metavar="KEY", help="column key of the tables (as in summarize)")
    ap.add_argument("--baseline", metavar="VALUE", help="baseline of the paired tests (as in summarize)")
    ap.add_argument("--test", choices=["ttest", "wilcoxon"], default="ttest")
    ap.add_argument("--correction", choices=["none", "holm"], default="none", help="Holm adjustment of the p-values (as in summarize)")
    ap.add_argument("--probes", type=int, default=2, help="probe samples per heatmap (default: 2)")
    args = ap.parse_args(argv)

    def body(_):
        from . import report, stats, tune_results

        if tune_results.tune_dir_of(args.sweep) is not None:  # a tuning run (attnlab tune): its own page
            return tune_results.report(args, prog)
        df = _open(args.sweep)
        _warn(df, prog)
        _warn_partial(df, prog)
        rows, cols, baseline = stats.choose_layout(df, args.rows, [args.cols] if args.cols else None, args.baseline)
        text = report.build_report(df, metrics=args.metric, rows=rows, cols=cols, baseline=baseline, test=args.test,
                                   probes=args.probes, correction=args.correction)
        out = Path(args.output) if args.output else report.default_output(df, Path(args.sweep))
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out.resolve()}")
        return 0

    return _run(prog, body, argv)


# ---- compare ---------------------------------------------------------------------------------------


def compare_main(argv=None) -> int:
    prog = "compare"
    ap = _parser(prog, "Two trials, or two sweeps, side by side: every final metric of A and B with delta = B − A and "
                 "relative delta 100·(B − A)/|A|. Sweeps are matched on their common swept keys (but train.seed: "
                 "means over seeds, n shown; --per-seed matches trial by trial).",
                 "examples:\n"
                 "  scripts/compare runs/ablation-v1 runs/ablation-v2\n"
                 "  scripts/compare runs/abl/3fa2c81b9d0e.h5 runs/abl/77c0e1d2a9b4.h5 --metric test/accuracy\n"
                 "  scripts/compare runs/a runs/b --per-seed --format csv -o delta.csv")
    ap.add_argument("a", help="A: " + INPUT_HELP)
    ap.add_argument("b", help="B: the same kind as A")
    ap.add_argument("--metric", nargs="+", help="final metrics to compare (default: all)")
    ap.add_argument("--per-seed", action="store_true", help="sweeps: match on train.seed too")
    ap.add_argument("--format", choices=["markdown", "csv"], default="markdown")
    ap.add_argument("--digits", type=int, default=4)
    ap.add_argument("-o", "--output", metavar="FILE", help="write to FILE instead of stdout")
    args = ap.parse_args(argv)

    def body(_):
        from . import compare
        from .load import INDEX_FORMAT, TRIAL_FORMAT, _check_exists, file_format, load_trial

        kinds = []
        for x in (args.a, args.b):
            p = Path(x)
            _check_exists(p)
            fmt = file_format(p) if p.is_file() else INDEX_FORMAT
            if fmt not in (TRIAL_FORMAT, INDEX_FORMAT):
                raise AnalysisError(f"{p} is not an attnlab trial/index file ({'format is ' + repr(fmt) if fmt else 'no root attribute format'})")
            kinds.append("trial" if fmt == TRIAL_FORMAT else "sweep")
        if kinds[0] != kinds[1]:
            raise AnalysisError(f"compare needs two trials or two sweeps: {args.a} is a {kinds[0]}, {args.b} a {kinds[1]}")
        if kinds[0] == "trial":
            ta, tb = load_trial(args.a, attention=False), load_trial(args.b, attention=False)
            table = compare.compare_trials(ta, tb, args.metric)
            if args.format == "csv":
                text = compare.to_csv(table)
            else:
                text = compare.to_markdown(table, [], ta.id, tb.id, args.digits)
                diff = compare.config_diff(ta, tb)
                if diff:
                    text += "\nconfig differences:\n\n| key | A | B |\n|---|---|---|\n"
                    text += "".join(f"| {k} | {va} | {vb} |\n" for k, va, vb in diff)
        else:
            da, db = _open(args.a), _open(args.b)
            _warn(da, prog)
            _warn_partial(da, prog)
            _warn(db, prog)
            _warn_partial(db, prog)
            table, keys = compare.compare_sweeps(da, db, args.metric, args.per_seed)
            if args.format == "csv":
                text = compare.to_csv(table)
            else:
                name_a, name_b = da.attrs.get("name", args.a), db.attrs.get("name", args.b)
                if name_a == name_b:
                    name_a, name_b = args.a, args.b
                text = compare.to_markdown(table, keys, name_a, name_b, args.digits)
                text += f"\nmatched on: {', '.join(keys) or '(nothing: whole sweeps)'}; A, B = mean over done trials (n).\n"
        _write(text, args.output, prog)
        return 0

    return _run(prog, body, argv)
