"""Remediation end to end in one process (what `flightdq remediate` runs): rebuild what can be
rebuilt, never twice at once, never from missing raw data, and say plainly how each day ended."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.backends.local.backend import LocalBackend
from flightdq.etl import transform as etl
from flightdq.recovery.execute import Outcome, remediate
from flightdq.recovery.plan import Action, plan_days

END = date(2026, 11, 25)
AS_OF = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def partition_rows(backend: LocalBackend, day: date) -> list[str]:
    return sorted(backend.read_partition(day).column("flight_id").to_pylist())


def test_a_deleted_partition_is_rebuilt_identically_and_passes_again(small_lake):
    backend = small_lake
    before = partition_rows(backend, END)
    folder = backend.partition_folder(END)
    for path in folder.glob("*.parquet"):
        path.unlink()
    folder.rmdir()
    backend.catalog.unregister("flightdata_processed", str(END))

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t1")
    assert ended.outcome is Outcome.REPAIRED, ended.message
    assert ended.action == Action.REBUILD and ended.etl_run_id
    assert partition_rows(backend, END) == before  # same row count, same flight_ids
    assert [r["state"] for r in backend.etl_runs(END)] == ["SUCCEEDED"]
    assert str(END) in backend.registered_partitions(END, END)


def test_an_unregistered_partition_is_registered_not_rebuilt(small_lake):
    backend = small_lake
    backend.catalog.unregister("flightdata_processed", str(END))
    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t2")
    assert (ended.action, ended.outcome) == (Action.REGISTER, Outcome.REPAIRED)
    assert backend.etl_runs(END) == []


def test_missing_raw_hours_are_not_repairable_and_get_no_etl_run(small_lake):
    backend = small_lake
    for hour in (3, 4, 5):
        for path in (backend.raw_root / f"year=2026/month=11/day=25/hour={hour:02d}").glob("*"):
            path.unlink()
    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t3")
    assert ended.outcome is Outcome.NOT_REPAIRABLE
    assert "data loss" in ended.message
    assert backend.etl_runs(END) == []


def test_two_remediations_of_one_day_started_together_run_the_etl_once(small_lake, monkeypatch):
    backend = small_lake
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()
    real_etl = etl.contract_job

    def slow_etl(*args, **kwargs):
        time.sleep(1.0)  # long enough for the second caller to find the first run going
        return real_etl(*args, **kwargs)

    monkeypatch.setattr(etl, "contract_job", slow_etl)
    ended = {}
    barrier = threading.Barrier(2)

    def run(name: str) -> None:
        own = LocalBackend(backend.settings)  # a separate connection, as another process would have
        barrier.wait()
        ended[name] = remediate(own, [END], AS_OF, dry_run=False, run_id=name)[0]

    threads = [threading.Thread(target=run, args=(n,)) for n in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    runs = backend.etl_runs(END)
    assert len(runs) == 1 and runs[0]["state"] == "SUCCEEDED"
    assert {e.outcome for e in ended.values()} == {Outcome.REPAIRED}
    assert ended["a"].etl_run_id == ended["b"].etl_run_id == runs[0]["run_id"]


def test_an_etl_failing_halfway_leaves_the_old_partition_and_the_day_still_failing(small_lake, monkeypatch):
    backend = small_lake
    file = next(backend.partition_folder(END).glob("*.parquet"))
    table = pq.read_table(file)
    pq.write_table(pa.concat_tables([table, table.slice(0, 3)]), file)  # 3 duplicated flights
    before = file.read_bytes()
    real_etl = etl.contract_job

    def fails_after_writing(argv):
        real_etl(argv)
        raise etl.EtlError("fault injected after writing the run's folder")

    monkeypatch.setattr(etl, "contract_job", fails_after_writing)

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t5")
    assert ended.outcome is Outcome.STILL_FAILING
    assert "FAILED" in ended.message
    assert file.read_bytes() == before  # untouched, and still readable
    assert backend.read_partition(END).num_rows == table.num_rows + 3
    assert [p.name for p in backend.partition_folder(END).parent.iterdir() if "staging" in p.name] == []
    assert list(backend.partition_folder(END).glob("run=*")) == []  # the failed run's folder is gone
    assert [r["state"] for r in backend.etl_runs(END)] == ["FAILED"]


def test_a_dry_run_changes_nothing_but_records_its_plan(small_lake):
    backend = small_lake
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()

    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in backend.lake.rglob("*")
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))
        }

    before = snapshot()
    (ended,) = remediate(backend, [END], AS_OF, dry_run=True, run_id="t6")
    assert (ended.action, ended.outcome) == (Action.REBUILD, Outcome.PLANNED)
    after = snapshot()
    plan_records = {k for k in after if "/flightdq-history/remediations/" in k}
    assert {k: v for k, v in after.items() if k not in plan_records} == before  # no data, no history
    assert backend.etl_runs(END) == []
    (record,) = backend.history.read_remediations([END])  # the day view shows what a repair would do
    assert record["dry_run"] is True and record["outcome"] == "planned" and record["reasons"]


def test_plan_says_nothing_to_do_for_healthy_days(small_lake):
    plans = plan_days(small_lake, [END - timedelta(days=1), END], AS_OF, run_id="t7", record=False)
    assert [p.action for p in plans] == [Action.NOTHING, Action.NOTHING]


# --- the repair task (flightdq.airflow.operators) ---------------------------------------------------


class FakeTi:
    """What the operator asks of the task instance: XComs of its own map index."""

    task_id, map_index = "repair_day", 0

    def __init__(self) -> None:
        self.xcoms: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcoms[key] = value

    def xcom_pull(self, task_ids: str, key: str, map_indexes: int) -> object:
        assert (task_ids, map_indexes) == (self.task_id, self.map_index)
        return self.xcoms.get(key)


def task_context(params: dict | None = None) -> dict:
    from collections import defaultdict
    from types import SimpleNamespace

    return {"ti": FakeTi(), "params": params or {}, "outlet_events": defaultdict(SimpleNamespace)}


def emitted(context: dict) -> list[dict]:
    return [getattr(event, "extra", None) for event in context["outlet_events"].values()]


class FakeGlue:
    """An `ExternalEtl` backend: Glue's answers are scripted, the catalog is a set."""

    name = "aws"

    def __init__(self, ended: str = "SUCCEEDED", error: str | None = None, attached: bool = False) -> None:
        from flightdq.backends.base import EtlRun, EtlWait

        self.started = EtlRun("jr_1", str(END), "RUNNING", attached=attached)
        self.ended = EtlRun("jr_1", str(END), ended, error=error, attached=attached)
        self.wait = EtlWait("flightdata-etl", "aws_flightdq", poll_seconds=30.0, max_polls=360)
        self.starts = 0
        self.registered: list[str] = []

    def start_etl(self, day):
        self.starts += 1
        return self.started

    def etl_run(self, run_id, dt, *, attached=False):
        assert run_id == "jr_1"
        return replace(self.ended, attached=attached)

    def etl_wait(self):
        return self.wait

    def register_partitions(self, dts):
        self.registered += list(dts)
        return list(dts)


