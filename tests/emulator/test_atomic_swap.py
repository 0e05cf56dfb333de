"""The repair's atomic swap on the emulator (moto on 127.0.0.1, Athena's SQL run on DuckDB over the
Parquet under each registered partition's Location, as Athena reads it).

A rebuild is our Glue job writing the day under `dt=D/run=<run id>/` (the job contract), then the
repair's publish (`flightdq.recovery.publish.publish_s3`): it audits the prefix, points the Glue
partition at it in one UpdatePartition call, then deletes the old objects. A reader querying the day
meanwhile sees the old day or the new one, never both; a repair that dies on either side of the
switch leaves readers on one whole day, and the next one deletes what it left.

Each test takes a day of its own. The old partition is made smaller than the rebuild (a slice of its
flights) so that old, new and doubled counts all differ.
"""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flightdq.airflow.aws import ProviderAwsConnection
from flightdq.backends.aws.backend import AwsBackend
from flightdq.backends.aws.clients import AwsTuning
from flightdq.checks.runner import run_checks
from flightdq.core.config import Settings
from flightdq.core.contract import GLUE_DATABASE, PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.etl import glue_entry as glue_job
from flightdq.recovery import publish
from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.aws

END = date(2026, 11, 25)
DAYS = [END - timedelta(days=k) for k in range(8)]  # each test has its own day(s)
AS_OF = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
FAST = AwsTuning(
    athena_poll_seconds=0.01,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("swap") / "lake"
    generate_lake(root, end=END, days=len(DAYS), seed=11, size="small", faults={}, poll_seconds=1200)
    return root


@pytest.fixture(scope="module")
def emulator(lake):
    with AwsEmulator() as emu:
        seed_from_lake(lake, emu.endpoint, etl_script=DUCKDB_SCRIPT)
        yield emu


def backend_for(lake: Path) -> AwsBackend:
    settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(lake)})
    return AwsBackend(settings, ProviderAwsConnection(settings.aws_conn_id), tuning=FAST)


