"""The AWS backend against a local AWS emulator (moto on 127.0.0.1 behind a proxy that runs Athena
queries on DuckDB and Glue job runs through `flightdq.etl.glue_entry`), seeded from a generated lake
with faults.

The emulated Athena is not Trino: it runs the checks' Trino SQL after sqlglot translates it to DuckDB.
So the first test proves the AWS plumbing and that translation give the embedded backend's answers,
not that Trino's own semantics do (`tests/system/test_aws_live.py` runs against a real account).
The rest inject the failures AWS has in store: a FAILED query, throttling, more than one result page,
a Glue run that fails then succeeds, a run slot that is taken, a run already going for the day.
Tests run in file order; the ones that rebuild partitions use the lake's healthy first days.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flightdq.airflow.aws import ProviderAwsConnection
from flightdq.airflow.aws import backend as airflow_backend
from flightdq.backends.aws.backend import AwsBackend
from flightdq.backends.aws.catalog import register_partitions_with_client
from flightdq.backends.aws.clients import AwsTuning
from flightdq.backends.base import BackendError, PartitionFileUnreadable
from flightdq.backends.local.backend import LocalBackend
from flightdq.checks import queries
from flightdq.checks.runner import run_checks
from flightdq.core.config import Settings
from flightdq.core.contract import CHECKS, GLUE_DATABASE, PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.core.dates import InputError, iter_days
from flightdq.core.errors import DataFault
from flightdq.etl import glue_entry as glue_job
from flightdq.etl.transform import EtlError
from flightdq.recovery.execute import repair_day
from flightdq.recovery.plan import Action, DayPlan
from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake
from flightdq_dev.generator import default_demo_faults, generate_lake

pytestmark = pytest.mark.aws

END = date(2026, 11, 25)
AS_OF = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
FAULTS = default_demo_faults(END)  # one fault a day on END-11..END; END-15..END-12 are healthy
HEALTHY = [END - timedelta(days=k) for k in (15, 14, 13, 12)]
FAST = AwsTuning(
    athena_poll_seconds=0.02,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
    glue_poll_seconds=0.2,
    glue_wait_seconds=120.0,
    concurrent_retry_seconds=0.1,
    concurrent_wait_seconds=60.0,
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("aws") / "lake"
    generate_lake(root, end=END, days=16, seed=7, size="small", faults=FAULTS, poll_seconds=1200)
    return root


@pytest.fixture(scope="module")
def emulator(lake):
    with AwsEmulator() as emu:
        seed_from_lake(lake, emu.endpoint, etl_script=DUCKDB_SCRIPT)
        yield emu


def aws_backend(lake: Path, **kwargs) -> AwsBackend:
    settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(lake)})
    connection = ProviderAwsConnection(settings.aws_conn_id)
    return AwsBackend(settings, connection, tuning=kwargs.pop("tuning", FAST), **kwargs)


def local_backend(lake: Path) -> LocalBackend:
    return LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(lake)}))


def partition_keys(aws: AwsEmulator, day: date) -> list[str]:
    listed = aws.client("s3").list_objects_v2(
        Bucket=PROCESSED_BUCKET, Prefix=f"flightdata_processed/dt={day}/"
    )
    return sorted(o["Key"] for o in listed.get("Contents", []))


def flight_ids(backend, day: date) -> list[str]:
    return sorted(backend.read_partition(day).column("flight_id").to_pylist())


# --- the AWS plumbing with the SQL translated to DuckDB gives the embedded backend's answers ------


def test_every_check_through_the_aws_plumbing_with_sql_translated_to_duckdb_matches_local(aws, lake):
    days = list(iter_days(END - timedelta(days=11), END))  # the 12 fault days
    # Great Expectations costs ~0.6 s a day and backend: its days are the ones where it decides
    schema_faults = ("invalid_rows_minor", "invalid_rows_major", "renamed_column", "retyped_column")
    schema_days = sorted([FAULTS[f] for f in (*schema_faults, "empty_partition", "zero_rows_partition")])
    local_settings = Settings.from_env({"FLIGHTDQ_LAKE": str(lake)})
    backend = aws_backend(lake)
    sql_checks = [c for c in CHECKS if c != "schema_validity"]
    local, remote = [], []
    for check_days, checks in ((days, sql_checks), ([HEALTHY[-1], *schema_days], ["schema_validity"])):
        local += run_checks(
            check_days,
            AS_OF,
            checks=checks,
            backend=local_backend(lake),
            settings=local_settings,
            record=False,
        )
        remote += run_checks(
            check_days, AS_OF, checks=checks, backend=backend, settings=backend.settings, record=False
        )

    def answers(results):
        return {
            (r.dataset, r.dt, r.check): (r.status, r.severity, r.observed, r.expected, r.message)
            for r in results
        }

    assert answers(remote) == answers(local)
    assert {r.check for r in remote} == set(CHECKS) and len(remote) == 12 * 6 + 7
    assert sum(r.failed for r in remote) >= 12  # every planted fault is found, on AWS too
    assert not [r for r in remote if r.status == "error" and not r.details.get("blocked_by")]
    athena = [q for r in remote for q in r.details["queries"] if q["engine"] == "athena"]
    assert athena and all(q["query_execution_id"] in aws.queries for q in athena)
    assert all(q["data_scanned_bytes"] > 0 for q in athena)
    assert all(
        aws.queries[q["query_execution_id"]].reuse == {"ResultReuseByAgeConfiguration": {"Enabled": False}}
        for q in athena
    )


def test_storage_and_catalog_views_match_the_local_backend(aws, lake):
    remote, local = aws_backend(lake), local_backend(lake)
    first = END - timedelta(days=15)
    assert remote.registered_partitions(first, END) == local.registered_partitions(first, END)
    assert remote.raw_snapshot_times(first, END) == local.raw_snapshot_times(first, END)
    stored_remote = remote.processed_partitions_in_storage(first + timedelta(days=3), END)
    stored_local = local.processed_partitions_in_storage(first + timedelta(days=3), END)
    assert {dt: len(f) for dt, f in stored_remote.items()} == {dt: len(f) for dt, f in stored_local.items()}
    retyped = FAULTS["retyped_column"]
    assert remote.read_partition(retyped).equals(local.read_partition(retyped))
    assert list(remote.partition_file_schemas(retyped).values()) == list(
        local.partition_file_schemas(retyped).values()
    )


def test_queries_scan_only_the_partitions_checked(aws, lake):
    backend = aws_backend(lake)
    day = HEALTHY[0]
    queries.run(backend, "partition_stats", start_dt=str(day), end_dt=str(day))
    one_day = backend.query_log[-1]
    sizes = aws.client("s3").list_objects_v2(
        Bucket=PROCESSED_BUCKET, Prefix=f"flightdata_processed/dt={day}/"
    )
    assert one_day["data_scanned_bytes"] == sum(o["Size"] for o in sizes["Contents"])
    assert aws.queries[one_day["query_execution_id"]].scanned_partitions == [f"dt={day}"]
    queries.run(backend, "partition_stats", start_dt=str(END - timedelta(days=15)), end_dt=str(END))
    assert backend.query_log[-1]["data_scanned_bytes"] > 5 * one_day["data_scanned_bytes"]


def test_athena_reads_each_partition_where_its_catalog_location_points(aws, lake):
    """The swap a rebuild does: new objects under another prefix, the partition's Location moved."""
    backend = aws_backend(lake)
    day = HEALTHY[1]
    s3, glue = aws.client("s3"), aws.client("glue")
    table = {"DatabaseName": GLUE_DATABASE, "TableName": PROCESSED_TABLE}
    old = glue.get_partition(**table, PartitionValues=[str(day)])["Partition"]

    def point_at(location: str) -> None:
        storage = {**old["StorageDescriptor"], "Location": location}
        new = {"Values": old["Values"], "StorageDescriptor": storage}
        glue.update_partition(**table, PartitionValueList=[str(day)], PartitionInput=new)

    def stats() -> tuple[list, dict]:
        rows = queries.run(backend, "partition_stats", start_dt=str(day), end_dt=str(day))
        return rows, backend.query_log[-1]

    before, _ = stats()
    moved = f"flightdata_processed/dt={day}/run=jr_swap/"
    for old_key in partition_keys(aws, day):
        copy = {"Bucket": PROCESSED_BUCKET, "Key": old_key}
        s3.copy_object(Bucket=PROCESSED_BUCKET, CopySource=copy, Key=moved + old_key.rsplit("/", 1)[1])
    try:
        point_at(f"s3://{PROCESSED_BUCKET}/{moved}")
        after, logged = stats()
        assert after == before and logged["data_scanned_bytes"] > 0
        point_at(f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={day}/run=jr_nothing/")
        empty, logged = stats()
        assert empty != before and logged["data_scanned_bytes"] == 0  # dt=D/ itself is not read
    finally:
        point_at(old["StorageDescriptor"]["Location"])
        listed = s3.list_objects_v2(Bucket=PROCESSED_BUCKET, Prefix=moved).get("Contents", [])
        s3.delete_objects(Bucket=PROCESSED_BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in listed]})


