"""What the whole-DAG tests share: the real `airflow` CLI with a clean environment, the ETL pool,
probes of the metadata DB (queued runs, asset events), and two session fixtures (a migrated
metadata DB with the pool, one per test process; a lake with every planted fault), which the test
files import by name."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from flightdq_dev.generator import default_demo_faults, generate_lake

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


def queued_runs(dag_id: str, env: dict[str, str]) -> list[dict]:
    """The runs of `dag_id` in `env`'s metadata DB (a run another run triggered is only queued)."""
    return metadata(
        env,
        "from airflow.models import DagRun\n"
        "with create_session() as s:\n"
        f"    runs = s.scalars(select(DagRun).where(DagRun.dag_id == {dag_id!r})).all()\n"
        "    out = [{'run_id': r.run_id, 'state': str(r.state), 'conf': r.conf} for r in runs]",
    )


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


@dataclass
class Loop:
    """A generated lake on one backend, and how to reach it from an Airflow subprocess."""

    backend: object  # LocalBackend or AwsBackend
    env: dict[str, str]
    remove_partition: Callable[[], None]
    emulator: object | None = None


@pytest.fixture(scope="session")
def airflow_db(tmp_path_factory) -> None:
    migrate_with_pool(local(tmp_path_factory.mktemp("unused")))


@pytest.fixture(scope="session")
def faulty_lake(tmp_path_factory) -> tuple[Path, object]:
    root = tmp_path_factory.mktemp("dagrun") / "lake"
    manifest = generate_lake(root, end=END, days=40, seed=7, size="small", faults=default_demo_faults(END))
    return root, manifest
