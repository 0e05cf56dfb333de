"""What the command line and scripts print for an on-call engineer: no noise before the answer,
tables that say which dataset a check was about."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
IMPORT_DAG_COMMANDS = "import airflow.utils.dot_renderer"  # what `airflow dags ...` imports


def test_scripts_airflow_prints_no_graphviz_warning(tmp_path):
    """`./scripts/airflow` runs the venv's airflow (here: a stand-in that imports what every `dags`
    command imports, with the real interpreter) without Airflow's graphviz warning."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    stand_in = venv / "bin" / "airflow"
    stand_in.write_text(f"#!/bin/sh\nexec {sys.executable} -c '{IMPORT_DAG_COMMANDS}'\n")
    stand_in.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONWARNINGS"} | {
        "VENV": str(venv),
        "AIRFLOW_HOME": str(tmp_path / "home"),
    }
    bare = subprocess.run(
        [sys.executable, "-c", IMPORT_DAG_COMMANDS], env=env, capture_output=True, text=True, check=True
    )
    assert (
        "graphviz" in bare.stderr + bare.stdout
    )  # without the script, Airflow warns (graphviz is not installed)
    done = subprocess.run(
        [str(REPO / "scripts" / "airflow"), "version"], env=env, capture_output=True, text=True, check=True
    )
    assert "graphviz" not in done.stderr + done.stdout


def test_the_review_checks_table_names_the_dataset(tmp_path):
    from datetime import UTC, datetime

    from flightdq.core.results import CheckResult
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.reviews import review_markdown
    from flightdq.incidents.store import IncidentStore
    from flightdq.storage.blobstore import LocalBlobStore

    store = IncidentStore(LocalBlobStore(tmp_path))
    now = datetime(2026, 11, 23, 3, tzinfo=UTC)
    found = CheckResult("flightdata_raw", "2026-11-20", "partition_presence", "fail", "P0", 3, 0, "lost", {})
    reconcile(store, [found], run_id="run-a", now=now)
    (incident,) = store.open(["2026-11-20"])
    record = found.to_dict() | {"run_id": "run-a", "checked_at": now.isoformat()}
    text = review_markdown(incident, [record], [], now=now)
    table = text[text.index("## Checks") :].splitlines()
    head = next(line for line in table if line.startswith("| checked at"))
    row = next(line for line in table if "`run-a`" in line)
    columns = [c.strip() for c in head.strip("|").split("|")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[columns.index("dataset")] == "flightdata_raw"
