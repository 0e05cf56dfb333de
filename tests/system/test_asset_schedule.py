"""An asset-triggered run of flightdq_daily_checks, whole: `dag.test()` with its run made as the
scheduler makes one when `flightdata_processed` gets events (run type asset_triggered, no logical
date, the events consumed by the run), so the tasks read real `triggering_asset_events`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import pytest

from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.slow

AIRFLOW = str(Path(sys.executable).with_name("airflow"))
DAGS = Path(__file__).resolve().parents[2] / "dags"
END = date(2026, 11, 25)

# Runs in its own process (Airflow's ORM and the DAG's settings are process-wide). dag.test()
# always makes a manual run; its helper is swapped for one making the asset-triggered run.
ASSET_RUN = textwrap.dedent(
    """
    import json, sys
    from datetime import datetime
    from sqlalchemy import select
    import airflow.models.dagrun as dagrun_module
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from airflow.utils.types import DagRunTriggeredByType, DagRunType
    from flightdq.airflow.assets import FLIGHTDATA_PROCESSED

    days, run_after = json.loads(sys.argv[2]), datetime.fromisoformat(sys.argv[3])

    def asset_triggered_run(*, dag, session, run_after, start_date, **_):
        asset = session.scalar(select(AssetModel).where(AssetModel.name == FLIGHTDATA_PROCESSED.name))
        if asset is None:  # no DAG on this branch emits it yet: register it as its producer would
            asset = AssetModel(name=FLIGHTDATA_PROCESSED.name, uri=FLIGHTDATA_PROCESSED.uri, group="flightdq")
            session.add(asset)
            session.flush()
        events = [
            AssetEvent(asset_id=asset.id, extra={"dt": day}, source_dag_id="flightdq_remediation",
                       source_run_id="manual__repair", source_task_id="repair_day", source_map_index=i)
            for i, day in enumerate(days)
        ]
        session.add_all(events)
        session.flush()
        run = dag.create_dagrun(
            run_id=DagRun.generate_run_id(run_type=DagRunType.ASSET_TRIGGERED, logical_date=None,
                                          run_after=run_after),
            logical_date=None, data_interval=None, run_after=run_after, conf=None,
            run_type=DagRunType.ASSET_TRIGGERED, state=DagRunState.RUNNING,
            triggered_by=DagRunTriggeredByType.ASSET, triggering_user_name=None,
            start_date=start_date, session=session,
        )
        run.consumed_asset_events.extend(events)
        session.commit()
        return run

    dagrun_module.get_or_create_dagrun = asset_triggered_run
    dag = DagBag(dag_folder=sys.argv[1]).dags["flightdq_daily_checks"]
    run = dag.test(logical_date=None, run_after=run_after)
    with create_session() as session:
        states = {ti.task_id: str(ti.state) for ti in session.scalars(
            select(TaskInstance).where(TaskInstance.dag_id == dag.dag_id, TaskInstance.run_id == run.run_id))}
        xcoms = {x.task_id: x.value for x in session.scalars(select(XComModel).where(
            XComModel.dag_id == dag.dag_id, XComModel.run_id == run.run_id, XComModel.key == "return_value"))}
        queued = [r.run_id for r in session.scalars(
            select(DagRun).where(DagRun.dag_id == "flightdq_remediation"))]
        print("RESULT " + json.dumps({"run_id": run.run_id, "run_type": str(run.run_type),
                                      "state": str(run.state), "tasks": states, "xcoms": xcoms,
                                      "remediation_runs": queued}, default=str))
    """
)


def test_an_asset_triggered_run_checks_the_event_days_and_triggers_no_remediation(tmp_path):
    root = tmp_path / "lake"
    generate_lake(root, end=END, days=3, seed=5, size="small", poll_seconds=1200)
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(root)}))
    folder = backend.partition_folder(END)  # a repair that did not take: the day still fails
    for path in folder.glob("*.parquet"):
        path.unlink()
    folder.rmdir()
    backend.catalog.unregister("flightdata_processed", str(END))

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))} | {
        "AIRFLOW_HOME": str(tmp_path / "airflow-home"),
        "FLIGHTDQ_LAKE": str(root),
        "FLIGHTDQ_BACKEND": "local",
        "FLIGHTDQ_TASK_RETRIES": "0",
        "FLIGHTDQ_DAILY_SCHEDULE": "cron_or_asset",
    }
    migrated = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True)
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    days = [str(END), str(END - timedelta(days=1)), str(END)]  # END twice: two repairs of one day
    run_after = f"{END + timedelta(days=1)}T06:00:00+00:00"
    done = subprocess.run(
        [sys.executable, "-c", ASSET_RUN, str(DAGS), json.dumps(days), run_after],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(lines[-1].removeprefix("RESULT "))

    assert result["run_type"] == "asset_triggered" and result["run_id"].startswith("asset_triggered__")
    target = result["xcoms"]["resolve_target"]
    assert target == {
        "days": [str(END - timedelta(days=1)), str(END)],  # from the events, each once, sorted
        "as_of": run_after,
        "trigger": "asset",
    }
    assert result["state"] == "failed"  # the day still fails: the run is red, its incident stays open
    assert result["tasks"]["check_partition_presence"] == "failed"
    summary = result["xcoms"]["report"]
    repairs = [p["dt"] for p in summary["plans"] if p["action"] in ("rebuild", "register")]
    assert repairs == [str(END)]  # a repair is planned for the day...
    assert summary["remediation_withheld"] is True and summary["remediation"] is None
    assert result["tasks"]["remediation_needed"] == "success"
    assert result["tasks"]["trigger_remediation"] == "skipped"  # ...that it does not ask for: no loop
    assert result["remediation_runs"] == []
    recorded = backend.history.read_run(result["run_id"], target["days"])
    assert {r["dt"] for r in recorded} == set(target["days"])