# --- schema validity pushed down to Athena ---------------------------------------------------------
# On the emulator, Athena's SQL runs on DuckDB after sqlglot's translation: these prove the plumbing
# (one statement per range, footers by ranged GETs, the Glue columns) and that the compiled suite
# survives the Trino -> DuckDB translation, not Trino's own semantics.

SEVEN = list(iter_days(END - timedelta(days=11), END - timedelta(days=5)))  # retyped, renamed, missing...


@pytest.mark.parametrize("days", [[END], SEVEN], ids=["1-day", "7-day"])
def test_validate_sends_one_athena_query_per_check_whatever_the_range(aws, lake, days):
    backend = aws_backend(lake)
    before = set(aws.queries)
    results = run_checks(days, AS_OF, backend=backend, settings=backend.settings, record=False)
    sent = [aws.queries[q] for q in aws.queries if q not in before]
    labels = sorted({q["template"] for r in results for q in r.details["queries"]})
    assert len(sent) == 3 and labels == ["daily_flight_counts", "partition_stats", "schema_validity_rows"]
    assert not [r for r in results if r.status == "error" and not r.details.get("blocked_by")]


def test_schema_validity_reads_footers_by_ranged_gets_and_queries_only_sound_days(aws, lake):
    backend = aws_backend(lake)
    gets: list[dict] = []
    backend._client("s3").meta.events.register(
        "provide-client-params.s3.GetObject", lambda params, **_: gets.append(dict(params))
    )
    results = run_checks(
        SEVEN, AS_OF, checks=["schema_validity"], backend=backend, settings=backend.settings, record=False
    )
    by_day = {r.dt: r for r in results}
    data = [g for g in gets if g["Key"].startswith("flightdata_processed/")]
    assert data and all("Range" in g for g in data)  # never a whole object: footers only
    spans = [tuple(int(n) for n in g["Range"].removeprefix("bytes=").split("-")) for g in data]
    assert all(last - first < 64 * 1024 for first, last in spans)
    for fault in ("retyped_column", "renamed_column"):
        found = by_day[str(FAULTS[fault])]
        assert found.status == "fail" and found.details["finding"] == "schema_change"
        assert found.details["files_with_schema_differences"][0].startswith("s3://flightdata-processed/")
    (query,) = {q["query_execution_id"] for r in results for q in r.details["queries"]}
    sound = [str(d) for d in SEVEN if by_day[str(d)].details.get("rows")]
    assert len(sound) == 3 and aws.queries[query].scanned_partitions == [f"dt={dt}" for dt in sound]


