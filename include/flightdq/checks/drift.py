"""record_count_drift: is a day's flight count more than 20% below normal?

Normal is the median of the same weekday over the previous weeks (a normal Saturday is compared
with Saturdays), counting only the hours that are over so a day in progress is judged on its hours
so far. Baseline days with an unresolved incident (the caller says which days:
`CheckContext.incident_days`) or whose latest presence or drift verdict failed, and days with no
rows, are left out; a repaired day counts again, and the median keeps one
odd day from moving the normal. One query per range: daily counts when every checked day is over,
hourly counts (`hourly_flight_counts`) when one is still in progress. Fewer comparable
days than the policy asks for gives "not enough history", not an alarm; a zero never passes.
"""

from __future__ import annotations

import statistics
from datetime import date, timedelta

from flightdq.backends.base import BackendError
from flightdq.checks import queries
from flightdq.checks.context import CheckContext
from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, RECORD_COUNT_DRIFT
from flightdq.core.results import CheckResult, Severity, Status

INCIDENT_CHECKS = (PARTITION_PRESENCE, RECORD_COUNT_DRIFT)
ALL_HOURS = 0  # the hour a whole day's count is filed under when no hourly split is needed


def baseline_days(day: date, weeks: int) -> list[date]:
    return [day - timedelta(weeks=k) for k in range(1, weeks + 1)]


def run(ctx: CheckContext) -> list[CheckResult]:
    policy = ctx.policy.record_count_drift
    history_start = ctx.first_day - timedelta(weeks=policy.history_weeks)
    all_baseline = {b for day in ctx.days for b in baseline_days(day, policy.history_weeks)}
    hourly, unreadable = _hourly_counts(ctx, history_start, all_baseline)
    latest = ctx.backend.history.latest(all_baseline)
    unresolved = ctx.incident_days([PROCESSED_DATASET], INCIDENT_CHECKS, all_baseline)
    incidents = unresolved | {
        dt
        for (dataset, dt, check), record in latest.items()
        if dataset == PROCESSED_DATASET and check in INCIDENT_CHECKS and record["status"] == Status.FAIL
    }
    return [_judge(ctx, day, hourly, incidents, unreadable) for day in ctx.days]


def _hourly_counts(
    ctx: CheckContext, history_start: date, baseline: set[date]
) -> tuple[dict[str, dict[int, int]], set[str]]:
    """dt -> hour -> flights (whole days that are over: dt -> {ALL_HOURS: flights}, a smaller
    query), in one query over the whole window. If a broken file makes that fail, only the days the
    verdicts need are read, one by one: a baseline day that cannot be read is left out of the normal
    (returned as unreadable); a checked day that cannot be read raises."""
    whole_days = all(ctx.day_over(day) for day in ctx.days)  # judged on every hour: no split
    template = "daily_flight_counts" if whole_days else "hourly_flight_counts"
    try:
        rows = queries.run(ctx.backend, template, start_dt=str(history_start), end_dt=str(ctx.last_day))
        unreadable: set[str] = set()
    except BackendError:
        rows, unreadable = [], set()
        for day in sorted({*ctx.days, *baseline}):
            try:
                rows += queries.run(ctx.backend, template, start_dt=str(day), end_dt=str(day))
            except BackendError:
                if day in ctx.days:
                    raise
                unreadable.add(str(day))
    hourly: dict[str, dict[int, int]] = {}
    for row in rows:
        if whole_days:
            hourly[row["dt"]] = {ALL_HOURS: int(row["flights"])}
        elif row["hour"] is not None:
            hourly.setdefault(row["dt"], {})[int(row["hour"])] = int(row["flights"])
    return hourly, unreadable


def _judge(
    ctx: CheckContext,
    day: date,
    hourly: dict[str, dict[int, int]],
    incidents: set[str],
    unreadable: set[str] = frozenset(),
) -> CheckResult:
    policy = ctx.policy.record_count_drift
    hours = ctx.hours_passed(day)
    observed = sum(n for h, n in hourly.get(str(day), {}).items() if h < hours)
    scope = "the whole day" if hours == 24 else f"the first {hours} hour(s)"
    used, left_out = {}, {}
    for past in baseline_days(day, policy.history_weeks):
        count = sum(n for h, n in hourly.get(str(past), {}).items() if h < hours)
        if str(past) in unreadable:
            left_out[str(past)] = "unreadable"
        elif str(past) in incidents:
            left_out[str(past)] = "incident"
        elif count == 0:
            left_out[str(past)] = "no rows"
        else:
            used[str(past)] = count
    details = {"hours_judged": hours, "baseline": used, "left_out": left_out}

    def result(status: Status, severity: Severity | None, expected, message: str) -> CheckResult:
        return CheckResult(
            PROCESSED_DATASET,
            str(day),
            RECORD_COUNT_DRIFT,
            status,
            severity,
            observed,
            expected,
            message,
            details,
        )

    if hours == 0:
        return result(Status.WARN, None, None, "no hour of the day is over yet; nothing to compare")
    expected = int(statistics.median(used.values())) if used else None
    if observed == 0:
        return result(Status.FAIL, policy.drop_severe_severity, expected, f"no flights at all in {scope}")
    if len(used) < policy.min_history_days:
        return result(
            Status.WARN,
            None,
            expected,
            f"not enough history to judge {observed} flights in {scope}: {len(used)} comparable "
            f"{day:%A}(s), {policy.min_history_days} needed",
        )
    drop = 1 - observed / expected
    details["drop_ratio"] = round(drop, 4)
    change = f"{observed} flights in {scope} against a normal of {expected} ({-drop:+.1%})"
    if drop > policy.drop_severe_ratio:
        return result(Status.FAIL, policy.drop_severe_severity, expected, f"{change}: severe drop")
    if drop > policy.drop_fail_ratio:
        return result(Status.FAIL, policy.drop_fail_severity, expected, f"{change}: drop")
    return result(Status.PASS, None, expected, change)
