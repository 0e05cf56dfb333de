"""Upstream diagnosis on AWS: what the runbook has a person look up when raw data is missing or low,
gathered for the ingestion Lambda (`settings.ingestion_function`, default `flightdata-processor`)
through the backend's connection:

- **metrics**: CloudWatch `AWS/Lambda` `Invocations`, `Errors`, `Throttles` (Sum) and `Duration`
  (Average, Maximum) per clock hour of the window, summed up: totals, the hours without a single
  invocation (Lambda publishes no datapoint for an hour without invocations: a missing hour is zero);
- **errors**: the function's `ERROR` log events in the window (`filter_log_events` on
  `/aws/lambda/<function>`), reduced to error classes and counts. Log lines can hold flight data
  (callsigns, positions): nothing of a message is kept but its error class, the first
  `SomethingError` / `SomethingException` word, else `ERROR`;
- **state**: `State`, `StateReasonCode`, `LastUpdateStatus`, `LastModified` of the function's
  configuration (no free-text reason). Read with `get_function_configuration`, which returns what
  `get_function`'s `Configuration` holds without a download link to the deployment package: the
  role needs `lambda:GetFunctionConfiguration`, not `lambda:GetFunction` (docs/aws.md).

Every part is best-effort: a part that fails (no permission, no such function or log group) is
`{"error": "<ErrorClass>"}` (the AWS error code, or the exception's class) and the others still come
back. Throttling and 5xx are retried like every other call of the backend (`AwsClients.call`).
The result is plain JSON (ISO strings, numbers), ready for an incident's timeline.

The window [start, end] is widened to whole UTC hours (naive datetimes are UTC). A reversed window,
or one longer than 1,440 hours, is the caller's mistake and raises `ValueError`.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from flightdq.backends.aws.clients import AwsClients
from flightdq.backends.base import BackendError
from flightdq.etl.s3_io import error_code

log = logging.getLogger(__name__)

LAMBDA_NAMESPACE = "AWS/Lambda"
PERIOD_SECONDS = 3600  # one datapoint per clock hour
MAX_HOURS = 1440  # get_metric_statistics returns at most 1,440 datapoints: 60 days of hours
MAX_LOG_EVENTS = 10_000  # ERROR events classified at most; beyond, the count says "at least"
SUM_METRICS = {"Invocations": "invocations", "Errors": "errors", "Throttles": "throttles"}
ERROR_CLASS = re.compile(r"\b([A-Z][A-Za-z0-9_]{0,62}(?:Error|Exception))\b")
GENERIC_ERROR = "ERROR"


def log_group_of(function: str) -> str:
    return f"/aws/lambda/{function}"


def error_class(message: str) -> str:
    """The error class a log line names (the first `SomethingError` / `SomethingException` word,
    the last part of a dotted name), else `ERROR`. Never any other part of the line."""
    found = ERROR_CLASS.search(message or "")
    return found.group(1) if found else GENERIC_ERROR


def failure_class(exc: BaseException) -> str:
    """How a failed part is reported: the AWS error code when there is one (also behind a retried
    call that gave up), else the exception's class name."""
    from botocore.exceptions import ClientError

    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ClientError):
            return error_code(seen) or type(seen).__name__
        seen = seen.__cause__
    if isinstance(exc, BackendError) and exc.__cause__ is not None:  # retries gave up: say on what
        return type(exc.__cause__).__name__
    return type(exc).__name__


def hour_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """[start, end] widened to whole UTC hours; naive datetimes are taken as UTC."""
    start, end = _utc(start), _utc(end)
    if end <= start:
        raise ValueError(f"upstream diagnosis: end {end.isoformat()} is not after start {start.isoformat()}")
    floor = start.replace(minute=0, second=0, microsecond=0)
    hours = math.ceil((end - floor).total_seconds() / PERIOD_SECONDS)
    if hours > MAX_HOURS:
        raise ValueError(f"upstream diagnosis: a window of {hours} hours exceeds {MAX_HOURS}")
    return floor, floor + timedelta(hours=hours)


