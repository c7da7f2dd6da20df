"""The analysis scripts (scripts/attnlab_analysis + scripts/{summarize,curves,attention,report,compare}).

Two kinds of tests:
- on ANY sweep (the `sweep` fixture): expectations are recomputed here from the files with plain
  h5py, so they also run on real sweeps made by the attnlab binary:
      ATTNLAB_SWEEP_DIRS=runs/seed-ablation:runs/other /usr/bin/python3 -m pytest tests/python/test_analysis.py
- on the fake sweep of tests/python/analysis/fake_sweep.py, with numbers known by construction.
"""
import contextlib
import io
import math
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "scripts"
sys.path.insert(0, str(SCRIPTS))
sys.path.insert(0, str(Path(__file__).resolve().parent / "analysis"))

import fake_sweep  # noqa: E402
from attnlab_analysis import report as report_mod  # noqa: E402
from attnlab_analysis import AnalysisError, curves, load_sweep, load_sweeps, load_trial, read_ledger  # noqa: E402
from attnlab_analysis.load import format_value  # noqa: E402
from attnlab_analysis import attention as att  # noqa: E402
from attnlab_analysis import cli, plots, stats  # noqa: E402

EXTRA_SWEEPS = [p for p in os.environ.get("ATTNLAB_SWEEP_DIRS", "").split(os.pathsep) if p]
SEED = "train.seed"


# ---- fixtures ---------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake(tmp_path_factory):
    return fake_sweep.make_sweep(tmp_path_factory.mktemp("fake") / "sweep")


@pytest.fixture(scope="session")
def grid(tmp_path_factory):
    d = tmp_path_factory.mktemp("grid") / "sweep"
    return d, fake_sweep.make_grid_sweep(d)


BIN = os.environ.get("ATTNLAB_BIN", os.path.join(os.path.dirname(__file__), "..", "..", "build", "attnlab"))
REAL_SPEC = """name: real
data:
  task: topic
  dataset: {type: synthetic, num_items: 60, num_topics: 4, num_users: 20, seq_len: 10, informative: 2, sequences: 400}
model:
  embedding: 8
  extractor: {type: lstm, hidden: 8}
  attention: {type: seed_self}
  pooling: {type: mean}
  head: {type: classification}
train: {epochs: 2, batch_size: 32, optimizer: {type: adam, lr: 0.01}}
eval: {metrics: [accuracy, logloss, macro_f1], select: accuracy}
log: {probes: 4, attention_epochs: [1, 2]}
sweep: {grid: {model.attention.type: [seed_self, scaled_dot, additive]}, seeds: [1, 2, 3]}
"""


@pytest.fixture(scope="session")
def real(tmp_path_factory):
    """A real sweep, trained and written by the attnlab binary (3 attention variants x 3 seeds)."""
    if not os.path.exists(BIN):
        pytest.skip(f"{BIN} not built")
    d = tmp_path_factory.mktemp("real")
    (d / "spec.yaml").write_text(REAL_SPEC)
    r = subprocess.run([BIN, "sweep", str(d / "spec.yaml"), "--jobs", "2", "--threads", "1", "--quiet", "--out", str(d / "sweep")],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    return d / "sweep"


@pytest.fixture(scope="session", params=["fake", "real", *EXTRA_SWEEPS])
def sweep(request, fake):
    if request.param == "fake":
        return fake["dir"]
    if request.param == "real":
        return request.getfixturevalue("real")
    return Path(request.param)


@pytest.fixture(scope="session")
def reports(tmp_path_factory, fake):
    """report_main run once per sweep directory (the report is the slowest thing to build). The fake
    sweep's is made from a copy, by its index.h5, with --baseline none and the default output."""
    made = {}

    def get(d):
        if d not in made:
            if d == fake["dir"]:
                copy = tmp_path_factory.mktemp("report") / "sweep"
                shutil.copytree(d, copy)
                printed = io.StringIO()
                with contextlib.redirect_stdout(printed):
                    code = cli.report_main([str(copy / "index.h5"), "--baseline", "none"])
                out = copy / "report.html"
                assert printed.getvalue() == f"wrote {out.resolve()}\n"
            else:
                out = tmp_path_factory.mktemp("report") / "r.html"
                code = cli.report_main([str(d), "-o", str(out)])
            assert code == 0
            made[d] = out
        return made[d]

    return get


def text(v):
    if isinstance(v, np.ndarray):
        v = v.item() if v.shape == () else v
    return v.decode() if isinstance(v, bytes) else str(v)


def raw_sweep(d):
    """Independent reading of a sweep with plain h5py: {id: {status, finals, params}} for every
    finished <id>.h5; params from index.h5's /summary (every row, whatever its status)."""
    d = Path(d)
    params, keys = {}, []
    if (d / "index.h5").exists():
        with h5py.File(d / "index.h5", "r") as f:
            cols = [text(c) for c in f.attrs["summary_columns"]]
            roles = [text(r) for r in f.attrs["summary_roles"]]
            keys = [c for c, r in zip(cols, roles) if r == "param"]
            for row in f["summary"][()]:
                params[text(row["id"])] = {k: (text(row[k]) if isinstance(row[k], bytes) else float(row[k])) for k in keys}
    out = {}
    for p in sorted(d.glob("*.h5")):
        if p.name == "index.h5" or p.name.endswith(".ckpt.h5"):
            continue
        with h5py.File(p, "r") as f:
            if text(f.attrs.get("format", "")) != "attnlab-trial":
                continue
            tid = text(f.attrs["trial_id"])
            finals = {}
            if "final" in f:
                for split in f["final"]:
                    for m in f["final"][split]:
                        finals[f"{split}/{m}"] = float(f["final"][split][m][()])
            curves_n = 0
            if "curves" in f:
                for split in f["curves"]:
                    if split != "epoch":
                        for n in f["curves"][split]:
                            curves_n += int(np.sum(~np.isnan(f["curves"][split][n][()])))
            out[tid] = {"status": text(f["status"].attrs["state"]), "finals": finals, "params": params.get(tid, {}),
                        "curve_points": curves_n, "path": p}
    return out, keys


def same(a, b):
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)
        return (math.isnan(fa) and math.isnan(fb)) or fa == fb
    return str(a) == str(b)