# --- Athena failures --------------------------------------------------------------------------------


def test_a_failed_query_names_its_id_and_athenas_reason(aws, lake):
    backend = aws_backend(lake)
    aws.faults.fail_next_query("HIVE_CURSOR_ERROR: injected: the object was rewritten while read")
    with pytest.raises(BackendError) as raised:
        run_checks([END], AS_OF, checks=["duplicates"], backend=backend, settings=backend.settings,
                   record=False, raise_errors=True)  # fmt: skip
    (failed,) = [q for q in aws.queries.values() if q.state == "FAILED" and "injected" in (q.reason or "")]
    assert str(raised.value) == (
        f"Athena query {failed.query_id} (partition_stats) ended FAILED: "
        "HIVE_CURSOR_ERROR: injected: the object was rewritten while read"
    )

    assert not isinstance(raised.value, DataFault)  # names no data file: the monitor's failure

    with pytest.raises(
        BackendError, match=r"Athena query [0-9a-f-]{36} \(adhoc\) ended FAILED: .*no_such_column"
    ) as raised:
        backend.run_sql("SELECT no_such_column FROM flightdata_processed WHERE dt = '2026-11-25'")
    assert not isinstance(raised.value, DataFault)


def test_a_query_athena_could_not_read_a_data_file_for_is_a_data_fault(aws, lake):
    """Athena names the object it choked on in its reason: the adapter raises the typed fault."""
    backend = aws_backend(lake)
    bad = f"s3://flightdata-processed/flightdata_processed/dt={END}/part-00000.parquet"
    aws.faults.fail_next_query(f"HIVE_BAD_DATA: Malformed Parquet file. {bad}")
    with pytest.raises(PartitionFileUnreadable) as raised:
        backend.run_sql(f"SELECT count(*) AS n FROM flightdata_processed WHERE dt = '{END}'")
    assert raised.value.files == (bad,)


