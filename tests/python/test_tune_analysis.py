"""Reading a tuning run (docs/tune.md, "Reading a tuning run"): scripts/summarize and scripts/report
on an `attnlab tune` directory, and best.spec.yaml, the best trial as a spec that reruns it.

A real tiny study runs once through the CLI (grid over a good and an absurd learning rate times two
extractors: two complete trials, two pruned at epoch 3), a second one samples numbers (random
search over a log-uniform rate and an int). Studies the driver cannot make (several objectives, no
complete trial) are built with Optuna's API. Expected rows, orders and values come from the study
itself, never typed from a run."""
import csv
import importlib.util
import io
import json
import math
import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
SCRIPTS = os.path.join(ROOT, "scripts")
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
sys.path.insert(0, SCRIPTS)
from test_tune import write_spec  # noqa: E402 - the same tiny spec as the driver's tests

pytestmark = [pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                 reason="optuna not installed (apt-get install python3-optuna)"),
              pytest.mark.filterwarnings("ignore:JournalStorage is experimental"),
              pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")]
needs_bin = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")

# Grid: the absurd rate learns nothing and is pruned at epoch 3 (the first after the warm-up).
GRID = """    train.optimizer.lr: {choice: [0.03, 1.0e-9]}
    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: gru, hidden: 8}]}
  warmup_epochs: 2
"""
NUMBERS = """    train.optimizer.lr: {loguniform: [1.0e-3, 3.0e-2]}
    model.embedding: {int: [4, 12]}
"""


def run_cli(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.setdefault("ATTNLAB_TUNE_DRIVER", os.path.join(SCRIPTS, "tune"))
    return subprocess.run(list(args), capture_output=True, text=True, timeout=timeout, env=env)


def script(name, *args):
    return run_cli(sys.executable, os.path.join(SCRIPTS, name), *args)


def tune(tmp, epochs, n_trials, sampler, pruner, space):
    """A study through the CLI, on test_tune.py's spec (the marker task, log.dir tmp/results)."""
    tmp.mkdir(parents=True, exist_ok=True)
    spec = write_spec(tmp, epochs=epochs, n_trials=n_trials, sampler=sampler, space=space, pruner=pruner)
    r = run_cli(BIN, "tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    return tmp / "results" / "tiny-tune", r.stdout


@pytest.fixture(scope="module")
def grid_run(tmp_path_factory):
    if not os.path.exists(BIN):
        pytest.skip(f"{BIN} not built")
    return tune(tmp_path_factory.mktemp("grid"), 4, 4, "grid", "median", GRID)


@pytest.fixture(scope="module")
def numbers_run(tmp_path_factory):
    if not os.path.exists(BIN):
        pytest.skip(f"{BIN} not built")
    return tune(tmp_path_factory.mktemp("numbers"), 2, 3, "random", "none", NUMBERS)


def load_study(d):
    import optuna

    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(d / "study.journal")))
    return optuna.load_study(study_name="attnlab", storage=storage)


def markdown_rows(text):
    """The rows of the first Markdown table in `text`, as dicts."""
    lines = [line for line in text.splitlines() if line.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(head, [c.strip() for c in line.strip("|").split("|")])) for line in lines[2:]]


def results_file(d):
    files = [f for f in os.listdir(d) if f.endswith(".h5") and f != "index.h5" and not f.endswith(".ckpt.h5")]
    assert len(files) == 1, os.listdir(d)
    return os.path.join(d, files[0])


def config_of(path):
    import h5py

    with h5py.File(path, "r") as f:
        h = f["config"].attrs["hash"]
        text = f["config/yaml"][()]
    return (h.decode() if isinstance(h, bytes) else h), (text.decode() if isinstance(text, bytes) else str(text))


# ---- a real study ----------------------------------------------------------------------------------


