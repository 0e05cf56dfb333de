"""Every DAG file imports cleanly, cheaply, and follows the house rules."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[1] / "dags"
DAG_FILES = sorted(p for p in DAGS.glob("*.py") if not p.name.startswith("_"))
HEAVY = ("great_expectations", "duckdb", "pyarrow", "pandas", "boto3", "botocore", "sqlglot")


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {d for d in dagbag.dags} == {p.stem for p in DAG_FILES}


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_house_rules(dagbag, path):
    dag = dagbag.dags[path.stem]  # file name = dag_id
    assert dag.doc_md and "###" in dag.doc_md
    assert dag.tags and "flightdq" in dag.tags
    assert dag.start_date == datetime(2026, 1, 1, tzinfo=UTC)
    assert dag.schedule is not None and dag.catchup is False
    assert dag.default_args["retries"] >= 1
    assert dag.max_active_runs == 1
    assert {"date", "to", "as_of"} <= set(dag.params)


@pytest.mark.parametrize("path", DAG_FILES, ids=lambda p: p.stem)
def test_parsing_loads_no_heavy_module(path):
    probe = (
        "import json, runpy, sys; runpy.run_path(sys.argv[1]); "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    out = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout.strip().splitlines()[-1]))
    assert not loaded & set(HEAVY), f"{path.name} imports {sorted(loaded & set(HEAVY))} at parse time"


def test_each_check_has_its_own_task(dagbag):
    daily = dagbag.dags["flightdq_daily_checks"]
    assert {t.task_id for t in daily.tasks} == {
        "resolve_target", "check_partition_presence", "check_record_count_drift", "check_schema_validity",
        "check_duplicates", "check_freshness", "report",
    }
    assert daily.get_task("report").trigger_rule == "all_done"
