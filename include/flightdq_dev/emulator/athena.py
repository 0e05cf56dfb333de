"""The emulated Athena: what it knows of a query, running one (on the executor, through the DuckDB
engine), and the calls the proxy answers itself: StartQueryExecution, GetQueryExecution,
GetQueryResults and StopQueryExecution. The SQL runs on DuckDB after sqlglot's Trino -> DuckDB
translation: this proves the plumbing and the dialect translation, not Trino's own semantics."""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flightdq_dev.emulator.common import ATHENA_MAX_PAGE, QueryFailed
from flightdq_dev.emulator.engine import execute_on_duckdb
from flightdq_dev.emulator.proxy import AwsError

if TYPE_CHECKING:
    from flightdq_dev.emulator.server import AwsEmulator

log = logging.getLogger(__name__)


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


def run_query(emulator: AwsEmulator, record: QueryRecord, failure: str | None) -> None:
    """Run a submitted query (on the emulator's executor): its state, rows and CSV."""
    record.state, record.started = "RUNNING", time.time()
    try:
        if failure is not None:
            raise QueryFailed(failure)
        execute_on_duckdb(emulator, record)
        _write_csv(emulator, record)
        record.state = "SUCCEEDED"
    except QueryFailed as exc:
        record.state, record.reason = "FAILED", str(exc)
    except Exception as exc:
        log.exception("emulated Athena query %s failed", record.query_id)
        record.state, record.reason = "FAILED", f"GENERIC_INTERNAL_ERROR: {type(exc).__name__}: {exc}"
    finally:
        record.completed = time.time()


def _write_csv(emulator: AwsEmulator, record: QueryRecord) -> None:
    if not record.output_location:
        return
    bucket, _, key = record.output_location.removeprefix("s3://").partition("/")
    text = io.StringIO()
    writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
    writer.writerow([c["Name"] for c in record.columns])
    writer.writerows([["" if v is None else v for v in row] for row in record.rows])
    try:
        emulator._moto_client("s3", record.region).put_object(
            Bucket=bucket, Key=key, Body=text.getvalue().encode()
        )
    except Exception as exc:
        raise QueryFailed(f"Unable to write query results to {record.output_location}: {exc}") from exc


# --- the Athena calls the proxy answers --------------------------------------------------------


class EmulatedAthena:
    """StartQueryExecution, GetQueryExecution, GetQueryResults and StopQueryExecution, answered by the
    emulator; the workgroups themselves stay in moto."""

    def __init__(self, emulator: AwsEmulator) -> None:
        self.emulator = emulator
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, Any]:
        return {
            "AmazonAthena.StartQueryExecution": self.start_query_execution,
            "AmazonAthena.GetQueryExecution": self.get_query_execution,
            "AmazonAthena.GetQueryResults": self.get_query_results,
            "AmazonAthena.StopQueryExecution": self.stop_query_execution,
        }

    def start_query_execution(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        emulator = self.emulator
        if emulator.faults._take_throttle():
            raise AwsError("TooManyRequestsException", "Rate exceeded (throttling injected by the emulator)")
        workgroup = params.get("WorkGroup") or "primary"
        athena = emulator._moto_client("athena", region)
        try:
            config = athena.get_work_group(WorkGroup=workgroup)["WorkGroup"].get("Configuration") or {}
        except athena.exceptions.InvalidRequestException:
            raise AwsError("InvalidRequestException", f"WorkGroup {workgroup} is not found.") from None
        output = (params.get("ResultConfiguration") or {}).get("OutputLocation") or (
            config.get("ResultConfiguration") or {}
        ).get("OutputLocation")
        with self._lock:  # the same ClientRequestToken is the same query, as on Athena
            token = params.get("ClientRequestToken")
            if token and token in self._tokens:
                return {"QueryExecutionId": self._tokens[token]}
            query_id = str(uuid.uuid4())
            if token:
                self._tokens[token] = query_id
        record = QueryRecord(
            query_id=query_id,
            query=params.get("QueryString") or "",
            database=(params.get("QueryExecutionContext") or {}).get("Database") or "default",
            workgroup=workgroup,
            output_location=f"{output.rstrip('/')}/{query_id}.csv" if output else None,
            reuse=params.get("ResultReuseConfiguration"),
            region=region,
            submitted=time.time(),
        )
        emulator._submit_query(record, emulator.faults._take_query_failure())
        return {"QueryExecutionId": query_id}

    def _record(self, params: dict[str, Any]) -> QueryRecord:
        query_id = params.get("QueryExecutionId") or ""
        if query_id not in self.emulator.queries:
            raise AwsError("InvalidRequestException", f"QueryExecution {query_id} was not found")
        return self.emulator.queries[query_id]

    def get_query_execution(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        record = self._record(params)
        status: dict[str, Any] = {"State": record.state, "SubmissionDateTime": record.submitted}
        if record.completed is not None:
            status["CompletionDateTime"] = record.completed
        if record.reason:
            status["StateChangeReason"] = record.reason
            status["AthenaError"] = {"ErrorCategory": 2, "ErrorType": 1000, "Retryable": False}
            status["AthenaError"]["ErrorMessage"] = record.reason
        engine_ms = int(((record.completed or time.time()) - (record.started or record.submitted)) * 1000)
        return {
            "QueryExecution": {
                "QueryExecutionId": record.query_id,
                "Query": record.query,
                "StatementType": "DML",
                "ResultConfiguration": {"OutputLocation": record.output_location},
                "ResultReuseConfiguration": record.reuse
                or {"ResultReuseByAgeConfiguration": {"Enabled": False}},
                "QueryExecutionContext": {"Database": record.database, "Catalog": "AwsDataCatalog"},
                "Status": status,
                "Statistics": {
                    "EngineExecutionTimeInMillis": engine_ms,
                    "TotalExecutionTimeInMillis": engine_ms,
                    "DataScannedInBytes": record.scanned_bytes,
                    "ResultReuseInformation": {"ReusedPreviousResult": False},
                },
                "WorkGroup": record.workgroup,
            }
        }

    def get_query_results(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        record = self._record(params)
        if record.state in ("QUEUED", "RUNNING"):
            raise AwsError(
                "InvalidRequestException", f"Query has not yet finished. Current state: {record.state}"
            )
        if record.state != "SUCCEEDED":
            raise AwsError(
                "InvalidRequestException",
                f"Query did not finish successfully. Final query state: {record.state}",
            )
        page_size = int(params.get("MaxResults") or ATHENA_MAX_PAGE)
        if not 1 <= page_size <= ATHENA_MAX_PAGE:
            raise AwsError(
                "InvalidRequestException", f"MaxResults is more than maximum allowed length {ATHENA_MAX_PAGE}"
            )
        token = params.get("NextToken")
        if token and not str(token).isdigit():
            raise AwsError("InvalidRequestException", "NextToken is malformed")
        offset = int(token or 0)
        all_rows = [[c["Label"] for c in record.columns], *record.rows]  # the header row is on page one
        page = all_rows[offset : offset + page_size]
        record.pages_served += 1
        body: dict[str, Any] = {
            "ResultSet": {
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in page],
                "ResultSetMetadata": {"ColumnInfo": record.columns},
            },
            "UpdateCount": 0,
        }
        if offset + page_size < len(all_rows):
            body["NextToken"] = str(offset + page_size)
        return body

    def stop_query_execution(self, params: dict[str, Any], region: str) -> dict[str, Any]:
        record = self._record(params)
        if record.state in ("QUEUED", "RUNNING"):
            record.state, record.reason, record.completed = (
                "CANCELLED",
                "Query cancelled by user",
                time.time(),
            )
        return {}
