"""`Athena.run_sql` through PyAthena, against a scripted Athena client (no network): the request it
sends, every page read and typed (timestamps aware in UTC), the query log, a timeout cancelling the
query, and FAILED naming the query and Athena's reason. The emulator tests run the same against moto."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from flightdq.backends.aws.athena import Athena, utc_converter
from flightdq.backends.aws.clients import AwsClients, AwsTuning
from flightdq.backends.base import BackendError

TUNING = AwsTuning(athena_poll_seconds=0.001, backoff_base_seconds=0.0, athena_timeout_seconds=60)
COLUMNS = [
    ("flight_id", "varchar"),
    ("n", "bigint"),
    ("speed", "double"),
    ("share", "decimal"),
    ("ok", "boolean"),
    ("dt", "date"),
    ("seen", "timestamp"),
]


def value(i: int) -> list[str | None]:
    speed = "Infinity" if i == 0 else f"{i}.5"
    seen = None if i % 7 else "2026-11-25 13:45:10.000"
    return [f"f{i}", str(i), speed, "0.25", "true", "2026-11-25", seen]


class ScriptedAthena:
    """Answers like Athena: a query RUNNING for `polls` polls, then `final`; `rows` served in pages."""

    def __init__(self, rows: int = 0, polls: int = 1, final: str = "SUCCEEDED", reason: str | None = None):
        self.rows, self.polls, self.final, self.reason = rows, polls, final, reason
        self.started: list[dict[str, Any]] = []
        self.stopped: list[str] = []
        self.pages = 0
        self.throttle_starts = 0

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        self.started.append(kwargs)
        if self.throttle_starts:
            self.throttle_starts -= 1
            raise ClientError(
                {"Error": {"Code": "TooManyRequestsException", "Message": "slow down"}}, "Start"
            )
        return {"QueryExecutionId": "qid-1"}

    def get_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.polls -= 1
        state = self.final if self.polls < 0 else "RUNNING"
        if self.stopped:
            state = "CANCELLED"
        status: dict[str, Any] = {"State": state}
        if self.reason and state == self.final:
            status["StateChangeReason"] = self.reason
        return {
            "QueryExecution": {
                "QueryExecutionId": QueryExecutionId,
                "Query": self.started[-1]["QueryString"],
                "StatementType": "DML",
                "Status": status,
                "Statistics": {"DataScannedInBytes": 12345},
                "ResultConfiguration": {"OutputLocation": "s3://flightdata-query-results/qid-1.csv"},
            }
        }

    def get_query_results(self, QueryExecutionId: str, MaxResults: int, NextToken: str | None = None):
        start = int(NextToken or 0)
        data = [[name for name, _ in COLUMNS]] if start == 0 else []
        data += [value(i) for i in range(start, min(start + MaxResults - len(data), self.rows))]
        end = start + len(data) - (start == 0)
        self.pages += 1
        return {
            "ResultSet": {
                "ResultSetMetadata": {"ColumnInfo": [{"Name": n, "Label": n, "Type": t} for n, t in COLUMNS]},
                "Rows": [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in data],
            },
            **({"NextToken": str(end)} if end < self.rows else {}),
        }

    def stop_query_execution(self, QueryExecutionId: str) -> dict[str, Any]:
        self.stopped.append(QueryExecutionId)
        return {}


class FakeConnection:
    """An `AwsConnection` whose only client is the scripted Athena."""

    name = "connection 'fake'"

    def __init__(self, athena: ScriptedAthena) -> None:
        self.athena = athena

    def session(self) -> boto3.Session:
        return boto3.Session(region_name="eu-west-1", aws_access_key_id="test", aws_secret_access_key="test")

    def client(self, service: str, config: Any = None) -> ScriptedAthena:
        assert service == "athena" and config is not None  # retried by the policy only: one attempt
        return self.athena


def athena_on(fake: ScriptedAthena, monkeypatch, tuning: AwsTuning = TUNING) -> Athena:
    return Athena(AwsClients(FakeConnection(fake), tuning, lambda seconds: None), [])


def test_every_page_is_read_typed_and_logged(monkeypatch):
    fake = ScriptedAthena(rows=2500, polls=2)
    fake.throttle_starts = 2
    athena = athena_on(fake, monkeypatch)
    rows = athena.run_sql("SELECT 1", label="pages")

    assert len(rows) == 2500 and fake.pages == 3
    assert rows[0] == {
        "flight_id": "f0",
        "n": 0,
        "speed": float("inf"),
        "share": Decimal("0.25"),
        "ok": True,
        "dt": date(2026, 11, 25),
        "seen": datetime(2026, 11, 25, 13, 45, 10, tzinfo=UTC),
    }
    assert rows[1]["seen"] is None and rows[2499]["flight_id"] == "f2499"

    (request, *retries) = fake.started
    assert retries == [request, request]  # the same client token each time: one query, not three
    assert request["QueryString"] == "SELECT 1"
    assert request["WorkGroup"] == "primary"
    assert request["QueryExecutionContext"] == {"Database": "flightdata", "Catalog": "AwsDataCatalog"}
    assert request["ResultConfiguration"] == {"OutputLocation": "s3://flightdata-query-results/"}
    assert request["ResultReuseConfiguration"] == {"ResultReuseByAgeConfiguration": {"Enabled": False}}
    assert request["ClientRequestToken"]

    (entry,) = athena.query_log
    assert entry["query_execution_id"] == "qid-1" and entry["template"] == "pages"
    assert entry["engine"] == "athena" and entry["rows"] == 2500
    assert entry["data_scanned_bytes"] == 12345 and entry["throttled"] == 2


def test_a_failed_query_names_its_id_and_the_reason(monkeypatch):
    fake = ScriptedAthena(final="FAILED", reason="SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved")
    with pytest.raises(BackendError) as raised:
        athena_on(fake, monkeypatch).run_sql("SELECT x", label="adhoc")
    assert str(raised.value) == (
        "Athena query qid-1 (adhoc) ended FAILED: SYNTAX_ERROR: line 1:8: Column 'x' cannot be resolved"
    )


def test_a_query_running_too_long_is_cancelled(monkeypatch):
    fake = ScriptedAthena(polls=10**9)
    athena = athena_on(fake, monkeypatch, AwsTuning(athena_poll_seconds=0.01, athena_timeout_seconds=0.05))
    with pytest.raises(
        BackendError, match=r"^Athena query qid-1 \(slow\) still RUNNING after 0s; cancelled it$"
    ):
        athena.run_sql("SELECT 1", label="slow")
    assert fake.stopped == ["qid-1"] and athena.query_log == []


def test_timestamps_with_a_zone_come_back_in_utc():
    convert = utc_converter()
    assert convert.convert("timestamp with time zone", "2026-11-25 14:45:10.000 Europe/Berlin") == datetime(
        2026, 11, 25, 13, 45, 10, tzinfo=UTC
    )
    assert convert.convert("timestamp", None) is None
