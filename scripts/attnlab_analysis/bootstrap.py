"""Makes the scripts run under an interpreter that has Debian's python3-h5py, -pandas, -matplotlib
and -scipy: `#!/usr/bin/env python3` may find another Python first (pyenv, a virtualenv) that
lacks them; then the script re-executes itself with /usr/bin/python3 when that one has them."""
import importlib.util
import os
import sys

NEEDED = ("h5py", "numpy", "pandas", "matplotlib", "scipy")
SYSTEM_PYTHON = "/usr/bin/python3"


def missing() -> list[str]:
    return [m for m in NEEDED if importlib.util.find_spec(m) is None]


def ensure_libraries() -> None:
    lack = missing()
    if not lack:
        return
    here = os.path.realpath(sys.executable) if sys.executable else ""
    if os.path.exists(SYSTEM_PYTHON) and os.path.realpath(SYSTEM_PYTHON) != here and not os.environ.get("ATTNLAB_REEXEC"):
        os.environ["ATTNLAB_REEXEC"] = "1"
        os.execv(SYSTEM_PYTHON, [SYSTEM_PYTHON, sys.argv[0], *sys.argv[1:]])
    print(f"{os.path.basename(sys.argv[0])}: error: this Python ({sys.executable}) lacks {', '.join(lack)}; "
          "on Debian: apt install python3-h5py python3-pandas python3-matplotlib python3-scipy python3-yaml", file=sys.stderr)
    sys.exit(2)
