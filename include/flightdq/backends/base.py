"""The ports both backends implement, one small Protocol per concern: the SQL engine (`SqlEngine`),
the catalog (`Catalog`), the lake's storage (`LakeStorage`: the processed partitions' files, the raw
listing and snapshots), flightdq's own records (`Records`), the ETL job (`EtlJob`, and
`ExternalEtl` for a job run by a service), and what can be learnt upstream (`Upstream`). A function
takes the narrowest port it uses; `Backend` is all of them, built once by an entry point (a CLI
command, a DAG task, an operator) and passed down. Nothing below the entry points builds one."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from flightdq.core.errors import DataFault

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.core.config import Settings
    from flightdq.core.links import ConsoleLinks
    from flightdq.storage.blobstore import BlobStore
    from flightdq.storage.history import HistoryStore


class BackendError(RuntimeError):
    """An engine, catalog or storage call failed; the message names the query, run or object. Unless
    it is also a `DataFault`, it says nothing about the data: the monitor could not look."""


class PartitionFileUnreadable(DataFault, BackendError):
    """A data file of a processed partition could not be read or decoded by the engine (not Parquet,
    a value that does not convert to its column's type): the data's own fault, on that file's day."""


# A run in one of these states has not ended yet (Glue's names; the local registry says RUNNING).
ETL_GOING_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})


@dataclass(frozen=True)
class EtlRun:
    """One run of the ETL job for one day, as the job registry knows it. The run only wrote its
    output prefix (the job contract, docs/aws.md); publishing it is the repair's
    (`flightdq.recovery.publish`)."""

    run_id: str
    dt: str
    state: str  # SUCCEEDED, FAILED, or the engine's own terminal state (STOPPED, TIMEOUT, ...)
    rows: int | None = None
    error: str | None = None
    attached: bool = False  # True when this caller found the run already going and waited for it
    skipped: tuple[str, ...] = ()  # raw objects it could not read and left out (missing snapshots)
    output_prefix: str | None = None  # the run's `--output_prefix` (None: a run started without one)
    started_at: float | None = None  # when it started, seconds since the epoch (None: unknown)

    @property
    def succeeded(self) -> bool:
        return self.state == "SUCCEEDED"

    @property
    def going(self) -> bool:
        return self.state in ETL_GOING_STATES


@dataclass(frozen=True)
class EtlWait:
    """How to wait for a run of an `ExternalEtl` job outside the process that started it (Airflow's
    triggerer): the job, the Airflow connection to look with, and how often and how long to look."""

    job_name: str
    aws_conn_id: str
    poll_seconds: float
    max_polls: int


@runtime_checkable
class ExternalEtl(Protocol):
    """A backend whose ETL job runs in a service of its own (AWS Glue): a run can be started here and
    waited for elsewhere. The embedded lake's ETL is a function run in the caller's process, with
    nothing to wait for, so the local backend is not one."""

    def start_etl(self, day: date) -> EtlRun:
        """Start the day's run with a new run-scoped output prefix (the job contract), or attach to
        the run already going for it (never two runs for one day); returns at once, the run as the
        service describes it now."""

    def etl_run(self, run_id: str, dt: str, *, attached: bool = False) -> EtlRun:
        """One run as the service describes it now; a run that ended badly carries its error."""

    def etl_wait(self) -> EtlWait:
        """What a wait for a run of the job needs (see `EtlWait`)."""


class EtlJob(Protocol):
    """The `flightdata-etl` job, as a caller in this process runs it."""

    def run_etl(self, day: date) -> EtlRun:
        """Run the ETL job for the day with a new run-scoped output prefix (the job contract: it only
        writes there), or wait for the run already going for that day; returns the run in a terminal
        state. Auditing and publishing what it wrote is the repair's (`flightdq.recovery.publish`)."""


