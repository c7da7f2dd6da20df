"""The golden writer and reader agree, and f32 values survive the text format exactly."""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "scripts", "goldens"))
import golden_io  # noqa: E402


def test_round_trip_is_exact_for_f32(tmp_path, monkeypatch):
    monkeypatch.setattr(golden_io, "GOLDEN_DIR", str(tmp_path))
    rng = np.random.default_rng(0)
    tensors = {
        "scalar": np.float32(3.25).reshape(()),
        "matrix": rng.standard_normal((3, 4)).astype(np.float32),
        "tiny": np.array([1e-30, -7e-12, 123456.789], dtype=np.float32),
    }
    path = golden_io.write_golden("case", tensors, comment="two\nlines")
    back = golden_io.read_golden(path)
    assert list(back) == list(tensors)
    for k, v in tensors.items():
        assert back[k].shape == v.shape
        np.testing.assert_array_equal(back[k].astype(np.float32), v)


def test_committed_goldens_are_well_formed():
    gdir = os.path.join(os.path.dirname(__file__), "..", "data", "goldens")
    files = [f for f in os.listdir(gdir) if f.endswith(".txt")]
    assert files, "no goldens committed"
    for f in files:
        data = golden_io.read_golden(os.path.join(gdir, f))
        assert data, f
        for name, arr in data.items():
            assert np.all(np.isfinite(arr)), f"{f}: {name} has non-finite values"
