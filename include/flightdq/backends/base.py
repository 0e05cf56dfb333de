"""The one small interface both backends implement: the lake's storage, its catalog, its SQL engine,
the check history, the ETL job, and what can be learnt about the data's source upstream. Checks and
DAGs see only this."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.core.config import Settings
    from flightdq.storage.blobstore import BlobStore
    from flightdq.storage.history import HistoryStore


class BackendError(RuntimeError):
    """An engine, catalog or storage call failed; the message names the query, run or object."""


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


class Backend(Protocol):
    name: str
    settings: Settings
    blobs: BlobStore  # flightdq's own records: history, remediations, incidents
    history: HistoryStore
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

    def registered_partitions(self, start: date, end: date) -> set[str]:
        """The `dt` values registered in the catalog for the processed table within [start, end]."""

    def fix_partition_locations(self, start: date | None, end: date | None) -> list[str]:
        """Point registered partitions whose location is stale at where their files are; returns them."""

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        """Register processed partitions (idempotent); returns the ones that were new."""

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
        given, is left out and named there with what went wrong (`describe_error`: no values).

        An AWS backend also has `catalog_columns(start, end)`: the Glue table's columns and each
        registered partition's, as the engine (Athena) reads them. The embedded engine reads the
        files' own columns, so the local backend has no such method."""

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        """dt -> hour -> the snapshot `time`s of the raw objects found, from listing only."""

    def read_raw_snapshot(self, day: date, hour: int, unix: int) -> bytes | None:
        """The body of one raw snapshot object (`.json` or `.json.gz`, as stored), or None."""

    def run_etl(self, day: date) -> EtlRun:
        """Run the ETL job for the day with a new run-scoped output prefix (the job contract: it only
        writes there), or wait for the run already going for that day; returns the run in a terminal
        state. Auditing and publishing what it wrote is the repair's (`flightdq.recovery.publish`)."""

    def require_credentials(self) -> None:
        """Raise a one-line ConfigError when the backend has no credentials to work with (AWS);
        nothing to check on the embedded lake. No API call is made."""

    def upstream_diagnosis(self, start: datetime, end: datetime) -> dict[str, Any]:
        """What the runbook has a person look up when raw data is missing or low, over [start, end]
        (UTC; naive datetimes are taken as UTC): the ingestion Lambda's CloudWatch metrics, its ERROR
        log events reduced to error classes and counts (never message text), and its state. Plain
        JSON; best-effort, never raises for an AWS failure: a part that failed is `{"error": code}`.
        `{"available": False, "reason": ...}` where there is no ingestion Lambda (the embedded lake).
        `flightdq.incidents.diagnosis.diagnosis_text` renders it."""