def test_summarize_prints_completeness_trials_best_first_and_the_best(grid_run):
    import optuna

    d, _ = grid_run
    study = load_study(d)
    r = script("summarize", str(d))
    assert r.returncode == 0, r.stderr
    out = r.stdout
    states = [t.state for t in study.trials]
    n_complete = states.count(optuna.trial.TrialState.COMPLETE)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert n_complete == 2 and len(pruned) == 2, states  # the fixture's premise: 0.03 completes, 1e-9 is pruned
    assert f"4 of 4 trials finished: {n_complete} complete, 2 pruned (at epoch 3 ×2), 0 failed — complete" in out, out

    rows = markdown_rows(out)
    assert len(rows) == 4
    complete = sorted((t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE),
                      key=lambda t: (-t.value, t.number))
    # Best first: the complete trials by value, then the pruned ones.
    assert [int(r["trial"]) for r in rows[:2]] == [t.number for t in complete], out
    assert rows[0]["state"] == "complete (best)" and rows[1]["state"] == "complete"
    assert {int(r["trial"]) for r in rows[2:]} == {t.number for t in pruned}
    assert all(r["state"] == "pruned" and r["epoch"] == "pruned at 3" for r in rows[2:]), rows
    assert all(r["epoch"] == "4" for r in rows[:2]), rows
    assert float(rows[0]["valid/accuracy ↑"]) == pytest.approx(complete[0].value, abs=1e-4)
    # Sampled values as short columns; the plugin nodes as their types.
    by_number = {t.number: t for t in study.trials}
    for row in rows:
        t = by_number[int(row["trial"])]
        assert row["lr"] == t.params["train.optimizer.lr"], row  # a choice: its text as sampled
        assert row["extractor"] == ("gru" if "gru" in t.params["model.extractor"] else "lstm"), row
    assert "lr = train.optimizer.lr" in out and "extractor = model.extractor" in out
    assert f"best trial {complete[0].number}: valid/accuracy" in out
    assert "train.optimizer.lr=0.03" in out.split("best trial")[1]
    assert "rerun: attnlab run" in out and "best.spec.yaml" in out


def test_summarize_csv_and_extra_metrics_come_from_the_files(grid_run):
    import optuna

    d, _ = grid_run
    study = load_study(d)
    r = script("summarize", str(d), "--format", "csv", "--metric", "test/accuracy")
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(r.stdout)))
    assert [row["trial"] for row in rows][:2] == [str(t.number) for t in sorted(
        (t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE), key=lambda t: (-t.value, t.number))]
    for row in rows:
        t = study.trials[int(row["trial"])]
        if row["state"] == "complete":
            assert float(row["valid/accuracy"]) == t.value  # in full
            import h5py

            with h5py.File(results_file(d / t.user_attrs["trial_dir"]), "r") as f:
                assert float(row["test/accuracy"]) == float(f["final/test/accuracy"][()])
        else:
            assert row["state"] == "pruned" and row["epoch"] == "3" and row["valid/accuracy"] == ""


@needs_bin
def test_best_spec_reruns_the_best_trial_to_the_same_config_hash(grid_run, tmp_path):
    d, stdout = grid_run
    spec = d / "best.spec.yaml"
    assert spec.exists() and f"rerun it: attnlab run {spec}" in stdout, stdout  # the driver wrote it
    best = load_study(d).best_trial
    want_hash, want_yaml = config_of(results_file(d / best.user_attrs["trial_dir"]))
    text = spec.read_text()
    assert "\ntune:" not in text and f"config hash: {want_hash}" in text
    r = run_cli(BIN, "run", str(spec), "--quiet", "--threads", "1", "--out", str(tmp_path / "rerun"))
    assert r.returncode == 0, r.stdout + r.stderr
    got_hash, got_yaml = config_of(results_file(tmp_path / "rerun"))
    assert got_hash == want_hash
    assert got_yaml == want_yaml
    # A spec of a different trial would not: the test can fail.
    other = next(t for t in load_study(d).trials if t.number != best.number and t.user_attrs.get("trial_dir"))
    other_files = [f for f in os.listdir(d / other.user_attrs["trial_dir"]) if f.endswith(".h5") and f != "index.h5"]
    assert not any(f.startswith(got_hash[:12]) for f in other_files)


