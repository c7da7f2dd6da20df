"""attnlab_analysis: read attnlab results (HDF5 trial files and sweep indexes) into pandas, and
turn them into tables, plots and reports.

The layout read here is fixed by framework/store/trial.h and framework/store/index.h (and shown
with recipes in docs/results.md); docs/analysis.md describes the scripts built on this package.

    from attnlab_analysis import load_trial, load_sweep, load_sweeps, curves
    t = load_trial("runs/seed-ablation/3fa2c81b9d0e.h5")
    t.finals                      # DataFrame: trial, split, metric, value
    df = load_sweep("runs/seed-ablation")   # one row per finished trial
    cv = curves("runs/seed-ablation")       # long: trial, split, name, epoch, value + swept keys

Every loading function raises AnalysisError (a ValueError) with a message for the user: a missing
path ("no such file: X"), a foreign file ("X is not an attnlab trial/index file"), a directory
without finished trials. The scripts print it and exit with code 2.
"""
import os as _os

# Trial files are only read here. HDF5's file locking would make a read fail while another process
# holds a file open for writing (and is unsupported on some network file systems): turn it off for
# this process unless the user decided otherwise.
_os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

from .errors import AnalysisError  # noqa: E402

# The loading API is imported on first use (PEP 562), so `script --help` does not pay for importing
# h5py and pandas.
_LAZY = {
    "Trial": "load", "canonical": "load", "curves": "load", "final_columns": "load", "load_sweep": "load",
    "load_sweeps": "load", "load_trial": "load", "param_columns": "load", "read_ledger": "load",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["AnalysisError", *_LAZY]
