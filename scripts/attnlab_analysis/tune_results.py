"""Reading a tuning run (`attnlab tune`, docs/tune.md): a directory with the plan (tune.yaml) and
Optuna's study (study.journal), each trial an ordinary `attnlab run` directory under trials/.

Everything comes from the study itself (states, objective values, sampled values, the validation
figure of every epoch, the trial directory in the user attribute `trial_dir`, the directions) and
from the trials' HDF5 files; tune.tsv is for people. Single- and multi-objective studies alike: a
trial has a list of values, one per direction, and "the best" is the Pareto front when there are
several.

    run = load_tuning("results/tiny-tune")
    print(summary_text(run))                 # scripts/summarize <dir>
    write_best_specs(run)                    # <dir>/best.spec.yaml (Pareto: <dir>/pareto/<n>.spec.yaml)
    html = build_report(run)                 # scripts/report <dir>

best.spec.yaml is the best trial's spec as that trial ran it: the spec tree its `attnlab run`
wrote into its directory's sweep.yaml (the spec with includes merged, overrides applied, tune:
removed), so `attnlab run best.spec.yaml` resolves to the same config and hash (/config@hash of
the trial's HDF5 file). Relative paths in a spec are relative to the spec's directory; a string
that names a file or directory there (log.dir aside: it is where results go) is made absolute in
the generated file, whose header then says so (the hash then differs by those paths only)."""
from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from . import tune_drivers as drivers
from .errors import AnalysisError

e = html.escape

BEST_SPEC = "best.spec.yaml"
PARETO_DIR = "pareto"


def is_tune_dir(path: str | os.PathLike) -> bool:
    """A tuning directory: tune.yaml (the plan) and study.journal (the study)."""
    p = Path(path)
    return p.is_dir() and (p / "tune.yaml").is_file() and (p / "study.journal").is_file()


def tune_dir_of(path: str | os.PathLike) -> Path | None:
    """The tuning directory named by `path` (the directory, its tune.yaml or its study.journal), or None."""
    p = Path(path)
    if p.is_file() and p.name in ("tune.yaml", "study.journal"):
        p = p.parent
    return p if is_tune_dir(p) else None


def _optuna():
    from .tune import _optuna as optuna  # the driver's: quiet, JournalStorage's warning off

    return optuna()


# ---- loading ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrialFile:
    """What the analysis reads of a trial's results file <id>.h5, read once."""
    path: Path | None = None
    config_hash: str = ""  # /config@hash
    epochs: int | None = None  # the longest curves/valid/<figure>
    finals: dict[str, float] = field(default_factory=dict)  # "test/accuracy" -> /final/test/accuracy


def _read_trial_file(trial_dir: Path | None) -> TrialFile:
    path = trial_file(trial_dir)
    if path is None:
        return TrialFile()
    try:
        import h5py

        with h5py.File(path, "r") as h:
            v = h["config"].attrs.get("hash", b"") if "config" in h else b""
            lengths = [h[f"curves/valid/{k}"].shape[0] for k in h.get("curves/valid", {})]
            finals: dict[str, float] = {}
            for split, group in (h["final"].items() if "final" in h else []):
                if isinstance(group, h5py.Group):
                    for m, ds in group.items():
                        try:
                            finals[f"{split}/{m}"] = float(ds[()])
                        except (TypeError, ValueError):  # not a scalar: not a final figure
                            pass
    except (ImportError, OSError, KeyError):
        return TrialFile(path)
    return TrialFile(path, v.decode() if isinstance(v, bytes) else str(v), max(lengths) if lengths else None, finals)


@dataclass
class TuneTrial:
    number: int
    state: str  # complete | pruned | failed | running | stopped | interrupted | waiting
    values: list[float] | None  # one per objective (complete trials)
    params: dict[str, Any]  # Optuna's values: numbers, or a choice's override text
    trial_dir: Path | None
    intermediate: dict[int, float]  # epoch -> the validation figure reported to the pruner
    epoch: int | None  # the last epoch reached (pruned: the epoch it was pruned at)
    curve: dict[int, float] = field(default_factory=dict)  # epoch -> the objective's validation figure

    @cached_property
    def file(self) -> TrialFile:
        """Its results file's hash, epochs and final figures (read on first use, once)."""
        return _read_trial_file(self.trial_dir)

    def overrides(self) -> list[str]:
        """The `key=value` overrides that set this trial's values (the driver's texts)."""
        from .tune import override_text

        return [f"{k}={override_text(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v}"
                for k, v in self.params.items()]


