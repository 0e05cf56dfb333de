"""The ETL job `flightdata-etl`: one UTC day of raw OpenSky snapshots -> that day's processed partition.

The transform (`transform_day`) is pure: it reads the snapshot files it is given and returns the
day's flights with exactly `contract.processed_arrow_schema()`. It is SQL, defined once in
`flightdq/etl/sql/flights.sql` (`flightdq.etl.flights_sql`): DuckDB runs it here, streaming the states
from the JSON reader into one sort that spills beyond `DUCKDB_MEMORY_LIMIT`; the Spark job
(`flightdq.etl.spark_job`) runs the same statement rendered for Spark SQL. Where the files come from and where
the result goes is the caller's business: `run_local_etl` reads and writes a local lake folder laid
out like the buckets (contract section 1); the Glue job stages S3 objects around the same transform.

Rules (contract section 1): a state's time is its `last_contact`; a state repeated in later snapshots
(same icao24, callsign and last_contact) counts once; only states whose last_contact falls inside the
UTC day are kept (day D's run reads only day D's raw folder, so reruns are deterministic); a flight is
the run of states of one icao24 with one callsign (null is a value of its own), split where the gap
between consecutive states of that icao24+callsign exceeds 30 minutes. Out-of-range values are
passed through untouched: the data-quality checks must see bad data.

Run it as `python -m flightdq.etl.transform --dt YYYY-MM-DD [--lake PATH]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from flightdq.core import layout
from flightdq.core.contract import (
    ETL_JOB_NAME,
    PROCESSED_BUCKET,
    RAW_BUCKET,
    processed_arrow_schema,
)
from flightdq.core.dates import InputError, parse_day
from flightdq.core.errors import describe_error
from flightdq.etl.flights_sql import flights_sql

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)

PART_FILE = "part-00000.parquet"
PARQUET_COMPRESSION = "zstd"
# DuckDB spills its sort beyond this (to a temporary folder), so the peak memory of a day's ETL stays
# bounded at any cadence. 512 MB once ran out on a small day (read_json reserves buffers of up to
# 2 x MAX_SNAPSHOT_BYTES per thread). Measured peak RSS of the whole process: see `make bench`.
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


class ShrinkRefused(EtlError):
    """The rebuilt partition would hold fewer rows or cover fewer hours than the one it replaces."""


# --- never make a day worse -------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How much of its day a partition holds: its flights (distinct `flight_id`s, so duplicated rows
    are no loss when a rebuild drops them) and the UTC hours its flights start in."""

    rows: int
    hours: frozenset[int]

    def __str__(self) -> str:
        return f"{self.rows} flights in {len(self.hours)} hours"


def coverage(table: pa.Table) -> Coverage:
    import pyarrow.compute as pc

    flights = (
        len(pc.unique(table.column("flight_id"))) if "flight_id" in table.column_names else table.num_rows
    )
    if table.num_rows == 0 or "first_seen" not in table.column_names:
        return Coverage(flights, frozenset())
    hours = pc.unique(pc.hour(table.column("first_seen").drop_null())).to_pylist()
    return Coverage(flights, frozenset(int(h) for h in hours))


def coverage_of_files(files: Iterable[Any]) -> Coverage | None:
    """The coverage of a stored partition (paths or seekable file objects), or None when it cannot be
    read (a broken partition is no yardstick: replacing it cannot make the day worse)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    try:
        for source in files:
            columns = [c for c in ("flight_id", "first_seen") if c in pq.read_schema(source).names]
            parts.append(pq.read_table(source, columns=columns))
    except (OSError, ValueError, pa.ArrowException):
        return None
    return coverage(pa.concat_tables(parts)) if parts else Coverage(0, frozenset())


def audit_replacement(day: date | str, new: Coverage, old: Coverage | None, *, force: bool) -> str:
    """Refuse (ShrinkRefused) to replace a partition with one that holds fewer rows or covers fewer
    hours, unless `force`. Returns what the replacement is, for the job's outcome and the logs."""
    if old is None:
        return f"replaced an unreadable or missing partition with {new}"
    lost_hours = sorted(old.hours - new.hours)
    shrinks = new.rows < old.rows or bool(lost_hours)
    if shrinks and not force:
        hours = f"; hours lost: {', '.join(f'{h:02d}' for h in lost_hours)}" if lost_hours else ""
        raise ShrinkRefused(
            f"dt={day}: refused: the rebuilt partition ({new}) holds less than the one it would replace "
            f"({old}){hours}; the old partition is kept (force to replace it anyway)"
        )
    if shrinks:
        log.warning("dt=%s: FORCED: replacing %s with %s", day, old, new)
        return f"FORCED: replaced {old} with {new}"
    return f"replaced {old} with {new}"