def repair_task(plan_action: Action = Action.REBUILD):
    from flightdq.airflow.operators import RepairDayOperator
    from flightdq.recovery.plan import DayPlan

    return RepairDayOperator(task_id="repair_day", day_plan=DayPlan(str(END), plan_action).to_dict())


def deferred(task, backend, monkeypatch, context):
    from airflow.sdk.exceptions import TaskDeferred

    monkeypatch.setattr("flightdq.backends.registry.get_backend", lambda *a, **k: backend)
    with pytest.raises(TaskDeferred) as raised:
        task.execute(context)
    return raised.value


def test_on_glue_the_repair_task_defers_to_the_providers_trigger_and_holds_no_worker(monkeypatch):
    from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

    glue, context = FakeGlue(), task_context()
    deferral = deferred(repair_task(), glue, monkeypatch, context)
    assert deferral.method_name == "execute_complete"
    trigger = deferral.trigger
    assert isinstance(trigger, GlueJobCompleteTrigger)
    _, kwargs = trigger.serialize()
    assert (kwargs["job_name"], kwargs["run_id"], kwargs["aws_conn_id"]) == (
        "flightdata-etl",
        "jr_1",
        "aws_flightdq",
    )
    assert (kwargs["waiter_delay"], kwargs["waiter_max_attempts"]) == (30.0, 360)
    assert glue.starts == 1 and glue.registered == []  # nothing done yet but the start
    assert emitted(context) == []


