"""The Glue job `flightdata-etl` on AWS: rebuild one UTC day's processed partition from its raw snapshots.

    flightdata-etl --dt YYYY-MM-DD        (Glue passes its own --JOB_RUN_ID, --JOB_NAME, ...: ignored)

Steps, for the day given by `--dt` (validated by `flightdq.core.dates.parse_day`):

1. list the day's raw objects `s3://flightdata-raw/year=/month=/day=/hour=/states_<unix>.json[.gz]`
   (no raw object at all: the job fails and the partition is left as it is: raw data that is gone
   cannot rebuild it);
2. download them to a temporary folder and run the same pure transform as the local job
   (`flightdq.etl.transform.transform_day`), so both backends make byte-for-byte the same rows;
3. write the Parquet file locally and read it back (rows and schema must be the built ones);
4. list the partition's current objects (`flightdata_processed/dt=<dt>/...`): the *old* ones;
5. upload the new file under a new, unique name `part-00000-<run id>.parquet` (one PUT: S3 shows the
   whole object or nothing) and verify the stored object (its size, then its footer's row count and
   schema, read back from S3). Any failure up to here deletes the new object again: the partition
   is exactly as it was;
6. delete the old objects listed in step 4 (only those: a concurrent writer's object is never
   deleted by us), then register the partition in the Glue catalog (AlreadyExists is fine).

The honest window: between the end of step 5 and the end of step 6 (one DeleteObjects call, tens of
milliseconds) a reader listing the partition sees the old and the new file, i.e. every row twice. If
the job dies inside that window, the partition keeps both until the next run of the day deletes the
old ones (the duplicates check reports it meanwhile: P2). The partition is never empty and never
half-written. S3 has no atomic multi-object rename; the alternative (a new prefix per run, swapped in
by updating the catalog partition's Location) would break the contract's fixed layout
`flightdata_processed/dt=YYYY-MM-DD/`, which other readers list directly.

Deployment (see docs/aws.md): a Glue 5.0 job (Spark job type `glueetl`, Python 3.11; the Python shell
job type only offers Python 3.9) with `--additional-python-modules` carrying the flightdq wheel and
duckdb==2.0.1 (and the pinned pyarrow), script = this file, `MaxConcurrentRuns` 1. It imports only
`flightdq.etl` and `flightdq.core` (its S3 and catalog calls are `s3_io` and `glue_catalog`), never the
Airflow-side backend.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, PROCESSED_BUCKET, RAW_BUCKET
from flightdq.core.dates import InputError, parse_day
from flightdq.core.errors import describe_error
from flightdq.core.layout import is_data_file
from flightdq.etl.glue_catalog import register_partitions
from flightdq.etl.s3_io import S3RangeReader, delete_keys, download, list_keys
from flightdq.etl.transform import (
    EtlError,
    audit_replacement,
    coverage,
    coverage_of_files,
    transform_day,
    write_verified,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GlueEtlOutcome:
    dt: str
    rows: int
    raw_objects: int
    key: str  # s3:// URI of the partition's new file
    replaced: list[str] = field(default_factory=list)  # the old objects deleted
    registered: bool = False  # True when this run added the partition to the catalog


def run_job(
    day: date,
    *,
    s3: Any,
    glue: Any,
    run_id: str,
    raw_bucket: str = RAW_BUCKET,
    processed_bucket: str = PROCESSED_BUCKET,
    register: bool = True,
    force: bool = False,
    fail_after_upload: bool = False,
) -> GlueEtlOutcome:
    """Rebuild the day's partition in `processed_bucket` from the raw objects in `raw_bucket`, with
    the given boto3 clients. Raises EtlError naming the day on any failure (the old partition stays).

    `fail_after_upload=True` is a FAULT-INJECTION HOOK for tests only: it raises after the new object
    was uploaded and verified, before the old ones are deleted (the new one is then removed again).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    dt = str(parse_day(str(day), "--dt"))
    try:
        raw_keys = list_raw_keys(s3, raw_bucket, day)
        if not raw_keys:
            raise EtlError(
                f"dt={dt}: no raw snapshots under s3://{raw_bucket}/{layout.raw_day_prefix(day)}; "
                "the processed partition is left as it is"
            )
        prefix = layout.processed_partition_prefix(dt)
        new_key = f"{prefix}part-00000-{_safe(run_id)}.parquet"
        with tempfile.TemporaryDirectory(prefix=f"{ETL_JOB_NAME}-{dt}-") as tmp:
            files = download(s3, raw_bucket, raw_keys, Path(tmp) / "raw")
            table = transform_day(files, day)
            local = Path(tmp) / "part.parquet"
            write_verified(table, local, dt)
            old = [k for k in list_keys(s3, processed_bucket, prefix) if k != new_key]
            stored = [S3RangeReader(s3, processed_bucket, k) for k in old if is_data_file(k[len(prefix) :])]
            before = coverage_of_files(stored) if stored else None
            audit = audit_replacement(dt, coverage(table), before, force=force)
            s3.upload_file(str(local), processed_bucket, new_key)
            try:
                _verify_uploaded(s3, processed_bucket, new_key, local, table, dt)
                if fail_after_upload:
                    raise EtlError(f"dt={dt}: fault injected after the upload (fail_after_upload=True)")
            except BaseException:
                log.error("dt=%s: removing the new object %s again; the old partition stays", dt, new_key)
                try:
                    s3.delete_object(Bucket=processed_bucket, Key=new_key)
                except (BotoCoreError, ClientError) as cleanup:  # the original error matters more
                    log.error("dt=%s: could not remove %s: %s", dt, new_key, cleanup)
                raise
            failed = delete_keys(s3, processed_bucket, old)
            if failed:
                raise EtlError(
                    f"dt={dt}: the new file is in place but {len(failed)} old object(s) could not be "
                    f"deleted (the partition holds duplicates until the next run): {'; '.join(failed[:5])}"
                )
        registered = bool(register_partitions(glue, [dt])) if register else False
    except (BotoCoreError, ClientError) as exc:
        raise EtlError(f"dt={dt}: AWS call failed: {describe_error(exc)}") from exc
    log.info(
        "dt=%s: %d rows from %d raw objects -> %s (%s)", dt, table.num_rows, len(raw_keys), new_key, audit
    )
    return GlueEtlOutcome(
        dt=dt,
        rows=table.num_rows,
        raw_objects=len(raw_keys),
        key=f"s3://{processed_bucket}/{new_key}",
        replaced=[f"s3://{processed_bucket}/{k}" for k in old],
        registered=registered,
    )


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


