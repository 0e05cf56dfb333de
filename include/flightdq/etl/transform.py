"""The ETL job `flightdata-etl`: one UTC day of raw OpenSky snapshots -> that day's processed partition.

The transform (`transform_day`) is pure: it reads the snapshot files it is given and returns the
day's flights with exactly `contract.processed_arrow_schema()`. It is SQL, defined once in
`flightdq/etl/sql/flights.sql` (`flightdq.etl.flights_sql`): DuckDB runs it here, streaming the states
from the JSON reader into a hash aggregate per half-hour slice of each icao24+callsign (no sort of
the states; it spills beyond `DUCKDB_MEMORY_LIMIT`); the Spark job (`flightdq.etl.spark_job`) runs
the same statement rendered for Spark SQL. Where the files come from and where the result goes is
the caller's business: `run_local_job` reads and writes a local lake folder laid
out like the buckets (contract section 1); the Glue job stages S3 objects around the same transform.

Rules (contract section 1): a state's time is its `last_contact`; a state repeated in later snapshots
(same icao24, callsign and last_contact) counts once, with its earliest copy's values; only states
whose last_contact falls inside the UTC day are kept (day D's run reads only day D's raw folder, so
reruns are deterministic); a flight is the run of states of one icao24 with one callsign (null is a
value of its own), split where the gap between consecutive states of that icao24+callsign exceeds 30
minutes. Out-of-range values are
passed through untouched: the data-quality checks must see bad data.

Run it as `python -m flightdq.etl.transform --dt YYYY-MM-DD --output_prefix FOLDER [--lake PATH]` (the
job contract: it only writes FOLDER; the repair audits and publishes it, `flightdq.recovery.publish`).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flightdq.core import layout
from flightdq.core.contract import (
    ETL_JOB_NAME,
    RAW_BUCKET,
    processed_arrow_schema,
)
from flightdq.core.dates import InputError, parse_day
from flightdq.core.errors import describe_error
from flightdq.etl.flights_sql import flights_sql
from flightdq.etl.partitions import SUCCESS_MARKER  # the job contract: written last, the output is complete

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

PART_FILE = "part-00000.parquet"
SKIPPED_FILE = "_SKIPPED.json"  # the job contract: raw keys the run could not read
PARQUET_COMPRESSION = "zstd"
# DuckDB spills beyond this (to a temporary folder), so the peak memory of a day's ETL stays bounded
# at any cadence. 512 MB once ran out on a small day (read_json reserves buffers of up to
# 2 x MAX_SNAPSHOT_BYTES per thread). Measured (the bench's process, whole, 2026-12-06): a global
# day peaks at ~850 MB RSS at 60-s polls (22.5 M states) and ~880 MB at 10-s polls (134.7 M states).
# That holds because every aggregate state of the flights SQL is fixed-size, so its slice aggregate
# spills; its former count(DISTINCT last_contact) (a hash entry per distinct state, which did not
# spill) failed the 10-s day with DuckDB's OutOfMemoryException.
DUCKDB_MEMORY_LIMIT = "1GB"
MAX_SNAPSHOT_BYTES = 64 * 1024 * 1024  # one uncompressed snapshot; a global one is ~2-3 MB


@dataclass(frozen=True)
class EtlOutcome:
    """What one run of the job did."""

    dt: str  # YYYY-MM-DD
    rows: int
    raw_objects: int  # snapshot files read
    raw_states: int  # states read before de-duplication
    files: list[str]  # written parquet paths (relative to the lake root)
    replaced: str = ""  # what it replaced, and whether that took `force`
    skipped: list[str] = dataclasses.field(
        default_factory=list
    )  # raw snapshots that could not be read: left out


class EtlError(RuntimeError):
    """The ETL for a day failed; the message names the day and what went wrong."""


# --- the transform ---------------------------------------------------------------------------------

# Every state field is read as text and cast by the flights SQL: exact for JSON numbers, and a value of
# the wrong type fails the run loudly instead of being dropped. `records = true` matters: with a single
# column and record detection left on auto, DuckDB 2.0 buffers 2 x maximum_object_size and runs out of
# memory. The states stream from the reader into the flights SQL's slice aggregate: nothing is
# materialised.
_READ_SQL = (
    "SELECT * FROM read_json($files, columns = {'states': 'VARCHAR[][]'}, format = 'unstructured', "
    f"records = true, compression = 'auto_detect', maximum_object_size = {MAX_SNAPSHOT_BYTES}, "
    "filename = true)"
)
# `raw_states` of the flights SQL (flightdq/etl/sql/flights.sql): one row per state vector.
_RAW_STATES_SQL = f"""(
    SELECT list_position($files, filename) AS file_ord,
           unnest(range(len(states))) AS i,
           unnest(states) AS st
    FROM ({_READ_SQL})
) AS raw_states"""


def _duckdb_flights_sql(day: date) -> str:
    """The shared flights SQL for DuckDB, reading the given files (`$files`) as its `raw_states`."""
    sql = flights_sql("duckdb", day)
    if sql.count("FROM raw_states") != 1:
        raise RuntimeError("the flights SQL must read raw_states exactly once")
    return sql.replace("FROM raw_states", "FROM " + _RAW_STATES_SQL)


def transform_day(raw_files: Sequence[Path], day: date) -> pa.Table:
    """The day's flights from the given snapshot files (*.json / *.json.gz, mixed), with exactly
    `processed_arrow_schema()`, sorted by flight_id. No files or only `states: null`: an empty table.
    A snapshot that cannot be read (malformed JSON, a truncated .json.gz) is left out, as if it
    were missing; `transform_day_skipping` says which."""
    table, _, _ = _transform(raw_files, day)
    return table


def transform_day_skipping(raw_files: Sequence[Path], day: date) -> tuple[pa.Table, list[str]]:
    """`transform_day`, and the snapshot files it left out because they could not be read."""
    table, _, skipped = _transform(raw_files, day)
    return table, skipped


def _unreadable(con: Any, files: Sequence[str]) -> list[str]:
    """The files the bulk read choked on, each read alone (only after the bulk read failed: the
    healthy path reads every file once)."""
    import duckdb

    bad = []
    for one in files:
        try:
            con.execute(f"SELECT count(*) FROM ({_READ_SQL})", {"files": [one]}).fetchall()
        except duckdb.Error:
            bad.append(one)
    return bad


def _connect(spill: str) -> Any:
    import duckdb

    con = duckdb.connect(
        ":memory:",
        config={
            "memory_limit": DUCKDB_MEMORY_LIMIT,
            "temp_directory": spill,
            "preserve_insertion_order": False,
        },
    )
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    return con


def _transform(raw_files: Sequence[Path], day: date) -> tuple[pa.Table, int, list[str]]:
    """`transform_day`, plus the number of the day's states read (before de-duplication) and the
    snapshot files left out as unreadable (one bad object never blocks the day: it is a missing
    snapshot). The flights SQL is `flightdq/etl/sql/flights.sql`, the one the Spark job runs."""
    import duckdb
    import pyarrow.compute as pc

    schema = processed_arrow_schema()
    files = [str(p) for p in sorted((Path(f) for f in raw_files), key=lambda p: (p.name, str(p)))]
    skipped: list[str] = []
    if not files:
        return schema.empty_table(), 0, skipped
    if len(set(files)) != len(files):  # file_ord would be ambiguous
        raise EtlError(f"dt={day}: a raw snapshot is given twice")
    sql = _duckdb_flights_sql(day)
    with tempfile.TemporaryDirectory(prefix="flightdq-etl-spill-") as spill:
        con = _connect(spill)
        try:
            try:
                flights = con.sql(sql, params={"files": files}).to_arrow_table()
            except duckdb.Error:
                skipped = _unreadable(con, files)
                if not skipped:  # not one object's fault: the engine's, or the disk's
                    raise
                log.warning(
                    "dt=%s: %d unreadable raw snapshot(s) left out: %s", day, len(skipped), skipped[:5]
                )
                files = [f for f in files if f not in set(skipped)]
                if not files:
                    raise EtlError(
                        f"dt={day}: none of its {len(skipped)} raw snapshots can be read"
                    ) from None
                flights = con.sql(sql, params={"files": files}).to_arrow_table()
        except duckdb.Error as exc:
            raise EtlError(
                f"dt={day}: reading or transforming {len(files)} raw snapshots failed: {describe_error(exc)}"
            ) from exc
        finally:
            con.close()
    states_read = int(pc.sum(flights.column("states_read")).as_py() or 0)
    flights = flights.sort_by("flight_id")
    return _to_contract(flights, schema, day), states_read, skipped


def _to_contract(flights: pa.Table, schema: pa.Schema, day: date) -> pa.Table:
    """Cast the engine's result to the contract's Arrow schema (seconds -> timestamp[us, UTC])."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for field in schema:
        column = flights.column(field.name)
        if pa.types.is_timestamp(field.type):
            column = pc.multiply_checked(column.cast(pa.int64()), 1_000_000)
        columns.append(column.cast(field.type))
    table = pa.Table.from_arrays(columns, schema=schema).combine_chunks()
    for field in schema:
        nulls = table.column(field.name).null_count
        if not field.nullable and nulls:
            # Parquet cannot hold a null in a required column; the raw data broke the API's own rules.
            raise EtlError(
                f"dt={day}: {nulls} flight(s) have no {field.name} in any of their states "
                f"(the contract makes {field.name} non-null)"
            )
    return table


