"""Several `attnlab tune` drivers on one study (docs/tune.md, "Several processes"): they share n_trials,
never run one trial directory at once, requeue only the trials of dead drivers (here by pid, elsewhere
by a stale heartbeat); a driver's trials stop when it is killed; --plugin reaches the trials; a start
with another plan is refused. Every wait polls an outcome with a generous deadline (the machine may be
loaded); nothing is timed for speed."""
import json
import os
import shutil
import signal
import subprocess
import threading
import time

import pytest

from test_tune import BIN, ledger, needs_optuna, write_spec

pytestmark = [pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built"),
              pytest.mark.filterwarnings("ignore:JournalStorage is experimental"), needs_optuna]
HELLO = os.environ.get("ATTNLAB_HELLO_PLUGIN", "")
DEADLINE = 600  # seconds any one wait may take on a loaded machine before the test gives up


def slow_spec(tmp_path, epochs, n_trials, space, sampler="random", seed=3):
    """test_tune's spec with four times the training data: with enough epochs, a trial lasts long enough
    for a second driver to start, or for a kill, while it runs."""
    path = write_spec(tmp_path, epochs=epochs, n_trials=n_trials, sampler=sampler, seed=seed, space=space,
                      pruner="none")
    with open(path) as f:
        text = f.read().replace("train: 256", "train: 1024")
    with open(path, "w") as f:
        f.write(text)
    return path


def start(spec, *args):
    """`attnlab tune` in a session of its own (a kill of it alone leaves its children)."""
    return subprocess.Popen([BIN, "tune", spec, "--threads", "1", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))


def trials(out):
    import optuna
    if not (out / "study.journal").exists():
        return []
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    try:
        return optuna.load_study(study_name="attnlab", storage=storage).trials
    except KeyError:  # the study is not created yet
        return []


def owner(t):
    return (t.user_attrs.get("driver") or {}).get("pid")


def wait_for(what, condition, procs=()):
    """Polls condition() until it holds; fails when DEADLINE passes or a driver ends first."""
    deadline = time.time() + DEADLINE
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        for p in procs:
            if p.poll() is not None:
                out = p.stdout.read() if p.stdout else ""
                raise AssertionError(f"waiting for {what}: a driver ended (exit {p.returncode}):\n{out}")
        time.sleep(0.05)
    raise AssertionError(f"waiting for {what}: not within {DEADLINE} s")


def progress_epoch(d):
    """The epoch the trial in directory d has finished (its <id>.progress.yaml), or None before one."""
    import yaml
    for name in os.listdir(d) if d.exists() else []:
        if name.endswith(".progress.yaml"):
            try:
                with open(d / name) as f:
                    return int(yaml.safe_load(f)["epoch"])
            except (OSError, TypeError, KeyError, ValueError, yaml.YAMLError):
                return None  # replaced while read
    return None


def running_trials(out, pid, training=True, before_epoch=None):
    """The RUNNING trials of the driver `pid`; with training, only those whose run has a checkpoint
    (training is under way); with before_epoch, only those that have not reached it."""
    found = []
    for t in trials(out):
        if t.state.name != "RUNNING" or owner(t) != pid or "trial_dir" not in t.user_attrs:
            continue
        d = out / t.user_attrs["trial_dir"]
        if training and not (d.exists() and any(f.endswith(".ckpt.h5") for f in os.listdir(d))):
            continue
        if before_epoch is not None and (progress_epoch(d) or 0) >= before_epoch:
            continue
        found.append(t)
    return found