def test_report_has_every_section_and_the_figures_data(grid_run):
    import optuna

    d, _ = grid_run
    study = load_study(d)
    out = d / "page.html"
    r = script("report", str(d), "-o", str(out))
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    for title in ("Best trial", "Trials", "Optimisation history", "Parameter importances", "Pruning",
                  "Parallel coordinates", "Slices"):
        assert f"<h2>{title}" in page, title
    assert "4 of 4 trials finished" in page and 'class="banner complete"' in page
    assert 'href="best.spec.yaml"' in page  # the page sits in the tuning directory
    # Offline: plotly.js is embedded (the first script), no script is loaded from anywhere.
    scripts = re.findall(r"<script[^>]*>", page.replace(plotly_js(), ""))
    assert plotly_js() in page and not [s for s in scripts if "src=" in s], scripts
    complete = [t.number for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    history = figure_data(page, "history-0")
    assert any(trace.get("x") == complete for trace in history), history  # trial numbers on the x axis
    pruning = figure_data(page, "pruning")
    for t in study.trials:
        trace = next(tr for tr in pruning if tr.get("name", "").startswith(f"trial {t.number} "))
        assert trace["x"] == sorted(t.intermediate_values), trace
    marks = [tr for tr in pruning if tr.get("marker", {}).get("symbol") == "x"]
    assert sorted(m["x"][0] for m in marks) == [3, 3]  # the pruned trials, at the epoch they stopped
    importance = figure_data(page, "importance-0")
    assert set(importance[0]["y"]) == {"lr", "extractor"}


def plotly_js():
    import plotly.offline

    return plotly.offline.get_plotlyjs()


def figure_data(page, name):
    """The traces of the plotly figure in <div id="fig-NAME">."""
    start = page.index(f'<div id="fig-{name}"')
    chunk = page[start:page.index("</script>", start)]
    m = re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", chunk, re.S)
    assert m, chunk[:500]
    return json.loads(m.group(1))


def test_sampled_numbers_are_columns_with_readable_values(numbers_run):
    d, _ = numbers_run
    study = load_study(d)
    r = script("summarize", str(d))
    assert r.returncode == 0, r.stderr
    rows = markdown_rows(r.stdout)
    assert len(rows) == len(study.trials) == 3
    for row in rows:
        t = study.trials[int(row["trial"])]
        assert float(row["lr"]) == pytest.approx(t.params["train.optimizer.lr"], rel=1e-3)
        assert row["embedding"] == str(t.params["model.embedding"])
    values = [float(row["valid/accuracy ↑"]) for row in rows]
    assert values == sorted(values, reverse=True)


# ---- studies built with Optuna's API ---------------------------------------------------------------


def synthetic(tmp_path, directions, trials, space=None, metrics=None, n_trials=None):
    """A tuning directory: a plan and a journal study holding `trials` (dicts for create_trial)."""
    import optuna
    import yaml

    d = tmp_path / "tune"
    d.mkdir()
    space = space or {"train.optimizer.lr": {"kind": "loguniform", "low": 1e-4, "high": 1e-1},
                      "model.extractor": {"kind": "choice",
                                          "values": ["{hidden: 8, type: lstm}", "{hidden: 16, type: lstm}"]}}
    plan = {"spec": str(tmp_path / "spec.yaml"), "dir": str(d), "n_trials": n_trials or len(trials), "sampler": "tpe",
            "pruner": "median", "space": space}
    if metrics:
        plan["metrics"] = metrics
    else:
        plan["metric"] = "valid/accuracy"
    (d / "tune.yaml").write_text(yaml.safe_dump(plan))
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(d / "study.journal")))
    study = optuna.create_study(study_name="attnlab", storage=storage, directions=directions)
    dists = {"train.optimizer.lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
             "model.extractor": optuna.distributions.CategoricalDistribution(space["model.extractor"]["values"])}
    for t in trials:
        study.add_trial(optuna.trial.create_trial(distributions=dists, **t))
    return d


