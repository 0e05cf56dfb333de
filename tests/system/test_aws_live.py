"""Opt-in live system test: one check and one dry-run remediation against a real AWS account's Athena,
Glue and S3 (the emulator's Athena is DuckDB after sqlglot's translation; this is the one test that
meets Trino itself).

Shaped like the amazon provider's system tests: a test context built from environment variables (an
`ENV_ID` naming this run, the day), setup, the body, and a teardown that always runs and removes
what the body wrote. It is deselected by default (`addopts` has `-m "not aws_live"`) and skips unless
`FLIGHTDQ_AWS_LIVE=1` is set and boto3 finds credentials.

Run it:

    export FLIGHTDQ_AWS_LIVE=1
    export AWS_PROFILE=...            # or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN
    export AWS_DEFAULT_REGION=eu-west-1
    export FLIGHTDQ_LIVE_DAY=2026-11-25   # optional: the day to check (default: yesterday, UTC)
    export SYSTEM_TESTS_ENV_ID=...        # optional: names this run's records (default: random)
    .venv/bin/python -m pytest tests/system/test_aws_live.py -m aws_live -v

It needs the deployment of docs/aws.md (the buckets, the Glue database `flightdata` and table, the
Glue job `flightdata-etl`, the Athena workgroup `primary`) and the Airflow role's permissions from
there. It costs one or two small Athena queries. It starts no Glue run and changes no data or catalog
entry: the check runs with `--no-record`, the remediation is `--dry-run`. The dry run keeps its own
record (marked `dry_run`), which goes to `s3://flightdata-processed/flightdq-live-tests/<ENV_ID>/`
(`FLIGHTDQ_HISTORY_URI`) and is deleted by the teardown.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = [pytest.mark.aws_live, pytest.mark.slow]

FLIGHTDQ = str(Path(sys.executable).with_name("flightdq"))
LIVE_PREFIX = "flightdq-live-tests"


def _credentials_or_skip() -> None:
    if os.environ.get("FLIGHTDQ_AWS_LIVE") != "1":
        pytest.skip("live AWS test: set FLIGHTDQ_AWS_LIVE=1 (and AWS credentials) to run it")
    import boto3

    if boto3.Session().get_credentials() is None:
        pytest.skip("live AWS test: boto3 finds no AWS credentials")


@pytest.fixture(scope="module")
def test_context(tmp_path_factory) -> dict[str, str]:
    """The system-test context: ENV_ID, the day, the region and the environment for `flightdq`."""
    _credentials_or_skip()
    import boto3

    from flightdq.core.contract import PROCESSED_BUCKET

    region = boto3.Session().region_name or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    env_id = os.environ.get("SYSTEM_TESTS_ENV_ID") or f"t{uuid.uuid4().hex[:10]}"
    day = os.environ.get("FLIGHTDQ_LIVE_DAY") or str(datetime.now(UTC).date() - timedelta(days=1))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLIGHTDQ_", "AWS_ENDPOINT_URL"))}
    env |= {
        "FLIGHTDQ_BACKEND": "aws",
        "FLIGHTDQ_AWS_CONN_ID": "aws_default",
        "FLIGHTDQ_LAKE": str(tmp_path_factory.mktemp("unused-lake")),
        "FLIGHTDQ_HISTORY_URI": f"s3://{PROCESSED_BUCKET}/{LIVE_PREFIX}/{env_id}",
        # No login in the connection: the provider's hook uses boto3's own credential chain.
        "AIRFLOW_CONN_AWS_DEFAULT": json.dumps({"conn_type": "aws", "extra": {"region_name": region}}),
        "AIRFLOW__LOGGING__NAMESPACE_LEVELS": "airflow.providers.amazon=WARNING",  # keep stdout JSON
    }
    return {"ENV_ID": env_id, "DAY": day, "REGION": region, "BUCKET": PROCESSED_BUCKET, "env": env}


@pytest.fixture(scope="module")
def live(test_context):
    """Setup (the deployment must be there) and a teardown that always runs."""
    import boto3

    from flightdq.core.contract import ETL_JOB_NAME, GLUE_DATABASE, PROCESSED_TABLE

    session = boto3.Session(region_name=test_context["REGION"])
    session.client("glue").get_table(DatabaseName=GLUE_DATABASE, Name=PROCESSED_TABLE)
    session.client("glue").get_job(JobName=ETL_JOB_NAME)
    try:
        yield test_context
    finally:  # teardown, trigger rule "all done": only this run's own records
        s3, bucket = session.client("s3"), test_context["BUCKET"]
        prefix = f"{LIVE_PREFIX}/{test_context['ENV_ID']}/"
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            keys = [{"Key": o["Key"]} for o in page.get("Contents") or []]
            if keys:
                s3.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def flightdq(context: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([FLIGHTDQ, *args], env=context["env"], capture_output=True, text=True, timeout=900)


def test_partition_presence_on_real_athena_and_glue(live):
    day = live["DAY"]
    done = flightdq(
        live, "validate", "--date", day, "--check", "partition_presence", "--all", "--json", "--no-record"
    )
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]  # 1: a real finding
    document = done.stdout[re.search(r"^\{", done.stdout, re.MULTILINE).start() :]  # after any log lines
    results = json.loads(document)["results"]
    assert results and {(r["dt"], r["check"]) for r in results} == {(day, "partition_presence")}
    assert all(r["status"] in ("pass", "warn", "fail") for r in results), results  # never "error"
    assert (done.returncode == 0) == all(r["status"] != "fail" for r in results)
    athena = [q for r in results for q in r["details"].get("queries", []) if q["engine"] == "athena"]
    assert athena and all(q["query_execution_id"] for q in athena)  # it met Athena itself


def test_dry_run_remediation_plans_and_changes_nothing(live):
    import boto3

    from flightdq.core.contract import ETL_JOB_NAME

    glue = boto3.Session(region_name=live["REGION"]).client("glue")
    runs_before = {r["Id"] for r in glue.get_job_runs(JobName=ETL_JOB_NAME, MaxResults=50)["JobRuns"]}
    done = flightdq(live, "remediate", "--date", live["DAY"], "--dry-run")
    assert done.returncode in (0, 1), done.stdout[-2000:] + done.stderr[-2000:]
    table = done.stdout[done.stdout.index("dt ") :].splitlines()
    (row,) = [line for line in table if line.startswith(live["DAY"])]
    outcome = row.split()[2]
    # planned: a repair it would make; not_repairable/upstream: a real day can be beyond repair.
    # cannot_plan would mean the evidence could not be gathered from the account: not sane.
    assert outcome in ("nothing_to_do", "planned", "not_repairable", "upstream"), row
    assert (done.returncode == 0) == (outcome in ("nothing_to_do", "planned"))
    runs_after = {r["Id"] for r in glue.get_job_runs(JobName=ETL_JOB_NAME, MaxResults=50)["JobRuns"]}
    assert runs_after == runs_before  # a dry run starts no Glue run
