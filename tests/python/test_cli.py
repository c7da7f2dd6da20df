"""The attnlab command line: exit codes (0 ok, 1 run failed, 2 usage/config error) and outputs."""
import os
import re
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
SEED = os.path.join(ROOT, "experiments", "presets", "seed.yaml")
ABLATION = os.path.join(ROOT, "experiments", "seed_ablation.yaml")
BROKEN = os.path.join(ROOT, "tests", "data", "broken_specs")

pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")


def attnlab(*args):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=120)


def config_hash(out):
    m = re.search(r"config hash ([0-9a-f]{16})", out)
    assert m, out
    return m.group(1)


def test_version():
    r = attnlab("--version")
    assert r.returncode == 0
    assert r.stdout.startswith("attnlab ") and "oneDNN 2." in r.stdout


def test_validate_ok_and_counts_trials():
    r = attnlab("validate", ABLATION)
    assert r.returncode == 0, r.stderr
    assert "12 trials" in r.stdout


def test_validate_reports_every_problem_and_exits_2():
    r = attnlab("validate", os.path.join(BROKEN, "many_problems.yaml"))
    assert r.returncode == 2
    problems = [l for l in r.stderr.splitlines() if l.startswith(BROKEN)]
    assert len(problems) == 4, r.stderr
    assert "4 problems in the spec; nothing was run" in r.stderr


