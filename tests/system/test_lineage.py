"""Data quality in lineage: a whole run of the daily checks DAG (`airflow dags test`) with Airflow's
OpenLineage provider writing its events to a file (the provider's file transport: nothing leaves the
machine), read back and searched for the checks' data-quality assertions."""

# ruff: noqa: F401, F811 -- the session fixtures airflow_db and faulty_lake are imported by name

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from airflow_runs import END, airflow, airflow_db, faulty_lake, local

pytestmark = pytest.mark.slow

FACET = "dataQualityAssertions"


def read_events(folder: Path) -> list[dict]:
    """Every event the file transport wrote (one JSON document per line, in one or more files)."""
    events = []
    for path in sorted(folder.iterdir()):
        for line in path.read_text().splitlines():
            if line.strip():
                events.append(json.loads(line))
    return events


def test_a_check_run_reports_its_results_as_openlineage_assertions(airflow_db, faulty_lake, tmp_path):
    root, manifest = faulty_lake
    faults = {f.fault: f for f in manifest.faults}
    duplicated = faults["duplicate_flight_ids"].dt
    lost = faults["missing_raw_hours"].dt
    broken_rows = faults["invalid_rows_major"].dt
    first, last = min(broken_rows, duplicated, lost), max(broken_rows, duplicated, lost)
    days = (date_of(last) - date_of(first)).days + 1
    events_dir = tmp_path / "openlineage"
    events_dir.mkdir()
    transport = {"type": "file", "log_file_path": str(events_dir / "events.jsonl"), "append": True}
    run = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": first, "to": last, "trigger_remediation": False}),
        env=local(root)
        | {
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": "flightdq",
            # By default the listener emits each task's event from a forked child, killed after
            # execution_timeout (10 s): on a loaded machine some check tasks' events were never
            # written. In a thread, the task waits for its event (up to the timeout) before it ends.
            "AIRFLOW__OPENLINEAGE__EXECUTE_IN_THREAD": "True",
            "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "120",
        },
    )
    assert run.returncode != 0  # planted faults: red
    events = read_events(events_dir)
    check_events = [
        e for e in events if e.get("job", {}).get("name", "").startswith("flightdq_daily_checks.check_")
    ]
    assert check_events, [e.get("job", {}).get("name") for e in events]
    ended = {
        e["job"]["name"].rsplit(".", 1)[1]: e for e in check_events if e["eventType"] in ("COMPLETE", "FAIL")
    }
    assert set(ended) == {
        "check_partition_presence",
        "check_record_count_drift",
        "check_schema_validity",
        "check_duplicates",
        "check_freshness",
    }

    def assertions(task: str, dataset_tail: str) -> list[dict]:
        found = []
        for dataset in ended[task].get("inputs", []):
            if dataset["name"].endswith(dataset_tail):
                assert dataset["namespace"] == "file"
                found += dataset["inputFacets"][FACET]["assertions"]
        return found

    # duplicates: a failing assertion on the duplicated day, on flight_id, in a FAIL event
    assert ended["check_duplicates"]["eventType"] == "FAIL"
    dup = assertions("check_duplicates", "flightdata-processed")
    # a day without rows to look at is an error of the check (about the monitor): no assertion for it
    no_rows = {
        faults[f].dt
        for f in ("missing_partition", "unregistered_partition", "empty_partition", "zero_rows_partition")
    }
    every_day = {str(date_of(first) + timedelta(days=i)) for i in range(days)}
    assert {a["params"]["dt"] for a in dup} == every_day - no_rows
    on_day = [a for a in dup if a["params"]["dt"] == duplicated]
    assert [(a["assertion"], a["success"], a["column"]) for a in on_day] == [
        ("duplicates", False, "flight_id")
    ]
    assert all(a["success"] for a in dup if a["params"]["dt"] != duplicated)

    # raw presence: the day with lost raw hours fails on flightdata_raw, at P0
    raw = assertions("check_partition_presence", "flightdata-raw")
    (lost_raw,) = [a for a in raw if a["params"]["dt"] == lost]
    assert (lost_raw["assertion"], lost_raw["success"], lost_raw["severity"]) == (
        "partition_presence",
        False,
        "P0",
    )
    processed = assertions("check_partition_presence", "flightdata-processed")
    assert {a["params"]["dt"] for a in processed} == {
        str(date_of(first) + timedelta(days=i)) for i in range(days)
    }

    # schema validity: the day with broken rows fails, and each broken rule names its column
    schema = [
        a
        for a in assertions("check_schema_validity", "flightdata-processed")
        if a["params"]["dt"] == broken_rows
    ]
    assert schema[0]["assertion"] == "schema_validity" and schema[0]["success"] is False
    rules = schema[1:]
    assert rules and all(a["column"] and a["success"] is False for a in rules), rules


def date_of(text: str):
    from datetime import date

    return date.fromisoformat(text)