def run_main(main, args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def png_ok(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000, path


def svg_ok(path):
    t = Path(path).read_text()
    assert "<svg" in t and len(t) > 1000, path


# ---- on any sweep -----------------------------------------------------------------------------------


def test_load_sweep_matches_the_files(sweep):
    raw, keys = raw_sweep(sweep)
    df = load_sweep(sweep)
    finished = {i for i, r in raw.items() if r["status"] in ("done", "failed")}
    assert set(df.id) == finished
    for r in df.to_dict("records"):
        want = raw[r["id"]]
        assert r["status"] == want["status"]
        for m, v in want["finals"].items():
            assert r[m] == v, (r["id"], m)
        for k, v in want["params"].items():
            assert same(r[k], v), (r["id"], k, r[k], v)
    assert [c for c in df.columns if c in keys] == [k for k in keys if k in df.columns]  # axis order


def test_the_index_says_which_way_each_metric_improves(real):
    # attnlab's metric table (`attnlab plugins metric`) reaches the scripts through index.h5.
    df = load_sweep(real)
    lower = df.attrs["lower_is_better"]
    assert set(lower) == set(df.attrs["finals"]), lower
    for m, v in lower.items():
        name = m.rsplit("/", 1)[-1].rsplit(".", 1)[-1].split("@")[0]
        assert v == (name in ("loss", "logloss", "rmse", "mae")), m
        assert stats.lower_is_better(m, df) == v


def test_curves_long_format_has_every_point(sweep):
    raw, _ = raw_sweep(sweep)
    cv = curves(sweep)
    assert list(cv.columns[:5]) == ["trial", "split", "name", "epoch", "value"]
    assert len(cv) == sum(r["curve_points"] for r in raw.values() if r["status"] in ("done", "failed"))
    assert not cv.value.isna().any()


def test_summarize_numbers_recomputed_from_files(sweep, tmp_path, capsys):
    raw, keys = raw_sweep(sweep)
    done = {i: r for i, r in raw.items() if r["status"] == "done"}
    metric = sorted({m for r in done.values() for m in r["finals"] if m.startswith("test/")})[0]
    rows = [k for k in keys if k != SEED and len({str(r["params"].get(k)) for r in raw.values()}) > 1] or [k for k in keys if k != SEED][:1]
    groups = {}
    for r in done.values():
        if metric in r["finals"]:
            groups.setdefault(tuple(str(r["params"][k]) for k in rows), []).append(r["finals"][metric])
    out = tmp_path / "t.csv"
    code, _, err = run_main(cli.summarize_main, [sweep, "--metric", metric, "--format", "csv", "-o", out], capsys)
    assert code == 0, err
    got = pd.read_csv(out, dtype={k: str for k in rows}, keep_default_na=False)
    assert len(got) == len(groups)
    best = max(statistics.mean(v) for v in groups.values())
    if stats.lower_is_better(metric):
        best = min(statistics.mean(v) for v in groups.values())
    for _, g in got.iterrows():
        key = tuple(g[k] for k in rows)
        vals = next(v for k, v in groups.items() if all(same(_num(a), _num(b)) for a, b in zip(k, key)))
        assert g["n"] == len(vals)
        assert g["mean"] == pytest.approx(statistics.mean(vals), abs=1e-9)
        if len(vals) > 1:
            assert g["std"] == pytest.approx(statistics.stdev(vals), abs=1e-9)
        assert (g["best"] == "*") == (abs(statistics.mean(vals) - best) < 1e-12)


def _num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return s


def test_curves_script_writes_png_and_svg(sweep, tmp_path, capsys):
    cv = curves(sweep)
    split, name = cv.iloc[-1][["split", "name"]]
    code, out, err = run_main(cli.curves_main, [sweep, "--split", split, "--metric", name, "-o", tmp_path / "c"], capsys)
    assert code == 0, err
    png_ok(tmp_path / "c.png")
    svg_ok(tmp_path / "c.svg")
    assert str(tmp_path / "c.png") in out


def test_report_is_self_contained_and_has_the_numbers(sweep, reports):
    page = reports(sweep).read_text()
    markup = re.sub(r"<script[^>]*>.*?</script>", "", page, flags=re.S | re.I)  # plotly.js names URLs in its code
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:|//|ftp:)""", markup, re.I), "external resource"
    assert "<link" not in markup.lower()
    assert not re.search(r"<script[^>]*\bsrc\s*=", page, re.I), "a script loaded from elsewhere"
    if report_mod.plotly_js() is not None:  # interactive curves, plotly.js embedded
        assert "Plotly.newPlot" in page and "<h2>Learning curves</h2>" in page
    assert "<details>" in page
    df = load_sweep(sweep)
    metric = stats.default_metric(df)
    tab = stats.ablation(df, metric)
    for m in tab.cells["mean"]:
        assert f"{m:.4f}" in page
    for i in df.id:
        assert i in page
    # What a researcher reads first: the data, the floor, the best trial of each metric.
    glance = page[page.index("<h2>At a glance</h2>"):page.index("<h2>Summary</h2>")]
    assert "best trial per metric" in glance
    best = df[df.status == "done"].sort_values(metric, ascending=stats.lower_is_better(metric, df)).iloc[0]
    assert f"<b>{metric}</b> {best[metric]:.4f}" in glance
    first = load_trial(df.attrs["files"][df.id[df.status == "done"].iloc[0]])
    for task, entry in (first.data.get("labels") or {}).items():
        test = entry["test"]
        assert f"scores accuracy {test.max() / test.sum():.4f} on test" in glance, glance
    # Each trial's own memory (its tensors' peak), and RSS named for what it is.
    assert "<th>peak MB</th>" in page or "peak MB" in page
    files = df.attrs["files"]
    peaks = [load_trial(files[i]).timing.get("peak_tensor_bytes") for i in df.id[df.status == "done"]]
    if any(p is not None for p in peaks):  # written by the binary (the fake sweep's files predate it)
        assert all(p and p > 0 for p in peaks)
        assert isinstance(load_trial(files[df.id.iloc[0]]).timing.get("peak_rss_scope"), str)
        assert "peak tensor memory (the trial&#x27;s own)" in page or "peak tensor memory (the trial's own)" in page


def test_attention_figures(sweep, tmp_path, capsys):
    df = load_sweep(sweep)
    files = df.attrs["files"]
    with_att = [i for i in df.id[df.status == "done"] if load_trial(files[i]).attention]
    if not with_att:
        pytest.skip("no attention weights in this sweep")
    t = load_trial(files[with_att[0]])
    layer = next(iter(t.attention))
    code, _, err = run_main(cli.attention_main, [sweep, "--trial", with_att[0], "--layer", layer, "--probes", "0", "-o", tmp_path / "a"], capsys)
    assert code == 0, err
    pngs = sorted(tmp_path.glob("a-*.png"))
    assert pngs, err
    for p in pngs:
        png_ok(p)
        svg_ok(p.with_suffix(".svg"))


# ---- the fake sweep: loading ------------------------------------------------------------------------


def test_load_trial_reads_what_was_written(fake):
    tid = fake_sweep.trial_id({"model.attention.type": "seed_self", "train.seed": 2})
    w = fake["trials"][tid]
    t = load_trial(w["file"])
    assert (t.id, t.status, t.message, t.format_version) == (tid, "done", "", 1)
    assert t.final("test", "accuracy") == 0.85 and t.final("test", "hr@10") == 0.75
    assert math.isnan(t.final("test", "nope"))
    assert t.finals_dict() == w["finals"]
    for (split, name), values in w["curves"].items():
        c = t.curves[(t.curves.split == split) & (t.curves.name == name)].sort_values("epoch")
        keep = [i for i, v in enumerate(values) if not math.isnan(v)]
        assert list(c.epoch) == [i + 1 for i in keep]
        assert list(c.value) == [values[i] for i in keep]
    assert t.config["model"]["attention"]["type"] == "seed_self" and "seed: 2" in t.config_yaml
    assert t.config_hash == "0123456789abcdef"
    assert t.env["host"] == "fake-host"
    assert t.data["protocol"] == "random 0.8/0.1/0.1 seed 3"
    assert t.data["split_sizes"] == {"train": 800, "valid": 100, "test": 100}
    assert t.data["report"][0] == "marker: generated 1000 sequences"
    assert list(t.data["fitted"]["standardize"]["std"]) == [1.0, 2.0]
    assert [list(x) for x in t.truth()] == fake_sweep.PROBE_TRUTH
    assert (t.probe["ids"] == fake_sweep.PROBE_IDS).all()
    assert sorted(t.attention) == ["attention", "mha", "pool"]
    assert list(t.attention["attention"]) == [1, 2, 3]
    assert t.attention["attention"][3].shape == (3, 6, 6) and t.attention["mha"][3].shape == (3, 2, 6, 6)
    np.testing.assert_array_equal(t.attention["attention"][2], fake_sweep.attention_weights(2, 2))
    assert t.timing["peak_rss_bytes"] == 123456789 and list(t.timing["epoch"]) == [1, 2, 3]


def test_load_sweep_finished_trials_only(fake):
    df = load_sweep(fake["dir"])
    assert len(df) == 7  # 6 done + 1 failed; the running one (.tmp) is not there
    assert fake["running"] not in set(df.id)  # neither its .h5.tmp nor its .ckpt.h5 counts
    assert df.attrs["running"] == [fake["running"]]
    assert df.attrs["warnings"] == []
    assert df.set_index("id").loc[fake["failed"], "status"] == "failed"
    late = df.set_index("id").loc[fake["late"]]  # the index still says running: read from its file
    assert late["status"] == "done" and late["test/accuracy"] == 0.80 and late["model.attention.type"] == "seed_self"
    assert list(df.columns) == ["id", "status", "model.attention.type", "train.seed", *fake["finals"]]
    assert df["train.seed"].dtype == np.int64
    # Rows in the index's (expansion) order: variant slowest, seed fastest.
    assert [(r["model.attention.type"], r[SEED]) for _, r in df.iterrows()] == [
        ("none", 1), ("none", 2), ("none", 3), ("none", 4), ("seed_self", 1), ("seed_self", 2), ("seed_self", 3)]


def test_load_sweep_via_index_file_and_single_trial(fake):
    assert len(load_sweep(fake["dir"] / "index.h5")) == 7
    one = load_sweep(fake["trials"][fake["done"][0]]["file"])
    assert list(one.id) == [fake["done"][0]] and one[SEED].iloc[0] == 1


def _canon(df):
    return df.sort_values("id").reset_index(drop=True)


def test_without_index_the_files_and_sweep_yaml_give_the_same_frame(fake, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(fake["dir"], d)
    (d / "index.h5").unlink()
    a, b = _canon(load_sweep(fake["dir"])), _canon(load_sweep(d))
    pd.testing.assert_frame_equal(a, b)
    (d / "sweep.yaml").unlink()  # swept keys now = the config keys whose values differ
    c = _canon(load_sweep(d))
    pd.testing.assert_frame_equal(a, c)


def test_stale_index_a_rewritten_trial_file_wins(fake, tmp_path):
    d = tmp_path / "copy"
    shutil.copytree(fake["dir"], d)
    tid = fake["done"][0]
    with h5py.File(d / f"{tid}.h5", "r+") as f:  # rewritten after the index: newer mtime
        f["final/test/accuracy"][()] = 0.5
    assert load_sweep(d).set_index("id").loc[tid, "test/accuracy"] == 0.5


def test_load_sweeps_concatenates_with_a_sweep_column(fake, tmp_path):
    for name in ("a", "b"):
        shutil.copytree(fake["dir"], tmp_path / name)
    (tmp_path / "not-a-sweep").mkdir()
    df = load_sweeps(tmp_path)
    assert list(df.columns[:3]) == ["sweep", "id", "status"]
    assert df.groupby("sweep").size().to_dict() == {"a": 7, "b": 7}


def test_ledger_unescapes_and_skips_the_torn_line(fake):
    led = read_ledger(fake["dir"])
    assert "deadbeef" not in set(led.trial)
    failed = led[led.state == "failed"]
    assert failed.message.iloc[0] == "loss is NaN at epoch 2 batch 17\tstep 35"


# ---- the fake sweep: tables ----------------------------------------------------------------------------


def _acc(variant):
    return [fake_sweep.ACCURACY[(variant, s)] for s in fake_sweep.SEEDS]


def test_summarize_markdown_known_numbers_and_best(fake, capsys):
    code, out, err = run_main(cli.summarize_main, [fake["dir"], "--baseline", "off"], capsys)
    assert code == 0, err
    none, att_ = _acc("none"), _acc("seed_self")
    assert f"| none | {statistics.mean(none):.4f} ± {statistics.stdev(none):.4f} (n=3) |" in out
    assert f"| seed_self | **{statistics.mean(att_):.4f} ± {statistics.stdev(att_):.4f}** (n=3) |" in out
    assert "test/accuracy (higher is better)" in out
    # Without flags: the 'none' variant is the baseline each variant is tested against (seeds swept).
    code, out, err = run_main(cli.summarize_main, [fake["dir"]], capsys)
    assert code == 0, err
    assert f"| none | {statistics.mean(none):.4f} ± {statistics.stdev(none):.4f} (n=3, baseline) |" in out
    p = sps.ttest_rel(att_, none).pvalue
    assert f"(n=3, p={p:.3g})" in out, out


def test_layout_defaults_put_the_last_narrow_factor_in_columns(grid):
    d, _ = grid
    df = load_sweep(d)
    rows, cols, baseline = stats.choose_layout(df, None, None, None)
    assert rows is None and cols == ["model.embedding"] and baseline == "model.attention.type=none"
    assert stats.choose_layout(df, ["model.embedding"], None, "off") == (["model.embedding"], None, None)


def test_lower_is_better_metric_marks_the_minimum(fake, capsys):
    code, out, _ = run_main(cli.summarize_main, [fake["dir"], "--metric", "test/logloss", "--format", "csv"], capsys)
    assert code == 0
    got = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False).set_index("model.attention.type")
    assert got.loc["seed_self", "best"] == "*" and got.loc["none", "best"] == ""
    assert got.loc["none", "mean"] == pytest.approx(statistics.mean(1.5 - a for a in _acc("none")))
    for m in ("loss", "logloss", "rmse", "mae", "click.logloss"):
        assert stats.lower_is_better(f"test/{m}")
    for m in ("accuracy", "auc", "hr@10", "click.auc"):
        assert not stats.lower_is_better(f"test/{m}")


@pytest.mark.parametrize("test,fn", [("ttest", sps.ttest_rel), ("wilcoxon", sps.wilcoxon)])
def test_p_value_is_scipys_on_seed_matched_pairs(fake, capsys, test, fn):
    code, out, err = run_main(cli.summarize_main, [fake["dir"], "--baseline", "none", "--test", test, "--format", "csv"], capsys)
    assert code == 0, err
    got = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False).set_index("model.attention.type")
    want = fn(_acc("seed_self"), _acc("none")).pvalue
    assert float(got.loc["seed_self", "p"]) == pytest.approx(want, rel=1e-9)
    assert got.loc["none", "baseline"] == 1 and got.loc["none", "p"] == ""
    assert (got.loc["seed_self", "significant"] == "†") == (want < 0.05)


def test_pairs_are_matched_by_seed_not_by_order():
    # Variant b lacks seed 2 and lists its seeds in another order: only seeds 1 and 3 pair.
    rows = [("a", 1, 0.50), ("a", 2, 0.90), ("a", 3, 0.60), ("b", 3, 0.71), ("b", 1, 0.58)]
    df = pd.DataFrame([{"id": f"t{i}", "status": "done", "v": v, SEED: s, "test/accuracy": x} for i, (v, s, x) in enumerate(rows)])
    tab = stats.ablation(df, "test/accuracy", rows=["v"], baseline="a")
    b = tab.cells.set_index("v").loc["b"]
    assert b.pairs == 2
    assert b.p == pytest.approx(sps.ttest_rel([0.58, 0.71], [0.50, 0.60]).pvalue)
    assert tab.cells.set_index("v").loc["a", "std"] == pytest.approx(statistics.stdev([0.5, 0.9, 0.6]))


def test_a_baseline_value_of_one_row_key_is_the_baseline_of_each_group():
    # Rows extractor x attention, --baseline none: each extractor's variants are tested against that
    # extractor's 'none' row (it failed with "matches 2 rows").
    recs = []
    for ex, shift in (("cnn", 0.0), ("lstm", 0.2)):
        for att, gain in (("none", 0.0), ("additive", 0.05)):
            for s, noise in ((1, 0.00), (2, 0.01), (3, -0.01), (4, 0.02)):
                recs.append({"id": f"{ex}{att}{s}", "status": "done", "ex": ex, "att": att, SEED: s,
                             "test/accuracy": 0.5 + shift + gain + noise + (0.003 * s if att == "additive" else 0.0)})
    df = pd.DataFrame(recs)
    tab = stats.ablation(df, "test/accuracy", rows=["ex", "att"], baseline="none")
    cells = tab.cells.set_index(["ex", "att"])
    assert cells.loc[("cnn", "none"), "baseline"] and cells.loc[("lstm", "none"), "baseline"]
    for ex in ("cnn", "lstm"):
        mine = [r["test/accuracy"] for r in recs if r["ex"] == ex and r["att"] == "additive"]
        base = [r["test/accuracy"] for r in recs if r["ex"] == ex and r["att"] == "none"]
        assert cells.loc[(ex, "additive"), "pairs"] == 4
        assert cells.loc[(ex, "additive"), "p"] == pytest.approx(sps.ttest_rel(mine, base).pvalue)


def test_the_notebook_example_of_the_docs_runs_on_a_real_sweep(real):
    doc = (Path(__file__).resolve().parents[2] / "docs" / "analysis.md").read_text()
    block = doc.split("## In a notebook", 1)[1].split("```python", 1)[1].split("```", 1)[0]
    scope: dict = {}
    exec(block.replace('"results/seed-ablation"', repr(str(real))), scope)
    df, summary = scope["df"], scope["summary"]
    assert list(summary.index) == ["additive", "scaled_dot", "seed_self"]
    assert (summary["count"] == 3).all() and summary["mean"].between(0, 1).all()
    # Typed columns: str (not bytes) ids, keys and statuses; integer seeds; float finals.
    assert all(isinstance(x, str) for x in df.id) and all(isinstance(x, str) for x in df["model.attention.type"])
    assert df["train.seed"].dtype.kind == "i" and df["test/accuracy"].dtype.kind == "f"


def test_holm_correction_baseline_first_and_the_small_n_caveat():
    assert stats.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])  # 3*0.01, max(2*0.03, .03), max(1*0.04, .06)
    recs = []
    for v, gain in (("b", 0.02), ("a", 0.0), ("c", 0.04)):  # 'a', the baseline, sorts after nothing
        for s, noise in ((1, 0.0), (2, 0.004), (3, -0.003)):
            recs.append({"id": f"{v}{s}", "status": "done", "v": v, SEED: s, "test/accuracy": 0.6 + gain + noise * (1 + gain * 50)})
    df = pd.DataFrame(recs)
    raw = stats.ablation(df, "test/accuracy", rows=["v"], baseline="c")
    adj = stats.ablation(df, "test/accuracy", rows=["v"], baseline="c", correction="holm")
    assert adj.row_labels[0] == ("c",)  # the baseline first
    r, a = raw.cells.set_index("v"), adj.cells.set_index("v")
    assert list(a.loc[["a", "b"], "p"]) == pytest.approx(stats.holm(list(r.loc[["a", "b"], "p"])))
    assert (a.loc[["a", "b"], "p"] >= r.loc[["a", "b"], "p"]).all()
    text = stats.render(adj, "markdown")
    assert "Holm-adjusted" in text and "Caveat: 3 matched pair(s)" in text
    assert text.index("| c ") < text.index("| a ")


