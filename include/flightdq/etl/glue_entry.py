"""The Glue job `flightdata-etl` on AWS: rebuild one UTC day's processed partition from its raw snapshots.

    flightdata-etl --dt YYYY-MM-DD        (Glue passes its own --JOB_RUN_ID, --JOB_NAME, ...: ignored)

Steps, for the day given by `--dt` (validated by `flightdq.core.dates.parse_day`):

1. list the day's raw objects `s3://flightdata-raw/year=/month=/day=/hour=/states_<unix>.json[.gz]`
   (no raw object at all: the job fails and the partition is left as it is: raw data that is gone
   cannot rebuild it);
2. download them to a temporary folder and run the same pure transform as the local job
   (`flightdq.etl.transform.transform_day_skipping`), so both backends make byte-for-byte the same
   rows; a snapshot that cannot be read is left out and named in the outcome (`skipped`, `lost_hours`);
3. write the Parquet file locally and read it back (rows and schema must be the built ones);
4. list the day's objects (`flightdata_processed/dt=<dt>/...`) and find the partition readers see now:
   the catalog partition's Location, else (not registered) the newest complete `run=` prefix or the
   files directly under `dt=<dt>/` (`flightdq.etl.partitions`); audit the rebuild against it
   (`audit_replacement`: never fewer flights or hours unless forced);
5. upload the new file under a prefix of this run's own, `dt=<dt>/run=<run id>/part-00000.parquet`
   (run id: Glue's `--JOB_RUN_ID`), verify the stored object (its size, then its footer's row count
   and schema, read back from S3), then put an empty `_SUCCESS` marker beside it (the prefix is
   complete). Any failure up to here deletes the new prefix again: nothing changed for readers;
6. THE SWAP: point the Glue partition at the new prefix in one UpdatePartition call (CreatePartition
   when the day was not registered: no reader to protect). Athena reads a partition's Location, so a
   query sees the old files or the new ones, never both, never none;
7. delete the old objects: those directly under `dt=<dt>/` (the flat layout, or what a run that
   died after its swap left) and every other `run=` prefix (the old Location, or what runs that died
   before their swap left), all as listed in step 4 (an object written later, by someone else, is
   never deleted; nor a Location outside `dt=<dt>/`, nor a deeper folder that is no `run=` prefix).
   A deletion that fails leaves garbage no reader sees; the next run deletes it.

A run that dies before step 6 leaves readers on the old partition (its new prefix is garbage the next
run deletes); one that dies after step 6 has already given readers the new one. The contract's key
layout `flightdata_processed/dt=YYYY-MM-DD/*.parquet` gains one level (`dt=D/run=<id>/*.parquet`):
keys still start with `dt=D/`, and Athena follows the partition's Location. `MaxConcurrentRuns` 1
(and the Airflow side attaching to a day's running run) keeps one writer per day.

Deployment (see docs/aws.md): a Glue 5.0 job (Spark job type `glueetl`, Python 3.11; the Python shell
job type only offers Python 3.9) with `--additional-python-modules` carrying the flightdq wheel and
duckdb==2.0.1 (and the pinned pyarrow), script = this file, `MaxConcurrentRuns` 1. It imports only
`flightdq.etl` and `flightdq.core` (its S3 and catalog calls are `s3_io`, `partitions` and
`glue_catalog`), never the Airflow-side backend.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import sys
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, PROCESSED_BUCKET, PROCESSED_PREFIX, RAW_BUCKET
from flightdq.core.dates import InputError, parse_day
from flightdq.core.errors import describe_error
from flightdq.etl.partitions import (
    SUCCESS_MARKER,
    DayObjects,
    catalog_location,
    data_objects,
    group_by_day,
    location_uri,
    point_partition_at,
    split_location,
)
from flightdq.etl.s3_io import S3RangeReader, delete_keys, download, list_keys, list_objects
from flightdq.etl.transform import (
    EtlError,
    audit_replacement,
    coverage,
    coverage_of_files,
    transform_day_skipping,
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
    location: str = ""  # the partition's Location now (s3:// URI of the run's prefix)
    previous_location: str | None = None  # what readers saw before (None: nothing)
    left_behind: list[str] = field(default_factory=list)  # old objects whose deletion failed
    skipped: list[str] = field(default_factory=list)  # unreadable raw snapshots left out (s3:// URIs)
    lost_hours: list[int] = field(default_factory=list)  # hours with no readable snapshot left


class JobKilled(BaseException):
    """Raised by a test's `pause` hook to stand for the job being killed there: no cleanup runs."""


