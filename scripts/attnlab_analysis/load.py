"""Loading attnlab results: one trial file, a sweep directory (or its index.h5), several sweeps.

Sweep directory (see framework/store/trial.h, index.h, ledger.h):
    sweep.yaml        the sweep's spec (its `sweep:` section names the swept keys), after a
                      '# trials:' line listing every trial of the sweep
    <id>.progress.yaml  a trial's progress (status running / done / failed), for `attnlab watch`
    ledger.tsv        time, trial, state, message: every state change of every trial
    <id>.h5           a finished trial (status done or failed)
    <id>.h5.tmp       a trial still running (or abandoned): never read here
    <id>.ckpt.h5      the checkpoint of an unfinished trial: never read here
    index.h5          /summary: one row per trial (id, status, swept keys, final metrics)

load_sweep trusts index.h5 for what it knows and reads the trial files for the rest: a finished
trial the index does not list yet (or lists as running), or whose file is newer than the index, is
read from its file, its swept keys taken from the index row when there is one, else from the
trial's resolved config at the keys of sweep.yaml's `sweep:` section (else the config keys whose
values differ between trials). So every script works on a sweep that is still running.

It never shows results the files no longer back: a trial the index lists but whose file is gone is
left out. df.attrs["completeness"] (Completeness) says how complete the sweep is: N of M trials
finished (M from sweep.yaml's trial list), which are running, interrupted, pending or missing, and
what the index gets wrong; the scripts print it. Columns and table layouts follow the whole sweep
(the values sweep.yaml plans), not only the trials finished so far.
"""
from __future__ import annotations

import functools
import math
import os
import re
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pandas as pd

from .errors import AnalysisError

TRIAL_FORMAT = "attnlab-trial"
INDEX_FORMAT = "attnlab-index"
FORMAT_VERSION = 1
SEED_KEY = "train.seed"
FINISHED = ("done", "failed")

try:  # python3-yaml is optional: without it configs stay text and swept keys come from the index
    import yaml as _yaml
except ImportError:  # pragma: no cover - depends on the machine
    _yaml = None


# ---- small helpers ---------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """An HDF5 string (attribute or dataset element, bytes or str, maybe a 0-d array) as str."""
    if isinstance(value, np.ndarray):
        value = value.item() if value.shape == () else value.tolist()
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _texts(values: Any) -> list[str]:
    if values is None:
        return []
    if isinstance(values, (str, bytes)):
        return [_text(values)]
    return [_text(v) for v in np.asarray(values, dtype=object).ravel()]


def _read_string_dataset(ds: h5py.Dataset) -> str | list[str]:
    v = ds[()]
    if isinstance(v, np.ndarray) and v.shape != ():
        return [_text(x) for x in v.ravel()]
    return _text(v)


def _check_exists(path: Path) -> None:
    if not path.exists():
        raise AnalysisError(f"no such file: {path}")


def _open_h5(path: Path) -> h5py.File:
    """Opens an HDF5 file read-only; a missing file or a non-HDF5 file is an AnalysisError."""
    _check_exists(path)
    if path.is_dir():
        raise AnalysisError(f"{path} is a directory, not an attnlab trial/index file")
    try:
        return h5py.File(path, "r")
    except OSError as e:
        raise AnalysisError(f"{path} is not an attnlab trial/index file (cannot open as HDF5: {e})") from None


def file_format(path: str | os.PathLike) -> str:
    """The root attribute `format` of an HDF5 file ("attnlab-trial", "attnlab-index", ...; "" when
    absent). Raises AnalysisError for a missing or non-HDF5 file."""
    with _open_h5(Path(path)) as f:
        return _text(f.attrs["format"]) if "format" in f.attrs else ""


def _check_format(f: h5py.File, path: Path, expected: str) -> None:
    fmt = _text(f.attrs["format"]) if "format" in f.attrs else None
    if fmt != expected:
        what = "no root attribute format" if fmt is None else f"format is {fmt!r}"
        raise AnalysisError(f"{path} is not an attnlab trial/index file ({what}, expected {expected!r})")
    version = int(f.attrs.get("format_version", 0))
    if version > FORMAT_VERSION:
        raise AnalysisError(
            f"{path}: format_version {version} is newer than these scripts read ({FORMAT_VERSION}); update attnlab"
        )


def format_value(v: Any) -> str:
    """A swept value for display: integral floats without '.0' (seeds, sizes), others as Python
    prints them, missing values as ''."""
    if v is None:
        return ""
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return ""
        if float(v).is_integer() and abs(v) < 2**53:
            return str(int(v))
        return repr(float(v))
    if isinstance(v, (np.integer,)):
        return str(int(v))
    return str(v)


def canonical(v: Any) -> str:
    """Python's rendering of config::canonical (framework/config/value.h): one-line YAML flow form,
    map keys sorted, floats in shortest round-trip form with a '.', strings quoted only when they
    would read as something else. Used for swept values the index does not have yet."""
    if isinstance(v, dict):
        return "{" + ", ".join(f"{canonical(k)}: {canonical(v[k])}" for k in sorted(v, key=str)) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(canonical(x) for x in v) + "]"
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if math.isnan(x):
            return ".nan"
        if math.isinf(x):
            return ".inf" if x > 0 else "-.inf"
        r = repr(x)
        if "e" in r and "." not in r.split("e")[0]:
            mantissa, exp = r.split("e")
            r = f"{mantissa}.0e{exp}"
        return r
    s = str(v)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_./@+-]*", s) is not None
    if plain and _yaml is not None:
        try:
            plain = _yaml.safe_load(s) == s
        except Exception:  # noqa: BLE001 - anything YAML rejects must be quoted
            plain = False
    if plain and s.lower() not in ("true", "false", "null", "yes", "no", "on", "off", "~"):
        return s
    return "'" + s.replace("'", "''") + "'"


