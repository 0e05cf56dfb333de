"""ETL jobs that break the job contract on purpose (docs/aws.md "The ETL job contract"), for the tests
of the repair's write-audit-publish (`flightdq.recovery.publish`).

Each misbehaviour is written once, against `JobIO` (the run's day and prefix, our own job, and plain
reads and writes of keys under the processed bucket), and runs on either backend:

- on the embedded lake as `FLIGHTDQ_ETL_JOB=flightdq_dev.misbehaving_jobs:<name>` (a function
  called with the job's arguments, as `flightdq.backends.local.backend.run_local_job` calls a job);
- on the emulator's Glue as the code of a Glue job: `aws.glue_jobs[job] = glue_job("<name>")`.

The misbehaviours (`MISBEHAVIOURS`): `writes_nothing` (succeeds without writing), `no_success`
(writes the data, not `_SUCCESS`), `shrunk_day` (drops half the day's flights), `wrong_schema`
(a column of another type), `writes_outside` (its output, plus a copy into the live partition's
folder and into another day's), `writes_twice` (its file twice over), `succeeds_twice` (a second
attempt writing its data again after the first one's `_SUCCESS`).
"""

from __future__ import annotations

import argparse
import io
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import PROCESSED_BUCKET

PART = "part-00000.parquet"


@dataclass
class JobIO:
    """What a job run has to work with: its day, its prefix (a key under the processed bucket, ending
    in `/`), our own job writing the day there, and reads and writes of any key of the bucket."""

    dt: str
    prefix: str
    write_ours: Callable[[], None]
    get: Callable[[str], bytes]
    put: Callable[[str, bytes], None]
    delete: Callable[[str], None]


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dt", required=True)
    parser.add_argument("--output_prefix", required=True)
    parser.add_argument("--lake")
    args, _ = parser.parse_known_args(argv)
    return args


def local_io(argv: list[str]) -> JobIO:
    """`JobIO` on the embedded lake, from the local job's arguments (`--dt`, `--output_prefix`, `--lake`)."""
    from flightdq.etl.transform import run_local_job

    args = _parse(argv)
    lake = Path(args.lake)
    folder = lake / args.output_prefix
    root = lake / PROCESSED_BUCKET

    def put(key: str, body: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(body)

    return JobIO(
        dt=args.dt,
        prefix=folder.relative_to(root).as_posix() + "/",
        write_ours=lambda: run_local_job(lake, date.fromisoformat(args.dt), folder),
        get=lambda key: (root / key).read_bytes(),
        put=put,
        delete=lambda key: (root / key).unlink(),
    )


def s3_io(argv: list[str], s3: Any) -> JobIO:
    """`JobIO` on S3, from a Glue run's arguments (`--dt`, `--output_prefix s3://...`)."""
    from flightdq.etl import glue_entry
    from flightdq.etl.partitions import split_location

    args = _parse(argv)
    bucket, prefix = split_location(args.output_prefix)
    return JobIO(
        dt=args.dt,
        prefix=prefix,
        write_ours=lambda: glue_entry.run_job(
            date.fromisoformat(args.dt), s3=s3, output_prefix=args.output_prefix
        ),
        get=lambda key: s3.get_object(Bucket=bucket, Key=key)["Body"].read(),
        put=lambda key, body: s3.put_object(Bucket=bucket, Key=key, Body=body),
        delete=lambda key: s3.delete_object(Bucket=bucket, Key=key),
    )


def _table(body: bytes) -> Any:
    import pyarrow.parquet as pq

    return pq.read_table(io.BytesIO(body))


def _parquet(table: Any) -> bytes:
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def writes_nothing_(job: JobIO) -> None:
    """Succeeds without writing anything."""


def no_success_(job: JobIO) -> None:
    """Writes the day's data, but no `_SUCCESS` (it died before, and said it succeeded)."""
    job.write_ours()
    job.delete(job.prefix + "_SUCCESS")


def shrunk_day_(job: JobIO) -> None:
    """Writes only the first half of the day's flights (a filter gone wrong)."""
    job.write_ours()
    table = _table(job.get(job.prefix + PART))
    job.put(job.prefix + PART, _parquet(table.slice(0, table.num_rows // 2)))


def wrong_schema_(job: JobIO) -> None:
    """Writes `position_count` as a 32-bit integer (the contract says bigint)."""
    import pyarrow as pa

    job.write_ours()
    table = _table(job.get(job.prefix + PART))
    index = table.schema.get_field_index("position_count")
    table = table.set_column(index, "position_count", table.column(index).cast(pa.int32()))
    job.put(job.prefix + PART, _parquet(table))


def writes_outside_(job: JobIO) -> None:
    """Writes its output, and a copy of its file into the live partition's folder and into the
    folder of the day before."""
    job.write_ours()
    body = job.get(job.prefix + PART)
    job.put(layout.processed_partition_prefix(job.dt) + "part-extra.parquet", body)
    other = date.fromisoformat(job.dt) - timedelta(days=1)
    job.put(layout.processed_partition_prefix(other) + "part-stray.parquet", body)


def writes_twice_(job: JobIO) -> None:
    """Writes its file twice over (a retried task inside the job), then `_SUCCESS`."""
    job.write_ours()
    job.put(job.prefix + "part-00001.parquet", job.get(job.prefix + PART))


def succeeds_twice_(job: JobIO) -> None:
    """Succeeds, then a second attempt of the same run writes its data again after that `_SUCCESS`."""
    job.write_ours()
    time.sleep(AFTER_SUCCESS_SECONDS)  # past the clock slack the audit allows
    job.put(job.prefix + "part-00001.parquet", job.get(job.prefix + PART))


AFTER_SUCCESS_SECONDS = 3.5  # > publish.CLOCK_SLACK_SECONDS + S3's one-second LastModified

MISBEHAVIOURS: dict[str, Callable[[JobIO], None]] = {
    "writes_nothing": writes_nothing_,
    "no_success": no_success_,
    "shrunk_day": shrunk_day_,
    "wrong_schema": wrong_schema_,
    "writes_outside": writes_outside_,
    "writes_twice": writes_twice_,
    "succeeds_twice": succeeds_twice_,
}


def glue_job(name: str) -> Callable[[list[str], Any], None]:
    """The misbehaviour `name` as the code of an emulated Glue job (`AwsEmulator.glue_jobs`)."""
    behave = MISBEHAVIOURS[name]
    return lambda argv, s3: behave(s3_io(argv, s3))


def __getattr__(name: str) -> Callable[[list[str]], None]:
    """`flightdq_dev.misbehaving_jobs:<name>`: the misbehaviour as a local job (`FLIGHTDQ_ETL_JOB`)."""
    if name in MISBEHAVIOURS:
        behave = MISBEHAVIOURS[name]
        return lambda argv: behave(local_io(argv))
    raise AttributeError(name)