class SqlEngine(Protocol):
    """The SQL engine over the processed table (Athena, or DuckDB on the embedded lake)."""

    query_log: list[dict[str, Any]]  # one entry per query run (template, query id, bytes scanned...)
    dialect: str  # the SQL dialect `run_sql` takes: "trino" (Athena) or "duckdb" (embedded)

    def run_sql(
        self,
        sql: str,
        *,
        label: str,
        dt_range: tuple[str, str],
        dts: Collection[str] | None = None,
        by_partition: bool = False,
    ) -> list[dict[str, Any]]:
        """Run one statement over the processed table and return its rows. The statement filters
        `dt` within `dt_range` (and to `dts`, when given: `dt IN (...)`); the engine reads only those
        partitions (Athena prunes on `dt`, the embedded engine is given only their files), so one
        day's bad file leaves other days alone. `by_partition`: the statement computes each
        partition's rows from that partition alone (it groups by `dt` and orders by it, as every
        check's statement does), so the embedded engine may run it one partition at a time and its
        memory does not grow with the range; Athena runs it whole."""


class Catalog(Protocol):
    """The catalog's partitions of the processed table (Glue, or the embedded SQLite catalog)."""

    def registered_partitions(self, start: date, end: date) -> set[str]:
        """The `dt` values registered in the catalog for the processed table within [start, end]."""

    def fix_partition_locations(self, start: date | None, end: date | None) -> list[str]:
        """Point registered partitions whose location is stale at where their files are; returns them."""

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        """Register processed partitions (idempotent); returns the ones that were new."""

    def catalog_columns(
        self, start: date, end: date
    ) -> tuple[dict[str, str], dict[str, dict[str, str]]] | None:
        """The catalog's table columns (name -> type, partition keys left out) and each registered
        partition's within [start, end], as the engine reads the files (Athena reads them as Glue
        says); None where the engine reads the files' own columns (the embedded lake)."""


class LakeStorage(Protocol):
    """The lake's objects: the processed partitions' files (listing, footers, rows) and the raw
    snapshots (listing, bodies)."""

    def processed_partitions_in_storage(self, start: date | None, end: date | None) -> dict[str, list[str]]:
        """dt -> Parquet files found in storage under the partition's prefix (empty list: folder only)."""

    def read_partition(self, day: date) -> pa.Table:
        """All rows of a processed partition as stored, its files' columns unified by name."""

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        """The Parquet schema of each file of a processed partition (from the files' footers)."""

    def partition_file_columns(
        self, day: date, *, unreadable: dict[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        """file -> top-level column -> its Parquet type, spelled by `core.parquet_types` (the same
        on every backend), from the files' footers only, never the data: what schema validity
        judges the files on. A file whose footer cannot be read raises, or, when `unreadable` is
        given, is left out and named there with what went wrong (`describe_error`: no values)."""

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        """dt -> hour -> the snapshot `time`s of the raw objects found, from listing only."""

    def read_raw_snapshot(self, day: date, hour: int, unix: int) -> bytes | None:
        """The body of one raw snapshot object (`.json` or `.json.gz`, as stored), or None."""


class Records(Protocol):
    """flightdq's own records: check history, remediations, incidents (in the lake, or on S3)."""

    name: str  # the backend's name, stamped on each record
    blobs: BlobStore
    history: HistoryStore


class Upstream(Protocol):
    """What can be learnt about the data's source (the ingestion Lambda)."""

    def upstream_diagnosis(self, start: datetime, end: datetime) -> dict[str, Any]:
        """What the runbook has a person look up when raw data is missing or low, over [start, end]
        (UTC; naive datetimes are taken as UTC): the ingestion Lambda's CloudWatch metrics, its ERROR
        log events reduced to error classes and counts (never message text), and its state. Plain
        JSON; best-effort, never raises for an AWS failure: a part that failed is `{"error": code}`.
        `{"available": False, "reason": ...}` where there is no ingestion Lambda (the embedded lake).
        `flightdq.incidents.diagnosis.diagnosis_text` renders it."""


class Backend(SqlEngine, Catalog, LakeStorage, Records, EtlJob, Upstream, Protocol):
    """Every port, as one object: what an entry point builds once (`registry.get_backend`) and
    passes down; each function below takes the narrowest port it uses."""

    settings: Settings
    console: ConsoleLinks  # the console pages this backend can link to (none on the embedded lake)
    writable: bool  # False: opened to read only (`--no-record`, `--dry-run`); records nothing

    def require_credentials(self) -> None:
        """Raise a one-line ConfigError when the backend has no credentials to work with (AWS);
        nothing to check on the embedded lake. No API call is made."""
