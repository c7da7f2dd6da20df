"""summarize and report on a partial or stale sweep say so: N of M trials finished (M from
sweep.yaml's '# trials:' line), which trials are running, pending or missing, what index.h5 gets
wrong; a trial whose file is gone is never shown with results; columns do not vanish because only
some trials have finished (or have a metric)."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent / "analysis"))

import fake_sweep  # noqa: E402
from attnlab_analysis import cli, load_sweep  # noqa: E402

BIN = os.environ.get("ATTNLAB_BIN", str(ROOT / "build" / "attnlab"))


def run(main, args, capsys):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def section(page, start, end):
    return page[page.index(start):page.index(end)]


def report_page(d, tmp_path, capsys):
    out = tmp_path / "report.html"
    code, _, err = run(cli.report_main, [d, "-o", out], capsys)
    assert code == 0, err
    return out.read_text(), err


def list_trials(d, ids):
    """sweep.yaml as the runner writes it: the trial list on its second line, then the spec."""
    text = (d / "sweep.yaml").read_text() if (d / "sweep.yaml").exists() else "name: grid\n"
    (d / "sweep.yaml").write_text(f"# fingerprint: 0123456789abcdef\n# trials: {' '.join(ids)}\n# spec: spec.yaml\n" + text)


# ---- a deleted trial file --------------------------------------------------------------------------


def test_a_deleted_trial_file_is_missing_not_a_result(tmp_path, capsys):
    d = tmp_path / "sweep"
    info = fake_sweep.make_sweep(d)
    gone = info["done"][0]  # none, seed 1: the index lists it with its results
    (d / f"{gone}.h5").unlink()

    df = load_sweep(d)
    assert gone not in set(df.id)
    state = df.attrs["completeness"]
    assert list(state.missing) == [gone] and "file deleted" in state.missing[gone]
    assert any("whose file is gone" in s for s in state.stale)

    code, out, err = run(cli.summarize_main, [d, "--baseline", "off"], capsys)
    assert code == 0, err
    banner = out.split("\n\n")[0]
    assert "6 of 8 trials finished (5 done, 1 failed)" in banner, out
    assert f"1 missing (file deleted; no results shown): {gone} (model.attention.type=none train.seed=1)" in banner
    none = [fake_sweep.ACCURACY[("none", s)] for s in (2, 3)]  # the deleted seed is not in the cell
    assert f"| none | {np.mean(none):.4f} ± {np.std(none, ddof=1):.4f} (n=2) |" in out, out

    page, err = report_page(d, tmp_path, capsys)
    top = section(page, 'id="completeness"', "<h2>At a glance</h2>")
    assert "PARTIAL sweep: 6 of 8 trials finished" in top and "missing 1" in top  # one trial still runs
    assert f"<td>{gone}</td><td>missing</td><td>model.attention.type=none train.seed=1</td>" in top
    rest = page[page.index("<h2>At a glance</h2>"):]
    assert gone not in rest  # not in the tables, the best trials, the curves or the details
    assert "missing" in err


def test_an_unreadable_trial_file_is_missing(tmp_path, capsys):
    d = tmp_path / "sweep"
    info = fake_sweep.make_sweep(d)
    bad = info["done"][3]  # seed_self, seed 1
    (d / f"{bad}.h5").write_bytes(b"not hdf5 at all")  # rewritten after the index: newer than it
    df = load_sweep(d)
    assert bad not in set(df.id) and df.attrs["completeness"].missing == {bad: "<id>.h5 unreadable"}
    code, out, err = run(cli.summarize_main, [d, "--baseline", "off"], capsys)
    assert code == 0, err
    assert f"1 missing (<id>.h5 unreadable; no results shown): {bad} (model.attention.type=seed_self train.seed=1)" in out, out


def test_a_deleted_trial_of_a_real_sweep(tmp_path, capsys):
    if not os.path.exists(BIN):
        pytest.skip(f"{BIN} not built")
    spec = tmp_path / "spec.yaml"
    spec.write_text("""name: tiny
data:
  dataset: {type: marker, train: 128, valid: 32, test: 32, seq_len: 6, vocab: 20, classes: 4}
