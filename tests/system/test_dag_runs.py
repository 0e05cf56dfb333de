"""Whole DAG runs: the real Airflow CLI (`airflow dags test`) on a generated lake."""

# ruff: noqa: F401, F811 -- the session fixtures airflow_db and faulty_lake are imported by name

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from airflow_runs import END, airflow, airflow_db, asset_events_after, faulty_lake, last_asset_event_id, local

from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq.core.dates import iter_days
from flightdq.core.results import CheckResult
from flightdq.incidents.store import IncidentStore
from flightdq_dev.demo import compare_with_manifest
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.slow


def test_daily_dag_finds_every_planted_fault_and_passes_healthy_days(airflow_db, faulty_lake):
    root, manifest = faulty_lake
    first = END - timedelta(days=13)  # 12 fault days and 2 healthy ones
    run = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": str(first), "to": str(END), "trigger_remediation": False}),
        env=local(root),
    )
    assert run.returncode != 0  # the lake has faults: the run is red
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    days = list(iter_days(first, END))
    results = [CheckResult.from_dict(r) for r in backend.history.latest(days).values()]
    assert len(results) == 14 * 7  # every check on every day, both datasets where they apply
    lines, ok = compare_with_manifest(manifest, results, {str(d) for d in days})
    assert ok, "\n".join(lines)


def test_remediation_rejects_bad_conf_before_anything_runs(airflow_db, tmp_path):
    """One refusal of each kind through the real CLI: the form's JSON schema, the first task, and a
    missing day. Every other malformed conf is refused by the same two gates, tested without a run:
    the form's schema in tests/unit/test_dag_integrity.py, the first task in test_orchestration.py."""
    root = tmp_path / "lake"
    root.mkdir()
    cases = [  # (conf, what the refusal names)
        ({"date": "2026-02-30"}, "Invalid input for param date: '2026-02-30' is not a 'date'"),
        ({"date": str(END), "to": str(END - timedelta(days=3))}, "bad input: range is reversed"),
        ({}, "bad input: param date is required"),
    ]
    for conf, refusal in cases:
        run = airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(conf), env=local(root))
        assert run.returncode != 0
        assert refusal in run.stdout + run.stderr, conf
    assert not any(root.iterdir())  # nothing was written


def test_remediation_dry_run_by_hand_plans_and_changes_nothing(airflow_db, tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=3, size="small")
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()

    def data_files() -> list[Path]:
        return sorted(
            p for p in root.rglob("*") if p.is_file() and not {"_catalog", "flightdq-history"} & set(p.parts)
        )

    files_before = data_files()
    events_before = last_asset_event_id(local(root))
    run = airflow(
        "dags", "test", "flightdq_remediation", "-c", json.dumps({"date": str(END)}), env=local(root)
    )
    assert run.returncode == 0, run.stdout[-3000:]  # a dry run ends green ...
    assert asset_events_after(local(root), events_before) == []  # ... emits no asset event ...
    assert "dry run" in run.stdout + run.stderr
    assert data_files() == files_before
    assert backend.etl_runs(END) == []
    (plan,) = backend.history.read_remediations([END])  # ... and its plan is readable
    assert (plan["dry_run"], plan["action"], plan["outcome"]) == (True, "rebuild", "planned")


def test_a_remediation_whose_days_are_all_unrepairable_ends_red_with_a_summary_and_a_record(
    airflow_db, tmp_path
):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=3, size="small")
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    raw_day = root / "flightdata-raw" / f"year={END:%Y}/month={END:%m}/day={END:%d}"
    for path in raw_day.glob("hour=1[2-9]/*"):  # raw lost its afternoon; the partition holds what remains
        path.unlink()
    run = airflow(
        "dags",
        "test",
        "flightdq_remediation",
        "-c",
        json.dumps({"date": str(END), "dry_run": False}),
        env=local(root),
    )
    assert run.returncode != 0  # red: the day is data loss
    assert "not every day is fine" in run.stdout + run.stderr
    (record,) = backend.history.read_remediations([END])
    assert record["outcome"] == "not_repairable" and "data loss" in record["message"]
    assert backend.etl_runs(END) == []
    # incidents open and resolve in the checks runs alone: the remediation reconciled nothing
    assert IncidentStore(backend.blobs).open([END]) == []
    checks = airflow(
        "dags", "test", "flightdq_daily_checks", "-c", json.dumps({"date": str(END)}), env=local(root)
    )
    assert checks.returncode != 0  # a data loss no repair was asked for: a person must act
    (incident,) = IncidentStore(backend.blobs).open([END])  # the P0 stays open
    assert incident.severity == "P0" and incident.check == "partition_presence"
    assert any("no ETL run" in e.detail for e in incident.timeline)


def test_a_check_task_that_cannot_run_pages_monitoring_blind_once(airflow_db, tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=3, size="small")
    catalog = root / "_catalog" / "flightdata.sqlite"
    for leftover in catalog.parent.glob("flightdata.sqlite*"):
        leftover.unlink()
    catalog.mkdir()  # the engine cannot open its catalog: every check that needs it fails to run
    run = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": str(END), "trigger_remediation": False}),
        env=local(root),
    )
    assert run.returncode != 0
    backend_blobs = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)})).blobs
    store = IncidentStore(backend_blobs)
    incidents = store.open([END])
    assert [i.kind for i in incidents] == ["monitor"], [i.title for i in incidents]
    assert incidents[0].title.startswith("monitoring blind")
    alerts = [json.loads(line) for line in (root / "flightdq-alerts.jsonl").read_text().splitlines()]
    assert [(a["kind"], a["title"].split(":")[0]) for a in alerts] == [("opened", "monitoring blind")]
