#!/usr/bin/env bash
# The one test command: the Rust test suite, then the Python package built from this checkout
# and its pytest suite. Needs a Rust toolchain, python3 (>= 3.9) with venv/pip, and the package
# registries (crates.io, PyPI); nothing installed by hand.
#
#   scripts/test.sh            # everything
#   scripts/test.sh --python   # only the Python part (reuses target/release/attnflow if present)
#   scripts/test.sh --no-slurm # everything but the SLURM check
#   scripts/test.sh --no-browser  # everything but the final browser check
# (the flags combine: scripts/test.sh --no-slurm --no-browser --python)
# scripts/slurm_check.sh needs root and apt-get (it installs SLURM and munge if missing and runs
# a one-node cluster for a minute); the last step, scripts/browser_check.sh, installs Debian's
# chromium if missing (root and apt-get; skipped with a message without them) and loads the
# interactive viewer's pages in it headless.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

step() { printf '\n==> %s\n' "$*"; }

slurm=1
browser=1
while [[ "${1:-}" == "--no-slurm" || "${1:-}" == "--no-browser" ]]; do
    if [[ "$1" == "--no-slurm" ]]; then slurm=""; else browser=""; fi
    shift
done
if [[ "${1:-}" != "--python" ]]; then
    step "Rust: cargo test --release"
    cargo test --release
fi

# The Python tests compare runs with the command line of this checkout.
if [[ ! -x target/release/attnflow ]]; then
    step "Building the command line (cargo build --release --bin attnflow)"
    cargo build --release --bin attnflow
fi
export ATTNFLOW_CLI="$root/target/release/attnflow"

venv=target/pyenv
PY=${PYTHON:-python3}
if [[ ! -x "$venv/bin/python" ]]; then
    step "Creating a virtual environment in $venv ($($PY --version 2>&1))"
    "$PY" -m venv "$venv"
else
    step "Reusing the virtual environment in $venv"
fi
step "Installing maturin, numpy, scipy, pytest from the package registry"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check maturin numpy scipy pytest

step "Building and installing the attnflow Python package (pip install ./python)"
start=$(date +%s)
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python
echo "    built and installed in $(( $(date +%s) - start )) s"

step "Python: pytest python/tests"
# Run from the repository root, not from python/: there `import attnflow` would find the source
# directory (without the compiled extension) before the installed package.
"$root/$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests

# ---------------------------------------------------------------------------------------------
# A real SLURM job array on a one-node cluster started here (README, "Sweeps and SLURM job arrays").
if [[ -n "$slurm" ]]; then
    step "SLURM: scripts/slurm_check.sh (one-node cluster, job array vs unsharded sweep)"
    start=$(date +%s)
    bash scripts/slurm_check.sh
    echo "    SLURM check passed in $(( $(date +%s) - start )) s"
fi

# ---------------------------------------------------------------------------------------------
# The interactive viewer in a real headless browser (README, "Interactive viewer").
if [[ -n "$browser" ]]; then
    step "Browser: scripts/browser_check.sh (view.html in headless chromium)"
    start=$(date +%s)
    bash scripts/browser_check.sh
    echo "    browser check finished in $(( $(date +%s) - start )) s"
fi
