"""A local AWS for flightdq: moto's server on 127.0.0.1, made to compute.

moto in server mode answers the AWS APIs but computes nothing: Athena returns queued answers and Glue
job runs succeed at once without running anything. `AwsEmulator` patches moto's in-process backends
so that the AWS backend's proof is real:

- **Athena** `StartQueryExecution` really runs the SQL: the Trino text is transpiled to DuckDB by
  sqlglot and run over the Parquet objects of the table's *registered* Glue partitions in the emulated
  S3 (the partitions the query's `dt` predicate selects, as Athena prunes them), with the Glue table's
  column types. Results come back from GetQueryResults typed by column (strings, as Athena sends
  them), in pages of at most 1,000 rows with the header row first, the query's state moves
  QUEUED -> RUNNING -> SUCCEEDED/FAILED with a `StateChangeReason`, `Statistics.DataScannedInBytes`
  is the size of the objects read (an upper bound: real Athena reads only the needed columns), and the
  CSV lands in the output location. DuckDB's httpfs cannot be downloaded offline, so objects are
  fetched through the emulator's own S3 API into a local cache.
- **Glue** `StartJobRun` of `flightdata-etl` really runs `flightdq.glue_job` against the emulated
  buckets, in a thread, STARTING -> RUNNING -> SUCCEEDED/FAILED (with ErrorMessage), and the job's
  `MaxConcurrentRuns` is enforced atomically (ConcurrentRunsExceededException).
- **S3** `PutObject` is serialised, so the conditional create (`If-None-Match: *`) that moto checks
  and then writes in two steps is atomic, as it is on S3.
- **Faults** for tests (`emulator.faults`): the next query FAILED with a reason, N throttling errors,
  Glue runs that end FAILED/TIMEOUT/... once, ConcurrentRunsExceededException refusals, and a minimum
  run time so a run can be caught while going.

THESE PATCHES RELY ON MOTO INTERNALS OF moto==5.2.5 (pinned in requirements.txt):
`moto.athena.responses.AthenaResponse` methods, `moto.glue.models.FakeJob.start_job_run` and
`FakeJobRun`, `moto.s3.responses.S3Response.put_object`, `moto.s3.models.s3_backends`. Starting the
emulator with another moto version raises; re-check every patch before moving the pin.

One emulator per process (moto's backends are process-global). The server binds 127.0.0.1 only.

The sandbox: `python -m flightdq.aws_emulator --seed` generates a small sample lake, starts the
emulator, loads the lake into it and prints the environment to point flightdq and Airflow at it.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import functools
import io
import json
import logging
import shutil
import signal
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from flightdq.contract import (
    ATHENA_WORKGROUP,
    ETL_JOB_NAME,
    GLUE_DATABASE,
    METRICS_TABLE,
    PARTITION_KEY,
    PROCESSED_BUCKET,
    PROCESSED_COLUMNS,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
    QUERY_RESULTS_BUCKET,
    RAW_BUCKET,
)

log = logging.getLogger(__name__)

PINNED_MOTO = "5.2.5"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
DUMMY_CREDENTIAL = "testing"
SNS_TOPIC = "flightdata-dq-alerts"
ATHENA_MAX_PAGE = 1000
GLUE_ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

_ACTIVE: AwsEmulator | None = None
_ACTIVE_LOCK = threading.Lock()
_ORIGINALS: dict[tuple[type, str], Any] = {}
_S3_PUT_LOCK = threading.Lock()


# --- fault injection ------------------------------------------------------------------------------


class Faults:
    """Switches a test flips to make the next calls misbehave. Each is consumed when it fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._query_failures: list[str] = []
        self._throttles = 0
        self._glue_failures: list[tuple[str, str]] = []
        self._glue_refusals = 0
        self.glue_run_min_seconds = 0.0  # every run stays RUNNING at least this long
        self.throttled = 0  # how many throttling errors were served
        self.refused = 0  # how many injected ConcurrentRunsExceeded refusals were served

    def fail_next_query(self, reason: str = "HIVE_BAD_DATA: injected by the AWS emulator") -> None:
        """The next query started ends FAILED with `reason` as its StateChangeReason."""
        with self._lock:
            self._query_failures.append(reason)

    def throttle_next_queries(self, times: int) -> None:
        """The next `times` StartQueryExecution calls answer TooManyRequestsException."""
        with self._lock:
            self._throttles += times

    def fail_next_glue_runs(
        self, times: int = 1, message: str = "injected by the AWS emulator", state: str = "FAILED"
    ) -> None:
        """The next `times` job runs end in `state` (FAILED, TIMEOUT, STOPPED, ERROR) with `message`,
        without touching any data."""
        with self._lock:
            self._glue_failures += [(state, message)] * times

    def refuse_next_glue_starts(self, times: int = 1) -> None:
        """The next `times` StartJobRun calls answer ConcurrentRunsExceededException."""
        with self._lock:
            self._glue_refusals += times

    def clear(self) -> None:
        with self._lock:
            self._query_failures.clear()
            self._throttles = 0
            self._glue_failures.clear()
            self._glue_refusals = 0
        self.glue_run_min_seconds = 0.0

    def _take_throttle(self) -> bool:
        with self._lock:
            if self._throttles <= 0:
                return False
            self._throttles -= 1
            self.throttled += 1
            return True

    def _take_query_failure(self) -> str | None:
        with self._lock:
            return self._query_failures.pop(0) if self._query_failures else None

    def _take_glue_failure(self) -> tuple[str, str] | None:
        with self._lock:
            return self._glue_failures.pop(0) if self._glue_failures else None

    def _take_refusal(self) -> bool:
        with self._lock:
            if self._glue_refusals <= 0:
                return False
            self._glue_refusals -= 1
            self.refused += 1
            return True