@dataclass
class TuneRun:
    dir: Path
    plan: dict
    study: Any
    directions: list[str]  # "maximize" | "minimize", one per objective
    metrics: list[str]  # the objectives' names, one per direction
    trials: list[TuneTrial]

    @property
    def multi(self) -> bool:
        return len(self.directions) > 1

    @property
    def n_trials(self) -> int:
        return int(self.plan.get("n_trials") or 0)

    @property
    def curve_metric(self) -> str:
        return _curve_metric(self.metrics)

    @property
    def complete(self) -> bool:
        """Every planned trial finished (complete, pruned or failed) and none running."""
        return (len(self.of_state("complete", "pruned", "failed")) >= self.n_trials
                and not self.of_state("running"))

    def of_state(self, *states: str) -> list[TuneTrial]:
        return [t for t in self.trials if t.state in states]

    def best(self) -> list[TuneTrial]:
        """The best complete trial (one objective) or the Pareto front (several), best first."""
        return self._best

    @cached_property
    def _best(self) -> list[TuneTrial]:
        done = [t for t in self.trials if t.state == "complete" and t.values]
        if not done:
            return []
        if not self.multi:
            return [sorted(done, key=lambda t: (self._key(t.values[0], 0), t.number))[0]]
        front = [t for t in done if not any(self._dominates(o, t) for o in done if o is not t)]
        return sorted(front, key=lambda t: (self._key(t.values[0], 0), t.number))

    def _key(self, v: float, i: int) -> float:
        """A sort key: smaller is better."""
        if v is None or math.isnan(v):
            return math.inf
        return -v if self.directions[i] == "maximize" else v

    def _dominates(self, a: TuneTrial, b: TuneTrial) -> bool:
        ka = [self._key(v, i) for i, v in enumerate(a.values)]
        kb = [self._key(v, i) for i, v in enumerate(b.values)]
        return all(x <= y for x, y in zip(ka, kb)) and any(x < y for x, y in zip(ka, kb))

    def ordered(self) -> list[TuneTrial]:
        """Best first: complete trials (the Pareto front first when several objectives), then
        pruned ones (those that got further first), failed, running, interrupted."""
        front = {t.number for t in self.best()} if self.multi else set()
        rank = {"complete": 0, "pruned": 1, "failed": 2, "running": 3, "stopped": 4, "waiting": 5, "interrupted": 6}

        def key(t: TuneTrial):
            if t.state == "complete" and t.values:
                return (0, t.number not in front, *[self._key(v, i) for i, v in enumerate(t.values)], t.number)
            last = t.intermediate.get(t.epoch) if t.epoch is not None else None
            return (rank.get(t.state, 6), -(t.epoch or 0), self._key(last, 0) if last is not None else math.inf,
                    t.number)

        return sorted(self.trials, key=key)


def _plan_metrics(plan: dict, study, n: int) -> list[str]:
    """The objectives' names: the plan's (`metrics`, `objectives`, `metric`), else the study's
    user attribute `metric`, else objective 0, 1..."""
    names: list[str] = []
    for key in ("metrics", "objectives"):
        v = plan.get(key)
        if isinstance(v, list):
            names = [str(x.get("metric", x)) if isinstance(x, dict) else str(x) for x in v]
            break
    if not names:
        m = plan.get("metric") or study.user_attrs.get("metric")
        if isinstance(m, list):
            names = [str(x) for x in m]
        elif m:
            names = [str(m)]
    if len(names) != n:
        names = names[:1] if n == 1 and names else [f"objective {i}" for i in range(n)]
    return names


def _curve_metric(metrics: list[str]) -> str:
    """The objective whose per-epoch curve is drawn: the first validation one (valid/...), else the first."""
    return next((m for m in metrics if m.startswith("valid/")), metrics[0] if metrics else "")


def _progress_curve(trial_dir: Path, metric: str) -> dict[int, float]:
    """{epoch: figure} of `metric` in the trial's <id>.progress.yaml ({} without one)."""
    from .tune import progress_curve, read_progress

    series = progress_curve(read_progress(str(trial_dir)), metric)
    return {i + 1: float(v) for i, v in enumerate(series)
            if isinstance(v, (int, float)) and not math.isnan(v)}


