"""The local stand-in for the Glue catalog and the Glue job-run registry: one SQLite file in the lake.

SQLite gives us what Glue gives on AWS: registering a partition twice is harmless, and the rule
"at most one ETL run going per day" is a unique index, so two processes cannot both win it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

CATALOG_FILE = "_catalog/flightdata.sqlite"

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
    started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
    finished_at TEXT,
    error TEXT,
    rows INTEGER
);
CREATE UNIQUE INDEX IF NOT EXISTS one_running_etl_per_day ON etl_runs (dt) WHERE state = 'RUNNING';
"""


class LocalCatalog:
    def __init__(self, lake_root: Path) -> None:
        self.path = Path(lake_root) / CATALOG_FILE

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_SCHEMA)
            yield conn
        finally:
            conn.close()

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

    def unregister(self, table: str, dt: str) -> bool:
        with self.connect() as conn:
            return bool(
                conn.execute("DELETE FROM partitions WHERE table_name = ? AND dt = ?", (table, dt)).rowcount
            )

    # --- ETL job runs: at most one RUNNING per day ------------------------------------------------
    def claim_etl_run(self, dt: str, run_id: str, pid: int) -> str | None:
        """Record a new RUNNING run for `dt`, or return the id of the run already going for it.

        A RUNNING run whose process is gone (a crash) is marked ABANDONED first, so it blocks nobody.
        """
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                running = conn.execute(
                    "SELECT run_id, pid FROM etl_runs WHERE dt = ? AND state = 'RUNNING'", (dt,)
                ).fetchone()
                if running and _process_alive(running[1]):
                    conn.execute("COMMIT")
                    return running[0]
                if running:
                    conn.execute(
                        "UPDATE etl_runs SET state = 'ABANDONED', error = 'process gone', "
                        "finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE run_id = ?",
                        (running[0],),
                    )
                conn.execute(
                    "INSERT INTO etl_runs (run_id, dt, state, pid) VALUES (?, ?, 'RUNNING', ?)",
                    (run_id, dt, pid),
                )
                conn.execute("COMMIT")
                return None
            except BaseException:
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


def _process_alive(pid: int | None) -> bool:
    import os

    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