# --- the emulator -------------------------------------------------------------------------------


@dataclass
class QueryRecord:
    """What the emulated Athena knows about one query execution."""

    query_id: str
    query: str
    database: str
    workgroup: str
    output_location: str | None
    reuse: dict[str, Any] | None
    region: str
    submitted: float
    state: str = "QUEUED"
    reason: str | None = None
    started: float | None = None
    completed: float | None = None
    scanned_bytes: int = 0
    scanned_partitions: list[str] = field(default_factory=list)
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    pages_served: int = 0


class AwsEmulator:
    """moto's ThreadedMotoServer on 127.0.0.1, patched to compute. Use as a context manager, or
    `start()` / `stop()`."""

    def __init__(self, port: int = 0, *, region: str = REGION) -> None:
        self.port = port
        self.region = region
        self.endpoint = ""
        self.faults = Faults()
        self.queries: dict[str, QueryRecord] = {}
        self._server: Any = None
        self._clients: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()
        self._glue_lock = threading.Lock()
        self._glue_threads: list[threading.Thread] = []
        self._executor: ThreadPoolExecutor | None = None
        self._cache: Path | None = None
        self._stopping = threading.Event()
        self._werkzeug_level: int | None = None

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> AwsEmulator:
        global _ACTIVE
        check_moto_version()
        with _ACTIVE_LOCK:
            if _ACTIVE is not None:
                raise RuntimeError(f"an AWS emulator already runs in this process ({_ACTIVE.endpoint})")
            _ACTIVE = self
        try:
            from moto.server import ThreadedMotoServer

            werkzeug = logging.getLogger("werkzeug")
            self._werkzeug_level = werkzeug.level
            werkzeug.setLevel(logging.ERROR)  # one line per request otherwise
            self._cache = Path(tempfile.mkdtemp(prefix="flightdq-aws-emulator-"))
            self._executor = ThreadPoolExecutor(2, thread_name_prefix="emulated-athena")
            _install_patches()
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
            self._server.start()
            host, port = self._server.get_host_and_port()
            self.endpoint = f"http://{host}:{port}"
            self._reset_moto()
        except BaseException:
            self.stop()
            raise
        log.info("AWS emulator (moto %s) listening on %s", PINNED_MOTO, self.endpoint)
        return self

    def stop(self) -> None:
        global _ACTIVE
        self._stopping.set()
        for thread in list(self._glue_threads):
            thread.join(timeout=60)
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._server is not None:
            try:
                self._reset_moto()
            finally:
                self._server.stop()
                self._server = None
        _uninstall_patches()
        if self._werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
        if self._cache is not None:
            shutil.rmtree(self._cache, ignore_errors=True)
            self._cache = None
        with _ACTIVE_LOCK:
            if _ACTIVE is self:
                _ACTIVE = None

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reset_moto(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:  # our own server on 127.0.0.1
            response.read()

    # --- what a user of the emulator needs ----------------------------------------------------
    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for `service` pointed at the emulator (dummy credentials)."""
        key = (service, region or self.region)
        with self._lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(
                    aws_access_key_id=DUMMY_CREDENTIAL,
                    aws_secret_access_key=DUMMY_CREDENTIAL,
                    region_name=key[1],
                )
                self._clients[key] = session.client(
                    service,
                    endpoint_url=self.endpoint,
                    config=Config(retries={"mode": "standard", "max_attempts": 2}),
                )
            return self._clients[key]

    @property
    def sns_topic_arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{SNS_TOPIC}"

    def airflow_connection(self) -> dict[str, Any]:
        """The Airflow connection (as AIRFLOW_CONN_<ID> JSON) that points the amazon provider here."""
        return {
            "conn_type": "aws",
            "login": DUMMY_CREDENTIAL,
            "password": DUMMY_CREDENTIAL,
            "extra": {"endpoint_url": self.endpoint, "region_name": self.region},
        }

    def env(self, conn_id: str = "aws_default") -> dict[str, str]:
        """Environment for a process (Airflow, the CLI) that should use this emulator as AWS."""
        return {
            "FLIGHTDQ_BACKEND": "aws",
            "FLIGHTDQ_AWS_CONN_ID": conn_id,
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.airflow_connection()),
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "FLIGHTDQ_SNS_TOPIC_ARN": self.sns_topic_arn,
        }

    def job_runs(self, dt: str | None = None) -> list[dict[str, Any]]:
        """The runs of `flightdata-etl` (for one `--dt`, if given), oldest first."""
        glue = self.client("glue")
        runs: list[dict[str, Any]] = []
        for page in glue.get_paginator("get_job_runs").paginate(JobName=ETL_JOB_NAME):
            runs += page.get("JobRuns") or []
        if dt is not None:
            runs = [r for r in runs if (r.get("Arguments") or {}).get("--dt") == dt]
        return sorted(runs, key=lambda r: (r["StartedOn"], r["Id"]))

    def remove_partition(self, dt: str, *, objects: bool = True, unregister: bool = True) -> list[str]:
        """Break a day for a test: delete its processed objects and/or its catalog partition.
        Returns the keys deleted."""
        s3, glue = self.client("s3"), self.client("glue")
        prefix = f"{PROCESSED_PREFIX}/dt={dt}/"
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket=PROCESSED_BUCKET, Prefix=prefix).get("Contents", [])
        ]
        if objects and keys:
            s3.delete_objects(Bucket=PROCESSED_BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
        if unregister:
            with contextlib.suppress(glue.exceptions.EntityNotFoundException):
                glue.delete_partition(
                    DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[dt]
                )
        return keys if objects else []

    def wait_for_glue_runs(self, timeout: float = 120.0) -> None:
        """Wait until every emulated job run has ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._glue_threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # --- Athena: running a query ------------------------------------------------------------------
    def _submit_query(self, record: QueryRecord, failure: str | None) -> None:
        self.queries[record.query_id] = record
        assert self._executor is not None
        self._executor.submit(self._run_query, record, failure)

    def _run_query(self, record: QueryRecord, failure: str | None) -> None:
        record.state, record.started = "RUNNING", time.time()
        try:
            if failure is not None:
                raise _QueryFailed(failure)
            _execute_on_duckdb(self, record)
            self._write_csv(record)
            record.state = "SUCCEEDED"
        except _QueryFailed as exc:
            record.state, record.reason = "FAILED", str(exc)
        except Exception as exc:
            log.exception("emulated Athena query %s failed", record.query_id)
            record.state, record.reason = "FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}"
        finally:
            record.completed = time.time()

    def _write_csv(self, record: QueryRecord) -> None:
        if not record.output_location:
            return
        bucket, _, key = record.output_location.removeprefix("s3://").partition("/")
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow([c["Name"] for c in record.columns])
        writer.writerows([["" if v is None else v for v in row] for row in record.rows])
        try:
            self.client("s3", record.region).put_object(Bucket=bucket, Key=key, Body=text.getvalue().encode())
        except Exception as exc:
            raise _QueryFailed(f"Unable to write query results to {record.output_location}: {exc}") from exc

    def _fetch(self, region: str, bucket: str, obj: dict[str, Any]) -> Path:
        """A local copy of one S3 object, cached by key and ETag."""
        assert self._cache is not None
        name = f"{bucket}/{obj['Key']}.{obj['ETag'].strip(chr(34))}"
        path = self._cache / name
        if not path.exists():
            body = self.client("s3", region).get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(body)
            tmp.replace(path)
        return path

    # --- Glue: running a job run ------------------------------------------------------------------
    def _run_glue_job(self, job: Any, run: Any) -> None:
        from flightdq import glue_job
        from flightdq.dates import parse_day

        started = time.monotonic()
        region = job.backend.region_name
        final = "FAILED"
        try:
            run.state = "RUNNING"
            failure = self.faults._take_glue_failure()
            if failure is not None:
                final, run.error_message = failure
            else:
                day = parse_day(str((run.arguments or {}).get("--dt")), "--dt")
                glue_job.run_job(
                    day,
                    s3=self.client("s3", region),
                    glue=self.client("glue", region),
                    run_id=run.job_run_id,
                )
                final = "SUCCEEDED"
        except Exception as exc:
            run.error_message = f"{type(exc).__name__}: {exc}"
            log.warning("emulated Glue run %s failed: %s", run.job_run_id, run.error_message)
        finally:
            rest = self.faults.glue_run_min_seconds - (time.monotonic() - started)
            if rest > 0:
                self._stopping.wait(rest)
            run.completed = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC times
            run.state = final


class _QueryFailed(Exception):
    """The emulated query ends FAILED with this message as its StateChangeReason."""


def check_moto_version() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise RuntimeError(
            f"flightdq.aws_emulator patches moto=={PINNED_MOTO} internals; moto {moto.__version__} is "
            "installed. Re-check the patches before moving the pin."
        )


def _active() -> AwsEmulator | None:
    return _ACTIVE


# --- the patches ------------------------------------------------------------------------------------


def _install_patches() -> None:
    from moto.athena.responses import AthenaResponse
    from moto.glue.models import FakeJob
    from moto.s3.responses import S3Response

    patches = {
        (AthenaResponse, "start_query_execution"): _athena_start_query_execution,
        (AthenaResponse, "get_query_execution"): _athena_get_query_execution,
        (AthenaResponse, "get_query_results"): _athena_get_query_results,
        (AthenaResponse, "stop_query_execution"): _athena_stop_query_execution,
        (FakeJob, "start_job_run"): _glue_start_job_run,
        (S3Response, "put_object"): _s3_put_object,
    }
    for (owner, name), replacement in patches.items():
        if (owner, name) not in _ORIGINALS:
            _ORIGINALS[(owner, name)] = owner.__dict__[name]
            setattr(owner, name, replacement)


def _uninstall_patches() -> None:
    for (owner, name), original in list(_ORIGINALS.items()):
        setattr(owner, name, original)
        del _ORIGINALS[(owner, name)]


def _original(owner_name: str, name: str) -> Any:
    return next(f for (owner, n), f in _ORIGINALS.items() if owner.__name__ == owner_name and n == name)


def _json_error(code: str, message: str, status: int = 400) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "Message": message}), {"status": status}


