"""The layer rules, the linter and the type checker, run as CI runs them (configuration in pyproject.toml)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_import_contracts_hold():
    """The domain imports nothing of ours; the core never imports textual, the TUI or the server; the TUI and
    the server never import each other; the judges do not borrow from the patient module."""
    result = run(str(BIN / "lint-imports"), "--no-cache")
    assert result.returncode == 0, result.stdout + result.stderr
    kept = re.search(r"Contracts: (\d+) kept, 0 broken", result.stdout)
    assert kept is not None and int(kept.group(1)) >= 4, result.stdout


def test_ruff_passes():
    result = run(sys.executable, "-m", "ruff", "check", "--no-cache", "preclinical", "tests", "bench")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_passes():
    result = run(sys.executable, "-m", "mypy", "--cache-dir", "/dev/null")
    assert result.returncode == 0, result.stdout + result.stderr
