"""End-to-end runs and sweeps with the attnlab binary: the HDF5 layout (read with h5py), the index,
the ledger, determinism, kill -9 and resume, truncated files, NaN failures, refused directories,
shards, a 2-rank MPI sweep, a 3-rank one that loses a rank, and a full disk."""
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")

SPEC = """name: tiny
data:
  dataset: {{type: marker, train: {train}, valid: 64, test: 64, seq_len: 8, vocab: 20, classes: 4}}
model:
  embedding: 8
  extractor: {{type: lstm, hidden: 8}}
  attention: {{type: seed_self}}
  pooling: {{type: flatten}}
  head: {{type: classification}}
train:
  epochs: {epochs}
  batch_size: 16
  optimizer: {optimizer}
  seed: 1
eval: {{metrics: [accuracy, logloss, macro_f1], select: accuracy}}
log: {{dir: {dir}, probes: 4, attention_epochs: [1]}}
sweep: {sweep}
"""


def write_spec(tmp_path, name="spec.yaml", train=256, epochs=2, optimizer="{type: adam, lr: 0.01}",
               sweep="{grid: {model.attention.type: [none, seed_self]}, seeds: [1, 2]}"):
    path = tmp_path / name
    path.write_text(SPEC.format(train=train, epochs=epochs, optimizer=optimizer, sweep=sweep, dir=tmp_path / "results"))
    return str(path)


def attnlab(*args, timeout=300, cwd=None):
    # One thread per trial: CTest runs tests side by side, and a 2-thread OpenMP team on a core
    # another process occupies spin-waits for orders of magnitude longer (README, Threads).
    if args and args[0] in ("run", "sweep") and "--threads" not in args:
        args = (*args, "--threads", "1")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


def trial_files(d):
    return sorted(f for f in os.listdir(d) if f.endswith(".h5") and f != "index.h5" and not f.endswith(".ckpt.h5"))


def finals(path):
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f["final"].visititems(visit)
        f["curves"].visititems(lambda n, o: out.__setitem__("curves/" + n, o[()]) if isinstance(o, h5py.Dataset) and
                               "seconds" not in n and "samples_per_s" not in n else None)
    return out


def ledger(d):
    with open(os.path.join(d, "ledger.tsv")) as f:
        return [line.rstrip("\n").split("\t") for line in f if line.strip()]


def test_run_writes_a_complete_trial_file(tmp_path):
    spec = write_spec(tmp_path)
    r = attnlab("run", spec, "--quiet")
    assert r.returncode == 0, r.stderr
    d = tmp_path / "results" / "tiny"
    files = trial_files(d)
    assert len(files) == 1
    with h5py.File(d / files[0], "r") as f:
        assert f.attrs["format"] == b"attnlab-trial" or f.attrs["format"] == "attnlab-trial"
        status = f["status"].attrs["state"]
        assert (status.decode() if isinstance(status, bytes) else status) == "done"
        yaml = f["config/yaml"][()]
        assert b"seed_self" in (yaml if isinstance(yaml, bytes) else yaml.encode())
        assert "attnlab_version" in f["env"].attrs and "onednn" in f["env"].attrs
        assert f["curves/train/loss"].shape == (2,)
        assert f["curves/valid/accuracy"].shape == (2,)
        assert np.all(np.isfinite(f["curves/train/loss"][()]))
        acc = f["final/test/accuracy"][()]
        assert 0.0 <= acc <= 1.0
        w = f["attention/attention/epoch_1"][()]
        assert w.shape[0] == 4 and np.allclose(w.sum(axis=-1), 1.0, atol=1e-4)
        assert f["attention/probe/truth"].shape[0] == 4  # marker data: one informative position each
        assert f["timing/samples_per_second"][()] > 0 and f["timing/total_seconds"][()] > 0


