"""The tuning driver behind `attnlab tune` (docs/tune.md). `attnlab tune` checks the spec and its
`tune:` block, writes <dir>/tune.yaml (the plan: framework/experiment/tune.h) and executes
`scripts/tune <dir>/tune.yaml`, which lands here.

The study lives in <dir>/study.journal (Optuna's JournalFileStorage): a killed run, started again,
loads it and runs only the trials still missing. Each trial is an ordinary `attnlab run` of the spec
(`~tune` and the sampled values as overrides) into <dir>/trials/<key>, where <key> digests the
values: the same values always land in the same directory, so a trial interrupted by a kill resumes
from its checkpoint. After every epoch the trainer replaces <id>.progress.yaml; the driver reads it,
reports the epoch's validation figure to Optuna and, when the pruner says so, stops the run with
SIGINT (attnlab stops at a batch boundary, keeping its checkpoint) and records the trial as pruned.
<dir>/tune.tsv gets one fsync'd line per finished trial (number, state, epoch, value, trial
directory, values), for people and for the analysis scripts."""
import glob
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
import warnings

import yaml
from pathlib import Path

from .errors import AnalysisError
from . import tune_drivers as drivers

POLL_SECONDS = 0.1
FAILURES_IN_A_ROW = 5  # then the study stops: the same mistake would fail every trial (a spec, a path)
LEDGER = "tune.tsv"
LEDGER_HEADER = "number\tstate\tepoch\tvalue\ttrial_dir\tparams\n"
WAIT_SECONDS = 1.0  # a worker with nothing to start looks again this often (other drivers' trials may end or die)


def _optuna():
    try:
        import optuna
    except ImportError:
        raise AnalysisError("attnlab tune needs Optuna: apt-get install python3-optuna (scripts/setup.sh)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)  # JournalStorage in 3.1
    return optuna


def read_plan(path: str) -> dict:
    with open(path) as f:
        plan = yaml.safe_load(f)
    if not isinstance(plan, dict) or "space" not in plan:
        raise AnalysisError(f"{path}: not a tuning plan written by `attnlab tune`")
    return plan


def override_text(value) -> str:
    """A sampled number as an override value; floats always with a '.', as the sweep writes them."""
    if isinstance(value, float):
        text = repr(value)
        if "e" in text and "." not in text.split("e")[0]:
            mantissa, exponent = text.split("e")
            text = f"{mantissa}.0e{exponent}"
        return text
    return str(value)


def suggest(trial, space: dict) -> dict:
    """One value per searched key, asked from Optuna's trial (define-by-run); the values are override
    texts. A conditional key (`when`: the choice it depends on and the choices under which it is
    searched) is asked after that choice, and only when the choice holds: otherwise the trial has no
    value for it and its run leaves the spec's own (Optuna's conditional search space)."""
    out = {}
    for key, d in sorted(space.items(), key=lambda kv: "when" in kv[1]):  # stable: the plan's order otherwise
        when = d.get("when")
        if when and out.get(when["key"]) not in when["values"]:
            continue
        kind = d["kind"]
        if kind == "choice":
            out[key] = trial.suggest_categorical(key, list(d["values"]))
        elif kind == "int":
            out[key] = override_text(trial.suggest_int(key, int(d["low"]), int(d["high"])))
        else:
            out[key] = override_text(trial.suggest_float(key, float(d["low"]), float(d["high"]),
                                                         log=kind == "loguniform"))
    return out


def trial_key(params: dict) -> str:
    text = "\n".join(f"{k}={v}" for k, v in sorted(params.items()))
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def make_sampler(optuna, plan: dict):
    seed = int(plan["seed"])
    if plan["sampler"] == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if plan["sampler"] == "grid":
        class Grid(optuna.samplers.GridSampler):
            def after_trial(self, study, trial, state, values):
                pass  # its study.stop() works only inside study.optimize(); n_trials ends the study here

        return Grid({k: list(d["values"]) for k, d in plan["space"].items()}, seed=seed)
    if plan["sampler"] == "cmaes":  # attnlab validate allows it only over ranges (uniform, loguniform, int)
        return optuna.samplers.CmaEsSampler(seed=seed, n_startup_trials=max(1, int(plan["startup_trials"])))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=max(1, int(plan["startup_trials"])))