def _s3_put_object(self: Any) -> Any:
    # moto checks If-None-Match and then writes: two steps a concurrent PUT can slip between.
    with _S3_PUT_LOCK:
        return _original("S3Response", "put_object")(self)


def _athena_start_query_execution(self: Any) -> Any:
    emulator = _active()
    if emulator is None:
        return _original("AthenaResponse", "start_query_execution")(self)
    if emulator.faults._take_throttle():
        return _json_error("TooManyRequestsException", "Rate exceeded (throttling injected by the emulator)")
    query = self._get_param("QueryString")
    context = self._get_param("QueryExecutionContext") or {}
    config = dict(self._get_param("ResultConfiguration") or {})
    workgroup = self._get_param("WorkGroup") or "primary"
    if not self.athena_backend.get_work_group(workgroup):
        return _json_error("InvalidRequestException", f"WorkGroup {workgroup} is not found.")
    query_id = self.athena_backend.start_query_execution(
        query=query,
        context=context,
        config=config,
        workgroup=workgroup,
        execution_parameters=self._get_param("ExecutionParameters"),
    )
    execution = self.athena_backend.executions[query_id]
    record = QueryRecord(
        query_id=query_id,
        query=query,
        database=context.get("Database") or "default",
        workgroup=workgroup,
        output_location=(execution.config or {}).get("OutputLocation"),
        reuse=self._get_param("ResultReuseConfiguration"),
        region=self.region,
        submitted=time.time(),
    )
    emulator._submit_query(record, emulator.faults._take_query_failure())
    return json.dumps({"QueryExecutionId": query_id})


