"""Shared fixtures: the command-line binary of the same checkout (for bit-for-bit comparisons)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def cli() -> str:
    """Path of the `attnflow` command line: $ATTNFLOW_CLI, else target/release/attnflow of this
    checkout (built with `cargo build --release` if it is missing and cargo is available)."""
    env = os.environ.get("ATTNFLOW_CLI")
    if env:
        return env
    exe = REPO / "target" / "release" / "attnflow"
    if not exe.is_file():
        if shutil.which("cargo") is None:
            pytest.skip("no attnflow command line (set ATTNFLOW_CLI or install cargo)")
        subprocess.run(["cargo", "build", "--release", "--bin", "attnflow"], cwd=REPO, check=True)
    return str(exe)
