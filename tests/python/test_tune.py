"""`attnlab tune` end to end (docs/tune.md): the tune: block is validated at its lines, a small TPE +
median-pruner study runs through the CLI into one directory (Optuna's journal, tune.tsv, one attnlab
run directory per trial, best.yaml), hopeless trials are pruned and recorded, and a second run
resumes the study instead of starting again."""
import importlib.util
import json
import os
import signal
import subprocess
import time

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
pytestmark = [pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built"),
              pytest.mark.filterwarnings("ignore:JournalStorage is experimental")]
needs_optuna = pytest.mark.skipif(importlib.util.find_spec("optuna") is None,
                                  reason="optuna not installed (apt-get install python3-optuna)")

SPEC = """name: tiny-tune
data:
  dataset: {{type: marker, train: 256, valid: 64, test: 64, seq_len: 8, vocab: 20, classes: 4}}
model:
  embedding: 8
  extractor: {{type: lstm, hidden: 8}}
  attention: {{type: seed_self}}
  pooling: {{type: flatten}}
  head: {{type: classification}}
train:
  epochs: {epochs}
  batch_size: 16
  optimizer: {{type: adam, lr: 0.01}}
  seed: 1
eval: {{metrics: [accuracy], select: accuracy}}
log: {{dir: {dir}, probes: 2}}
tune:
  n_trials: {n_trials}
  sampler: {sampler}
  pruner: {pruner}
  startup_trials: 1
  seed: {seed}
  space:
{space}"""

# An absurd learning rate next to a good one: its trials learn nothing, which the median pruner sees.
SPACE = """    train.optimizer.lr: {choice: [0.03, 1.0e-9]}
    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: gru, hidden: 8}]}
"""


def write_spec(tmp_path, epochs=3, n_trials=6, sampler="tpe", seed=0, space=SPACE, pruner="median"):
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.format(epochs=epochs, n_trials=n_trials, sampler=sampler, seed=seed, space=space, pruner=pruner,
                                dir=tmp_path / "results"))
    return str(path)


def attnlab(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, env=env)


def ledger(d):
    with open(os.path.join(d, "tune.tsv")) as f:
        header, *lines = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    return [dict(zip(header, line)) for line in lines]


def line_of(path, text):
    with open(path) as f:
        for i, line in enumerate(f, 1):
            if text in line:
                return i
    raise AssertionError(f"{text!r} not in {path}")


def test_a_bad_tune_block_fails_validation_at_its_lines(tmp_path):
    space = """    train.optimzer.lr: {loguniform: [1.0e-4, 1.0e-1]}
    train.clip_norm: {loguniform: [0.0, 1.0]}
    model.extractor: {choice: [{type: lstm, hidden: 8}, {type: gru, hiden: 8}]}
    train.epochs: {int: [1, 3], uniform: [1, 3]}
"""
    spec = write_spec(tmp_path, space=space)
    r = attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2, r.stdout + r.stderr
    err = r.stderr
    # Every problem at once, each at the line that wrote it.
    assert f"spec.yaml:{line_of(spec, 'train.optimzer.lr')}:" in err and "optimzer" in err, err
    assert "did you mean 'train.optimizer.lr'" in err, err
    assert f"spec.yaml:{line_of(spec, 'train.clip_norm')}:" in err and "0 < low" in err, err
    assert f"spec.yaml:{line_of(spec, 'hiden')}:" in err and "hiden" in err, err
    assert f"spec.yaml:{line_of(spec, 'train.epochs')}:" in err and "exactly one" in err, err


def test_a_wrong_objective_is_refused_at_its_line(tmp_path):
    spec = write_spec(tmp_path)
    with open(spec, "a") as f:
        f.write("  objective: {metric: valid/logloss}\n")
    r = attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2
    assert f"spec.yaml:{line_of(spec, 'objective: {metric')}:" in r.stderr and "valid/accuracy" in r.stderr, r.stderr


def test_tune_and_sweep_together_are_refused(tmp_path):
    spec = write_spec(tmp_path)
    with open(spec, "a") as f:
        f.write("sweep: {seeds: [1, 2]}\n")
    r = attnlab("validate", spec, "--spec-only")
    assert r.returncode == 2
    assert f"spec.yaml:{line_of(spec, 'tune:')}:" in r.stderr and "not both" in r.stderr, r.stderr
    # ...and an override of a searched key would silently lose to the sampled value: refused too.
    spec = write_spec(tmp_path)
    r = attnlab("validate", spec, "--spec-only", "train.optimizer.lr=0.1")
    assert r.returncode == 2 and "which tune.space searches" in r.stderr, r.stderr


def test_a_valid_tune_block_validates_and_run_ignores_it(tmp_path):
    spec = write_spec(tmp_path, epochs=1)
    r = attnlab("validate", spec, "--spec-only")
    assert r.returncode == 0, r.stderr
    # `run` trains the spec itself (its tune: block aside), as `run` leaves a sweep aside.
    r = attnlab("run", spec, "--quiet", "--threads", "1", "--out", str(tmp_path / "one"))
    assert r.returncode == 0, r.stderr