def test_swept_plugin_nodes_load_as_their_type_and_typed_parameter_columns(tmp_path):
    if not os.path.exists(BIN):
        pytest.skip(f"{BIN} not built")
    spec = tmp_path / "spec.yaml"
    spec.write_text(REAL_SPEC.replace("epochs: 2", "epochs: 1").replace(
        "sweep: {grid: {model.attention.type: [seed_self, scaled_dot, additive]}, seeds: [1, 2, 3]}",
        "sweep: {grid: {model.extractor: [{type: cnn, channels: 8}, {type: cnn, channels: 16}, {type: gru, hidden: 8}]}}"))
    r = subprocess.run([BIN, "sweep", str(spec), "--jobs", "1", "--threads", "1", "--quiet", "--out", str(tmp_path / "s")],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    df = load_sweep(tmp_path / "s")
    assert list(df["model.extractor"]) == ["cnn", "cnn", "gru"]
    assert df["model.extractor.channels"].dtype.kind == "f" or df["model.extractor.channels"].dtype == object
    assert [format_value(v) for v in df["model.extractor.channels"]][:2] == ["8", "16"]
    assert "model.extractor.channels" in df.attrs["params"] and "model.extractor" in df.attrs["params"]
    # The table keeps the three variants apart.
    tab = stats.ablation(df, "test/accuracy", rows=["model.extractor", "model.extractor.channels"])
    assert len(tab.cells) == 3


def test_curves_of_two_factors_get_a_panel_per_level_of_the_first(grid):
    if report_mod.plotly_js() is None:
        pytest.skip("needs python3-plotly")
    d, _ = grid
    html = report_mod.build_report(load_sweep(d))
    curves = html[html.index("<h2>Learning curves</h2>"):]
    assert "a panel per model.attention.type" in curves
    for level in ("none", "seed_self"):
        assert re.search(rf"valid/accuracy (·|\\u00b7) model.attention.type={level}", curves), level  # JSON may escape ·
    # Colours by the other factor, the same in the trials table.
    facet, keys, colours = report_mod.variant_colours(load_sweep(d), ["model.attention.type", "model.embedding", "train.seed"], "train.seed")
    assert facet == "model.attention.type" and keys == ["model.embedding"] and len(colours) == 2


def test_a_loss_that_is_the_logloss_is_shown_once():
    df = pd.DataFrame({"test/loss": [0.3, 0.4], "test/logloss": [0.3, 0.4], "valid/loss": [0.3, 0.5],
                       "valid/logloss": [0.3, 0.4], "test/accuracy": [0.8, 0.9]})
    assert stats.distinct_finals(df, sorted(df.columns)) == ["test/accuracy", "test/logloss", "valid/logloss", "valid/loss"]


def test_rows_and_cols_on_a_grid(grid, capsys):
    d, trials = grid
    code, out, err = run_main(cli.summarize_main, [d, "--rows", "model.attention.type", "--cols", "model.embedding", "--format", "csv"], capsys)
    assert code == 0, err
    got = pd.read_csv(pd.io.common.StringIO(out), keep_default_na=False)
    assert len(got) == 4
    for _, g in got.iterrows():
        vals = [t["acc"] for t in trials.values() if t["params"]["model.attention.type"] == g["model.attention.type"]
                and t["params"]["model.embedding"] == g["model.embedding"]]
        assert g["mean"] == pytest.approx(statistics.mean(vals)) and g["n"] == 2
        assert (g["best"] == "*") == (g["model.attention.type"] == "seed_self")  # best per column
    code, md, _ = run_main(cli.summarize_main, [d, "--rows", "model.attention.type", "--cols", "model.embedding"], capsys)
    assert "model.embedding=16" in md and "model.embedding=32" in md and md.count("**") == 4


def test_markdown_csv_latex_formats(fake, tmp_path, capsys):
    for fmt, needles in {
        "markdown": ["| model.attention.type |", "**", "† ", "p="],
        "csv": ["model.attention.type,metric,mean,std,n,best,p", ",*,"],
        "latex": ["\\toprule", "\\textbf{", "$\\pm$", "seed\\_self", "$^\\dagger$", "\\end{tabular}"],
    }.items():
        out = tmp_path / f"t.{fmt}"
        code, _, err = run_main(cli.summarize_main, [fake["dir"], "--baseline", "none", "--format", fmt, "-o", out], capsys)
        assert code == 0 and f"wrote {out}" in err
        body = out.read_text()
        for n in needles:
            assert n in body, (fmt, n)
    code, out, _ = run_main(cli.summarize_main, [fake["dir"], "--metric", "all"], capsys)
    assert "test/accuracy ↑" in out and "test/logloss ↓" in out and "test/hr@10 ↑" in out


def test_summarize_bad_keys_and_metrics_exit_2(fake, capsys):
    for args, msg in [(["--metric", "test/nope"], "no final metric 'test/nope'"),
                      (["--rows", "model.nope"], "'model.nope' is not a swept key"),
                      (["--baseline", "additive"], "--baseline 'additive' is not a value")]:
        code, _, err = run_main(cli.summarize_main, [fake["dir"], *args], capsys)
        assert code == 2 and msg in err, err


# ---- the fake sweep: figures, attention, report, compare --------------------------------------------


def test_grouped_curves_mean_and_band(fake, tmp_path, capsys):
    code, _, err = run_main(cli.curves_main, [fake["dir"], "--group", "model.attention.type", "--metric", "hr@10", "-o", tmp_path / "g"], capsys)
    assert code == 0, err
    png_ok(tmp_path / "g.png")
    cv = curves(fake["dir"])
    st = dict(plots.group_stats(cv[(cv.split == "valid") & (cv.name == "accuracy") & (cv.status == "done")], ["model.attention.type"]))
    last = st[("none",)].set_index("epoch").loc[3]
    vals = [a - 0.01 for a in _acc("none")]
    assert last["mean"] == pytest.approx(statistics.mean(vals)) and last["std"] == pytest.approx(statistics.stdev(vals))
    code, _, err = run_main(cli.curves_main, [fake["dir"], "--metric", "nope"], capsys)
    assert code == 2 and "no curve valid/nope" in err and "valid/hr@10" in err


def _tiny_trial(d, weights):
    """P = 2 probe samples, T = 4 positions; sample 1 has a padded first position."""
    probe = {"ids": np.array([[7, 8, 9, 10], [0, 21, 22, 23]], dtype=np.int64),
             "mask": np.array([[1, 1, 1, 1], [0, 1, 1, 1]], dtype=np.float32),
             "rows": np.array([0, 1], dtype=np.int64),
             "truth": np.array([2, 2, 3], dtype=np.int64), "truth_offsets": np.array([0, 1, 3], dtype=np.int64)}
    fake_sweep.write_trial(d, "tiny", epochs=[1], probe=probe, attention={"l": {1: np.asarray(weights, dtype=np.float32)}},
                           finals={("test", "accuracy"): 0.5})
    return load_trial(Path(d) / "tiny.h5")


def test_precision_at_k_by_hand(tmp_path):
    # [P, T]: sample 0 truth {2}, top-1 = position 1 -> 0; sample 1 truth {2, 3}, the padded position
    # 0 (weight 0.9) never counts, top-2 of 1..3 = {2, 3} -> 1. Trial: (0 + 1) / 2.
    t = _tiny_trial(tmp_path, [[0.1, 0.5, 0.3, 0.1], [0.9, 0.2, 0.5, 0.3]])
    row = att.trial_precision(t).iloc[0]
    assert (row.layer, row.epoch, row.probes) == ("l", 1, 2) and row.precision == 0.5
    assert att.trial_precision(t, k=2).precision.iloc[0] == pytest.approx((0.5 + 1.0) / 2)  # {1, 2} ∩ {2}
    # Ties go to the earlier position: [.25 .25 .25 .25] with truth {2}: top-1 = 0 -> 0.
    s = att.key_scores(np.full((1, 4), 0.25), np.ones((1, 4)))
    assert att.precision_at_k(s, [np.array([2])])[0] == 0.0


def test_precision_self_attention_mean_vs_last_query(tmp_path):
    # [P, T, T] with P = 1 (only sample 0 of the tiny probe is used: both samples equal here).
    # Queries 0..2 look at key 2 (truth), the last query looks at key 0:
    #   mean over queries: key 2 gets (1 + 1 + 1 + 0) / 4 = 0.75 -> top-1 = 2 -> precision 1
    #   last query:        key 0 gets 1                           -> top-1 = 0 -> precision 0
    w = np.zeros((2, 4, 4))
    w[:, :3, 2] = 1.0
    w[:, 3, 0] = 1.0
    t = _tiny_trial(tmp_path, w)
    mean_ = att.precision_at_k(att.key_scores(w, t.probe["mask"], "mean"), t.truth())
    last = att.precision_at_k(att.key_scores(w, t.probe["mask"], "last"), t.truth())
    assert mean_[0] == 1.0 and last[0] == 0.0
    # Sample 1: position 0 is padding (its row and column never count); keys 1..3 get
    # mean (0 + 0 + 1 + 0)/3 for key 2 -> top-2 = {2, then 1 (tie 0 with 3, earlier wins)} -> 1/2.
    assert mean_[1] == 0.5
    # [P, H, T, T]: heads are averaged first. Head 0 = w, head 1 puts everything on key 1.
    h1 = np.zeros_like(w)
    h1[:, :, 1] = 1.0
    wh = np.stack([w, h1], axis=1)
    s = att.key_scores(wh, t.probe["mask"], "mean")
    assert s[0].tolist() == pytest.approx([0.125, 0.5, 0.375, 0.0])  # key 0: (0.25 + 0) / 2; key 1: (0 + 1) / 2


def test_heatmaps_name_tokens_by_the_trial_vocabulary(tmp_path):
    # /data/tokens maps ids to words: the heatmap's ticks are words; without it, the ids.
    probe = {"ids": np.array([[0, 3, 2]], dtype=np.int64), "mask": np.array([[0, 1, 1]], dtype=np.float32)}
    att_ = {"pool": {1: np.array([[0.0, 0.7, 0.3]], dtype=np.float32)}}
    data = {"protocol": "p", "split_sizes": {"train": 1}, "report": ["r"], "tokens": ["<pad>", "<oov>", "free", "prize"]}
    fake_sweep.write_trial(tmp_path, "words", epochs=[1], probe=probe, attention=att_, data=data)
    t = load_trial(tmp_path / "words.h5")
    assert t.data["tokens"] == ["<pad>", "<oov>", "free", "prize"]
    assert att.heatmap_data(t, t.attention["pool"][1], 0)[1] == ["prize", "free"]
    fake_sweep.write_trial(tmp_path, "ids", epochs=[1], probe=probe, attention=att_)
    t = load_trial(tmp_path / "ids.h5")
    assert att.heatmap_data(t, t.attention["pool"][1], 0)[1] == ["3", "2"]


def test_image_probes_and_layers_over_other_positions(tmp_path):
    # Images: probe inputs [P, T, F] instead of ids; ticks are positions. A layer over 3 positions
    # (e.g. cnn2d's outputs) does not fit the probe's 4: drawn, but no truth and no precision.
    probe = {"inputs": np.zeros((1, 4, 3), dtype=np.float32), "mask": np.ones((1, 4), dtype=np.float32),
             "truth": np.array([1], dtype=np.int64), "truth_offsets": np.array([0, 1], dtype=np.int64)}
    att_ = {"pool": {2: np.array([[0.1, 0.6, 0.2, 0.1]], dtype=np.float32)}, "spatial": {2: np.full((1, 3, 3), 1 / 3, dtype=np.float32)}}
    fake_sweep.write_trial(tmp_path, "img", epochs=[1, 2], probe=probe, attention=att_)
    t = load_trial(tmp_path / "img.h5")
    mat, xs, ys, tcols = att.heatmap_data(t, t.attention["pool"][2], 0)
    assert xs == ["0", "1", "2", "3"] and ys == [""] and tcols == [1]
    assert att.heatmap_data(t, t.attention["spatial"][2], 0)[3] == []
    prec = att.trial_precision(t)
    assert list(prec.layer) == ["pool"] and prec.precision.iloc[0] == 1.0
    for layer in ("pool", "spatial"):
        fig = att.plot_heatmaps(t, layer)
        assert len(fig.axes) == 2  # the probe's panel and its colorbar
        plots.pyplot().close(fig)


def test_attention_script_precision_table_and_chart(fake, tmp_path, capsys):
    code, out, err = run_main(cli.attention_main, [fake["dir"], "--probes", "1", "-o", tmp_path / "a"], capsys)
    assert code == 0, err
    # seed_self seeds 1, 2 find every truth; seed 3 misses sample 0's: precision (1, 1, 2/3).
    want = [1.0, 1.0, 2 / 3]
    line = next(line for line in out.splitlines() if line.startswith("| seed_self | attention |"))
    assert f"{statistics.mean(want):.3f} ± {statistics.stdev(want):.3f} | 3 |" in line
    for layer in ("attention", "mha", "pool"):
        tid = fake_sweep.trial_id({"model.attention.type": "seed_self", "train.seed": 1})
        png_ok(tmp_path / f"a-{tid}-{layer}.png")
        svg_ok(tmp_path / f"a-{tid}-{layer}.svg")
    png_ok(tmp_path / "a-precision.png")
    code, out, _ = run_main(cli.attention_main, [fake["dir"], "--no-heatmaps", "--format", "csv", "--epoch", "1", "-o", tmp_path / "b"], capsys)
    assert code == 0 and out.startswith("model.attention.type,layer,epoch,mean,std,n")
    code, _, err = run_main(cli.attention_main, [fake["dir"], "--layer", "attention", "--epoch", "9"], capsys)
    assert code == 2 and "layer 'attention' has no epoch 9 (epochs: 1, 2, 3)" in err
    code, _, err = run_main(cli.attention_main, [fake["dir"], "--epoch", "9"], capsys)
    assert code == 2 and "no attention weights at epoch 9" in err


def test_report_sections(fake, reports):
    page = reports(fake["dir"]).read_text()
    for needle in ["Summary", "Learning curves", "Attention", "Precision@k", "Failed trials", "Trial details",
                   "loss is NaN at epoch 2 batch 17", "random 0.8/0.1/0.1 seed 3", "fake-host", "seed_self",
                   "embedding: 16", "data:image/png;base64,", fake["running"]]:
        assert needle in page, needle
    assert page.count("<details>") == 7
    assert "(n=3, baseline)" in page and "p=" in page


@pytest.mark.parametrize("which", ["fake", "real"])
def test_report_screenshot_is_not_blank(which, fake, reports, tmp_path, request):
    chromium = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)
    if chromium is None:
        pytest.skip("chromium not installed")
    page = reports(fake["dir"] if which == "fake" else request.getfixturevalue("real"))
    shot = tmp_path / "shot.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={shot}", "--window-size=1200,900",
                    f"file://{page}"], capture_output=True, timeout=60)
    assert shot.exists(), "chromium wrote no screenshot"
    import matplotlib.image

    img = matplotlib.image.imread(str(shot))
    assert img.shape[0] == 900 and img.shape[1] == 1200
    assert img[..., :3].std() > 0.05
    assert len(np.unique(img[..., :3].reshape(-1, 3).round(2), axis=0)) > 10


