"""The upstream diagnosis without AWS: its text for an alert or incident timeline, the embedded
backend's answer, and the AWS side's reductions (error classes, hour buckets, failures, paging) over
a fake `AwsClients`. tests/emulator/test_upstream_diagnosis.py reads the same from the emulator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from flightdq.backends.aws import diagnosis as aws_diagnosis
from flightdq.backends.aws.backend import AwsBackend
from flightdq.backends.aws.diagnosis import UpstreamDiagnosis, error_class, failure_class, hour_window
from flightdq.backends.base import Backend, BackendError
from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq.incidents.diagnosis import diagnosis_text

START = datetime(2026, 11, 25, 6, tzinfo=UTC)
END = datetime(2026, 11, 25, 12, tzinfo=UTC)
LOCAL_REASON = "not available locally: the embedded lake has no ingestion Lambda"


def available(**parts: Any) -> dict[str, Any]:
    diag: dict[str, Any] = {
        "available": True,
        "function": "flightdata-processor",
        "window": ["2026-11-25T06:00:00Z", "2026-11-25T12:00:00Z"],
        "metrics": {
            "period_seconds": 3600,
            "hours": 6,
            "invocations": 0,
            "errors": 0,
            "throttles": 0,
            "hours_without_invocations": 6,
            "duration_ms": {"average": None, "maximum": None},
            "hourly": [],
        },
        "errors": {
            "log_group": "/aws/lambda/flightdata-processor",
            "events": 12,
            "truncated": False,
            "by_class": {"TimeoutError": 8, "ERROR": 4},
        },
        "state": {
            "state": "Active",
            "state_reason_code": None,
            "last_update_status": "Successful",
            "last_modified": "2026-11-20T10:00:00.000+0000",
        },
    }
    diag.update(parts)
    return diag


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "DLH123 said no"}}, "Op")


# --- diagnosis_text -------------------------------------------------------------------------------


def test_text_of_a_lambda_that_stopped():
    assert diagnosis_text(available()) == (
        "Upstream diagnosis (flightdata-processor, 2026-11-25 06:00-12:00 UTC): "
        "0 invocations in 6 of 6 hours; 0 errors, 0 throttles; "
        "12 ERROR log events (8 TimeoutError, 4 ERROR); state Active, modified 2026-11-20 10:00 UTC"
    )


def test_text_of_a_lambda_that_ran_with_gaps():
    metrics = {
        "hours": 24,
        "invocations": 1234,
        "errors": 1,
        "throttles": 7,
        "hours_without_invocations": 2,
        "duration_ms": {"average": 812.46, "maximum": 30000.0},
    }
    text = diagnosis_text(
        available(
            window=["2026-11-25T00:00:00Z", "2026-11-26T00:00:00Z"],
            metrics=metrics,
            errors={"events": 0, "truncated": False, "by_class": {}},
        )
    )
    assert "(flightdata-processor, 2026-11-25 00:00-24:00 UTC)" in text
    assert (
        "1234 invocations, none in 2 of 24 hours; 1 error, 7 throttles, duration avg 812 ms, max 30000 ms"
        in text
    )
    assert "no ERROR log events" in text


def test_text_of_a_lambda_that_ran_every_hour_over_two_days():
    metrics = {"hours": 30, "invocations": 1, "hours_without_invocations": 0}
    text = diagnosis_text(available(window=["2026-11-24T18:00:00Z", "2026-11-26T00:00:00Z"], metrics=metrics))
    assert "2026-11-24 18:00-2026-11-26 00:00 UTC" in text
    assert "1 invocation, every hour; 0 errors, 0 throttles;" in text


def test_text_names_the_five_commonest_classes_and_says_when_counting_stopped():
    classes = {"AError": 1, "BError": 9, "CError": 3, "DError": 3, "EError": 2, "FError": 1, "ERROR": 5}
    errors = {"events": 10_000, "truncated": True, "by_class": classes}
    text = diagnosis_text(available(errors=errors))
    assert (
        "at least 10000 ERROR log events (9 BError, 5 ERROR, 3 CError, 3 DError, 2 EError, 2 other)" in text
    )


def test_text_of_a_function_in_trouble():
    state = {
        "state": "Failed",
        "state_reason_code": "InvalidImage",
        "last_update_status": "Failed",
        "last_modified": "2026-11-25T05:59:00.000+0000",
    }
    assert "state Failed (InvalidImage), last update Failed, modified 2026-11-25 05:59 UTC" in diagnosis_text(
        available(state=state)
    )


def test_text_when_parts_failed():
    text = diagnosis_text(
        available(
            metrics={"error": "AccessDeniedException"},
            errors={"error": "ResourceNotFoundException"},
            state={"error": "EndpointConnectionError"},
        )
    )
    assert text == (
        "Upstream diagnosis (flightdata-processor, 2026-11-25 06:00-12:00 UTC): "
        "metrics unavailable (AccessDeniedException); ERROR logs unavailable (ResourceNotFoundException); "
        "state unavailable (EndpointConnectionError)"
    )


def test_text_of_a_sparse_record_does_not_fail():
    assert diagnosis_text({"available": True}) == (
        "Upstream diagnosis: metrics unavailable; ERROR logs unavailable; state unavailable"
    )
    assert diagnosis_text({}) == "Upstream diagnosis: not available"


def test_text_where_there_is_no_lambda():
    assert (
        diagnosis_text({"available": False, "reason": LOCAL_REASON}) == f"Upstream diagnosis: {LOCAL_REASON}"
    )


# --- the backends ---------------------------------------------------------------------------------


def test_the_embedded_lake_has_no_ingestion_lambda(tmp_path):
    (tmp_path / "flightdata-raw").mkdir()
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(tmp_path)}))
    diag = backend.upstream_diagnosis(START, END)
    assert diag == {"available": False, "reason": LOCAL_REASON}
    assert diagnosis_text(diag) == f"Upstream diagnosis: {LOCAL_REASON}"


def test_both_backends_implement_the_whole_interface(tmp_path):
    """Every method of every port `Backend` is made of, and every attribute the ports declare."""
    ports = [cls for cls in Backend.__mro__ if cls.__module__ == Backend.__module__]
    methods = {
        name for cls in ports for name, value in vars(cls).items() if callable(value) and name[0] != "_"
    }
    attributes = {name for cls in ports for name in getattr(cls, "__annotations__", {})}
    assert {"upstream_diagnosis", "run_sql", "run_etl", "catalog_columns"} <= methods
    assert {"history", "dialect", "console", "writable"} <= attributes
    for backend in (LocalBackend, AwsBackend):
        assert [m for m in methods if not callable(getattr(backend, m, None))] == [], backend.__name__
    (tmp_path / "flightdata-raw").mkdir()
    local = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(tmp_path)}))
    assert [a for a in attributes if not hasattr(local, a)] == []


def test_the_ingestion_function_is_a_setting():
    assert Settings.from_env({}).ingestion_function == "flightdata-processor"
    assert Settings.from_env({"FLIGHTDQ_INGESTION_FUNCTION": " ingest-eu "}).ingestion_function == "ingest-eu"


# --- the AWS side's reductions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("[ERROR] TimeoutError: fetching DLH123 timed out", "TimeoutError"),
        ("[ERROR]\t2026-11-25T06:10:00Z\treq\tbotocore.exceptions.ClientError: DLH123", "ClientError"),
        ("[ERROR] Runtime.ImportModuleError: Unable to import module 'handler'", "ImportModuleError"),
        ("ERROR java.lang.IllegalStateException at DLH123", "IllegalStateException"),
        ("[ERROR] could not parse DLH123 at 51.2,6.8", "ERROR"),
        ("[ERROR] Error: DLH123 Exception", "ERROR"),
        ("", "ERROR"),
    ],
)
def test_error_class_keeps_only_the_class_token(line, expected):
    assert error_class(line) == expected


def test_failure_class_names_the_aws_error_code_or_the_exception():
    assert failure_class(client_error("AccessDeniedException")) == "AccessDeniedException"
    try:
        raise BackendError("gave up") from client_error("ThrottlingException")
    except BackendError as exc:
        assert failure_class(exc) == "ThrottlingException"
    try:
        raise BackendError("gave up") from EndpointConnectionError(endpoint_url="http://x")
    except BackendError as exc:
        assert failure_class(exc) == "EndpointConnectionError"
    assert failure_class(KeyError("DLH123")) == "KeyError"


def test_the_window_is_widened_to_whole_utc_hours():
    assert hour_window(datetime(2026, 11, 25, 6, 30), datetime(2026, 11, 25, 8, 0, 1)) == (
        START,
        START + timedelta(hours=3),
    )
    assert hour_window(START, END) == (START, END)
    with pytest.raises(ValueError, match="not after"):
        hour_window(END, START)
    with pytest.raises(ValueError, match="exceeds"):
        hour_window(START, START + timedelta(days=61))


class FakeClients:
    """`AwsClients.call` answered from canned responses; a response that is an exception is raised."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, kind: str, operation: str, what: str, counter: list[int] | None = None, **kwargs: Any):
        self.calls.append((operation, kwargs))
        answer = self.answers[operation]
        if callable(answer):
            answer = answer(**kwargs)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_datapoints_fall_in_the_hour_of_their_timestamp_and_outside_ones_are_dropped():
    def statistics(MetricName: str, **_: Any) -> dict[str, Any]:
        points = {
            "Invocations": [
                {"Timestamp": START + timedelta(minutes=10), "Sum": 2.0},
                {"Timestamp": START + timedelta(hours=5, minutes=59), "Sum": 0.5},
                {"Timestamp": END, "Sum": 99.0},  # the next hour: outside
            ],
            "Duration": [{"Timestamp": START, "Average": 10.0, "Maximum": 20.0, "SampleCount": 4.0}],
        }
        return {"Datapoints": points.get(MetricName, [])}

    clients = FakeClients({"get_metric_statistics": statistics})
    metrics = UpstreamDiagnosis(clients, "f").metrics(START, END)  # type: ignore[arg-type]
    assert metrics["invocations"] == 2.5
    assert [h["invocations"] for h in metrics["hourly"]] == [2, 0, 0, 0, 0, 0.5]
    assert metrics["hours_without_invocations"] == 4
    assert metrics["duration_ms"] == {"average": 10.0, "maximum": 20.0}
    asked = {kw["MetricName"]: kw for op, kw in clients.calls}
    assert set(asked) == {"Invocations", "Errors", "Throttles", "Duration"}
    assert asked["Duration"]["Statistics"] == ["Average", "Maximum", "SampleCount"]
    assert all(kw["Period"] == 3600 and kw["Namespace"] == "AWS/Lambda" for kw in asked.values())