def _athena_get_query_execution(self: Any) -> Any:
    emulator = _active()
    query_id = self._get_param("QueryExecutionId")
    record = emulator.queries.get(query_id) if emulator else None
    if record is None:
        return _original("AthenaResponse", "get_query_execution")(self)
    status: dict[str, Any] = {"State": record.state, "SubmissionDateTime": record.submitted}
    if record.completed is not None:
        status["CompletionDateTime"] = record.completed
    if record.reason:
        status["StateChangeReason"] = record.reason
        status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False}
        status["AthenaError"]["ErrorMessage"] = record.reason
    engine_ms = int(((record.completed or time.time()) - (record.started or record.submitted)) * 1000)
    return json.dumps(
        {
            "QueryExecution": {
                "QueryExecutionId": query_id,
                "Query": record.query,
                "StatementType": "DML",
                "ResultConfiguration": {"OutputLocation": record.output_location},
                "ResultReuseConfiguration": record.reuse
                or {"ResultReuseByAgeConfiguration": {"Enabled": False}},
                "QueryExecutionContext": {"Database": record.database, "Catalog": "AwsDataCatalog"},
                "Status": status,
                "Statistics": {
                    "EngineExecutionTimeInMillis": engine_ms,
                    "DataScannedInBytes": record.scanned_bytes,
                    "TotalExecutionTimeInMillis": engine_ms,
                    "QueryQueueTimeInMillis": 0,
                    "ServicePreProcessingTimeInMillis": 0,
                    "QueryPlanningTimeInMillis": 0,
                    "ServiceProcessingTimeInMillis": 0,
                    "ResultReuseInformation": {"ReusedPreviousResult": False},
                },
                "WorkGroup": record.workgroup,
                "EngineVersion": {
                    "SelectedEngineVersion": "Athena engine version 3",
                    "EffectiveEngineVersion": "Athena engine version 3",
                },
            }
        }
    )


def _athena_get_query_results(self: Any) -> Any:
    emulator = _active()
    query_id = self._get_param("QueryExecutionId")
    record = emulator.queries.get(query_id) if emulator else None
    if record is None:
        return _original("AthenaResponse", "get_query_results")(self)
    if record.state in ("QUEUED", "RUNNING"):
        return _json_error(
            "InvalidRequestException", f"Query has not yet finished. Current state: {record.state}"
        )
    if record.state != "SUCCEEDED":
        return _json_error(
            "InvalidRequestException", f"Query did not finish successfully. Final query state: {record.state}"
        )
    page_size = self._get_param("MaxResults") or ATHENA_MAX_PAGE
    if not 1 <= int(page_size) <= ATHENA_MAX_PAGE:
        return _json_error(
            "InvalidRequestException", f"MaxResults is more than maximum allowed length {ATHENA_MAX_PAGE}"
        )
    token = self._get_param("NextToken")
    try:
        offset = int(token) if token else 0
    except ValueError:
        return _json_error("InvalidRequestException", "NextToken is malformed")
    header = [c["Label"] for c in record.columns]
    all_rows = [header, *record.rows]  # the header row counts against the first page
    page = all_rows[offset : offset + int(page_size)]
    record.pages_served += 1
    body: dict[str, Any] = {
        "ResultSet": {
            "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page],
            "ResultSetMetadata": {"ColumnInfo": record.columns},
        },
        "UpdateCount": 0,
    }
    if offset + int(page_size) < len(all_rows):
        body["NextToken"] = str(offset + int(page_size))
    return json.dumps(body)


def _athena_stop_query_execution(self: Any) -> Any:
    emulator = _active()
    record = emulator.queries.get(self._get_param("QueryExecutionId")) if emulator else None
    if record is None:
        return _original("AthenaResponse", "stop_query_execution")(self)
    if record.state in ("QUEUED", "RUNNING"):
        record.state, record.reason, record.completed = "CANCELLED", "Query cancelled by user", time.time()
    return json.dumps({})


def _glue_start_job_run(self: Any, **kwargs: Any) -> str:
    emulator = _active()
    if emulator is None:
        return _original("FakeJob", "start_job_run")(self, **kwargs)
    from moto.glue.exceptions import ConcurrentRunsExceededException

    if emulator.faults._take_refusal():
        raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {self.name}")
    with emulator._glue_lock:  # check and start in one step, as Glue does
        limit = (self.execution_property or {}).get("MaxConcurrentRuns", 1)
        going = [r for r in self.job_runs if r.status in GLUE_ACTIVE]
        if len(going) >= limit:
            raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {self.name}")
        arguments = dict(self.default_arguments or {})
        arguments.update(kwargs.get("arguments") or {})
        arguments.update(self.non_overridable_arguments or {})
        run = _job_run_class()(
            job_name=self.name,
            arguments=arguments,
            timeout=kwargs.get("timeout") or self.timeout,
            worker_type=kwargs.get("worker_type") or self.worker_type,
            number_of_workers=kwargs.get("number_of_workers") or self.number_of_workers,
        )
        self.job_runs.append(run)
    thread = threading.Thread(
        target=emulator._run_glue_job,
        args=(self, run),
        name=f"emulated-glue-{run.job_run_id[:12]}",
        daemon=True,
    )
    emulator._glue_threads.append(thread)
    thread.start()
    return run.job_run_id


