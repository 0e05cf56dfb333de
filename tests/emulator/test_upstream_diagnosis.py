"""The upstream diagnosis against the AWS emulator (moto on 127.0.0.1): the test seeds the ingestion
Lambda's CloudWatch datapoints, its ERROR log events (which name a callsign that must never reach the
result) and the function itself, then reads them back through `AwsBackend.upstream_diagnosis`.

The window is the last six whole hours: CloudWatch Logs refuses events older than 14 days.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import pytest

from flightdq.airflow.aws import ProviderAwsConnection
from flightdq.backends.aws.backend import AwsBackend
from flightdq.backends.aws.clients import AwsTuning
from flightdq.core.config import Settings
from flightdq.incidents.diagnosis import diagnosis_text
from flightdq_dev.emulator import AwsEmulator

pytestmark = pytest.mark.aws

FUNCTION = "flightdata-processor"
CALLSIGN = "DLH123"  # flight data in the log lines: must not leave the logs
START = (datetime.now(UTC) - timedelta(hours=7)).replace(minute=0, second=0, microsecond=0)
END = START + timedelta(hours=6)
FAST = AwsTuning(backoff_base_seconds=0.01, backoff_max_seconds=0.05)

# hour of the window -> Invocations, Errors (Sum); hours 1, 3, 4, 5 have none, as Lambda publishes none
INVOCATIONS = {0: [5, 3], 2: [7]}
ERRORS = {0: [2], 2: [1]}
DURATIONS = {0: ([100.0, 300.0], [1, 1]), 2: ([900.0], [2])}  # values and counts: avg 550, max 900
ERROR_LINES = [
    f"[ERROR] TimeoutError: fetching states for {CALLSIGN} timed out after 30s",
    f"[ERROR]\t2026-11-25T06:10:00Z\treq-1\tTimeoutError('read timed out for {CALLSIGN}')",
    f"[ERROR] botocore.exceptions.ClientError: An error occurred (AccessDenied) writing {CALLSIGN}",
    f"[ERROR] could not parse the state vector of {CALLSIGN} at 51.2,6.8",
]


@pytest.fixture(scope="module")
def emulator():
    with AwsEmulator() as emu:
        seed_ingestion_lambda(emu)
        yield emu


def backend(tmp_path, **env: str) -> AwsBackend:
    settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(tmp_path), **env})
    return AwsBackend(settings, ProviderAwsConnection(settings.aws_conn_id), tuning=FAST)


def at(hour: int, minute: int = 10) -> datetime:
    return START + timedelta(hours=hour, minutes=minute)


def seed_ingestion_lambda(emu: AwsEmulator) -> None:
    cloudwatch, logs = emu.client("cloudwatch"), emu.client("logs")

    def put(metric: str, hour: int, function: str = FUNCTION, **value) -> None:
        cloudwatch.put_metric_data(
            Namespace="AWS/Lambda",
            MetricData=[
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": "FunctionName", "Value": function}],
                    "Timestamp": at(hour),
                    **value,
                }
            ],
        )

    for metric, per_hour in (("Invocations", INVOCATIONS), ("Errors", ERRORS)):
        for hour, values in per_hour.items():
            for value in values:
                put(metric, hour, Value=value, Unit="Count")
    for hour, (values, counts) in DURATIONS.items():
        put("Duration", hour, Values=values, Counts=counts, Unit="Milliseconds")
    put("Invocations", 7, Value=1000, Unit="Count")  # after the window
    put("Invocations", -2, Value=1000, Unit="Count")  # before it
    put("Invocations", 1, function="flightdata-aggregator", Value=1000, Unit="Count")  # another function

    group = f"/aws/lambda/{FUNCTION}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="2026/11/25/[$LATEST]abc")
    events = [(at(0, 5 + i), line) for i, line in enumerate(ERROR_LINES)]
    events += [
        (at(1), f"[INFO] processed 4711 states, last {CALLSIGN}"),  # not an ERROR event
        (at(7), f"[ERROR] ValueError: after the window, {CALLSIGN}"),
    ]
    logs.put_log_events(
        logGroupName=group,
        logStreamName="2026/11/25/[$LATEST]abc",
        logEvents=[{"timestamp": int(t.timestamp() * 1000), "message": m} for t, m in sorted(events)],
    )

    role = emu.client("iam").create_role(
        RoleName="flightdata-processor",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("handler.py", "def handle(event, context):\n    return None\n")
    emu.client("lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="handler.handle",
        Code={"ZipFile": code.getvalue()},
    )


def test_diagnosis_reads_metrics_error_classes_and_state(aws, tmp_path):
    result = backend(tmp_path).upstream_diagnosis(START, END)

    assert result["available"] is True
    assert result["function"] == FUNCTION
    assert result["window"] == [
        START.isoformat().replace("+00:00", "Z"),
        END.isoformat().replace("+00:00", "Z"),
    ]

    metrics = result["metrics"]
    assert (metrics["hours"], metrics["period_seconds"]) == (6, 3600)
    assert (metrics["invocations"], metrics["errors"], metrics["throttles"]) == (15, 3, 0)
    assert metrics["hours_without_invocations"] == 4
    assert [h["invocations"] for h in metrics["hourly"]] == [8, 0, 7, 0, 0, 0]
    assert [h["errors"] for h in metrics["hourly"]] == [2, 0, 1, 0, 0, 0]
    assert metrics["duration_ms"] == {"average": 550.0, "maximum": 900.0}

    errors = result["errors"]
    assert errors["events"] == 4
    assert errors["truncated"] is False
    assert errors["by_class"] == {"TimeoutError": 2, "ClientError": 1, "ERROR": 1}

    state = result["state"]
    assert state["state"] == "Active"
    assert state["last_update_status"] == "Successful"
    assert state["last_modified"]

    assert CALLSIGN not in json.dumps(result)
    assert "51.2" not in json.dumps(result)


def test_diagnosis_text_of_an_emulated_diagnosis(aws, tmp_path):
    text = diagnosis_text(backend(tmp_path).upstream_diagnosis(START, END))

    assert text.startswith(f"Upstream diagnosis ({FUNCTION}, ")
    assert "15 invocations, none in 4 of 6 hours; 3 errors, 0 throttles" in text
    assert "4 ERROR log events (2 TimeoutError, 1 ClientError, 1 ERROR)" in text
    assert "state Active" in text
    assert CALLSIGN not in text


def test_a_window_within_hours_is_widened_to_whole_hours(aws, tmp_path):
    result = backend(tmp_path).upstream_diagnosis(at(0, 30), at(2, 1))

    assert result["metrics"]["hours"] == 3
    assert result["metrics"]["invocations"] == 15


def test_a_missing_function_reports_each_failed_part_and_raises_nothing(aws, tmp_path):
    result = backend(tmp_path, FLIGHTDQ_INGESTION_FUNCTION="flightdata-gone").upstream_diagnosis(START, END)

    assert result["function"] == "flightdata-gone"
    assert result["metrics"]["invocations"] == 0  # CloudWatch knows no datapoints: zero, not an error
    assert result["metrics"]["hours_without_invocations"] == 6
    assert result["errors"] == {"error": "ResourceNotFoundException"}  # no log group
    assert result["state"] == {"error": "ResourceNotFoundException"}  # no function
    text = diagnosis_text(result)
    assert "0 invocations in 6 of 6 hours" in text
    assert "ERROR logs unavailable (ResourceNotFoundException)" in text
    assert "state unavailable (ResourceNotFoundException)" in text


def test_an_unreachable_endpoint_fails_every_part_without_raising(aws, tmp_path, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DEFAULT",
        json.dumps(
            {
                **aws.airflow_connection(),
                "extra": {"endpoint_url": "http://127.0.0.1:9", "region_name": aws.region},
            }
        ),
    )
    tuning = AwsTuning(retry_attempts=2, backoff_base_seconds=0.01, backoff_max_seconds=0.01)
    settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(tmp_path)})
    result = AwsBackend(settings, ProviderAwsConnection("aws_default"), tuning=tuning).upstream_diagnosis(
        START, END
    )

    assert result["available"] is True
    for part in ("metrics", "errors", "state"):
        assert result[part] == {"error": "EndpointConnectionError"}
    assert "metrics unavailable (EndpointConnectionError)" in diagnosis_text(result)
