"""The reference ETL job `flightdata-etl` as a Spark job (Glue 5.0: Spark 3.5.4, Python 3.11).

    flightdata-etl --dt YYYY-MM-DD --output_prefix s3://<processed>/flightdata_processed/dt=D/run=<id>/
                   [--raw_bucket flightdata-raw | --raw_root URI] [--master local[2]]
    (Glue's own arguments, --JOB_NAME, --JOB_RUN_ID, --TempDir ..., are ignored)

The job contract (docs/aws.md): the job reads the day's raw snapshots, writes Parquet files with exactly
the contract's processed schema under `--output_prefix`, then an empty `_SUCCESS` there, last. It writes
nothing anywhere else and never touches the catalog: the remediation audits the prefix and swaps the
catalog partition to it (write-audit-publish belongs to the repair, not to the job).

Steps, all in Spark (the driver downloads nothing):

1. `spark.read.json` of the day's raw prefix (`year=/month=/day=/hour=/states_<unix>.json[.gz]`, gzip by
   the name's suffix), one document per object, every state field read as its JSON text. An object
   that cannot be read (malformed JSON, a truncated .json.gz) is left out, as a missing snapshot, and
   named (by its raw key) in `<output_prefix>_SKIPPED.json`; no readable object at all fails the run;
2. the states as the relation `raw_states(file_ord, i, st)` and the day's transform, the same SQL the
   embedded lake runs on DuckDB (`flightdq.etl.flights_sql`, rendered for Spark SQL), in ANSI mode so
   that a value of the wrong type fails the run instead of becoming a null;
3. the flights, sorted by flight_id, written as Parquet (zstd, timestamps as microseconds adjusted to
   UTC, the contract's non-null columns required), then `_SKIPPED.json` if any, then `_SUCCESS`.

Any failure raises (Glue marks the run FAILED with the message) and no `_SUCCESS` is written.

Deployment: a Glue 5.0 job (type `glueetl`, Python 3.11) with this file as its script and
`--additional-python-modules` carrying the flightdq wheel, sqlglot==30.30.0 (the SQL is rendered for
Spark when the job starts) and pyarrow==26.0.1 (the contract's schema is defined in Arrow). The
job's sort and shuffles spill to the workers' disks: the driver holds only the list of the day's
objects and the flights' null counts.
`run_day(spark, day, raw_root, output_prefix)` is the job for callers that hold a session (tests, the
bench, the emulator's Glue); `main(argv)` is the Glue script's entry point.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, RAW_BUCKET, processed_arrow_schema
from flightdq.core.dates import InputError, parse_day
from flightdq.etl.flights_sql import flights_sql
from flightdq.etl.partitions import SUCCESS_MARKER  # the job contract's markers, defined once
from flightdq.etl.transform import SKIPPED_FILE

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

log = logging.getLogger(__name__)

SNAPSHOT_GLOB = "states_*.{json,json.gz}"
# What Spark reads of a snapshot: each state field as its JSON text, exactly what DuckDB's
# VARCHAR[][] read gives (numbers keep their digits, strings lose their quotes, null stays null).
RAW_SCHEMA = "time BIGINT, states ARRAY<ARRAY<STRING>>, _corrupt_record STRING"
LOCAL_CONF = {  # a local session: bound to 127.0.0.1, no UI, small shuffles, no .crc files beside outputs
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.shuffle.partitions": "8",
    "spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem",
    "spark.hadoop.fs.file.impl.disable.cache": "true",
}


class SparkJobError(RuntimeError):
    """The Spark job failed for the day; the message names the day and what went wrong."""


@dataclass(frozen=True)
class SparkJobOutcome:
    dt: str
    rows: int
    raw_objects: int  # snapshots read
    output_prefix: str
    files: list[str]  # the Parquet files written, URIs
    skipped: list[str] = field(default_factory=list)  # unreadable snapshots left out, raw keys


def local_session(master: str = "local[2]", app_name: str = ETL_JOB_NAME) -> SparkSession:
    """A local SparkSession for the job (tests, the bench, the emulator): bound to 127.0.0.1, no UI."""
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    # py4j logs every connection it opens and closes at INFO, some of it from an exit hook, after the
    # host (pytest, Airflow's task runner) has closed the stream the handler writes to.
    logging.getLogger("py4j").setLevel(logging.WARNING)
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(master).appName(app_name)
    for key, value in LOCAL_CONF.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def raw_day_uri(raw_root: str, day: date) -> str:
    """The day's raw prefix under a raw zone root URI (`s3://flightdata-raw/`, `file:///lake/flightdata-raw/`)."""
    return raw_root.rstrip("/") + "/" + layout.raw_day_prefix(day)


