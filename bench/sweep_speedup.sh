#!/usr/bin/env bash
# Speed-up of parallel trials: the same sweep of small trials with --jobs 1 and --jobs 2 (one
# thread per trial), wall time of each, their ratio, and a check that both give the same metrics.
#   bench/sweep_speedup.sh [build/attnlab] [jobs]        (run it on an otherwise idle machine)
set -euo pipefail
bin=${1:-build/attnlab}
jobs=${2:-2}
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
# 18 trials: the synthetic half of the default study, one seed.
spec=$out/speedup.yaml
sed -e '/^sweep:/,$d' "$root/experiments/default_study.yaml" > "$spec"
cat >> "$spec" <<'YAML'
sweep:
  grid:
    model.extractor:
      - {type: cnn, kernel_sizes: [3], channels: 16}
      - {type: lstm, hidden: 16}
      - {type: transformer, layers: 1, num_heads: 2, ffn_dim: 32, dropout: 0.0}
    model.attention.type: [none, seed_self, scaled_dot, multi_head, additive, target]
YAML
time_of() {
  local start end
  start=$(date +%s.%N)
  OMP_NUM_THREADS=1 "$bin" sweep "$spec" --jobs "$1" --threads 1 --quiet --out "$out/j$1"
  end=$(date +%s.%N)
  /usr/bin/python3 -c "print(f'{$end - $start:.1f}')"
}
t1=$(time_of 1)
tj=$(time_of "$jobs")
echo "18 trials: --jobs 1: ${t1} s, --jobs ${jobs}: ${tj} s, speed-up $(/usr/bin/python3 -c "print(f'{$t1 / $tj:.2f}')")"
/usr/bin/python3 - "$out/j1" "$out/j$jobs" <<'PY'
import glob, os, sys, h5py
a, b = sys.argv[1:]
same = all(h5py.File(f)["final/test/auc"][()] == h5py.File(os.path.join(b, os.path.basename(f)))["final/test/auc"][()]
           for f in glob.glob(a + "/*.h5") if not f.endswith("index.h5"))
print("identical test/auc in both runs:", same)
PY