def _parse_yaml(text: str) -> Any:
    if _yaml is None or not text:
        return None
    try:
        return _yaml.safe_load(text)
    except Exception:  # noqa: BLE001 - a config we cannot parse is still shown as text
        return None


_KEY_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def lookup(config: Any, key: str) -> tuple[bool, Any]:
    """(found, value) of a dotted key with list indices ("model.layers[1].width") in a parsed config."""
    node = config
    for m in _KEY_TOKEN.finditer(key.lstrip("+")):
        name, index = m.group(1), m.group(2)
        if name is not None:
            if not isinstance(node, dict) or name not in node:
                return False, None
            node = node[name]
        else:
            i = int(index)
            if not isinstance(node, list) or i >= len(node):
                return False, None
            node = node[i]
    return True, node


def flatten(config: Any, prefix: str = "") -> dict[str, Any]:
    """Every leaf of a parsed config by dotted key (lists as key[i])."""
    out: dict[str, Any] = {}
    if isinstance(config, dict):
        for k, v in config.items():
            out.update(flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(config, list) and config:
        for i, v in enumerate(config):
            out.update(flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = config
    return out


def _swept_value(config: Any, key: str) -> Any:
    found, v = lookup(config, key)
    if not found:
        return None
    if isinstance(v, bool) or v is None:
        return canonical(v)
    if isinstance(v, (int, float)):
        return float(v)
    if isinstance(v, str):
        return v
    return canonical(v)


# ---- one trial -------------------------------------------------------------------------------------


@dataclass
class Trial:
    """Everything in one trial file. DataFrames are long format with a `trial` column (the id)."""

    path: str
    id: str
    status: str  # done | failed | running
    message: str = ""
    failed_at: str = ""
    format_version: int = FORMAT_VERSION
    config_yaml: str = ""
    config_hash: str = ""
    config: Any = None  # the parsed YAML (dict) when python3-yaml is available, else None
    env: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)  # protocol, split_sizes, report, fitted, tokens
    finals: pd.DataFrame = None  # trial, split, metric, value
    curves: pd.DataFrame = None  # trial, split, name, epoch, value (NaN values dropped)
    probe: dict[str, np.ndarray] = field(default_factory=dict)  # /attention/probe/<name>
    attention: dict[str, dict[int, np.ndarray]] = field(default_factory=dict)  # layer -> epoch -> weights
    timing: dict[str, Any] = field(default_factory=dict)

    def final(self, split: str, metric: str) -> float:
        """/final/<split>/<metric>, NaN when absent."""
        m = self.finals[(self.finals.split == split) & (self.finals.metric == metric)]
        return float(m.value.iloc[0]) if len(m) else float("nan")

    def finals_dict(self) -> dict[str, float]:
        """{"test/accuracy": 0.81, ...}: the index's column names."""
        return {f"{r.split}/{r.metric}": float(r.value) for r in self.finals.itertuples()}

    def truth(self) -> list[np.ndarray] | None:
        """The planted informative positions of each probe sample (padded coordinates: column
        indices of probe ids/mask), or None when the probe has no truth (real data)."""
        if "truth" not in self.probe or "truth_offsets" not in self.probe:
            return None
        t, off = self.probe["truth"].astype(np.int64), self.probe["truth_offsets"].astype(np.int64)
        return [t[off[p] : off[p + 1]] for p in range(len(off) - 1)]

    def probe_mask(self) -> np.ndarray | None:
        """[P, T] mask of the probe (1 = real position), or None without probe."""
        if "mask" in self.probe:
            return np.asarray(self.probe["mask"]) > 0
        base = self.probe.get("ids", self.probe.get("inputs"))
        return None if base is None else np.ones(base.shape[:2], dtype=bool)

    def last_epoch(self, layer: str) -> int:
        return max(self.attention[layer])


def load_trial(path: str | os.PathLike, *, attention: bool = True) -> Trial:
    """Reads a trial file (<id>.h5, or a .tmp for a post-mortem). attention=False skips the
    attention weights (faster for tables). Raises AnalysisError for a missing or foreign file."""
    p = Path(path)
    with _open_h5(p) as f:
        _check_format(f, p, TRIAL_FORMAT)
        tid = _text(f.attrs.get("trial_id", p.name.split(".")[0]))
        status = f.get("status")
        t = Trial(
            path=str(p),
            id=tid,
            status=_text(status.attrs.get("state", "running")) if status is not None else "running",
            message=_text(status.attrs.get("message", "")) if status is not None else "",
            failed_at=_text(status.attrs.get("failed_at", "")) if status is not None else "",
            format_version=int(f.attrs.get("format_version", FORMAT_VERSION)),
        )
        if "config" in f:
            t.config_hash = _text(f["config"].attrs.get("hash", ""))
            if "yaml" in f["config"]:
                t.config_yaml = _text(_read_string_dataset(f["config/yaml"]))
                t.config = _parse_yaml(t.config_yaml)
        if "env" in f:
            t.env = {k: _text(v) for k, v in sorted(f["env"].attrs.items())}
        t.data = _read_data(f)
        t.finals = _read_finals(f, tid)
        t.curves = _read_curves(f, tid)
        if attention and "attention" in f:
            t.probe, t.attention = _read_attention(f["attention"])
        t.timing = _read_timing(f)
    return t


def _read_data(f: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {"protocol": "", "split_sizes": {}, "report": [], "fitted": {}, "tokens": []}
    if "data" not in f:
        return out
    d = f["data"]
    if "protocol" in d:
        out["protocol"] = _text(_read_string_dataset(d["protocol"]))
    if "split_sizes" in d:
        out["split_sizes"] = {k: int(v[()]) for k, v in d["split_sizes"].items()}
    if "report" in d:
        r = _read_string_dataset(d["report"])
        out["report"] = r if isinstance(r, list) else [r]
    if "labels" in d:  # label balance per task and split: {task: {"names": [...], "train": counts, ...}}
        out["labels"] = {}
        for task, g in d["labels"].items():
            entry: dict[str, Any] = {k: np.asarray(v[()], dtype=np.int64) for k, v in g.items() if k != "names"}
            entry["names"] = _texts(g["names"][()]) if "names" in g else [str(i) for i in range(len(next(iter(entry.values()), [])))]
            out["labels"][task] = entry
    if "tokens" in d:  # what each token id stands for (words, item ids); absent: ids name nothing else
        t = _read_string_dataset(d["tokens"])
        out["tokens"] = t if isinstance(t, list) else [t]
    if "fitted" in d:
        out["fitted"] = {step: {k: np.asarray(v[()]) for k, v in g.items()} for step, g in d["fitted"].items()}
    return out


def _read_finals(f: h5py.File, tid: str) -> pd.DataFrame:
    rows = []
    if "final" in f:
        for split, g in f["final"].items():
            for metric, ds in g.items():
                rows.append((tid, split, metric, float(np.asarray(ds[()]).ravel()[0])))
    return pd.DataFrame(rows, columns=["trial", "split", "metric", "value"])


def _read_curves(f: h5py.File, tid: str) -> pd.DataFrame:
    cols = ["trial", "split", "name", "epoch", "value"]
    if "curves" not in f or "epoch" not in f["curves"]:
        return pd.DataFrame(columns=cols)
    epochs = np.asarray(f["curves/epoch"][()], dtype=np.int64)
    parts = []
    for split, g in f["curves"].items():
        if split == "epoch" or not isinstance(g, h5py.Group):
            continue
        for name, ds in g.items():
            v = np.asarray(ds[()], dtype=np.float64)
            n = min(len(v), len(epochs))  # a .tmp may hold a curve one epoch behind the axis
            keep = ~np.isnan(v[:n])
            parts.append(pd.DataFrame({"trial": tid, "split": split, "name": name, "epoch": epochs[:n][keep], "value": v[:n][keep]}))
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True)[cols]


def _read_attention(g: h5py.Group) -> tuple[dict[str, np.ndarray], dict[str, dict[int, np.ndarray]]]:
    probe = {k: np.asarray(v[()]) for k, v in g["probe"].items()} if "probe" in g else {}
    layers: dict[str, dict[int, np.ndarray]] = {}
    for layer, lg in g.items():
        if layer == "probe" or not isinstance(lg, h5py.Group):
            continue
        epochs = {}
        for name, ds in lg.items():
            m = re.fullmatch(r"epoch_(-?\d+)", name)
            if m:
                epochs[int(m.group(1))] = np.asarray(ds[()], dtype=np.float32)
        if epochs:
            layers[layer] = dict(sorted(epochs.items()))
    return probe, layers


def _read_timing(f: h5py.File) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "timing" not in f:
        return out
    for k, ds in f["timing"].items():
        v = np.asarray(ds[()])
        if v.dtype.kind in "SO":  # strings (peak_rss_scope) as str, not bytes
            out[k] = _text(v.item()) if v.shape == () else [_text(x) for x in v]
            continue
        out[k] = v.item() if v.shape == () else v
    for k, v in f["timing"].attrs.items():  # peak_tensor_bytes, peak_rss_scope, best_epoch, epochs_run
        v = np.asarray(v)
        out[k] = _text(v.item()) if v.dtype.kind in "SOU" else (v.item() if v.shape == () else v)
    return out


# ---- a sweep --------------------------------------------------------------------------------------


def param_columns(df: pd.DataFrame) -> list[str]:
    """The swept-key columns of a load_sweep frame (in axis order)."""
    if "params" in df.attrs:
        return [c for c in df.attrs["params"] if c in df.columns]
    return [c for c in df.columns if c not in ("sweep", "id", "status") and "/" not in c]


def final_columns(df: pd.DataFrame) -> list[str]:
    """The final-metric columns ("<split>/<metric>") of a load_sweep frame, sorted."""
    return sorted(c for c in df.columns if "/" in c)


def _read_index(path: Path) -> tuple[pd.DataFrame, list[str], list[str], dict[str, bool]]:
    """/summary of an index file as a DataFrame with decoded strings; (frame, params, finals, and
    {final column: lower is better} from the metric table, for the columns the index names)."""
    with _open_h5(path) as f:
        _check_format(f, path, INDEX_FORMAT)
        if "summary" not in f:
            return pd.DataFrame(columns=["id", "status"]), [], [], {}
        arr = f["summary"][()]
        columns = _texts(f.attrs.get("summary_columns")) or list(arr.dtype.names or [])
        roles = _texts(f.attrs.get("summary_roles")) or [
            "id" if c == "id" else "status" if c == "status" else "final" if "/" in c else "param" for c in columns
        ]
        better = _texts(f.attrs.get("summary_better")) or [""] * len(columns)
    df = pd.DataFrame(arr) if arr.shape else pd.DataFrame(columns=columns)
    for c in df.columns:
        if df[c].dtype == object or df[c].dtype.kind == "S":
            df[c] = [_text(x) for x in df[c]]
    role = dict(zip(columns, roles))
    params = [c for c in columns if role.get(c) == "param" and c in df.columns]
    finals = [c for c in columns if role.get(c) == "final" and c in df.columns]
    lower = {c: b == "lower" for c, b in zip(columns, better) if b in ("lower", "higher")}
    return df, params, finals, lower


def _sweep_keys(sweep_dir: Path) -> list[str] | None:
    """The swept keys named by sweep.yaml's `sweep:` section, in axis order; None when unknown."""
    doc = _sweep_doc(sweep_dir)
    sw = doc.get("sweep") if doc is not None else None
    if not isinstance(sw, dict):
        return None
    keys: list[str] = []
    for section in ("grid", "zip"):
        if isinstance(sw.get(section), dict):
            keys += [str(k).lstrip("+") for k in sw[section]]
    rnd = sw.get("random")
    if isinstance(rnd, dict) and isinstance(rnd.get("params"), dict):
        keys += [str(k).lstrip("+") for k in rnd["params"]]
    if "seeds" in sw:
        keys.append(SEED_KEY)
    return keys


def _sweep_doc(sweep_dir: Path) -> dict | None:
    """sweep.yaml parsed (None without it, without python3-yaml, or when it does not parse); parsed
    once per version of the file (loading a sweep asks for it several times)."""
    spec = sweep_dir / "sweep.yaml"
    if _yaml is None:
        return None
    try:
        st = spec.stat()
    except OSError:
        return None
    return _parse_sweep_yaml(str(spec.resolve()), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=64)
def _parse_sweep_yaml(path: str, mtime_ns: int, size: int) -> dict | None:
    try:
        with open(path, encoding="utf-8") as f:
            doc = _yaml.safe_load(f)
    except Exception:  # noqa: BLE001
        return None
    return doc if isinstance(doc, dict) else None


def listed_trials(sweep_dir: str | os.PathLike) -> list[str] | None:
    """The trial ids sweep.yaml lists on its '# trials:' line (the runner writes every trial the
    directory has seen there, in expansion order); None when sweep.yaml or the line is absent."""
    spec = Path(sweep_dir) / "sweep.yaml"
    if not spec.is_file():
        return None
    try:
        with spec.open(encoding="utf-8", errors="replace") as f:
            for line in f:
                if not line.startswith("#"):
                    break
                if line.startswith("# trials:"):
                    return line[len("# trials:"):].split()
    except OSError:
        return None
    return None


_FLOAT_TEXT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+")


def _yaml12(v: Any) -> Any:
    """PyYAML reads 1e-3 as a string (YAML 1.1); attnlab, as a number: so do the values compared
    with the trials' (canonical) ones."""
    if isinstance(v, dict):
        return {k: _yaml12(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_yaml12(x) for x in v]
    if isinstance(v, str) and _FLOAT_TEXT.fullmatch(v):
        return float(v)
    return v


def _planned_values(sweep_dir: Path) -> dict[str, list[Any] | None]:
    """The values sweep.yaml's `sweep:` section plans for each swept key (parsed YAML, in the order
    written; None for a `random:` key drawn from a range), so that columns and table layouts follow
    the whole sweep, not only the trials finished so far. {} without sweep.yaml or python3-yaml."""
    doc = _sweep_doc(sweep_dir)
    sw = doc.get("sweep") if doc else None
    if not isinstance(sw, dict):
        return {}
    out: dict[str, list[Any] | None] = {}
    for section in ("grid", "zip"):
        if isinstance(sw.get(section), dict):
            for k, v in sw[section].items():
                if isinstance(v, list):
                    out[str(k).lstrip("+")] = v
    rnd = sw.get("random")
    if isinstance(rnd, dict) and isinstance(rnd.get("params"), dict):
        for k, v in rnd["params"].items():
            choice = v.get("choice") if isinstance(v, dict) else None
            out[str(k).lstrip("+")] = choice if isinstance(choice, list) else None
    if isinstance(sw.get("seeds"), list):
        out[SEED_KEY] = sw["seeds"]
    return {k: None if v is None else _yaml12(v) for k, v in out.items()}


def _sweep_name(sweep_dir: Path) -> str:
    doc = _sweep_doc(sweep_dir)
    return str(doc["name"]) if doc and doc.get("name") else sweep_dir.resolve().name


def _finished_files(sweep_dir: Path) -> dict[str, Path]:
    """<id>.h5 files of the directory by id: not index.h5, not checkpoints (<id>.ckpt.h5); the
    <id>.h5.tmp of running trials never match."""
    return {p.name[: -len(".h5")]: p for p in sorted(sweep_dir.glob("*.h5"))
            if p.name != "index.h5" and not p.name.endswith(".ckpt.h5") and p.is_file()}


_MANY = 1 << 30  # the planned number of values of a key drawn from a range (random: uniform, int...)


def _ids(ids: list[str], most: int = 5) -> str:
    return ", ".join(ids[:most]) + (f", ... ({len(ids) - most} more)" if len(ids) > most else "")


def _progress_file(sweep_dir: Path, tid: str) -> dict[str, str]:
    """status and label of <id>.progress.yaml (the view `attnlab watch` reads), {} without one. Read
    line by line: it is flat YAML the trainer writes, and python3-yaml is optional."""
    out: dict[str, str] = {}
    try:
        text = (sweep_dir / f"{tid}.progress.yaml").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return out
    for line in text.splitlines():
        m = re.match(r"^(status|label):\s*(.*)$", line)
        if m:
            v = m.group(2).strip()
            if len(v) >= 2 and v[0] == v[-1] and v[0] in "'\"":
                v = v[1:-1].replace("''", "'") if v[0] == "'" else v[1:-1]
            out[m.group(1)] = v
    return out


@dataclass
class Completeness:
    """How complete a sweep directory is: every trial it lists, by what became of it.

    total: the trials of the sweep (sweep.yaml's '# trials:' line, with any other trial the ledger,
    the index or the files name); listed: whether sweep.yaml gave the list. done, failed: finished
    with a result shown. running: started (.h5.tmp, the ledger or its progress file says running);
    interrupted: stopped by Ctrl-C, resumes from its checkpoint on the next run; pending: not
    started. missing: {id: why}: finished once, but its <id>.h5 is gone or does not read, so it has
    no result here. stale: what index.h5 gets wrong (rows whose file is gone, files newer than it).
    labels: {id: its swept keys as text} where known (the ledger, the index, the progress file)."""

    name: str
    total: int
    listed: bool
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    running: list[str] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)
    missing: dict[str, str] = field(default_factory=dict)
    stale: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def finished(self) -> int:
        return len(self.done) + len(self.failed)

    @property
    def complete(self) -> bool:
        """Every trial of the sweep finished and has its file."""
        return self.finished == self.total and not (self.running or self.interrupted or self.pending or self.missing)

    @property
    def clean(self) -> bool:
        """Complete, and the index agrees with the files: nothing to warn about."""
        return self.complete and not self.stale

    def groups(self) -> list[tuple[str, list[str]]]:
        """(what, ids) of the trials without a result, for the lines below the headline."""
        return [(k, ids) for k, ids in (("running", self.running), ("interrupted (resumes on the next run)", self.interrupted),
                                        ("pending", self.pending), ("missing", list(self.missing))) if ids]

    def line(self) -> str:
        """One line: 'sweep tiny: PARTIAL: 2 of 4 trials finished (2 done, 0 failed); 1 running: ...'."""
        of = f"{self.finished} of {self.total} trials finished ({len(self.done)} done, {len(self.failed)} failed)"
        if not self.listed:
            of += " (sweep.yaml lists no trials: the total counts the ledger's and the files')"
        if self.complete:
            parts = [f"sweep {self.name}: complete, {of}"]
        else:  # PARTIAL: trials still to run; INCOMPLETE: all ran, but some results are gone
            parts = [f"sweep {self.name}: {'PARTIAL' if self.running or self.interrupted or self.pending else 'INCOMPLETE'}: {of}"]
        for what, ids in self.groups():
            if what == "missing":  # which variant lost a result matters: name it
                why = sorted(set(self.missing[i] for i in ids))
                named = [f"{i} ({self.labels[i]})" if self.labels.get(i) else i for i in ids]
                parts.append(f"{len(ids)} missing ({'; '.join(why)}; no results shown): {_ids(named)}")
            else:
                parts.append(f"{len(ids)} {what}: {_ids(ids)}")
        parts += [f"stale index: {s}" for s in self.stale]
        return "; ".join(parts)


def _completeness(sweep_dir: Path, name: str, df: pd.DataFrame, idx_rows: dict[str, dict],
                  unreadable: dict[str, str], gone: dict[str, dict], unindexed: list[str], tmp: list[str]) -> Completeness:
    listed = listed_trials(sweep_dir)
    ledger = read_ledger(sweep_dir)
    last: dict[str, tuple[str, str]] = {}
    labels: dict[str, str] = {}
    for r in ledger.itertuples():
        last[r.trial] = (r.state, r.message)
        if r.state == "running" and r.message and not r.message.startswith("interrupted"):
            labels[r.trial] = r.message  # the runner writes the trial's label there
    order = list(dict.fromkeys([*(listed or []), *ledger.trial, *idx_rows, *df.id, *unreadable, *tmp]))
    if listed is None:  # no list: order what the ledger and files give by the index, then by id
        order = list(dict.fromkeys([*idx_rows, *sorted(order)]))
    status = dict(zip(df.id, df.status))
    c = Completeness(name=name, total=len(order), listed=listed is not None)
    tmp_set = set(tmp)
    for tid in order:
        state, message = last.get(tid, ("", ""))
        prog = _progress_file(sweep_dir, tid)
        if prog.get("label") and tid not in labels:
            labels[tid] = prog["label"]
        if status.get(tid) == "done":
            c.done.append(tid)
        elif status.get(tid) == "failed":
            c.failed.append(tid)
        elif tid in unreadable:
            c.missing[tid] = f"<id>.h5 {unreadable[tid]}"
        elif tid in gone or state in FINISHED or prog.get("status") in FINISHED:
            c.missing[tid] = "file deleted"
        elif tid in tmp_set or state == "running" or prog.get("status") == "running":
            (c.interrupted if state == "running" and message.startswith("interrupted") else c.running).append(tid)
        else:
            c.pending.append(tid)
    for tid, r in idx_rows.items():  # else the index row's swept keys (a missing trial's, say)
        if tid not in labels:
            labels[tid] = " ".join(f"{k}={format_value(v)}" for k, v in r.items() if k not in ("id", "status") and "/" not in k)
    if gone:
        c.stale.append(f"index.h5 lists {len(gone)} finished trial(s) whose file is gone ({_ids(list(gone))}): left out")
    if unindexed:
        c.stale.append(f"{len(unindexed)} trial file(s) newer than index.h5 or not listed there as finished "
                       f"({_ids(unindexed)}): read from the files")
    c.labels = {k: v for k, v in labels.items() if k in set(order)}
    return c


def load_sweep(path: str | os.PathLike) -> pd.DataFrame:
    """One row per finished trial (done or failed) of a sweep: id, status, one column per swept key
    (axis order; numbers as float64, integral ones as int64, other values as canonical text), one
    float column per final metric ("test/accuracy", sorted; NaN when a trial lacks it).

    `path` is a sweep directory, its index.h5, or a single trial file (a one-row frame, with the
    swept keys of its directory's index when that lists it). Rows follow the index (expansion order),
    then trials the index does not list, by id. df.attrs holds: sweep_dir, name, files ({id: path of
    the trial file}), params, finals, lower_is_better ({final column: bool}, from the metric table
    as the index records it), running (ids of unfinished trials seen as .h5.tmp), warnings,
    planned_levels ({swept column: how many values sweep.yaml plans for it}), completeness (a
    Completeness; None for a single trial file). A trial the index lists as finished but whose file
    is gone has no row: it is `missing` in the completeness.
    Raises AnalysisError: missing path, foreign file, no finished trial.
    """
    p = Path(path)
    _check_exists(p)
    only: str | None = None
    if p.is_dir():
        sweep_dir, index_path = p, p / "index.h5"
    else:
        fmt = file_format(p)
        if fmt == INDEX_FORMAT:
            sweep_dir, index_path = p.parent, p
        elif fmt == TRIAL_FORMAT:
            sweep_dir, index_path = p.parent, p.parent / "index.h5"
            only = load_trial(p, attention=False).id
        else:
            what = "no root attribute format" if not fmt else f"format is {fmt!r}"
            raise AnalysisError(f"{p} is not an attnlab trial/index file ({what})")

    warnings: list[str] = []
    files = _finished_files(sweep_dir)
    if only is not None:
        files = {only: p}
    running = sorted(q.name[: -len(".h5.tmp")] for q in sweep_dir.glob("*.h5.tmp"))

    idx = pd.DataFrame(columns=["id", "status"])
    params: list[str] = []
    finals: list[str] = []
    lower: dict[str, bool] = {}
    index_mtime = -math.inf
    if index_path.is_file():
        try:
            idx, params, finals, lower = _read_index(index_path)
            index_mtime = index_path.stat().st_mtime
        except AnalysisError as e:
            if p == index_path:
                raise
            warnings.append(f"ignoring {index_path}: {e}")
    idx_rows = {r["id"]: r for r in idx.to_dict("records")}

    rows: list[dict[str, Any]] = []
    paths: dict[str, str] = {}
    scanned: dict[str, Trial] = {}
    unreadable: dict[str, str] = {}  # id -> why its <id>.h5 gave no result
    unindexed: list[str] = []  # read from their files: not in the index as finished, or newer than it
    for tid, fp in files.items():
        r = idx_rows.get(tid)
        fresh = r is not None and r["status"] in FINISHED and fp.stat().st_mtime <= index_mtime
        if fresh and only is None:
            rows.append(dict(r))
        else:
            if index_path.is_file() and only is None:
                unindexed.append(tid)
            try:
                t = load_trial(fp, attention=False)
            except AnalysisError as e:
                warnings.append(f"skipping {e}")
                unreadable[tid] = "unreadable"
                continue
            if t.status not in FINISHED:
                warnings.append(f"skipping {fp}: status {t.status!r}")
                unreadable[tid] = f"status {t.status!r}"
                continue
            row: dict[str, Any] = {"id": t.id, "status": t.status, **t.finals_dict()}
            if r is not None:
                row.update({k: r[k] for k in params})
            scanned[t.id] = t
            rows.append(row)
        paths[rows[-1]["id"]] = str(fp)
    # Finished trials the index lists whose file is gone (deleted, moved): no results are shown for
    # them (the index is stale); the completeness lists them as missing, with their swept keys.
    gone = {tid: r for tid, r in idx_rows.items() if r["status"] in FINISHED and tid not in files} if only is None else {}

    if not rows:
        where = index_path if p == index_path else sweep_dir
        extra = f" ({len(running)} running: {', '.join(running[:5])}{'...' if len(running) > 5 else ''})" if running else ""
        if gone:
            extra += f" (index.h5 lists {len(gone)} finished trial(s) whose file is gone: {_ids(list(gone))})"
        raise AnalysisError(f"{where}: no finished trials yet (no <id>.h5 trial files){extra}")

    # Swept keys of trials read from their files and absent from the index.
    missing = [t for tid, t in scanned.items() if tid not in idx_rows]
    if missing:
        keys = params or _sweep_keys(sweep_dir)
        if keys is None:
            keys = _differing_keys([t.config for t in scanned.values()]) if len(scanned) > 1 else []
        for k in keys:
            if k not in params:
                params.append(k)
        by_id = {r["id"]: r for r in rows}
        for t in missing:
            for k in keys:
                by_id[t.id][k] = _swept_value(t.config, k)

    df = pd.DataFrame(rows)
    for c in params:
        if c not in df.columns:
            df[c] = None
    finals = sorted(set(finals) | {c for c in df.columns if "/" in c})
    df = df[["id", "status", *params, *finals]].copy()
    # The values sweep.yaml plans for each key: a running sweep gets the columns (and the tables the
    # layout) the finished sweep will have, not those of the trials finished so far.
    planned = _planned_values(sweep_dir) if only is None else {}
    levels: dict[str, int] = {}  # column -> how many values the sweep plans for it
    typed_params: list[str] = []
    for c in params:
        values = planned.get(c, [])
        nodes = [canonical(v) for v in values if isinstance(v, dict)] if values is not None else []
        split = _plugin_columns(c, df[c], nodes)
        if split is None:
            df[c] = _param_series(df[c], nodes)
            typed_params.append(c)
            if c in planned:
                levels[c] = _MANY if values is None else len({canonical(v) for v in values})
            continue
        # A swept plugin node whose type does not tell the variants apart: its type, then one typed
        # column per parameter that differs ("model.extractor" = cnn, "model.extractor.channels" = 16).
        at = df.columns.get_loc(c)
        df = df.drop(columns=c)
        flat = [flatten(n) for n in (_plugin_node(t) for t in nodes) if n is not None]
        for i, (name, series) in enumerate(split.items()):
            df.insert(at + i, name, series)
            typed_params.append(name)
            leaf = "type" if name == c else name[len(c) + 1:]
            if flat:
                levels[name] = len({canonical(n.get(leaf)) for n in flat})
    params = typed_params
    for c in finals:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    order = {tid: i for i, tid in enumerate(idx_rows)}
    df["_order"] = [order.get(t, len(order)) for t in df.id]
    # Index order (the sweep's expansion order) first; trials it does not list by swept values.
    df = df.sort_values(["_order", *params, "id"], kind="stable").drop(columns="_order").reset_index(drop=True)
    name = _sweep_name(sweep_dir)
    state = None
    if only is None:
        state = _completeness(sweep_dir, name, df, idx_rows, unreadable, gone, unindexed, running)
    df.attrs.update(
        sweep_dir=str(sweep_dir),
        name=name,
        files=paths,
        params=params,
        finals=finals,
        lower_is_better=lower,
        running=running,
        warnings=warnings,
        planned_levels=levels,
        completeness=state,
    )
    return df


def _plugin_node(text: Any) -> dict | None:
    """A swept plugin node's canonical text ("{type: cnn, channels: 16}") as a dict with a str type;
    None for anything else (or without python3-yaml)."""
    if not isinstance(text, str) or not text.startswith("{"):
        return None
    try:
        import yaml

        node = yaml.safe_load(text)
    except (ImportError, Exception):  # yaml.YAMLError, or no yaml
        return None
    return node if isinstance(node, dict) and isinstance(node.get("type"), str) else None


def _plugin_types(vals: list[Any], planned: list[str] = ()) -> list[Any] | None:
    """A swept plugin node ("{type: cnn, channels: 16}") is shown as its type ("cnn") when every
    present value is such a node and their types tell them apart, the values sweep.yaml plans for
    the key (`planned`, canonical text) included; else None."""
    texts = [v for v in vals if isinstance(v, str) and v]
    if not texts or len(texts) != len([v for v in vals if v not in (None, "")]):
        return None
    types: dict[str, str] = {}
    for t in set(texts) | set(planned):
        node = _plugin_node(t)
        if node is None:
            return None
        types[t] = node["type"]
    if len(set(types.values())) != len(types):
        return None
    return [types[v] if isinstance(v, str) and v in types else v for v in vals]


def _plugin_columns(name: str, s: pd.Series, planned: list[str] = ()) -> dict[str, pd.Series] | None:
    """{name: the type, name.leaf: typed values of each parameter that differs} for a column of
    swept plugin nodes whose types alone do not name them; None otherwise. Whether a parameter
    differs is decided over the finished values and the values sweep.yaml plans (`planned`,
    canonical text), so a running sweep has the columns the finished one will have."""
    vals = list(s)
    if _plugin_types(vals, planned) is not None:
        return None
    parsed = [_plugin_node(v) for v in vals]
    if not parsed or any(n is None for n in parsed):
        return None
    nodes = [flatten(n) for n in parsed]
    every = nodes + [flatten(n) for n in (_plugin_node(t) for t in planned) if n is not None]
    leaves: list[str] = []
    for n in every:
        leaves += [k for k in n if k not in leaves and k != "type"]
    differing = [k for k in leaves if len({canonical(n.get(k)) for n in every}) > 1]
    if not differing:
        return None
    out = {name: pd.Series([n["type"] for n in nodes], index=s.index, dtype=object)}
    for k in differing:
        out[f"{name}.{k}"] = _param_series(pd.Series([n.get(k) for n in nodes], index=s.index, dtype=object))
    return out


def _param_series(s: pd.Series, planned: list[str] = ()) -> pd.Series:
    """Numbers stay numbers (int64 when all integral and present), plugin nodes become their type
    when that names them uniquely (_plugin_types), anything else canonical text."""
    vals = list(s)
    short = _plugin_types(vals, planned)
    if short is not None:
        vals = short
    present = [v for v in vals if v is not None and not (isinstance(v, float) and math.isnan(v)) and v != ""]
    if present and all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) for v in present):
        num = pd.to_numeric(pd.Series([np.nan if v is None or v == "" else v for v in vals], index=s.index), errors="coerce")
        if len(present) == len(vals) and all(float(v).is_integer() for v in present):
            return num.astype(np.int64)
        return num.astype(float)
    return pd.Series(["" if v is None or (isinstance(v, float) and math.isnan(v)) else format_value(v) if isinstance(v, (int, float, np.integer, np.floating)) else str(v) for v in vals], index=s.index, dtype=object)


