"""The AWS backend: the buckets on S3, the Glue catalog, Athena for the checks' SQL and the Glue job
`flightdata-etl`, all through the amazon provider's hooks and one Airflow connection
(`settings.aws_conn_id`, default `aws_default`; its extra `region_name` picks the region, its extra
`endpoint_url` or `service_config.<service>.endpoint_url` points it at an emulator).

What each part does, and why:

- **Athena** runs the same Trino templates as the embedded engine (`queries.render(name, "trino")`).
  Every template filters `dt BETWEEN ...`, so Athena prunes to the checked partitions. Result reuse is
  off (a reused result does not notice data that changed). Throttling (`TooManyRequestsException`) is
  retried here with exponential backoff and a bound; botocore's own retries are switched off for the
  Athena client so the retries are counted and bounded in one place. FAILED and CANCELLED raise
  `BackendError` naming the query execution id and Athena's `StateChangeReason`. All result pages are
  read (1,000 rows a page; the first row of the first page is the header) and every value is typed by
  the result set's column types (Athena returns strings). Each query appends its id and the bytes it
  scanned to `query_log`, so the cost of checking is visible in every check result.
- **Great Expectations** validates the partition's rows read from its Parquet objects on S3 (pandas
  datasource, same suite as locally): GX 1.x has no regex expectations on Athena (four of the
  suite's row rules are regexes), and "seen working, not guaranteed" is not good enough for a check.
- **Glue catalog**: partitions are listed with `get_partitions` (paginated, an expression on `dt`) and
  registered with `batch_create_partition` using the table's StorageDescriptor; an entry reported
  `AlreadyExistsException` is fine, any other error raises.
- **Glue job**: before starting, a run of `flightdata-etl` already going for the day (same `--dt`) is
  attached to instead of starting another. `ConcurrentRunsExceededException` means wait and retry
  (bounded), re-checking for a run of the day each time: never a second run for one day, never a
  silent failure. The run is polled to a terminal state and returned as it ended.
- **S3**: raw presence and freshness come from listing the raw keys (never reading bodies); processed
  files from listing the partition prefix; Parquet schemas from the files' footers (ranged GETs).
- **flightdq's own records** (check history, incidents, alerts) live under an S3 prefix
  (`FLIGHTDQ_HISTORY_URI`, default `s3://flightdata-processed/`, so keys read
  `s3://flightdata-processed/flightdq-history/...`), with create-only writes by S3 conditional puts.

Constructing an `AwsBackend` makes no AWS call and reads no connection: clients are made on first use.
This module imports neither Airflow nor boto3 at import time; the Glue job imports its helpers.
"""

from __future__ import annotations

import contextlib
import io
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flightdq.backends.base import BackendError, EtlRun
from flightdq.checks import queries
from flightdq.core import layout
from flightdq.core.contract import (
    ATHENA_WORKGROUP,
    ETL_JOB_NAME,
    GLUE_DATABASE,
    PROCESSED_BUCKET,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
    QUERY_RESULTS_BUCKET,
    RAW_BUCKET,
)
from flightdq.storage.history import HistoryStore

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.core.config import Settings

log = logging.getLogger(__name__)

DEFAULT_HISTORY_URI = f"s3://{PROCESSED_BUCKET}/"
HISTORY_URI_ENV = "FLIGHTDQ_HISTORY_URI"
QUERY_OUTPUT_LOCATION = f"s3://{QUERY_RESULTS_BUCKET}/"
ATHENA_PAGE_ROWS = 1000  # Athena's maximum page size for GetQueryResults
GLUE_BATCH_PARTITIONS = 100  # BatchCreatePartition takes at most 100 partitions
GLUE_ACTIVE_STATES = frozenset({"STARTING", "RUNNING", "STOPPING", "WAITING"})
GLUE_TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})
THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "SlowDown"}
)
SERVER_ERROR_CODES = frozenset(
    {"InternalServerException", "InternalFailure", "InternalServerError", "ServiceUnavailable"}
)


