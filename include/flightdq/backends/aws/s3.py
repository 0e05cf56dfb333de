"""The lake's objects on S3: raw presence and freshness come from listing the raw keys (never reading
bodies); processed files from listing the partition's catalog Location (or, for a day not registered,
the folder that holds it: `flightdq.etl.partitions`); Parquet schemas from the files' footers
(ranged GETs). Also flightdq's own records (check history, incidents, alerts) under one S3 prefix
(`FLIGHTDQ_HISTORY_URI`, default `s3://flightdata-processed/`, so keys read
`s3://flightdata-processed/flightdq-history/...`), with create-only writes by S3 conditional puts.
"""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from flightdq.backends.aws.clients import partition_day
from flightdq.backends.base import BackendError, PartitionFileUnreadable
from flightdq.core import layout, parquet_types
from flightdq.core.arrow import unify_by_name
from flightdq.core.contract import PROCESSED_BUCKET, PROCESSED_PREFIX, RAW_BUCKET
from flightdq.core.errors import describe_error
from flightdq.etl.partitions import DayObjects, data_objects, group_by_day, location_uri, split_location
from flightdq.etl.s3_io import S3RangeReader, error_code, list_objects

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.parquet as pq

T = TypeVar("T")

DEFAULT_HISTORY_URI = f"s3://{PROCESSED_BUCKET}/"
HISTORY_URI_ENV = "FLIGHTDQ_HISTORY_URI"