def process_alive(pid):
    """Whether pid is a live process (a zombie has ended)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def runs_by_directory():
    """The `attnlab run` processes of this machine, as {--out directory: [pid, ...]}."""
    out = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().decode(errors="replace").split("\0")
        except OSError:
            continue
        if len(argv) > 2 and argv[1] == "run" and "--out" in argv and process_alive(int(pid)):
            out.setdefault(argv[argv.index("--out") + 1], []).append(int(pid))
    return out


def children_of(pid):
    kids = []
    for p in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            kids.append(int(p))
    return kids


def finish(p):
    text, _ = p.communicate(timeout=DEADLINE)
    return p.returncode, text


def kill_all(*procs):
    for p in procs:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def states(out):
    return [t.state.name for t in trials(out)]


def test_two_drivers_share_n_trials_and_requeue_nothing_live(tmp_path):
    spec = slow_spec(tmp_path, epochs=60, n_trials=4, space="    train.optimizer.lr: {uniform: [0.01, 0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    a = start(spec, "--jobs", "1")
    b = None
    try:
        # The second driver starts while the first one's first trial trains.
        wait_for("the first driver's trial", lambda: running_trials(out, a.pid), [a])
        b = start(spec, "--jobs", "1")
        code_a, text_a = finish(a)
        code_b, text_b = finish(b)
    finally:
        kill_all(*[p for p in (a, b) if p])
    assert code_a == 0, text_a
    assert code_b == 0, text_b
    # Exactly n_trials between them, all complete: none ran twice, none was taken for dead.
    ts = trials(out)
    assert [t.state.name for t in ts] == ["COMPLETE"] * 4, (text_a, text_b)
    assert not any(t.user_attrs.get("interrupted") for t in ts)
    assert "interrupted" not in text_a + text_b, (text_a, text_b)
    assert {owner(t) for t in ts} == {a.pid, b.pid}, (text_a, text_b)  # both drivers ran trials
    assert [row["state"] for row in ledger(out)] == ["complete"] * 4
    assert "best trial" in text_a and "best trial" in text_b  # each waited for the other's trials, then summed up
    with open(out / "tune.yaml") as f:
        assert "n_trials: 4" in f.read()


def test_equal_values_never_run_in_one_directory_at_once(tmp_path):
    # One value only: every trial has the same directory. The second driver's trial waits for the
    # first driver's run there to end, then finds it done.
    spec = slow_spec(tmp_path, epochs=150, n_trials=3, space="    train.optimizer.lr: {choice: [0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    a = start(spec, "--jobs", "1")
    b = None
    most = 0
    try:
        wait_for("the first driver's trial", lambda: running_trials(out, a.pid), [a])
        b = start(spec, "--jobs", "2")
        # b's trials are asked (RUNNING in the study) while a's run still holds the directory.
        wait_for("the second driver's trial", lambda: running_trials(out, b.pid, training=False), [a, b])
        deadline = time.time() + DEADLINE
        while a.poll() is None or b.poll() is None:
            assert time.time() < deadline, "the drivers did not finish"
            runs = [pids for d, pids in runs_by_directory().items() if d.startswith(str(out))]
            most = max([most, *map(len, runs)])
            time.sleep(0.05)
        code_a, text_a = finish(a)
        code_b, text_b = finish(b)
    finally:
        kill_all(*[p for p in (a, b) if p])
    assert code_a == 0 and code_b == 0, (text_a, text_b)
    assert most == 1, "two attnlab runs in one trial directory at once"
    assert len(os.listdir(out / "trials")) == 1
    ts = trials(out)
    assert [t.state.name for t in ts] == ["COMPLETE"] * 3, (text_a, text_b)
    assert len({t.value for t in ts}) == 1  # the same run's figure, reported by each
    (first,) = [t for t in ts if owner(t) == a.pid]
    waited = [t for t in ts if owner(t) == b.pid]
    assert len(waited) == 2
    assert all(t.datetime_start < first.datetime_complete for t in waited)  # asked while a's run held the directory


def test_a_killed_drivers_trial_is_requeued_by_the_other_driver(tmp_path):
    epochs = 100
    spec = slow_spec(tmp_path, epochs=epochs, n_trials=3, space="    train.optimizer.lr: {uniform: [0.01, 0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    a = start(spec, "--jobs", "1")
    b = None
    try:
        wait_for("the first driver's trial", lambda: running_trials(out, a.pid), [a])
        b = start(spec, "--jobs", "1")
        wait_for("the second driver's trial", lambda: running_trials(out, b.pid, training=False), [a, b])
        # Killed in the first half of a trial: it cannot have ended before the kill lands.
        (killed, *_) = wait_for("the first driver mid-trial",
                                lambda: running_trials(out, a.pid, before_epoch=epochs // 2), [a, b])
        os.kill(a.pid, signal.SIGKILL)  # the driver alone; its run gets SIGTERM (PR_SET_PDEATHSIG)
        a.wait()
        code_b, text_b = finish(b)
    finally:
        kill_all(*[p for p in (a, b) if p])
    assert code_b == 0, text_b
    assert f"trial {killed.number} was interrupted: its values run again" in text_b, text_b
    ts = trials(out)
    assert sorted(t.state.name for t in ts) == ["COMPLETE"] * 3 + ["FAIL"], text_b
    (failed,) = [t for t in ts if t.state.name == "FAIL"]
    assert failed.number == killed.number and failed.user_attrs["interrupted"]
    # Its values ran again in the same directory (resumed from its checkpoint) and completed there.
    assert killed.user_attrs["trial_dir"] in [row["trial_dir"] for row in ledger(out) if row["state"] == "complete"]


def test_a_killed_drivers_runs_stop_at_a_batch_boundary(tmp_path):
    # Trials of minutes: a run the kill did not stop would still train, or end with a results file (the
    # wait below outlasts it); a stopped run leaves its checkpoint and no results.
    spec = slow_spec(tmp_path, epochs=2000, n_trials=2, space="    train.optimizer.lr: {uniform: [0.01, 0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    p = start(spec, "--jobs", "2")
    runs = []
    try:
        wait_for("two trials training", lambda: len(running_trials(out, p.pid)) == 2, [p])
        runs = wait_for("two attnlab runs", lambda: len(children_of(p.pid)) == 2 and children_of(p.pid), [p])
        dirs = {pid: runs_dir for runs_dir, pids in runs_by_directory().items() for pid in pids}
        os.kill(p.pid, signal.SIGKILL)  # the driver alone, not its process group
        p.wait()
        wait_for("the orphaned runs to end", lambda: not any(map(process_alive, runs)))
    finally:
        kill_all(p)
        for pid in runs:  # only if the test failed: no run outlives it
            if process_alive(pid):
                os.kill(pid, signal.SIGKILL)
    for pid in runs:
        d = dirs[pid]
        files = os.listdir(d)
        assert any(f.endswith(".ckpt.h5") for f in files), files
        assert not [f for f in files if f.endswith(".h5") and f != "index.h5" and ".ckpt" not in f], files
        with open(os.path.join(d, "ledger.tsv")) as f:
            assert "interrupted" in f.read().splitlines()[-1]  # attnlab's own stop: SIGTERM, at a batch boundary


def test_a_stale_heartbeat_on_another_machine_is_a_dead_driver(tmp_path):
    """A trial of a driver on another machine (a pid here means nothing there) stays its own while its
    heartbeat is fresh and is requeued once it is stale."""
    import optuna
    spec = slow_spec(tmp_path, epochs=2, n_trials=2, space="    train.optimizer.lr: {uniform: [0.01, 0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    out.mkdir(parents=True)
    (out / "drivers").mkdir()
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(out / "study.journal")))
    study = optuna.create_study(study_name="attnlab", storage=storage, direction="maximize")
    elsewhere = {"id": "elsewhere-1-1", "host": "elsewhere", "pid": os.getpid(), "start": 1, "machine": "another"}
    trial = study.ask()
    trial.set_user_attr("driver", elsewhere)
    alive = out / "drivers" / "elsewhere-1-1.alive"
    alive.write_text(json.dumps(elsewhere))
    beating = threading.Event()
    beating.set()

    def beat():  # the other machine's driver, alive until the test says otherwise
        while beating.is_set():
            os.utime(alive)
            time.sleep(0.5)

    heart = threading.Thread(target=beat, daemon=True)
    heart.start()
    p = start(spec, "--jobs", "1")
    try:
        # Fresh: not requeued. The driver runs the one trial left, then waits for the other machine's.
        wait_for("the driver's own trial to complete",
                 lambda: [t for t in trials(out) if t.state.name == "COMPLETE" and owner(t) == p.pid], [p])
        time.sleep(3)  # a few of the driver's looks at the other machine's trial (every second)
        assert [t.state.name for t in trials(out)] == ["RUNNING", "COMPLETE"]
        beating.clear()
        heart.join()
        old = time.time() - 3600
        os.utime(alive, (old, old))  # an hour without a beat
        code, text = finish(p)
    finally:
        beating.clear()
        kill_all(p)
    assert code == 0, text
    assert "1 trial(s) to run of 2 (1 running in other drivers)" in text, text
    assert f"trial {trial.number} was interrupted: its values run again (its driver elsewhere-1-1 is gone)" in text
    assert [t.state.name for t in trials(out)] == ["FAIL", "COMPLETE", "COMPLETE"]


def test_another_plan_is_refused_and_jobs_may_differ(tmp_path):
    spec = slow_spec(tmp_path, epochs=1, n_trials=1, space="    train.optimizer.lr: {uniform: [0.01, 0.03]}\n")
    out = tmp_path / "results" / "tiny-tune"
    r = subprocess.run([BIN, "tune", spec, "--jobs", "1", "--threads", "1"], capture_output=True, text=True,
                       timeout=DEADLINE, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    plan = (out / "tune.yaml").read_text()
    r = subprocess.run([BIN, "tune", spec, "tune.space.train.optimizer.lr={loguniform: [0.001, 0.03]}", "--jobs", "1",
                        "--threads", "1"], capture_output=True, text=True, timeout=DEADLINE,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 2, r.stdout + r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "is a study of another plan" in lines[0], r.stderr
    assert "tune.space.train.optimizer.lr: uniform [0.01, 0.03] in the study, loguniform [0.001, 0.03] here" in lines[0]
    assert "config hash" not in lines[0]  # the same training config: only the space differs
    assert (out / "tune.yaml").read_text() == plan  # the refused plan never replaced the study's
    assert not [f for f in os.listdir(out) if f.startswith(".tune.yaml.")]
    # Another --jobs and a larger n_trials join the same study.
    r = subprocess.run([BIN, "tune", spec, "tune.n_trials=2", "--jobs", "2", "--threads", "1"], capture_output=True,
                       text=True, timeout=DEADLINE, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert states(out) == ["COMPLETE", "COMPLETE"]
    assert "n_trials: 2" in (out / "tune.yaml").read_text()


@pytest.mark.skipif(not os.path.exists(HELLO), reason="the example plugin library (ATTNLAB_HELLO_PLUGIN) not built")
def test_plugin_libraries_reach_every_trial(tmp_path):
    # attention/hello exists only in the library; its scale is what the study searches.
    space = "    model.attention.scale: {uniform: [0.5, 2.0]}\n"
    spec = write_spec(tmp_path, epochs=1, n_trials=2, sampler="random", space=space, pruner="none")
    with open(spec) as f:
        text = f.read().replace("attention: {type: seed_self}", "attention: {type: hello}")
    with open(spec, "w") as f:
        f.write(text)
    (tmp_path / "lib").mkdir()
    shutil.copy(HELLO, tmp_path / "lib" / "libhello.so")
    out = tmp_path / "results" / "tiny-tune"
    r = subprocess.run([BIN, "tune", spec, "--plugin", "lib/libhello.so", "--jobs", "1", "--threads", "1"],
                       capture_output=True, text=True, timeout=DEADLINE, cwd=tmp_path,
                       env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert [row["state"] for row in ledger(out)] == ["complete"] * 2, r.stdout
    import yaml
    with open(out / "tune.yaml") as f:
        flags = yaml.safe_load(f)["run_flags"]
    assert flags == ["--plugin", str(tmp_path / "lib" / "libhello.so")]  # absolute: the trials may run elsewhere
