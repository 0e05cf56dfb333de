"""Seeding: loading a local lake into the emulated (or any) AWS, and the Glue table and job
definitions as docs/aws.md deploys them."""

from __future__ import annotations

import contextlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flightdq.core.contract import (
    ATHENA_WORKGROUP,
    ETL_JOB_NAME,
    GLUE_DATABASE,
    METRICS_TABLE,
    PARTITION_KEY,
    PROCESSED_BUCKET,
    PROCESSED_COLUMNS,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
    QUERY_RESULTS_BUCKET,
    RAW_BUCKET,
)
from flightdq_dev.emulator.common import (
    ACCOUNT_ID,
    DUMMY_CREDENTIAL,
    PARQUET_INPUT,
    PARQUET_OUTPUT,
    PARQUET_SERDE,
    REGION,
    SNS_TOPIC,
)


@dataclass(frozen=True)
class SeedReport:
    endpoint: str
    raw_objects: int
    processed_objects: int
    partitions: list[str]
    topic_arn: str


ARTIFACTS = "s3://flightdata-artifacts/flightdq"  # where docs/aws.md puts the script and the wheel
SPARK_SCRIPT = "spark_job.py"  # the reference job, as docs/aws.md deploys it
DUCKDB_SCRIPT = "glue_entry.py"  # the Spark-less job: the day on the driver, DuckDB (faster to start)


def seed_from_lake(
    local_lake_root: Path | str, endpoint: str, *, region: str = REGION, etl_script: str = SPARK_SCRIPT
) -> SeedReport:
    """Load a local lake (as `flightdq_dev.generator.generate_lake` writes it) into the AWS at `endpoint`:
    the three buckets with the lake's raw and processed objects, the Glue database and table (schema
    from the contract, partition key dt string, Parquet SerDe) with the partitions the local catalog
    has registered, the Glue job `flightdata-etl` (MaxConcurrentRuns 1; its script `etl_script`: the
    Spark job as deployed, or `DUCKDB_SCRIPT` where a test wants the job's runs quick), the Athena
    workgroup, the SNS topic `flightdata-dq-alerts` and the DynamoDB table `flightdata-metrics`.
    Idempotent."""
    import boto3
    from botocore.config import Config

    from flightdq.backends.aws.catalog import register_partitions_with_client
    from flightdq.backends.local.catalog import LocalCatalog

    root = Path(local_lake_root)
    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIAL, aws_secret_access_key=DUMMY_CREDENTIAL, region_name=region
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint, config=Config(max_pool_connections=16))

    s3, glue = client("s3"), client("glue")
    for bucket in (RAW_BUCKET, PROCESSED_BUCKET, QUERY_RESULTS_BUCKET):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(Bucket=bucket)
    raw = _lake_objects(root / RAW_BUCKET)
    processed = _lake_objects(root / PROCESSED_BUCKET, only_prefix=f"{PROCESSED_PREFIX}/")
    _put_objects(s3, RAW_BUCKET, raw)
    _put_objects(s3, PROCESSED_BUCKET, processed)

    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": GLUE_DATABASE, "Description": "flight data lake"})
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=processed_table_input())
    registered = sorted(LocalCatalog(root).registered(PROCESSED_TABLE))
    register_partitions_with_client(glue, registered)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_job(**etl_job_definition(etl_script))

    athena = client("athena")
    try:
        athena.get_work_group(WorkGroup=ATHENA_WORKGROUP)
    except athena.exceptions.InvalidRequestException:
        athena.create_work_group(Name=ATHENA_WORKGROUP)
    topic_arn = client("sns").create_topic(Name=SNS_TOPIC)["TopicArn"]
    dynamodb = client("dynamodb")
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(  # its schema is the pipeline's; flightdq does not use it (docs/aws.md)
            TableName=METRICS_TABLE,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    return SeedReport(endpoint, len(raw), len(processed), registered, topic_arn)


def processed_table_input() -> dict[str, Any]:
    """The Glue TableInput of `flightdata_processed` (contract section 1)."""
    return {
        "Name": PROCESSED_TABLE,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.sql_type} for c in PROCESSED_COLUMNS],
            "Location": f"s3://{PROCESSED_BUCKET}/{PROCESSED_PREFIX}/",
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
            "Compressed": False,
            "StoredAsSubDirectories": False,
        },
    }


def etl_job_definition(script: str = SPARK_SCRIPT) -> dict[str, Any]:
    """The Glue job `flightdata-etl` as docs/aws.md deploys it (Glue 5.0, Python 3.11), with `script`
    (a file name under the artifacts prefix) as its ScriptLocation: the emulator's Glue runs the code
    the script names (`flightdq_dev.emulator.glue.SCRIPTS`)."""
    extra_modules = (
        "sqlglot==30.30.0,pyarrow==26.0.1" if script == SPARK_SCRIPT else "duckdb==2.0.1,pyarrow==26.0.1"
    )
    return {
        "Name": ETL_JOB_NAME,
        "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/flightdata-etl",
        "Command": {"Name": "glueetl", "ScriptLocation": f"{ARTIFACTS}/{script}", "PythonVersion": "3"},
        "GlueVersion": "5.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        "Timeout": 60,
        "MaxRetries": 0,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "DefaultArguments": {
            "--additional-python-modules": f"{ARTIFACTS}/flightdq-0.1.0-py3-none-any.whl,{extra_modules}",
            "--job-language": "python",
        },
    }


def _lake_objects(folder: Path, only_prefix: str = "") -> list[tuple[str, Path | None]]:
    """(key, file) for every file under `folder` (hidden names skipped), plus (key/, None) folder
    markers for empty folders, as the S3 console makes them."""
    objects: list[tuple[str, Path | None]] = []
    if not folder.is_dir():
        return objects
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in key.split("/")) or not key.startswith(only_prefix):
            continue
        if path.is_file():
            objects.append((key, path))
        elif path.is_dir() and not any(path.iterdir()):
            objects.append((key + "/", None))
    return objects


def _put_objects(s3: Any, bucket: str, objects: list[tuple[str, Path | None]]) -> None:
    def put(item: tuple[str, Path | None]) -> None:
        key, path = item
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes() if path else b"")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, objects))