# --- the local job -----------------------------------------------------------------------------------


def run_local_job(lake_root: Path, day: date, output_prefix: Path) -> EtlOutcome:
    """The local `flightdata-etl` under the job contract (docs/aws.md): read the day's raw snapshots
    in the lake, write the day's Parquet file into `output_prefix` (a `dt=D/run=<id>/` folder the
    repair chose), then `_SKIPPED.json` naming the raw keys it could not read (if any), then an empty
    `_SUCCESS` last. Nothing else is written anywhere; the catalog is not touched. No raw snapshot at
    all for the day is an error (raw data that is gone cannot rebuild it). Checking what was written
    and making it the day's partition is the repair's (`flightdq.recovery.publish`)."""
    lake_root, output_prefix = Path(lake_root), Path(output_prefix)
    raw_files = _raw_files(lake_root, day)
    if not raw_files:
        raise EtlError(
            f"dt={day}: no raw snapshots under {lake_root / RAW_BUCKET / layout.raw_day_prefix(day)}; "
            "the processed partition is left as it is"
        )
    table, raw_states, skipped = _transform(raw_files, day)
    raw_root = lake_root / RAW_BUCKET
    try:
        output_prefix.mkdir(parents=True, exist_ok=True)
        write_verified(table, output_prefix / PART_FILE, day)
        if skipped:
            keys = [Path(f).relative_to(raw_root).as_posix() for f in skipped]
            (output_prefix / SKIPPED_FILE).write_text(json.dumps(keys))
        (output_prefix / SUCCESS_MARKER).write_bytes(b"")
    except OSError as exc:
        raise EtlError(f"dt={day}: file system error writing {output_prefix}: {exc}") from exc
    return EtlOutcome(
        dt=str(day),
        rows=table.num_rows,
        raw_objects=len(raw_files) - len(skipped),
        raw_states=raw_states,
        files=[(output_prefix / PART_FILE).relative_to(lake_root).as_posix()],
        skipped=[Path(f).relative_to(lake_root).as_posix() for f in skipped],
    )


