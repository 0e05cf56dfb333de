"""The embedded backend: a lake folder laid out like the buckets, a SQLite catalog, and DuckDB
reading the Parquet files in place.

The engine sees only registered partitions, as Athena does: the `flightdata_processed` view is made
from the catalog's partitions that have files, with `dt` taken from the path as a string. A
statement that computes per partition (`run_sql(by_partition=True)`: every check's) runs on one
partition's files at a time, two at once, so a 90-day range takes no more memory than a day.

The lake root is checked once, when the backend is made (`check_lake_root`): a path that does not
exist, is not a folder, cannot be read, or (unless the backend is read-only) cannot be written is an
error of the environment, raised before anything is read or created. Nothing here creates the root.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Collection, Iterable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdq.backends.base import BackendError, EtlRun, PartitionFileUnreadable
from flightdq.backends.local.catalog import LocalCatalog, owner_alive
from flightdq.core import layout, parquet_types
from flightdq.core.arrow import unify_by_name
from flightdq.core.config import ConfigError
from flightdq.core.contract import (
    PARTITION_KEY,
    PROCESSED_BUCKET,
    PROCESSED_COLUMNS,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
    RAW_BUCKET,
)
from flightdq.core.errors import EnvironmentFault, data_files_named, describe_error
from flightdq.core.layout import data_files, folder_entries
from flightdq.core.links import NoConsole
from flightdq.storage.blobstore import LocalBlobStore
from flightdq.storage.history import HistoryStore

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from flightdq.core.config import Settings

ENGINE_MEMORY_LIMIT = "1GB"
# DuckDB 2.0 trusts a Parquet double column's min/max to say whether it holds NaN, but writers leave
# NaN out of them (the Parquet spec says so): with statistics propagation on, `isnan(x)` is false and
# `x > 90` true for a NaN that pyarrow wrote (duckdb/duckdb#25521, open). Schema validity's rules
# treat NaN as missing, as GX does: they need the true answer.
NAN_SAFE_SETTING = "SET disabled_optimizers = 'statistics_propagation'"
PARTITION_WORKERS = 2  # partitions a per-partition statement runs on at once (`run_sql(by_partition=)`)
_FOOTER_SQL = "SELECT name, type, converted_type, logical_type, num_children FROM parquet_schema($1)"
_DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "bigint": "BIGINT", "double": "DOUBLE"}


class NotALake(ConfigError, EnvironmentFault):
    """FLIGHTDQ_LAKE names a folder without the lake's layout (an empty folder, `/`)."""


def check_lake_root(path: Path, *, writable: bool) -> Path:
    """`path`, if it is a lake root this process can use: an existing folder it can read (and, when
    `writable`, write). Otherwise a one-line ConfigError naming the path and the problem.

    A missing lake is never created here: checking it would report every day as lost data.
    """
    hint = "set FLIGHTDQ_LAKE to the lake's root folder"
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise ConfigError(
            f"lake {path} does not exist ({hint}, or make a sample one with "
            "`.venv/bin/flightdq-dev generate --lake PATH`)"
        ) from None
    except NotADirectoryError:
        raise ConfigError(f"lake {path} is not a folder: a part of the path is a file ({hint})") from None
    except PermissionError:
        raise ConfigError(f"lake {path} cannot be reached: permission denied") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"lake {path} cannot be used: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISDIR(mode):
        raise ConfigError(f"lake {path} is not a folder ({hint})")
    if not os.access(path, os.R_OK | os.X_OK):
        raise ConfigError(f"lake {path} is not readable: permission denied")
    if not is_lake(path):
        raise NotALake(
            f"{path} is not a lake: it holds neither {RAW_BUCKET}/ nor {PROCESSED_BUCKET}/ ({hint}, "
            "or make a sample one with `.venv/bin/flightdq-dev generate --lake PATH`)"
        )
    if writable and not os.access(path, os.W_OK):
        raise ConfigError(
            f"lake {path} is read-only (storage or permissions) and this command writes to it; "
            "`flightdq validate --no-record` checks without writing"
        )
    return path


def is_lake(path: Path) -> bool:
    """A lake is recognised by its layout, never assumed: a folder holding the raw zone's or the
    processed zone's bucket folder. Nothing is created in any other folder (an empty one, `/`)."""
    return any((path / bucket).is_dir() for bucket in (RAW_BUCKET, PROCESSED_BUCKET))


