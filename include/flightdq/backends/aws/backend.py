"""The AWS backend: the buckets on S3, the Glue catalog, Athena for the checks' SQL and the Glue job
`flightdata-etl`, all through the one `AwsConnection` its entry point gives it (the Airflow layer's,
`flightdq.airflow.aws`, reads the Airflow connection `settings.aws_conn_id`, default `aws_default`,
through the amazon provider's hooks: its extra `region_name` picks the region, its extra
`endpoint_url` or `service_config.<service>.endpoint_url` points it at an emulator).

`AwsBackend` implements `flightdq.backends.base.Backend` by delegating to one part per concern:

- `clients`: the connection port, the clients (made on first use), the call retried with backoff,
  `AwsTuning`;
- `athena`: the checks' SQL on Athena, typed results, the query log (id, bytes scanned);
- `catalog`: the Glue Data Catalog's partitions;
- `s3`: raw and processed objects on S3, and flightdq's own records (`S3BlobStore`);
- `glue_job`: runs of the Glue job (start or attach, wait); `start_etl`, `etl_run` and `etl_wait`
  let Airflow's repair task wait in the triggerer instead (`ExternalEtl` in `flightdq.backends.base`);
- `diagnosis`: the ingestion Lambda's metrics, ERROR classes and state (`upstream_diagnosis`).

**Schema validity** runs the suite compiled to SQL on Athena (one statement per checked range;
`flightdq.checks.suite_sql`), with the columns checked against the Glue table and partitions
(`catalog_columns`) and the Parquet footers of the checked partitions (ranged GETs: never whole
objects). GX's own Athena support cannot do it (GX 1.x has no regex expectations on Athena, and
"seen working, not guaranteed" is not good enough for a check). Only the `gx` engine
(`schema_validity.engine: gx`) downloads partitions to validate their rows with GX on pandas.

Constructing an `AwsBackend` makes no AWS call and reads no connection: clients are made on first use.
This package never imports Airflow, nor boto3 at import time. The Glue job shares only the plain
boto3 helpers in `flightdq.etl` (`s3_io`, `glue_catalog`), never this package.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from flightdq.backends.aws.athena import Athena
from flightdq.backends.aws.catalog import GlueCatalog
from flightdq.backends.aws.clients import AwsClients, AwsConnection, AwsTuning
from flightdq.backends.aws.diagnosis import UpstreamDiagnosis
from flightdq.backends.aws.glue_job import GlueEtlJob, glue_wait_attempts
from flightdq.backends.aws.s3 import DEFAULT_HISTORY_URI, S3BlobStore, S3Lake
from flightdq.backends.base import EtlRun, EtlWait
from flightdq.core.contract import ETL_JOB_NAME
from flightdq.core.links import AwsConsole, aws_region
from flightdq.storage.history import HistoryStore

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.core.config import Settings


class AwsBackend:
    name = "aws"
    dialect = "trino"

    def __init__(
        self,
        settings: Settings,
        connection: AwsConnection,
        *,
        tuning: AwsTuning | None = None,
        history_uri: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or AwsTuning()
        self._clients = AwsClients(connection, self.tuning, sleep)
        uri = history_uri or settings.history_uri or DEFAULT_HISTORY_URI
        self.blobs = S3BlobStore(uri, lambda: self._client("s3"), sleep=sleep)
        self.history = HistoryStore(self.blobs)
        self.query_log: list[dict[str, Any]] = []  # drained by the runner into each check's details
        self._athena = Athena(self._clients, self.query_log)
        self._catalog = GlueCatalog(self._clients)
        self._storage = S3Lake(lambda: self._client("s3"), self._catalog.locations)
        self._job = GlueEtlJob(self._clients, settings.etl_job or ETL_JOB_NAME)
        self._diagnosis = UpstreamDiagnosis(self._clients, settings.ingestion_function)
        self.writable = True  # S3 and Glue: what may be written is the connection's IAM policy
        self.console = AwsConsole(aws_region(), self._job.job_name)  # Athena queries, Glue runs, S3 prefixes

    def __repr__(self) -> str:
        return f"AwsBackend({self._clients.connection.name}, history={self.blobs.location('')!r})"

    def _client(self, kind: str) -> Any:
        return self._clients.client(kind)

    def require_credentials(self) -> None:
        """Raise AwsCredentialsMissing (an EnvironmentFault) when there are no credentials."""
        self._clients.require_credentials()

    # --- engine: Athena -----------------------------------------------------------------------------
    def run_sql(
        self,
        sql: str,
        *,
        label: str = "adhoc",
        dt_range: tuple[str, str] | None = None,
        dts: Collection[str] | None = None,
        by_partition: bool = False,
    ) -> list[dict[str, Any]]:
        return self._athena.run_sql(sql, label=label)  # Athena prunes on the statement's `dt` filter

    # --- catalog: Glue ------------------------------------------------------------------------------
    def registered_partitions(self, start: date, end: date) -> set[str]:
        return self._catalog.registered_partitions(start, end)

    def fix_partition_locations(self, start: date | None = None, end: date | None = None) -> list[str]:
        """Nothing to fix: Glue partitions point at absolute S3 locations, which do not move."""
        return []

    def catalog_columns(self, start: date, end: date) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
        """The Glue table's columns (name -> type, partition keys left out) and each registered
        partition's within [start, end]: what Athena reads the files as."""
        return self._catalog.columns(start, end)

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        return self._catalog.register_partitions(dts, self._storage.stored_locations)

    # --- storage: S3 --------------------------------------------------------------------------------
    def processed_partitions_in_storage(
        self, start: date | None = None, end: date | None = None
    ) -> dict[str, list[str]]:
        return self._storage.processed_partitions_in_storage(start, end)

    def read_partition(self, day: date) -> pa.Table:
        return self._storage.read_partition(day)

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        return self._storage.partition_file_schemas(day)

    def partition_file_columns(
        self, day: date, *, unreadable: dict[str, str] | None = None
    ) -> dict[str, dict[str, str]]:
        return self._storage.partition_file_columns(day, unreadable=unreadable)

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        return self._storage.raw_snapshot_times(start, end)

    def read_raw_snapshot(self, day: date, hour: int, unix: int) -> bytes | None:
        return self._storage.read_raw_snapshot(day, hour, unix)

    # --- the ETL job: Glue --------------------------------------------------------------------------
    def run_etl(self, day: date) -> EtlRun:
        return self._job.run_etl(day)

    def start_etl(self, day: date) -> EtlRun:
        return self._job.start_etl(day)

    def etl_run(self, run_id: str, dt: str, *, attached: bool = False) -> EtlRun:
        return self._job.etl_run(run_id, dt, attached=attached)

    def etl_wait(self) -> EtlWait:
        return EtlWait(
            job_name=self._job.job_name,
            aws_conn_id=self.settings.aws_conn_id,
            poll_seconds=self.tuning.glue_poll_seconds,
            max_polls=glue_wait_attempts(self.tuning),
        )

    def etl_runs(self, day: date | str) -> list[dict[str, Any]]:
        return self._job.etl_runs(day)

    def publish_clients(self) -> tuple[Any, Any]:
        """The plain S3 and Glue catalog clients the repair's publish works with
        (`flightdq.recovery.publish.publish_s3`)."""
        return self._client("s3"), self._client("glue_catalog")

    def active_etl_run(self, dt: str) -> dict[str, Any] | None:
        return self._job.active_etl_run(dt)

    # --- upstream: the ingestion Lambda -------------------------------------------------------------
    def upstream_diagnosis(self, start: datetime, end: datetime) -> dict[str, Any]:
        return self._diagnosis.diagnose(start, end)
