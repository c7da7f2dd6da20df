"""Who may run code: the plugin libraries a spec loads (framework/experiment/plugin_trust.h).

The library is tests/registry/dup_plugin.cpp (it registers attention/hello), copied into a temporary
tree: proj/spec.yaml with proj/lib/libprobe.so inside the spec's directory, other/libprobe.so
outside it, proj/lib/link.so a symlink out. attnlab runs from an unrelated working directory.
"""
import os
import shutil
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.path.abspath(os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab")))  # run from other dirs
PLUGIN = os.environ.get("ATTNLAB_TEST_PLUGIN", "")

pytestmark = pytest.mark.skipif(not os.path.exists(BIN) or not os.path.exists(PLUGIN),
                                reason="attnlab or the test plugin library (ATTNLAB_TEST_PLUGIN) not built")

SPEC = """{plugins}name: trust
data:
  dataset: {{type: marker, train: 64, valid: 32, test: 32, seq_len: 6, vocab: 12, classes: 3}}
model:
  embedding: 4
  extractor: {{type: lstm, hidden: 4}}
  attention: {{type: {attention}}}
  pooling: {{type: flatten}}
  head: {{type: classification}}
train: {{epochs: 1, batch_size: 16}}
log: {{dir: {results}}}
{sweep}"""


class Tree:
    def __init__(self, tmp_path):
        self.root = tmp_path.resolve()
        self.proj, self.other, self.cwd = self.root / "proj", self.root / "other", self.root / "elsewhere"
        for d in (self.proj / "lib", self.other, self.cwd):
            d.mkdir(parents=True)
        self.inside, self.outside = self.proj / "lib" / "libprobe.so", self.other / "libprobe.so"
        shutil.copy(PLUGIN, self.inside)
        shutil.copy(PLUGIN, self.outside)
        (self.proj / "lib" / "link.so").symlink_to("../../other/libprobe.so")
        self.spec = self.proj / "spec.yaml"
        self.results = self.root / "results"

    def write(self, plugins, attention="hello", sweep="", path=None):
        path = path or self.spec
        path.write_text(SPEC.format(plugins=f"plugins: [{plugins}]\n" if plugins else "", attention=attention,
                                    results=self.results, sweep=sweep))
        return str(path)

    def attnlab(self, *args, cwd=None):
        return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=300, cwd=cwd or self.cwd,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))


@pytest.fixture
def tree(tmp_path):
    return Tree(tmp_path)


def test_a_library_inside_the_spec_directory_loads_and_is_listed(tree):
    spec = tree.write("lib/libprobe.so")  # attention/hello exists only once the library is loaded
    listed = f"plugin library {tree.inside}  (plugins[0] at {spec}:1:11; trusted: inside the spec's directory {tree.proj})"
    v = tree.attnlab("validate", "--spec-only", spec)
    assert v.returncode == 0, v.stderr
    assert f"  {listed}" in v.stdout.splitlines(), v.stdout
    s = tree.attnlab("show", spec)
    assert s.returncode == 0, s.stderr
    assert f"# {listed}" in s.stdout.splitlines(), s.stdout
    assert "type: hello" in s.stdout
    d = tree.attnlab("sweep", "--dry-run", spec)
    assert d.returncode == 0 and f"  {listed}" in d.stdout.splitlines(), d.stdout + d.stderr


def test_a_trusted_library_runs_and_a_refused_one_runs_nothing(tree):
    spec = tree.write("lib/libprobe.so", attention="seed_self")
    r = tree.attnlab("run", spec, "--threads", "1", "--quiet")
    assert r.returncode == 0, r.stderr
    assert (tree.results / "trust").is_dir()
    shutil.rmtree(tree.results)
    spec = tree.write("../other/libprobe.so", attention="seed_self", sweep="sweep: {seeds: [1, 2]}")
    for cmd in (["run"], ["sweep"], ["sweep", "--dry-run"]):
        r = tree.attnlab(*cmd, spec, "--threads", "1", "--quiet")
        assert r.returncode == 2, (cmd, r.stdout, r.stderr)
        assert "refusing to load plugin library" in r.stderr and "nothing was run" in r.stderr, r.stderr
    assert not tree.results.exists()