def test_a_shorter_look_keeps_the_same_longest_wait(monkeypatch):
    monkeypatch.setenv("FLIGHTDQ_GLUE_POLL_SECONDS", "2")
    _, kwargs = deferred(repair_task(), FakeGlue(), monkeypatch, task_context()).trigger.serialize()
    assert (kwargs["waiter_delay"], kwargs["waiter_max_attempts"]) == (2.0, 30 * 360 // 2)


def test_after_the_trigger_a_succeeded_run_is_published_registered_and_emits_the_day(monkeypatch):
    from flightdq.recovery.publish import Published

    glue, context = FakeGlue(attached=True), task_context()
    prefix = f"s3://flightdata-processed/flightdata_processed/dt={END}/run=r1/"
    glue.ended = replace(glue.ended, output_prefix=prefix, started_at=1.0)
    published = []

    def publish(backend, run, *, force=False):  # S3 and the catalog: tests/emulator/test_glue_deferral.py
        published.append((run.run_id, run.output_prefix, force))
        return Published(run.dt, 7, prefix, "replaced 6 flights in 2 hours with 7 flights in 2 hours")

    monkeypatch.setattr("flightdq.recovery.execute.publish_run", publish)
    task = repair_task()
    deferred(task, glue, monkeypatch, context)
    assert published == []  # nothing is published before the run ended
    done = task.execute_complete(context, {"status": "success", "run_id": "jr_1"})
    assert published == [("jr_1", prefix, False)]  # the repair publishes what the run wrote
    assert done == {
        "dt": str(END),
        "action": "rebuild",
        "etl_run_id": "jr_1",
        "rows": 7,
        "attached": True,
        "location": prefix,
        "replaced": "replaced 6 flights in 2 hours with 7 flights in 2 hours",
        "skipped": [],
    }
    assert glue.registered == [str(END)]
    assert emitted(context) == [{"dt": str(END)}]


def test_a_failed_run_raises_with_its_id_and_glues_error_and_emits_nothing(monkeypatch):
    from flightdq.backends.base import BackendError

    glue, context = FakeGlue("FAILED", "Container killed by YARN (injected)"), task_context()
    task = repair_task()
    deferred(task, glue, monkeypatch, context)
    event = {"status": "error", "message": "AWS Glue job failed.: FAILED", "run_id": "jr_1"}
    with pytest.raises(BackendError, match=f"ETL run jr_1 for {END} ended FAILED: Container killed by YARN"):
        task.execute_complete(context, event)
    assert glue.registered == [] and emitted(context) == []


def test_a_wait_that_ran_out_while_the_run_goes_on_says_so(monkeypatch):
    from flightdq.backends.base import BackendError

    glue, context = FakeGlue("RUNNING"), task_context()
    task = repair_task()
    deferred(task, glue, monkeypatch, context)
    event = {
        "status": "error",
        "message": "Waiter job_complete failed: Max attempts exceeded",
        "run_id": "jr_1",
    }
    with pytest.raises(BackendError, match=r"still RUNNING .* Max attempts exceeded; left running"):
        task.execute_complete(context, event)
    assert glue.registered == []


def test_on_the_embedded_lake_the_task_runs_the_etl_itself_and_emits_the_day(small_lake, monkeypatch):
    backend = small_lake
    before = partition_rows(backend, END)
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()
    monkeypatch.setattr("flightdq.backends.registry.get_backend", lambda *a, **k: backend)
    context = task_context()
    done = repair_task().execute(context)
    (run,) = backend.etl_runs(END)
    assert done["etl_run_id"] == run["run_id"] and run["state"] == "SUCCEEDED"
    assert partition_rows(backend, END) == before
    assert emitted(context) == [{"dt": str(END)}]


def test_a_refused_shrink_fails_the_task_for_good_and_a_register_emits(small_lake, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    backend = small_lake
    monkeypatch.setattr("flightdq.backends.registry.get_backend", lambda *a, **k: backend)
    from flightdq_dev import misbehaving_jobs

    monkeypatch.setattr(etl, "contract_job", misbehaving_jobs.shrunk_day)  # half the day's flights
    before = {p.name: p.read_bytes() for p in backend.partition_folder(END).glob("*.parquet")}
    context = task_context()
    with pytest.raises(AirflowFailException, match="refused: the rebuilt partition"):  # not retried
        repair_task().execute(context)
    assert emitted(context) == []
    refusal = context["ti"].xcoms["refusal"]  # for the finish task's record: the kind, not prose
    assert (refusal["dt"], refusal["failure"]) == (str(END), "shrink_refused")
    assert {p.name: p.read_bytes() for p in backend.partition_folder(END).glob("*.parquet")} == before

    backend.catalog.unregister("flightdata_processed", str(END))
    done = repair_task(Action.REGISTER).execute(context)
    assert done["registered"] is True and str(END) in backend.registered_partitions(END, END)
    assert emitted(context) == [{"dt": str(END)}]
