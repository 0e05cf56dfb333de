"""The embedded backend: a lake folder laid out like the buckets, a SQLite catalog, and DuckDB
reading the Parquet files in place.

The engine sees only registered partitions, as Athena does: the `flightdata_processed` view is made
from the catalog's partitions that have files, with `dt` taken from the path as a string.

The lake root is checked once, when the backend is made (`check_lake_root`): a path that does not
exist, is not a folder, cannot be read, or (unless the backend is read-only) cannot be written is an
error of the environment, raised before anything is read or created. Nothing here creates the root.
"""

from __future__ import annotations

import os
import stat
import tempfile
import threading
import time
import uuid
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdq import layout, queries
from flightdq.backends.base import BackendError, EtlRun
from flightdq.backends.local_catalog import LocalCatalog
from flightdq.blobstore import LocalBlobStore
from flightdq.config import ConfigError
from flightdq.contract import (
    PARTITION_KEY,
    PROCESSED_BUCKET,
    PROCESSED_COLUMNS,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
    RAW_BUCKET,
)
from flightdq.history import HistoryStore

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from flightdq.config import Settings

ENGINE_MEMORY_LIMIT = "1GB"
_DUCKDB_TYPES = {"string": "VARCHAR", "timestamp": "TIMESTAMPTZ", "bigint": "BIGINT", "double": "DOUBLE"}


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
            f"lake {path} does not exist ({hint}, or make one with `flightdq generate`)"
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
    if writable and not os.access(path, os.W_OK):
        raise ConfigError(
            f"lake {path} is read-only (storage or permissions) and this command writes to it; "
            "`flightdq validate --no-record` checks without writing"
        )
    return path


class LocalBackend:
    name = "local"

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
        return self._conn

    def _processed_view_sql(self) -> str:
        files = [
            str(path)
            for dt, location in self.catalog.registered(PROCESSED_TABLE).items()
            for path in sorted(Path(location).glob("*.parquet"))
        ]
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

    def query(self, template: str, **params: str | int | float) -> list[dict[str, Any]]:
        sql = queries.render(template, "duckdb", **params)
        with self._lock:
            conn = self._connection()
            try:
                conn.execute(f"CREATE OR REPLACE TEMP VIEW {PROCESSED_TABLE} AS {self._processed_view_sql()}")
                started = time.perf_counter()
                cursor = conn.execute(sql)
                names = [d[0] for d in cursor.description]
                rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
                elapsed = round(time.perf_counter() - started, 3)
                self.query_log.append({"template": template, "engine": "duckdb", "seconds": elapsed})
                return rows
            except Exception as exc:  # duckdb raises many types; name the query that failed
                raise BackendError(f"query {template} failed on the embedded engine: {exc}") from exc

    # --- catalog ------------------------------------------------------------------------------
    def registered_partitions(self, start: date, end: date) -> set[str]:
        return set(self.catalog.registered(PROCESSED_TABLE, str(start), str(end)))

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        return self.catalog.register(PROCESSED_TABLE, [(dt, str(self.partition_folder(dt))) for dt in dts])

    # --- the ETL job ----------------------------------------------------------------------------
    def run_etl(self, day: date, *, wait_seconds: float = 3600.0) -> EtlRun:
        """Run `flightdata-etl` for `day` here and now, unless a run for that day is already going:
        then wait for that one and report it (never a second run for the same day)."""
        from flightdq import etl

        run_id = f"local-etl__{day}__{uuid.uuid4().hex[:12]}"
        going = self.catalog.claim_etl_run(str(day), run_id, os.getpid())
        if going is not None:
            return self._wait_for_run(going, wait_seconds)
        try:
            outcome = etl.run_local_etl(self.lake, day)
        except Exception as exc:
            self.catalog.finish_etl_run(run_id, "FAILED", error=f"{type(exc).__name__}: {exc}"[:1000])
            return EtlRun(run_id, str(day), "FAILED", error=f"{type(exc).__name__}: {exc}")
        self.catalog.finish_etl_run(run_id, "SUCCEEDED", rows=outcome.rows)
        return EtlRun(run_id, str(day), "SUCCEEDED", rows=outcome.rows)

    def _wait_for_run(self, run_id: str, wait_seconds: float) -> EtlRun:
        deadline = time.monotonic() + wait_seconds
        while True:
            run = self.catalog.etl_run(run_id)
            if run is None:
                raise BackendError(f"ETL run {run_id} vanished from the job registry")
            if run["state"] != "RUNNING":
                return EtlRun(
                    run_id, run["dt"], run["state"], rows=run["rows"], error=run["error"], attached=True
                )
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
        if not self.processed_root.is_dir():
            return found
        for folder in sorted(self.processed_root.glob("dt=*")):
            dt = folder.name.removeprefix("dt=")
            if not folder.is_dir() or not layout.is_partition_value(dt):
                continue  # staging folders and stray names are not partitions
            if (start and dt < str(start)) or (end and dt > str(end)):
                continue
            found[dt] = [str(p) for p in sorted(folder.glob("*.parquet"))]
        return found

    def read_partition(self, day: date) -> pa.Table:
        import pyarrow.dataset as ds

        files = sorted(self.partition_folder(day).glob("*.parquet"))
        if not files:
            raise BackendError(f"processed partition dt={day} has no Parquet files")
        schemas = [ds.dataset(str(f), format="parquet").schema for f in files]
        unified = _unify_by_name(schemas)
        return ds.dataset([str(f) for f in files], format="parquet", schema=unified).to_table()

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        import pyarrow.parquet as pq

        return {
            str(path.relative_to(self.lake)): pq.read_schema(path)
            for path in sorted(self.partition_folder(day).glob("*.parquet"))
        }

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        from flightdq.dates import iter_days

        result: dict[str, dict[int, list[int]]] = {}
        for day in iter_days(start, end):
            hours: dict[int, list[int]] = {}
            day_folder = self.raw_root / layout.raw_day_prefix(day)
            for path in sorted(day_folder.glob("hour=*/states_*.json*")):
                match = layout.RAW_KEY_RE.match(str(path.relative_to(self.raw_root)))
                if match:
                    hours.setdefault(int(match["hour"]), []).append(int(match["unix"]))
            result[str(day)] = hours
        return result


def spill_directory() -> str:
    """A new, not yet existing folder under the system's temporary folder for one engine's spill files."""
    return str(Path(tempfile.gettempdir()) / f"flightdq-duckdb-spill-{os.getpid()}-{uuid.uuid4().hex[:12]}")


def _unify_by_name(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema holding every column of every file; a column whose type differs between files
    keeps the first file's type (reading then fails loudly rather than silently casting)."""
    import pyarrow as pa

    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            fields.setdefault(field.name, field)
    return pa.schema(list(fields.values()))