def test_sweep_parallel_index_and_ledger(tmp_path):
    spec = write_spec(tmp_path)
    r = attnlab("sweep", spec, "--jobs", "2", "--threads", "1")
    assert r.returncode == 0, r.stderr
    assert "4 done, 0 failed" in r.stdout
    d = tmp_path / "results" / "tiny"
    assert len(trial_files(d)) == 4
    states = [row[2] for row in ledger(d)]
    assert states.count("running") == 4 and states.count("done") == 4
    with h5py.File(d / "index.h5", "r") as f:
        summary = f["summary"][()]
        assert len(summary) == 4
        for tid in f["trials"]:
            assert "accuracy" in f["trials"][tid]["final/test"]


def test_same_seed_same_results_and_resume_after_kill(tmp_path):
    spec = write_spec(tmp_path, train=2048, epochs=4, sweep="{seeds: [1, 2, 3]}")
    reference = tmp_path / "reference"
    r = attnlab("sweep", spec, "--jobs", "1", "--threads", "1", "--quiet", "--out", str(reference))
    assert r.returncode == 0, r.stderr
    again = tmp_path / "again"
    assert attnlab("sweep", spec, "--jobs", "1", "--quiet", "--out", str(again)).returncode == 0
    for name in trial_files(reference):  # bitwise identical metrics and curves
        a, b = finals(reference / name), finals(again / name)
        assert a.keys() == b.keys()
        for k in a:
            assert np.array_equal(a[k], b[k]), k

    killed = tmp_path / "killed"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.Popen([BIN, "sweep", spec, "--jobs", "1", "--threads", "1", "--quiet", "--out", str(killed)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.time() + 120
    while time.time() < deadline:  # kill once the first trial is done and the second is past an epoch
        if os.path.exists(killed / "ledger.tsv"):
            rows = ledger(killed)
            if [x[2] for x in rows].count("done") == 1 and any(f.endswith(".ckpt.h5") for f in os.listdir(killed)):
                break
        time.sleep(0.05)
    p.send_signal(signal.SIGKILL)
    p.wait()
    done_before = [x[1] for x in ledger(killed) if x[2] == "done"]
    assert len(done_before) == 1
    r = attnlab("sweep", spec, "--jobs", "1", "--threads", "1", "--out", str(killed))
    assert r.returncode == 0, r.stderr
    rerun = [x[1] for x in ledger(killed)[len(ledger(killed)) - 2 * 2:] if x[2] == "running"]
    assert done_before[0] not in rerun  # the finished trial was not run again
    for name in trial_files(reference):
        a, b = finals(reference / name), finals(killed / name)
        for k in a:
            assert np.array_equal(a[k], b[k]), k

    # A truncated trial file is detected and only that trial re-runs.
    victim = killed / trial_files(killed)[0]
    size = os.path.getsize(victim)
    with open(victim, "r+b") as f:
        f.truncate(size // 2)
    n_before = len(ledger(killed))
    r = attnlab("sweep", spec, "--jobs", "1", "--quiet", "--out", str(killed))
    assert r.returncode == 0, r.stderr
    new_rows = ledger(killed)[n_before:]
    assert [x[2] for x in new_rows].count("running") == 1
    assert finals(victim).keys() == finals(reference / victim.name).keys()


def test_nan_fails_one_trial_and_the_sweep_goes_on(tmp_path):
    spec = write_spec(tmp_path, optimizer="{type: sgd, lr: 0.1}",
                      sweep="{grid: {train.optimizer.lr: [0.1, 1.0e+38]}}")
    r = attnlab("sweep", spec, "--jobs", "1", "--quiet")
    assert r.returncode == 1
    d = tmp_path / "results" / "tiny"
    statuses = {}
    for name in trial_files(d):
        with h5py.File(d / name, "r") as f:
            s = f["status"].attrs["state"]
            m = f["status"].attrs["message"]
            statuses[name] = ((s.decode() if isinstance(s, bytes) else s), (m.decode() if isinstance(m, bytes) else m))
    assert sorted(s for s, _ in statuses.values()) == ["done", "failed"]
    message = [m for s, m in statuses.values() if s == "failed"][0]
    assert "epoch 1 step" in message and ("NaN" in message or "Inf" in message or "inf" in message or "nan" in message)


def test_changed_spec_is_refused_unless_forced(tmp_path):
    spec = write_spec(tmp_path, sweep="{seeds: [1]}")
    assert attnlab("sweep", spec, "--quiet").returncode == 0
    write_spec(tmp_path, epochs=1, sweep="{seeds: [1]}")  # no trial in common
    r = attnlab("sweep", spec, "--quiet")
    assert r.returncode == 2 and "different spec" in r.stderr
    assert attnlab("sweep", spec, "--quiet", "--force").returncode == 0


def test_a_sweep_directory_grows_with_more_seeds_and_values(tmp_path):
    spec = write_spec(tmp_path, epochs=1, sweep="{seeds: [1]}")
    assert attnlab("sweep", spec, "--quiet").returncode == 0
    d = tmp_path / "results" / "tiny"
    first = trial_files(d)
    mtime = os.path.getmtime(d / first[0])
    # More seeds, and an axis given on the command line (Hydra's multirun): the finished trial stays.
    write_spec(tmp_path, epochs=1, sweep="{seeds: [1, 2]}")
    r = attnlab("sweep", spec, "model.attention.type=seed_self,none")
    assert r.returncode == 0, r.stderr
    assert "the sweep grows: 3 new trials, 1 of its 1 earlier trials" in r.stderr
    assert "1 finished earlier" in r.stdout + r.stderr
    assert len(trial_files(d)) == 4 and first[0] in trial_files(d)
    assert os.path.getmtime(d / first[0]) == mtime
    with h5py.File(d / "index.h5", "r") as f:
        assert len(f["summary"][()]) == 4
    # Fewer values than the directory holds: nothing to run, nothing lost.
    r = attnlab("sweep", spec, "--quiet")
    assert r.returncode == 0, r.stderr
    assert len(trial_files(d)) == 4
    # `run` is one trial: a comma list there is refused before anything is written.
    r = attnlab("run", spec, "train.epochs=1,2")
    assert r.returncode == 2 and "attnlab sweep" in r.stderr


def test_relative_paths_in_a_spec_are_relative_to_the_spec(tmp_path):
    (tmp_path / "specs").mkdir()
    spec = tmp_path / "specs" / "spec.yaml"
    spec.write_text(SPEC.format(train=64, epochs=1, optimizer="{type: adam, lr: 0.01}", sweep="{seeds: [1]}",
                                dir="runs"))
    r = attnlab("sweep", str(spec), "--quiet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert len(trial_files(tmp_path / "specs" / "runs" / "tiny")) == 1
    assert not (tmp_path / "runs").exists()


def test_shards_split_the_trials(tmp_path):
    spec = write_spec(tmp_path)
    a = attnlab("sweep", spec, "--shard", "0/2", "--quiet")
    b = attnlab("sweep", spec, "--shard", "1/2", "--quiet")
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    d = tmp_path / "results" / "tiny"
    assert len(trial_files(d)) == 4
    with h5py.File(d / "index.h5", "r") as f:
        assert len(f["summary"][()]) == 4


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI not installed")
def test_two_rank_mpi_sweep(tmp_path):
    if "mpi" not in attnlab("--version").stdout.lower():
        pytest.skip("attnlab built without MPI")
    spec = write_spec(tmp_path)
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", BIN, "sweep", spec, "--jobs", "1", "--threads", "1", "--quiet"],
                       capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    d = tmp_path / "results" / "tiny"
    assert len(trial_files(d)) == 4
    ranks = set()
    for name in trial_files(d):
        with h5py.File(d / name, "r") as f:
            rank = f["env"].attrs["mpi_rank"]
            ranks.add(rank.decode() if isinstance(rank, bytes) else str(rank))
    assert ranks == {"0", "1"}  # both ranks ran trials
    states = [row[2] for row in ledger(d)]
    assert states.count("done") == 4
    with h5py.File(d / "index.h5", "r") as f:
        assert len(f["summary"][()]) == 4


def rank_pids(rank, marker):
    """The pids of the attnlab processes of MPI rank `rank` whose command line holds `marker`."""
    pids = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if os.path.basename(cmd[0]) == b"attnlab" and marker.encode() in cmd and \
                f"OMPI_COMM_WORLD_RANK={rank}".encode() in env:
            pids.append(int(pid))
    return pids


def last_records(d):
    out = {}
    for row in ledger(d)[1:]:
        out[row[1]] = row
    return out


@pytest.mark.skipif(shutil.which("mpirun") is None or not os.path.isdir("/proc"), reason="Open MPI or /proc missing")
def test_a_killed_mpi_rank_is_lost_the_others_finish_and_a_rerun_completes(tmp_path):
    if "mpi" not in attnlab("--version").stdout.lower():
        pytest.skip("attnlab built without MPI")
    spec = write_spec(tmp_path, train=8192, epochs=3, sweep="{seeds: [1, 2, 3, 4, 5, 6]}")
    d = tmp_path / "results" / "tiny"
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    sweep = [BIN, "sweep", spec, "--jobs", "1", "--threads", "1", "--quiet"]
    # By default mpirun ends every rank when one dies; this flag lets the others live on (mpi.h).
    p = subprocess.Popen(["mpirun", "--oversubscribe", "--mca", "orte_abort_on_non_zero_status", "0", "-np", "3",
                          *sweep], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                         start_new_session=True)
    try:
        deadline = time.time() + 120
        victims = []
        while time.time() < deadline and p.poll() is None:
            # Every rank has its first trial under way (one job each) and none has finished yet.
            if os.path.exists(d / "ledger.tsv"):
                states = [row[2] for row in ledger(d)[1:]]
                if states.count("running") == 3 and "done" not in states:
                    victims = rank_pids(2, spec)
                    if victims:
                        break
            time.sleep(0.05)
        assert victims, "rank 2 never ran a trial"
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        out, err = p.communicate(timeout=300)  # the original coordinator waited for rank 2 forever
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    assert p.returncode != 0, out + err
    last = last_records(d)
    assert len(last) == 6, last
    lost = [tid for tid, row in last.items() if row[2] != "done"]
    assert len(lost) == 1, last  # the other ranks finished every other trial
    row = last[lost[0]]
    assert row[2] == "running" and row[3].startswith("interrupted: MPI rank 2 was lost"), row
    assert "MPI rank 2 is lost" in err and f"while it ran trial {lost[0]}" in err, err
    assert "run the same command again" in err, err
    finished = {name: os.path.getmtime(d / name) for name in trial_files(d)}
    assert len(finished) == 5 and lost[0] + ".h5" not in finished

    # The same command again: only the lost trial runs, from its checkpoint; the finished ones stay.
    n_before = len(ledger(d))
    r = subprocess.run(["mpirun", "--oversubscribe", "-np", "3", *sweep], capture_output=True, text=True,
                       timeout=300, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {row[1] for row in ledger(d)[n_before:]} == {lost[0]}
    assert all(row[2] == "done" for row in last_records(d).values())
    assert len(trial_files(d)) == 6
    for name, mtime in finished.items():
        assert os.path.getmtime(d / name) == mtime, name
    with h5py.File(d / "index.h5", "r") as f:
        assert len(f["summary"][()]) == 6


def test_progress_off_a_terminal_is_one_line_per_trial_and_epoch(tmp_path):
    # A pipe (nohup, CI, a scheduler's log): plain lines with the epoch's figures, the sweep's
    # progress and ETA, the trial's short label; a line per finished trial with its best figure.
    spec = write_spec(tmp_path, epochs=2, sweep="{grid: {model.extractor: [{type: lstm, hidden: 8}, {type: gru, hidden: 8}]}, seeds: [1]}")
    r = attnlab("sweep", spec, "--jobs", "1")
    assert r.returncode == 0, r.stderr
    lines = r.stderr.splitlines()
    epochs = [l for l in lines if l.startswith("trial ") and " epoch " in l]
    assert len(epochs) == 4, r.stderr  # 2 trials x 2 epochs
    assert all(re.search(r"epoch [12]/2: train loss [0-9.]+, [0-9]+ samples/s, valid accuracy [0-9.]+ "
                         r"\(best [0-9.]+\), [0-9:]+ per epoch; sweep [0-9]/2 finished, ETA ", l) for l in epochs), epochs
    assert "ETA ?" not in epochs[-1]  # measured once an epoch ended
    # Short labels: the plugin by its type, not the whole node.
    assert epochs[0].endswith("model.extractor=lstm train.seed=1"), epochs[0]
    done = [l for l in lines if re.match(r"\[\d/2\] ", l)]
    assert len(done) == 2 and all(", best valid accuracy " in l for l in done), done


def test_progress_on_a_terminal_redraws_a_sweep_line(tmp_path):
    import pty
    spec = write_spec(tmp_path, train=16384, epochs=3, sweep="{seeds: [1, 2]}")  # long enough to be redrawn
    master, slave = pty.openpty()
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([BIN, "sweep", spec, "--jobs", "1", "--threads", "1"], stdout=subprocess.PIPE,
                            stderr=slave, env=env)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    proc.wait(timeout=300)
    os.close(master)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text
    assert re.search(r"sweep: [01]/2 finished \(0 failed\), 1 running, elapsed [0-9:]+, ETA [0-9]", text), text
    assert "\x1b[1A\x1b[2K" in text  # redrawn in place
    assert re.search(r"epoch [123]/3 batch \d+/\d+ loss [0-9.]+ [0-9]+ samples/s", text), text
    assert re.search(r"epoch [23]/3 batch \d+/\d+ loss [0-9.]+ [0-9]+ samples/s valid accuracy [0-9.]+", text), text
    assert "trial " not in text.replace("trials", "")  # no plain per-epoch lines on a terminal
    assert re.search(r"\[2/2\] \S+ done \([0-9:]+, best valid accuracy", text), text


def test_watch_follows_a_running_sweep(tmp_path):
    # The trials' HDF5 files cannot be read while written; watch reads the progress files the trainer
    # replaces after every epoch.
    spec = write_spec(tmp_path, train=32768, epochs=4, sweep="{seeds: [1, 2, 3]}")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen([BIN, "sweep", spec, "--jobs", "1", "--threads", "1", "--quiet"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    d = tmp_path / "results" / "tiny"
    seen_running = None
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if d.exists():
            w = attnlab("watch", str(d), "--once")
            assert w.returncode == 0, w.stderr
            m = re.search(r"^(\w{12})  running\s+([1-3])/4\s+([0-9.]+)\s+(\S+)", w.stdout, re.M)
            if m and "waiting" in w.stdout:
                seen_running = (w.stdout, m)
                break
        time.sleep(0.05)
    assert proc.wait(timeout=300) == 0, proc.stderr.read()
    assert seen_running, "never saw a running trial with an epoch done while others waited"
    table, m = seen_running
    assert re.match(r"3 trials: \d done, 1 running, 0 failed, \d waiting", table), table
    assert all(c in "▁▂▃▄▅▆▇█" for c in m.group(4)), m.group(4)  # the sparkline of its epochs
    final = attnlab("watch", str(d), "--once").stdout
    assert final.startswith("3 trials: 3 done, 0 running, 0 failed, 0 waiting"), final
    assert len(re.findall(r"done\s+4/4\s+[0-9.]+\s+[▁▂▃▄▅▆▇█]{4}\s", final)) == 3, final


@pytest.fixture
def small_disk(tmp_path):
    """A 400 KiB tmpfs: room for a few trial files, not for eight. Skips where mounting is not
    permitted (not root, or a container without CAP_SYS_ADMIN)."""
    d = tmp_path / "disk"
    d.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(d)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
    yield d
    subprocess.run(["umount", "-l", str(d)], capture_output=True)


def test_a_full_disk_fails_trials_cleanly_and_a_rerun_completes(tmp_path, small_disk):
    # Before: each trial printed HDF5's error stack ("bytes actually written = 18446744073709551615"),
    # the sweep went on starting trials, and the process died at exit with SIGSEGV in HDF5's exit
    # handlers (rc 139, no table).
    spec = write_spec(tmp_path, sweep="{grid: {model.attention.type: [none, seed_self]}, seeds: [1, 2, 3, 4]}")
    out = small_disk / "s"
    r = attnlab("sweep", spec, "--jobs", "2", "--out", str(out))
    assert r.returncode == 1, r.stderr[-3000:]
    assert "no space left on device writing " + str(out) in r.stderr
    assert "bytes actually written" not in r.stderr and "HDF5" not in r.stderr
    assert "the sweep stopped starting trials" in r.stderr
    assert re.search(r"\d+ not run", r.stdout), r.stdout  # the table and its summary are printed
    finished = trial_files(out)
    assert len(finished) < 8
    for name in finished:  # every published trial file is whole
        with h5py.File(out / name, "r") as f:
            assert f["status"].attrs["state"] in (b"done", "done")
    states = {row[1]: row[2] for row in ledger(out)[1:]}
    assert "failed" in states.values()
    # A failed trial's partial file went (its space with it); a trial stopped at a batch boundary
    # keeps its file and checkpoint to resume from.
    partial = {f.split(".")[0] for f in os.listdir(out) if f.endswith(".tmp")}
    assert all(states[t] == "running" for t in partial), (partial, states)
    stamps = {name: os.stat(out / name).st_mtime_ns for name in finished}

    # Space comes back: the same command runs the rest and leaves the finished trials alone.
    subprocess.run(["mount", "-o", "remount,size=20m", str(small_disk)], check=True)
    r = attnlab("sweep", spec, "--jobs", "2", "--out", str(out))
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{len(finished)} finished earlier" in r.stdout
    assert len(trial_files(out)) == 8
    assert {name: os.stat(out / name).st_mtime_ns for name in finished} == stamps


def test_openmp_teams_wait_passively_next_to_busy_cores(tmp_path):
    # libgomp's default spins; a 2-thread team next to a busy core crawled (README, Threads). The
    # policy is read when libgomp loads, so attnlab measures the machine's load at start and, when
    # other processes keep a core busy, sets OMP_WAIT_POLICY=passive and re-executes itself. A policy
    # the user set is kept, and so is the verdict of `attnlab tune`, which measured before its trials
    # started (ATTNLAB_WAIT_POLICY_MEASURED: a trial would take its sibling trials for neighbours).
    spec = write_spec(tmp_path, epochs=1, sweep="{}")
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "ATTNLAB_WAIT_POLICY_MEASURED")}
    busy = [subprocess.Popen([sys.executable, "-c", "while True: pass"])]  # half a core busy is enough
    try:
        time.sleep(0.5)
        cases = ((None, {}, "passive"), ("active", {}, "active"), ("tuned", {"ATTNLAB_WAIT_POLICY_MEASURED": "1"}, "default"))
        for given, extra, expected in cases:
            out = tmp_path / f"out_{given}"
            run_env = dict(env, **extra, **({"OMP_WAIT_POLICY": given} if given in ("active",) else {}))
            r = subprocess.run([BIN, "run", spec, "--threads", "1", "--quiet", "--out", str(out)],
                               capture_output=True, text=True, timeout=300, env=run_env)
            assert r.returncode == 0, r.stderr
            (name,) = trial_files(out)
            with h5py.File(out / name, "r") as f:
                policy = f["env"].attrs["omp_wait_policy"]
            assert (policy.decode() if isinstance(policy, bytes) else policy) == expected
    finally:
        for p in busy:
            p.kill()
            p.wait()