def test_several_objectives_give_a_pareto_front(tmp_path):
    import optuna

    S = optuna.trial.TrialState
    lstm8, lstm16 = "{hidden: 8, type: lstm}", "{hidden: 16, type: lstm}"
    trials = [  # (accuracy ↑, seconds ↓): 0 and 2 on the front, 1 dominated by 0, 3 pruned
        dict(state=S.COMPLETE, values=[0.9, 10.0], params={"train.optimizer.lr": 0.01, "model.extractor": lstm8},
             user_attrs={"trial_dir": "trials/a"}),  # no per-epoch values in Optuna: its progress.yaml has them
        dict(state=S.COMPLETE, values=[0.8, 12.0], params={"train.optimizer.lr": 0.02, "model.extractor": lstm16},
             intermediate_values={1: 0.4, 2: 0.8}, user_attrs={"trial_dir": "trials/b"}),
        dict(state=S.COMPLETE, values=[0.95, 20.0], params={"train.optimizer.lr": 0.003, "model.extractor": lstm16},
             intermediate_values={1: 0.6, 2: 0.95}, user_attrs={"trial_dir": "trials/c"}),
        dict(state=S.PRUNED, params={"train.optimizer.lr": 0.0001, "model.extractor": lstm8},
             intermediate_values={1: 0.1}, user_attrs={"trial_dir": "trials/d"}),
    ]
    d = synthetic(tmp_path, ["maximize", "minimize"], trials, metrics=["valid/accuracy", "train/seconds"])
    # The front's trials ran (a sweep.yaml each); their spec files go to pareto/<number>.spec.yaml.
    for key, lr in (("a", "0.01"), ("c", "0.003")):
        (d / "trials" / key).mkdir(parents=True)
        (d / "trials" / key / "sweep.yaml").write_text(
            f"# fingerprint: x\n# trials: x\n# spec: {tmp_path / 'spec.yaml'}\nname: s\ntrain:\n  optimizer:\n"
            f"    lr: {lr}\n")
    # eval.select (the `valid` series) is another figure than the objective: its own curve is drawn
    (d / "trials" / "a" / "0123456789ab.progress.yaml").write_text(
        "status: done\nselect: loss\nvalid: [2.0, 1.5]\ncurves:\n  loss: [2.0, 1.5]\n  accuracy: [0.5, 0.9]\n")
    r = script("summarize", str(d))
    assert r.returncode == 0, r.stderr
    rows = markdown_rows(r.stdout)
    assert [row["trial"] for row in rows] == ["2", "0", "1", "3"], r.stdout  # the front first, by the first objective
    assert [row["state"] for row in rows] == ["complete (pareto)", "complete (pareto)", "complete", "pruned"]
    assert "valid/accuracy ↑" in rows[0] and "train/seconds ↓" in rows[0]
    assert rows[0]["extractor"] == "lstm(hidden=16)" and rows[1]["extractor"] == "lstm(hidden=8)"  # same type
    assert rows[1]["epoch"] == "2"  # trial 0's epochs: from its progress.yaml
    assert "Pareto front (2 trials) of valid/accuracy (maximize), train/seconds (minimize):" in r.stdout
    assert (d / "pareto" / "2.spec.yaml").exists() and (d / "pareto" / "0.spec.yaml").exists()
    assert "lr: 0.003" in (d / "pareto" / "2.spec.yaml").read_text()
    assert not (d / "best.spec.yaml").exists()

    r = script("report", str(d))
    assert r.returncode == 0, r.stderr
    page = (d / "report.html").read_text()
    assert "<h2>Pareto front</h2>" in page and 'id="fig-pareto"' in page
    assert 'id="fig-history-0"' in page and 'id="fig-history-1"' in page
    pareto = figure_data(page, "pareto")
    xs = sorted(x for tr in pareto for x in (tr.get("x") or []))
    assert xs == sorted([0.9, 0.8, 0.95]), pareto  # every complete trial drawn, the front among them
    pruning = figure_data(page, "pruning")
    assert next(tr for tr in pruning if tr["name"].startswith("trial 0 "))["y"] == [0.5, 0.9]


def test_a_study_without_a_complete_trial_degrades(tmp_path):
    import optuna

    S = optuna.trial.TrialState
    lstm8 = "{hidden: 8, type: lstm}"
    trials = [
        dict(state=S.PRUNED, params={"train.optimizer.lr": 0.01, "model.extractor": lstm8},
             intermediate_values={1: 0.3, 2: 0.31}),
        dict(state=S.FAIL, params={"train.optimizer.lr": 0.02, "model.extractor": lstm8}),
        dict(state=S.FAIL, params={"train.optimizer.lr": 0.03, "model.extractor": lstm8},
             user_attrs={"interrupted": True}),
    ]
    d = synthetic(tmp_path, ["maximize"], trials, n_trials=5)
    r = script("summarize", str(d))
    assert r.returncode == 0, r.stderr
    assert ("2 of 5 trials finished: 0 complete, 1 pruned (at epoch 2), 1 failed; "
            "1 interrupted and run again (not counted)") in r.stdout, r.stdout
    assert "no complete trial yet" in r.stdout
    assert [row["state"] for row in markdown_rows(r.stdout)] == ["pruned", "failed", "interrupted"]
    assert not (d / "best.spec.yaml").exists()
    r = script("report", str(d))
    assert r.returncode == 0, r.stderr
    page = (d / "report.html").read_text()
    assert "PARTIAL tuning run" in page and "No complete trial yet" in page
    assert "Needs at least 1 complete trial (0 so far)" in page  # the history, parallel coordinates, slices
    assert "Needs at least 2 complete trials (0 so far)" in page  # importances
    assert 'id="fig-pruning"' in page  # the pruned trial's epochs are still drawn