def test_log_pages_are_followed_and_counting_stops_at_the_bound(monkeypatch):
    monkeypatch.setattr(aws_diagnosis, "MAX_LOG_EVENTS", 5)
    pages = {
        None: {"events": [{"message": "[ERROR] TimeoutError DLH123"}] * 3, "nextToken": "2"},
        "2": {"events": [{"message": "[ERROR] DLH123"}] * 3, "nextToken": "3"},
    }
    clients = FakeClients({"filter_log_events": lambda nextToken=None, **_: pages[nextToken]})
    errors = UpstreamDiagnosis(clients, "f").errors(START, END)  # type: ignore[arg-type]
    assert errors == {
        "log_group": "/aws/lambda/f",
        "events": 5,
        "truncated": True,
        "by_class": {"TimeoutError": 3, "ERROR": 2},
    }
    first = clients.calls[0][1]
    assert first["filterPattern"] == "ERROR"
    assert (first["startTime"], first["endTime"]) == (
        int(START.timestamp() * 1000),
        int(END.timestamp() * 1000) - 1,
    )
    assert len(clients.calls) == 2  # the bound reached: page "3" is never asked for


def test_a_failing_part_leaves_the_others():
    clients = FakeClients(
        {
            "get_metric_statistics": client_error("AccessDenied"),
            "filter_log_events": {"events": []},
            "get_function_configuration": {"State": "Inactive", "StateReason": "idle DLH123"},
        }
    )
    diag = UpstreamDiagnosis(clients, "f").diagnose(START, END)  # type: ignore[arg-type]
    assert diag["metrics"] == {"error": "AccessDenied"}
    assert diag["errors"]["events"] == 0
    assert diag["state"]["state"] == "Inactive"
    assert "DLH123" not in repr(diag)