def run_job(
    day: date,
    *,
    s3: Any,
    glue: Any,
    run_id: str,
    raw_bucket: str = RAW_BUCKET,
    processed_bucket: str = PROCESSED_BUCKET,
    force: bool = False,
    fail_after_upload: bool = False,
    pause: Callable[[str], None] | None = None,
) -> GlueEtlOutcome:
    """Rebuild the day's partition in `processed_bucket` from the raw objects in `raw_bucket`, with
    the given boto3 clients, and swap it in (steps in the module's docstring). Raises EtlError naming
    the day on any failure before the swap (readers keep the old partition).

    Test hooks only: `fail_after_upload=True` raises after the new prefix was written and verified,
    before the swap (the new prefix is removed again, as for any failure); `pause(stage)` is called
    at `"written"` (new prefix complete, partition not switched yet) and `"switched"` (partition
    switched, old objects not deleted yet): a test reads the table there, or raises JobKilled to
    stand for a job that dies at that point (nothing is cleaned up).
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
        day_prefix = layout.processed_partition_prefix(dt)
        with tempfile.TemporaryDirectory(prefix=f"{ETL_JOB_NAME}-{dt}-") as tmp:
            raw_dir = Path(tmp) / "raw"
            files = download(s3, raw_bucket, raw_keys, raw_dir)
            table, unreadable = transform_day_skipping(files, day)  # left out, named in the outcome
            bad_keys = sorted(Path(f).relative_to(raw_dir).as_posix() for f in unreadable)
            local = Path(tmp) / "part.parquet"
            write_verified(table, local, dt)

            listed = list(list_objects(s3, Bucket=processed_bucket, Prefix=day_prefix))
            stored = group_by_day(listed, f"{PROCESSED_PREFIX}/").get(dt) or DayObjects(dt)
            registered_at = catalog_location(glue, dt)
            if registered_at is not None:
                old_bucket, old_prefix = split_location(registered_at)
            else:
                old_bucket, old_prefix = processed_bucket, stored.stored_prefix()
            old_data = _old_data(s3, stored, processed_bucket, old_bucket, old_prefix)
            before = coverage_of_files([S3RangeReader(s3, old_bucket, o["Key"], o["Size"]) for o in old_data])
            audit = audit_replacement(dt, coverage(table), before if old_data else None, force=force)

            run_prefix = _run_prefix(day_prefix, run_id, stored)
            new_key = f"{run_prefix}part-00000.parquet"
            try:
                s3.upload_file(str(local), processed_bucket, new_key)
                _verify_uploaded(s3, processed_bucket, new_key, local, table, dt)
                s3.put_object(Bucket=processed_bucket, Key=run_prefix + SUCCESS_MARKER, Body=b"")
                if fail_after_upload:
                    raise EtlError(f"dt={dt}: fault injected after the upload (fail_after_upload=True)")
            except Exception:
                log.error("dt=%s: removing the new prefix %s again; the old partition stays", dt, run_prefix)
                try:
                    delete_keys(s3, processed_bucket, list_keys(s3, processed_bucket, run_prefix))
                except (BotoCoreError, ClientError) as cleanup:  # the original error matters more
                    log.error("dt=%s: could not remove %s: %s", dt, run_prefix, cleanup)
                raise
            if pause is not None:
                pause("written")
            new_location = location_uri(run_prefix, processed_bucket)
            # THE SWAP. A failure here leaves the new prefix as garbage (the call may have been applied
            # even if its answer was lost: deleting the prefix could take the day from readers).
            created = point_partition_at(glue, dt, new_location)
            if pause is not None:
                pause("switched")
            # Garbage now, all as listed before the swap: the objects directly under dt=D/ (the old
            # flat layout, or one a run that died after its swap left) and every other run= prefix
            # (the old Location, or leftovers of runs that died before their swap). Never a deeper
            # folder that is no run= prefix, never a Location outside dt=D/.
            garbage = [o["Key"] for o in stored.flat]
            for run, objects in stored.runs.items():
                if run != run_prefix:
                    garbage += [o["Key"] for o in objects]
            failed = delete_keys(s3, processed_bucket, garbage)
            if failed:
                log.warning(
                    "dt=%s: %d old object(s) could not be deleted (no reader sees them; the next run "
                    "deletes them): %s",
                    dt,
                    len(failed),
                    "; ".join(failed[:5]),
                )
    except (BotoCoreError, ClientError) as exc:
        raise EtlError(f"dt={dt}: AWS call failed: {describe_error(exc)}") from exc
    log.info(
        "dt=%s: %d rows from %d raw objects -> %s (%s)",
        dt,
        table.num_rows,
        len(raw_keys),
        new_location,
        audit,
    )
    failed_keys = {f.rsplit(": ", 1)[0] for f in failed}
    return GlueEtlOutcome(
        dt=dt,
        rows=table.num_rows,
        raw_objects=len(raw_keys),
        key=f"s3://{processed_bucket}/{new_key}",
        replaced=[f"s3://{processed_bucket}/{k}" for k in garbage if k not in failed_keys],
        registered=created,
        location=new_location,
        previous_location=registered_at or (location_uri(old_prefix, old_bucket) if old_prefix else None),
        left_behind=[f"s3://{processed_bucket}/{k}" for k in sorted(failed_keys)],
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


def _old_data(
    s3: Any, stored: DayObjects, processed_bucket: str, bucket: str, prefix: str | None
) -> list[dict[str, Any]]:
    """The data objects readers see now: from the day's listing when the prefix is inside it, else
    listed (a Location elsewhere: a foreign bucket or prefix)."""
    if prefix is None:
        return []
    if bucket == processed_bucket and prefix.startswith(stored.prefix):
        return data_objects(stored.objects_under(prefix), prefix)
    return data_objects(list(list_objects(s3, Bucket=bucket, Prefix=prefix)), prefix)


def _run_prefix(day_prefix: str, run_id: str, stored: DayObjects) -> str:
    """`dt=D/run=<run id>/`, made unique if that prefix is taken already (a run id used twice)."""
    prefix = f"{day_prefix}run={_safe(run_id)}/"
    taken = {o["Key"] for objects in stored.runs.values() for o in objects} | {o["Key"] for o in stored.other}
    if any(key.startswith(prefix) for key in taken):
        prefix = f"{day_prefix}run={_safe(run_id)}-{uuid.uuid4().hex[:8]}/"
    return prefix


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