def test_throttling_is_retried_with_growing_backoff_and_a_bound(aws, lake):
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        time.sleep(seconds)

    backend = aws_backend(lake, sleep=sleep)
    expected = queries.run(local_backend(lake), "partition_stats", start_dt=str(END), end_dt=str(END))
    aws.faults.throttle_next_queries(3)
    assert queries.run(backend, "partition_stats", start_dt=str(END), end_dt=str(END)) == expected
    assert aws.faults.throttled == 3 and backend.query_log[-1]["throttled"] == 3
    backoff = sleeps[:3]  # the polls come after the start went through
    assert backoff[0] <= backoff[1] <= backoff[2] and backoff[0] < backoff[2] <= FAST.backoff_max_seconds

    bounded = aws_backend(lake, tuning=AwsTuning(**{**FAST.__dict__, "retry_attempts": 4}))
    aws.faults.throttle_next_queries(10)
    with pytest.raises(
        BackendError, match=r"start_query_execution refused 4 times \(TooManyRequestsException\)"
    ):
        queries.run(bounded, "partition_stats", start_dt=str(END), end_dt=str(END))


def test_every_result_page_is_read_and_typed(aws, lake):
    backend = aws_backend(lake)
    first, last = HEALTHY[0], HEALTHY[-1]
    rows = backend.run_sql(
        "SELECT f.flight_id, f.dt, f.first_seen, f.position_count, f.max_velocity, f.callsign, h.n "
        "FROM flightdata_processed f CROSS JOIN (VALUES 1, 2, 3, 4, 5, 6, 7, 8) AS h(n) "
        f"WHERE f.dt BETWEEN '{first}' AND '{last}'",
        label="pages",
    )
    local = local_backend(lake)
    expected = sorted(
        (r["flight_id"], str(day), r["first_seen"], r["position_count"], r["max_velocity"], r["callsign"], n)
        for day in iter_days(first, last)
        for r in local.read_partition(day).to_pylist()
        for n in range(1, 9)
    )
    got = sorted(tuple(r.values()) for r in rows)
    assert len(got) > 2000 and got == expected
    assert any(r["callsign"] is None for r in rows) or all(e[5] is not None for e in expected)
    assert isinstance(rows[0]["first_seen"], datetime) and rows[0]["first_seen"].tzinfo is not None
    record = aws.queries[backend.query_log[-1]["query_execution_id"]]
    assert record.pages_served == math.ceil((len(rows) + 1) / 1000)  # the header row is on page one


# --- Glue ---------------------------------------------------------------------------------------------


