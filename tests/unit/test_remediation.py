"""Remediation end to end in one process (what `flightdq remediate` runs): rebuild what can be
rebuilt, never twice at once, never from missing raw data, and say plainly how each day ended."""

from __future__ import annotations

import threading
import time
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

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
    real_etl = etl.run_local_etl

    def slow_etl(*args, **kwargs):
        time.sleep(1.0)  # long enough for the second caller to find the first run going
        return real_etl(*args, **kwargs)

    monkeypatch.setattr(etl, "run_local_etl", slow_etl)
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
    real_etl = etl.run_local_etl
    monkeypatch.setattr(
        etl, "run_local_etl", lambda lake, day, **kw: real_etl(lake, day, fail_after_write=True)
    )

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t5")
    assert ended.outcome is Outcome.STILL_FAILING
    assert "FAILED" in ended.message
    assert file.read_bytes() == before  # untouched, and still readable
    assert backend.read_partition(END).num_rows == table.num_rows + 3
    assert [p.name for p in backend.partition_folder(END).parent.iterdir() if "staging" in p.name] == []
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