@functools.cache
def _job_run_class() -> type:
    from moto.glue.models import FakeJobRun

    class EmulatedJobRun(FakeJobRun):
        """A job run whose state is what the emulated run did, not moto's timer."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.state = "STARTING"
            self.error_message: str | None = None
            self.completed: datetime | None = None

        @property
        def status(self) -> str:
            return self.state

        @status.setter
        def status(self, value: str) -> None:
            self.state = value

        def as_dict(self) -> dict[str, Any]:
            out = super().as_dict()
            out["JobRunState"] = self.state
            out["GlueVersion"] = "5.0"
            out.pop("CompletedOn", None)
            if self.completed is not None:
                out["CompletedOn"] = self.completed
                out["ExecutionTime"] = max(0, int((self.completed - self.started_on).total_seconds()))
            if self.error_message:
                out["ErrorMessage"] = self.error_message
            return out

    return EmulatedJobRun


# --- the embedded engine behind the emulated Athena --------------------------------------------------

_GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",  # Athena's timestamp has no zone; the session zone is UTC
    "date": "DATE",
}


def _duckdb_type(glue_type: str) -> str:
    kind = glue_type.strip().lower()
    if kind.startswith("decimal"):
        return kind.upper()
    base = kind.split("(")[0]
    if base not in _GLUE_TO_DUCKDB:
        raise _QueryFailed(f"NOT_SUPPORTED: the emulator cannot read columns of type {glue_type}")
    return _GLUE_TO_DUCKDB[base]


def _compatible(glue_type: str, arrow_type: Any) -> bool:
    """Whether Athena reads a Parquet column of `arrow_type` as the table's `glue_type`."""
    import pyarrow as pa

    base = glue_type.strip().lower().split("(")[0]
    widths = {"bigint": 64, "int": 32, "integer": 32, "smallint": 16, "tinyint": 8}
    if base in ("string", "varchar", "char"):
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if base in widths:
        return pa.types.is_signed_integer(arrow_type) and arrow_type.bit_width <= widths[base]
    if base in ("double", "float"):
        return pa.types.is_floating(arrow_type)
    checks = {
        "boolean": pa.types.is_boolean,
        "timestamp": pa.types.is_timestamp,
        "date": pa.types.is_date,
        "decimal": pa.types.is_decimal,
    }
    return checks.get(base, lambda _t: True)(arrow_type)


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _execute_on_duckdb(emulator: AwsEmulator, record: QueryRecord) -> None:
    import duckdb
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(record.query, read="trino")
    except sqlglot.errors.ParseError as exc:
        raise _QueryFailed(f"SYNTAX_ERROR: {str(exc).splitlines()[0]}") from None
    if not isinstance(tree, exp.Query):
        raise _QueryFailed("NOT_SUPPORTED: the emulated Athena runs SELECT queries only")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables: dict[tuple[str, str], list[exp.Table]] = {}
    for table in tree.find_all(exp.Table):
        if not table.name or (table.name in ctes and not table.db):
            continue
        tables.setdefault(((table.db or record.database).lower(), table.name.lower()), []).append(table)

    # Spill files under the system's temporary folder, not DuckDB's default `.tmp` in the working one.
    from flightdq.backends.local import spill_directory

    connection = duckdb.connect(":memory:", config={"threads": 2, "temp_directory": spill_directory()})
    try:
        connection.execute("SET TimeZone = 'UTC'")
        referenced = _referenced_columns(tree)
        for (database, name), references in tables.items():
            view = _table_view(emulator, record, database, name, references, referenced)
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {view}")
        for table in tree.find_all(exp.Table):
            table.set("db", None)
            table.set("catalog", None)
        try:
            cursor = connection.execute(tree.sql(dialect="duckdb"))
            description = cursor.description
            values = cursor.fetchall()
        except duckdb.Error as exc:
            kind = (
                "SYNTAX_ERROR"
                if isinstance(exc, duckdb.ParserException | duckdb.BinderException)
                else ("GENERIC_USER_ERROR")
            )
            raise _QueryFailed(f"{kind}: {str(exc).strip().splitlines()[0]}") from None
    finally:
        connection.close()
    types = [_athena_type(str(d[1])) for d in description]
    record.columns = [
        {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": d[0],
            "Label": d[0],
            "Type": kind,
            "Precision": precision,
            "Scale": scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": kind == "varchar",
        }
        for d, (kind, precision, scale) in zip(description, types, strict=True)
    ]
    record.rows = [
        [_athena_text(v, kind) for v, (kind, _p, _s) in zip(row, types, strict=True)] for row in values
    ]