def test_a_spec_without_tune_is_refused_by_tune(tmp_path):
    spec = tmp_path / "plain.yaml"
    spec.write_text(SPEC.split("tune:")[0].format(epochs=1, dir=tmp_path / "results"))
    r = attnlab("tune", str(spec), "--jobs", "1", "--threads", "1")
    assert r.returncode == 2 and "no tune: block" in r.stderr, r.stderr


@needs_optuna
def test_tune_runs_a_study_end_to_end_and_resumes(tmp_path):
    optuna = pytest.importorskip("optuna")
    spec = write_spec(tmp_path, epochs=3, n_trials=6)
    out = tmp_path / "results" / "tiny-tune"
    r = attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "best trial" in r.stdout, r.stdout
    assert (out / "study.journal").exists() and (out / "tune.yaml").exists()

    rows = ledger(out)
    assert len(rows) == 6
    assert {row["state"] for row in rows} <= {"complete", "pruned"}
    complete = [row for row in rows if row["state"] == "complete"]
    assert complete
    # Each trial is an ordinary attnlab run directory holding its results file.
    for row in complete:
        d = out / row["trial_dir"]
        assert [f for f in os.listdir(d) if f.endswith(".h5") and f != "index.h5" and ".ckpt" not in f], d

    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    study = optuna.load_study(study_name="attnlab", storage=storage)
    assert len(study.trials) == 6
    best = max(float(row["value"]) for row in complete)
    assert study.best_value == pytest.approx(best)
    with open(out / "best.yaml") as f:
        text = f.read()
    assert "train.optimizer.lr=0.03" in text, text  # 1e-9 learns nothing: the best trial has the real rate

    # A second run with more trials resumes the study: the six are kept, two more run.
    r = attnlab("tune", spec, "tune.n_trials=8", "--jobs", "2", "--threads", "1")  # two at once
    assert r.returncode == 0, r.stdout + r.stderr
    assert "2 trial(s) to run of 8" in r.stdout, r.stdout
    assert len(ledger(out)) == 8
    study = optuna.load_study(study_name="attnlab", storage=storage)
    assert len(study.trials) == 8


@needs_optuna
@pytest.mark.parametrize("pruner", ["median", "successive_halving"])
def test_hopeless_trials_are_pruned_and_recorded(tmp_path, pruner):
    optuna = pytest.importorskip("optuna")
    epochs = 300  # seconds per trial: SIGINT lands well before a pruned trial could finish
    # A grid over a good and an absurd learning rate, times an evaluation batch size (which changes no
    # result: the good trials are identical, so the pruner cannot tell them apart). Grid seed 0 runs a
    # good trial first; from epoch 3 (warmup 2) the median pruner stops the trials that learn nothing,
    # and so does successive halving at its first rung (epoch 3: the best third of the trials that
    # reached it go on, and equal figures all do).
    space = """    train.optimizer.lr: {choice: [0.03, 1.0e-9]}
    eval.batch_size: {choice: [64, 128]}
  warmup_epochs: 2
"""
    spec = write_spec(tmp_path, epochs=epochs, n_trials=4, sampler="grid", seed=0, space=space, pruner=pruner)
    out = tmp_path / "results" / "tiny-tune"
    r = attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = ledger(out)
    assert len(rows) == 4
    assert json.loads(rows[0]["params"])["train.optimizer.lr"] == "0.03", rows  # the seed's order
    pruned = [row for row in rows if row["state"] == "pruned"]
    complete = [row for row in rows if row["state"] == "complete"]
    assert [json.loads(row["params"])["train.optimizer.lr"] for row in pruned] == ["1e-09", "1e-09"], rows
    assert [json.loads(row["params"])["train.optimizer.lr"] for row in complete] == ["0.03", "0.03"], rows
    assert all(row["epoch"] == "3" for row in pruned), rows  # the first epoch after the warm-up
    assert all(int(row["epoch"]) == epochs for row in complete), rows

    # Optuna keeps them as PRUNED with their reported epochs.
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    study = optuna.load_study(study_name="attnlab", storage=storage)
    by_state = {}
    for t in study.trials:
        by_state.setdefault(t.state, []).append(t)
    assert len(by_state[optuna.trial.TrialState.PRUNED]) == 2
    for t in by_state[optuna.trial.TrialState.PRUNED]:
        assert max(t.intermediate_values) == 3

    # A pruned run was stopped (SIGINT at a batch boundary), not trained to the end: its directory
    # holds a checkpoint and no finished results file.
    stopped = 0
    for row in pruned:
        d = out / row["trial_dir"]
        files = os.listdir(d)
        finished = [f for f in files if f.endswith(".h5") and f != "index.h5" and ".ckpt" not in f]
        stopped += not finished and any(f.endswith(".ckpt.h5") for f in files)
    assert stopped >= 1, [os.listdir(out / row["trial_dir"]) for row in pruned]


