"""`make demo`'s job (`python -m flightdq_dev.demo`) in its own Airflow home and lake: every planted
fault found, the repairs the DAG asked for carried out and re-validated, what remains broken named
with why, and nothing left queued for a scheduler started later (it would repair the days again)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest
from airflow_runs import metadata

pytestmark = pytest.mark.slow


def test_the_demo_ends_with_what_remains_broken_and_leaves_no_queued_run(tmp_path):
    env = {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "FLIGHTDQ_LAKE": str(tmp_path / "lake"),
        "FLIGHTDQ_BACKEND": "local",
        "FLIGHTDQ_ALERTS_FILE": str(tmp_path / "alerts.jsonl"),
    }
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_", "FLIGHTDQ_"))}
    done = subprocess.run(
        [sys.executable, "-m", "flightdq_dev.demo"],
        env=base | env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    out = done.stdout
    assert "demo: every planted fault found, healthy days pass" in out
    assert "9 repaired" in out
    # the findings: one line per failing day, not one per verdict (98 of them)
    found = out[out.index("3/5") : out.index("planted fault")].splitlines()
    planted = json.loads((tmp_path / "lake" / "_generator" / "manifest.json").read_text())["faults"]
    failing_days = {f["dt"] for f in planted if f.get("severity")}
    faulty_days = [line.split()[0] for line in found if re.match(r"\s+\d{4}-\d{2}-\d{2}\s+P\d", line)]
    assert sorted(faulty_days) == sorted(failing_days), found
    assert len(found) <= len(failing_days) + 6, found  # a title, a count, the passing days, a hint
    # the generator's forced rebuilds are said once, in the demo's own words, not as bare warnings
    assert "FORCED" not in done.stderr
    assert re.search(r"rebuilt \d+ partition\(s\).*FORCED warnings", out)
    broken = out[out.index("what remains broken") :]
    # the two raw data losses no ETL run can undo, each with its reason
    assert broken.count("  P0  ") == 2 and broken.count("why: no ETL run: not_repairable") == 2
    left = metadata(
        env,
        "from airflow.models import DagRun\n"
        "from airflow.models.asset import AssetDagRunQueue\n"
        "with create_session() as s:\n"
        "    queued = s.scalars(select(DagRun).where(DagRun.state == 'queued'))\n"
        "    out = {'queued': [r.dag_id for r in queued],\n"
        "           'asset_queue': len(s.scalars(select(AssetDagRunQueue)).all())}",
    )
    assert left == {"queued": [], "asset_queue": 0}