def _table_view(
    emulator: AwsEmulator,
    record: QueryRecord,
    database: str,
    name: str,
    references: list[Any],
    referenced: set[str] | None,
) -> str:
    """SELECT ... over the Parquet objects of the table's registered partitions that the query's
    partition predicate keeps, with the Glue table's columns and types."""
    import pyarrow.parquet as pq

    glue = emulator.client("glue", record.region)
    s3 = emulator.client("s3", record.region)
    try:
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise _QueryFailed(
            f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist"
        ) from None
    sd = table.get("StorageDescriptor") or {}
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "") + (sd.get("InputFormat") or "")
    if "parquet" not in serde.lower():
        raise _QueryFailed(f"NOT_SUPPORTED: the emulator reads Parquet tables only ({database}.{name})")
    columns = [(c["Name"].lower(), c["Type"]) for c in sd.get("Columns") or []]
    keys = [(k["Name"].lower(), k["Type"]) for k in table.get("PartitionKeys") or []]
    if keys:
        partitions = []
        for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name):
            partitions += page.get("Partitions") or []
        string_keys = {k for k, t in keys if t.lower().split("(")[0] in ("string", "varchar", "char")}
        keep = _partition_predicate(references, string_keys)
        chosen = [
            (dict(zip([k for k, _ in keys], p["Values"], strict=True)), p["StorageDescriptor"]["Location"])
            for p in partitions
        ]
        chosen = [(values, location) for values, location in chosen if keep is None or keep(values)]
    else:
        chosen = [({}, sd.get("Location") or "")]
    selects = []
    for values, location in sorted(chosen, key=lambda c: sorted(c[0].items())):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        listed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            listed += page.get("Contents") or []
        files = [o for o in listed if _is_data_file(o["Key"][len(prefix) :])]
        if files:
            record.scanned_partitions.append(",".join(f"{k}={v}" for k, v in values.items()) or name)
        for obj in files:
            path = emulator._fetch(record.region, bucket, obj)
            record.scanned_bytes += int(obj["Size"])
            file_schema = pq.read_schema(path)
            present = {f.name.lower(): f for f in file_schema}
            parts = []
            for column, glue_type in columns:
                field_ = present.get(column)
                if field_ is None:
                    parts.append(f"CAST(NULL AS {_duckdb_type(glue_type)}) AS {_ident(column)}")
                    continue
                if (referenced is None or column in referenced) and not _compatible(glue_type, field_.type):
                    raise _QueryFailed(
                        f"HIVE_BAD_DATA: Field {column}'s type {field_.type} in parquet file "
                        f"s3://{bucket}/{obj['Key']} is incompatible with type {glue_type} "
                        "defined in table schema"
                    )
                parts.append(f"CAST({_ident(field_.name)} AS {_duckdb_type(glue_type)}) AS {_ident(column)}")
            for key, key_type in keys:
                parts.append(f"CAST({_sql_string(values[key])} AS {_duckdb_type(key_type)}) AS {_ident(key)}")
            selects.append(f"SELECT {', '.join(parts)} FROM read_parquet({_sql_string(str(path))})")
    if not selects:
        nulls = [f"CAST(NULL AS {_duckdb_type(t)}) AS {_ident(c)}" for c, t in [*columns, *keys]]
        return f"SELECT {', '.join(nulls)} WHERE false"
    return "\nUNION ALL\n".join(selects)


def _is_data_file(name: str) -> bool:
    # the same rule as the backends': Parquet files directly in the partition, not _ or . names
    return bool(name) and "/" not in name and name.endswith(".parquet") and not name.startswith(("_", "."))


def _referenced_columns(tree: Any) -> set[str] | None:
    """Column names the query reads; None when it selects `*` (every column)."""
    from sqlglot import exp

    for star in tree.find_all(exp.Star):
        parent = star.parent
        if isinstance(parent, exp.Select) or (
            isinstance(parent, exp.Column) and isinstance(parent.parent, exp.Select)
        ):
            return None
    return {c.name.lower() for c in tree.find_all(exp.Column)}


def _partition_predicate(references: list[Any], keys: set[str]) -> Any:
    """A test on partition values from the WHERE clauses that filter each reference to the table on
    string partition keys (=, IN, BETWEEN, <, <=, >, >= with literals, AND-ed), or None (read all)."""
    from sqlglot import exp

    alternatives = []
    for table in references:
        select = table.find_ancestor(exp.Select)
        where = select.args.get("where") if select is not None else None
        if where is None:
            return None
        names = {table.name.lower(), table.alias_or_name.lower()}
        tests = [t for c in _conjuncts(where.this) if (t := _key_test(c, keys, names)) is not None]
        if not tests:
            return None
        alternatives.append(tests)
    return lambda values: any(all(test(values) for test in tests) for tests in alternatives)


def _conjuncts(node: Any) -> list[Any]:
    from sqlglot import exp

    if isinstance(node, exp.Paren):
        return _conjuncts(node.this)
    if isinstance(node, exp.And):
        return _conjuncts(node.left) + _conjuncts(node.right)
    return [node]


def _key_test(node: Any, keys: set[str], names: set[str]) -> Any:
    from sqlglot import exp

    def key_of(n: Any) -> str | None:
        if isinstance(n, exp.Column) and n.name.lower() in keys and (not n.table or n.table.lower() in names):
            return n.name.lower()
        return None

    def literal(n: Any) -> str | None:
        return n.this if isinstance(n, exp.Literal) and n.is_string else None

    if isinstance(node, exp.Between):
        key, low, high = key_of(node.this), literal(node.args.get("low")), literal(node.args.get("high"))
        if key and low is not None and high is not None:
            return lambda v: low <= v[key] <= high
        return None
    if isinstance(node, exp.In):
        key, options = key_of(node.this), [literal(e) for e in node.expressions]
        if key and options and None not in options:
            return lambda v: v[key] in options
        return None
    ops = {
        exp.EQ: lambda a, b: a == b,
        exp.GT: lambda a, b: a > b,
        exp.GTE: lambda a, b: a >= b,
        exp.LT: lambda a, b: a < b,
        exp.LTE: lambda a, b: a <= b,
    }
    flipped = {exp.EQ: exp.EQ, exp.GT: exp.LT, exp.GTE: exp.LTE, exp.LT: exp.GT, exp.LTE: exp.GTE}
    for kind, compare in ops.items():
        if type(node) is kind:
            key, value = key_of(node.left), literal(node.right)
            if key is None:  # literal on the left: flip the comparison
                key, value, compare = key_of(node.right), literal(node.left), ops[flipped[kind]]
            if key and value is not None:
                return lambda v, key=key, value=value, compare=compare: compare(v[key], value)
    return None


