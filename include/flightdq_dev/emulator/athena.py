"""The emulated Athena: what it knows of a query, running one (on the executor, through the DuckDB
engine), and the patched API calls StartQueryExecution, GetQueryExecution, GetQueryResults and
StopQueryExecution."""

from __future__ import annotations

import csv
import io
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flightdq_dev.emulator.common import ATHENA_MAX_PAGE, QueryFailed, active, original
from flightdq_dev.emulator.engine import execute_on_duckdb

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
        emulator.client("s3", record.region).put_object(Bucket=bucket, Key=key, Body=text.getvalue().encode())
    except Exception as exc:
        raise QueryFailed(f"Unable to write query results to {record.output_location}: {exc}") from exc


def _json_error(code: str, message: str, status: int = 400) -> tuple[str, dict[str, int]]:
    return json.dumps({"__type": code, "Message": message}), {"status": status}


# --- the patched AthenaResponse methods (`self` is moto's response object) -----------------------


def start_query_execution(self: Any) -> Any:
    emulator = active()
    if emulator is None:
        return original("AthenaResponse", "start_query_execution")(self)
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


def _record(self: Any) -> QueryRecord | None:
    """The emulator's record of the request's query; None: moto answers (no emulator, or not ours)."""
    emulator = active()
    return emulator.queries.get(self._get_param("QueryExecutionId")) if emulator else None


def get_query_execution(self: Any) -> Any:
    record = _record(self)
    if record is None:
        return original("AthenaResponse", "get_query_execution")(self)
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


def get_query_results(self: Any) -> Any:
    record = _record(self)
    if record is None:
        return original("AthenaResponse", "get_query_results")(self)
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


def stop_query_execution(self: Any) -> Any:
    record = _record(self)
    if record is None:
        return original("AthenaResponse", "stop_query_execution")(self)
    if record.state in ("QUEUED", "RUNNING"):
        record.state, record.reason, record.completed = "CANCELLED", "Query cancelled by user", time.time()
    return json.dumps({})
