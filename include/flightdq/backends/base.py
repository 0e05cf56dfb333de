"""The one small interface both backends implement: the lake's storage, its catalog, its SQL engine,
the check history and the ETL job. Checks and DAGs see only this."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.blobstore import BlobStore
    from flightdq.config import Settings
    from flightdq.history import HistoryStore


class BackendError(RuntimeError):
    """An engine, catalog or storage call failed; the message names the query, run or object."""


@dataclass(frozen=True)
class EtlRun:
    """One run of the `flightdata-etl` job for one day, as the job registry knows it."""

    run_id: str
    dt: str
    state: str  # SUCCEEDED, FAILED, or the engine's own terminal state (STOPPED, TIMEOUT, ...)
    rows: int | None = None
    error: str | None = None
    attached: bool = False  # True when this caller found the run already going and waited for it

    @property
    def succeeded(self) -> bool:
        return self.state == "SUCCEEDED"


class Backend(Protocol):
    name: str
    settings: Settings
    blobs: BlobStore  # flightdq's own records: history, remediations, incidents
    history: HistoryStore
    query_log: list[dict[str, Any]]  # one entry per query run (template, query id, bytes scanned...)

    def query(self, template: str, **params: str | int | float) -> list[dict[str, Any]]:
        """Run a named SQL template (see `flightdq.queries`) and return its rows."""

    def registered_partitions(self, start: date, end: date) -> set[str]:
        """The `dt` values registered in the catalog for the processed table within [start, end]."""

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        """Register processed partitions (idempotent); returns the ones that were new."""

    def processed_partitions_in_storage(self, start: date | None, end: date | None) -> dict[str, list[str]]:
        """dt -> Parquet files found in storage under the partition's prefix (empty list: folder only)."""

    def read_partition(self, day: date) -> pa.Table:
        """All rows of a processed partition as stored, its files' columns unified by name."""

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        """The Parquet schema of each file of a processed partition (from the files' footers)."""

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        """dt -> hour -> the snapshot `time`s of the raw objects found, from listing only."""

    def run_etl(self, day: date) -> EtlRun:
        """Rebuild the day's processed partition with the ETL job, or wait for the run already going
        for that day; returns the run in a terminal state."""


def get_backend(settings: Settings | None = None, *, writable: bool = True) -> Backend:
    """The configured backend. `writable=False` asks for one that only reads (the local lake may then
    be read-only); the local backend checks its lake root either way before anything is touched."""
    from flightdq.config import Settings

    settings = settings or Settings.from_env()
    if settings.backend == "local":
        from flightdq.backends.local import LocalBackend

        return LocalBackend(settings, writable=writable)
    if settings.backend == "aws":
        from flightdq.backends.aws import AwsBackend

        return AwsBackend(settings)
    raise BackendError(f"backend {settings.backend!r} is not available in this version of flightdq")
