"""Registering processed partitions in the Glue Data Catalog with a plain boto3 Glue client: the
repair's publish (`flightdq.etl.partitions.point_partition_at`), and the AWS backend
(`flightdq.backends.aws.catalog`) for catalog repair. Partitions get the table's StorageDescriptor
with their own Location (the folder that holds the day: `flightdq.etl.partitions`); an entry Glue
reports as AlreadyExistsException is fine, any other error raises EtlError.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import GLUE_DATABASE, PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.etl.s3_io import error_code, error_message
from flightdq.etl.transform import EtlError

GLUE_BATCH_PARTITIONS = 100  # BatchCreatePartition takes at most 100 partitions

_PARTITION_SD_KEYS = (
    "Columns",
    "InputFormat",
    "OutputFormat",
    "Compressed",
    "NumberOfBuckets",
    "SerdeInfo",
    "BucketColumns",
    "SortColumns",
    "Parameters",
    "StoredAsSubDirectories",
)


def partition_location(dt: str) -> str:
    return f"s3://{PROCESSED_BUCKET}/{layout.processed_partition_prefix(dt)}"


def partition_input(table_sd: dict[str, Any], dt: str, location: str | None = None) -> dict[str, Any]:
    """A PartitionInput for `dt`: the table's StorageDescriptor with the partition's Location
    (`location`, default the flat `dt=<dt>/` folder)."""
    sd = {k: table_sd[k] for k in _PARTITION_SD_KEYS if k in table_sd}
    sd["Location"] = location or partition_location(dt)
    return {"Values": [dt], "StorageDescriptor": sd}


def register_partitions(
    glue: Any,
    dts: Iterable[str],
    *,
    database: str = GLUE_DATABASE,
    table: str = PROCESSED_TABLE,
    locations: Mapping[str, str] | None = None,
) -> list[str]:
    """Register `dts` with batch_create_partition, each at `locations[dt]` (default: the flat
    `dt=<dt>/` folder); returns the ones that were new. Entries Glue reports as
    AlreadyExistsException are fine (left as they are); any other error raises EtlError."""
    from botocore.exceptions import ClientError

    wanted = sorted({_partition_value(dt) for dt in dts})
    if not wanted:
        return []
    try:
        table_sd = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
    except ClientError as exc:
        raise EtlError(
            f"reading table {database}.{table} failed: {error_code(exc)}: {error_message(exc)}"
        ) from exc
    added: list[str] = []
    for first in range(0, len(wanted), GLUE_BATCH_PARTITIONS):
        chunk = wanted[first : first + GLUE_BATCH_PARTITIONS]
        try:
            response = glue.batch_create_partition(
                DatabaseName=database,
                TableName=table,
                PartitionInputList=[partition_input(table_sd, dt, (locations or {}).get(dt)) for dt in chunk],
            )
        except ClientError as exc:
            raise EtlError(
                f"registering partitions {chunk[0]}..{chunk[-1]} of {database}.{table} failed: "
                f"{error_code(exc)}: {error_message(exc)}"
            ) from exc
        existing, failures = set(), []
        for error in response.get("Errors") or []:
            values = error.get("PartitionValues") or ["?"]
            detail = error.get("ErrorDetail") or {}
            if detail.get("ErrorCode") == "AlreadyExistsException":
                existing.add(values[0])
            else:
                failures.append(f"dt={values[0]}: {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
        if failures:
            raise EtlError(f"registering partitions of {database}.{table} failed: {'; '.join(failures)}")
        added += [dt for dt in chunk if dt not in existing]
    return added


def _partition_value(value: Any) -> str:
    text = str(value)
    if not layout.is_partition_value(text):
        raise EtlError(f"{text!r} is not a partition value YYYY-MM-DD")
    return text
