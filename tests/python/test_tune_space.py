"""`attnlab tune` beyond one objective on eval.select (docs/tune.md): an objective that is another
validation figure, pruned on its own curve; several objectives and their Pareto front; a conditional
key searched only when the choice it depends on holds; CMA-ES; tune.timeout. Tiny specs (the marker
data set, a few epochs) so that each study takes seconds; test_tune.py has the helpers."""
import glob
import importlib.util
import json
import os

import pytest
import yaml

import test_tune as tt

pytestmark = [pytest.mark.skipif(not os.path.exists(tt.BIN), reason=f"{tt.BIN} not built"),
              pytest.mark.filterwarnings("ignore:JournalStorage is experimental"),
              pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                 reason="optuna not installed (apt-get install python3-optuna)")]


def write(tmp_path, *, space, epochs=2, n_trials=4, sampler="random", pruner=None, seed=0, extra=""):
    """test_tune's spec with eval.metrics [accuracy, logloss]; `extra` lines go into tune: (indented)."""
    path = tmp_path / "spec.yaml"
    text = tt.SPEC.format(epochs=epochs, n_trials=n_trials, sampler=sampler, seed=seed, space=space,
                          pruner=pruner or "median", dir=tmp_path / "results")
    text = text.replace("eval: {metrics: [accuracy], select: accuracy}",
                        "eval: {metrics: [accuracy, logloss], select: accuracy}")
    if pruner is None:
        text = text.replace("  pruner: median\n", "")
    path.write_text(text + extra)
    return str(path)


def study_of(out):
    import optuna
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    return optuna.load_study(study_name="attnlab", storage=storage)


def results_file(trial_dir):
    files = [f for f in glob.glob(os.path.join(trial_dir, "*.h5")) if not f.endswith(".ckpt.h5")
             and os.path.basename(f) != "index.h5"]
    assert len(files) == 1, os.listdir(trial_dir)
    return files[0]


def test_an_objective_other_than_select_is_pruned_on_its_own_curve(tmp_path):
    import h5py
    import optuna
    # eval.select is accuracy; the study minimises the validation loss. test_tune's pruning grid: a good
    # and an absurd learning rate, times an evaluation batch size that changes no result.
    space = """    train.optimizer.lr: {choice: [0.03, 1.0e-9]}
    eval.batch_size: {choice: [64, 128]}
  warmup_epochs: 2
  objective: {metric: valid/loss}
"""
    spec = write(tmp_path, space=space, epochs=20, sampler="grid", pruner="median")
    out = tmp_path / "results" / "tiny-tune"
    r = tt.attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = tt.ledger(out)
    assert len(rows) == 4
    lr = {row["number"]: json.loads(row["params"])["train.optimizer.lr"] for row in rows}
    assert sorted(lr[row["number"]] for row in rows if row["state"] == "pruned") == ["1e-09", "1e-09"], rows
    assert sorted(lr[row["number"]] for row in rows if row["state"] == "complete") == ["0.03", "0.03"], rows

    study = study_of(out)
    assert study.direction == optuna.study.StudyDirection.MINIMIZE  # the loss's own direction
    for row in rows:
        trial = study.trials[int(row["number"])]
        if row["state"] != "complete":
            assert max(trial.intermediate_values) == 3  # the first epoch after the warm-up
            continue
        with h5py.File(results_file(out / row["trial_dir"]), "r") as f:
            loss = list(f["curves/valid/loss"][()])
            accuracy = list(f["curves/valid/accuracy"][()])
            final = float(f["final/valid/loss"][()])
        # Reported per epoch: the loss curve, not eval.select's accuracy; the value: the final loss.
        assert [trial.intermediate_values[e] for e in sorted(trial.intermediate_values)] == pytest.approx(loss)
        assert loss != pytest.approx(accuracy)
        assert float(row["value"]) == pytest.approx(final) and trial.value == pytest.approx(final)


def dominated(a, b):
    """b dominates a: accuracy (maximised) and loss (minimised) no worse, one better."""
    return b[0] >= a[0] and b[1] <= a[1] and (b[0] > a[0] or b[1] < a[1])