def test_validate_rehearses_each_trial_on_its_data(tmp_path):
    # A well-formed spec whose data cannot feed the model: a table of numbers without sequences,
    # and no model.side_features. The spec check passes; the rehearsal refuses, naming the fix.
    (tmp_path / "t.csv").write_text("x,y,a\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(60)))
    spec = tmp_path / "s.yaml"
    spec.write_text("""name: t
data:
  dataset: {type: tabular, path: t.csv, numeric: [x, y], train: 0.6, valid: 0.2,
            tasks: [{name: a, column: a, kind: binary, positive: ['1']}]}
model:
  multitask: {type: mmoe, num_experts: 2, expert_hidden: [8]}
  tasks: {a: {type: binary}}
train: {epochs: 3, batch_size: 8}
""")
    only = attnlab("validate", "--spec-only", str(spec))
    assert only.returncode == 0 and "spec only" in only.stdout, only.stderr
    r = attnlab("validate", str(spec))
    assert r.returncode == 2
    assert "1 of 1 trial cannot run on the data" in r.stderr and "model.side_features: true" in r.stderr, r.stderr
    ok = attnlab("validate", str(spec), "++model.side_features=true")
    assert ok.returncode == 0 and "rehearsed on its data" in ok.stdout, ok.stderr


def test_plugins_metric_lists_the_metric_table():
    r = attnlab("plugins", "metric")
    assert r.returncode == 0, r.stderr
    rows = {tuple(l.split()[:3]) for l in r.stdout.splitlines()[1:] if l.strip()}
    assert ("rmse", "value", "lower") in rows and ("auc", "binary", "higher") in rows
    assert ("logloss", "class", "lower") in rows and ("logloss", "binary", "lower") in rows
    assert any(l.split()[0] == "ndcg" and "[@k]" in l for l in r.stdout.splitlines()[1:] if l.strip())


def test_parallelism_beyond_the_cores_is_refused_before_anything_is_written(tmp_path):
    out = tmp_path / "sweep"
    r = attnlab("sweep", SEED, "--jobs", "64", "--threads", "64", "--out", str(out), "--quiet")
    assert r.returncode != 0 and "exceed the" in r.stderr, r.stderr
    assert not out.exists()


def test_validate_refuses_what_the_first_epoch_would(tmp_path):
    # eval.select naming a figure the model never reports fails a run after its first epoch;
    # validate's rehearsal meets it first.
    r = attnlab("validate", SEED, "eval.select=auc", "++data.dataset.split=count", "++data.dataset.train=64",
                "++data.dataset.valid=16", "++data.dataset.test=16")
    assert r.returncode == 2, r.stdout + r.stderr
    assert "cannot run on the data" in r.stderr and "auc" in r.stderr, r.stderr


def test_a_head_that_does_not_fit_the_labels_is_named(tmp_path):
    # A classification head on binary labels ended in "tensor: accessed a f32 tensor [50] as i64".
    (tmp_path / "t.csv").write_text("x,a\n" + "".join(f"{i % 7},{'yes' if i % 2 else 'no'}\n" for i in range(80)))
    spec = tmp_path / "s.yaml"
    spec.write_text("""name: t
data:
  dataset: {type: tabular, path: t.csv, numeric: [x], train: 0.6, valid: 0.2,
            tasks: [{name: a, column: a, kind: binary, positive: ['yes']}]}
model:
  side_features: true
  multitask: {type: shared_bottom, hidden: [4]}
  tasks: {a: {type: classification}}
train: {epochs: 1, batch_size: 8}
eval: {metrics: [auc], select: loss}
""")
    r = attnlab("validate", str(spec))
    assert r.returncode == 2, r.stdout + r.stderr
    # At the line that chose the head (s.yaml:8 is `tasks: {a: {type: classification}}`).
    assert "s.yaml:8:15: model.tasks.a.type: a 'classification' head learns from class labels" in r.stderr, r.stderr
    assert "holds binary labels" in r.stderr, r.stderr
    ok = attnlab("validate", str(spec), "model.tasks.a.type=binary")
    assert ok.returncode == 0, ok.stderr


def test_train_threads_is_no_key_of_the_spec():
    # It was read by nothing yet changed every trial id; threads are a command-line choice (--threads).
    r = attnlab("validate", "--spec-only", SEED, "++train.threads=2")
    assert r.returncode == 2 and "train.threads: unknown key 'threads'" in r.stderr, r.stderr


def test_usage_error_exits_2():
    assert attnlab("validate").returncode == 2
    assert attnlab("no-such-command").returncode == 2
    assert attnlab("validate", "/nonexistent/spec.yaml").returncode == 2


def test_bad_override_exits_2_naming_the_command_line():
    r = attnlab("validate", SEED, "train.epochz=3")
    assert r.returncode == 2
    assert "<command line>" in r.stderr and "train.epochz" in r.stderr


def test_show_hash_ignores_key_order_and_formatting(tmp_path):
    yaml = pytest.importorskip("yaml")
    with open(SEED) as f:
        spec = yaml.safe_load(f)

    def reverse(node):  # every map's keys in reverse order, written in flow style
        if isinstance(node, dict):
            return {k: reverse(node[k]) for k in reversed(list(node))}
        return [reverse(x) for x in node] if isinstance(node, list) else node

    reordered = tmp_path / "seed_reordered.yaml"
    reordered.write_text(yaml.safe_dump(reverse(spec), sort_keys=False, default_flow_style=True))
    assert reordered.read_text().splitlines()[0] != open(SEED).read().splitlines()[0]
    a, b = attnlab("show", SEED), attnlab("show", str(reordered))
    assert a.returncode == 0 and b.returncode == 0, a.stderr + b.stderr
    assert config_hash(a.stdout) == config_hash(b.stdout)
    c = attnlab("show", SEED, "train.optimizer.lr=2e-3")
    assert config_hash(c.stdout) != config_hash(a.stdout)
    assert "lr: 0.002" in c.stdout


def test_sweep_dry_run_lists_stable_ids():
    a, b = attnlab("sweep", ABLATION, "--dry-run"), attnlab("sweep", ABLATION, "--dry-run")
    assert a.returncode == 0, a.stderr
    rows = [l for l in a.stdout.splitlines() if re.match(r"\s*\d+\s+[0-9a-f]{12}\s", l)]
    assert len(rows) == 12
    assert a.stdout == b.stdout
    assert len({l.split()[1] for l in rows}) == 12
    assert any("model.attention.type=seed_self" in l for l in rows)


def test_plugins_listing_and_details():
    r = attnlab("plugins")
    assert r.returncode == 0
    for family in ["extractor", "attention", "pooling", "head", "optimizer", "schedule", "dataset"]:
        assert re.search(rf"^{family}\b", r.stdout, re.M), family
    d = attnlab("plugins", "attention/seed_self")
    assert d.returncode == 0 and "mask_padding" in d.stdout
    o = attnlab("plugins", "optimizer/adam")
    assert "beta1" in o.stdout and "[0, 1]" in o.stdout
    bad = attnlab("plugins", "attention/seed_selff")
    assert bad.returncode == 2 and "did you mean 'seed_self'" in bad.stderr


def family_plugins(family):
    """The plugins `attnlab plugins` lists under `family` (the registry decides, not this file)."""
    r = attnlab("plugins")
    assert r.returncode == 0, r.stderr
    names, inside = [], False
    for line in r.stdout.splitlines():
        if line and not line.startswith(" "):
            inside = line.split()[0] == family
        elif inside and line.strip():
            names.append(line.split()[0])
    return names


def test_every_dataset_reader_states_its_format_with_an_example():
    readers = family_plugins("dataset")
    on_disk = {d for d in os.listdir(os.path.join(ROOT, "plugins", "dataset")) if d != "common"}
    assert set(readers) == on_disk
    for name in readers:
        r = attnlab("plugins", f"dataset/{name}")
        assert r.returncode == 0, r.stderr
        lines = r.stdout.splitlines()
        assert "  format:" in lines, f"dataset/{name} prints no format section:\n{r.stdout}"
        section = lines[lines.index("  format:") + 1:]
        assert section and section[0].startswith("    ") and section[0].strip(), name
        # An example: at least two lines indented below the description.
        examples = [l for l in section if l.startswith("      ") and l.strip()]
        assert len(examples) >= 2, f"dataset/{name}: no two-line example under format:\n{r.stdout}"


def test_the_text_format_shows_the_default_and_a_header_layout():
    r = attnlab("plugins", "dataset/text")
    out = r.stdout[r.stdout.index("  format:"):]
    assert "      ham<TAB>Go until jurong point" in out
    assert "      product<TAB>score<TAB>review" in out
    for option in ["header", "label_col", "text_col", "label_index", "text_index", "delimiter"]:
        assert re.search(rf"^  {option}\s", r.stdout, re.M), option


def test_a_raw_review_file_runs_as_it_is(tmp_path):
    # The review set: `product<TAB>score<TAB>review` with a header, mostly short texts and
    # one 400-word outlier. It runs without conversion; batches are padded to their own length.
    h5py = pytest.importorskip("h5py")
    rows = ["product\tscore\treview"]
    for i in range(120):
        good = i % 2 == 0
        rows.append(f"P{i % 37:04d}\t{5 if good else 1}\t{'great fun game' if good else 'boring broken mess'} {i % 5}")
    rows.append("P0001\t5\t" + " ".join(["great"] * 400))
    (tmp_path / "reviews.tsv").write_text("\n".join(rows) + "\n")
    spec = tmp_path / "reviews.yaml"
    spec.write_text("""name: reviews
data:
  dataset: {type: text, path: reviews.tsv, header: true, label_col: score, text_col: review, task: score}
  task: score
model:
  embedding: 8
  extractor: {type: gru, hidden: 8}
  attention: {type: scaled_dot}
  pooling: {type: mean}
  head: {type: classification}
train: {epochs: 1, batch_size: 16}
eval: {metrics: [accuracy], select: accuracy}
log: {dir: out, probes: 2}
""")
    r = attnlab("validate", str(spec))
    assert r.returncode == 0 and "warning" not in r.stderr, r.stderr
    # Padded to the data set's length instead, the waste is named with the length distribution.
    w = attnlab("validate", str(spec), "data.padding=dataset")
    assert w.returncode == 0, w.stderr
    assert "warning: every history is padded to the longest, 400 steps" in w.stderr, w.stderr
    assert "median 4" in w.stderr and "pad_truncate, max_len:" in w.stderr, w.stderr
    run = attnlab("run", str(spec), "--threads", "1", "--quiet")
    assert run.returncode == 0, run.stderr
    (trial,) = [p for p in (tmp_path / "out" / "reviews").glob("*.h5") if p.name != "index.h5"]
    with h5py.File(trial, "r") as f:
        tokens = list(f["data/tokens"].asstr()[:])
        report = "\n".join(f["data/report"].asstr()[:])
        assert "data.padding: each batch padded to its own longest history" in report
        ids = f["attention/probe/ids"][()]
    assert "great" in tokens and "boring" in tokens and "score" not in tokens  # the header is not data
    words = {tokens[i] for i in ids.ravel() if i > 0}
    assert words <= {"great", "fun", "game", "boring", "broken", "mess", "0", "1", "2", "3", "4", "<unk>"}, words