def _differing_keys(configs: list[Any]) -> list[str]:
    flats = [flatten(c) for c in configs if c is not None]
    if len(flats) < 2:
        return []
    keys: list[str] = []
    for flat in flats:
        keys += [k for k in flat if k not in keys]
    diff = [k for k in keys if len({canonical(fl.get(k)) for fl in flats}) > 1]
    return sorted(diff, key=lambda k: (k == SEED_KEY, keys.index(k)))


def _is_sweep_dir(d: Path) -> bool:
    return (d / "index.h5").is_file() or (d / "ledger.tsv").is_file() or any(d.glob("*.h5")) or any(d.glob("*.h5.tmp"))


def load_sweeps(parent: str | os.PathLike) -> pd.DataFrame:
    """Every sweep directory directly under `parent` (or the given list of directories), loaded and
    concatenated with a first column `sweep` (the directory name). Sweeps without finished trials
    are skipped (listed in attrs["warnings"]). Raises AnalysisError when none has any."""
    if isinstance(parent, (list, tuple)):
        dirs = [Path(d) for d in parent]
    else:
        pp = Path(parent)
        _check_exists(pp)
        if not pp.is_dir():
            raise AnalysisError(f"{pp} is not a directory of sweeps")
        dirs = [d for d in sorted(pp.iterdir()) if d.is_dir() and _is_sweep_dir(d)]
        if not dirs:
            raise AnalysisError(f"{pp}: no sweep directories inside (a sweep has index.h5, ledger.tsv or <id>.h5 files)")
    frames, warnings, files, params, lower, states = [], [], {}, [], {}, {}
    for d in dirs:
        try:
            df = load_sweep(d)
        except AnalysisError as e:
            warnings.append(str(e))
            continue
        df.insert(0, "sweep", d.name)
        warnings += df.attrs["warnings"]
        files.update({(d.name, k): v for k, v in df.attrs["files"].items()})
        params += [c for c in df.attrs["params"] if c not in params]
        lower.update(df.attrs.get("lower_is_better") or {})
        state = df.attrs.get("completeness")  # named as the 'sweep' column names it: the directory
        states[d.name] = None if state is None else replace(state, name=d.name)
        frames.append(df)
    if not frames:
        raise AnalysisError("no finished trials in any sweep: " + "; ".join(warnings))
    out = pd.concat(frames, ignore_index=True, sort=False)
    finals = final_columns(out)
    out = out[["sweep", "id", "status", *params, *finals]]
    # "sweep" counts as a swept key (a table's rows can be the sweeps); files are keyed (sweep, id).
    out.attrs.update(files=files, params=["sweep", *params], finals=finals, lower_is_better=lower, warnings=warnings,
                     completeness=states)
    return out