def load_tuning(path: str | os.PathLike) -> TuneRun:
    """The tuning run in `path` (a directory with tune.yaml and study.journal)."""
    d = tune_dir_of(path)
    if d is None:
        raise AnalysisError(f"{path} is not a tuning directory (tune.yaml and study.journal of `attnlab tune`)")
    import yaml

    with open(d / "tune.yaml") as f:
        plan = yaml.safe_load(f) or {}
    optuna = _optuna()
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(str(d / "study.journal")))
    try:
        study = optuna.load_study(study_name="attnlab", storage=storage)
    except KeyError:
        raise AnalysisError(f"{d / 'study.journal'}: no study 'attnlab' in it yet")
    directions = [str(x.name).lower() for x in study.directions]
    metrics = _plan_metrics(plan, study, len(directions))
    curve_metric = _curve_metric(metrics)
    TrialState = optuna.trial.TrialState
    trials = []
    for t in study.get_trials(deepcopy=False):
        if t.state == TrialState.COMPLETE:
            state = "complete"
        elif t.state == TrialState.PRUNED:
            state = "pruned"
        elif t.state == TrialState.FAIL:
            state = "interrupted" if t.user_attrs.get("interrupted") else "failed"
        elif t.state == TrialState.RUNNING:
            # RUNNING in the journal, but its driver may be gone (Ctrl-C, a kill, a lost machine): the
            # trial is stopped, and the next `attnlab tune` runs it again
            alive = drivers.owner_alive(str(d), t.user_attrs.get(drivers.OWNER_ATTR))
            state = "running" if alive else "stopped"
        else:
            state = "waiting"
        inter = {int(k): float(v) for k, v in t.intermediate_values.items()}
        tdir = t.user_attrs.get("trial_dir")
        tdir = (d / tdir) if tdir else None
        # the per-epoch curve: what the trial reported to Optuna, else (several objectives: Optuna
        # keeps no per-epoch values then) the objective's series in its <id>.progress.yaml
        curve = inter or (_progress_curve(tdir, curve_metric) if tdir is not None else {})
        values = [float(v) for v in t.values] if state == "complete" and t.values is not None else None
        trial = TuneTrial(t.number, state, values, dict(t.params), tdir, inter, max(inter) if inter else None, curve)
        if state == "complete" and tdir is not None:
            trial.epoch = trial.file.epochs or trial.epoch
        if trial.epoch is None and tdir is not None:
            trial.epoch = max(curve, default=None)
        trials.append(trial)
    return TuneRun(d, plan, study, directions, metrics, trials)


def trial_file(trial_dir: Path | None) -> Path | None:
    """The results file <id>.h5 of a trial directory (not its index or checkpoint), or None."""
    if trial_dir is None:
        return None
    from .load import _finished_files

    return next(iter(_finished_files(Path(trial_dir)).values()), None)


def final_metrics(run: TuneRun, names: list[str]) -> dict[int, dict[str, float]]:
    """{trial number: {"test/accuracy": value, ...}} from the trials' HDF5 files (/final/<split>/<metric>)."""
    return {t.number: {m: t.file.finals[m] for m in names if m in t.file.finals}
            for t in run.trials if t.file.path is not None}


def available_finals(run: TuneRun) -> list[str]:
    """The final figures ("split/metric") of the trials' files, in the order first met."""
    return list(dict.fromkeys(m for t in run.trials for m in t.file.finals))


# ---- names and values for people -------------------------------------------------------------------


def short_names(keys: list[str]) -> dict[str, str]:
    """The shortest dotted suffix that tells each key apart: train.optimizer.lr -> lr,
    model.extractor -> extractor (model.extractor.hidden and model.query.hidden keep a parent)."""
    out = {}
    for k in keys:
        parts = k.split(".")
        for n in range(1, len(parts) + 1):
            cand = ".".join(parts[-n:])
            if sum(1 for o in keys if o == cand or o.endswith("." + cand)) == 1:
                out[k] = cand
                break
        else:
            out[k] = k
    return out


def _plugin_node(text: Any) -> dict | None:
    if not isinstance(text, str) or not text.startswith("{"):
        return None
    try:
        import yaml

        node = yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - not YAML: shown as it is
        return None
    return node if isinstance(node, dict) else None


def choice_labels(choices: list[Any]) -> dict[str, str]:
    """A readable label per choice of one key: a plugin node is its type when the types tell the
    choices apart ("gru"), else the type with the parameters that differ ("lstm(hidden=16)");
    anything else its text."""
    nodes = {str(c): _plugin_node(c) for c in choices}
    if not choices or any(n is None for n in nodes.values()):
        return {str(c): str(c) for c in choices}
    types = {k: str(n.get("type", "")) for k, n in nodes.items()}
    if len(set(types.values())) == len(types) and all(types.values()):
        return types
    from .load import canonical, flatten

    flats = {k: flatten(n) for k, n in nodes.items()}
    leaves: list[str] = []
    for fl in flats.values():
        leaves += [x for x in fl if x not in leaves and x != "type"]
    differing = [x for x in leaves if len({canonical(fl.get(x)) for fl in flats.values()}) > 1]
    out = {}
    for k, fl in flats.items():
        inner = ", ".join(f"{x}={canonical(fl.get(x))}" for x in differing)
        out[k] = f"{types[k]}({inner})" if types[k] else inner
    return out