def test_interactive_curves_render_in_chromium(request, tmp_path):
    # The learning-curve figure of a real sweep, drawn by plotly.js in headless Chromium: one colour
    # per attention variant, the same in every panel, lines not blank.
    chromium = shutil.which("chromium")
    if chromium is None or report_mod.plotly_js() is None:
        pytest.skip("needs chromium and python3-plotly")
    sweep = request.getfixturevalue("real")
    df = load_sweep(sweep)
    html = report_mod.build_report(df)
    start = html.index("<h2>Learning curves</h2>")
    page = tmp_path / "curves.html"
    page.write_text(html[: html.index("<body>") + 6] + html[start : html.index("<h2>", start + 10)] + "</body></html>")
    shot = tmp_path / "curves.png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000",
                    f"--screenshot={shot}", "--window-size=1200,900", f"file://{page}"], capture_output=True, timeout=120)
    assert shot.exists(), "chromium wrote no screenshot"
    import matplotlib.image

    img = matplotlib.image.imread(str(shot))[..., :3]
    from plotly.colors import hex_to_rgb, qualitative

    # The trials table marks each trial with its variant's colour, the one its curves have.
    for variant, hexcol in zip(["additive", "scaled_dot", "seed_self"], qualitative.Plotly[:3]):
        row = html.index(f'<span class="swatch" style="background:{hexcol}"></span>')
        assert variant in html[row: html.index("</tr>", row)]
    for hexcol in qualitative.Plotly[:3]:  # three variants: additive, scaled_dot, seed_self
        rgb = np.array(hex_to_rgb(hexcol)) / 255.0
        hits = (np.abs(img - rgb).max(axis=2) < 0.04).sum()
        assert hits > 30, f"no line drawn in {hexcol} ({hits} pixels)"