def test_a_glue_run_that_fails_is_reported_and_the_retry_rebuilds_the_day(aws, lake):
    backend = aws_backend(lake)
    day = HEALTHY[0]
    before = flight_ids(backend, day)
    assert aws.remove_partition(str(day), unregister=False)
    aws.faults.fail_next_glue_runs(1, "Container killed by YARN for exceeding memory limits (injected)")
    plan = DayPlan(str(day), Action.REBUILD)
    with pytest.raises(BackendError) as raised:
        repair_day(backend, plan)
    (failed,) = aws.job_runs(str(day))
    assert failed["JobRunState"] == "FAILED"
    assert str(raised.value).startswith(f"ETL run {failed['Id']} for {day} ended FAILED: Container killed")
    assert partition_keys(aws, day) == []  # nothing half-written

    repaired = repair_day(backend, plan)  # what the task's retry does
    runs = aws.job_runs(str(day))
    assert [r["JobRunState"] for r in runs] == ["FAILED", "SUCCEEDED"]
    assert repaired["etl_run_id"] == runs[1]["Id"] and repaired["attached"] is False
    assert flight_ids(backend, day) == before
    run_prefix = runs[1]["Arguments"]["--output_prefix"].removeprefix(f"s3://{PROCESSED_BUCKET}/")
    assert run_prefix.startswith(f"flightdata_processed/dt={day}/run=")
    assert partition_keys(aws, day) == [f"{run_prefix}_SUCCESS", f"{run_prefix}part-00000.parquet"]
    assert repaired["location"] == f"s3://{PROCESSED_BUCKET}/{run_prefix}"


@pytest.mark.parametrize("state", ["TIMEOUT", "STOPPED", "ERROR"])
def test_other_terminal_states_come_back_promptly_as_not_succeeded(aws, lake, state):
    backend = aws_backend(lake)
    day = HEALTHY[1]
    aws.faults.fail_next_glue_runs(1, f"run ended {state} (injected)", state=state)
    started = time.monotonic()
    run = backend.run_etl(day)
    assert time.monotonic() - started < 10
    assert (run.state, run.succeeded, run.error) == (state, False, f"run ended {state} (injected)")
    assert run.run_id == aws.job_runs(str(day))[-1]["Id"]
    with pytest.raises(BackendError, match=f"ETL run jr_[0-9a-f]+ for {day} ended {state}"):
        aws.faults.fail_next_glue_runs(1, f"run ended {state} (injected)", state=state)
        repair_day(backend, DayPlan(str(day), Action.REBUILD))


def test_concurrent_runs_exceeded_means_wait_and_retry(aws, lake):
    sleeps: list[float] = []
    backend = aws_backend(lake, sleep=lambda s: (sleeps.append(s), time.sleep(s)))
    day = HEALTHY[2]
    runs_before = len(aws.job_runs(str(day)))
    aws.faults.refuse_next_glue_starts(2)
    run = backend.run_etl(day)
    assert run.succeeded and not run.attached
    assert aws.faults.refused == 2
    assert len(aws.job_runs(str(day))) == runs_before + 1  # one run for the day, not three
    assert sleeps[:2] == [FAST.concurrent_retry_seconds, 2 * FAST.concurrent_retry_seconds]


def test_a_run_of_another_day_holding_the_slot_is_waited_for_never_run_beside(aws, lake):
    aws.faults.glue_run_min_seconds = 1.0
    first, second = HEALTHY[3], HEALTHY[2]
    done = {}
    holder = threading.Thread(target=lambda: done.setdefault("first", aws_backend(lake).run_etl(first)))
    holder.start()
    _wait_until(lambda: [r for r in aws.job_runs(str(first)) if r["JobRunState"] == "RUNNING"])
    waited = aws_backend(lake).run_etl(second)
    holder.join(timeout=60)
    assert done["first"].succeeded and waited.succeeded
    first_run = next(r for r in aws.job_runs(str(first)) if r["Id"] == done["first"].run_id)
    second_run = next(r for r in aws.job_runs(str(second)) if r["Id"] == waited.run_id)
    assert second_run["StartedOn"] >= first_run["CompletedOn"]  # never two runs at once


def test_a_second_caller_attaches_to_the_run_already_going_for_the_day(aws, lake):
    aws.faults.glue_run_min_seconds = 1.0
    day = HEALTHY[1]
    runs_before = len(aws.job_runs(str(day)))
    ended = {}
    first = threading.Thread(target=lambda: ended.setdefault("first", aws_backend(lake).run_etl(day)))
    first.start()
    _wait_until(lambda: len(aws.job_runs(str(day))) > runs_before)
    second = aws_backend(lake).run_etl(day)  # e.g. the task's retry after a lost worker
    first.join(timeout=60)
    assert second.attached and not ended["first"].attached
    assert second.run_id == ended["first"].run_id and second.succeeded
    assert len(aws.job_runs(str(day))) == runs_before + 1