def value_text(v: Any, digits: int | None = 4) -> str:
    """A value for a table: floats with `digits` significant digits (None: in full)."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return ""
        return repr(v) if digits is None else f"{v:.{digits}g}"
    return str(v)


@dataclass
class Table:
    columns: list[str]
    rows: list[list[str]]


def trial_table(run: TuneRun, extra: list[str] | None = None, digits: int = 4, plain: bool = False) -> Table:
    """The trials best first: number, state, epoch, the objective(s), extra final metrics from the
    HDF5 files, and one column per searched key (short names, plugin nodes shortened). `plain`
    (CSV): bare states and epochs, numbers in full."""
    space = run.plan.get("space") or {}
    keys = list(space) + [k for t in run.trials for k in t.params if k not in space]
    keys = list(dict.fromkeys(keys))
    names = short_names(keys)
    labels = {k: choice_labels(list((space.get(k) or {}).get("values") or
                                    sorted({str(t.params[k]) for t in run.trials if k in t.params})))
              for k in keys if (space.get(k) or {}).get("kind", "choice") == "choice"
              and any(isinstance(t.params.get(k), str) for t in run.trials)}
    extra = extra or []
    finals = final_metrics(run, extra) if extra else {}
    front = {t.number for t in run.best()}
    obj_cols = [m + ("" if plain else " ↑" if d == "maximize" else " ↓") for m, d in zip(run.metrics, run.directions)]
    if plain:
        digits = None
    cols = ["trial", "state", "epoch", *obj_cols, *extra, *[names[k] for k in keys]]
    rows = []
    for t in run.ordered():
        state = t.state
        if t.number in front and not plain:
            state += " (pareto)" if run.multi else " (best)"
        epoch = "" if t.epoch is None else (f"pruned at {t.epoch}" if t.state == "pruned" and not plain else str(t.epoch))
        vals = [value_text(v, digits) for v in t.values] if t.values else [""] * len(run.directions)
        ex = [value_text(finals.get(t.number, {}).get(m), digits) for m in extra]
        ps = []
        for k in keys:
            v = t.params.get(k)
            if k in labels and isinstance(v, str):
                ps.append(labels[k].get(v, v))
            else:
                ps.append(value_text(v, digits))
        rows.append([str(t.number), state, epoch, *vals, *ex, *ps])
    return Table(cols, rows)


def completeness_line(run: TuneRun, mark_complete: bool = True) -> str:
    """'7 of 9 trials finished: 3 complete, 3 pruned (at epochs 1, 3 ×2), 1 failed; 2 running', ending
    in ' — complete' when the run is (and `mark_complete`)."""
    complete, pruned = run.of_state("complete"), run.of_state("pruned")
    failed, running = run.of_state("failed"), run.of_state("running")
    finished = len(complete) + len(pruned) + len(failed)
    parts = [f"{len(complete)} complete"]
    if pruned:
        from collections import Counter

        epochs = sorted(Counter(t.epoch for t in pruned if t.epoch is not None).items())
        at = ", ".join(f"{x} ×{n}" if n > 1 else str(x) for x, n in epochs)
        parts.append(f"{len(pruned)} pruned" + (f" (at epoch{'s' if len(epochs) > 1 else ''} {at})" if epochs else ""))
    parts.append(f"{len(failed)} failed")
    line = f"{finished} of {run.n_trials} trials finished: " + ", ".join(parts)
    if running:
        line += f"; {len(running)} running"
    stopped = run.of_state("stopped")
    if stopped:
        line += f"; {len(stopped)} stopped with {'its' if len(stopped) == 1 else 'their'} driver (the same command resumes)"
    interrupted = run.of_state("interrupted")
    if interrupted:
        line += f"; {len(interrupted)} interrupted and run again (not counted)"
    if mark_complete and run.complete:
        line += " — complete"
    return line


def best_lines(run: TuneRun, digits: int = 6) -> list[str]:
    best = run.best()
    if not best:
        return ["no complete trial yet: no best trial"]
    out = []
    if run.multi:
        out.append(f"Pareto front ({len(best)} trial{'s' if len(best) != 1 else ''}) of "
                   + ", ".join(f"{m} ({d})" for m, d in zip(run.metrics, run.directions)) + ":")
    for t in best:
        vals = ", ".join(f"{m} {value_text(v, digits)}" for m, v in zip(run.metrics, t.values))
        where = os.path.relpath(t.trial_dir, run.dir) if t.trial_dir else ""
        out.append(f"{'' if run.multi else 'best '}trial {t.number}: {vals} ({where})")
        out.append("  " + " ".join(t.overrides()))
        spec = spec_path(run, t)
        if spec.exists():
            out.append(f"  rerun: attnlab run {spec}")
    return out


# ---- rendering the table ---------------------------------------------------------------------------


def render_table(tab: Table, fmt: str) -> str:
    if fmt == "csv":
        import csv
        import io

        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(tab.columns)
        w.writerows(tab.rows)
        return buf.getvalue()
    if fmt == "latex":
        from .stats import latex_escape

        lines = ["% requires \\usepackage{booktabs}", "\\begin{tabular}{" + "l" * len(tab.columns) + "}", "\\toprule",
                 " & ".join(latex_escape(c) for c in tab.columns) + " \\\\", "\\midrule"]
        lines += [" & ".join(latex_escape(x) for x in r) + " \\\\" for r in tab.rows]
        return "\n".join(lines + ["\\bottomrule", "\\end{tabular}"]) + "\n"
    esc = [[x.replace("|", "\\|") for x in r] for r in [tab.columns, *tab.rows]]
    lines = ["| " + " | ".join(esc[0]) + " |", "|" + "|".join(["---"] * len(tab.columns)) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in esc[1:]]
    return "\n".join(lines) + "\n"


def summary_text(run: TuneRun, fmt: str = "markdown", extra: list[str] | None = None, digits: int = 4) -> str:
    """What scripts/summarize prints for a tuning directory."""
    tab = trial_table(run, extra, digits, plain=fmt == "csv")
    if fmt == "csv":
        return render_table(tab, fmt)
    head = completeness_line(run)
    space = run.plan.get("space") or {}
    names = short_names(list(space))
    legend = "; ".join(f"{names[k]} = {k}" for k in space if names[k] != k)
    if fmt == "latex":
        return f"% {head}\n" + render_table(tab, fmt)
    text = f"{run.plan.get('spec', run.dir)}: tuning run in {run.dir}\n{head}\n\n" + render_table(tab, fmt)
    if legend:
        text += f"\ncolumns: {legend}\n"
    return text + "\n" + "\n".join(best_lines(run)) + "\n"


# ---- the best trial as a spec ----------------------------------------------------------------------


def spec_path(run: TuneRun, trial: TuneTrial) -> Path:
    """<dir>/best.spec.yaml (one objective), <dir>/pareto/<number>.spec.yaml (a trial of the front)."""
    return run.dir / PARETO_DIR / f"{trial.number}.spec.yaml" if run.multi else run.dir / BEST_SPEC


def _spec_tree_text(trial_dir: Path) -> tuple[str, str]:
    """(the spec text a trial's `attnlab run` wrote into its sweep.yaml, the spec path it names)."""
    path = trial_dir / "sweep.yaml"
    if not path.is_file():
        raise AnalysisError(f"{path}: missing; the trial's spec is not known")
    lines = path.read_text().splitlines(keepends=True)
    spec = ""
    body = []
    for i, line in enumerate(lines):
        if i < 3 and line.startswith("# "):
            if line.startswith("# spec: "):
                spec = line[len("# spec: "):].strip()
            continue
        body.append(line)
    return "".join(body), spec


def _relative_paths(tree: Any, spec_dir: Path, prefix: str = "") -> list[tuple[str, str]]:
    """(dotted key, value) of each string that names an existing file, or a directory when it looks
    like a path (a '/' or a suffix), relative to the spec's directory (log.dir aside: where results
    go, relative to the spec as it was)."""
    out = []
    if isinstance(tree, dict):
        for k, v in tree.items():
            out += _relative_paths(v, spec_dir, f"{prefix}.{k}" if prefix else str(k))
    elif isinstance(tree, list):
        for i, v in enumerate(tree):
            out += _relative_paths(v, spec_dir, f"{prefix}[{i}]")
    elif isinstance(tree, str) and prefix not in ("log.dir", "name") and tree and not os.path.isabs(tree) \
            and "\n" not in tree and (spec_dir / tree).exists() \
            and ("/" in tree or Path(tree).suffix or (spec_dir / tree).is_file()):  # a word naming a directory is a word
        out.append((prefix, tree))
    return out


def best_spec_text(run: TuneRun, trial: TuneTrial) -> str:
    """The spec that reruns `trial`: its sweep.yaml's spec tree under a header comment."""
    if trial.trial_dir is None:
        raise AnalysisError(f"trial {trial.number} has no trial directory in the study")
    text, spec = _spec_tree_text(trial.trial_dir)
    spec = spec or str(run.plan.get("spec", ""))
    spec_dir = Path(spec).parent if spec else run.dir
    import yaml

    try:
        tree = yaml.safe_load(text)
    except yaml.YAMLError:
        tree = None
    moved = []
    out_dir = spec_path(run, trial).parent
    if spec_dir.resolve() != out_dir.resolve():
        for key, rel in _relative_paths(tree, spec_dir):
            absolute = str((spec_dir / rel).resolve())
            pattern = re.compile(r"(?m)(?<=[:\-\[,{] )(['\"]?)" + re.escape(rel) + r"\1(?=\s*$|\s*[,\]}#])")
            text, n = pattern.subn(lambda m: json.dumps(absolute), text)
            if n:
                moved.append(key)
    h = trial.file.config_hash
    vals = ", ".join(f"{m} {value_text(v, 6)}" for m, v in zip(run.metrics, trial.values or []))
    head = [f"# Trial {trial.number} of the tuning run {run.dir.name} ({vals}), as it ran: the spec {spec}",
            "# without its tune: block, with " + " ".join(trial.overrides()),
            f"# Its config hash: {h or '(no results file)'} ({os.path.relpath(trial.trial_dir, out_dir)}).",
            "# Rerun: attnlab run <this file> [--out DIR]"]
    if moved:
        head.append(f"# Paths relative to {spec_dir} made absolute: {', '.join(moved)} (the hash differs by them).")
    logdir = (tree or {}).get("log", {}).get("dir") if isinstance((tree or {}).get("log"), dict) else None
    if isinstance(logdir, str) and not os.path.isabs(logdir):
        head.append(f"# log.dir {logdir!r} is relative to this file's directory: results go to "
                    f"{os.path.join(logdir, str((tree or {}).get('name', '')))} next to it unless --out says otherwise.")
    return "\n".join(head) + "\n" + text


def write_best_specs(run: TuneRun) -> list[Path]:
    """Writes the spec of the best trial (or of every trial of the Pareto front) durably; returns the paths."""
    written = []
    for t in run.best():
        path = spec_path(run, t)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = best_spec_text(run, t)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        written.append(path)
    return written


def summarize(args, prog: str) -> int:
    """scripts/summarize on a tuning directory: --metric adds final metrics of the trials' files
    ('all': every one), --format, --digits, -o; writes the best trial's spec file."""
    import sys

    ignored = [f"--{k}" for k in ("rows", "cols", "baseline") if getattr(args, k, None)]
    if ignored:
        print(f"{prog}: warning: {', '.join(ignored)} ignored: {args.sweep} is a tuning directory", file=sys.stderr)
    run = load_tuning(args.sweep)
    extra = [m for m in (args.metric or []) if m not in run.metrics]
    if extra == ["all"]:
        extra = [m for m in available_finals(run) if m not in run.metrics]
    extra = [m if "/" in m else f"test/{m}" for m in extra]
    _write_specs_noting(run, prog)
    text = summary_text(run, args.format, extra, args.digits)
    from .cli import _write

    _write(text, args.output, prog)
    return 0


def report(args, prog: str) -> int:
    """scripts/report on a tuning directory: <dir>/report.html (or -o FILE)."""
    run = load_tuning(args.sweep)
    _write_specs_noting(run, prog)
    out = Path(args.output) if args.output else run.dir / "report.html"
    extra = [m if "/" in m else f"test/{m}" for m in (args.metric or []) if m not in run.metrics]
    text = build_report(run, out, extra)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out.resolve()}")
    return 0