model: {embedding: 8, extractor: {type: lstm, hidden: 8}, attention: {type: seed_self}, pooling: {type: flatten}, head: {type: classification}}
train: {epochs: 1, batch_size: 16, optimizer: {type: adam, lr: 0.01}}
eval: {metrics: [accuracy], select: accuracy}
sweep: {grid: {model.attention.type: [none, seed_self]}, seeds: [1, 2]}
""")
    d = tmp_path / "s"
    r = subprocess.run([BIN, "sweep", str(spec), "--jobs", "1", "--threads", "1", "--quiet", "--out", str(d)],
                       capture_output=True, text=True, timeout=300, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    code, out, _ = run(cli.summarize_main, [d], capsys)
    assert code == 0 and "complete, 4 of 4 trials finished (4 done, 0 failed)" in out, out
    ids = re.search(r"^# trials: (.*)$", (d / "sweep.yaml").read_text(), re.M).group(1).split()
    (d / f"{ids[2]}.h5").unlink()  # seed_self, seed 1
    code, out, _ = run(cli.summarize_main, [d], capsys)
    assert code == 0
    assert out.startswith("> sweep tiny: INCOMPLETE: 3 of 4 trials finished (3 done, 0 failed); 1 missing"), out
    assert ids[2] in out.split("\n\n")[0] and "(n=1" in out  # seed_self has one result left
    page, _ = report_page(d, tmp_path, capsys)
    assert ids[2] not in page[page.index("<h2>At a glance</h2>"):]


# ---- a partial sweep ------------------------------------------------------------------------------


def partial_grid(d):
    """The complete 2 x 2 x 2 grid sweep, plus three trials sweep.yaml lists that have no file: one
    the ledger says is running, one with only a progress file saying running, one never started."""
    trials = fake_sweep.make_grid_sweep(d)
    extra = ["aaaaaaaaaaa1", "aaaaaaaaaaa2", "aaaaaaaaaaa3"]
    list_trials(d, [*trials, *extra])
    fake_sweep.write_ledger(d, [*((t, "done", "") for t in trials), (extra[0], "planned", ""),
                                (extra[1], "planned", ""), (extra[2], "planned", ""),
                                (extra[0], "running", "model.embedding=64 train.seed=1")])
    (d / f"{extra[1]}.progress.yaml").write_text(f"id: {extra[1]}\nlabel: 'model.embedding=64 train.seed=2'\n"
                                                 "status: running\nepoch: 1\nepochs: 2\n")
    return trials, extra


def test_a_partial_sweep_says_x_of_y(tmp_path, capsys):
    d = tmp_path / "sweep"
    trials, (running, progress, pending) = partial_grid(d)
    state = load_sweep(d).attrs["completeness"]
    assert (state.finished, state.total) == (8, 11)
    assert state.running == [running, progress] and state.pending == [pending] and not state.missing

    code, out, err = run(cli.summarize_main, [d], capsys)
    assert code == 0, err
    banner = out.split("\n\n")[0]
    assert banner.startswith("> sweep grid: PARTIAL: 8 of 11 trials finished (8 done, 0 failed)"), out
    assert f"2 running: {running}, {progress}" in banner and f"1 pending: {pending}" in banner

    # CSV and files: the table stays clean, the warning goes to stderr.
    code, out, err = run(cli.summarize_main, [d, "--format", "csv"], capsys)
    assert code == 0 and "PARTIAL" not in out and "summarize: warning: sweep grid: PARTIAL: 8 of 11" in err

    page, _ = report_page(d, tmp_path, capsys)
    top = section(page, 'id="completeness"', "<h2>At a glance</h2>")
    assert "PARTIAL sweep: 8 of 11 trials finished" in top
    for tid, label in [(running, "model.embedding=64 train.seed=1"), (progress, "model.embedding=64 train.seed=2"),
                       (pending, "")]:
        assert f"<td>{tid}</td>" in top and label in top
    assert page.index('id="completeness"') < page.index("<h2>At a glance</h2>")


def test_a_complete_sweep_says_so(tmp_path, capsys):
    d = tmp_path / "sweep"
    trials = fake_sweep.make_grid_sweep(d)
    list_trials(d, list(trials))
    code, out, _ = run(cli.summarize_main, [d], capsys)
    assert code == 0 and out.rstrip().endswith("sweep grid: complete, 8 of 8 trials finished (8 done, 0 failed)"), out
    page, _ = report_page(d, tmp_path, capsys)
    assert 'class="banner complete"' in page and "complete: 8 of 8 trials finished" in page


def test_a_stale_index_of_a_running_sweep(tmp_path, capsys):
    # make_sweep: one trial still running (.h5.tmp), one finished after the index was written.
    info = fake_sweep.make_sweep(tmp_path / "sweep")
    state = load_sweep(info["dir"]).attrs["completeness"]
    assert (state.finished, state.total) == (7, 8) and state.running == [info["running"]]
    assert any(info["late"] in s and "newer than index.h5" in s for s in state.stale)
    code, out, _ = run(cli.summarize_main, [info["dir"]], capsys)
    banner = out.split("\n\n")[0]
    assert "PARTIAL: 7 of 8 trials finished (6 done, 1 failed)" in banner and f"1 running: {info['running']}" in banner
    assert "sweep.yaml lists no trials" in banner and "stale index" in banner


# ---- columns do not vanish ---------------------------------------------------------------------------


PLUGIN_SWEEP = """name: plugin-grid
sweep:
  grid:
    model.attention.type: [none, seed_self]
    model.extractor:
      - {type: lstm, hidden: 8}
      - {type: lstm, hidden: 16}