def test_two_callers_starting_the_same_day_at_once_share_one_run(aws, lake):
    aws.faults.glue_run_min_seconds = 0.5
    day = HEALTHY[0]
    runs_before = len(aws.job_runs(str(day)))
    barrier = threading.Barrier(2)
    ended = []

    def call() -> None:
        backend = aws_backend(lake)
        backend._client("glue_job")  # connect first, so both start together
        barrier.wait()
        ended.append(backend.run_etl(day))

    threads = [threading.Thread(target=call) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(ended) == 2 and ended[0].run_id == ended[1].run_id
    assert sorted(e.attached for e in ended) == [False, True]
    assert len(aws.job_runs(str(day))) == runs_before + 1


def test_a_start_whose_answer_is_lost_attaches_to_the_run_it_started(aws, lake, monkeypatch):
    from botocore.exceptions import ReadTimeoutError

    backend = aws_backend(lake)
    day = HEALTHY[2]
    runs_before = len(aws.job_runs(str(day)))
    glue = backend._client("glue_job")
    real_start = glue.start_job_run

    def start_then_time_out(**kwargs):
        real_start(**kwargs)  # Glue started the run; the answer never arrives
        raise ReadTimeoutError(endpoint_url=aws.endpoint)

    monkeypatch.setattr(glue, "start_job_run", start_then_time_out)
    run = backend.run_etl(day)
    assert run.succeeded and run.attached
    assert len(aws.job_runs(str(day))) == runs_before + 1  # not a second run


# --- the Glue job itself --------------------------------------------------------------------------


def test_the_glue_job_failing_after_its_upload_leaves_the_old_partition(aws, lake, monkeypatch):
    day = HEALTHY[3]
    s3 = aws.client("s3")
    before = {
        k: s3.get_object(Bucket=PROCESSED_BUCKET, Key=k)["Body"].read() for k in partition_keys(aws, day)
    }
    real_verify = glue_job._verify_uploaded

    def verify_then_fail(*args) -> None:
        real_verify(*args)
        raise EtlError("fault injected after the upload")

    monkeypatch.setattr(glue_job, "_verify_uploaded", verify_then_fail)
    prefix = f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={day}/run=jr_midway/"
    with pytest.raises(EtlError, match="fault injected after the upload"):
        glue_job.run_job(day, s3=s3, output_prefix=prefix)
    after = {
        k: s3.get_object(Bucket=PROCESSED_BUCKET, Key=k)["Body"].read() for k in partition_keys(aws, day)
    }
    assert after == before and before  # what it wrote under its prefix is gone again
    monkeypatch.undo()

    none = END + timedelta(days=3)
    with pytest.raises(EtlError, match="no raw snapshots"):
        glue_job.run_job(
            none, s3=s3, output_prefix=f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={none}/run=x/"
        )
    assert partition_keys(aws, none) == []


def test_the_glue_entry_point_takes_glues_arguments(aws, lake, monkeypatch, capsys):
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)  # plain boto3, as on Glue
    day = HEALTHY[3]
    prefix = f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={day}/run=manual/"
    located = aws_backend(lake)._catalog.locations(day, day)
    assert located
    code = glue_job.main(
        ["--JOB_NAME", "flightdata-etl", "--dt", str(day), "--JOB_RUN_ID", "jr_manual",
         "--output_prefix", prefix, "--job-bookmark-option", "job-bookmark-disable"]
    )  # fmt: skip
    assert code == 0 and '"rows"' in capsys.readouterr().out
    manual = partition_keys(aws, day)
    assert {k for k in manual if "/run=manual/" in k} == {
        f"flightdata_processed/dt={day}/run=manual/_SUCCESS",
        f"flightdata_processed/dt={day}/run=manual/part-00000.parquet",
    }  # written under its prefix only: the catalog still points where it did
    assert aws_backend(lake)._catalog.locations(day, day) == located  # it never touches the catalog
    with pytest.raises(InputError, match="not a real calendar day"):
        glue_job.main(["--dt", "2026-02-30", "--output_prefix", prefix])


