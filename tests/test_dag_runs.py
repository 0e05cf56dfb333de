"""Whole DAG runs: the real Airflow CLI (`airflow dags test`) on a generated lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from flightdq.backends.local import LocalBackend
from flightdq.config import Settings
from flightdq.dates import iter_days, utcnow
from flightdq.demo import compare_with_manifest
from flightdq.generator import default_demo_faults, generate_lake
from flightdq.incidents import IncidentStore
from flightdq.results import CheckResult

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
END = utcnow().date() - timedelta(days=1)


def airflow(*args: str, lake: Path) -> subprocess.CompletedProcess:
    env = os.environ | {"FLIGHTDQ_LAKE": str(lake), "FLIGHTDQ_BACKEND": "local"}
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory) -> None:
    done = airflow("db", "migrate", lake=tmp_path_factory.mktemp("unused"))
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.fixture(scope="session")
def faulty_lake(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("dagrun") / "lake"
    manifest = generate_lake(root, end=END, days=40, seed=7, size="small", faults=default_demo_faults(END))
    return root, manifest


def queued_runs(dag_id: str, lake: Path) -> list[dict]:
    probe = (
        "import json\n"
        "from airflow.models import DagRun\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        f"    runs = s.query(DagRun).filter(DagRun.dag_id == {dag_id!r}).all()\n"
        "    print(json.dumps([{'run_id': r.run_id, 'state': str(r.state), 'conf': r.conf} for r in runs]))\n"
    )
    env = os.environ | {"FLIGHTDQ_LAKE": str(lake)}
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_daily_dag_finds_every_planted_fault_and_passes_healthy_days(airflow_db, faulty_lake):
    root, manifest = faulty_lake
    first = END - timedelta(days=13)  # 12 fault days and 2 healthy ones
    run = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": str(first), "to": str(END), "trigger_remediation": False}),
        lake=root,
    )
    assert run.returncode != 0  # the lake has faults: the run is red
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    days = list(iter_days(first, END))
    results = [CheckResult.from_dict(r) for r in backend.history.latest(days).values()]
    assert len(results) == 14 * 7  # every check on every day, both datasets where they apply
    lines, ok = compare_with_manifest(manifest, results, {str(d) for d in days})
    assert ok, "\n".join(lines)


def test_detect_remediate_recheck_loop(airflow_db, tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=3, seed=5, size="small")
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    before = sorted(backend.read_partition(END).column("flight_id").to_pylist())
    folder = backend.partition_folder(END)
    for path in folder.glob("*.parquet"):
        path.unlink()
    folder.rmdir()
    backend.catalog.unregister("flightdata_processed", str(END))

    detect = airflow("dags", "test", "flightdq_daily_checks", "-c", json.dumps({"date": str(END)}), lake=root)
    assert detect.returncode != 0
    (queued,) = queued_runs("flightdq_remediation", root)
    assert queued["conf"] == {"days": [str(END)], "dry_run": False}

    repair = airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(queued["conf"]), lake=root)
    assert repair.returncode == 0, repair.stdout[-3000:]
    assert sorted(backend.read_partition(END).column("flight_id").to_pylist()) == before
    outcomes = backend.history.read_remediations([END])
    assert [o["outcome"] for o in outcomes] == ["repaired"]

    recheck = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": str(END), "trigger_remediation": False}),
        lake=root,
    )
    latest = backend.history.latest([END])
    failing = [k for k, r in latest.items() if r["status"] in ("fail", "error")]
    assert failing == [], failing
    assert recheck.returncode == 0, recheck.stdout[-3000:]

    # the incidents the detection opened were resolved by the remediation's re-check, each alerted once
    store = IncidentStore(backend.blobs)
    assert store.open() == []
    presence = next(i for i in store.list([END]) if i.check == "partition_presence")
    events = [e.event for e in presence.timeline]
    assert events[0] == "detected" and "remediation_started" in events and "remediation_finished" in events
    assert events.index("resolved") > events.index("remediation_finished")
    alerts = [json.loads(line) for line in (root / "flightdq-alerts.jsonl").read_text().splitlines()]
    mine = [(a["kind"], a["check"]) for a in alerts if a["check"] == "partition_presence"]
    assert mine == [("opened", "partition_presence"), ("resolved", "partition_presence")]


def test_remediation_rejects_bad_conf_before_anything_runs(airflow_db, tmp_path):
    root = tmp_path / "lake"
    root.mkdir()
    cases = [  # (conf, what the refusal names)
        (
            {"date": "2026-02-30"},
            "Invalid input for param date: '2026-02-30' is not a 'date'",
        ),  # the form's schema
        ({"dry_run": "no", "date": str(END)}, "Invalid input for param dry_run"),
        ({"date": str(END), "to": str(END - timedelta(days=3))}, "bad input: range is reversed"),
        ({"date": str(END + timedelta(days=5))}, "bad input: date"),
        ({"date": "2026-01-01", "to": "2026-06-01"}, "longer than the allowed 31 days"),
        ({}, "bad input: param date is required"),
    ]
    for conf, refusal in cases:
        run = airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(conf), lake=root)
        assert run.returncode != 0
        assert refusal in run.stdout + run.stderr, conf
    assert not any(root.iterdir())  # nothing was written


def test_remediation_dry_run_by_hand_plans_and_writes_nothing(airflow_db, tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=3, size="small")
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()
    files_before = sorted(p for p in root.rglob("*") if p.is_file() and "_catalog" not in p.parts)
    run = airflow("dags", "test", "flightdq_remediation", "-c", json.dumps({"date": str(END)}), lake=root)
    assert run.returncode == 0, run.stdout[-3000:]
    assert "dry run" in run.stdout + run.stderr
    assert sorted(p for p in root.rglob("*") if p.is_file() and "_catalog" not in p.parts) == files_before
    assert backend.etl_runs(END) == []
