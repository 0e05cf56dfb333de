"""Every `airflow` command line of the README runs, as written, from a fresh shell.

A fresh shell has no `airflow` on its PATH, no AIRFLOW_HOME and another HOME: the README's lines go
through ./scripts/airflow, which must find the project's venv, DAGs and metadata DB by itself. The
metadata DB and the lake are pointed at a temporary folder (the wrapper keeps a given AIRFLOW_HOME
and FLIGHTDQ_LAKE), so the repository's own .airflow and lake are not touched. The commands are
cheap: a trigger only queues a run, a backfill only creates its runs; no scheduler is started.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
WRAPPER = "./scripts/airflow"
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
INLINE = re.compile(r"`(\./scripts/airflow [^`]+)`")


def readme_airflow_lines() -> list[str]:
    text = README.read_text()
    lines = []
    for block in FENCE.findall(text):
        for line in block.splitlines():
            command = line.split(" #")[0].strip()  # the README's trailing comments
            if command.startswith(("airflow ", WRAPPER)):
                lines.append(command)
    lines += [m.strip() for m in INLINE.findall(FENCE.sub("", text))]
    return list(dict.fromkeys(lines))


@pytest.fixture(scope="module")
def tmp_home(tmp_path_factory) -> Path:
    """One temporary AIRFLOW_HOME for the module: only the first command prepares the DB (~20 s)."""
    return tmp_path_factory.mktemp("readme-commands")


def fresh_env(tmp_path: Path) -> dict[str, str]:
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    return {
        "PATH": "/usr/local/bin:/usr/bin:/bin",  # no .venv/bin: the wrapper must not need it
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "FLIGHTDQ_LAKE": str(tmp_path / "lake"),
    }


def test_the_readme_runs_airflow_through_the_wrapper_only():
    lines = readme_airflow_lines()
    assert any("dags trigger" in line for line in lines), lines
    bare = [line for line in lines if not line.startswith(WRAPPER + " ")]
    assert not bare, f"README lines that need `airflow` on the PATH (use {WRAPPER}): {bare}"


def test_every_readme_airflow_line_exits_0_from_a_fresh_shell(tmp_home):
    tmp_path = tmp_home
    env = fresh_env(tmp_path)
    for line in readme_airflow_lines():
        done = subprocess.run(
            shlex.split(line), cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False
        )
        assert done.returncode == 0, f"{line}\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}"
    assert (tmp_path / "airflow-home" / "airflow.db").is_file()  # the given AIRFLOW_HOME, not ~/airflow
    assert not (tmp_path / "home" / "airflow").exists()


def test_the_wrapper_works_from_any_directory(tmp_home):
    tmp_path = tmp_home
    env = fresh_env(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(exist_ok=True)
    done = subprocess.run(
        [str(REPO / "scripts" / "airflow"), "dags", "list", "-o", "plain"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "flightdq_remediation" in done.stdout
    assert "example_" not in done.stdout  # no example DAGs: the project's settings, not the defaults