def keys(aws: AwsEmulator, day: date) -> list[str]:
    listed = aws.client("s3").list_objects_v2(
        Bucket=PROCESSED_BUCKET, Prefix=f"flightdata_processed/dt={day}/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))


def location(aws: AwsEmulator, day: date) -> str | None:
    glue = aws.client("glue")
    try:
        partition = glue.get_partition(
            DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[str(day)]
        )
    except glue.exceptions.EntityNotFoundException:
        return None
    return partition["Partition"]["StorageDescriptor"]["Location"]


def counts(backend: AwsBackend, day: date) -> tuple[int, int]:
    """(rows, distinct flight_ids) of the day, through Athena as any reader would ask."""
    (row,) = backend.run_sql(
        f"SELECT count(*) AS n, count(DISTINCT flight_id) AS f FROM flightdata_processed WHERE dt = '{day}'",
        label="swap_reader",
    )
    return int(row["n"]), int(row["f"])


def rebuild(aws: AwsEmulator, day: date, run_id: str, **publishing) -> publish.Published:
    """What a repair does: our job writes the day under a run prefix of its own, then the repair
    publishes it (`publishing`: `pause`, `force`). The run starts in a second after the test's own
    writes (S3 stamps objects to the second: the publish takes what is stamped since as the run's)."""
    time.sleep(1.0 - time.time() % 1.0 + 0.01)
    started = time.time()
    prefix = publish.run_prefix_uri(str(day), run_id)
    glue_job.run_job(day, s3=aws.client("s3"), output_prefix=prefix)
    return publish.publish_s3(
        aws.client("s3"), aws.client("glue"), str(day), prefix, started=started, **publishing
    )


def shrink_old_partition(aws: AwsEmulator, day: date) -> tuple[int, int]:
    """Replace the seeded (flat `dt=D/`) partition's file by a slice of its flights; returns the
    (old, new) flight counts the day will have before and after a rebuild."""
    s3 = aws.client("s3")
    (key,) = [k for k in keys(aws, day) if k.endswith(".parquet")]
    assert key == f"flightdata_processed/dt={day}/{Path(key).name}"  # the contract's flat layout
    table = pq.read_table(io.BytesIO(s3.get_object(Bucket=PROCESSED_BUCKET, Key=key)["Body"].read()))
    old = table.slice(0, table.num_rows // 2)
    body = io.BytesIO()
    pq.write_table(old, body)
    s3.put_object(Bucket=PROCESSED_BUCKET, Key=key, Body=body.getvalue())
    assert old.num_rows > 0 and table.num_rows > 2 * old.num_rows - 1
    return old.num_rows, table.num_rows


def test_a_reader_during_the_swap_sees_the_old_day_or_the_new_one_never_both(aws, lake):
    day = DAYS[0]
    backend = backend_for(lake)
    old, new = shrink_old_partition(aws, day)
    assert counts(backend, day) == (old, old)
    old_keys = keys(aws, day)

    seen: list[tuple[int, int]] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                seen.append(counts(backend_for(lake), day))
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)

    def reads_after(n: int, timeout: float = 60.0) -> None:
        """Hold the job at a stage until the reader has done n more reads there."""
        target, deadline = len(seen) + n, time.monotonic() + timeout
        while len(seen) < target and not errors and time.monotonic() < deadline:
            time.sleep(0.01)

    stages: dict[str, tuple[int, int]] = {}  # stage -> reads done when the job got there, when it went on

    def pause(stage: str) -> None:
        reached = len(seen)
        reads_after(3)
        stages[stage] = (reached, len(seen))

    thread = threading.Thread(target=reader, name="swap-reader", daemon=True)
    thread.start()
    try:
        reads_after(2)
        outcome = rebuild(aws, day, "jr_swap", pause=pause)
        reads_after(2)
    finally:
        stop.set()
        thread.join(60)
    assert not errors, errors
    assert set(seen) <= {(old, old), (new, new)}, f"a mixed or doubled day was read: {set(seen)}"
    # reads that started and ended inside each pause (the first one there may have started before it)
    written, switched = (seen[first + 1 : last] for first, last in (stages["audited"], stages["switched"]))
    assert len(written) >= 2 and set(written) == {(old, old)}  # new prefix complete, not switched: old
    assert len(switched) >= 2 and set(switched) == {(new, new)}  # switched, old objects still there: new
    assert seen[0] == (old, old) and seen[-1] == (new, new)

    run_prefix = f"flightdata_processed/dt={day}/run=jr_swap/"
    assert outcome.location == f"s3://{PROCESSED_BUCKET}/{run_prefix}" == location(aws, day)
    assert not outcome.registered and outcome.previous_location.endswith(f"/dt={day}/")
    assert keys(aws, day) == [f"{run_prefix}_SUCCESS", f"{run_prefix}part-00000.parquet"]
    assert sorted(k.removeprefix(f"s3://{PROCESSED_BUCKET}/") for k in outcome.deleted) == old_keys


def test_a_job_dying_before_the_switch_leaves_the_old_day_served_and_the_next_run_cleans_up(aws, lake):
    day = DAYS[1]
    backend = backend_for(lake)
    old, new = shrink_old_partition(aws, day)
    flat = keys(aws, day)

    def die(stage: str) -> None:
        if stage == "audited":
            raise publish.JobKilled(stage)

    with pytest.raises(publish.JobKilled):
        rebuild(aws, day, "jr_dead", pause=die)
    dead = f"flightdata_processed/dt={day}/run=jr_dead/"
    assert keys(aws, day) == sorted([*flat, f"{dead}_SUCCESS", f"{dead}part-00000.parquet"])  # no cleanup ran
    assert location(aws, day) == f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={day}/"
    assert counts(backend, day) == (old, old)  # readers keep the old partition
    # the checks read what the catalog points at, not the leftover
    assert backend.processed_partitions_in_storage(day, day) == {
        str(day): [f"s3://{PROCESSED_BUCKET}/{k}" for k in flat]
    }
    assert backend.read_partition(day).num_rows == old

    outcome = rebuild(aws, day, "jr_next")
    nxt = f"flightdata_processed/dt={day}/run=jr_next/"
    assert keys(aws, day) == [f"{nxt}_SUCCESS", f"{nxt}part-00000.parquet"]  # the leftover is gone too
    assert f"s3://{PROCESSED_BUCKET}/{dead}part-00000.parquet" in outcome.deleted
    assert counts(backend, day) == (new, new)


def test_a_job_dying_after_the_switch_has_given_readers_the_new_day_already(aws, lake):
    day = DAYS[2]
    backend = backend_for(lake)
    _, new = shrink_old_partition(aws, day)
    flat = keys(aws, day)

    def die(stage: str) -> None:
        if stage == "switched":
            raise publish.JobKilled(stage)

    with pytest.raises(publish.JobKilled):
        rebuild(aws, day, "jr_late", pause=die)
    late = f"flightdata_processed/dt={day}/run=jr_late/"
    assert location(aws, day) == f"s3://{PROCESSED_BUCKET}/{late}"
    assert set(flat) < set(keys(aws, day))  # the old objects are still there...
    assert counts(backend, day) == (new, new)  # ...and nobody reads them
    assert backend.read_partition(day).num_rows == new
    assert backend.processed_partitions_in_storage(day, day) == {
        str(day): [f"s3://{PROCESSED_BUCKET}/{late}part-00000.parquet"]
    }
    rebuild(aws, day, "jr_after")
    after = f"flightdata_processed/dt={day}/run=jr_after/"
    assert keys(aws, day) == [f"{after}_SUCCESS", f"{after}part-00000.parquet"]
    assert counts(backend, day) == (new, new)


def test_a_failure_before_the_switch_removes_the_new_prefix_and_keeps_the_old_day(aws, lake, monkeypatch):
    day = DAYS[3]
    backend = backend_for(lake)
    before = keys(aws, day)
    rows = counts(backend, day)
    real_verify = glue_job._verify_uploaded

    def verify_then_fail(*args) -> None:
        real_verify(*args)
        raise glue_job.EtlError("fault injected after the upload")

    monkeypatch.setattr(glue_job, "_verify_uploaded", verify_then_fail)
    with pytest.raises(glue_job.EtlError, match="fault injected after the upload"):
        rebuild(aws, day, "jr_fail")
    assert keys(aws, day) == before and counts(backend, day) == rows
    assert location(aws, day).endswith(f"/dt={day}/")


def test_a_day_missing_from_the_catalog_is_created_at_the_new_prefix(aws, lake):
    day = DAYS[4]
    backend = backend_for(lake)
    glue = aws.client("glue")
    glue.delete_partition(DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[str(day)])
    flat = keys(aws, day)
    assert counts(backend, day) == (0, 0)  # not registered: Athena reads nothing
    # not registered: the checks find the files directly under dt=D/ (a foreign or old-layout lake)
    assert backend.processed_partitions_in_storage(day, day) == {
        str(day): [f"s3://{PROCESSED_BUCKET}/{k}" for k in flat]
    }
    results = run_checks(
        [day], AS_OF, checks=["partition_presence"], backend=backend, settings=backend.settings, record=False
    )
    (processed,) = [r for r in results if r.dataset == PROCESSED_TABLE]
    assert processed.status == "fail" and processed.details["state"] == "not_registered"

    outcome = rebuild(aws, day, "jr_new")
    prefix = f"flightdata_processed/dt={day}/run=jr_new/"
    assert outcome.registered and location(aws, day) == f"s3://{PROCESSED_BUCKET}/{prefix}"
    assert keys(aws, day) == [f"{prefix}_SUCCESS", f"{prefix}part-00000.parquet"]
    table = glue.get_table(DatabaseName=GLUE_DATABASE, Name=PROCESSED_TABLE)["Table"]
    created = glue.get_partition(
        DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[str(day)]
    )["Partition"]["StorageDescriptor"]
    assert created["Columns"] == table["StorageDescriptor"]["Columns"]
    rows = counts(backend, day)
    assert rows[0] == rows[1] > 0

    # the catalog loses it again: repair registers the newest complete run prefix, not dt=D/
    glue.delete_partition(DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[str(day)])
    assert backend.processed_partitions_in_storage(day, day) == {
        str(day): [f"s3://{PROCESSED_BUCKET}/{prefix}part-00000.parquet"]
    }
    assert backend.register_partitions([str(day)]) == [str(day)]
    assert location(aws, day) == f"s3://{PROCESSED_BUCKET}/{prefix}"
    assert counts(backend, day) == rows


def test_the_checks_pass_on_a_swapped_day_and_on_a_flat_one(aws, lake):
    swapped, flat = DAYS[6], DAYS[5]
    backend = backend_for(lake)
    rebuild(aws, swapped, "jr_swap")
    assert location(aws, flat).endswith(f"/dt={flat}/")
    assert location(aws, swapped).endswith("/run=jr_swap/")
    results = run_checks(
        [swapped, flat],
        AS_OF,
        checks=["partition_presence", "schema_validity", "duplicates"],
        backend=backend,
        settings=backend.settings,
        record=False,
    )
    assert {(r.dt, r.check) for r in results if r.dataset == PROCESSED_TABLE} == {
        (str(d), c) for d in (swapped, flat) for c in ("partition_presence", "schema_validity", "duplicates")
    }
    assert all(r.status == "pass" for r in results), [(r.dt, r.check, r.status, r.message) for r in results]
    files = backend.partition_file_schemas(swapped)
    assert list(files) == [
        f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={swapped}/run=jr_swap/part-00000.parquet"
    ]


def test_a_location_anywhere_is_followed_and_never_deleted_by_a_swap(aws, lake):
    day = DAYS[7]
    backend = backend_for(lake)
    s3, glue = aws.client("s3"), aws.client("glue")
    rows = counts(backend, day)
    (flat,) = [k for k in keys(aws, day) if k.endswith(".parquet")]
    elsewhere = f"flightdata_processed/restored/{day}/part-00000.parquet"
    s3.copy_object(
        Bucket=PROCESSED_BUCKET, Key=elsewhere, CopySource={"Bucket": PROCESSED_BUCKET, "Key": flat}
    )
    s3.delete_object(Bucket=PROCESSED_BUCKET, Key=flat)
    partition = glue.get_partition(
        DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[str(day)]
    )["Partition"]
    storage = {
        **partition["StorageDescriptor"],
        "Location": f"s3://{PROCESSED_BUCKET}/flightdata_processed/restored/{day}",
    }
    glue.update_partition(
        DatabaseName=GLUE_DATABASE,
        TableName=PROCESSED_TABLE,
        PartitionValueList=[str(day)],
        PartitionInput={"Values": [str(day)], "StorageDescriptor": storage},
    )
    assert counts(backend, day) == rows
    assert backend.processed_partitions_in_storage(day, day) == {
        str(day): [f"s3://{PROCESSED_BUCKET}/{elsewhere}"]
    }
    assert backend.read_partition(day).num_rows == rows[0]

    outcome = rebuild(aws, day, "jr_home")
    assert outcome.previous_location.endswith(f"/restored/{day}")
    assert location(aws, day) == f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={day}/run=jr_home/"
    assert s3.head_object(Bucket=PROCESSED_BUCKET, Key=elsewhere)  # not ours to delete
    assert counts(backend, day) == rows