def test_two_objectives_are_recorded_and_their_pareto_front_is_best_yaml(tmp_path):
    import h5py
    space = """    train.optimizer.lr: {loguniform: [1.0e-5, 0.05]}
    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: gru, hidden: 8}]}
  objective:
    - {metric: valid/accuracy}
    - {metric: valid/logloss, direction: minimize}
"""
    spec = write(tmp_path, space=space, epochs=2, n_trials=5, sampler="tpe")
    out = tmp_path / "results" / "tiny-tune"
    r = tt.attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Pareto front" in r.stdout, r.stdout
    rows = tt.ledger(out)
    assert [row["state"] for row in rows] == ["complete"] * 5, rows  # no pruner with several objectives
    values = {}
    for row in rows:
        values[int(row["number"])] = [float(x) for x in row["value"].split(",")]
        with h5py.File(results_file(out / row["trial_dir"]), "r") as f:
            want = [float(f["final/valid/accuracy"][()]), float(f["final/valid/logloss"][()])]
        assert values[int(row["number"])] == pytest.approx(want), row

    study = study_of(out)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for t in study.trials:
        assert t.values == pytest.approx(values[t.number])

    with open(out / "best.yaml") as f:
        best = yaml.safe_load(f)
    assert best["metrics"] == ["valid/accuracy", "valid/logloss"]
    assert best["directions"] == ["maximize", "minimize"]
    front = {e["number"] for e in best["front"]}
    want = {n for n, v in values.items() if not any(dominated(v, w) for m, w in values.items() if m != n)}
    assert front == want, (best, values)
    params = {int(row["number"]): json.loads(row["params"]) for row in rows}
    for e in best["front"]:
        assert e["values"] == pytest.approx(values[e["number"]])
        assert e["overrides"] == [f"{k}={v}" for k, v in params[e["number"]].items()]


def test_several_objectives_refuse_a_pruner_at_its_line(tmp_path):
    space = """    train.optimizer.lr: {loguniform: [1.0e-4, 0.05]}
  objective: [{metric: valid/accuracy}, {metric: valid/loss}]
"""
    spec = write(tmp_path, space=space, pruner="hyperband")
    r = tt.attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"spec.yaml:{tt.line_of(spec, 'pruner: hyperband')}:3: tune.pruner: Optuna cannot prune" in r.stderr, r.stderr


def test_a_conditional_key_is_set_only_when_its_condition_holds(tmp_path):
    import h5py
    space = """    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: transformer, dim: 8}]}
    model.extractor.num_heads: {choice: [1, 2], when: {model.extractor.type: [transformer]}}
"""
    spec = write(tmp_path, space=space, epochs=1, n_trials=8, sampler="random", pruner="none", seed=3)
    r = tt.attnlab("validate", spec)  # rehearsed on the data
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "results" / "tiny-tune"
    r = tt.attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = tt.ledger(out)
    assert [row["state"] for row in rows] == ["complete"] * 8, rows
    types = set()
    for row in rows:
        params = json.loads(row["params"])
        with h5py.File(results_file(out / row["trial_dir"]), "r") as f:
            extractor = yaml.safe_load(f["config/yaml"][()].decode())["model"]["extractor"]
        types.add(extractor["type"])
        if extractor["type"] == "transformer":
            assert params["model.extractor"] == "{dim: 8, type: transformer}", params
            assert str(extractor["num_heads"]) == params["model.extractor.num_heads"], (params, extractor)
        else:
            assert params == {"model.extractor": "{hidden: 8, type: lstm}"}, params
            assert "num_heads" not in extractor
    assert types == {"lstm", "transformer"}, rows  # both branches ran (seed 3)
    study = study_of(out)
    for t in study.trials:
        assert ("model.extractor.num_heads" in t.params) == ("transformer" in t.params["model.extractor"])


def test_a_cmaes_study_is_seeded(tmp_path):
    space = """    train.optimizer.lr: {loguniform: [1.0e-3, 0.1]}
    train.clip_norm: {uniform: [0.5, 2.0]}
"""
    runs = []
    for name in ("a", "b"):
        d = tmp_path / name
        d.mkdir()
        spec = write(d, space=space, epochs=1, n_trials=5, sampler="cmaes", pruner="none", seed=7)
        r = tt.attnlab("tune", spec, "--jobs", "1", "--threads", "1")
        assert r.returncode == 0, r.stdout + r.stderr
        rows = tt.ledger(d / "results" / "tiny-tune")
        assert [row["state"] for row in rows] == ["complete"] * 5, rows
        runs.append([json.loads(row["params"]) for row in rows])
        study = study_of(d / "results" / "tiny-tune")
        # After the startup trial the values come from CMA-ES (its state is kept in the trials).
        assert any(k.startswith("cma:") for t in study.trials[1:] for k in t.system_attrs), study.trials[-1].system_attrs
    assert runs[0] == runs[1]  # the same seed, the same values
    # A choice cannot be searched by CMA-ES: refused at its line, with the way out.
    spec = write(tmp_path, space=space + "    model.extractor: {choice: [{type: lstm, hidden: 8}]}\n",
                 sampler="cmaes")
    r = tt.attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2
    assert f"spec.yaml:{tt.line_of(spec, 'model.extractor: {choice')}:5:" in r.stderr and "sampler: tpe" in r.stderr, \
        r.stderr


