"""The local stand-in for the Glue catalog and the Glue job-run registry: one SQLite file in the lake.

SQLite gives us what Glue gives on AWS: registering a partition twice is harmless, and the rule
"at most one ETL run going per day" is a unique index, so two processes cannot both win it.

Opened `read_only`, the catalog creates nothing: no file yet reads as an empty catalog, and a lake on
read-only storage is read as it stands.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flightdq.storage.blobstore import StorageError, storage_error

CATALOG_FILE = "_catalog/flightdata.sqlite"
# How long a connection waits for another one's lock before saying the catalog is locked
# (FLIGHTDQ_CATALOG_TIMEOUT, seconds).
DEFAULT_LOCK_SECONDS = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS partitions (
    table_name TEXT NOT NULL,
    dt TEXT NOT NULL,
    location TEXT NOT NULL,
    registered_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    PRIMARY KEY (table_name, dt)
);
CREATE TABLE IF NOT EXISTS etl_runs (
    run_id TEXT PRIMARY KEY,
    dt TEXT NOT NULL,
    state TEXT NOT NULL,
    pid INTEGER,
    owner TEXT,
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    error TEXT,
    rows INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS one_running_etl_per_day ON etl_runs (dt) WHERE state = 'RUNNING';
"""


_STORAGE_PROBLEMS = {
    sqlite3.SQLITE_FULL: "no space left on {path}",
    sqlite3.SQLITE_READONLY: "{path} cannot be written (read-only storage)",
    sqlite3.SQLITE_CANTOPEN: "{path} cannot be opened",
    sqlite3.SQLITE_IOERR: "{path}: input/output error",
    sqlite3.SQLITE_BUSY: "catalog {path} is locked by another process (waited {seconds:g}s)",
    sqlite3.SQLITE_LOCKED: "catalog {path} is locked by another connection (waited {seconds:g}s)",
}


def lock_seconds() -> float:
    try:
        seconds = float(os.environ.get("FLIGHTDQ_CATALOG_TIMEOUT") or DEFAULT_LOCK_SECONDS)
    except ValueError:
        return DEFAULT_LOCK_SECONDS
    return seconds if 0 <= seconds <= 3600 else DEFAULT_LOCK_SECONDS