def test_a_library_outside_is_refused_at_its_line_with_the_way_to_allow_it(tree):
    spec = tree.write("lib/libprobe.so, ../other/libprobe.so")
    r = tree.attnlab("validate", spec)
    assert r.returncode == 2, r.stdout + r.stderr
    problem = (f"{spec}:1:28: plugins[1]: refusing to load plugin library '{tree.outside}' (named "
               f"'../other/libprobe.so'): it lies outside the spec's directory {tree.proj} and the working directory "
               f"{tree.cwd}, and loading a library runs its code; give it with --plugin {tree.outside} or allow the "
               f"libraries the spec names with --allow-spec-plugins")
    assert problem in r.stderr.splitlines(), r.stderr
    assert "1 problem in the spec; nothing was run" in r.stderr
    assert "unknown" not in r.stderr  # refused before anything is bound: one problem, not a cascade
    s = tree.attnlab("show", spec)
    assert s.returncode == 2 and problem in s.stderr.splitlines(), s.stderr


def test_a_symlink_out_of_the_tree_is_refused(tree):
    spec = tree.write("lib/link.so")
    r = tree.attnlab("validate", "--spec-only", spec)
    assert r.returncode == 2, r.stdout
    assert f"{spec}:1:11: plugins[0]: refusing to load plugin library '{tree.outside}' (named 'lib/link.so')" in r.stderr


def test_an_included_spec_is_named_in_the_refusal(tree):
    base = tree.root / "shared" / "base.yaml"
    base.parent.mkdir()
    base.write_text(f"description: shared\nplugins: [{tree.outside}]\n")
    spec = tree.write("")
    tree.spec.write_text(f"include: {base}\n" + tree.spec.read_text())
    r = tree.attnlab("validate", "--spec-only", spec)
    assert r.returncode == 2, r.stdout
    assert f"{base}:2:11: plugins[0]: refusing to load plugin library '{tree.outside}':" in r.stderr, r.stderr


def test_the_command_line_allows_a_library(tree):
    spec = tree.write("../other/libprobe.so")
    allowed = tree.attnlab("validate", "--spec-only", spec, "--allow-spec-plugins")
    assert allowed.returncode == 0, allowed.stderr
    assert f"plugins[0] at {spec}:1:11; trusted: allowed by --allow-spec-plugins)" in allowed.stdout, allowed.stdout
    given = tree.attnlab("show", spec, "--plugin", str(tree.outside))
    assert given.returncode == 0, given.stderr
    assert f"# plugin library {tree.outside}  (--plugin; trusted: given by --plugin)" in given.stdout.splitlines()
    assert f"plugins[0] at {spec}:1:11; trusted: also given by --plugin)" in given.stdout, given.stdout
    # Run from a directory above the library: the working directory's tree is the user's too.
    here = tree.attnlab("validate", "--spec-only", spec, cwd=tree.root)
    assert here.returncode == 0 and f"trusted: inside the working directory {tree.root})" in here.stdout, here.stderr
    # A library typed in an override is the user's choice.
    plain = tree.write("")
    typed = tree.attnlab("validate", "--spec-only", plain, "plugins=[../other/libprobe.so]")
    assert typed.returncode == 0, typed.stderr
    assert "trusted: named by an override on the command line)" in typed.stdout, typed.stdout


@pytest.mark.skipif(shutil.which("mpirun") is None, reason="Open MPI not installed")
def test_every_mpi_rank_refuses_alike(tree):
    if "mpi" not in subprocess.run([BIN, "--version"], capture_output=True, text=True).stdout.lower():
        pytest.skip("attnlab built without MPI")
    spec = tree.write("../other/libprobe.so", attention="seed_self", sweep="sweep: {seeds: [1, 2]}")
    env = dict(os.environ, OMP_NUM_THREADS="1", OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    r = subprocess.run(["mpirun", "--oversubscribe", "-np", "2", BIN, "sweep", spec, "--jobs", "1", "--threads", "1"],
                       capture_output=True, text=True, timeout=300, env=env, cwd=tree.cwd)
    assert r.returncode != 0, r.stdout + r.stderr
    # Each rank loads the spec with the same flags and refuses before any message passes; mpirun may
    # stop the second rank once the first has failed, so its message is not guaranteed.
    assert "refusing to load plugin library" in r.stderr, r.stderr
    assert not tree.results.exists()
