"""The reference Spark job as the emulator's Glue runs it (flightdq_dev.emulator.spark_glue): the same
Spark code over file:// (local Spark cannot read the emulator's S3), its output put under the run's
prefix in the emulator's S3 (moto on 127.0.0.1) in the job's order, and the same flights as DuckDB;
and a Glue run of `flightdata-etl` as deployed (its script `spark_job.py`) runs it."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, PROCESSED_BUCKET, RAW_BUCKET, processed_arrow_schema
from flightdq.etl import spark_job
from flightdq.etl.transform import transform_day_skipping
from flightdq_dev.emulator import AwsEmulator, etl_job_definition, seed_from_lake, spark_glue
from flightdq_dev.generator import generate_lake

pytestmark = [pytest.mark.aws, pytest.mark.slow]

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("spark-glue") / "lake"
    generate_lake(root, end=DAY, days=1, seed=5, size="small", faults={}, poll_seconds=1800)
    return root


@pytest.fixture(scope="module")
def emulator(lake):
    with AwsEmulator() as emu:
        seed_from_lake(lake, emu.endpoint)
        try:
            yield emu
        finally:
            spark_glue.stop_session()


def test_the_emulated_glue_run_puts_the_spark_jobs_output_under_the_prefix_success_last(
    emulator, lake
) -> None:
    s3 = emulator.client("s3")
    raw_keys = [o["Key"] for o in s3.list_objects_v2(Bucket=RAW_BUCKET)["Contents"]]
    broken = next(k for k in sorted(raw_keys) if k.endswith(".json.gz") and f"day={DAY:%d}" in k)
    s3.put_object(Bucket=RAW_BUCKET, Key=broken, Body=b"\x1f\x8b\x08\x00truncated")
    (lake / "flightdata-raw" / broken).write_bytes(b"\x1f\x8b\x08\x00truncated")
    key_prefix = f"{layout.processed_partition_prefix(DAY)}run=jr_spark/"
    before = {o["Key"] for o in s3.list_objects_v2(Bucket=PROCESSED_BUCKET).get("Contents", [])}

    outcome = spark_glue.run_spark_job(s3, DAY, f"s3://{PROCESSED_BUCKET}/{key_prefix}")

    after = {o["Key"] for o in s3.list_objects_v2(Bucket=PROCESSED_BUCKET)["Contents"]}
    new = sorted(after - before)
    assert all(k.startswith(key_prefix) for k in new)
    names = [k.removeprefix(key_prefix) for k in new]
    assert "_SUCCESS" in names and "_SKIPPED.json" in names and any(n.endswith(".parquet") for n in names)
    assert outcome.skipped == [broken]
    stored = {k: s3.get_object(Bucket=PROCESSED_BUCKET, Key=k) for k in new}
    success = stored[key_prefix + "_SUCCESS"]
    assert success["ContentLength"] == 0
    assert all(o["LastModified"] <= success["LastModified"] for o in stored.values())

    parts = [pq.read_table(io.BytesIO(o["Body"].read())) for k, o in stored.items() if k.endswith(".parquet")]
    written = pa.concat_tables(parts)
    raw_files = sorted((lake / "flightdata-raw" / layout.raw_day_prefix(DAY)).rglob("states_*"))
    expected, skipped = transform_day_skipping(raw_files, DAY)
    assert [Path(s).relative_to(lake / "flightdata-raw").as_posix() for s in skipped] == [broken]
    assert written.schema.equals(processed_arrow_schema())
    assert written.sort_by("flight_id").equals(expected) and outcome.rows == expected.num_rows > 10


def test_a_failed_emulated_run_puts_nothing_under_the_prefix(emulator) -> None:
    s3 = emulator.client("s3")
    key_prefix = f"{layout.processed_partition_prefix(date(2026, 11, 1))}run=jr_none/"
    with pytest.raises(spark_job.SparkJobError, match="no raw snapshots"):
        spark_glue.run_spark_job(s3, date(2026, 11, 1), f"s3://{PROCESSED_BUCKET}/{key_prefix}")
    listed = s3.list_objects_v2(Bucket=PROCESSED_BUCKET, Prefix=key_prefix)
    assert listed.get("KeyCount", 0) == 0


def ended_run(emulator, job_name: str, run_id: str) -> dict:
    emulator.wait_for_glue_runs(timeout=300)
    return emulator.client("glue").get_job_run(JobName=job_name, RunId=run_id)["JobRun"]


def test_a_run_of_flightdata_etl_as_seeded_runs_the_spark_script(emulator) -> None:
    glue, s3 = emulator.client("glue"), emulator.client("s3")
    assert glue.get_job(JobName=ETL_JOB_NAME)["Job"]["Command"]["ScriptLocation"].endswith("/spark_job.py")
    key_prefix = f"{layout.processed_partition_prefix(DAY)}run=started/"
    run_id = glue.start_job_run(
        JobName=ETL_JOB_NAME,
        Arguments={"--dt": str(DAY), "--output_prefix": f"s3://{PROCESSED_BUCKET}/{key_prefix}"},
    )["JobRunId"]
    run = ended_run(emulator, ETL_JOB_NAME, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    names = {
        o["Key"].removeprefix(key_prefix)
        for o in s3.list_objects_v2(Bucket=PROCESSED_BUCKET, Prefix=key_prefix)["Contents"]
    }
    assert "_SUCCESS" in names and any(n.endswith(".parquet") for n in names)
    # Spark's part files, not the DuckDB job's single part-00000.parquet
    assert "part-00000.parquet" not in names


def test_a_job_whose_script_the_emulator_does_not_know_fails_naming_it(emulator) -> None:
    glue = emulator.client("glue")
    glue.create_job(**(etl_job_definition("other_job.py") | {"Name": "team-etl"}))
    emulator.glue_jobs["team-etl"] = None  # run what its definition names
    run_id = glue.start_job_run(JobName="team-etl", Arguments={"--dt": str(DAY)})["JobRunId"]
    run = ended_run(emulator, "team-etl", run_id)
    assert run["JobRunState"] == "FAILED" and "other_job.py" in run["ErrorMessage"]
