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


def test_the_tests_keep_hypothesis_examples_out_of_the_repository():
    """`make test` once left a `.hypothesis/` folder in the repository root that `make clean` kept."""
    from hypothesis.configuration import storage_directory

    examples = Path(storage_directory("examples", intent_to_write=False).path).resolve()
    assert examples.is_relative_to(REPO / ".pytest_cache")