# --- the catalog --------------------------------------------------------------------------------------


def test_registering_partitions_is_idempotent_and_uses_the_tables_storage(aws, lake):
    backend = aws_backend(lake)
    unregistered = str(FAULTS["unregistered_partition"])
    assert unregistered not in backend.registered_partitions(END - timedelta(days=15), END)
    assert backend.register_partitions([unregistered, str(HEALTHY[0])]) == [unregistered]
    assert backend.register_partitions([unregistered]) == []  # AlreadyExistsException is fine
    partition = aws.client("glue").get_partition(
        DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[unregistered]
    )["Partition"]
    storage = partition["StorageDescriptor"]
    assert storage["Location"] == f"s3://flightdata-processed/flightdata_processed/dt={unregistered}/"
    assert "ParquetHiveSerDe" in storage["SerdeInfo"]["SerializationLibrary"]
    assert [c["Name"] for c in storage["Columns"]][:2] == ["flight_id", "icao24"]


def test_other_catalog_errors_raise():
    class Glue:
        def get_table(self, **kwargs):
            return {"Table": {"StorageDescriptor": {"Columns": [], "Location": "s3://x/"}}}

        def batch_create_partition(self, **kwargs):
            return {
                "Errors": [
                    {
                        "PartitionValues": ["2026-11-01"],
                        "ErrorDetail": {"ErrorCode": "AlreadyExistsException"},
                    },
                    {
                        "PartitionValues": ["2026-11-02"],
                        "ErrorDetail": {"ErrorCode": "InternalServiceException", "ErrorMessage": "boom"},
                    },
                ]
            }

    with pytest.raises(BackendError, match=r"dt=2026-11-02: InternalServiceException: boom"):
        register_partitions_with_client(Glue(), ["2026-11-01", "2026-11-02"])


# --- flightdq's records on S3 ---------------------------------------------------------------------


def test_s3_blobstore_creates_a_key_exactly_once(aws, lake):
    backend = aws_backend(lake)
    store = backend.blobs
    barrier = threading.Barrier(12)
    won: list[int] = []

    def race(i: int) -> None:
        barrier.wait()
        if store.put_if_absent("flightdq-incidents/alerts/test/sns.try-1", f"caller {i}".encode()):
            won.append(i)

    threads = [threading.Thread(target=race, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1
    assert store.get("flightdq-incidents/alerts/test/sns.try-1") == f"caller {won[0]}".encode()
    assert store.put_if_absent("flightdq-incidents/alerts/test/sns.try-1", b"again") is False

    store.put("flightdq-history/checks/dt=2026-11-25/r1__duplicates.json", b"[]")
    assert store.list("flightdq-history/checks") == [
        "flightdq-history/checks/dt=2026-11-25/r1__duplicates.json"
    ]
    assert store.list("flightdq-history/check") == []  # a prefix is a folder, as locally
    assert store.get("flightdq-history/nothing.json") is None
    assert store.location("flightdq-history/x.json") == "s3://flightdata-processed/flightdq-history/x.json"


def test_the_aws_backend_is_made_without_any_aws_call(monkeypatch):
    import boto3.session
    import botocore.client

    def no_aws(*args, **kwargs):
        raise AssertionError("AWS was called while constructing the backend")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws)
    monkeypatch.setattr(boto3.session.Session, "client", no_aws)
    backend = airflow_backend(
        Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_AWS_CONN_ID": "nowhere"})
    )
    assert (
        isinstance(backend, AwsBackend)
        and backend.name == "aws"
        and backend.settings.aws_conn_id == "nowhere"
    )
    assert (
        backend.history.blobs.location("flightdq-history/") == "s3://flightdata-processed/flightdq-history/"
    )
    moved = airflow_backend(
        Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_HISTORY_URI": "s3://other-bucket/dq"})
    )
    assert moved.blobs.location("flightdq-history/x") == "s3://other-bucket/dq/flightdq-history/x"


def _wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)
