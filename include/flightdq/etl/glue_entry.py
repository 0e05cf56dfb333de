"""The Glue job `flightdata-etl` on AWS: write one UTC day's processed Parquet under the prefix it is given.

    flightdata-etl --dt YYYY-MM-DD --output_prefix s3://<processed bucket>/flightdata_processed/dt=D/run=<id>/
    (Glue passes its own --JOB_RUN_ID, --JOB_NAME, ...: ignored)

It honours the ETL job contract (docs/aws.md "The ETL job contract"): it only WRITES. For the day
given by `--dt` (validated by `flightdq.core.dates.parse_day`):

1. list the day's raw objects `s3://flightdata-raw/year=/month=/day=/hour=/states_<unix>.json[.gz]`
   (no raw object at all: the run fails: raw data that is gone cannot rebuild the day);
2. download them to a temporary folder and run the same pure transform as the local job
   (`flightdq.etl.transform.transform_day_skipping`), so both backends make byte-for-byte the same
   rows; a snapshot that cannot be read is left out;
3. write the Parquet file locally and read it back (rows and schema must be the built ones);
4. upload it as `<output_prefix>part-00000.parquet`, verify the stored object (its size, then its
   footer's row count and schema, read back from S3), write `<output_prefix>_SKIPPED.json` (the raw
   keys left out, when any), then an empty `<output_prefix>_SUCCESS` last. Any failure deletes what
   it wrote under the prefix and fails the run (Glue FAILED, the error as its ErrorMessage).

It writes nothing anywhere else and never touches the catalog. Auditing the prefix, pointing the
Glue partition at it and deleting the old objects is the repair's (`flightdq.recovery.publish`), so
a team's own job that honours the contract is as safe as this one.

Deployment (see docs/aws.md): a Glue 5.0 job (Spark job type `glueetl`, Python 3.11; the Python shell
job type only offers Python 3.9) with `--additional-python-modules` carrying the flightdq wheel and
duckdb==2.0.1 (and the pinned pyarrow), script = this file, `MaxConcurrentRuns` 1. It imports only
`flightdq.etl` and `flightdq.core`, never the Airflow-side backend.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, RAW_BUCKET
from flightdq.core.dates import InputError, parse_day
from flightdq.core.errors import describe_error
from flightdq.etl.partitions import split_location
from flightdq.etl.s3_io import S3RangeReader, delete_keys, download, list_keys
from flightdq.etl.transform import (
    PART_FILE,
    SKIPPED_FILE,
    SUCCESS_MARKER,
    EtlError,
    transform_day_skipping,
    write_verified,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlueEtlOutcome:
    dt: str
    rows: int
    raw_objects: int
    key: str  # s3:// URI of the file written
    output_prefix: str  # s3:// URI of the prefix written (its _SUCCESS marker last)
    skipped: list[str] = field(default_factory=list)  # unreadable raw snapshots left out (s3:// URIs)
    lost_hours: list[int] = field(default_factory=list)  # hours with no readable snapshot left


def run_job(day: date, *, s3: Any, output_prefix: str, raw_bucket: str = RAW_BUCKET) -> GlueEtlOutcome:
    """Write the day's partition under `output_prefix` (an s3:// URI ending in `/`) from the raw
    objects in `raw_bucket`, with the given boto3 S3 client (steps in the module's docstring). Raises
    EtlError naming the day on any failure, after deleting what it wrote."""
    from botocore.exceptions import BotoCoreError, ClientError

    dt = str(parse_day(str(day), "--dt"))
    if not output_prefix.startswith(("s3://", "s3a://")) or not output_prefix.endswith("/"):
        raise InputError(f"--output_prefix {output_prefix!r} is no s3:// folder (an s3://bucket/prefix/ URI)")
    bucket, prefix = split_location(output_prefix)
    if not bucket or not prefix:
        raise InputError(f"--output_prefix {output_prefix!r} names no bucket and prefix")
    try:
        raw_keys = list_raw_keys(s3, raw_bucket, day)
        if not raw_keys:
            raise EtlError(
                f"dt={dt}: no raw snapshots under s3://{raw_bucket}/{layout.raw_day_prefix(day)}; "
                "nothing was written"
            )
        with tempfile.TemporaryDirectory(prefix=f"{ETL_JOB_NAME}-{dt}-") as tmp:
            raw_dir = Path(tmp) / "raw"
            files = download(s3, raw_bucket, raw_keys, raw_dir)
            table, unreadable = transform_day_skipping(files, day)  # left out, named in _SKIPPED.json
            bad_keys = sorted(Path(f).relative_to(raw_dir).as_posix() for f in unreadable)
            local = Path(tmp) / PART_FILE
            write_verified(table, local, dt)
            new_key = f"{prefix}{PART_FILE}"
            try:
                s3.upload_file(str(local), bucket, new_key)
                _verify_uploaded(s3, bucket, new_key, local, table, dt)
                if bad_keys:
                    s3.put_object(
                        Bucket=bucket, Key=prefix + SKIPPED_FILE, Body=json.dumps(bad_keys).encode()
                    )
                s3.put_object(Bucket=bucket, Key=prefix + SUCCESS_MARKER, Body=b"")
            except Exception:
                log.error("dt=%s: removing what this run wrote under %s", dt, output_prefix)
                try:
                    delete_keys(s3, bucket, list_keys(s3, bucket, prefix))
                except (BotoCoreError, ClientError) as cleanup:  # the original error matters more
                    log.error("dt=%s: could not remove %s: %s", dt, output_prefix, cleanup)
                raise
    except (BotoCoreError, ClientError) as exc:
        raise EtlError(f"dt={dt}: AWS call failed: {describe_error(exc)}") from exc
    log.info("dt=%s: %d rows from %d raw objects -> %s", dt, table.num_rows, len(raw_keys), output_prefix)
    return GlueEtlOutcome(
        dt=dt,
        rows=table.num_rows,
        raw_objects=len(raw_keys),
        key=f"s3://{bucket}/{new_key}",
        output_prefix=output_prefix,
        skipped=[f"s3://{raw_bucket}/{k}" for k in bad_keys],
        lost_hours=_lost_hours(raw_keys, bad_keys),
    )


def _lost_hours(keys: list[str], bad: list[str]) -> list[int]:
    """Hours of the day whose every snapshot is among `bad`."""
    by_hour: dict[int, set[str]] = {}
    for key in keys:
        if match := layout.RAW_KEY_RE.match(key):
            by_hour.setdefault(int(match["hour"]), set()).add(key)
    return sorted(h for h, hour_keys in by_hour.items() if hour_keys <= set(bad))


def list_raw_keys(s3: Any, bucket: str, day: date) -> list[str]:
    """The day's snapshot keys (matching the contract's layout), sorted."""
    return sorted(k for k in list_keys(s3, bucket, layout.raw_day_prefix(day)) if layout.RAW_KEY_RE.match(k))


def _verify_uploaded(s3: Any, bucket: str, key: str, local: Path, table, dt: str) -> None:
    """The stored object has the local file's size, and its footer (read back from S3) the built rows
    and schema."""
    import pyarrow.parquet as pq

    size = s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    if size != local.stat().st_size:
        raise EtlError(
            f"dt={dt}: s3://{bucket}/{key} holds {size} bytes, {local.stat().st_size} were written"
        )
    with S3RangeReader(s3, bucket, key, size) as handle:
        stored = pq.ParquetFile(handle)
        if stored.metadata.num_rows != table.num_rows or not stored.schema_arrow.equals(table.schema):
            raise EtlError(f"dt={dt}: s3://{bucket}/{key} does not read back as the built partition")


def parse_arguments(argv: list[str] | None = None) -> tuple[date, str]:
    """`--dt` and `--output_prefix` from the job's arguments (Glue's own ones are ignored)."""
    parser = argparse.ArgumentParser(prog=ETL_JOB_NAME, description=__doc__.splitlines()[0])
    parser.add_argument("--dt", required=True, help="the UTC day to rebuild, YYYY-MM-DD")
    parser.add_argument("--output_prefix", required=True, help="s3://bucket/prefix/ to write the day under")
    args, _glue_arguments = parser.parse_known_args(argv)
    return parse_day(args.dt, "--dt"), args.output_prefix


def main(argv: list[str] | None = None, *, s3: Any = None) -> int:
    """Glue's entry point (and a manual one: AWS credentials from the environment). Raises on failure,
    so Glue marks the run FAILED with the error as its ErrorMessage. `s3`: a client to use instead of
    boto3's default one (the emulator's)."""
    day, output_prefix = parse_arguments(argv)
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    outcome = run_job(day, s3=s3, output_prefix=output_prefix)
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main())
    except InputError as exc:  # bad --dt: say so in one line (Glue shows it as the ErrorMessage)
        raise SystemExit(f"{ETL_JOB_NAME}: error: {exc}") from None