def _write_specs_noting(run: TuneRun, prog: str) -> None:
    import sys

    try:
        for p in write_best_specs(run):
            print(f"{prog}: wrote {p}", file=sys.stderr)
    except (AnalysisError, OSError) as err:
        print(f"{prog}: warning: no best spec file: {err}", file=sys.stderr)


def after_tuning(tune_dir: str | os.PathLike, say) -> None:
    """The driver's last step (tune.py summary()): the best trial's spec file. Never fails the study."""
    try:
        for p in write_best_specs(load_tuning(tune_dir)):
            say(f"  rerun it: attnlab run {p}")
    except (AnalysisError, OSError, ImportError) as err:
        say(f"tune: no best.spec.yaml: {err}")


# ---- parameter importances -------------------------------------------------------------------------


def importance_evaluator(optuna):
    """(evaluator, its name): Optuna's default fANOVA when scikit-learn is installed, else the share
    of the objective's variance each parameter explains on its own (VarianceShare)."""
    import importlib.util

    if importlib.util.find_spec("sklearn") is not None:  # fANOVA's random forest
        return optuna.importance.FanovaImportanceEvaluator(seed=0), "fANOVA (Optuna's default)"
    return VarianceShare.make(optuna)(), ("variance share: the fraction of the objective's variance between "
                                          "the groups of each parameter (numbers in up to 4 quantile bins); "
                                          "fANOVA needs scikit-learn (python3-sklearn)")


