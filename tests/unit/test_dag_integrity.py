"""Every DAG file imports cleanly, cheaply, and follows the house rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

DAGS = Path(__file__).resolve().parents[2] / "dags"
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
    assert dag.catchup is False
    assert (dag.schedule is None) == (dag.dag_id == "flightdq_remediation")  # only repairs are manual
    assert dag.default_args["retries"] >= 1
    if "monitor" not in dag.tags:  # every DAG about the data can be pointed at days by hand
        assert {"date", "to"} <= set(dag.params)


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
        "resolve_target",
        "check_partition_presence",
        "check_record_count_drift",
        "check_schema_validity",
        "check_duplicates",
        "check_freshness",
        "report",
        "verdict",
        "trigger_remediation",
        "incidents",
    }
    assert daily.get_task("report").trigger_rule == "all_done_min_one_success"
    assert daily.get_task("incidents").retries >= 1  # a failed alert delivery is retried
    assert daily.get_task("trigger_remediation").trigger_dag_id == "flightdq_remediation"


def test_remediation_is_a_dry_run_by_default_and_one_etl_at_a_time(dagbag):
    remediation = dagbag.dags["flightdq_remediation"]
    assert remediation.schedule is None
    assert remediation.params["dry_run"] is True
    repair = remediation.get_task("repair_day")
    assert repair.pool == "flightdq_etl"  # ETL concurrency is the pool's, sized from the policy
    assert repair.operator_class.__name__ == "RepairDayOperator"
    assert [a.name for a in repair.outlets] == ["flightdata_processed"]


def test_the_dag_processor_flags_a_missing_etl_pool():
    """Decided: no task checks for the pool (tasks cannot read pools in Airflow 3); Airflow itself
    shows a DAG warning when `python -m flightdq.airflow.pools` was not run."""
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS / "flightdq_remediation.py"), known_pools={"default_pool"})
    (warning,) = bag.dag_warnings
    assert "flightdq_remediation" in warning.message and "flightdq_etl" in warning.message
    ok = DagBag(
        dag_folder=str(DAGS / "flightdq_remediation.py"), known_pools={"default_pool", "flightdq_etl"}
    )
    assert ok.dag_warnings == set()


def test_parsing_reads_no_file_the_policy_is_unreadable(tmp_path):
    """Parse-time code reads no file: with the policy file unreadable every DAG still imports; the
    policy is read by the tasks when they run."""
    policy = tmp_path / "policy.yaml"
    policy.write_text("validation:\n  max_range_days: 5\n")
    policy.chmod(0)
    probe = (
        "import json, sys\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "print(json.dumps({'errors': bag.import_errors, 'dags': sorted(bag.dags)}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLIGHTDQ_")}
    env["FLIGHTDQ_LAKE"] = str(tmp_path / "no-lake")
    # mode 000 (root reads it anyway, so also a path that does not exist)
    for unreadable in (policy, tmp_path / "missing.yaml"):
        try:
            out = subprocess.run(
                [sys.executable, "-c", probe, str(DAGS)],
                env=env | {"FLIGHTDQ_POLICY": str(unreadable)},
                capture_output=True,
                text=True,
                check=True,
            )
        finally:
            policy.chmod(0o600)
        parsed = json.loads(out.stdout.strip().splitlines()[-1])
        assert parsed["errors"] == {}, unreadable
        assert parsed["dags"] == sorted(p.stem for p in DAG_FILES)


@pytest.mark.parametrize(
    ("dag_id", "conf", "refusal"),
    [
        ("flightdq_remediation", {"date": "2026-02-30"}, "Invalid input for param date"),
        ("flightdq_remediation", {"date": "2026-11-20", "dry_run": "no"}, "Invalid input for param dry_run"),
        ("flightdq_remediation", {"days": ["2026-11-20", "2026-11-20"]}, "Invalid input for param days"),
        (
            "flightdq_remediation",
            {"days": [f"2026-10-{d:02d}" for d in range(1, 32)] + ["2026-11-01"]},
            "days",
        ),
        ("flightdq_remediation", {"force": "yes"}, "Invalid input for param force"),
        ("flightdq_daily_checks", {"date": "20261120"}, "Invalid input for param date"),
        (
            "flightdq_daily_checks",
            {"trigger_remediation": "no"},
            "Invalid input for param trigger_remediation",
        ),
    ],
)
def test_the_trigger_form_refuses_malformed_conf_by_its_json_schema(dagbag, dag_id, conf, refusal):
    """What `airflow dags test -c`, the trigger form and the REST API check before a run exists."""
    from airflow.sdk.definitions.param import ParamsDict
    from airflow.sdk.exceptions import ParamValidationError

    params = ParamsDict(dagbag.dags[dag_id].params)
    with pytest.raises(ParamValidationError, match=refusal):  # a value is checked as it is set
        params.update(conf)
        params.validate()


def test_the_trigger_forms_take_a_well_formed_range(dagbag):
    from airflow.sdk.definitions.param import ParamsDict

    for dag_id in ("flightdq_remediation", "flightdq_daily_checks"):
        params = ParamsDict(dagbag.dags[dag_id].params)
        params.update({"date": "2026-11-20", "to": "2026-11-26"})
        assert params.validate()["to"] == "2026-11-26"