def _fetch(conn: duckdb.DuckDBPyConnection, sql: str, view: str) -> list[dict[str, Any]]:
    conn.execute(f"CREATE OR REPLACE TEMP VIEW {PROCESSED_TABLE} AS {view}")
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


class LocalBackend:
    name = "local"
    dialect = "duckdb"

    def __init__(self, settings: Settings, *, writable: bool = True) -> None:
        """`writable=False`: a backend that only reads (checks that record nothing, listings); the lake
        may then be on read-only storage."""
        self.settings = settings
        self.lake = check_lake_root(settings.lake, writable=writable)
        self.writable = writable
        self.raw_root = self.lake / RAW_BUCKET
        self.processed_root = self.lake / PROCESSED_BUCKET / PROCESSED_PREFIX
        self.catalog = LocalCatalog(self.lake, read_only=not writable)
        self.blobs = LocalBlobStore(self.lake)
        self.history = HistoryStore(self.blobs)
        self._conn: duckdb.DuckDBPyConnection | None = None
        self.query_log: list[dict[str, Any]] = []  # drained by the runner into each check's details
        self._lock = threading.Lock()
        self.console = NoConsole()  # no console: the day view shows the local ETL runs

    # --- engine -------------------------------------------------------------------------------
    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._conn is None:
            import duckdb

            # A bounded engine: past the limit DuckDB spills to disk instead of taking the machine,
            # into a folder of its own under the system's temporary folder (DuckDB's default is
            # `.tmp` in the working directory). DuckDB makes it on the first spill and removes it
            # when the connection closes.
            self._conn = duckdb.connect(
                ":memory:",
                config={
                    "threads": 2,
                    "memory_limit": ENGINE_MEMORY_LIMIT,
                    "temp_directory": spill_directory(),
                },
            )
            self._conn.execute("SET TimeZone = 'UTC'")  # after connect: icu loads with the connection
            self._conn.execute(NAN_SAFE_SETTING)
        return self._conn

    def _partition_files(self, dt_range: tuple[str, str], dts: Collection[str] | None) -> list[list[str]]:
        """The data files of each partition a query may read, in `dt` order: the registered ones
        within `dt_range` (and among `dts`, when given), as Athena prunes on `dt`; data files only
        (Athena skips names that start with `_` or `.`)."""
        start, end = dt_range
        return [
            [str(path) for path in data_files(self.lake_path(location))]
            for dt, location in sorted(self.catalog.registered(PROCESSED_TABLE, start, end).items())
            if dts is None or dt in dts
        ]

    @staticmethod
    def _view_sql(files: list[str]) -> str:
        """The processed table as the engine sees it for one query: these files, `dt` from the path."""
        if not files:
            columns = ", ".join(
                f"CAST(NULL AS {_DUCKDB_TYPES[c.sql_type]}) AS {c.name}" for c in PROCESSED_COLUMNS
            )
            return f"SELECT {columns}, CAST(NULL AS VARCHAR) AS {PARTITION_KEY} WHERE false"
        file_list = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
        return (
            f"SELECT * FROM read_parquet([{file_list}], hive_partitioning = true, union_by_name = true, "
            f"hive_types = {{'{PARTITION_KEY}': VARCHAR}})"
        )

    def run_sql(
        self,
        sql: str,
        *,
        label: str = "adhoc",
        dt_range: tuple[str, str],
        dts: Collection[str] | None = None,
        by_partition: bool = False,
    ) -> list[dict[str, Any]]:
        with self._lock:
            conn = self._connection()
            partitions: list[list[str]] = []
            try:
                started = time.perf_counter()
                partitions = [files for files in self._partition_files(dt_range, dts) if files]
                if by_partition and len(partitions) > 1:
                    rows = self._run_by_partition(conn, sql, partitions)
                else:
                    rows = _fetch(conn, sql, self._view_sql([f for files in partitions for f in files]))
                elapsed = round(time.perf_counter() - started, 3)
                self.query_log.append({"template": label, "engine": "duckdb", "seconds": elapsed})
                return rows
            except EnvironmentFault:
                raise
            except Exception as exc:  # duckdb raises many types: name the query, never the data
                message = f"query {label} failed on the embedded engine: {describe_error(exc)}"
                read = {f for files in partitions for f in files}
                named = tuple(f for f in data_files_named(str(exc)) if f in read)
                if named:  # the engine choked on a file it was given: that file's day's data
                    raise PartitionFileUnreadable(message, files=named) from exc
                raise BackendError(message) from exc

    def _run_by_partition(
        self, conn: duckdb.DuckDBPyConnection, sql: str, partitions: list[list[str]]
    ) -> list[dict[str, Any]]:
        """The statement on each partition alone, `PARTITION_WORKERS` at a time (each on its own
        cursor), the rows in partition order: the engine holds a few days' working state, never the
        range's (one day's distinct flight_ids, not ninety days' of them)."""
        from concurrent.futures import ThreadPoolExecutor

        workers = min(PARTITION_WORKERS, len(partitions))

        def work(indexes: range) -> list[tuple[int, list[dict[str, Any]]]]:
            cursor = conn.cursor()
            try:
                cursor.execute("SET TimeZone = 'UTC'")
                return [(i, _fetch(cursor, sql, self._view_sql(partitions[i]))) for i in indexes]
            finally:
                cursor.close()

        chunks = [range(first, len(partitions), workers) for first in range(workers)]
        with ThreadPoolExecutor(workers, thread_name_prefix="flightdq-partitions") as pool:
            found = dict(pair for chunk in pool.map(work, chunks) for pair in chunk)
        return [row for i in range(len(partitions)) for row in found[i]]

    # --- catalog ------------------------------------------------------------------------------
    def registered_partitions(self, start: date, end: date) -> set[str]:
        return set(self.catalog.registered(PROCESSED_TABLE, str(start), str(end)))

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        """Register partitions at their location relative to the lake root, so a lake that is moved,
        copied or mounted elsewhere (the compose file does) keeps working."""
        return self.catalog.register(PROCESSED_TABLE, [(dt, self.relative_location(dt)) for dt in dts])

    def fix_partition_locations(self, start: date | None = None, end: date | None = None) -> list[str]:
        """Point registered partitions whose location is stale (an absolute path of a lake that was
        moved, copied or mounted elsewhere) at their folder in this lake, relative to its root."""
        registered = self.catalog.registered(
            PROCESSED_TABLE, str(start) if start else None, str(end) if end else None
        )
        stale = [
            (dt, self.relative_location(dt))
            for dt, location in registered.items()
            if location != self.relative_location(dt) and self.partition_folder(dt).is_dir()
        ]
        return self.catalog.relocate(PROCESSED_TABLE, stale)

    def catalog_columns(self, start: date, end: date) -> None:
        """None: DuckDB reads the files' own columns; the catalog holds no column types."""
        return None

    def relative_location(self, dt: str) -> str:
        return self.partition_folder(dt).relative_to(self.lake).as_posix()

    def lake_path(self, location: str) -> Path:
        """A catalog location as a path: relative ones are under the lake root; absolute ones (an
        earlier version's) as they are."""
        path = Path(location)
        return path if path.is_absolute() else self.lake / path

    # --- the ETL job ----------------------------------------------------------------------------
    def run_etl(self, day: date, *, wait_seconds: float = 3600.0) -> EtlRun:
        """Run the ETL job (`settings.etl_job`, default ours: `local_etl_job`) for `day` here and now,
        with the job contract's arguments (`--dt`, `--output_prefix` = the day's `run=<run id>/`
        folder, and `--lake`), unless a run for that day is already going: then wait for that one and
        report it (never a second run for the same day). The run only writes its folder; publishing it
        is the repair's (`flightdq.recovery.publish`). A run that failed has its folder deleted."""
        dt = str(day)
        run_id = f"local-etl__{day}__{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + wait_seconds
        while (going := self.catalog.claim_etl_run(dt, run_id, os.getpid())) is not None:
            waited = self._wait_for_run(going, max(deadline - time.monotonic(), 0.0))
            if waited.state != "ABANDONED":
                return waited
            # its owner died while we waited: the claim above marks it taken over and the day is ours
        folder = self.run_folder(dt, run_id)
        started: float | None = None
        try:
            folder.mkdir(parents=True)  # its time is the run's start, on the file system's clock
            started = folder.stat().st_mtime
            run_local_job(
                self.settings.etl_job, ["--dt", dt, "--output_prefix", str(folder), "--lake", str(self.lake)]
            )
        except Exception as exc:
            # the job's own errors and a bad setting, as they say it; anything else by its kind only
            error = str(exc) if isinstance(exc, (RuntimeError, ConfigError)) else describe_error(exc)
            self.catalog.finish_etl_run(run_id, "FAILED", error=error[:1000])
            shutil.rmtree(folder, ignore_errors=True)  # what it wrote is garbage: no reader sees it
            with contextlib.suppress(OSError):  # a day's folder made only to hold the run's
                folder.parent.rmdir()
            return EtlRun(
                run_id, dt, "FAILED", error=error, output_prefix=self._relative(folder), started_at=started
            )
        self.catalog.finish_etl_run(run_id, "SUCCEEDED")
        return EtlRun(run_id, dt, "SUCCEEDED", output_prefix=self._relative(folder), started_at=started)

    def run_folder(self, dt: str, run_id: str) -> Path:
        """The output prefix of a run of the day: `dt=D/run=<run id>/` in the lake (the S3 layout)."""
        return self.partition_folder(dt) / f"run={run_id}"

    def _relative(self, path: Path) -> str:
        return path.relative_to(self.lake).as_posix() + "/"

    def _wait_for_run(self, run_id: str, wait_seconds: float) -> EtlRun:
        deadline = time.monotonic() + wait_seconds
        while True:
            run = self.catalog.etl_run(run_id)
            if run is None:
                raise BackendError(f"ETL run {run_id} vanished from the job registry")
            if run["state"] != "RUNNING":
                return EtlRun(
                    run_id,
                    run["dt"],
                    run["state"],
                    rows=run["rows"],
                    error=run["error"],
                    attached=True,
                    output_prefix=self._relative(self.run_folder(run["dt"], run_id)),
                    started_at=_started(self.run_folder(run["dt"], run_id)),
                )
            if not owner_alive(run["pid"], run.get("owner")):  # it died while we waited
                return EtlRun(run_id, run["dt"], "ABANDONED", error="its process is gone", attached=True)
            if time.monotonic() > deadline:
                raise BackendError(
                    f"ETL run {run_id} for {run['dt']} still running after {wait_seconds:.0f}s"
                )
            time.sleep(0.2)

    def etl_runs(self, day: date) -> list[dict[str, Any]]:
        return self.catalog.etl_runs(str(day))

    # --- storage ------------------------------------------------------------------------------
    def partition_folder(self, day: date | str) -> Path:
        return self.lake / PROCESSED_BUCKET / layout.processed_partition_prefix(day)

    def processed_partitions_in_storage(
        self, start: date | None = None, end: date | None = None
    ) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for folder in folder_entries(self.processed_root):
            if not folder.name.startswith("dt="):
                continue
            dt = folder.name.removeprefix("dt=")
            if not folder.is_dir() or not layout.is_partition_value(dt):
                continue  # staging folders and stray names are not partitions
            if (start and dt < str(start)) or (end and dt > str(end)):
                continue
            found[dt] = [str(p) for p in data_files(folder)]
        return found

    def read_partition(self, day: date) -> pa.Table:
        import pyarrow.dataset as ds

        files = data_files(self.partition_folder(day))
        if not files:
            raise BackendError(f"processed partition dt={day} has no Parquet files")
        import pyarrow as pa

        try:
            schemas = [ds.dataset(str(f), format="parquet").schema for f in files]
            unified = unify_by_name(schemas)
            return ds.dataset([str(f) for f in files], format="parquet", schema=unified).to_table()
        except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
            named = data_files_named(str(exc)) or tuple(str(f) for f in files)
            raise PartitionFileUnreadable(
                f"processed partition dt={day} cannot be read: {describe_error(exc)}", files=named
            ) from exc

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        import pyarrow.parquet as pq

        return {
            str(path.relative_to(self.lake)): pq.read_schema(path)
            for path in data_files(self.partition_folder(day))
        }

    def read_raw_snapshot(self, day: date, hour: int, unix: int) -> bytes | None:
        for gz in (False, True):
            path = self.raw_root / layout.raw_key(day, hour, unix, gzip=gz)
            if path.is_file():
                return path.read_bytes()
        return None

    def partition_file_columns(
        self, day: date, *, unreadable: dict[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        """file -> column -> Parquet type (`core.parquet_types` spelling), from each file's footer,
        read by DuckDB's `parquet_schema()` (no pyarrow import on the hot path)."""
        found: dict[str, dict[str, str]] = {}
        with self._lock:
            conn = self._connection()
            for path in data_files(self.partition_folder(day)):
                name = str(path.relative_to(self.lake))
                try:
                    rows = conn.execute(_FOOTER_SQL, [str(path)]).fetchall()
                except Exception as exc:  # duckdb raises several types for a file that is not Parquet
                    if unreadable is None:
                        raise PartitionFileUnreadable(
                            f"footer of {name}: {describe_error(exc)}", files=(str(path),)
                        ) from exc
                    unreadable[name] = describe_error(exc)
                    continue
                found[name] = parquet_types.from_duckdb(rows)
        return found

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        from flightdq.core.dates import iter_days

        result: dict[str, dict[int, list[int]]] = {}
        for day in iter_days(start, end):
            hours: dict[int, list[int]] = {}
            day_folder = self.raw_root / layout.raw_day_prefix(day)
            unreadable = self.history.read_quarantine(str(day))
            # listed folder by folder, not globbed: `glob` skips a folder it cannot read, and an
            # unreadable hour would read as a lost one (a P0 data loss)
            for hour_name in sorted(layout.list_folder(day_folder)):
                if not hour_name.startswith("hour="):
                    continue
                for name in sorted(layout.list_folder(day_folder / hour_name)):
                    path = day_folder / hour_name / name
                    key = str(path.relative_to(self.raw_root))
                    match = layout.RAW_KEY_RE.match(key)
                    size = path.stat().st_size if match else 0
                    if unreadable.get(key) == size:  # the ETL could not read it: a missing snapshot
                        continue
                    if match and size >= layout.MIN_SNAPSHOT_BYTES:
                        hours.setdefault(int(match["hour"]), []).append(int(match["unix"]))
            result[str(day)] = hours
        return result

    def require_credentials(self) -> None:
        """The embedded lake needs none: its root was checked when the backend was made."""

    def upstream_diagnosis(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {
            "available": False,
            "reason": "not available locally: the embedded lake has no ingestion Lambda",
        }


class LocalJobFailed(BackendError):
    """The local ETL job ended badly (an exit status other than 0, or it raised)."""


DEFAULT_LOCAL_JOB = "flightdq.etl.transform:contract_job"
_CALLABLE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")


def run_local_job(job: str | None, arguments: list[str]) -> None:
    """Run the embedded lake's ETL job with the job contract's arguments. `job` (`settings.etl_job`):
    `module:function` is imported and called in this process as `function(arguments)` (it raises
    when the job fails; an int it returns is an exit status, 0 for success); anything else is a
    command line, run with the arguments appended (`python` is this interpreter: e.g.
    `python -m flightdq.etl.transform`). None: ours (`flightdq.etl.transform:contract_job`)."""
    import importlib
    import shlex
    import subprocess
    import sys

    job = job or DEFAULT_LOCAL_JOB
    if _CALLABLE.match(job):
        module, _, name = job.partition(":")
        try:
            function = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"FLIGHTDQ_ETL_JOB={job!r}: no such function ({exc})") from None
        status = function(list(arguments))
        if isinstance(status, int) and not isinstance(status, bool) and status != 0:
            raise LocalJobFailed(f"ETL job {job} exited with status {status}")
        return
    command = shlex.split(job)
    if not command:
        raise ConfigError("FLIGHTDQ_ETL_JOB is empty")
    if command[0] in ("python", "python3"):
        command[0] = sys.executable  # the interpreter this process runs on, with its packages
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        raise LocalJobFailed(f"ETL job {command[0]} exited with status {done.returncode}: {detail[0][:500]}")


def _started(folder: Path) -> float | None:
    """A run's start on the file system's clock: its folder's modification time (None: gone)."""
    try:
        return folder.stat().st_mtime
    except OSError:
        return None


def spill_directory() -> str:
    """A new, not yet existing folder under the system's temporary folder for one engine's spill files."""
    return str(Path(tempfile.gettempdir()) / f"flightdq-duckdb-spill-{os.getpid()}-{uuid.uuid4().hex[:12]}")
