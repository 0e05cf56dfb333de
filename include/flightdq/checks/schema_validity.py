"""schema_validity: do a day's files match the contract, and do its rows keep the contract's rules?

The rules are the Great Expectations suite `expectations/flightdata_processed.json`, run on the
partition's rows. A column or type that differs from the contract (in the suite's schema
expectations, or in any one file's Parquet schema) is P1; more than 1% of rows breaking at least one
row rule is P2, more than 5% P1. The report names the worst rules with counts, never a value.
"""

from __future__ import annotations

from datetime import date

from flightdq.checks.context import CheckContext
from flightdq.core.contract import (
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    SCHEMA_VALIDITY,
    processed_arrow_schema,
)
from flightdq.core.results import CheckResult, Status


def schema_differences(schema) -> list[str]:
    """How a file's schema differs from the contract, in words (column names and types only)."""
    contract = processed_arrow_schema()
    found = {f.name: f.type for f in schema}  # `dt` belongs in the path, never in the files
    wanted = {f.name: f.type for f in contract}
    differences = [f"missing column {name}" for name in wanted if name not in found]
    differences += [f"unexpected column {name}" for name in found if name not in wanted]
    differences += [
        f"column {name} is {found[name]}, contract says {wanted[name]}"
        for name in wanted
        if name in found and found[name] != wanted[name]
    ]
    return differences


def run(ctx: CheckContext) -> list[CheckResult]:
    return [check_day(ctx, day) for day in ctx.days]


def check_day(ctx: CheckContext, day: date) -> CheckResult:
    from flightdq.checks.gx_validation import validate_table

    policy = ctx.policy.schema_validity
    dt = str(day)

    def blocked(message: str, **details: object) -> CheckResult:
        """Nothing to validate: an error pointing at partition_presence, never a pass."""
        return CheckResult(
            PROCESSED_DATASET,
            dt,
            SCHEMA_VALIDITY,
            Status.ERROR,
            ctx.policy.check_error_severity,
            None,
            "contract schema",
            message,
            {"blocked_by": PARTITION_PRESENCE, **details},
        )

    file_schemas = ctx.backend.partition_file_schemas(day)
    if not file_schemas:
        return blocked("no files to validate (see partition_presence)")
    file_differences = {
        name: diffs for name, schema in file_schemas.items() if (diffs := schema_differences(schema))
    }
    report = validate_table(ctx.backend.read_partition(day), day)
    rows = report.total_rows
    if rows == 0:
        return blocked("no rows to validate (see partition_presence)", files=len(file_schemas))
    ratio = report.failing_rows / rows
    broken = sorted(
        (r for r in report.rules if not r.success and r.evaluated), key=lambda r: -r.unexpected_count
    )
    worst = [
        {"rule": r.rule, "column": r.column, "kind": r.kind, "rows": r.unexpected_count}
        for r in broken[: policy.worst_rules_reported]
    ]
    details = {
        "rows": rows,
        "failing_rows": report.failing_rows,
        "failing_ratio": round(ratio, 6),
        "worst_rules": worst,
        "schema_differences": sorted({d for diffs in file_differences.values() for d in diffs}),
        "files_with_schema_differences": sorted(file_differences),
        "suite": report.suite,
    }
    observed = f"{report.failing_rows} of {rows} rows ({ratio:.2%}) break a rule"
    expected = f"contract schema; <= {policy.row_fail_ratio:.0%} rows breaking a rule"
    worst_text = ", ".join(f"{w['rule']} ({w['rows']})" for w in worst if w["kind"] == "row")
    if file_differences or not report.schema_ok:
        differences = details["schema_differences"] or [
            f"{r.rule} failed" for r in report.rules if r.kind == "schema" and not r.success
        ]
        return CheckResult(
            PROCESSED_DATASET,
            dt,
            SCHEMA_VALIDITY,
            Status.FAIL,
            policy.schema_change_severity,
            observed,
            expected,
            "schema differs from the contract: " + "; ".join(differences),
            details,
        )
    if ratio > policy.row_severe_ratio:
        severity = policy.row_severe_severity
    elif ratio > policy.row_fail_ratio:
        severity = policy.row_fail_severity
    else:
        message = f"{observed}" + (f"; within tolerance: {worst_text}" if worst_text else "")
        return CheckResult(
            PROCESSED_DATASET, dt, SCHEMA_VALIDITY, Status.PASS, None, observed, expected, message, details
        )
    return CheckResult(
        PROCESSED_DATASET,
        dt,
        SCHEMA_VALIDITY,
        Status.FAIL,
        severity,
        observed,
        expected,
        f"{observed}; worst rules: {worst_text}",
        details,
    )