@dataclass(frozen=True)
class AwsTuning:
    """Polling, backoff and waiting bounds. The defaults suit AWS; tests shrink them."""

    athena_poll_seconds: float = 0.2  # first poll of a query; grows x1.5 per poll up to the max
    athena_poll_max_seconds: float = 5.0
    athena_timeout_seconds: float = 900.0  # then the query is cancelled and the check errors
    retry_attempts: int = 8  # calls refused by throttling (or a 5xx) before giving up
    backoff_base_seconds: float = 0.5  # delay before retry n: base * 2**(n-1), capped, with jitter
    backoff_max_seconds: float = 20.0
    glue_poll_seconds: float = 1.0  # first poll of a job run; grows x1.5 per poll up to the max
    glue_poll_max_seconds: float = 30.0
    glue_wait_seconds: float = 3 * 3600.0  # longest wait for a run (ours or one we attached to)
    concurrent_retry_seconds: float = 10.0  # first wait after ConcurrentRunsExceeded; doubles, max 120 s
    concurrent_wait_seconds: float = 2 * 3600.0  # longest total wait for the job's run slot


# --- the backend ------------------------------------------------------------------------------------


class AwsBackend:
    name = "aws"

    def __init__(
        self,
        settings: Settings,
        *,
        tuning: AwsTuning | None = None,
        history_uri: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.tuning = tuning or AwsTuning()
        uri = history_uri or settings.history_uri or DEFAULT_HISTORY_URI
        self.blobs = S3BlobStore(uri, lambda: self._client("s3"), sleep=sleep)
        self.history = HistoryStore(self.blobs)
        self.query_log: list[dict[str, Any]] = []  # drained by the runner into each check's details
        self._sleep = sleep
        self._hooks: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self._job_checked = False

    def __repr__(self) -> str:
        return f"AwsBackend(conn_id={self.settings.aws_conn_id!r}, history={self.blobs.location('')!r})"

    # --- clients (made on first use, through the amazon provider's hooks) -------------------------
    def _hook(self, kind: str) -> Any:
        with self._lock:
            hook = self._hooks.get(kind)
            if hook is None:
                hook = self._hooks[kind] = _make_hook(kind, self.settings.aws_conn_id)
            return hook

    def _client(self, kind: str) -> Any:
        with self._lock:
            client = self._clients.get(kind)
        if client is not None:
            return client
        hook = self._hook(kind)
        if kind == "athena":
            from botocore.config import Config

            # flightdq retries throttling itself (counted, bounded, logged): no retries underneath it
            config = hook.config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
            client = hook.get_client_type(config=config)
        else:
            client = hook.get_conn()
        with self._lock:
            return self._clients.setdefault(kind, client)

    def _call(self, kind: str, operation: str, what: str, counter: list[int] | None = None, **kwargs):
        """One API call, retried with exponential backoff (and a bound) while AWS throttles it or
        answers 5xx. Other errors propagate."""
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        method = getattr(self._client(kind), operation)
        attempt = 0
        while True:
            try:
                return method(**kwargs)
            except ClientError as exc:
                code = _error_code(exc)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if code not in THROTTLING_CODES and code not in SERVER_ERROR_CODES and status < 500:
                    raise
                error: Exception = exc
            except (BotoConnectionError, HTTPClientError) as exc:  # a start carries a token: safe to repeat
                code, error = type(exc).__name__, exc
            attempt += 1
            if counter is not None:
                counter[0] += 1
            if attempt >= self.tuning.retry_attempts:
                raise BackendError(
                    f"{what}: {operation} refused {attempt} times ({code}); gave up after "
                    f"{self.tuning.retry_attempts} attempts"
                ) from error
            delay = backoff_delay(attempt, self.tuning.backoff_base_seconds, self.tuning.backoff_max_seconds)
            log.warning("%s: %s refused (%s), retry %d in %.2fs", what, operation, code, attempt, delay)
            self._sleep(delay)

    # --- engine: Athena -----------------------------------------------------------------------------
    def query(self, template: str, **params: str | int | float) -> list[dict[str, Any]]:
        sql = queries.render(template, queries.ATHENA_DIALECT, **params)
        return self.run_sql(sql, label=template)

    def run_sql(self, sql: str, *, label: str = "adhoc") -> list[dict[str, Any]]:
        """Run one Trino statement on Athena (database `flightdata`, workgroup `primary`, results to
        `s3://flightdata-query-results/`, result reuse off) and return all its rows, typed."""
        started = time.monotonic()
        refused = [0]
        what = f"Athena query {label}"
        query_id = self._call(
            "athena",
            "start_query_execution",
            what,
            refused,
            QueryString=sql,
            QueryExecutionContext={"Database": GLUE_DATABASE, "Catalog": "AwsDataCatalog"},
            ResultConfiguration={"OutputLocation": QUERY_OUTPUT_LOCATION},
            WorkGroup=ATHENA_WORKGROUP,
            ResultReuseConfiguration={"ResultReuseByAgeConfiguration": {"Enabled": False}},
            ClientRequestToken=uuid.uuid4().hex,  # a repeated start is the same query, not a second one
        )["QueryExecutionId"]
        what = f"Athena query {query_id} ({label})"
        execution = self._wait_for_query(query_id, what, refused)
        rows = self._read_results(query_id, what, refused)
        statistics = execution.get("Statistics") or {}
        self.query_log.append(
            {
                "template": label,
                "engine": "athena",
                "query_execution_id": query_id,
                "data_scanned_bytes": int(statistics.get("DataScannedInBytes") or 0),
                "seconds": round(time.monotonic() - started, 3),
                "rows": len(rows),
                "throttled": refused[0],
            }
        )
        return rows

    def _wait_for_query(self, query_id: str, what: str, refused: list[int]) -> dict[str, Any]:
        tuning = self.tuning
        deadline = time.monotonic() + tuning.athena_timeout_seconds
        delay = tuning.athena_poll_seconds
        while True:
            execution = self._call("athena", "get_query_execution", what, refused, QueryExecutionId=query_id)[
                "QueryExecution"
            ]
            status = execution.get("Status") or {}
            state = status.get("State")
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                reason = (
                    status.get("StateChangeReason")
                    or (status.get("AthenaError") or {}).get("ErrorMessage")
                    or "Athena gave no reason"
                )
                raise BackendError(f"{what} ended {state}: {reason}")
            if time.monotonic() >= deadline:
                with contextlib.suppress(Exception):  # the timeout is the error worth reporting
                    self._call("athena", "stop_query_execution", what, QueryExecutionId=query_id)
                raise BackendError(
                    f"{what} still {state} after {tuning.athena_timeout_seconds:.0f}s; cancelled it"
                )
            self._sleep(delay)
            delay = min(delay * 1.5, tuning.athena_poll_max_seconds)

    def _read_results(self, query_id: str, what: str, refused: list[int]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        columns: list[tuple[str, Callable[[str], Any]]] | None = None
        labels: list[str] = []
        token: str | None = None
        first_page = True
        while True:
            kwargs: dict[str, Any] = {"QueryExecutionId": query_id, "MaxResults": ATHENA_PAGE_ROWS}
            if token:
                kwargs["NextToken"] = token
            page = self._call("athena", "get_query_results", what, refused, **kwargs)
            result_set = page.get("ResultSet") or {}
            if columns is None:
                info = (result_set.get("ResultSetMetadata") or {}).get("ColumnInfo") or []
                columns = [(c["Name"], athena_converter(c.get("Type", "varchar"))) for c in info]
                labels = [c.get("Label") or c["Name"] for c in info]
            data = result_set.get("Rows") or []
            if first_page and data and [d.get("VarCharValue") for d in data[0].get("Data", [])] == labels:
                data = data[1:]  # a SELECT's first row is its column labels
            first_page = False
            for row in data:
                values = row.get("Data") or []
                if len(values) != len(columns):
                    raise BackendError(
                        f"{what}: a result row has {len(values)} values for {len(columns)} columns"
                    )
                rows.append(
                    {
                        name: None if "VarCharValue" not in datum else convert(datum["VarCharValue"])
                        for (name, convert), datum in zip(columns, values, strict=True)
                    }
                )
            token = page.get("NextToken")
            if not token:
                return rows

    # --- catalog: Glue ------------------------------------------------------------------------------
    def registered_partitions(self, start: date, end: date) -> set[str]:
        from botocore.exceptions import ClientError

        expression = f"{_partition_key()} BETWEEN '{_day(start)}' AND '{_day(end)}'"
        try:
            values = self._hook("glue_catalog").get_partitions(
                database_name=GLUE_DATABASE, table_name=PROCESSED_TABLE, expression=expression
            )
        except ClientError as exc:
            raise BackendError(
                f"listing partitions of {GLUE_DATABASE}.{PROCESSED_TABLE} ({expression}) failed: "
                f"{_error_code(exc)}: {_error_message(exc)}"
            ) from exc
        return {v[0] for v in values if v}

    def register_partitions(self, dts: Iterable[str]) -> list[str]:
        wanted = sorted({_day(dt) for dt in dts})
        if not wanted:
            return []
        return register_partitions_with_client(self._client("glue_catalog"), wanted)

    # --- storage: S3 --------------------------------------------------------------------------------
    def processed_partitions_in_storage(
        self, start: date | None = None, end: date | None = None
    ) -> dict[str, list[str]]:
        base = f"{PROCESSED_PREFIX}/"
        kwargs: dict[str, Any] = {"Bucket": PROCESSED_BUCKET, "Prefix": f"{base}dt="}
        if start is not None:
            kwargs["StartAfter"] = f"{base}dt={_day(start)}"  # every key of that day sorts after it
        found: dict[str, list[str]] = {}
        for obj in _list_objects(self._client("s3"), **kwargs):
            folder, slash, name = obj["Key"][len(base) :].partition("/")
            dt = folder.removeprefix("dt=")
            if not slash or not layout.is_partition_value(dt):
                continue  # staging names and stray objects are not partitions
            if end is not None and dt > str(end):
                break  # keys come sorted
            if start is not None and dt < str(start):
                continue
            files = found.setdefault(dt, [])
            if _is_data_file(name):
                files.append(f"s3://{PROCESSED_BUCKET}/{obj['Key']}")
        return found

    def _partition_objects(self, day: date | str) -> list[dict[str, Any]]:
        prefix = layout.processed_partition_prefix(_day(day))
        return [
            obj
            for obj in _list_objects(self._client("s3"), Bucket=PROCESSED_BUCKET, Prefix=prefix)
            if _is_data_file(obj["Key"][len(prefix) :])
        ]

    def read_partition(self, day: date) -> pa.Table:
        import pyarrow.parquet as pq

        objects = self._partition_objects(day)
        if not objects:
            raise BackendError(
                f"processed partition dt={day} has no Parquet files "
                f"(s3://{PROCESSED_BUCKET}/{layout.processed_partition_prefix(day)})"
            )
        s3 = self._client("s3")
        tables = [
            pq.read_table(io.BytesIO(s3.get_object(Bucket=PROCESSED_BUCKET, Key=o["Key"])["Body"].read()))
            for o in objects
        ]
        return concat_by_name(tables, f"processed partition dt={day}")

    def partition_file_schemas(self, day: date) -> dict[str, pa.Schema]:
        import pyarrow.parquet as pq

        s3 = self._client("s3")
        schemas = {}
        for obj in self._partition_objects(day):
            with S3RangeReader(s3, PROCESSED_BUCKET, obj["Key"], obj["Size"]) as handle:
                schemas[f"s3://{PROCESSED_BUCKET}/{obj['Key']}"] = pq.ParquetFile(handle).schema_arrow
        return schemas

    def raw_snapshot_times(self, start: date, end: date) -> dict[str, dict[int, list[int]]]:
        from flightdq.core.dates import iter_days

        s3 = self._client("s3")
        result: dict[str, dict[int, list[int]]] = {}
        for day in iter_days(start, end):
            hours: dict[int, list[int]] = {}
            for obj in _list_objects(s3, Bucket=RAW_BUCKET, Prefix=layout.raw_day_prefix(day)):
                match = layout.RAW_KEY_RE.match(obj["Key"])
                if match:
                    hours.setdefault(int(match["hour"]), []).append(int(match["unix"]))
            result[str(day)] = {h: sorted(times) for h, times in sorted(hours.items())}
        return result

    # --- the ETL job: Glue --------------------------------------------------------------------------
    def run_etl(self, day: date) -> EtlRun:
        """Run `flightdata-etl --dt <day>`, or attach to the run already going for that day, and wait
        for it to end. A run that ended STOPPED, ERROR, TIMEOUT, FAILED (or EXPIRED) comes back as not
        succeeded, with its id and Glue's ErrorMessage."""
        dt = _day(day)
        self._check_job_once()
        going = self.active_etl_run(dt)
        if going is not None:
            log.info("Glue run %s of %s for dt=%s is already going: attaching", going["Id"], ETL_JOB_NAME, dt)
            return self._wait_for_run(going["Id"], dt, attached=True)
        run_id, attached = self._start_run(dt)
        return self._wait_for_run(run_id, dt, attached=attached)

    def etl_runs(self, day: date | str) -> list[dict[str, Any]]:
        """The runs of the job for `day` that Glue still remembers, oldest first, in the local job
        registry's shape (run_id, dt, state, started_at, finished_at, error, rows)."""
        return [
            {
                "run_id": r["Id"],
                "dt": _day(day),
                "state": r.get("JobRunState"),
                "started_at": _iso(r.get("StartedOn")),
                "finished_at": _iso(r.get("CompletedOn")),
                "error": r.get("ErrorMessage"),
                "rows": None,
            }
            for r in self._glue_runs_for(_day(day))
        ]

    def active_etl_run(self, dt: str) -> dict[str, Any] | None:
        """The earliest-started Glue run for `dt` that is still going, if any (as Glue describes it)."""
        going = [r for r in self._glue_runs_for(dt) if r.get("JobRunState") in GLUE_ACTIVE_STATES]
        return going[0] if going else None

    def _glue_runs_for(self, dt: str) -> list[dict[str, Any]]:
        """Glue's JobRun records of the job whose `--dt` argument is `dt`, oldest first."""
        runs = [r for r in self._job_runs() if (r.get("Arguments") or {}).get("--dt") == dt]
        return sorted(runs, key=lambda r: (_started(r), r["Id"]))

    def _job_runs(self) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import ClientError

        token = None
        while True:
            kwargs: dict[str, Any] = {"JobName": ETL_JOB_NAME, "MaxResults": 200}
            if token:
                kwargs["NextToken"] = token
            try:
                page = self._call("glue_job", "get_job_runs", f"Glue job {ETL_JOB_NAME}", **kwargs)
            except ClientError as exc:
                raise BackendError(
                    f"listing runs of Glue job {ETL_JOB_NAME} failed: "
                    f"{_error_code(exc)}: {_error_message(exc)}"
                ) from exc
            yield from page.get("JobRuns") or []
            token = page.get("NextToken")
            if not token:
                return

    def _check_job_once(self) -> None:
        """Never two runs for one day rests on the job allowing one run at a time: say so if not."""
        if self._job_checked:
            return
        self._job_checked = True
        try:
            job = self._call("glue_job", "get_job", f"Glue job {ETL_JOB_NAME}", JobName=ETL_JOB_NAME)["Job"]
        except Exception as exc:  # the start call will report a missing job with its own error
            log.warning("could not read Glue job %s: %s", ETL_JOB_NAME, exc)
            return
        limit = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1)
        if limit != 1:
            log.warning(
                "Glue job %s allows %s concurrent runs; flightdq relies on 1 (docs/aws.md): two callers "
                "starting the same day at the same moment could then both start a run",
                ETL_JOB_NAME,
                limit,
            )

    def _start_run(self, dt: str) -> tuple[str, bool]:
        """Start a run for `dt`; returns (run id, attached). While Glue refuses because the job's run
        slot is taken, wait and retry (bounded); before each retry look for a run of `dt` that someone
        else started meanwhile and attach to it instead."""
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        tuning = self.tuning
        what = f"Glue job {ETL_JOB_NAME} for dt={dt}"
        started = time.monotonic()
        delay = tuning.concurrent_retry_seconds
        refusals = 0
        while True:
            try:
                response = self._client("glue_job").start_job_run(
                    JobName=ETL_JOB_NAME, Arguments={"--dt": dt}
                )
                log.info("%s: started run %s", what, response["JobRunId"])
                return response["JobRunId"], False
            except ClientError as exc:
                code = _error_code(exc)
                if code == "ConcurrentRunsExceededException":
                    reason = "the job's run slot is taken (ConcurrentRunsExceededException)"
                elif code in THROTTLING_CODES or code in SERVER_ERROR_CODES:
                    reason = f"Glue refused the start ({code})"
                else:
                    raise BackendError(
                        f"{what}: start_job_run failed: {code}: {_error_message(exc)}"
                    ) from exc
            except (BotoConnectionError, HTTPClientError) as exc:  # it may have started: the look finds it
                reason = f"the start call was lost ({type(exc).__name__})"
            refusals += 1
            going = self.active_etl_run(dt)
            if going is not None:
                log.info("%s: run %s for the day is going now: attaching", what, going["Id"])
                return going["Id"], True
            waited = time.monotonic() - started
            if waited + delay > tuning.concurrent_wait_seconds:
                raise BackendError(
                    f"{what}: could not start after {refusals} attempt(s) over {waited:.0f}s: {reason}"
                )
            log.warning("%s: %s; waiting %.1fs before trying again", what, reason, delay)
            self._sleep(delay)
            delay = min(delay * 2, 120.0)

    def _wait_for_run(self, run_id: str, dt: str, *, attached: bool) -> EtlRun:
        tuning = self.tuning
        what = f"Glue run {run_id} of {ETL_JOB_NAME} for dt={dt}"
        deadline = time.monotonic() + tuning.glue_wait_seconds
        delay = tuning.glue_poll_seconds
        while True:
            run = self._call(
                "glue_job",
                "get_job_run",
                what,
                JobName=ETL_JOB_NAME,
                RunId=run_id,
                PredecessorsIncluded=False,
            )["JobRun"]
            state = run.get("JobRunState") or "UNKNOWN"
            if state not in GLUE_ACTIVE_STATES:
                error = run.get("ErrorMessage")
                if state != "SUCCEEDED" and not error:
                    error = f"Glue reported {state} without an error message"
                log.info("%s ended %s%s", what, state, f": {error}" if error else "")
                return EtlRun(run_id, dt, state, error=error, attached=attached)
            if time.monotonic() >= deadline:
                raise BackendError(
                    f"{what} still {state} after {tuning.glue_wait_seconds:.0f}s; left running "
                    "(a retry attaches to it)"
                )
            self._sleep(delay)
            delay = min(delay * 1.5, tuning.glue_poll_max_seconds)


def _make_hook(kind: str, conn_id: str) -> Any:
    if kind == "athena":
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        return AthenaHook(aws_conn_id=conn_id, log_query=False)
    if kind == "glue_job":
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

        return GlueJobHook(aws_conn_id=conn_id, job_name=ETL_JOB_NAME)
    if kind == "glue_catalog":
        from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

        return GlueCatalogHook(aws_conn_id=conn_id)
    if kind == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=conn_id)
    raise ValueError(f"no hook for {kind!r}")