def make_pruner(optuna, plan: dict):
    if plan["pruner"] == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=int(plan["startup_trials"]),
                                           n_warmup_steps=int(plan["warmup_epochs"]) + 1)  # steps are epochs, from 1
    # Successive halving and Hyperband: the first rung after warmup_epochs + 1 epochs, then every
    # reduction factor (3) times more; a trial goes on while its figure is in the best third of those
    # that reached its rung (Hyperband runs several such brackets, trading early pruning for safety)
    first = int(plan["warmup_epochs"]) + 1
    if plan["pruner"] == "successive_halving":
        return optuna.pruners.SuccessiveHalvingPruner(min_resource=first, reduction_factor=3)
    if plan["pruner"] == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=first, max_resource=max(first, int(plan["epochs"])),
                                              reduction_factor=3)
    return optuna.pruners.NopPruner()


def objectives(plan: dict) -> list:
    """[{metric, direction}, ...]: the study's objectives in order (a plan of the first slice has one)."""
    return plan.get("objectives") or [{"metric": plan["metric"], "direction": plan["direction"]}]


def check_study(study, plan: dict):
    """A tuning directory keeps its objectives: Optuna loads a stored study with its own directions
    whatever the spec now says, and values of other figures are not comparable with its trials."""
    goals = objectives(plan)
    metrics = [o["metric"] for o in goals]
    directions = [o["direction"] for o in goals]
    stored = study.user_attrs.get("metrics") or ([study.user_attrs["metric"]] if "metric" in study.user_attrs else None)
    stored_directions = [d.name.lower() for d in study.directions]
    if (stored is not None and stored != metrics) or stored_directions != directions:
        raise AnalysisError(f"{plan['dir']}: its study optimises {', '.join(stored or ['?'])} "
                            f"({', '.join(stored_directions)}), the spec {', '.join(metrics)} ({', '.join(directions)}); "
                            "tune into another directory (--out DIR) or remove its study.journal to start again")
    study.set_user_attr("metrics", metrics)


def progress_curve(progress, metric: str) -> list:
    """The per-epoch series of `metric` (valid/<figure>) in a progress file: its `curves` map, or, from
    a trainer older than that map, the `valid` series when the figure is eval.select."""
    if not progress:
        return []
    figure = metric[len("valid/"):] if metric.startswith("valid/") else metric
    curves = progress.get("curves") or {}
    if figure in curves:
        return curves[figure] or []
    return (progress.get("valid") or []) if progress.get("select") == figure else []


def values_text(value) -> str:
    """tune.tsv's value column: one number, or one per objective joined by ',' (objective order)."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ",".join(repr(float(v)) for v in value)
    return repr(value)


YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser: python3-yaml has it


def load_progress(path: str):
    try:
        with open(path) as f:
            return yaml.load(f, Loader=YAML_LOADER)
    except (OSError, yaml.YAMLError):
        return None


def read_progress(trial_dir: str):
    """The trainer's <id>.progress.yaml (replaced atomically after every epoch), or None."""
    for path in glob.glob(os.path.join(trial_dir, "*.progress.yaml")):
        return load_progress(path)
    return None


class ProgressWatch:
    """A running trial's progress file, parsed only when the trainer has replaced it (a new inode, or
    another mtime or size): the driver looks every POLL_SECONDS, and parsing a file of 200 epochs of
    curves that often cost it a fifth of a core, taken from the trials (measured with 2 drivers beside
    2 SASRec trials on 2 cores)."""

    def __init__(self, trial_dir: str):
        self.trial_dir, self.path, self.stamp, self.value = trial_dir, None, None, None

    def read(self):
        if self.path is None:
            found = glob.glob(os.path.join(self.trial_dir, "*.progress.yaml"))
            if not found:
                return None
            self.path = found[0]
        try:
            st = os.stat(self.path)
        except OSError:
            return self.value
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        if stamp != self.stamp:
            value = load_progress(self.path)
            if value is not None:
                self.stamp, self.value = stamp, value
        return self.value


def final_values(trial_dir: str, metrics: list):
    """The figures (/final/<metric>: the best epoch's, chosen by eval.select) from the trial's results
    file, opened once; None when there is no such file or one is missing. A run that exited 0 wrote
    them all."""
    import h5py

    from .load import _finished_files

    for path in _finished_files(Path(trial_dir)).values():
        try:
            with h5py.File(path, "r") as f:
                values = [float(f["final/" + m][()]) if "final/" + m in f else None for m in metrics]
        except OSError:
            return None
        return None if None in values else values
    return None