class VarianceShare:
    """An importance evaluator without scikit-learn: per parameter the correlation ratio eta^2 =
    SS_between / SS_total of the objective over the complete trials, grouping a parameter's values
    (a choice by value, a number into up to 4 quantile bins). A one-parameter view: interactions
    are not seen."""

    @staticmethod
    def make(optuna):
        import numpy as np

        class _VarianceShare(optuna.importance.BaseImportanceEvaluator):
            def evaluate(self, study, params=None, *, target=None):
                from collections import OrderedDict

                TrialState = optuna.trial.TrialState
                trials = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))]
                names = params if params is not None else sorted(
                    set.intersection(*[set(t.params) for t in trials]) if trials else set())
                trials = [t for t in trials if all(p in t.params for p in names)]
                y = np.array([target(t) if target else t.value for t in trials], dtype=float)
                total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
                out = {}
                for p in names:
                    vals = [t.params[p] for t in trials]
                    groups = _groups(vals, np)
                    between = sum(len(ix) * (y[ix].mean() - y.mean()) ** 2 for ix in groups.values() if len(ix))
                    out[p] = float(between / total) if total > 0 else 0.0
                return OrderedDict(sorted(out.items(), key=lambda kv: -kv[1]))

        return _VarianceShare


def _groups(vals: list, np) -> dict:
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals)
    distinct = sorted(set(map(str, vals)))
    if not numeric or len(distinct) <= 4:
        g: dict = {}
        for i, v in enumerate(vals):
            g.setdefault(str(v), []).append(i)
        return {k: np.array(ix) for k, ix in g.items()}
    x = np.array(vals, dtype=float)
    edges = np.quantile(x, [0.25, 0.5, 0.75])
    bins = np.searchsorted(edges, x, side="right")
    return {b: np.flatnonzero(bins == b) for b in set(bins.tolist())}


# ---- the report ------------------------------------------------------------------------------------