class S3Lake:
    """The raw and processed buckets, read through the S3 client `s3()` gives (made on first use).

    A processed partition's files are the data files directly under its catalog Location
    (`locations(start, end)`: dt -> s3:// URI, from Glue), as Athena reads them; the ETL's atomic swap
    makes that a `dt=D/run=<id>/` prefix. A day not registered is read from the folder that holds it
    in storage (`flightdq.etl.partitions.DayObjects.stored_prefix`: the newest complete `run=` prefix,
    else the files directly under `dt=D/`, as a foreign lake lays them out).
    """

    def __init__(
        self,
        s3: Callable[[], Any],
        locations: Callable[[date | None, date | None], dict[str, str]] | None = None,
    ) -> None:
        self._s3 = s3
        self._locations = locations or (lambda start, end: {})

    def _days_in_storage(self, start: date | None, end: date | None) -> dict[str, DayObjects]:
        base = f"{PROCESSED_PREFIX}/"
        kwargs: dict[str, Any] = {"Bucket": PROCESSED_BUCKET, "Prefix": f"{base}dt="}
        if start is not None:
            kwargs["StartAfter"] = f"{base}dt={partition_day(start)}"  # every key of that day sorts after it
        listed = []
        for obj in list_objects(self._s3(), **kwargs):
            dt = obj["Key"][len(base) :].partition("/")[0].removeprefix("dt=")
            if end is not None and layout.is_partition_value(dt) and dt > str(end):
                break  # keys come sorted
            listed.append(obj)
        days = group_by_day(listed, base)
        return {
            dt: found
            for dt, found in days.items()
            if (start is None or dt >= str(start)) and (end is None or dt <= str(end))
        }

    def _files(self, dt: str, stored: DayObjects | None, location: str | None) -> tuple[str, str, list[dict]]:
        """(bucket, prefix, data objects) of day `dt`: its catalog Location's when registered, else
        the folder that holds it in storage (prefix empty: no files anywhere)."""
        stored = stored or DayObjects(dt)
        if location:
            bucket, prefix = split_location(location)
            if bucket == PROCESSED_BUCKET and prefix.startswith(stored.prefix):
                return bucket, prefix, data_objects(stored.objects_under(prefix), prefix)
            listed = list(list_objects(self._s3(), Bucket=bucket, Prefix=prefix))
            return bucket, prefix, data_objects(listed, prefix)
        prefix = stored.stored_prefix()
        if prefix is None:
            return PROCESSED_BUCKET, "", []
        return PROCESSED_BUCKET, prefix, data_objects(stored.objects_under(prefix), prefix)

    def processed_partitions_in_storage(
        self, start: date | None = None, end: date | None = None
    ) -> dict[str, list[str]]:
        """Days with objects under `dt=D/` (or a registered Location elsewhere) -> their data files."""
        days = self._days_in_storage(start, end)
        locations = self._locations(start, end)
        found: dict[str, list[str]] = {}
        for dt in sorted(set(days) | set(locations)):  # `locations` keeps to the range already
            bucket, _, objects = self._files(dt, days.get(dt), locations.get(dt))
            if dt in days or objects:
                found[dt] = [f"s3://{bucket}/{o['Key']}" for o in objects]
        return found

    def stored_locations(self, dts: list[str]) -> dict[str, str]:
        """Where each day is held in storage (what catalog repair registers): the newest complete
        `run=` prefix, else `dt=D/` itself (also when nothing is there)."""
        s3, found = self._s3(), {}
        for dt in dts:
            prefix = layout.processed_partition_prefix(dt)
            day = DayObjects(dt)
            for obj in list_objects(s3, Bucket=PROCESSED_BUCKET, Prefix=prefix):
                day.add(obj)
            found[dt] = location_uri(day.stored_prefix() or prefix)
        return found

    def _partition_objects(self, day: date | str) -> tuple[str, str, list[dict[str, Any]]]:
        dt = partition_day(day)
        stored = DayObjects(dt)
        for obj in list_objects(self._s3(), Bucket=PROCESSED_BUCKET, Prefix=stored.prefix):
            stored.add(obj)
        return self._files(
            dt, stored, self._locations(date.fromisoformat(dt), date.fromisoformat(dt)).get(dt)
        )

    def read_partition(self, day: date) -> pa.Table:
        import pyarrow.parquet as pq

        bucket, prefix, objects = self._partition_objects(day)
        if not objects:
            raise BackendError(
                f"processed partition dt={day} has no Parquet files "
                f"(s3://{bucket}/{prefix or layout.processed_partition_prefix(day)})"
            )
        s3 = self._s3()
        tables = []
        for obj in objects:
            body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            try:
                tables.append(pq.read_table(io.BytesIO(body)))
            except Exception as exc:
                if not _is_arrow_error(exc):
                    raise
                raise PartitionFileUnreadable(
                    f"processed partition dt={day} cannot be read: {describe_error(exc)}",
                    files=(f"s3://{bucket}/{obj['Key']}",),
                ) from exc
        return concat_by_name(tables, f"processed partition dt={day}")

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        """Each file's arrow schema from its footer, read with ranged GETs (never the whole object)."""
        return self._footers(day, None, lambda footer: footer.schema_arrow)

    def partition_file_columns(
        self, day: date, *, unreadable: dict[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        """file -> column -> Parquet type (`core.parquet_types` spelling), from each file's footer,
        read with ranged GETs (never the whole object)."""
        return self._footers(day, unreadable, parquet_columns)

    def _footers(
        self, day: date, unreadable: dict[str, str] | None, read: Callable[[pq.ParquetFile], T]
    ) -> dict[str, T]:
        """`read` of each data file's footer (pyarrow's ParquetFile over ranged GETs: the footer's
        length, then the footer). A file that is not Parquet raises, or is named in `unreadable`."""
        import pyarrow.parquet as pq

        s3 = self._s3()
        found = {}
        bucket, _, objects = self._partition_objects(day)
        for obj in objects:
            name = f"s3://{bucket}/{obj['Key']}"
            try:
                with S3RangeReader(s3, bucket, obj["Key"], obj["Size"]) as handle:
                    found[name] = read(pq.ParquetFile(handle))
            except Exception as exc:  # pyarrow raises several types for an object that is not Parquet
                if not _is_arrow_error(exc):
                    raise
                if unreadable is None:
                    raise PartitionFileUnreadable(
                        f"footer of {name}: {describe_error(exc)}", files=(name,)
                    ) from exc
                unreadable[name] = describe_error(exc)
        return found

    def read_raw_snapshot(self, day: date, hour: int, unix: int) -> bytes | None:
        from botocore.exceptions import ClientError

        for gz in (False, True):
            try:
                response = self._s3().get_object(
                    Bucket=RAW_BUCKET, Key=layout.raw_key(day, hour, unix, gzip=gz)
                )
            except ClientError as exc:
                if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                    continue
                raise
            return response["Body"].read()
        return None

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        from flightdq.core.dates import iter_days

        s3 = self._s3()
        result: dict[str, dict[int, list[int]]] = {}
        for day in iter_days(start, end):
            hours: dict[int, list[int]] = {}
            for obj in list_objects(s3, Bucket=RAW_BUCKET, Prefix=layout.raw_day_prefix(day)):
                match = layout.RAW_KEY_RE.match(obj["Key"])
                if match and obj.get("Size", layout.MIN_SNAPSHOT_BYTES) >= layout.MIN_SNAPSHOT_BYTES:
                    hours.setdefault(int(match["hour"]), []).append(int(match["unix"]))
            result[str(day)] = {h: sorted(times) for h, times in sorted(hours.items())}
        return result


def parquet_columns(footer: pq.ParquetFile) -> dict[str, str]:
    """A footer's top-level columns -> Parquet type (`core.parquet_types` spelling)."""
    import json

    import pyarrow as pa

    groups = {pa.types.is_list: "LIST", pa.types.is_large_list: "LIST", pa.types.is_map: "MAP"}
    top_level = []
    for field in footer.schema_arrow:
        nested = pa.types.is_nested(field.type)
        kind = next((k for test, k in groups.items() if test(field.type)), "")
        top_level.append((field.name, kind if nested else None))
    columns = [footer.schema.column(i) for i in range(len(footer.schema))]
    leaves = {c.path: (c.physical_type, json.loads(c.logical_type.to_json())) for c in columns}
    return parquet_types.from_pyarrow(top_level, leaves)


def _is_arrow_error(exc: Exception) -> bool:
    """A file that is not (valid) Parquet, as opposed to S3 failing us (which must propagate)."""
    import pyarrow as pa

    return isinstance(exc, pa.ArrowException | OSError) and not hasattr(exc, "response")


def concat_by_name(tables: list[pa.Table], what: str) -> pa.Table:
    """The tables as one, columns unified by name (first file's type wins, a column a file lacks is
    null there); a type that cannot be cast raises BackendError naming `what`."""
    import pyarrow as pa

    unified = unify_by_name([table.schema for table in tables])
    parts = []
    for table in tables:
        columns = []
        for field in unified:
            if field.name in table.column_names:
                column = table.column(field.name)
                if column.type != field.type:
                    try:
                        column = column.cast(field.type)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise BackendError(
                            f"{what}: column {field.name} is {column.type} in one file, "
                            f"{field.type} in another"
                        ) from exc
            else:
                column = pa.nulls(table.num_rows, field.type)
            columns.append(column)
        parts.append(pa.Table.from_arrays(columns, schema=unified))
    return pa.concat_tables(parts)


class S3BlobStore:
    """flightdq's records (check history, incidents, alerts) under one S3 prefix.

    `put` is one PutObject (atomic: readers see the old object or the new one). `put_if_absent` is a
    conditional PutObject (`If-None-Match: *`): S3 answers 412 when the key exists, so exactly one
    caller creates it; a 409 ConditionalRequestConflict (a concurrent write) is retried.
    """

    def __init__(self, uri: str, client: Callable[[], Any], *, sleep: Callable[[float], None] = time.sleep):
        if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
            raise BackendError(f"{HISTORY_URI_ENV}={uri!r} is not an s3://bucket/prefix/ URI")
        bucket, _, prefix = uri[5:].partition("/")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client = client
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad store key {key!r}")
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self._client().put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        full = self._key(key)
        for attempt in range(6):
            try:
                self._client().put_object(Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*")
                return True
            except ClientError as exc:
                code = error_code(exc)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code == "PreconditionFailed" or status == 412:
                    return False
                if code != "ConditionalRequestConflict" and status != 409:
                    raise
            self._sleep(0.05 * 2**attempt)
        raise BackendError(f"create-only write of {self.location(key)} kept conflicting (409); try again")

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self._client().get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def delete(self, key: str) -> None:
        self._client().delete_object(Bucket=self.bucket, Key=self._key(key))  # absent: no error

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix) if prefix.strip("/") else self.prefix
        if prefix.strip("/") and not full.endswith("/"):
            full += "/"  # a prefix names a folder, as in the local store
        keys = [
            obj["Key"][len(self.prefix) :]
            for obj in list_objects(self._client(), Bucket=self.bucket, Prefix=full)
            if not obj["Key"].endswith("/")
        ]
        return sorted(keys)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key) if key else self.prefix}"
