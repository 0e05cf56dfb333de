"""Athena, the AWS backend's SQL engine: it runs the same Trino templates as the embedded engine
(`queries.render(name, "trino")`). Every template filters `dt BETWEEN ...`, so Athena prunes to the
checked partitions. Result reuse is off (a reused result does not notice data that changed).
Throttling (`TooManyRequestsException`) is retried by `AwsClients.call` with exponential backoff and
a bound; botocore's own retries are switched off for the Athena client so the retries are counted and
bounded in one place. FAILED and CANCELLED raise `BackendError` naming the query execution id and
Athena's `StateChangeReason`. All result pages are read (1,000 rows a page; the first row of the
first page is the header) and every value is typed by the result set's column types (Athena returns
strings). Each query appends its id and the bytes it scanned to `query_log`, so the cost of checking
is visible in every check result.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from flightdq.backends.aws.clients import AwsClients
from flightdq.backends.base import BackendError
from flightdq.core.contract import ATHENA_WORKGROUP, GLUE_DATABASE, QUERY_RESULTS_BUCKET

QUERY_OUTPUT_LOCATION = f"s3://{QUERY_RESULTS_BUCKET}/"
ATHENA_PAGE_ROWS = 1000  # Athena's maximum page size for GetQueryResults


class Athena:
    """Runs statements on Athena and logs each one (id, bytes scanned, seconds, rows, throttling)."""

    def __init__(self, clients: AwsClients, query_log: list[dict[str, Any]]) -> None:
        self._clients = clients
        self.query_log = query_log

    def run_sql(self, sql: str, *, label: str = "adhoc") -> list[dict[str, Any]]:
        """Run one Trino statement on Athena (database `flightdata`, workgroup `primary`, results to
        `s3://flightdata-query-results/`, result reuse off) and return all its rows, typed."""
        started = time.monotonic()
        refused = [0]
        what = f"Athena query {label}"
        query_id = self._clients.call(
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
        call, tuning = self._clients.call, self._clients.tuning
        deadline = time.monotonic() + tuning.athena_timeout_seconds
        delay = tuning.athena_poll_seconds
        while True:
            execution = call("athena", "get_query_execution", what, refused, QueryExecutionId=query_id)[
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
                    call("athena", "stop_query_execution", what, QueryExecutionId=query_id)
                raise BackendError(
                    f"{what} still {state} after {tuning.athena_timeout_seconds:.0f}s; cancelled it"
                )
            self._clients.sleep(delay)
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
            page = self._clients.call("athena", "get_query_results", what, refused, **kwargs)
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