def start_and_wait_mid_trial(spec, out):
    """Starts `attnlab tune` in its own session; returns it with the directory of a trial that has a
    checkpoint while the first trial is done (or None, when the study finished first)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([BIN, "tune", spec, "--jobs", "1", "--threads", "1"], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True, env=env, start_new_session=True)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        if (out / "tune.tsv").exists() and len(ledger(out)) == 1:
            first = ledger(out)[0]["trial_dir"].split("/")[-1]
            for d in (out / "trials").iterdir():
                if d.name != first and any(f.endswith(".ckpt.h5") for f in os.listdir(d)):
                    return p, d
        time.sleep(0.02)
    return p, None


def slow_random_search(tmp_path):
    # No pruning here: a plain random search over a good learning rate, long enough to interrupt.
    space = """    train.optimizer.lr: {uniform: [0.01, 0.03]}
"""
    return write_spec(tmp_path, epochs=40, n_trials=3, sampler="random", seed=2, space=space, pruner="none")


@needs_optuna
def test_kill_9_and_resume_keep_the_study(tmp_path):
    optuna = pytest.importorskip("optuna")
    spec = slow_random_search(tmp_path)
    out = tmp_path / "results" / "tiny-tune"
    # The driver and its trials in a session of their own: kill -9 takes them all, as a lost machine would.
    p, killed_in_trial = start_and_wait_mid_trial(spec, out)
    if p.poll() is None:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    if killed_in_trial is None:
        pytest.skip("the study finished before it could be killed mid-trial")
    assert len(ledger(out)) == 1

    r = attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "was interrupted: its values run again" in r.stdout, r.stdout
    rows = ledger(out)
    assert [row["state"] for row in rows] == ["complete"] * 3, rows
    # The interrupted values ran again in the same directory, resuming from its checkpoint.
    assert killed_in_trial.name in [row["trial_dir"].split("/")[-1] for row in rows]
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    study = optuna.load_study(study_name="attnlab", storage=storage)
    states = [t.state for t in study.trials]
    assert states.count(optuna.trial.TrialState.COMPLETE) == 3
    assert states.count(optuna.trial.TrialState.FAIL) == 1  # the interrupted one, marked so


@needs_optuna
def test_sigint_stops_the_trials_and_records_no_failure(tmp_path):
    spec = slow_random_search(tmp_path)
    out = tmp_path / "results" / "tiny-tune"
    p, trial_dir = start_and_wait_mid_trial(spec, out)
    if p.poll() is None:
        os.kill(p.pid, signal.SIGINT)  # the driver only: it stops its trials itself
    text, _ = p.communicate(timeout=300)
    if trial_dir is None:
        pytest.skip("the study finished before it could be interrupted mid-trial")
    assert p.returncode == 1 and "interrupted" in text, text
    assert [row["state"] for row in ledger(out)] == ["complete"], text  # no failure recorded
    # stopped, not finished: no results file, and its run's ledger says interrupted
    files = os.listdir(trial_dir)
    assert not [f for f in files if f.endswith(".h5") and f != "index.h5" and ".ckpt" not in f], files
    with open(os.path.join(trial_dir, "ledger.tsv")) as f:
        assert f.read().strip().splitlines()[-1].split("\t")[3].startswith("interrupted")
    r = attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    assert [row["state"] for row in ledger(out)] == ["complete"] * 3


@needs_optuna
def test_a_study_whose_trials_keep_failing_stops_and_says_why(tmp_path):
    # A learning rate that makes every trial's loss NaN: the spec is valid, every trial fails. The
    # study stops after a few failures in a row (not after n_trials), quoting the trial's own error.
    space = "    train.optimizer.lr: {choice: [1.0e+30, 1.0e+31]}\n"
    spec = write_spec(tmp_path, epochs=2, n_trials=40, space=space, pruner="none")
    r = attnlab("tune", spec, "--jobs", "1", "--threads", "1")
    assert r.returncode == 1, r.stdout + r.stderr
    rows = ledger(tmp_path / "results" / "tiny-tune")
    assert 5 <= len(rows) < 40 and all(row["state"] == "failed" for row in rows), rows
    assert "trials in a row failed" in r.stdout and "nan" in r.stdout.lower(), r.stdout


@needs_optuna
def test_tune_keys_set_on_the_command_line_are_the_studys_not_the_trials(tmp_path):
    # tune.sampler=random (an override of the tune: block) must not reach the trials, which run
    # without the block (the trial's `~tune` comes after the user's overrides).
    spec = write_spec(tmp_path, epochs=1, n_trials=2, pruner="none")
    r = attnlab("tune", spec, "tune.sampler=random", "tune.n_trials=3", "--jobs", "1", "--threads", "1")
    assert r.returncode == 0, r.stdout + r.stderr
    rows = ledger(tmp_path / "results" / "tiny-tune")
    assert [row["state"] for row in rows] == ["complete"] * 3, rows