# --- shared with the Glue job (plain boto3 clients) -------------------------------------------------


def partition_location(dt: str) -> str:
    return f"s3://{PROCESSED_BUCKET}/{layout.processed_partition_prefix(dt)}"


_PARTITION_SD_KEYS = (
    "Columns",
    "InputFormat",
    "OutputFormat",
    "Compressed",
    "NumberOfBuckets",
    "SerdeInfo",
    "BucketColumns",
    "SortColumns",
    "Parameters",
    "StoredAsSubDirectories",
)


def partition_input(table_sd: dict[str, Any], dt: str) -> dict[str, Any]:
    """A PartitionInput for `dt`: the table's StorageDescriptor with the partition's Location."""
    sd = {k: table_sd[k] for k in _PARTITION_SD_KEYS if k in table_sd}
    sd["Location"] = partition_location(dt)
    return {"Values": [dt], "StorageDescriptor": sd}


def register_partitions_with_client(
    glue: Any, dts: Iterable[str], *, database: str = GLUE_DATABASE, table: str = PROCESSED_TABLE
) -> list[str]:
    """Register `dts` with batch_create_partition; returns the ones that were new. Entries Glue
    reports as AlreadyExistsException are fine; any other error raises BackendError."""
    from botocore.exceptions import ClientError

    wanted = sorted({_day(dt) for dt in dts})
    if not wanted:
        return []
    try:
        table_sd = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
    except ClientError as exc:
        raise BackendError(
            f"reading table {database}.{table} failed: {_error_code(exc)}: {_error_message(exc)}"
        ) from exc
    added: list[str] = []
    for first in range(0, len(wanted), GLUE_BATCH_PARTITIONS):
        chunk = wanted[first : first + GLUE_BATCH_PARTITIONS]
        try:
            response = glue.batch_create_partition(
                DatabaseName=database,
                TableName=table,
                PartitionInputList=[partition_input(table_sd, dt) for dt in chunk],
            )
        except ClientError as exc:
            raise BackendError(
                f"registering partitions {chunk[0]}..{chunk[-1]} of {database}.{table} failed: "
                f"{_error_code(exc)}: {_error_message(exc)}"
            ) from exc
        existing, failures = set(), []
        for error in response.get("Errors") or []:
            values = error.get("PartitionValues") or ["?"]
            detail = error.get("ErrorDetail") or {}
            if detail.get("ErrorCode") == "AlreadyExistsException":
                existing.add(values[0])
            else:
                failures.append(f"dt={values[0]}: {detail.get('ErrorCode')}: {detail.get('ErrorMessage')}")
        if failures:
            raise BackendError(f"registering partitions of {database}.{table} failed: {'; '.join(failures)}")
        added += [dt for dt in chunk if dt not in existing]
    return added


