"""The reference Spark job (`flightdq.etl.spark_job`) as the emulator's Glue runs it.

On Glue the job reads `s3://` itself. Local Spark cannot read the emulator's S3: pyspark ships no
S3 file system (hadoop-aws and the AWS SDK bundle are Maven artifacts; neither PyPI nor Debian has
them, and Maven Central is out of reach offline). So the emulator runs the very same Spark code over
`file://`: the day's raw objects are copied from the emulator's S3 into a temporary folder laid out as
the bucket, `spark_job.run_day` runs on local[2], and what it wrote is put under the run's
`--output_prefix` in the emulator's S3 in the job's order: Parquet files, `_SKIPPED.json`, then
`_SUCCESS` last. This staging is the emulator's, never the job's: on AWS nothing is downloaded.

`run_spark_job(s3, day, output_prefix)` is what `EmulatedGlue` calls for a run; one local
SparkSession (a JVM, ~7 s to start) serves every run of the process until `stop_session()`.
"""

from __future__ import annotations

import atexit
import tempfile
import threading
from datetime import date
from pathlib import Path
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import RAW_BUCKET
from flightdq.etl import spark_job
from flightdq.etl.partitions import SUCCESS_MARKER
from flightdq.etl.s3_io import list_keys
from flightdq.etl.transform import SKIPPED_FILE

_lock = threading.Lock()  # one run at a time in the shared session (Glue: MaxConcurrentRuns 1)
_session: Any = None


def session() -> Any:
    """The process's local SparkSession for emulated runs (started on first use)."""
    global _session
    if _session is None:
        _session = spark_job.local_session("local[2]", app_name="flightdata-etl-emulated")
        atexit.register(stop_session)
    return _session


def stop_session() -> None:
    global _session
    if _session is not None:
        _session.stop()
        _session = None


def split_s3_uri(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://") or "/" not in uri[5:]:
        raise ValueError(f"not an s3:// URI of a prefix: {uri!r}")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


def run_spark_job(
    s3: Any, day: date, output_prefix: str, *, raw_bucket: str = RAW_BUCKET
) -> spark_job.SparkJobOutcome:
    """Run the Spark job for `day` against the emulator's S3 (module doc). Raises SparkJobError (the
    job's failures) or ValueError (a prefix that is no s3:// prefix); nothing is put under the
    prefix unless the job succeeded, and `_SUCCESS` is put last."""
    out_bucket, out_key = split_s3_uri(output_prefix)
    if not out_key.endswith("/"):
        raise ValueError(f"--output_prefix must end with '/': {output_prefix}")
    with _lock, tempfile.TemporaryDirectory(prefix="flightdq-emulated-glue-") as scratch:
        raw_root = Path(scratch) / "raw"
        for key in list_keys(s3, raw_bucket, layout.raw_day_prefix(day)):
            if layout.RAW_KEY_RE.match(key):
                target = raw_root / key
                target.parent.mkdir(parents=True, exist_ok=True)
                s3.download_file(raw_bucket, key, str(target))
        out = Path(scratch) / "out"
        outcome = spark_job.run_day(session(), day, f"file://{raw_root}/", f"file://{out}/")
        written = sorted(p for p in out.iterdir() if p.is_file())
        last = [SKIPPED_FILE, SUCCESS_MARKER]
        ordered = [p for p in written if p.name not in last] + [out / n for n in last if (out / n).exists()]
        for path in ordered:
            s3.upload_file(str(path), out_bucket, out_key + path.name)
    files = [f"s3://{out_bucket}/{out_key}{Path(uri).name}" for uri in outcome.files]
    return spark_job.SparkJobOutcome(
        dt=outcome.dt,
        rows=outcome.rows,
        raw_objects=outcome.raw_objects,
        output_prefix=output_prefix,
        files=files,
        skipped=outcome.skipped,
    )