class LocalCatalog:
    def __init__(self, lake_root: Path, *, read_only: bool = False) -> None:
        self.path = Path(lake_root) / CATALOG_FILE
        self.read_only = read_only

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = self._open()
        except OSError as exc:
            raise storage_error(exc, self.path.parent) from exc
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            _raise_storage_error(exc, self.path)
            raise
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return self._open_read_only()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=lock_seconds(), isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            if "owner" not in {row[1] for row in conn.execute("PRAGMA table_info(etl_runs)")}:
                conn.execute("ALTER TABLE etl_runs ADD COLUMN owner TEXT")  # a catalog of an earlier version
        except sqlite3.OperationalError as exc:
            conn.close()
            _raise_storage_error(exc, self.path)
            raise
        return conn

    def _open_read_only(self) -> sqlite3.Connection:
        """A connection that creates nothing: SQLite's `mode=ro` still makes the `-wal`/`-shm` files
        of a WAL database when they are missing, so it is used only while they exist (a writer is
        at work: read through its log). Without them every change is in the file itself, which is
        then read as it stands (`immutable`), as it must be on read-only storage anyway."""
        if not self.path.is_file():  # no catalog yet: nothing is registered
            conn = sqlite3.connect(":memory:", isolation_level=None)
            conn.executescript(_SCHEMA)
            return conn
        uri = self.path.as_uri()
        if self.path.with_name(self.path.name + "-wal").exists():
            conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=lock_seconds(), isolation_level=None)
            try:
                conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
                return conn
            except sqlite3.OperationalError:  # a log left on read-only storage without its -shm
                conn.close()
        return sqlite3.connect(f"{uri}?immutable=1", uri=True, isolation_level=None)

    def registered(self, table: str, start: str | None = None, end: str | None = None) -> dict[str, str]:
        """dt -> location of the registered partitions, optionally within [start, end]."""
        sql = "SELECT dt, location FROM partitions WHERE table_name = ?"
        args: list[str] = [table]
        if start is not None:
            sql += " AND dt >= ?"
            args.append(start)
        if end is not None:
            sql += " AND dt <= ?"
            args.append(end)
        with self.connect() as conn:
            return dict(conn.execute(sql + " ORDER BY dt", args).fetchall())

    def register(self, table: str, partitions: Iterable[tuple[str, str]]) -> list[str]:
        """Register (dt, location) pairs; already registered ones are left alone. Returns the new dts."""
        added = []
        with self.connect() as conn:
            for dt, location in partitions:
                cur = conn.execute(
                    "INSERT OR IGNORE INTO partitions (table_name, dt, location) VALUES (?, ?, ?)",
                    (table, dt, location),
                )
                if cur.rowcount:
                    added.append(dt)
        return added

    def relocate(self, table: str, partitions: Iterable[tuple[str, str]]) -> list[str]:
        """Point registered partitions at new locations; returns the dts that changed."""
        changed = []
        with self.connect() as conn:
            for dt, location in partitions:
                cur = conn.execute(
                    "UPDATE partitions SET location = ? WHERE table_name = ? AND dt = ? AND location != ?",
                    (location, table, dt, location),
                )
                if cur.rowcount:
                    changed.append(dt)
        return changed

    def unregister(self, table: str, dt: str) -> bool:
        with self.connect() as conn:
            return bool(
                conn.execute("DELETE FROM partitions WHERE table_name = ? AND dt = ?", (table, dt)).rowcount
            )

    # --- ETL job runs: at most one RUNNING per day ------------------------------------------------
    def claim_etl_run(self, dt: str, run_id: str, pid: int) -> str | None:
        """Record a new RUNNING run for `dt`, or return the id of the run already going for it.

        A run's owner is its process id *and* that process's start time, so a pid reused by another
        process is not mistaken for the run. A RUNNING run whose owner is gone (a crash, a kill) is
        marked ABANDONED, naming the run that took over, so it blocks nobody.
        """
        owner = process_identity(pid)
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                running = conn.execute(
                    "SELECT run_id, pid, owner FROM etl_runs WHERE dt = ? AND state = 'RUNNING'", (dt,)
                ).fetchone()
                if running and owner_alive(running[1], running[2]):
                    conn.execute("COMMIT")
                    return running[0]
                if running:
                    conn.execute(
                        "UPDATE etl_runs SET state = 'ABANDONED', error = ?, "
                        "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE run_id = ?",
                        (f"its process is gone; taken over by {run_id}", running[0]),
                    )
                conn.execute(
                    "INSERT INTO etl_runs (run_id, dt, state, pid, owner) VALUES (?, ?, 'RUNNING', ?, ?)",
                    (run_id, dt, pid, owner),
                )
                conn.execute("COMMIT")
                return None
            except BaseException:
                if conn.in_transaction:  # SQLite has already rolled back after a full disk
                    conn.execute("ROLLBACK")
                raise

    def finish_etl_run(
        self, run_id: str, state: str, *, rows: int | None = None, error: str | None = None
    ) -> None:
        with self.connect() as conn:
            conn.execute(
                "UPDATE etl_runs SET state = ?, rows = ?, error = ?, "
                "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE run_id = ?",
                (state, rows, error, run_id),
            )

    def etl_run(self, run_id: str) -> dict | None:
        with self.connect() as conn:
            conn.row_factory = sqlite3.Row
            row = conn.execute("SELECT * FROM etl_runs WHERE run_id = ?", (run_id,)).fetchone()
            return dict(row) if row else None

    def etl_runs(self, dt: str) -> list[dict]:
        with self.connect() as conn:
            conn.row_factory = sqlite3.Row
            return [
                dict(r)
                for r in conn.execute(
                    "SELECT * FROM etl_runs WHERE dt = ? ORDER BY started_at", (dt,)
                ).fetchall()
            ]


def _raise_storage_error(exc: sqlite3.OperationalError, path: Path) -> None:
    """Raise a one-line StorageError naming the catalog file when SQLite failed on the storage
    (full, read-only, cannot open); return for any other error (a bug, to be seen whole)."""
    code = getattr(exc, "sqlite_errorcode", None)
    template = _STORAGE_PROBLEMS.get(code & 0xFF) if isinstance(code, int) else None
    if template:
        raise StorageError(template.format(path=path, seconds=lock_seconds())) from exc


def process_identity(pid: int) -> str:
    """`pid:start time`: what names one process for its whole life (a pid alone is reused)."""
    import psutil

    try:
        return f"{pid}:{psutil.Process(pid).create_time():.3f}"
    except psutil.Error:
        return f"{pid}:?"


def owner_alive(pid: int | None, owner: str | None) -> bool:
    """True while the process that claimed a run still runs (an earlier version recorded the pid
    only: then a live pid is trusted). A killed process that its parent has not reaped yet (a
    zombie) runs no more: it is dead."""
    import psutil

    if not pid or not psutil.pid_exists(pid):
        return False
    try:
        if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return False
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        pass
    return owner is None or process_identity(pid) == owner
