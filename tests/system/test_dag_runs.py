"""Whole DAG runs: the real Airflow CLI (`airflow dags test`) on a generated lake."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pytest

from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq.core.dates import iter_days
from flightdq.core.results import CheckResult
from flightdq.incidents.store import IncidentStore
from flightdq_dev.demo import compare_with_manifest
from flightdq_dev.generator import default_demo_faults, generate_lake

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
END = date(2026, 11, 25)  # a fixed past day: no test depends on today's date


def airflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    """The real `airflow` CLI, with `env` over this process's environment (no AWS settings leak in)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
    return subprocess.run(
        [AIRFLOW, *args],
        env=base | {"FLIGHTDQ_BACKEND": "local", "FLIGHTDQ_TASK_RETRIES": "0"} | env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def local(lake: Path) -> dict[str, str]:
    return {"FLIGHTDQ_LAKE": str(lake)}


def make_pool(env: dict[str, str], *args: str) -> str:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
    command = [sys.executable, "-m", "flightdq.airflow.pools", *args]
    pools = subprocess.run(command, env=base | env, capture_output=True, text=True, check=False)
    assert pools.returncode == 0, pools.stderr[-2000:]
    return pools.stdout


def migrate_with_pool(env: dict[str, str]) -> None:
    """An initialised metadata DB with the ETL pool, as `make airflow` and the compose init leave it."""
    done = airflow("db", "migrate", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "pool flightdq_etl: 1 slot(s)" in make_pool(env)  # the policy's default max_parallel_etl


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory) -> None:
    migrate_with_pool(local(tmp_path_factory.mktemp("unused")))


@pytest.fixture(scope="session")
def faulty_lake(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("dagrun") / "lake"
    manifest = generate_lake(root, end=END, days=40, seed=7, size="small", faults=default_demo_faults(END))
    return root, manifest


def queued_runs(dag_id: str, env: dict[str, str]) -> list[dict]:
    probe = (
        "import json\n"
        "from airflow.models import DagRun\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        f"    runs = s.query(DagRun).filter(DagRun.dag_id == {dag_id!r}).all()\n"
        "    print(json.dumps([{'run_id': r.run_id, 'state': str(r.state), 'conf': r.conf} for r in runs]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], env=os.environ | env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def metadata(env: dict[str, str], code: str) -> object:
    """Run `code` (which sets `out`) against the metadata DB of `env`'s Airflow home; returns `out`."""
    probe = (
        "import json\n"
        "from sqlalchemy import select\n"
        "from airflow.utils.session import create_session\n"
        f"{code}\n"
        "print(json.dumps(out, default=str))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], env=os.environ | env, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def asset_events_after(env: dict[str, str], after_id: int) -> list[dict]:
    """The events of the asset flightdata_processed with an id above `after_id`."""
    return metadata(
        env,
        "from airflow.models.asset import AssetEvent, AssetModel\n"
        "with create_session() as s:\n"
        "    rows = s.execute(select(AssetEvent, AssetModel.name)"
        ".join(AssetModel, AssetEvent.asset_id == AssetModel.id)"
        f".where(AssetEvent.id > {after_id}).order_by(AssetEvent.id)).all()\n"
        "    out = [{'id': e.id, 'asset': n, 'extra': e.extra, 'dag_id': e.source_dag_id,"
        " 'task_id': e.source_task_id} for e, n in rows]",
    )


def last_asset_event_id(env: dict[str, str]) -> int:
    return metadata(
        env,
        "from sqlalchemy import func\n"
        "from airflow.models.asset import AssetEvent\n"
        "with create_session() as s:\n"
        "    out = s.scalar(select(func.max(AssetEvent.id))) or 0",
    )


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


@dataclass
class Loop:
    """A generated lake on one backend, and how to reach it from an Airflow subprocess."""

    backend: object  # LocalBackend or AwsBackend
    env: dict[str, str]
    remove_partition: Callable[[], None]
    emulator: object | None = None


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
    from flightdq.backends.aws.backend import AwsBackend
    from flightdq_dev.emulator import AwsEmulator, seed_from_lake

    # Its own Airflow home: the remediation run the detection queues must be the only one there.
    home = tmp_path_factory.mktemp("aws-airflow-home")
    with AwsEmulator() as emulator:
        seed_from_lake(root, emulator.endpoint)
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        env = emulator.env() | {
            "FLIGHTDQ_LAKE": str(root),
            "AIRFLOW_HOME": str(home),
            "FLIGHTDQ_GLUE_POLL_SECONDS": "1",  # the trigger's look at the Glue run (default 30 s)
        }
        migrate_with_pool(env)
        backend = AwsBackend(Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(root)}))
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
    assert detect.returncode != 0
    assert "partition is missing" in detect.stdout + detect.stderr
    (queued,) = queued_runs("flightdq_remediation", loop.env)
    assert queued["conf"] == {"days": [str(END)], "dry_run": False}

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

    # one incident for the fault, its cause first, resolved by the remediation's re-check; one alert
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
        ({"date": "2099-12-01"}, "bad input: date"),  # in the future whatever today is
        ({"date": "2026-01-01", "to": "2026-06-01"}, "longer than the allowed 31 days"),
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
    (incident,) = IncidentStore(backend.blobs).open([END])  # the incidents step ran: P0 stays open
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


@pytest.mark.aws
def test_on_glue_the_repair_task_defers_and_two_remediations_of_a_day_share_one_run(
    tmp_path, tmp_path_factory, monkeypatch
):
    """Two remediation runs of one day at once (two Airflow homes, one emulated AWS): each repair
    task starts or attaches to the day's Glue run and defers (the run is waited for by the trigger,
    inline in `dags test`); Glue holds one run for the day, and both runs end green with it."""
    import shutil

    from flightdq.backends.aws.backend import AwsBackend
    from flightdq_dev.emulator import AwsEmulator, seed_from_lake

    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=5, size="small", poll_seconds=1200)
    with AwsEmulator() as emulator:
        seed_from_lake(root, emulator.endpoint)
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        homes = [tmp_path_factory.mktemp("glue-home-a"), tmp_path_factory.mktemp("glue-home-b")]
        envs = [
            emulator.env()
            | {"FLIGHTDQ_LAKE": str(root), "AIRFLOW_HOME": str(home), "FLIGHTDQ_GLUE_POLL_SECONDS": "1"}
            for home in homes
        ]
        migrate_with_pool(envs[0])
        assert "pool flightdq_etl: 3 slot(s)" in make_pool(envs[0], "--slots", "3")
        assert "pool flightdq_etl: 1 slot(s)" in make_pool(envs[0])  # updated back, not duplicated
        pool = metadata(
            envs[0],
            "from airflow.models.pool import Pool\n"
            "with create_session() as s:\n"
            "    p = s.scalar(select(Pool).where(Pool.pool == 'flightdq_etl'))\n"
            "    out = [p.slots, p.include_deferred]",
        )
        assert pool == [1, True]  # a repair deferred on its Glue run keeps its slot
        shutil.copy(homes[0] / "airflow.db", homes[1] / "airflow.db")  # the same migrated DB, twice
        emulator.remove_partition(str(END))
        emulator.faults.glue_run_min_seconds = 20.0  # long enough for both runs to find it going
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
        conf = json.dumps({"days": [str(END)], "dry_run": False})
        runs = [
            subprocess.Popen(
                [AIRFLOW, "dags", "test", "flightdq_remediation", "-c", conf],
                env=base | {"FLIGHTDQ_TASK_RETRIES": "0"} | env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for env in envs
        ]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)

        (glue_run,) = emulator.job_runs(str(END))  # one Glue run for the day, not two
        assert glue_run["JobRunState"] == "SUCCEEDED"
        for output in outputs:  # each repair task deferred, and the trigger watched the run going
            assert "[DAG TEST] running trigger in line" in output
            assert "Status of AWS Glue job is: RUNNING" in output
        repairs = [
            metadata(
                env,
                "from airflow.models.xcom import XComModel\n"
                "with create_session() as s:\n"
                "    out = [x.value for x in s.scalars(select(XComModel).where("
                "XComModel.task_id == 'repair_day', XComModel.key == 'return_value'))]",
            )
            for env in envs
        ]
        results = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in repairs]
        assert [r["etl_run_id"] for r in results] == [glue_run["Id"]] * 2
        assert sorted(r["attached"] for r in results) == [False, True]
        backend = AwsBackend(Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(root)}))
        assert str(END) in backend.registered_partitions(END, END)
        assert [o["outcome"] for o in backend.history.read_remediations([END])] == ["repaired", "repaired"]
