"""The corpus of specs that are well-formed but cannot run (tests/data/unrunnable_specs): `attnlab
validate` refuses each at the line that wrote the offending value, and accepts it once fixed."""
import os
import subprocess

import pytest

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("ATTNLAB_BIN", os.path.join(ROOT, "build", "attnlab"))
CORPUS = os.path.join(ROOT, "tests", "data", "unrunnable_specs")
CASES = sorted(f[:-5] for f in os.listdir(CORPUS) if f.endswith(".yaml"))
pytestmark = pytest.mark.skipif(not os.path.exists(BIN), reason=f"{BIN} not built")


def validate(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([BIN, "validate", *args], capture_output=True, text=True, timeout=300, env=env, cwd=CORPUS)


def test_the_corpus_is_complete():
    for name in CASES:
        assert os.path.exists(os.path.join(CORPUS, name + ".expected")), name
    assert len(CASES) >= 6


@pytest.mark.parametrize("name", CASES)
def test_validate_refuses_it_at_the_line(name):
    with open(os.path.join(CORPUS, name + ".expected")) as f:
        want, fix = f.read().splitlines()[:2]
    r = validate(name + ".yaml")
    assert r.returncode == 2, r.stdout + r.stderr
    assert want in r.stderr, r.stderr  # at spec level (a config rule) or in the rehearsal (needs the data)
    ok = validate(name + ".yaml", fix)
    assert ok.returncode == 0, ok.stderr
