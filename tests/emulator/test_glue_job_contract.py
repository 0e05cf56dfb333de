"""The ETL job contract through the emulator's Glue (moto on 127.0.0.1): the remediation starts a
team's own Glue job (`FLIGHTDQ_ETL_JOB=team-etl`) whose code misbehaves on purpose
(`flightdq_dev.misbehaving_jobs`). Whatever the job does, the repair refuses or contains it: the old
partition keeps its objects and bytes, the Glue partition its Location, the repair's failure says
why as a type, and nothing the job wrote stays where Athena (or a catalog repair) would read it.

(Named apart from tests/unit/test_job_contract.py, the same misbehaviours on the embedded lake:
pytest imports both folders' files by their base name.)"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from flightdq.airflow.aws import ProviderAwsConnection
from flightdq.backends.aws.backend import AwsBackend
from flightdq.backends.aws.clients import AwsTuning
from flightdq.core.config import Settings
from flightdq.core.contract import GLUE_DATABASE, PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.recovery.execute import repair_day
from flightdq.recovery.plan import Action, DayPlan
from flightdq.recovery.publish import (
    DuplicateFlights,
    NoOutput,
    ShrinkRefused,
    WrongSchema,
    WroteAfterSuccess,
    WroteOutsidePrefix,
)
from flightdq_dev import misbehaving_jobs
from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake
from flightdq_dev.emulator.glue import duckdb_job
from flightdq_dev.emulator.seed import etl_job_definition
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.aws

END = date(2026, 11, 25)
TEAM_JOB = "team-etl"
FAST = AwsTuning(
    athena_poll_seconds=0.01,
    backoff_base_seconds=0.01,
    backoff_max_seconds=0.05,
    glue_poll_seconds=0.2,
    glue_wait_seconds=120.0,
    concurrent_retry_seconds=0.1,
    concurrent_wait_seconds=60.0,
)
REFUSALS = {
    "writes_nothing": NoOutput,
    "no_success": NoOutput,
    "shrunk_day": ShrinkRefused,
    "wrong_schema": WrongSchema,
    "writes_outside": WroteOutsidePrefix,
    "writes_twice": DuplicateFlights,
    "succeeds_twice": WroteAfterSuccess,
}


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("contract") / "lake"
    generate_lake(root, end=END, days=2, seed=17, size="small", faults={}, poll_seconds=1200)
    return root


@pytest.fixture(scope="module")
def emulator(lake):
    with AwsEmulator() as emu:
        seed_from_lake(lake, emu.endpoint, etl_script=DUCKDB_SCRIPT)
        emu.client("glue").create_job(**(etl_job_definition() | {"Name": TEAM_JOB}))
        yield emu


@pytest.fixture
def aws(aws) -> AwsEmulator:
    """The shared `aws` (tests/conftest.py), and no team job's code left behind."""
    yield aws
    aws.wait_for_glue_runs()
    aws.glue_jobs.pop(TEAM_JOB, None)


def team_backend(lake: Path, job: str = TEAM_JOB) -> AwsBackend:
    settings = Settings.from_env(
        {"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(lake), "FLIGHTDQ_ETL_JOB": job}
    )
    return AwsBackend(settings, ProviderAwsConnection(settings.aws_conn_id), tuning=FAST)


def objects(aws: AwsEmulator) -> dict[str, str]:
    """Every object of the processed table, with its ETag (its bytes' digest)."""
    s3 = aws.client("s3")
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=PROCESSED_BUCKET, Prefix="flightdata_processed/"
    ):
        found |= {o["Key"]: o["ETag"] for o in page.get("Contents") or []}
    return found


def locations(aws: AwsEmulator) -> dict[str, str]:
    glue = aws.client("glue")
    partitions = glue.get_partitions(DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE)["Partitions"]
    return {p["Values"][0]: p["StorageDescriptor"]["Location"] for p in partitions}