def _figure_html(fig, name: str) -> str:
    """The figure's div (its data as JSON), inside <div id="fig-NAME"> (plotly 5.4's to_html takes no div_id)."""
    return f'<div id="fig-{e(name)}" class="figure">' + fig.to_html(full_html=False, include_plotlyjs=False) + "</div>"


def _note(text: str) -> str:
    return f'<p class="note">{e(text)}</p>'


def _pruning_figure(run: TuneRun):
    """Every trial's validation figure per epoch (what the pruner saw); pruned trials dashed and
    marked with an x at the epoch they were stopped, the best trial(s) thicker."""
    import plotly.graph_objects as go

    best = {t.number for t in run.best()}
    fig = go.Figure()
    for t in sorted(run.trials, key=lambda t: t.number):
        curve = t.curve
        if not curve:
            continue
        xs = sorted(curve)
        ys = [curve[x] for x in xs]
        pruned = t.state == "pruned"
        fig.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines+markers", name=f"trial {t.number} ({t.state})", legendgroup=str(t.number),
            line={"dash": "dot" if pruned else "solid", "width": 3 if t.number in best else 1.5},
            marker={"size": 5}, opacity=0.6 if pruned else 1.0,
            hovertemplate=f"trial {t.number} ({t.state})<br>epoch %{{x}}: %{{y:.4f}}<extra></extra>"))
        if pruned:
            fig.add_trace(go.Scatter(x=[xs[-1]], y=[ys[-1]], mode="markers", legendgroup=str(t.number), showlegend=False,
                                     marker={"symbol": "x", "size": 11, "color": "#b00020"},
                                     hovertemplate=f"trial {t.number} pruned after epoch {xs[-1]}<extra></extra>"))
    fig.update_layout(template="plotly_white", height=420, margin={"l": 50, "r": 20, "t": 30, "b": 40},
                      xaxis_title="epoch", yaxis_title=f"{run.curve_metric} (progress.yaml)" if run.multi
                      else f"{run.metrics[0]} (reported to the pruner)")
    last = max((max(t.curve) for t in run.trials if t.curve), default=1)
    fig.update_xaxes(tickformat="d", dtick=1 if last <= 12 else None)
    return fig


def _importance_section(run: TuneRun, optuna) -> str:
    import plotly.graph_objects as go

    complete = run.of_state("complete")
    if len(complete) < 2:
        return _note(f"Needs at least 2 complete trials ({len(complete)} so far).")
    evaluator, how = importance_evaluator(optuna)
    out = []
    for i, (metric, direction) in enumerate(zip(run.metrics, run.directions)):
        try:
            imp = optuna.importance.get_param_importances(
                run.study, evaluator=evaluator, target=(lambda t, i=i: t.values[i]) if run.multi else None)
        except (RuntimeError, ValueError, ImportError) as err:
            out.append(_note(f"{metric}: no importances ({err})."))
            continue
        if not imp:
            out.append(_note(f"{metric}: no parameter present in every complete trial."))
            continue
        names = short_names(list(imp))
        fig = go.Figure(go.Bar(x=list(imp.values())[::-1], y=[names[k] for k in imp][::-1], orientation="h",
                               hovertemplate="%{y}: %{x:.3f}<extra></extra>"))
        fig.update_layout(template="plotly_white", height=max(200, 60 + 40 * len(imp)), xaxis_title="importance",
                          margin={"l": 120, "r": 20, "t": 30, "b": 40}, title=metric if run.multi else None)
        out.append(_figure_html(fig, f"importance-{i}"))
    out.append(_note(f"Evaluator: {how}; over {len(complete)} complete trials (pruned ones have no value). "
                     "With few trials these are rough."))
    return "\n".join(out)


def _optuna_figures(run: TuneRun, optuna) -> list[tuple[str, str, str]]:
    """(title, div id, html or a note) of Optuna's own figures."""
    vis = optuna.visualization
    complete = run.of_state("complete")
    sections = []

    def attempt(title: str, div: str, make, needs: int = 1):
        if len(complete) < needs:
            sections.append((title, div, _note(f"Needs at least {needs} complete trial{'s' if needs > 1 else ''} "
                                               f"({len(complete)} so far).")))
            return
        try:
            sections.append((title, div, _figure_html(make(), div)))
        except Exception as err:  # noqa: BLE001 - a figure Optuna cannot draw is a note, never a crash
            sections.append((title, div, _note(f"Optuna could not draw it: {err}")))

    for i, metric in enumerate(run.metrics):
        target = (lambda t, i=i: t.values[i]) if run.multi else None
        title = "Optimisation history" + (f": {metric}" if run.multi else "")
        attempt(title, f"history-{i}", lambda target=target, metric=metric: vis.plot_optimization_history(
            run.study, target=target, target_name=metric))
    if run.multi:
        attempt("Pareto front", "pareto", lambda: vis.plot_pareto_front(run.study, target_names=run.metrics))
    target = (lambda t: t.values[0]) if run.multi else None
    attempt("Parallel coordinates", "parallel", lambda: vis.plot_parallel_coordinate(
        run.study, target=target, target_name=run.metrics[0]))
    attempt("Slices", "slice", lambda: vis.plot_slice(run.study, target=target, target_name=run.metrics[0]))
    return sections