def test_compare_two_trials(fake, capsys):
    a = fake_sweep.trial_id({"model.attention.type": "none", "train.seed": 1})
    b = fake_sweep.trial_id({"model.attention.type": "seed_self", "train.seed": 1})
    fa, fb = fake["trials"][a]["file"], fake["trials"][b]["file"]
    code, out, err = run_main(cli.compare_main, [fa, fb, "--format", "csv"], capsys)
    assert code == 0, err
    got = pd.read_csv(pd.io.common.StringIO(out)).set_index("metric")
    xa, xb = fake_sweep.ACCURACY[("none", 1)], fake_sweep.ACCURACY[("seed_self", 1)]
    assert got.loc["test/accuracy", "delta"] == pytest.approx(xb - xa)
    assert got.loc["test/accuracy", "rel_pct"] == pytest.approx(100 * (xb - xa) / xa)
    code, out, _ = run_main(cli.compare_main, [fa, fb], capsys)
    assert "| model.attention.type | none | seed_self |" in out and f"{xb - xa:+.4f}" in out


def test_compare_two_sweeps_matched_on_swept_keys(fake, tmp_path, capsys):
    d = tmp_path / "b"
    shutil.copytree(fake["dir"], d)
    for tid in fake["done"]:
        with h5py.File(d / f"{tid}.h5", "r+") as f:
            f["final/test/accuracy"][()] = f["final/test/accuracy"][()] + 0.01
    code, out, err = run_main(cli.compare_main, [fake["dir"], d, "--metric", "test/accuracy", "--format", "csv"], capsys)
    assert code == 0, err
    got = pd.read_csv(pd.io.common.StringIO(out)).set_index("model.attention.type")
    for v in fake_sweep.VARIANTS:
        assert got.loc[v, "A"] == pytest.approx(statistics.mean(_acc(v)))
        assert got.loc[v, "delta"] == pytest.approx(0.01)
        assert got.loc[v, "rel_pct"] == pytest.approx(100 * 0.01 / statistics.mean(_acc(v)))
        assert got.loc[v, "n_A"] == 3 and got.loc[v, "n_B"] == 3
    code, out, _ = run_main(cli.compare_main, [fake["dir"], d, "--per-seed", "--metric", "accuracy", "--format", "csv"], capsys)
    assert len(pd.read_csv(pd.io.common.StringIO(out))) == 6
    code, _, err = run_main(cli.compare_main, [fake["dir"], fake["trials"][fake["done"][0]]["file"]], capsys)
    assert code == 2 and "two trials or two sweeps" in err