@pytest.mark.parametrize("misbehaviour", sorted(REFUSALS))
def test_a_glue_job_breaking_the_contract_is_refused_and_the_old_partition_is_untouched(
    aws, lake, misbehaviour
):
    aws.glue_jobs[TEAM_JOB] = misbehaving_jobs.glue_job(misbehaviour)
    backend = team_backend(lake)
    before, catalog = objects(aws), locations(aws)

    with pytest.raises(REFUSALS[misbehaviour]) as refused:
        repair_day(backend, DayPlan(str(END), Action.REBUILD))

    (run,) = aws.job_runs(str(END), job_name=TEAM_JOB)[-1:]
    assert run["JobRunState"] == "SUCCEEDED"  # the job said it succeeded
    assert str(refused.value).startswith(f"ETL run {run['Id']} for {END}: ")
    assert refused.value.kind == REFUSALS[misbehaviour].kind
    after = objects(aws)
    if misbehaviour == "writes_outside":  # another day's write is named, not deleted (see below)
        stray = f"flightdata_processed/dt={END - timedelta(days=1)}/part-stray.parquet"
        after.pop(stray)
        aws.client("s3").delete_object(Bucket=PROCESSED_BUCKET, Key=stray)  # as the person would
    assert after == before  # same keys, same bytes: its prefix and what it wrote in its day are gone
    assert locations(aws) == catalog
    prefix = run["Arguments"]["--output_prefix"]
    assert prefix.startswith(f"s3://{PROCESSED_BUCKET}/flightdata_processed/dt={END}/run=")


def test_writing_into_the_live_partition_is_undone_and_another_days_write_named(aws, lake):
    aws.glue_jobs[TEAM_JOB] = misbehaving_jobs.glue_job("writes_outside")
    backend = team_backend(lake)
    rows = backend.read_partition(END).num_rows
    with pytest.raises(WroteOutsidePrefix) as refused:
        repair_day(backend, DayPlan(str(END), Action.REBUILD))
    extra, stray = f"dt={END}/part-extra.parquet", f"dt={END - timedelta(days=1)}/part-stray.parquet"
    assert extra in str(refused.value) and stray in str(refused.value)
    assert backend.read_partition(END).num_rows == rows  # the repaired day: what the job added is gone
    # Another day is not the repair's: what appeared there may be another writer's (the pipeline's own
    # run of that day), so it is named for a person and never deleted.
    assert f"flightdata_processed/{extra}" not in objects(aws)
    assert f"flightdata_processed/{stray}" in objects(aws)
    aws.client("s3").delete_object(Bucket=PROCESSED_BUCKET, Key=f"flightdata_processed/{stray}")


def test_a_teams_own_job_that_honours_the_contract_is_published(aws, lake):
    aws.glue_jobs[TEAM_JOB] = duckdb_job  # the team's job: any code honouring the contract
    backend = team_backend(lake)
    rows = backend.read_partition(END).num_rows
    done = repair_day(backend, DayPlan(str(END), Action.REBUILD))
    (run,) = aws.job_runs(str(END), job_name=TEAM_JOB)[-1:]
    assert done["etl_run_id"] == run["Id"] and done["location"] == run["Arguments"]["--output_prefix"]
    assert locations(aws)[str(END)] == done["location"]
    assert backend.read_partition(END).num_rows == rows
    listed = [k for k in objects(aws) if k.startswith(f"flightdata_processed/dt={END}/")]
    assert sorted(listed) == sorted(
        done["location"].removeprefix(f"s3://{PROCESSED_BUCKET}/") + name
        for name in ("_SUCCESS", "part-00000.parquet")
    )  # the flat files it replaced are gone


def test_the_repair_starts_the_job_the_setting_names_and_no_other(aws, lake):
    aws.glue_jobs[TEAM_JOB] = duckdb_job
    ours_before = len(aws.job_runs(str(END - timedelta(days=1))))
    repair_day(team_backend(lake), DayPlan(str(END - timedelta(days=1)), Action.REBUILD))
    assert len(aws.job_runs(str(END - timedelta(days=1)))) == ours_before  # flightdata-etl: not run
    assert [r["JobRunState"] for r in aws.job_runs(str(END - timedelta(days=1)), job_name=TEAM_JOB)] == [
        "SUCCEEDED"
    ]