def test_the_report_without_plotly_says_so(tmp_path, monkeypatch):
    import optuna

    from attnlab_analysis import tune_results

    S = optuna.trial.TrialState
    d = synthetic(tmp_path, ["maximize"], [dict(state=S.COMPLETE, values=[0.5], params={
        "train.optimizer.lr": 0.01, "model.extractor": "{hidden: 8, type: lstm}"})])
    run = tune_results.load_tuning(d)
    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly now raises ImportError
    page = tune_results.build_report(run)
    assert "No figures:" in page and "<h2>Trials</h2>" in page and "<script" not in page


def test_importances_without_scikit_learn_find_the_parameter_that_matters(tmp_path):
    import optuna

    from attnlab_analysis import tune_results

    S = optuna.trial.TrialState
    lstm8, lstm16 = "{hidden: 8, type: lstm}", "{hidden: 16, type: lstm}"
    # The value is the extractor's alone; the rate is noise around it.
    trials = [dict(state=S.COMPLETE, values=[(0.9 if ex == lstm16 else 0.3) + 0.001 * (i % 3)],
                   params={"train.optimizer.lr": 10 ** (-4 + 3 * i / 11), "model.extractor": ex})
              for i, ex in enumerate([lstm8, lstm16] * 6)]
    run = tune_results.load_tuning(synthetic(tmp_path, ["maximize"], trials))
    evaluator = tune_results.VarianceShare.make(optuna)()
    imp = optuna.importance.get_param_importances(run.study, evaluator=evaluator)
    assert list(imp) == ["model.extractor", "train.optimizer.lr"]
    assert imp["model.extractor"] > 4 * imp["train.optimizer.lr"] and math.isclose(sum(imp.values()), 1.0)


def test_relative_paths_of_the_spec_are_made_absolute_in_the_spec_file(tmp_path):
    import optuna

    from attnlab_analysis import tune_results

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.csv").write_text("x\n1\n")
    S = optuna.trial.TrialState
    d = synthetic(tmp_path, ["maximize"], [dict(state=S.COMPLETE, values=[0.5], user_attrs={"trial_dir": "trials/a"},
                                                params={"train.optimizer.lr": 0.01,
                                                        "model.extractor": "{hidden: 8, type: lstm}"})])
    (d / "trials" / "a").mkdir(parents=True)
    (d / "trials" / "a" / "sweep.yaml").write_text(
        f"# fingerprint: x\n# trials: x\n# spec: {tmp_path / 'spec.yaml'}\nname: s\ndata:\n"
        "  dataset: {type: tabular, path: data/t.csv}\neval:\n  select: data\nlog:\n  dir: data\n")
    (path,) = tune_results.write_best_specs(tune_results.load_tuning(d))
    text = path.read_text()
    assert f'path: "{tmp_path / "data" / "t.csv"}"' in text, text  # resolves from the tuning directory
    assert "made absolute: data.dataset.path" in text
    assert "\n  dir: data\n" in text  # log.dir stays: results go next to the spec file
    assert "\n  select: data\n" in text  # a word that names a directory there is still a word


def test_a_running_trial_whose_driver_is_gone_is_stopped_not_running(tmp_path):
    # RUNNING in the journal says nothing of the driver: a live one (this process, with its start
    # time) is running; a pid that is not the recorded process (another start time) and a trial
    # with no driver at all are stopped, to be resumed by the next `attnlab tune`.
    import optuna
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    from attnlab_analysis import tune_drivers as drivers

    S = optuna.trial.TrialState
    lstm8 = "{hidden: 8, type: lstm}"
    me = drivers.Owner().attr()
    gone = dict(me, id="host-1-1", start=me["start"] + 12345)  # this pid, but another process's start time
    trials = [
        dict(state=S.RUNNING, params={"train.optimizer.lr": 0.01, "model.extractor": lstm8},
             user_attrs={drivers.OWNER_ATTR: me}),
        dict(state=S.RUNNING, params={"train.optimizer.lr": 0.02, "model.extractor": lstm8},
             user_attrs={drivers.OWNER_ATTR: gone}),
        dict(state=S.RUNNING, params={"train.optimizer.lr": 0.03, "model.extractor": lstm8}),
    ]
    d = synthetic(tmp_path, ["maximize"], trials, n_trials=3)
    from attnlab_analysis import tune_results

    run = tune_results.load_tuning(d)  # in this process: `me` is alive
    assert sorted(t.state for t in run.trials) == ["running", "stopped", "stopped"]
    assert "1 running; 2 stopped with their driver (the same command resumes)" in tune_results.completeness_line(run)
