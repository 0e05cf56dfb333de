"""ruff (with its Airflow rules) is part of the suite, so CI fails on a lint error like on a bug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUFF = [sys.executable, "-m", "ruff"]


def test_ruff_check_is_clean():
    done = subprocess.run([*RUFF, "check", "--no-cache", "."], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]


def test_ruff_format_is_clean():
    done = subprocess.run(
        [*RUFF, "format", "--check", "--no-cache", "include", "dags", "plugins", "tests"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-4000:]