def run_day(spark: SparkSession, day: date, raw_root: str, output_prefix: str) -> SparkJobOutcome:
    """The job for one day (steps in the module's docstring). Raises SparkJobError naming the day."""
    from py4j.protocol import Py4JJavaError
    from pyspark.sql.utils import AnalysisException, CapturedException

    if not output_prefix.endswith("/"):
        raise SparkJobError(f"dt={day}: --output_prefix must end with '/': {output_prefix}")
    if "%" in output_prefix:  # Hadoop takes a URI's escapes literally: file:///a/dt%3D... is no dt=
        raise SparkJobError(f"dt={day}: --output_prefix must not be percent-encoded: {output_prefix}")
    _configure(spark)
    fs, prefix_path = _fs(spark, output_prefix)
    if fs.exists(prefix_path) and len(fs.listStatus(prefix_path)) > 0:
        raise SparkJobError(f"dt={day}: {output_prefix} already holds objects; a run writes a fresh prefix")
    source = raw_day_uri(raw_root, day)
    try:
        raw = _read_raw(spark, source)
        files = sorted(raw.inputFiles(), key=lambda uri: (uri.rsplit("/", 1)[-1], uri))
    except AnalysisException as exc:  # the day's prefix does not exist
        raise SparkJobError(f"dt={day}: no raw snapshots under {source}: {exc.desc.splitlines()[0]}") from exc
    if not files:
        raise SparkJobError(f"dt={day}: no raw snapshots under {source}")
    try:
        readable = _readable_files(spark, source)
        skipped = [uri for uri in files if uri not in readable]
        if len(skipped) == len(files):
            raise SparkJobError(f"dt={day}: none of its {len(files)} raw snapshots can be read")
        if skipped:
            log.warning("dt=%s: %d unreadable raw snapshot(s) left out: %s", day, len(skipped), skipped[:5])
        flights = _flights(spark, raw, files, day).persist()  # a day's flights: small, computed once
        try:
            rows = _check_required(flights, day)
            written = _write(spark, flights, output_prefix, fs, prefix_path)
        finally:
            flights.unpersist()
    except (CapturedException, Py4JJavaError) as exc:
        raise SparkJobError(
            f"dt={day}: reading or transforming {len(files)} raw snapshots failed: {_spark_error(exc)}"
        ) from exc
    skipped = [_raw_key(uri, day) for uri in skipped]
    marker = spark.sparkContext._jvm.org.apache.hadoop.fs.Path(output_prefix + SUCCESS_MARKER)
    if fs.exists(marker):  # a committer that writes its own marker anyway: ours comes last
        fs.delete(marker, False)
    if skipped:
        _put(spark, fs, output_prefix + SKIPPED_FILE, json.dumps(skipped).encode())
    _put(spark, fs, output_prefix + SUCCESS_MARKER, b"")
    return SparkJobOutcome(
        dt=str(day),
        rows=rows,
        raw_objects=len(files) - len(skipped),
        output_prefix=output_prefix,
        files=written,
        skipped=skipped,
    )


def _spark_error(exc: BaseException) -> str:
    """What went wrong, by Spark's error class (e.g. CAST_INVALID_INPUT), without quoting the data."""
    import re

    text = str(exc)
    found = re.search(r"\[([A-Z][A-Z0-9_.]+)\]", text)
    if found:
        return f"Spark error {found.group(1)}"
    java = re.search(r"([a-zA-Z0-9_.]+(?:Exception|Error))", text)
    return f"{type(exc).__name__} ({java.group(1) if java else 'no detail'})"


def _raw_key(uri: str, day: date) -> str:
    """The raw zone key (`year=.../states_<unix>.json[.gz]`) of a snapshot's URI."""
    return uri[uri.index(layout.raw_day_prefix(day)) :]