def _athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """(Athena type name, precision, scale) for a DuckDB result column type."""
    kind = duckdb_type.upper()
    if kind.startswith("DECIMAL"):
        precision, _, scale = kind[kind.index("(") + 1 : -1].partition(",")
        return "decimal", int(precision), int(scale or 0)
    table = {
        "BIGINT": ("bigint", 19),
        "HUGEINT": ("bigint", 19),  # Trino's sum(bigint) is a bigint
        "UBIGINT": ("bigint", 19),
        "UINTEGER": ("bigint", 19),
        "INTEGER": ("integer", 10),
        "USMALLINT": ("integer", 10),
        "SMALLINT": ("smallint", 5),
        "UTINYINT": ("smallint", 5),
        "TINYINT": ("tinyint", 3),
        "DOUBLE": ("double", 17),
        "FLOAT": ("float", 17),
        "BOOLEAN": ("boolean", 0),
        "DATE": ("date", 0),
        "VARCHAR": ("varchar", 2147483647),
    }
    if kind in table:
        name, precision = table[kind]
        return name, precision, 0
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return "timestamp with time zone", 3, 0
    if kind.startswith("TIMESTAMP"):
        return "timestamp", 3, 0
    return "varchar", 2147483647, 0


def _athena_text(value: Any, kind: str) -> str | None:
    """A value as Athena prints it in GetQueryResults."""
    if value is None:
        return None
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("double", "float"):
        return java_double(float(value))
    if kind == "timestamp":
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if kind == "timestamp with time zone":
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"
    if kind == "date":
        return value.isoformat()
    return str(value)


def java_double(value: float) -> str:
    """A double as Java's Double.toString writes it (what Athena returns): 1.7943552E9, 0.5, NaN."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    mantissa = "".join(str(d) for d in digits)
    power = len(mantissa) + int(exponent) - 1
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"


# --- seeding --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeedReport:
    endpoint: str
    raw_objects: int
    processed_objects: int
    partitions: list[str]
    topic_arn: str


def seed_from_lake(local_lake_root: Path | str, endpoint: str, *, region: str = REGION) -> SeedReport:
    """Load a local lake (as `flightdq.generator.generate_lake` writes it) into the AWS at `endpoint`:
    the three buckets with the lake's raw and processed objects, the Glue database and table (schema
    from the contract, partition key dt string, Parquet SerDe) with the partitions the local catalog
    has registered, the Glue job `flightdata-etl` (MaxConcurrentRuns 1), the Athena workgroup, the
    SNS topic `flightdata-dq-alerts` and the DynamoDB table `flightdata-metrics`. Idempotent."""
    import boto3

    from flightdq.backends.aws import register_partitions_with_client
    from flightdq.backends.local_catalog import LocalCatalog

    root = Path(local_lake_root)
    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIAL, aws_secret_access_key=DUMMY_CREDENTIAL, region_name=region
    )

    def client(service: str) -> Any:
        return session.client(service, endpoint_url=endpoint)

    s3, glue = client("s3"), client("glue")
    for bucket in (RAW_BUCKET, PROCESSED_BUCKET, QUERY_RESULTS_BUCKET):
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou, s3.exceptions.BucketAlreadyExists):
            s3.create_bucket(Bucket=bucket)
    raw = _lake_objects(root / RAW_BUCKET)
    processed = _lake_objects(root / PROCESSED_BUCKET, only_prefix=f"{PROCESSED_PREFIX}/")
    _put_objects(s3, endpoint, RAW_BUCKET, raw)
    _put_objects(s3, endpoint, PROCESSED_BUCKET, processed)

    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_database(DatabaseInput={"Name": GLUE_DATABASE, "Description": "flight data lake"})
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_table(DatabaseName=GLUE_DATABASE, TableInput=processed_table_input())
    registered = sorted(LocalCatalog(root).registered(PROCESSED_TABLE))
    register_partitions_with_client(glue, registered)
    with contextlib.suppress(glue.exceptions.AlreadyExistsException):
        glue.create_job(**etl_job_definition())

    athena = client("athena")
    try:
        athena.get_work_group(WorkGroup=ATHENA_WORKGROUP)
    except athena.exceptions.InvalidRequestException:
        athena.create_work_group(Name=ATHENA_WORKGROUP)
    topic_arn = client("sns").create_topic(Name=SNS_TOPIC)["TopicArn"]
    dynamodb = client("dynamodb")
    with contextlib.suppress(dynamodb.exceptions.ResourceInUseException):
        dynamodb.create_table(  # its schema is the pipeline's; flightdq does not use it (docs/aws.md)
            TableName=METRICS_TABLE,
            AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("pk", "sk")],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    return SeedReport(endpoint, len(raw), len(processed), registered, topic_arn)


def processed_table_input() -> dict[str, Any]:
    """The Glue TableInput of `flightdata_processed` (contract section 1)."""
    return {
        "Name": PROCESSED_TABLE,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": "parquet", "EXTERNAL": "TRUE"},
        "PartitionKeys": [{"Name": PARTITION_KEY, "Type": "string"}],
        "StorageDescriptor": {
            "Columns": [{"Name": c.name, "Type": c.sql_type} for c in PROCESSED_COLUMNS],
            "Location": f"s3://{PROCESSED_BUCKET}/{PROCESSED_PREFIX}/",
            "InputFormat": PARQUET_INPUT,
            "OutputFormat": PARQUET_OUTPUT,
            "SerdeInfo": {"SerializationLibrary": PARQUET_SERDE, "Parameters": {"serialization.format": "1"}},
            "Compressed": False,
            "StoredAsSubDirectories": False,
        },
    }


ARTIFACTS = "s3://flightdata-artifacts/flightdq"  # where docs/aws.md puts the script and the wheel


def etl_job_definition(script_location: str = f"{ARTIFACTS}/glue_job.py") -> dict[str, Any]:
    """The Glue job `flightdata-etl` as docs/aws.md deploys it (Glue 5.0, Python 3.11)."""
    return {
        "Name": ETL_JOB_NAME,
        "Role": f"arn:aws:iam::{ACCOUNT_ID}:role/flightdata-etl",
        "Command": {"Name": "glueetl", "ScriptLocation": script_location, "PythonVersion": "3"},
        "GlueVersion": "5.0",
        "WorkerType": "G.1X",
        "NumberOfWorkers": 2,
        "Timeout": 60,
        "MaxRetries": 0,
        "ExecutionProperty": {"MaxConcurrentRuns": 1},
        "DefaultArguments": {
            "--additional-python-modules": (
                f"{ARTIFACTS}/flightdq-0.1.0-py3-none-any.whl,duckdb==2.0.1,pyarrow==26.0.1"
            ),
            "--job-language": "python",
        },
    }


def _lake_objects(folder: Path, only_prefix: str = "") -> list[tuple[str, Path | None]]:
    """(key, file) for every file under `folder` (hidden names skipped), plus (key/, None) folder
    markers for empty folders, as the S3 console makes them."""
    objects: list[tuple[str, Path | None]] = []
    if not folder.is_dir():
        return objects
    for path in sorted(folder.rglob("*")):
        key = path.relative_to(folder).as_posix()
        if any(part.startswith(".") for part in key.split("/")) or not key.startswith(only_prefix):
            continue
        if path.is_file():
            objects.append((key, path))
        elif path.is_dir() and not any(path.iterdir()):
            objects.append((key + "/", None))
    return objects


def _put_objects(s3: Any, endpoint: str, bucket: str, objects: list[tuple[str, Path | None]]) -> None:
    emulator = _active()
    if emulator is not None and emulator.endpoint == endpoint:
        # This process serves the endpoint: write into moto's S3 backend directly (thousands of small
        # objects through HTTP would take tens of seconds).
        from moto.s3.models import s3_backends

        backend = s3_backends[ACCOUNT_ID]["aws"]
        for key, path in objects:
            backend.put_object(bucket, key, path.read_bytes() if path else b"")
        return

    def put(item: tuple[str, Path | None]) -> None:
        key, path = item
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes() if path else b"")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, objects))


# --- the sandbox ----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    """`python -m flightdq.aws_emulator --seed`: a sample lake on a local AWS, until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m flightdq.aws_emulator",
        description="A local AWS (moto on 127.0.0.1) that runs Athena queries and Glue jobs for flightdq.",
    )
    parser.add_argument("--seed", action="store_true", help="generate a small sample lake and load it")
    parser.add_argument("--lake", help="load this existing local lake instead of generating one")
    parser.add_argument("--days", type=int, default=21, help="days in the generated lake (default 21)")
    parser.add_argument("--faults", action="store_true", help="plant the demo faults in the generated lake")
    parser.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000; 0: any)")
    args = parser.parse_args(argv)
    if args.faults and (args.lake or args.days < 12):
        parser.error("--faults plants one fault a day on the last 12 days of a generated lake: --days >= 12")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    workdir: Path | None = None
    lake: Path | None = Path(args.lake).expanduser().resolve() if args.lake else None
    if lake is None and args.seed:
        from flightdq.generator import default_demo_faults, generate_lake

        workdir = Path(tempfile.mkdtemp(prefix="flightdq-sandbox-"))
        lake = workdir / "lake"
        end = datetime.now(UTC).date() - timedelta(days=1)
        faults = default_demo_faults(end) if args.faults else None
        print(f"generating a {args.days}-day sample lake ending {end} in {lake} ...", flush=True)
        generate_lake(lake, end=end, days=args.days, seed=7, size="small", faults=faults)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    emulator = AwsEmulator(port=args.port)
    try:
        emulator.start()
        report = seed_from_lake(lake, emulator.endpoint) if lake is not None else None
        print(_banner(emulator, report, lake), flush=True)
        try:
            while not stop.wait(1.0):
                pass
        except KeyboardInterrupt:
            pass
    finally:
        emulator.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    print("emulator stopped; its state is gone.")
    return 0


