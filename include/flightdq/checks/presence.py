"""partition_presence: is each day's data there?

Raw: every hour of the day that is over has at least one snapshot object (from listing).
Processed: the partition is in the catalog, has files, and its files have rows. A missing processed
partition whose raw data is complete is P1 (the ETL can rebuild it); with raw hours missing it is
P0 (data loss).
"""

from __future__ import annotations

from datetime import date, timedelta

from flightdq.checks.context import CheckContext
from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, RAW_DATASET, SCHEMA_VALIDITY
from flightdq.core.dates import day_start
from flightdq.core.errors import DataFault, describe_error
from flightdq.core.results import CheckResult, Severity, Status


def check_raw(ctx: CheckContext, day: date) -> CheckResult:
    policy = ctx.policy.partition_presence
    hours_due = ctx.hours_passed(day)
    missing = ctx.missing_raw_hours(day)
    objects = sum(len(times) for times in ctx.raw_times().get(str(day), {}).values())
    details = {"missing_hours": missing, "hours_due": hours_due, "objects": objects}

    def result(status: Status, severity: Severity | None, message: str) -> CheckResult:
        return CheckResult(
            RAW_DATASET, str(day), PARTITION_PRESENCE, status, severity, len(missing), 0, message, details
        )

    if hours_due == 0:
        return result(Status.WARN, None, "no hour of the day is over yet; nothing is due")
    if len(missing) == hours_due:
        return result(Status.FAIL, policy.raw_missing, "no raw snapshots at all: data loss")
    if missing:
        return result(
            Status.FAIL,
            policy.raw_missing,
            f"raw snapshots missing for {len(missing)} of {hours_due} hours that are over "
            f"({_hour_ranges(missing)} UTC): data loss, the ETL cannot rebuild it",
        )
    return result(
        Status.PASS, None, f"raw snapshots present for all {hours_due} hours due ({objects} objects)"
    )


def check_processed(ctx: CheckContext, day: date) -> CheckResult:
    policy = ctx.policy.partition_presence
    dt = str(day)
    registered = dt in ctx.registered()
    files = ctx.stored().get(dt) or []
    rows = int((ctx.partition_stats().get(dt) or {}).get("row_count") or 0)
    raw_missing = ctx.missing_raw_hours(day)
    repairable = not raw_missing
    details = {
        "registered": registered,
        "files": len(files),
        "rows": rows,
        "raw_missing_hours": raw_missing,
        "repairable": repairable,
    }

    def result(state: str, status: Status, severity: Severity | None, message: str) -> CheckResult:
        details["state"] = state
        return CheckResult(
            PROCESSED_DATASET, dt, PARTITION_PRESENCE, status, severity, rows, ">0 rows", message, details
        )

    def absent(state: str, message: str) -> CheckResult:
        if repairable:
            return result(
                state,
                Status.FAIL,
                policy.processed_missing_with_raw,
                f"{message}; raw data is complete: re-run the ETL for this day",
            )
        return result(
            state,
            Status.FAIL,
            policy.raw_missing,
            f"{message}; raw hours {_hour_ranges(raw_missing)} are missing too: data loss",
        )

    if not registered and not files:
        grace = timedelta(minutes=policy.processed_grace_minutes)
        if not ctx.day_over(day) and ctx.as_of < day_start(day) + grace:
            return result("not_due", Status.WARN, None, "day just started; its partition is not due yet")
        return absent("missing", "partition is missing: not in the catalog and no files in storage")
    if not registered:  # the files are there: registering them is the repair, whatever raw holds
        return result(
            "not_registered",
            Status.FAIL,
            policy.processed_missing_with_raw,
            f"partition has {len(files)} file(s) in storage but is not registered in the catalog "
            "(`flightdq catalog repair` registers it)",
        )
    if not files:
        return absent("no_files", "partition is registered in the catalog but has no files in storage")
    if rows == 0:
        return absent("no_rows", f"partition has {len(files)} file(s) but no rows")
    return result("present", Status.PASS, None, f"partition present: {len(files)} file(s), {rows} rows")


def run(ctx: CheckContext) -> list[CheckResult]:
    results = []
    for day in ctx.days:
        results.append(check_raw(ctx, day))
        results.append(_processed_or_blocked(ctx, day))
    return results


def _processed_or_blocked(ctx: CheckContext, day: date) -> CheckResult:
    """Processed presence; when a data file of the day cannot be read, a result that says so for
    processed alone (raw presence is a listing: it stays evaluated, never blocked by a Parquet file)."""
    try:
        return check_processed(ctx, day)
    except DataFault as exc:
        if len(ctx.days) > 1:
            raise  # the runner runs a range again day by day
        described = describe_error(exc)
        return CheckResult(
            PROCESSED_DATASET,
            str(day),
            PARTITION_PRESENCE,
            Status.ERROR,
            ctx.policy.check_error_severity,
            None,
            None,
            f"could not read this day's data: {described} (see schema_validity)",
            {
                "exception": type(exc).__name__,
                "error_class": type(exc).__name__,
                "blocked_by": SCHEMA_VALIDITY,
            },
        )


def _hour_ranges(hours: list[int]) -> str:
    """[3, 4, 5, 9] -> '03-05, 09'."""
    spans: list[list[int]] = []
    for hour in sorted(hours):
        if spans and hour == spans[-1][1] + 1:
            spans[-1][1] = hour
        else:
            spans.append([hour, hour])
    return ", ".join(f"{a:02d}" if a == b else f"{a:02d}-{b:02d}" for a, b in spans)