class S3RangeReader(io.RawIOBase):
    """A read-only, seekable file over one S3 object, read with ranged GETs (a Parquet footer costs
    two small requests instead of the whole object)."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int | None = None) -> None:
        super().__init__()
        self._s3, self._bucket, self._key = s3, bucket, key
        self._size = size if size is not None else s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def size(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        last = self._pos + want - 1
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{last}")
        data = body["Body"].read()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def concat_by_name(tables: list[pa.Table], what: str) -> pa.Table:
    """The tables as one, columns unified by name (first file's type wins, a column a file lacks is
    null there); a type that cannot be cast raises BackendError naming `what`."""
    import pyarrow as pa

    fields: dict[str, pa.Field] = {}
    for table in tables:
        for field in table.schema:
            fields.setdefault(field.name, field)
    unified = pa.schema(list(fields.values()))
    parts = []
    for table in tables:
        columns = []
        for field in unified:
            if field.name in table.column_names:
                column = table.column(field.name)
                if column.type != field.type:
                    try:
                        column = column.cast(field.type)
                    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
                        raise BackendError(
                            f"{what}: column {field.name} is {column.type} in one file, "
                            f"{field.type} in another"
                        ) from exc
            else:
                column = pa.nulls(table.num_rows, field.type)
            columns.append(column)
        parts.append(pa.Table.from_arrays(columns, schema=unified))
    return pa.concat_tables(parts)


# --- typing Athena's strings -----------------------------------------------------------------------


def athena_converter(athena_type: str) -> Callable[[str], Any]:
    """How to turn one of Athena's result strings into a Python value, by the column's type."""
    kind = athena_type.strip().lower()
    base = kind.split("(")[0].strip()
    if base in ("tinyint", "smallint", "integer", "int", "bigint"):
        return int
    if base in ("double", "float", "real"):
        return _to_float
    if base == "decimal":
        return Decimal
    if base == "boolean":
        return lambda v: v.strip().lower() == "true"
    if base == "date":
        return date.fromisoformat
    if base == "timestamp":
        return _to_timestamp
    return str  # varchar, char, json, arrays, maps, rows: as Athena printed them


def _to_float(value: str) -> float:
    return float({"Infinity": "inf", "-Infinity": "-inf"}.get(value, value))


def _to_timestamp(value: str) -> datetime:
    """'2026-11-25 13:45:10.000' (UTC, as Athena's session zone is) or with a zone suffix."""
    text = value.strip()
    zone = None
    if " " in text[11:]:  # "<date> <time> <zone>"
        text, zone = text.rsplit(" ", 1)
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        if zone in (None, "UTC", "Z"):
            moment = moment.replace(tzinfo=UTC)
        else:
            from zoneinfo import ZoneInfo

            moment = moment.replace(tzinfo=ZoneInfo(zone))
    return moment.astimezone(UTC)


# --- flightdq's own records on S3 ------------------------------------------------------------------


class S3BlobStore:
    """flightdq's records (check history, incidents, alerts) under one S3 prefix.

    `put` is one PutObject (atomic: readers see the old object or the new one). `put_if_absent` is a
    conditional PutObject (`If-None-Match: *`): S3 answers 412 when the key exists, so exactly one
    caller creates it; a 409 ConditionalRequestConflict (a concurrent write) is retried.
    """

    def __init__(self, uri: str, client: Callable[[], Any], *, sleep: Callable[[float], None] = time.sleep):
        if not uri.startswith("s3://") or not uri[5:].split("/", 1)[0]:
            raise BackendError(f"{HISTORY_URI_ENV}={uri!r} is not an s3://bucket/prefix/ URI")
        bucket, _, prefix = uri[5:].partition("/")
        prefix = prefix.strip("/")
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self._client = client
        self._sleep = sleep

    def __repr__(self) -> str:
        return f"S3BlobStore(s3://{self.bucket}/{self.prefix})"

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad store key {key!r}")
        return self.prefix + key

    def put(self, key: str, data: bytes) -> None:
        self._client().put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        full = self._key(key)
        for attempt in range(6):
            try:
                self._client().put_object(Bucket=self.bucket, Key=full, Body=data, IfNoneMatch="*")
                return True
            except ClientError as exc:
                code = _error_code(exc)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
                if code == "PreconditionFailed" or status == 412:
                    return False
                if code != "ConditionalRequestConflict" and status != 409:
                    raise
            self._sleep(0.05 * 2**attempt)
        raise BackendError(f"create-only write of {self.location(key)} kept conflicting (409); try again")

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            return self._client().get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except ClientError as exc:
            if _error_code(exc) in ("NoSuchKey", "404", "NotFound"):
                return None
            raise

    def list(self, prefix: str) -> list[str]:
        full = self._key(prefix) if prefix.strip("/") else self.prefix
        if prefix.strip("/") and not full.endswith("/"):
            full += "/"  # a prefix names a folder, as in the local store
        keys = [
            obj["Key"][len(self.prefix) :]
            for obj in _list_objects(self._client(), Bucket=self.bucket, Prefix=full)
            if not obj["Key"].endswith("/")
        ]
        return sorted(keys)

    def location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._key(key) if key else self.prefix}"


# --- small helpers ----------------------------------------------------------------------------------


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2**(attempt-1))."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def _list_objects(s3: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        yield from page.get("Contents") or []


def _is_data_file(name: str) -> bool:
    """A Parquet file directly in a partition; names starting with _ or . are ignored, as Athena does."""
    return bool(name) and "/" not in name and name.endswith(".parquet") and not name.startswith(("_", "."))


def _day(value: date | str) -> str:
    text = str(value)
    if not layout.is_partition_value(text):
        raise BackendError(f"{text!r} is not a partition value YYYY-MM-DD")
    return text


def _partition_key() -> str:
    from flightdq.core.contract import PARTITION_KEY

    return PARTITION_KEY


def _started(run: dict[str, Any]) -> float:
    started = run.get("StartedOn")
    if isinstance(started, datetime):
        return started.timestamp()
    return float(started or 0)


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None


def _error_code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def _error_message(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message", exc))