"""


def test_a_running_sweep_keeps_the_columns_of_the_whole_sweep(tmp_path, capsys):
    # Only the first trial (none, hidden 8) has finished: the swept keys that have one value so far
    # (model.attention.type) or whose plugin nodes differ in a parameter (model.extractor.hidden)
    # keep their columns, and the table its layout.
    d = tmp_path / "sweep"
    d.mkdir()
    ids = [fake_sweep.trial_id({"a": a, "h": h}) for a in ("none", "seed_self") for h in (8, 16)]
    fake_sweep.write_trial(d, ids[0], config=fake_sweep.config_yaml({}), epochs=[1],
                           curves={("valid", "accuracy"): [0.7]}, finals={("test", "accuracy"): 0.7})
    fake_sweep.write_index(d, [{"id": ids[0], "status": "done", "model.attention.type": "none",
                                "model.extractor": "{hidden: 8, type: lstm}", "file": f"{ids[0]}.h5",
                                "finals": {"test/accuracy": 0.7}}],
                           ["model.attention.type", "model.extractor"], ["test/accuracy"])
    fake_sweep.write_trial(d, ids[1], status="running", tmp=True)
    (d / "sweep.yaml").write_text(PLUGIN_SWEEP)
    list_trials(d, ids)

    df = load_sweep(d)
    assert list(df.columns[:5]) == ["id", "status", "model.attention.type", "model.extractor", "model.extractor.hidden"]
    assert df["model.extractor.hidden"].iloc[0] == 8
    code, out, err = run(cli.summarize_main, [d], capsys)
    assert code == 0, err
    assert "| model.attention.type | model.extractor.hidden=8 |" in out, out
    assert "PARTIAL: 1 of 4 trials finished" in out and f"1 running: {ids[1]}" in out


def test_a_metric_some_trials_lack_is_kept_and_said(tmp_path, capsys):
    d = tmp_path / "sweep"
    trials = fake_sweep.make_grid_sweep(d)
    ids = list(trials)
    rows = []
    for i, (tid, t) in enumerate(trials.items()):  # the first two trials also have test/auc
        finals = {("test", "accuracy"): t["acc"], ("test", "loss"): round(1 - t["acc"], 6)}
        if i < 2:
            finals[("test", "auc")] = 0.9
        fake_sweep.write_trial(d, tid, config=fake_sweep.config_yaml(t["params"]), epochs=[1],
                               curves={("valid", "accuracy"): [t["acc"]]}, finals=finals)
        rows.append({"id": tid, "status": "done", **t["params"], "file": f"{tid}.h5",
                     "finals": {f"{a}/{b}": v for (a, b), v in finals.items()}})
    fake_sweep.write_index(d, rows, ["model.attention.type", "model.embedding", "train.seed"],
                           ["test/accuracy", "test/auc", "test/loss"])
    df = load_sweep(d)
    assert "test/auc" in df.columns and df["test/auc"].notna().sum() == 2 and df["test/auc"].isna().sum() == 6
    code, out, err = run(cli.summarize_main, [d, "--metric", "test/auc"], capsys)
    assert code == 0, err
    assert "6 done trial(s) without test/auc left out of its cells: " + ", ".join(ids[2:7]) in out, out
    page, _ = report_page(d, tmp_path, capsys)
    trials_html = section(page, "<h2>Trials</h2>", "<h2>Learning curves</h2>")
    assert "<th>test/auc</th>" in trials_html
    assert "test/auc: 6 done trial(s) without it" in trials_html


def test_a_directory_of_sweeps_names_the_partial_ones(tmp_path, capsys):
    parent = tmp_path / "runs"
    trials = fake_sweep.make_grid_sweep(parent / "full")
    list_trials(parent / "full", list(trials))
    info = fake_sweep.make_sweep(parent / "part")  # one trial still running
    code, out, _ = run(cli.summarize_main, [parent, "--rows", "sweep"], capsys)
    assert code == 0
    banner = out.split("\n\n")[0].splitlines()
    assert len(banner) == 1 and banner[0].startswith("> sweep part: PARTIAL: 7 of 8 trials finished"), out
    assert f"1 running: {info['running']}" in banner[0]