# ---- errors ------------------------------------------------------------------------------------------


MAINS = [cli.summarize_main, cli.curves_main, cli.attention_main, cli.report_main]


@pytest.fixture(scope="module")
def foreign(tmp_path_factory):
    d = tmp_path_factory.mktemp("foreign")
    with h5py.File(d / "other.h5", "w") as f:
        f["x"] = np.arange(3)
    (d / "notes.txt").write_text("not hdf5\n")
    (d / "empty").mkdir()
    running = d / "running"
    running.mkdir()
    fake_sweep.write_trial(running, "abc123", status="running", tmp=True)
    return d


@pytest.mark.parametrize("main", MAINS, ids=lambda m: m.__name__)
def test_missing_and_foreign_inputs_exit_2(main, foreign, capsys):
    cases = [(foreign / "nope.h5", "no such file: "),
             (foreign / "other.h5", "is not an attnlab trial/index file"),
             (foreign / "notes.txt", "is not an attnlab trial/index file"),
             (foreign / "empty", "no finished trials yet"),
             (foreign / "running", "no finished trials yet (no <id>.h5 trial files) (1 running: abc123)")]
    for path, msg in cases:
        code, _, err = run_main(main, [path], capsys)
        assert code == 2, (path, err)
        assert msg in err and str(path) in err, err


