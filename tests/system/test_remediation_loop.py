"""The runbook's whole loop as whole DAG runs: detect a missing partition, remediate it, check it
again, on the embedded lake and on the emulated AWS (where the repair task defers to the triggerer and
the Glue job is the Spark one). In a file of their own: they are the longest DAG runs, and
pytest-xdist spreads files over cores (two repairs of one day sharing a Glue run:
test_glue_repair_deferral.py)."""

# ruff: noqa: F401, F811 -- the session fixtures airflow_db and faulty_lake are imported by name

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_runs import (
    END,
    Loop,
    airflow,
    airflow_db,
    asset_events_after,
    faulty_lake,
    last_asset_event_id,
    migrate_with_pool,
    queued_runs,
)

from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq.incidents.store import IncidentStore
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.slow


@pytest.fixture(params=["local", pytest.param("aws", marks=pytest.mark.aws)])
def loop(request, airflow_db, tmp_path, tmp_path_factory, monkeypatch) -> Iterator[Loop]:
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=3, seed=5, size="small", poll_seconds=1200)
    if request.param == "local":
        backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))

        def remove() -> None:
            folder = backend.partition_folder(END)
            for path in folder.glob("*.parquet"):
                path.unlink()
            folder.rmdir()
            backend.catalog.unregister("flightdata_processed", str(END))

        yield Loop(backend, {"FLIGHTDQ_LAKE": str(root), "FLIGHTDQ_BACKEND": "local"}, remove)
        return
    from flightdq.airflow.aws import ProviderAwsConnection
    from flightdq.backends.aws.backend import AwsBackend
    from flightdq_dev.emulator import AwsEmulator, seed_from_lake

    # Its own Airflow home: the remediation run the detection queues must be the only one there.
    home = tmp_path_factory.mktemp("aws-airflow-home")
    with AwsEmulator() as emulator:
        seed_from_lake(root, emulator.endpoint)  # flightdata-etl as deployed: the Spark job
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        env = emulator.env() | {
            "FLIGHTDQ_LAKE": str(root),
            "AIRFLOW_HOME": str(home),
            "FLIGHTDQ_GLUE_POLL_SECONDS": "1",  # the trigger's look at the Glue run (default 30 s)
        }
        migrate_with_pool(env)
        settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(root)})
        backend = AwsBackend(settings, ProviderAwsConnection(settings.aws_conn_id))
        yield Loop(backend, env, lambda: emulator.remove_partition(str(END)), emulator)


def test_detect_remediate_recheck_loop(loop: Loop):
    """Delete a partition; the daily DAG finds it and queues remediation, which rebuilds it with the
    same flight_ids, and the day passes again, with its incident resolved and alerted once each way."""
    backend = loop.backend
    before = sorted(backend.read_partition(END).column("flight_id").to_pylist())
    loop.remove_partition()
    assert str(END) not in backend.registered_partitions(END, END)

    detect = airflow(
        "dags", "test", "flightdq_daily_checks", "-c", json.dumps({"date": str(END)}), env=loop.env
    )
    # green: the only finding, the missing partition, is handed to the remediation
    assert detect.returncode == 0, detect.stdout[-3000:]
    assert "partition is missing" in detect.stdout + detect.stderr
    # the run this detection queued (other tests of this worker may have queued runs in its DB)
    queued = max(
        (r for r in queued_runs("flightdq_remediation", loop.env) if r["state"] == "queued"),
        key=lambda r: r["run_id"],
    )
    assert queued["conf"] == {
        "days": [str(END)],
        "dry_run": False,
        "checked_by": queued["conf"]["checked_by"],
    }
    assert queued["conf"]["checked_by"].startswith("manual__")  # the run that found it

    events_before = last_asset_event_id(loop.env)
    repair = airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(queued["conf"]), env=loop.env)
    assert repair.returncode == 0, repair.stdout[-3000:]
    # the rebuilt partition is an event of the asset, the day in its extra (for the checks on it)
    assert [(e["asset"], e["extra"], e["task_id"]) for e in asset_events_after(loop.env, events_before)] == [
        ("flightdata_processed", {"dt": str(END)}, "repair_day")
    ]
    assert sorted(backend.read_partition(END).column("flight_id").to_pylist()) == before
    assert str(END) in backend.registered_partitions(END, END)
    (run,) = backend.etl_runs(END)  # exactly one ETL run for the day
    outcomes = backend.history.read_remediations([END])
    assert [o["outcome"] for o in outcomes] == ["repaired"]
    assert outcomes[0]["etl_run_id"] == run["run_id"]

    # the re-validation: under a scheduler, the daily checks' run on that asset event
    # (tests/system/test_scheduler_loop.py); `dags test` makes no asset-triggered run, so by hand here
    recheck = airflow(
        "dags",
        "test",
        "flightdq_daily_checks",
        "-c",
        json.dumps({"date": str(END), "trigger_remediation": False}),
        env=loop.env,
    )
    latest = backend.history.latest([END])
    failing = [k for k, r in latest.items() if r["status"] in ("fail", "error")]
    assert failing == [], failing
    assert recheck.returncode == 0, recheck.stdout[-3000:]
    assert {r["backend"] for r in latest.values()} == {backend.name}

    # one incident for the fault, its cause first, resolved by the re-validation; one alert
    # when it opened and one when it resolved, whatever else failed because of it
    store = IncidentStore(backend.blobs)
    assert store.open() == []
    (incident,) = store.list([END])
    assert incident.check == "partition_presence" and incident.dataset == "flightdata_processed"
    events = [e.event for e in incident.timeline]
    assert events[0] == "detected" and "remediation_started" in events and "remediation_finished" in events
    assert events.index("resolved") > events.index("remediation_finished")
    alerts_file = Path(loop.env["FLIGHTDQ_LAKE"]) / "flightdq-alerts.jsonl"
    alerts = [json.loads(line) for line in alerts_file.read_text().splitlines()]
    assert [(a["kind"], a["check"]) for a in alerts if a["dt"] == str(END)] == [
        ("opened", "partition_presence"),
        ("resolved", "partition_presence"),
    ]

    if loop.emulator is not None:  # on AWS: the SQL really ran on the emulated Athena
        query_ids = {
            q["query_execution_id"] for r in latest.values() for q in r["details"].get("queries", [])
        }
        assert query_ids and query_ids <= set(loop.emulator.queries)
        assert all(loop.emulator.queries[q].state == "SUCCEEDED" for q in query_ids)
        assert backend.history.blobs.list("flightdq-history/checks")[0].startswith(
            "flightdq-history/checks/dt="
        )