def sweep_of(sweep: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    return sweep if isinstance(sweep, pd.DataFrame) else load_sweep(sweep)


def trial_file(df: pd.DataFrame, row: Any) -> str | None:
    """The trial file of a row of a load_sweep / load_sweeps frame (None when only the index knows
    the trial)."""
    files = df.attrs.get("files", {})
    rid = row["id"] if isinstance(row, (dict, pd.Series)) else row.id
    if "sweep" in df.columns:
        sw = row["sweep"] if isinstance(row, (dict, pd.Series)) else row.sweep
        if (sw, rid) in files:
            return files[(sw, rid)]
    return files.get(rid)


def load_trials(sweep: str | os.PathLike | pd.DataFrame, *, attention: bool = False, status: tuple[str, ...] = FINISHED) -> dict[str, Trial]:
    """The Trial of every row (with a file) of a sweep, by id."""
    df = sweep_of(sweep)
    out = {}
    for _, r in df.iterrows():
        f = trial_file(df, r)
        if r.status in status and f is not None:
            out[r.id] = load_trial(f, attention=attention)
    return out


def curves(sweep: str | os.PathLike | pd.DataFrame) -> pd.DataFrame:
    """Learning curves of every finished trial of a sweep (a path, or a load_sweep frame), long
    format: trial, split, name, epoch, value, then status and the swept keys of the trial."""
    df = sweep_of(sweep)
    params = param_columns(df)
    multi = "sweep" in df.columns
    parts = []
    for _, r in df.iterrows():
        f = trial_file(df, r)
        if f is None:
            continue
        c = load_trial(f, attention=False).curves.copy()
        c["trial"] = r.id
        if multi:
            c["sweep"] = r.sweep
        parts.append(c)
    cols = ["trial", "split", "name", "epoch", "value"] + (["sweep"] if multi else [])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=cols)
    on = ["sweep", "trial"] if multi else ["trial"]
    extra = [c for c in ["status", *params] if c not in on]
    out = out.merge(df[["id", *[c for c in on if c != "trial"], *extra]].rename(columns={"id": "trial"}), on=on, how="left")
    out["epoch"] = out["epoch"].astype(np.int64)
    out["value"] = out["value"].astype(float)
    return out


