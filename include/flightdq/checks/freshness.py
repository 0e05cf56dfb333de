"""freshness: is a day's newest data within 60 minutes of the moment checked for?

The moment is `--as-of` (the run's data interval end in Airflow), or the end of the day for a day
already over. Raw: the newest snapshot `time`, read from the object keys. Processed: the newest
`last_seen` of the partition.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from flightdq.checks.context import CheckContext
from flightdq.core.contract import FRESHNESS, PROCESSED_DATASET, RAW_DATASET
from flightdq.core.results import CheckResult, Severity, Status


def run(ctx: CheckContext) -> list[CheckResult]:
    stats = ctx.partition_stats()
    raw = ctx.raw_times()
    results = []
    for day in ctx.days:
        reference = ctx.reference_moment(day).timestamp()
        raw_times = [t for times in raw.get(str(day), {}).values() for t in times if t <= reference]
        raw_newest = max(raw_times) if raw_times else None
        processed_newest = (stats.get(str(day)) or {}).get("newest_last_seen")
        results.append(_judge(ctx, day, RAW_DATASET, raw_newest, "raw snapshot time"))
        results.append(_judge(ctx, day, PROCESSED_DATASET, processed_newest, "processed last_seen"))
    return results


def _judge(ctx: CheckContext, day: date, dataset: str, newest: float | None, what: str) -> CheckResult:
    policy = ctx.policy.freshness
    reference = ctx.reference_moment(day)
    details = {"reference": reference.isoformat(), "newest": None}

    def result(status: Status, severity: Severity | None, lag: float | None, message: str) -> CheckResult:
        expected = f"<= {policy.lag_fail_minutes} min"
        return CheckResult(dataset, str(day), FRESHNESS, status, severity, lag, expected, message, details)

    if newest is None:
        return result(Status.FAIL, policy.lag_severe_severity, None, f"no {what} at all for the day")
    newest_at = datetime.fromtimestamp(float(newest), UTC)
    lag_minutes = round((reference - newest_at).total_seconds() / 60, 1)
    details["newest"] = newest_at.isoformat()
    message = (
        f"newest {what} {newest_at:%H:%M} UTC is {lag_minutes:g} min older than "
        f"{reference:%Y-%m-%d %H:%M} UTC"
    )
    if lag_minutes > policy.lag_severe_minutes:
        return result(Status.FAIL, policy.lag_severe_severity, lag_minutes, message)
    if lag_minutes > policy.lag_fail_minutes:
        return result(Status.FAIL, policy.lag_fail_severity, lag_minutes, message)
    return result(Status.PASS, None, lag_minutes, message)
