#!/usr/bin/python3
"""What pruning buys a search: `attnlab tune` arms side by side on the same wall-clock budget.

    /usr/bin/python3 bench/bench_tune.py [--spec experiments/tuning/sasrec_movielens.yaml] [--minutes 20]
                                         [--arms tpe:median,random:none] [--build build] [--out DIR]

Every arm is the spec's own study with its sampler and pruner overridden (`tune.sampler=...
tune.pruner=...`, n_trials unbounded), run exactly as a user runs it: `attnlab tune SPEC --jobs 1
--threads 1`. The arms run at the same time, one core each, so that they share the machine's
conditions (a neighbour slows both alike); with two arms on a 2-core machine nothing else should run.
When the budget is spent each driver gets SIGINT (its running trial stops at a batch boundary and
stays RUNNING in the study, i.e. unfinished: it does not count).

From each study (its study.journal): trials finished within the budget (complete + pruned) and per
hour, epochs trained per hour, the best validation figure reached and when, and that trial's test
figure (from its HDF5 file, /final/test/<select>: read afterwards, never searched on). Prints a
Markdown table and writes DIR/bench_tune.json.
"""
import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "scripts"))
from attnlab_analysis.tune import final_values  # noqa: E402  the trial file's figures, as the driver reads them


def start_arm(binary, spec, arm, out, extra):
    sampler, pruner = arm.split(":")
    args = [binary, "tune", spec, f"tune.sampler={sampler}", f"tune.pruner={pruner}", "tune.n_trials=100000",
            *extra, "--jobs", "1", "--threads", "1", "--out", out]
    os.makedirs(out, exist_ok=True)
    log = open(os.path.join(out, "bench.log"), "w")
    return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def read_arm(out, start, budget_s):
    import optuna
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(os.path.join(out, "study.journal")))
    study = optuna.load_study(study_name="attnlab", storage=storage)
    metric = study.user_attrs.get("metric", "valid/?")
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    deadline = start + dt.timedelta(seconds=budget_s)
    State = optuna.trial.TrialState
    done = [t for t in study.get_trials(deepcopy=False)
            if t.state in (State.COMPLETE, State.PRUNED) and t.datetime_complete and t.datetime_complete <= deadline]
    complete = [t for t in done if t.state == State.COMPLETE]
    pruned = [t for t in done if t.state == State.PRUNED]
    epochs = sum(len(t.intermediate_values) for t in done)
    row = {"finished": len(done), "complete": len(complete), "pruned": len(pruned), "epochs": epochs,
           "metric": metric, "best": None, "best_at_min": None, "best_trial": None, "best_test": None}
    if complete:
        best = (max if maximize else min)(complete, key=lambda t: t.value)
        row.update(best=best.value, best_trial=best.number,
                   best_at_min=(best.datetime_complete - start).total_seconds() / 60, params=best.params)
        test = "test/" + metric.split("/", 1)[1]
        found = final_values(os.path.join(out, best.user_attrs.get("trial_dir", "")), [test])
        row["best_test"] = found[0] if found else None
        # the best-so-far trace, for a plot or a closer look
        trace, so_far = [], None
        for t in sorted(complete, key=lambda t: t.datetime_complete):
            if so_far is None or (t.value > so_far if maximize else t.value < so_far):
                so_far = t.value
                trace.append([round((t.datetime_complete - start).total_seconds() / 60, 2), so_far])
        row["trace"] = trace
    return row


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--spec", default=os.path.join(ROOT, "experiments", "tuning", "sasrec_movielens.yaml"))
    p.add_argument("--minutes", type=float, default=20.0, help="wall-clock budget of every arm")
    p.add_argument("--arms", default="tpe:median,random:none", help="sampler:pruner pairs, run side by side")
    p.add_argument("--build", default=os.path.join(ROOT, "build"))
    p.add_argument("--out", default=None, help="where the studies go (default: a new directory under /tmp)")
    p.add_argument("overrides", nargs="*", help="overrides for every arm (e.g. train.epochs=50)")
    a = p.parse_args()
    binary = os.path.join(a.build, "attnlab")
    out = a.out or os.path.join("/tmp", f"bench_tune_{os.getpid()}")
    arms = a.arms.split(",")
    budget = a.minutes * 60
    start = dt.datetime.now()
    procs = {arm: start_arm(binary, a.spec, arm, os.path.join(out, arm.replace(":", "-")), a.overrides)
             for arm in arms}
    print(f"{len(arms)} arms side by side for {a.minutes:g} min each: {', '.join(arms)}; studies in {out}",
          flush=True)
    end = time.time() + budget
    try:
        while time.time() < end and any(p.poll() is None for p in procs.values()):
            time.sleep(1)
    finally:  # the budget is spent, or Ctrl-C here: the drivers run in their own sessions and must stop too
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for arm, proc in procs.items():
            try:
                proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    rows = {arm: read_arm(os.path.join(out, arm.replace(":", "-")), start, budget) for arm in arms}
    with open(os.path.join(out, "bench_tune.json"), "w") as f:
        json.dump({"spec": os.path.relpath(a.spec, ROOT), "minutes": a.minutes, "overrides": a.overrides,
                   "arms": rows}, f, indent=1, default=str)
    metric = next(iter(rows.values()))["metric"]
    print(f"\n| arm (sampler:pruner) | finished (complete + pruned) | trials / hour | epochs / hour | "
          f"best {metric} | reached at (min) | its test figure |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    def fmt(x, digits=4):
        return "–" if x is None else f"{x:.{digits}f}"

    for arm, r in rows.items():
        print(f"| {arm} | {r['finished']} ({r['complete']} + {r['pruned']}) | {r['finished'] / (budget / 3600):.1f} | "
              f"{r['epochs'] / (budget / 3600):.0f} | {fmt(r['best'])} | {fmt(r['best_at_min'], 1)} | "
              f"{fmt(r['best_test'])} |")
    for arm, r in rows.items():
        if r.get("params"):
            print(f"{arm} best trial {r['best_trial']}: " + " ".join(f"{k}={v}" for k, v in r["params"].items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
