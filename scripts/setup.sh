#!/usr/bin/env bash
# Installs what attnlab needs from Debian's packages, and only what is missing. Idempotent.
#   scripts/setup.sh            build + test dependencies (Open MPI for distributed sweeps, the Python
#                               analysis stack, Chromium, which renders the HTML report in a test,
#                               clang-format, which the `format` test runs, and clang with libFuzzer and
#                               the LLVM OpenMP runtime, for the `fuzz` test: fuzz/README.md)
#   scripts/setup.sh --bench    also PyTorch with OpenBLAS, for bench/ and for regenerating goldens
set -euo pipefail

packages=(
  cmake g++ make pkg-config clang-format clang libclang-rt-dev libomp-dev
  libdnnl-dev libtbb-dev libyaml-cpp-dev libhdf5-dev libboost-test-dev libfmt-dev libcli11-dev zlib1g-dev
  libopenmpi-dev openmpi-bin
  python3 python3-numpy python3-pytest python3-h5py python3-pandas python3-matplotlib python3-scipy python3-yaml python3-plotly python3-optuna
  chromium
)
if [[ "${1:-}" == "--bench" ]]; then
  # Debian's torch links the generic libblas.so.3; without OpenBLAS it is the slow reference BLAS.
  packages+=(python3-torch libopenblas0-openmp)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
