"""duplicates: does any flight_id appear more than once in a day? (P3; P2 over 1% of rows)"""

from __future__ import annotations

from flightdq.checks.context import CheckContext
from flightdq.core.contract import DUPLICATES, PROCESSED_DATASET
from flightdq.core.results import CheckResult, Status


def run(ctx: CheckContext) -> list[CheckResult]:
    policy = ctx.policy.duplicates
    stats = ctx.partition_stats()
    results = []
    for day in ctx.days:
        dt = str(day)
        row = stats.get(dt) or {}
        rows = int(row.get("row_count") or 0)
        if rows == 0:
            results.append(
                CheckResult(
                    PROCESSED_DATASET,
                    dt,
                    DUPLICATES,
                    Status.ERROR,
                    ctx.policy.check_error_severity,
                    None,
                    0,
                    "no rows to check: the partition is missing or empty (see partition_presence)",
                    {"blocked_by": "partition_presence"},
                )
            )
            continue
        extra = int(row["extra_rows"])
        ids = int(row["duplicated_ids"])
        details = {"duplicated_ids": ids, "extra_rows": extra, "rows": rows, "ratio": round(extra / rows, 6)}
        if extra == 0:
            results.append(
                CheckResult(
                    PROCESSED_DATASET,
                    dt,
                    DUPLICATES,
                    Status.PASS,
                    None,
                    0,
                    0,
                    f"every flight_id is unique ({rows} rows)",
                    details,
                )
            )
            continue
        severity = policy.ratio_severity if extra / rows > policy.ratio else policy.any_severity
        results.append(
            CheckResult(
                PROCESSED_DATASET,
                dt,
                DUPLICATES,
                Status.FAIL,
                severity,
                extra,
                0,
                f"{ids} flight_id(s) appear more than once: "
                f"{extra} extra row(s), {extra / rows:.2%} of {rows}",
                details,
            )
        )
    return results