def _banner(emulator: AwsEmulator, report: SeedReport | None, lake: Path | None) -> str:
    env = emulator.env()
    last = report.partitions[-1] if report and report.partitions else str(date.today() - timedelta(days=1))
    lines = [
        "",
        f"flightdq AWS sandbox: moto {PINNED_MOTO} on {emulator.endpoint} (127.0.0.1 only)",
    ]
    if report is not None:
        lines += [
            f"  loaded from {lake}:",
            f"  {report.raw_objects} raw and {report.processed_objects} processed objects,",
            f"  {len(report.partitions)} partitions registered in {GLUE_DATABASE}.{PROCESSED_TABLE}, "
            f"Glue job {ETL_JOB_NAME}, Athena workgroup {ATHENA_WORKGROUP},",
            f"  SNS topic {report.topic_arn}, DynamoDB table {METRICS_TABLE}",
        ]
    lines += ["", "In another shell (the Airflow connection is the AIRFLOW_CONN_AWS_DEFAULT line):"]
    lines += [f"  export {k}='{v}'" for k, v in env.items()]
    lines += [
        f"  export AWS_ENDPOINT_URL='{emulator.endpoint}'   # plain boto3 / aws cli only",
        "",
        f"  flightdq validate --date {last} --json",
        f"  flightdq remediate --date {last} --dry-run",
        f'  airflow dags test flightdq_daily_checks -c \'{{"date": "{last}"}}\'',
        "",
        "Ctrl-C stops the emulator (its state lives in memory and is gone then).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
