"""The Glue Data Catalog's partitions of the processed table: listed with `get_partitions`
(paginated, an expression on `dt`) and registered with `batch_create_partition` using the table's
StorageDescriptor (`flightdq.etl.glue_catalog`, which the Glue job shares); an entry reported
`AlreadyExistsException` is fine, any other error raises `BackendError`. A partition's Location is
where its files are (`locations`): the ETL's atomic swap points it at a new `dt=D/run=<id>/` prefix.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date
from typing import Any

from flightdq.backends.aws.clients import AwsClients, partition_day
from flightdq.backends.base import BackendError
from flightdq.core.contract import GLUE_DATABASE, PARTITION_KEY, PROCESSED_TABLE
from flightdq.etl import glue_catalog
from flightdq.etl.s3_io import error_code, error_message
from flightdq.etl.transform import EtlError


class GlueCatalog:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def registered_partitions(self, start: date, end: date) -> set[str]:
        from botocore.exceptions import ClientError

        expression = f"{PARTITION_KEY} BETWEEN '{partition_day(start)}' AND '{partition_day(end)}'"
        try:
            pages = (
                self._clients.client("glue_catalog")
                .get_paginator("get_partitions")
                .paginate(DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, Expression=expression)
            )
            values = [p["Values"] for page in pages for p in page["Partitions"]]
        except ClientError as exc:
            raise BackendError(
                f"listing partitions of {GLUE_DATABASE}.{PROCESSED_TABLE} ({expression}) failed: "
                f"{error_code(exc)}: {error_message(exc)}"
            ) from exc
        return {v[0] for v in values if v}

    def columns(self, start: date, end: date) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """The table's columns (partition keys left out) and each registered partition's within
        [start, end], name -> Glue type: one GetTable and the GetPartitions pages."""
        from botocore.exceptions import ClientError

        try:
            table = self._clients.client("glue_catalog").get_table(
                DatabaseName=GLUE_DATABASE, Name=PROCESSED_TABLE
            )["Table"]
        except ClientError as exc:
            raise BackendError(
                f"reading the columns of {GLUE_DATABASE}.{PROCESSED_TABLE} failed: "
                f"{error_code(exc)}: {error_message(exc)}"
            ) from exc

        def named(descriptor: dict[str, Any]) -> dict[str, str]:
            return {c["Name"]: c["Type"] for c in descriptor.get("Columns") or []}

        return named(table.get("StorageDescriptor") or {}), {
            p["Values"][0]: named(p.get("StorageDescriptor") or {}) for p in self._partitions(start, end)
        }

    def locations(self, start: date | None = None, end: date | None = None) -> dict[str, str]:
        """Each registered partition's Location (within [start, end] when given): where Athena reads
        it, which since the atomic swap is a `dt=D/run=<id>/` prefix (or `dt=D/` itself)."""
        return {
            p["Values"][0]: (p.get("StorageDescriptor") or {}).get("Location") or ""
            for p in self._partitions(start, end)
        }

    def _partitions(self, start: date | None, end: date | None) -> list[dict[str, Any]]:
        """The table's registered partitions (within [start, end] when given), every GetPartitions page."""
        from botocore.exceptions import ClientError

        kwargs: dict[str, Any] = {"DatabaseName": GLUE_DATABASE, "TableName": PROCESSED_TABLE}
        if start is not None or end is not None:
            low = partition_day(start) if start is not None else "0000-00-00"
            high = partition_day(end) if end is not None else "9999-99-99"
            kwargs["Expression"] = f"{PARTITION_KEY} BETWEEN '{low}' AND '{high}'"
        try:
            pages = self._clients.client("glue_catalog").get_paginator("get_partitions").paginate(**kwargs)
            partitions = [p for page in pages for p in page.get("Partitions") or []]
        except ClientError as exc:
            raise BackendError(
                f"listing partitions of {GLUE_DATABASE}.{PROCESSED_TABLE} "
                f"({kwargs.get('Expression', 'all')}) failed: {error_code(exc)}: {error_message(exc)}"
            ) from exc
        return [p for p in partitions if p.get("Values")]

    def register_partitions(
        self, dts: Iterable[str], locate: Callable[[list[str]], dict[str, str]] | None = None
    ) -> list[str]:
        """Register `dts` (already registered ones are left alone), each at the Location `locate`
        gives it (the folder that holds the day in storage; default the flat `dt=D/`)."""
        wanted = sorted({partition_day(dt) for dt in dts})
        if not wanted:
            return []
        locations = locate(wanted) if locate is not None else None
        return register_partitions_with_client(
            self._clients.client("glue_catalog"), wanted, locations=locations
        )


def register_partitions_with_client(
    glue: Any,
    dts: Iterable[str],
    *,
    database: str = GLUE_DATABASE,
    table: str = PROCESSED_TABLE,
    locations: dict[str, str] | None = None,
) -> list[str]:
    """`glue_catalog.register_partitions` with a given boto3 Glue client, its failures raised as
    BackendError (the Airflow side's error) with the same message."""
    try:
        return glue_catalog.register_partitions(
            glue, dts, database=database, table=table, locations=locations
        )
    except EtlError as exc:
        raise BackendError(str(exc)) from exc