class UpstreamDiagnosis:
    """The diagnosis of one backend's ingestion Lambda; every call goes through `AwsClients`."""

    def __init__(self, clients: AwsClients, function: str) -> None:
        self._clients = clients
        self.function = function

    def diagnose(self, start: datetime, end: datetime) -> dict[str, Any]:
        """The metrics, ERROR classes and state of the function over [start, end] (whole UTC hours)."""
        first, last = hour_window(start, end)
        return {
            "available": True,
            "function": self.function,
            "window": [_iso(first), _iso(last)],
            "metrics": self._part("metrics", self.metrics, first, last),
            "errors": self._part("errors", self.errors, first, last),
            "state": self._part("state", self.state),
        }

    def _part(self, name: str, gather: Any, *args: Any) -> dict[str, Any]:
        try:
            return gather(*args)
        except Exception as exc:  # best-effort: one part failing leaves the others
            reason = failure_class(exc)
            log.warning("upstream diagnosis of %s: %s unavailable (%s)", self.function, name, reason)
            return {"error": reason}

    # --- CloudWatch metrics -------------------------------------------------------------------
    def metrics(self, first: datetime, last: datetime) -> dict[str, Any]:
        hours = int((last - first).total_seconds() // PERIOD_SECONDS)
        hourly = [
            {"hour": _iso(first + timedelta(hours=h)), **dict.fromkeys(SUM_METRICS.values(), 0)}
            for h in range(hours)
        ]
        for metric, key in SUM_METRICS.items():
            for point in self._datapoints(metric, ["Sum"], first, last):
                hour = self._hour_index(point, first, hours)
                if hour is not None:
                    hourly[hour][key] += _number(point.get("Sum"))
        samples = total_ms = 0.0
        maximum: float | None = None
        for point in self._datapoints("Duration", ["Average", "Maximum", "SampleCount"], first, last):
            if self._hour_index(point, first, hours) is None:
                continue
            count = _number(point.get("SampleCount"))
            samples += count
            total_ms += _number(point.get("Average")) * count
            if point.get("Maximum") is not None:
                maximum = max(maximum or 0.0, float(point["Maximum"]))
        totals = {key: _int_if_whole(sum(h[key] for h in hourly)) for key in SUM_METRICS.values()}
        for h in hourly:
            for key in SUM_METRICS.values():
                h[key] = _int_if_whole(h[key])
        return {
            "period_seconds": PERIOD_SECONDS,
            "hours": hours,
            **totals,
            "hours_without_invocations": sum(1 for h in hourly if not h["invocations"]),
            "duration_ms": {
                "average": round(total_ms / samples, 1) if samples else None,
                "maximum": maximum,
            },
            "hourly": hourly,
        }

    def _datapoints(
        self, metric: str, statistics: list[str], first: datetime, last: datetime
    ) -> list[dict[str, Any]]:
        return self._clients.call(
            "cloudwatch",
            "get_metric_statistics",
            f"CloudWatch {LAMBDA_NAMESPACE} {metric} of {self.function}",
            Namespace=LAMBDA_NAMESPACE,
            MetricName=metric,
            Dimensions=[{"Name": "FunctionName", "Value": self.function}],
            StartTime=first,
            EndTime=last,
            Period=PERIOD_SECONDS,
            Statistics=statistics,
        ).get("Datapoints", [])

    @staticmethod
    def _hour_index(point: dict[str, Any], first: datetime, hours: int) -> int | None:
        """The hour of the window a datapoint falls in (by its timestamp, which CloudWatch sets to
        the period's start), or None outside the window."""
        stamp = point.get("Timestamp")
        if not isinstance(stamp, datetime):
            return None
        index = int((_utc(stamp) - first).total_seconds() // PERIOD_SECONDS)
        return index if 0 <= index < hours else None

    # --- CloudWatch Logs ----------------------------------------------------------------------
    def errors(self, first: datetime, last: datetime) -> dict[str, Any]:
        group = log_group_of(self.function)
        by_class: Counter[str] = Counter()
        events = 0
        truncated = False
        token: str | None = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "startTime": _millis(first),
                "endTime": _millis(last) - 1,  # the window is half-open: [first, last)
                "filterPattern": GENERIC_ERROR,
            }
            if token:
                kwargs["nextToken"] = token
            page = self._clients.call("logs", "filter_log_events", f"CloudWatch Logs {group}", **kwargs)
            for event in page.get("events") or []:
                if events >= MAX_LOG_EVENTS:
                    truncated = True
                    break
                by_class[error_class(event.get("message") or "")] += 1
                events += 1
            token = page.get("nextToken")
            if truncated or not token:
                break
        return {
            "log_group": group,
            "events": events,
            "truncated": truncated,  # True: at least `events` ERROR events, only those classified
            "by_class": dict(by_class.most_common()),
        }

    # --- the function's state -----------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        config = self._clients.call(
            "lambda",
            "get_function_configuration",
            f"Lambda function {self.function}",
            FunctionName=self.function,
        )
        return {
            "state": config.get("State"),
            "state_reason_code": config.get("StateReasonCode"),
            "last_update_status": config.get("LastUpdateStatus"),
            "last_modified": config.get("LastModified"),
        }


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _iso(moment: datetime) -> str:
    return _utc(moment).isoformat().replace("+00:00", "Z")


def _millis(moment: datetime) -> int:
    return int(_utc(moment).timestamp() * 1000)


def _number(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _int_if_whole(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