def last_lines(path: str, count: int = 3) -> str:
    """The end of a trial's run.log: where attnlab says what went wrong."""
    try:
        with open(path, errors="replace") as f:
            lines = [line.rstrip() for line in f if line.strip()]
    except OSError as e:
        return f"({e.strerror})"
    return "\n".join(lines[-count:]) if lines else "(run.log is empty)"


def indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())


class Driver:
    def __init__(self, plan: dict, out=sys.stdout, plan_path: str = None):
        """Loads (or creates) the study in plan["dir"] and joins it: see join(). plan_path: the file the
        plan came from; unless it is <dir>/tune.yaml already, it becomes that once the study accepts it."""
        self.optuna = _optuna()
        self.plan = plan
        self.dir = plan["dir"]
        self.out = out
        self.lock = threading.RLock()  # the signal handler (main thread) takes it too
        self.stopping = False
        self.failures_in_a_row = 0
        self.gave_up = None  # why no more trials start, after FAILURES_IN_A_ROW failed trials
        self.started_at = time.monotonic()  # tune.timeout counts from run()
        self.timed_out = False
        self.wake = threading.Event()  # set on Ctrl-C: idle workers stop waiting
        self.children = set()
        # trial key -> FileLock on trials/<key>/.lock: equal values (TPE repeats choices) never run at
        # once, in this driver or in another one; the trial's `attnlab run` holds the lock too.
        self.dir_locks = {}
        os.makedirs(os.path.join(self.dir, "trials"), exist_ok=True)
        os.makedirs(os.path.join(self.dir, "drivers"), exist_ok=True)
        self.owner = drivers.Owner()
        self.heartbeat = None  # beats while run() runs
        self.child_setup = drivers.child_setup()
        # Asking, counting, requeueing and joining happen under this lock, in every driver of the study.
        self.study_lock = drivers.FileLock(os.path.join(self.dir, "drivers", "study.lock"))
        journal = os.path.join(self.dir, "study.journal")
        storage = self.optuna.storages.JournalStorage(self.optuna.storages.JournalFileStorage(
            journal, lock_obj=drivers.FileLock(os.path.join(self.dir, "drivers", "journal.lock"))))
        with self.study_lock:
            self.study = self.optuna.create_study(
                study_name="attnlab", storage=storage, load_if_exists=True,
                directions=[o["direction"] for o in objectives(plan)],
                sampler=make_sampler(self.optuna, plan), pruner=make_pruner(self.optuna, plan))
            self.join(plan_path)

    def join(self, plan_path):
        """Under the study lock. The study must be of this plan (drivers.plan_identity: the spec, the
        config hash, the space, the objective, the sampler); a study without one takes this one. The
        drivers that joined before this one make its ordinal: from the second on, the sampler's seed is
        seed + ordinal, so that two drivers never draw the same values. The plan becomes
        <dir>/tune.yaml (atomically: os.replace)."""
        check_study(self.study, self.plan)
        identity = drivers.plan_identity(self.plan)
        attrs = self.study.user_attrs
        theirs = attrs.get(drivers.PLAN_ATTR)
        if theirs is not None and theirs != identity:
            raise AnalysisError(
                f"{os.path.join(self.dir, 'study.journal')} is a study of another plan ("
                + "; ".join(drivers.plan_differences(theirs, identity))
                + "): give this one its own --out, or tune with the study's spec and tune: block")
        if theirs is None:
            self.study.set_user_attr(drivers.PLAN_ATTR, identity)
        self.study.set_user_attr("metric", self.plan["metric"])
        ordinal = int(attrs.get("drivers", 0))
        self.study.set_user_attr("drivers", ordinal + 1)
        if ordinal:
            self.study.sampler = make_sampler(self.optuna, dict(self.plan, seed=int(self.plan["seed"]) + ordinal))
        try:
            with open(os.path.join(self.dir, LEDGER), "x") as f:
                f.write(LEDGER_HEADER)
        except FileExistsError:
            pass
        final = os.path.join(self.dir, "tune.yaml")
        if plan_path and os.path.abspath(plan_path) != os.path.abspath(final):
            os.replace(plan_path, final)
            dir_fd = os.open(self.dir, os.O_RDONLY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)

    def say(self, text: str):
        with self.lock:
            print(text, file=self.out, flush=True)

    def record(self, number, state, epoch, value, trial_dir, params):
        line = "\t".join([str(number), state, str(epoch), values_text(value),
                          os.path.relpath(trial_dir, self.dir), json.dumps(params, sort_keys=True)]) + "\n"
        with self.lock:
            with open(os.path.join(self.dir, LEDGER), "a") as f:
                f.write(line)
                f.flush()
                os.fsync(f.fileno())

    def requeue_interrupted(self, now: float) -> int:
        """Under the study lock. Trials left RUNNING by a driver that is gone (killed, its machine lost,
        or stopped by Ctrl-C): failed in the study (user attribute `interrupted`, not counted), their
        values asked again; the same values run in the same directory and resume from its checkpoint.
        The trials of live drivers (drivers.Heartbeat.alive) stay theirs. Returns how many it requeued."""
        TrialState = self.optuna.trial.TrialState
        requeued = 0
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = t.user_attrs.get(drivers.OWNER_ATTR)
            if self.heartbeat.alive(owner, now):
                continue
            self.study._storage.set_trial_user_attr(t._trial_id, "interrupted", True)
            self.study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            self.study.enqueue_trial(dict(t.params), skip_if_exists=False)
            gone = owner["id"] if isinstance(owner, dict) and "id" in owner else "unknown"
            self.say(f"trial {t.number} was interrupted: its values run again (its driver {gone} is gone)")
            requeued += 1
        return requeued

    def finished(self) -> int:
        TrialState = self.optuna.trial.TrialState
        return sum(1 for t in self.study.get_trials(deepcopy=False)
                   if t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                   or (t.state == TrialState.FAIL and not t.user_attrs.get("interrupted")))

    def running(self):
        """The RUNNING trials: (this driver's, other drivers'). Right after requeue_interrupted(), under
        the study lock, every one has a live driver."""
        TrialState = self.optuna.trial.TrialState
        ours, others = [], []
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            owner = t.user_attrs.get(drivers.OWNER_ATTR)
            mine = isinstance(owner, dict) and owner.get("id") == self.owner.id
            (ours if mine else others).append(t)
        return ours, others

    def next_trial(self):
        """The next trial this driver runs, or None. n_trials is the study's total over all its drivers:
        under the study lock, trials of dead drivers are requeued, then a trial is asked only while
        finished + running (by live drivers) < n_trials, and this driver is recorded on it before the
        lock is released, so drivers never start more than n_trials between them. With nothing to
        start, a worker waits while other drivers' trials run (one may die and its trial need running
        again), and returns once none do."""
        n = int(self.plan["n_trials"])
        while not self.stopping:
            with self.study_lock:
                self.requeue_interrupted(self.heartbeat.now())
                finished = self.finished()
                ours, others = self.running()
                if finished + len(ours) + len(others) < n:
                    trial = self.study.ask()
                    trial.set_user_attr(drivers.OWNER_ATTR, self.owner.attr())
                    return trial
                if finished >= n or not others:
                    return None
            self.wake.wait(WAIT_SECONDS)
        return None

    def child_options(self, trial_dir: str) -> dict:
        """How a trial's `attnlab run` starts (subprocess.Popen keywords): it keeps the trial directory's
        lock open, so that the directory stays locked as long as the run lasts, even past a killed
        driver (locally; on NFS flock is per process and the lock ends with the driver), and it gets
        SIGTERM when its driver dies (drivers.child_setup)."""
        options = {}
        lock = self.dir_locks.get(os.path.basename(trial_dir))
        if lock is not None and lock.fd is not None:
            options["pass_fds"] = (lock.fd,)
        if self.child_setup is not None:
            options["preexec_fn"] = self.child_setup
        return options

    def taken_over(self, trial) -> bool:
        """Whether another driver requeued this trial (it took this driver for dead: a stopped process,
        or a heartbeat that did not reach the file server in time)."""
        t = self.study._storage.get_trial(trial._trial_id)
        return t.state.is_finished() and bool(t.user_attrs.get("interrupted"))

    def run_trial(self, trial):
        params = suggest(trial, self.plan["space"])
        trial_dir = os.path.join(self.dir, "trials", trial_key(params))
        trial.set_user_attr("trial_dir", os.path.relpath(trial_dir, self.dir))
        os.makedirs(trial_dir, exist_ok=True)
        # ~tune after the user's overrides: those may set tune.* keys (tune.sampler=random), which are
        # the study's, not the trial's
        args = [self.plan["attnlab"], "run", self.plan["spec"], *self.plan["overrides"], "~tune",
                *[f"{k}={v}" for k, v in params.items()],
                "--out", trial_dir, "--threads", str(self.plan["threads"]), "--quiet",
                *self.plan.get("run_flags", [])]
        label = " ".join(f"{k}={v}" for k, v in params.items())
        with self.lock:
            dir_lock = self.dir_locks.setdefault(trial_key(params), drivers.FileLock(os.path.join(trial_dir, ".lock")))
        with dir_lock:  # the same values run again in the same directory: it resumes or finds them done
            self.say(f"trial {trial.number} starts: {label}")
            self.watch_trial(trial, params, trial_dir, args)

    def watch_trial(self, trial, params, trial_dir, args):
        TrialState = self.optuna.trial.TrialState
        with open(os.path.join(trial_dir, "run.log"), "a") as log:
            proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, **self.child_options(trial_dir))
        with self.lock:
            self.children.add(proc)
        reported, pruned_at = 0, None
        goals = objectives(self.plan)
        watch = ProgressWatch(trial_dir)
        while pruned_at is None:
            try:
                proc.wait(timeout=POLL_SECONDS)  # returns as soon as the run ends
                done = True
            except subprocess.TimeoutExpired:
                done = False
            # The objective's own curve; several objectives are never pruned (Optuna cannot), nor reported.
            curve = progress_curve(watch.read(), goals[0]["metric"])
            if len(goals) > 1:
                reported = len(curve)
            for epoch in range(reported + 1, len(curve) + 1):
                value = curve[epoch - 1]
                reported = epoch
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    continue
                trial.report(float(value), epoch)
                if trial.should_prune():
                    pruned_at = epoch
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGINT)  # stops at a batch boundary, keeps its checkpoint
                    break
            if done:
                break
        code = proc.wait()
        with self.lock:
            self.children.discard(proc)
        if self.stopping and pruned_at is None:
            return  # left RUNNING: the next run requeues it
        with self.lock:
            self.failures_in_a_row = 0 if pruned_at is not None or code == 0 else self.failures_in_a_row + 1
        if pruned_at is not None:
            self.study.tell(trial, state=TrialState.PRUNED)
            self.record(trial.number, "pruned", pruned_at, None, trial_dir, params)
            self.say(f"trial {trial.number} pruned after epoch {pruned_at}")
        elif code == 0 and (values := final_values(trial_dir, [o["metric"] for o in goals])) is not None:
            self.study.tell(trial, values if len(goals) > 1 else values[0])
            self.record(trial.number, "complete", reported, values if len(goals) > 1 else values[0], trial_dir, params)
            self.say(f"trial {trial.number} done: " + ", ".join(f"{o['metric']} {v:.6g}" for o, v in zip(goals, values)))
        else:
            self.study.tell(trial, state=TrialState.FAIL)
            self.record(trial.number, "failed", reported, None, trial_dir, params)
            log = os.path.join(trial_dir, "run.log")
            self.say(f"trial {trial.number} failed (exit {code}; {log}):\n" + indent(last_lines(log)))
            with self.lock:
                if self.failures_in_a_row >= FAILURES_IN_A_ROW and not self.gave_up:
                    self.gave_up = f"{self.failures_in_a_row} trials in a row failed (the last: {log})"

    def worker(self):
        while not (self.stopping or self.gave_up or self.out_of_time()):
            trial = self.next_trial()
            if trial is None:
                return
            try:
                self.run_trial(trial)
            except (ValueError, RuntimeError):  # Optuna refuses to report or tell a finished trial
                if not self.taken_over(trial):
                    raise
                self.say(f"trial {trial.number} was requeued by another driver, which took this one for dead; "
                         "its outcome here is not told to the study")

    def run(self) -> int:
        n = int(self.plan["n_trials"])
        self.started_at = time.monotonic()
        self.heartbeat = drivers.Heartbeat(self.dir, self.owner)
        try:
            with self.study_lock:
                self.requeue_interrupted(self.heartbeat.now())
                finished = self.finished()
                ours, others = self.running()
            todo = max(0, n - finished - len(others))
            elsewhere = f" ({len(others)} running in other drivers)" if others else ""
            self.say(f"tune: {todo} trial(s) to run of {n}{elsewhere}, {self.plan['jobs']} at once; "
                     f"study in {os.path.join(self.dir, 'study.journal')}")
            return self.run_workers()
        finally:
            self.heartbeat.close()

    def run_workers(self) -> int:
        workers = [threading.Thread(target=self.worker, daemon=True) for _ in range(int(self.plan["jobs"]))]

        def stop(signum, frame):
            # Ctrl-C (the trials get it too: one process group) or SIGTERM: the running trials stop at a
            # batch boundary with their checkpoints and stay RUNNING in the study, which the next run
            # (or another driver, once this one has ended) requeues; no new trial starts.
            self.stopping = True
            self.wake.set()
            with self.lock:
                for proc in self.children:
                    if proc.poll() is None:
                        proc.send_signal(signal.SIGINT)

        previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for w in workers:
                w.start()
            for w in workers:
                while w.is_alive():
                    w.join(0.2)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.stopping:
            self.say("tune: interrupted; run the same command again to resume the study")
            return 1
        if self.gave_up:
            self.say(f"tune: stopped: {self.gave_up}; fix the cause and run the same command again "
                     "(the study keeps every trial)")
            with self.study_lock:
                self.summary()
            return 1
        with self.study_lock:  # drivers ending together write best.yaml one after the other
            return self.summary()

    def out_of_time(self) -> bool:
        """tune.timeout (Optuna's `timeout`): no trial starts once this run has lasted that long."""
        timeout = self.plan.get("timeout")
        if timeout is None or time.monotonic() - self.started_at < float(timeout):
            return False
        if not self.timed_out:
            self.timed_out = True
            self.say(f"tune: the timeout ({float(timeout):g} s) has passed: no new trial starts")
        return True

    def summary(self) -> int:
        TrialState = self.optuna.trial.TrialState
        trials = self.study.get_trials(deepcopy=False)
        count = {s: sum(1 for t in trials if t.state == s) for s in (TrialState.COMPLETE, TrialState.PRUNED,
                                                                       TrialState.FAIL)}
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        self.say(f"tune: {count[TrialState.COMPLETE]} complete, {count[TrialState.PRUNED]} pruned, "
                 f"{count[TrialState.FAIL]} failed; results in {self.dir}")
        if not complete:
            return 1
        if len(objectives(self.plan)) > 1:
            return self.pareto_summary()
        best = self.study.best_trial
        self.say(f"best trial {best.number}: {self.plan['metric']} {best.value:.6g} "
                 f"({best.user_attrs.get('trial_dir', '')})")
        overrides = [f"{k}={override_text(v)}" for k, v in best.params.items()]  # as the trial ran
        self.say("  " + " ".join(overrides))
        best_yaml = {"number": best.number, "value": best.value, "metric": self.plan["metric"],
                     "trial_dir": best.user_attrs.get("trial_dir", ""), "overrides": overrides}
        self.write_best(best_yaml)
        return 0

    def pareto_summary(self) -> int:
        """Several objectives: best.yaml holds the Pareto front (the complete trials no other beats on
        every objective), each with its number, values in objective order and overrides."""
        goals = objectives(self.plan)
        front = sorted(self.study.best_trials, key=lambda t: t.number)
        self.say(f"Pareto front of {', '.join(o['metric'] for o in goals)}: {len(front)} trial(s)")
        rows = []
        for t in front:
            overrides = [f"{k}={override_text(v)}" for k, v in t.params.items()]
            self.say(f"  trial {t.number}: " + ", ".join(f"{v:.6g}" for v in t.values) + "  " + " ".join(overrides))
            rows.append({"number": t.number, "values": [float(v) for v in t.values],
                         "trial_dir": t.user_attrs.get("trial_dir", ""), "overrides": overrides})
        self.write_best({"metrics": [o["metric"] for o in goals], "directions": [o["direction"] for o in goals],
                         "front": rows})
        return 0

    def write_best(self, best_yaml: dict):
        with open(os.path.join(self.dir, "best.yaml.tmp"), "w") as f:
            yaml.safe_dump(best_yaml, f, sort_keys=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(os.path.join(self.dir, "best.yaml.tmp"), os.path.join(self.dir, "best.yaml"))
        from .tune_results import after_tuning  # the best trial as a spec file: <dir>/best.spec.yaml
        after_tuning(self.dir, self.say)


def tune_main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or argv[0] in ("-h", "--help"):
        print("usage: scripts/tune DIR/tune.yaml  (run by `attnlab tune SPEC`; see docs/tune.md)", file=sys.stderr)
        return 2
    try:
        return Driver(read_plan(argv[0]), plan_path=argv[0]).run()
    except AnalysisError as e:
        print(f"tune: error: {e}", file=sys.stderr)
        return 2
    finally:
        if os.path.basename(argv[0]).startswith(".tune.yaml."):  # attnlab tune's own copy, if not installed
            try:
                os.remove(argv[0])
            except FileNotFoundError:
                pass