# --- the transform ---------------------------------------------------------------------------------

# Every state field is read as text and cast by the flights SQL: exact for JSON numbers, and a value of
# the wrong type fails the run loudly instead of being dropped. `records = true` matters: with a single
# column and record detection left on auto, DuckDB 2.0 buffers 2 x maximum_object_size and runs out of
# memory. The states stream from the reader into the flights SQL's one sort: nothing is materialised.
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


def run_local_etl(
    lake_root: Path, day: date, *, force: bool = False, fail_after_write: bool = False
) -> EtlOutcome:
    """Rebuild the day's processed partition in a local lake from the day's raw snapshots.

    The partition is replaced whole and atomically: built in a hidden staging folder beside it,
    verified, then swapped in by two renames. A failure before the swap leaves the old partition
    untouched; a crash between the two renames is repaired at the start of the next run. No raw
    snapshot at all for the day is an error (the old partition is kept: raw data that is gone cannot
    rebuild it), and so is a rebuild that would hold fewer rows or cover fewer hours than the
    partition it replaces, unless `force` (`audit_replacement`). The catalog is not touched.

    `fail_after_write=True` is a FAULT-INJECTION HOOK for tests only: it raises EtlError after the
    staging files are written and verified, before the swap.
    """
    lake_root = Path(lake_root)
    partition = lake_root / PROCESSED_BUCKET / layout.processed_partition_prefix(day)
    parent = partition.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        with _day_lock(parent, day):
            _recover(parent, day)
            raw_files = _raw_files(lake_root, day)
            if not raw_files:
                raise EtlError(
                    f"dt={day}: no raw snapshots under "
                    f"{lake_root / RAW_BUCKET / layout.raw_day_prefix(day)}; "
                    "the processed partition is left as it is"
                )
            table, raw_states, skipped = _transform(raw_files, day)
            old = coverage_of_files(layout.data_files(partition)) if partition.exists() else None
            replaced = audit_replacement(day, coverage(table), old, force=force)
            staging = parent / f".dt={day}.staging-{uuid.uuid4().hex}"
            try:
                staging.mkdir()
                write_verified(table, staging / PART_FILE, day)
                if fail_after_write:
                    raise EtlError(
                        f"dt={day}: fault injected after the staging files were written "
                        "(fail_after_write=True)"
                    )
                _swap(staging, partition, day)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful swap
    except OSError as exc:
        raise EtlError(f"dt={day}: file system error: {exc}") from exc
    return EtlOutcome(
        dt=str(day),
        rows=table.num_rows,
        raw_objects=len(raw_files) - len(skipped),
        raw_states=raw_states,
        files=[(partition / PART_FILE).relative_to(lake_root).as_posix()],
        replaced=replaced,
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


@contextmanager
def _day_lock(parent: Path, day: date) -> Iterator[None]:
    """One run per day at a time in this lake (recovery deletes leftovers a concurrent run would own)."""
    import fcntl

    with (parent / f".dt={day}.lock").open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise EtlError(f"dt={day}: another ETL run for this day is in progress") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _recover(parent: Path, day: date) -> None:
    """Repair what a crashed run left: restore the old partition if it was moved away and the new one
    never moved in; delete old copies and staging folders that are no longer needed."""
    partition = parent / f"dt={day}"
    olds = sorted(parent.glob(f".dt={day}.old-*"), key=lambda p: p.stat().st_mtime)
    if olds and not partition.exists():
        restored = olds.pop()
        restored.rename(partition)
        _fsync_dir(parent)
        log.warning("dt=%s: restored the previous partition from %s (a run crashed mid-swap)", day, restored)
    for leftover in [*olds, *parent.glob(f".dt={day}.staging-*")]:
        log.warning("dt=%s: removing leftover %s", day, leftover)
        shutil.rmtree(leftover, ignore_errors=True)


def write_verified(table: pa.Table, path: Path, day: date | str) -> None:
    """Write the Parquet file, flush it to disk and read it all back: rows and schema must be the built
    ones. Both entry points (the local job and the Glue job) write through here."""
    import pyarrow.parquet as pq

    pq.write_table(table, path, compression=PARQUET_COMPRESSION)
    _fsync(path)
    back = pq.ParquetFile(path).read()
    if back.num_rows != table.num_rows or not back.schema.equals(table.schema):
        raise EtlError(
            f"dt={day}: verification of {path.name} failed: read back {back.num_rows} rows "
            f"with schema {back.schema}, built {table.num_rows} rows"
        )


def _swap(staging: Path, partition: Path, day: date) -> None:
    """Put the new partition in place of the old one so that a reader listing the folder always finds
    the old partition's files or the new one's, never none.

    The folder stays: when the new files have the old ones' names (every rebuild by this job), each
    replaces its namesake by a rename over it, which is atomic. An old partition of other file names
    is traded for the new folder in one step where the file system can (Linux's renameat2
    RENAME_EXCHANGE) and deleted after `SWAP_GRACE_SECONDS`, so a reader that opened the old folder
    just before finishes listing it; elsewhere the new files move in first and the old ones go
    after (a reader may then see both sets for a moment, never none)."""
    parent = partition.parent
    new = layout.data_files(staging)
    if not partition.exists():
        staging.rename(partition)
    elif {p.name for p in layout.data_files(partition)} <= {p.name for p in new}:
        _move_files_in(new, partition)
    elif _exchange(staging, partition):
        old = parent / f".dt={day}.old-{uuid.uuid4().hex}"
        staging.rename(old)  # a leftover is removed by the next run's recovery
        _fsync_dir(parent)
        time.sleep(SWAP_GRACE_SECONDS)
        shutil.rmtree(old, ignore_errors=True)
    else:
        _move_files_in(new, partition)
    _fsync_dir(parent)


SWAP_GRACE_SECONDS = 1.0  # how long an old partition swapped out stays readable for readers already in it


def _move_files_in(new: list[Path], partition: Path) -> None:
    """Rename each new data file over its namesake in `partition`, then delete the data files there
    that the new partition does not hold."""
    for path in new:
        path.replace(partition / path.name)
    _fsync_dir(partition)
    kept = {path.name for path in new}
    for path in layout.data_files(partition):
        if path.name not in kept:
            path.unlink(missing_ok=True)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap the folders `a` and `b` atomically (renameat2 with RENAME_EXCHANGE). False where the
    system or file system cannot; other errors raise."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    # Some file systems cannot fsync a directory; the renames have happened all the same.
    with suppress(OSError):
        _fsync(path)


# --- command line ----------------------------------------------------------------------------------


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise InputError(message)


def main(argv: list[str] | None = None) -> int:
    """`python -m flightdq.etl.transform --dt YYYY-MM-DD [--lake PATH]`: run the job on the local lake and
    print its outcome as one JSON line. Exit 0 on success, 1 when the job failed, 2 on bad input."""
    parser = _ArgumentParser(
        prog=ETL_JOB_NAME,
        description="Rebuild one UTC day's processed partition from its raw snapshots in the local lake.",
    )
    parser.add_argument("--dt", required=True, help="the UTC day to rebuild, YYYY-MM-DD")
    parser.add_argument("--lake", help="local lake root (default: $FLIGHTDQ_LAKE, else ./lake)")
    parser.add_argument(
        "--force", action="store_true", help="replace the partition even with one that holds less"
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
    try:
        outcome = run_local_etl(lake.expanduser(), day, force=args.force)
    except EtlError as exc:
        print(f"{ETL_JOB_NAME}: error: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(asdict(outcome)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