_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def _safe(run_id: str) -> str:
    return _UNSAFE.sub("_", run_id)[:100] or uuid.uuid4().hex


def main(argv: list[str] | None = None) -> int:
    """Glue's entry point (and a manual one: AWS credentials from the environment). Raises on failure,
    so Glue marks the run FAILED with the error as its ErrorMessage."""
    parser = argparse.ArgumentParser(prog=ETL_JOB_NAME, description=__doc__.splitlines()[0])
    parser.add_argument("--dt", required=True, help="the UTC day to rebuild, YYYY-MM-DD")
    parser.add_argument(
        "--force", default="false", choices=["true", "false"], help="replace even with a smaller partition"
    )
    parser.add_argument("--JOB_RUN_ID", default=None, help=argparse.SUPPRESS)  # set by Glue
    args, _glue_arguments = parser.parse_known_args(argv)
    day = parse_day(args.dt, "--dt")
    import boto3

    outcome = run_job(
        day,
        s3=boto3.client("s3"),
        glue=boto3.client("glue"),
        run_id=args.JOB_RUN_ID or f"manual-{uuid.uuid4().hex[:16]}",
        force=args.force == "true",
    )
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main())
    except InputError as exc:  # bad --dt: say so in one line (Glue shows it as the ErrorMessage)
        raise SystemExit(f"{ETL_JOB_NAME}: error: {exc}") from None