TUNE_CSS = "tr.pruned td,tr.interrupted td,tr.stopped td{color:#777}tr.failed td{color:#b00020}.figure{margin:8px 0}"


def build_report(run: TuneRun, output: Path | None = None, extra: list[str] | None = None) -> str:
    """The HTML page of a tuning run (same style as a sweep's report, plotly.js embedded: no network)."""
    import datetime as _dt

    from .report import CSS, plotly_js

    name = Path(str(run.plan.get("spec", run.dir.name))).stem if run.plan.get("spec") else run.dir.name
    where = output.parent if output is not None else run.dir
    now = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    body = [f"<h1>{e(run.dir.name)} — tuning run</h1>",
            f'<p class="meta">{e(str(run.dir))} · spec {e(str(run.plan.get("spec", "")))} · report of {now}</p>']
    done = run.complete
    head = ("complete" if done else "PARTIAL tuning run") + ": " + completeness_line(run, mark_complete=False)
    what = (f"{run.plan.get('sampler', '?')} sampler, {run.plan.get('pruner', '?')} pruner, objective "
            + ", ".join(f"{m} ({d})" for m, d in zip(run.metrics, run.directions)))
    body.append(f'<div class="banner{" complete" if done else ""}"><p class="headline">{e(head)}</p>'
                f"<p>{e(what)}</p></div>")

    body.append("<h2>" + ("Best trials: the Pareto front" if run.multi else "Best trial") + "</h2>")
    best = run.best()
    if not best:
        body.append(_note("No complete trial yet: no best trial, no importances."))
    for t in best:
        spec = spec_path(run, t)
        vals = ", ".join(f"{m} = {value_text(v, 6)}" for m, v in zip(run.metrics, t.values))
        items = [f"<li>{e(o)}</li>" for o in t.overrides()]
        link = (f'<p>Rerun it: <code>attnlab run {e(str(spec))}</code> (<a href="{e(os.path.relpath(spec, where))}">'
                f"{e(spec.name)}</a>: the spec as this trial ran it)</p>" if spec.exists() else
                _note("No spec file written for it (scripts/summarize or scripts/report writes it)."))
        tdir = os.path.relpath(t.trial_dir, run.dir) if t.trial_dir else ""
        body.append(f"<h3>trial {t.number}: {e(vals)}</h3><p>overrides:</p><ul>{''.join(items)}</ul>{link}"
                    f'<p class="note">trial directory {e(tdir)}; config hash '
                    f"{e(t.file.config_hash or '(no results file)')}"
                    + (f"; {t.epoch} epochs" if t.epoch else "") + "</p>")

    body.append("<h2>Trials</h2>")
    tab = trial_table(run, extra)
    space = run.plan.get("space") or {}
    names = short_names(list(space))
    rows = "".join(f'<tr class="{e(r[1].split()[0])}">' + "".join(f"<td>{e(x)}</td>" for x in r) + "</tr>"
                   for r in tab.rows)
    body.append("<table><thead><tr>" + "".join(f"<th>{e(c)}</th>" for c in tab.columns) + f"</tr></thead><tbody>{rows}"
                "</tbody></table>")
    body.append(_note("Best first. " + "; ".join(f"{names[k]} = {k}" for k in space if names[k] != k)))

    try:
        import importlib

        for module in ("plotly", "plotly.graph_objects"):  # the figures' library
            importlib.import_module(module)
        optuna = _optuna()
        have_plotly = True
    except (ImportError, AnalysisError) as err:
        have_plotly = False
        missing = str(err)
    if not have_plotly:
        body.append("<h2>Figures</h2>" + _note(f"No figures: {missing} (python3-plotly and python3-optuna draw them)."))
    else:
        figures = _optuna_figures(run, optuna)
        for title, div, part in figures[:len(run.metrics) + run.multi]:  # the history (and the Pareto front)
            body.append(f"<h2>{e(title)}</h2>" + part)
        body.append("<h2>Parameter importances</h2>" + _importance_section(run, optuna))
        body.append("<h2>Pruning: the validation figure of every trial per epoch</h2>")
        if any(t.curve for t in run.trials):
            body.append(_figure_html(_pruning_figure(run), "pruning"))
            body.append(_note("Dotted lines: pruned trials, stopped at the red x; the thick line: the best trial."))
        else:
            body.append(_note("No trial reported an epoch yet."))
        for title, div, part in figures[len(run.metrics) + run.multi:]:
            body.append(f"<h2>{e(title)}</h2>" + part)
    script = ""
    if have_plotly and (js := plotly_js()):
        script = f'<script type="text/javascript">{js}</script>'
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{e(name)} — attnlab tuning report</title><style>{CSS}{TUNE_CSS}</style>{script}</head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")