def test_load_errors_are_analysis_errors(foreign):
    with pytest.raises(AnalysisError, match="no such file"):
        load_trial(foreign / "nope.h5")
    with pytest.raises(AnalysisError, match="not an attnlab trial/index file"):
        load_trial(foreign / "other.h5")
    with pytest.raises(AnalysisError, match="not an attnlab trial/index file"):
        load_sweep(foreign / "notes.txt")


def test_compare_missing_and_foreign_files_exit_2(foreign, fake, capsys):
    code, _, err = run_main(cli.compare_main, [fake["dir"], foreign / "nope"], capsys)
    assert code == 2 and f"no such file: {foreign / 'nope'}" in err
    trial = fake["trials"][fake["done"][0]]["file"]
    for other in ("other.h5", "notes.txt"):
        code, _, err = run_main(cli.compare_main, [trial, foreign / other], capsys)
        assert code == 2 and f"{foreign / other} is not an attnlab trial/index file" in err, err


# ---- the executables ------------------------------------------------------------------------------


@pytest.mark.parametrize("script", ["summarize", "curves", "attention", "report", "compare"])
def test_script_help(script):
    r = subprocess.run([sys.executable, str(SCRIPTS / script), "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and "usage:" in r.stdout and "examples:" in r.stdout


def test_script_runs_through_its_shebang_and_exits_2(tmp_path):
    script = SCRIPTS / "summarize"
    assert os.access(script, os.X_OK) and script.read_text().startswith("#!/usr/bin/env python3\n")
    r = subprocess.run([str(script), str(tmp_path / "missing")], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and f"summarize: error: no such file: {tmp_path / 'missing'}" in r.stderr