def _raw_files(lake_root: Path, day: date) -> list[Path]:
    """The day's snapshot files, `hour=HH/states_<unix>.json[.gz]` under the day's raw folder."""
    day_dir = lake_root / RAW_BUCKET / layout.raw_day_prefix(day)
    if not day_dir.is_dir():
        return []
    return sorted(
        p
        for p in day_dir.rglob("states_*.json*")
        if p.is_file() and (p.name.endswith(".json") or p.name.endswith(".json.gz"))
    )


def write_verified(table: pa.Table, path: Path, day: date | str) -> None:
    """Write the Parquet file, flush it to disk and read it all back: rows and schema must be the built
    ones. Both jobs (the local one and the Glue one) write through here."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=PARQUET_COMPRESSION)
    _fsync(path)
    back = pq.ParquetFile(path).read()
    if back.num_rows != table.num_rows or not back.schema.equals(table.schema):
        raise EtlError(
            f"dt={day}: verification of {path.name} failed: read back {back.num_rows} rows "
            f"with schema {back.schema}, built {table.num_rows} rows"
        )


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- command line ----------------------------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def contract_job(argv: list[str]) -> EtlOutcome:
    """The local job called in-process with the job contract's arguments (`--dt`, `--output_prefix`,
    `--lake`): what the embedded lake's repair runs by default (`FLIGHTDQ_ETL_JOB` unset). Raises
    InputError for bad arguments and EtlError when the job fails, naming the day."""
    parser = _ArgumentParser(prog=ETL_JOB_NAME)
    parser.add_argument("--dt", required=True)
    parser.add_argument("--output_prefix", required=True)
    parser.add_argument("--lake", required=True)
    args = parser.parse_args(argv)
    lake = Path(args.lake)
    return run_local_job(lake, parse_day(args.dt, "--dt"), lake / args.output_prefix)


def main(argv: list[str] | None = None) -> int:
    """`python -m flightdq.etl.transform --dt YYYY-MM-DD --output_prefix FOLDER [--lake PATH]`: the local
    job under the job contract (`run_local_job`: writes the day into FOLDER, nothing else; making it
    the day's partition is the repair's: `flightdq remediate`, `flightdq.recovery.publish`). Prints
    the outcome as one JSON line. Exit 0 on success, 1 when the job failed, 2 on bad input."""
    parser = _ArgumentParser(
        prog=ETL_JOB_NAME,
        description="Write one UTC day of the local lake's raw snapshots as Parquet into a run folder.",
    )
    parser.add_argument("--dt", required=True, help="the UTC day to transform, YYYY-MM-DD")
    parser.add_argument("--lake", help="local lake root (default: $FLIGHTDQ_LAKE, else ./lake)")
    parser.add_argument(
        "--output_prefix",
        required=True,
        help="the run folder to write the day into (the job contract); a relative one is under the lake",
    )
    try:
        args = parser.parse_args(argv)
        day = parse_day(args.dt, "--dt")
    except InputError as exc:
        print(f"{ETL_JOB_NAME}: error: {exc}", file=sys.stderr)
        return 2
    if args.lake:
        lake = Path(args.lake)
    elif os.environ.get("FLIGHTDQ_LAKE"):
        lake = Path(os.environ["FLIGHTDQ_LAKE"])
    else:
        from flightdq.core.config import DEFAULT_LAKE

        lake = DEFAULT_LAKE
    lake = lake.expanduser()
    try:
        outcome = run_local_job(lake, day, lake / args.output_prefix)
    except EtlError as exc:
        print(f"{ETL_JOB_NAME}: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