def _configure(spark: SparkSession) -> None:
    for key, value in {
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.ansi.enabled": "true",  # a value of the wrong type fails the run, as on DuckDB
        "spark.sql.files.ignoreCorruptFiles": "true",  # a truncated .json.gz: left out, named below
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.sql.parquet.compression.codec": "zstd",
        "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    }.items():
        spark.conf.set(key, value)


def _read_raw(spark: SparkSession, source: str, schema: str = RAW_SCHEMA) -> DataFrame:
    return (
        spark.read.schema(schema)
        .option("multiLine", "true")  # one JSON document per object, however it is laid out
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", "_corrupt_record")
        .option("ignoreCorruptFiles", "true")
        .option("recursiveFileLookup", "true")  # hour=HH/ is a folder, not a column
        .option("pathGlobFilter", SNAPSHOT_GLOB)
        .json(source)
    )


def _readable_files(spark: SparkSession, source: str) -> set[str]:
    """The objects that parse as one JSON document (a light second pass: states are skipped, not
    converted). An object missing from the answer could not be opened or decompressed."""
    from pyspark.sql import functions as F

    probe = _read_raw(spark, source, "time BIGINT, _corrupt_record STRING").select(
        F.input_file_name().alias("uri"), F.col("_corrupt_record").isNull().alias("ok"), "time"
    )
    # `time` is aggregated too: Spark refuses a query of the corrupt-record column alone
    rows = probe.groupBy("uri").agg(F.min(F.col("ok").cast("int")).alias("ok"), F.max("time")).collect()
    return {row["uri"] for row in rows if row["ok"] == 1}


def _flights(spark: SparkSession, raw: DataFrame, files: list[str], day: date) -> DataFrame:
    """The day's flights: `raw_states` registered for this session and the shared SQL run on it."""
    from pyspark.sql import functions as F

    order = spark.createDataFrame(list(enumerate(files, start=1)), "file_ord INT, uri STRING")
    states = (
        raw.where(F.col("_corrupt_record").isNull())
        .select(F.input_file_name().alias("uri"), F.posexplode("states").alias("i", "st"))
        .join(F.broadcast(order), "uri")
        .select("file_ord", "i", "st")
    )
    states.createOrReplaceTempView("raw_states")
    return spark.sql(flights_sql("spark", day))


def _check_required(flights: DataFrame, day: date) -> int:
    """The row count; a null in a column the contract makes non-null fails the run (as on DuckDB)."""
    from pyspark.sql import functions as F

    required = [f.name for f in processed_arrow_schema() if not f.nullable]
    counts = flights.agg(
        F.count(F.lit(1)).alias("rows"),
        *(F.sum(F.col(name).isNull().cast("long")).alias(name) for name in required),
    ).collect()[0]
    for name in required:
        if counts[name]:
            raise SparkJobError(
                f"dt={day}: {counts[name]} flight(s) have no {name} in any of their states "
                f"(the contract makes {name} non-null)"
            )
    return int(counts["rows"])


def contract_struct() -> Any:
    """The contract's processed schema as a Spark StructType (nullability included)."""
    from pyspark.sql import types as T

    spark_types = {"string": T.StringType(), "int64": T.LongType(), "double": T.DoubleType()}
    fields = []
    for f in processed_arrow_schema():
        kind = "timestamp" if str(f.type).startswith("timestamp") else str(f.type)
        fields.append(
            T.StructField(f.name, T.TimestampType() if kind == "timestamp" else spark_types[kind], f.nullable)
        )
    return T.StructType(fields)


def _write(
    spark: SparkSession, flights: DataFrame, output_prefix: str, fs: Any, prefix_path: Any
) -> list[str]:
    """Write the flights as Parquet under the prefix (no marker: `_SUCCESS` comes last, from us)."""
    from pyspark.sql import DataFrame
    from pyspark.sql import functions as F

    struct = contract_struct()
    typed = flights.select(
        *(
            (F.timestamp_seconds(F.col(f.name)) if f.dataType.typeName() == "timestamp" else F.col(f.name))
            .cast(f.dataType)
            .alias(f.name)
            for f in struct.fields
        )
    ).orderBy("flight_id")
    # The same rows under the contract's nullability (checked above), without a trip through Python.
    jdf = spark._jsparkSession.createDataFrame(
        typed._jdf.rdd(), spark._jsparkSession.parseDataType(struct.json())
    )
    exact = DataFrame(jdf, spark)
    spark.sparkContext._jsc.hadoopConfiguration().set(
        "mapreduce.fileoutputcommitter.marksuccessfuljobs", "false"
    )
    exact.coalesce(1).write.mode("append").parquet(output_prefix)
    return sorted(
        status.getPath().toString()
        for status in fs.listStatus(prefix_path)
        if status.getPath().getName().endswith(".parquet")
    )


def _fs(spark: SparkSession, uri: str) -> tuple[Any, Any]:
    jvm = spark.sparkContext._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    return path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()), path


def _put(spark: SparkSession, fs: Any, uri: str, body: bytes) -> None:
    stream = fs.create(spark.sparkContext._jvm.org.apache.hadoop.fs.Path(uri), False)
    try:
        if body:
            stream.write(bytearray(body))
    finally:
        stream.close()


def main(argv: list[str] | None = None) -> int:
    """The Glue script's entry point. Raises on failure (Glue marks the run FAILED with the message);
    prints the outcome as one JSON line on success."""
    parser = argparse.ArgumentParser(prog=ETL_JOB_NAME, description=__doc__.splitlines()[0])
    parser.add_argument("--dt", required=True, help="the UTC day to rebuild, YYYY-MM-DD")
    parser.add_argument("--output_prefix", required=True, help="where to write: s3://.../dt=D/run=<id>/")
    parser.add_argument("--raw_bucket", default=RAW_BUCKET, help="the raw zone's bucket")
    parser.add_argument(
        "--raw_root", help="the raw zone's root URI instead (e.g. file:///lake/flightdata-raw/)"
    )
    parser.add_argument("--master", help="a local Spark master (e.g. local[2]); on Glue: none")
    args, _glue_arguments = parser.parse_known_args(argv)
    day = parse_day(args.dt, "--dt")
    raw_root = args.raw_root or f"s3://{args.raw_bucket}/"
    if args.master:
        spark = local_session(args.master)
    else:
        from pyspark.sql import SparkSession

        spark = SparkSession.builder.appName(ETL_JOB_NAME).getOrCreate()
    try:
        outcome = run_day(spark, day, raw_root, args.output_prefix)
    finally:
        if args.master:
            spark.stop()
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sys.exit(main())
    except (InputError, SparkJobError) as exc:
        raise SystemExit(f"{ETL_JOB_NAME}: error: {exc}") from None
