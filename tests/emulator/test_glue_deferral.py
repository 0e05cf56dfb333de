"""The repair task on AWS: it starts (or attaches to) the day's Glue run, hands the wait to the amazon
provider's `GlueJobCompleteTrigger` and finishes the day when the trigger fires. Here the real
trigger runs (as the triggerer would run it: its async `run()`) against the emulator, whose Glue
runs take a while; the whole DAG doing the same is in tests/system/test_dag_runs.py."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from flightdq.airflow.operators import RepairDayOperator
from flightdq.backends.base import BackendError
from flightdq.core.config import Settings
from flightdq.recovery.plan import Action, DayPlan
from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.aws

END = date(2026, 11, 25)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("deferral") / "lake"
    generate_lake(root, end=END, days=2, seed=13, size="small", poll_seconds=1200)
    return root


@pytest.fixture(scope="module")
def emulator(lake):
    with AwsEmulator() as emu:
        seed_from_lake(lake, emu.endpoint, etl_script=DUCKDB_SCRIPT)
        yield emu


@pytest.fixture
def aws(aws, lake, monkeypatch) -> AwsEmulator:
    """The shared `aws` (tests/conftest.py), with the lake and a quick trigger poll."""
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(lake))
    monkeypatch.setenv("FLIGHTDQ_GLUE_POLL_SECONDS", "0.2")
    aws.faults.glue_run_min_seconds = 2.0  # long enough to be seen RUNNING
    return aws


class Ti:
    task_id, map_index = "repair_day", 0

    def __init__(self) -> None:
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int) -> object:
        return self.xcoms.get(key)


def context() -> dict:
    return {"ti": Ti(), "params": {"force": False}, "outlet_events": defaultdict(SimpleNamespace)}


def repair(day: date) -> RepairDayOperator:
    return RepairDayOperator(task_id="repair_day", day_plan=DayPlan(str(day), Action.REBUILD).to_dict())


def defer(task: RepairDayOperator, ctx: dict):
    from airflow.sdk.exceptions import TaskDeferred

    with pytest.raises(TaskDeferred) as raised:
        task.execute(ctx)
    return raised.value.trigger


def fire(trigger) -> dict:
    """What the triggerer does with the trigger: run it until its first event."""

    async def first_event() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(first_event())


def glue_states(aws: AwsEmulator, day: date) -> list[str]:
    return [r["JobRunState"] for r in aws.job_runs(str(day))]


def test_the_task_defers_while_the_run_goes_and_finishes_the_day_when_the_trigger_fires(aws):
    day = END
    aws.remove_partition(str(day))
    task, ctx = repair(day), context()
    trigger = defer(task, ctx)
    (run,) = aws.job_runs(str(day))
    assert run["JobRunState"] in ("STARTING", "RUNNING")  # the task returned while Glue works
    assert trigger.run_id == run["Id"] and trigger.job_name == "flightdata-etl"

    event = fire(trigger)
    assert event == {"status": "success", "run_id": run["Id"]}
    done = task.execute_complete(ctx, event)
    assert (done["etl_run_id"], done["attached"]) == (run["Id"], False)
    assert glue_states(aws, day) == ["SUCCEEDED"]
    backend = _backend()
    assert str(day) in backend.registered_partitions(day, day)
    assert backend.read_partition(day).num_rows > 0
    assert ctx["outlet_events"] and all(e.extra == {"dt": str(day)} for e in ctx["outlet_events"].values())


def test_a_second_repair_of_the_day_attaches_to_the_run_going_never_a_second_run(aws):
    day = END - timedelta(days=1)
    runs_before = len(aws.job_runs(str(day)))
    first, second = repair(day), repair(day)
    first_ctx, second_ctx = context(), context()
    first_trigger = defer(first, first_ctx)
    second_trigger = defer(second, second_ctx)  # e.g. another remediation run of the same day
    assert second_trigger.run_id == first_trigger.run_id
    assert len(aws.job_runs(str(day))) == runs_before + 1
    ends = [
        t.execute_complete(c, fire(trig))
        for t, c, trig in ((first, first_ctx, first_trigger), (second, second_ctx, second_trigger))
    ]
    assert [e["etl_run_id"] for e in ends] == [first_trigger.run_id] * 2
    assert [e["attached"] for e in ends] == [False, True]


def test_a_failed_run_fails_the_task_with_its_id_and_glues_error_message(aws):
    day = END
    aws.faults.fail_next_glue_runs(1, "Container killed by YARN for exceeding memory limits (injected)")
    task, ctx = repair(day), context()
    event = fire(defer(task, ctx))
    run_id = aws.job_runs(str(day))[-1]["Id"]
    assert (event["status"], event["run_id"]) == ("error", run_id)
    with pytest.raises(BackendError) as raised:
        task.execute_complete(ctx, event)
    assert str(raised.value) == (
        f"ETL run {run_id} for {day} ended FAILED: "
        "Container killed by YARN for exceeding memory limits (injected)"
    )
    assert not ctx["outlet_events"]  # no asset event for a failed repair


def _backend():
    from flightdq.airflow.aws import backend

    return backend(Settings.from_env())