def test_no_trial_starts_after_the_timeout_and_running_ones_finish(tmp_path):
    # 3 s: long enough for the first trial to start on a loaded machine, far shorter than 200 trials.
    space = """    train.optimizer.lr: {loguniform: [1.0e-3, 0.1]}
  timeout: 3
"""
    spec = write(tmp_path, space=space, epochs=1, n_trials=200, sampler="random", pruner="none")
    out = tmp_path / "results" / "tiny-tune"
    r = tt.attnlab("tune", spec, "--jobs", "2", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "the timeout (3 s) has passed" in r.stdout, r.stdout
    rows = tt.ledger(out)
    started = r.stdout.count(" starts: ")
    # Every trial that started finished (none left running or failed), and the study stopped early.
    assert 1 <= len(rows) == started < 200, r.stdout
    assert {row["state"] for row in rows} == {"complete"}
    assert all(t.state.name == "COMPLETE" for t in study_of(out).trials)


def test_an_objective_the_model_does_not_compute_fails_the_rehearsal(tmp_path):
    # auc is an eval.metrics entry, so the spec alone accepts it; but it applies to binary labels and the
    # marker task has classes: validate's rehearsal, on the data, says the trials would not compute it.
    space = """    train.optimizer.lr: {loguniform: [1.0e-3, 0.1]}
  objective: {metric: valid/auc}
"""
    spec = write(tmp_path, space=space)
    with open(spec) as f:
        text = f.read()
    with open(spec, "w") as f:
        f.write(text.replace("metrics: [accuracy, logloss]", "metrics: [accuracy, auc]"))
    assert tt.attnlab("validate", spec, "--spec-only").returncode == 0
    r = tt.attnlab("validate", spec)
    assert r.returncode == 2, r.stdout + r.stderr
    assert "tune.objective: this model computes no valid/auc on its data; it computes valid/accuracy" in r.stderr, \
        r.stderr


def test_a_study_directory_keeps_its_objectives(tmp_path):
    space = """    train.optimizer.lr: {loguniform: [1.0e-3, 0.1]}
"""
    spec = write(tmp_path, space=space, epochs=1, n_trials=1, pruner="none")
    r = tt.attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    # Optuna would load the stored study with its one direction and mix two figures' values into it.
    r = tt.attnlab("tune", spec, "tune.n_trials=2", "tune.objective=[{metric: valid/accuracy}, {metric: valid/loss}]",
                   "--jobs", "1", "--threads", "1")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "its study optimises valid/accuracy (maximize), the spec valid/accuracy, valid/loss" in r.stderr, r.stderr
    assert len(tt.ledger(tmp_path / "results" / "tiny-tune")) == 1


def test_a_key_beside_a_searched_plugin_type_is_checked_under_each_type(tmp_path):
    # model.attention.num_heads exists for multi_head only; the spec as written has seed_self (no
    # num_heads). Beside a searched model.attention.type it is a key of some branches: valid when
    # `when:` limits it to those, refused at its line (naming the branch) when it would reach the others.
    space = """    model.attention.type: {choice: [multi_head, additive]}
    model.attention.num_heads: {choice: [1, 2], when: {model.attention.type: [multi_head]}}
"""
    r = tt.attnlab("validate", write(tmp_path, space=space), "--spec-only")
    assert r.returncode == 0, r.stderr
    spec = write(tmp_path, space=space.replace(", when: {model.attention.type: [multi_head]}", ""))
    r = tt.attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2
    assert f"spec.yaml:{tt.line_of(spec, 'num_heads')}:" in r.stderr and "model.attention.type = additive" in r.stderr, \
        r.stderr