# ---- ledger -----------------------------------------------------------------------------------------

_UNESCAPE = {"\\\\": "\\", "\\t": "\t", "\\n": "\n", "\\r": "\r"}


def _unescape(s: str) -> str:
    return re.sub(r"\\[\\tnr]", lambda m: _UNESCAPE[m.group(0)], s)


def read_ledger(sweep_dir: str | os.PathLike) -> pd.DataFrame:
    """ledger.tsv as a frame (time, trial, state, message), fields unescaped; a torn last line and
    malformed lines are skipped. An empty frame when the directory has no ledger."""
    path = Path(sweep_dir) / "ledger.tsv"
    cols = ["time", "trial", "state", "message"]
    if not path.is_file():
        return pd.DataFrame(columns=cols)
    raw = path.read_bytes().decode("utf-8", errors="replace")
    lines = raw.split("\n")
    if lines and lines[-1] != "":
        lines = lines[:-1]  # torn: no '\n' yet
    rows = []
    for line in lines[1:]:
        parts = line.rstrip("\r").split("\t")
        if len(parts) == 3:
            parts.append("")
        if len(parts) != 4 or parts[2] not in ("planned", "running", "done", "failed"):
            continue
        rows.append([parts[0], _unescape(parts[1]), parts[2], _unescape(parts[3])])
    return pd.DataFrame(rows, columns=cols)


def ledger_states(sweep_dir: str | os.PathLike) -> dict[str, str]:
    """The last state of each trial in the ledger."""
    led = read_ledger(sweep_dir)
    return dict(zip(led.trial, led.state))


def warn(messages: list[str], prog: str) -> None:
    for m in messages:
        print(f"{prog}: warning: {m}", file=sys.stderr)


__all__ = [
    "Trial",
    "load_trial",
    "load_sweep",
    "load_sweeps",
    "load_trials",
    "trial_file",
    "curves",
    "read_ledger",
    "ledger_states",
    "param_columns",
    "final_columns",
    "canonical",
    "format_value",
    "file_format",
    "lookup",
    "flatten",
    "Completeness",
    "listed_trials",
]
