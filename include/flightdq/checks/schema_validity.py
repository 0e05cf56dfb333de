"""schema_validity: do a day's files match the contract, and do its rows keep the contract's rules?

The rules are the Great Expectations suite `expectations/flightdata_processed.json` (`checks.suite`).
A column or type that differs from the suite in any one file (or, on AWS, in the Glue table or the
day's partition), or a file whose Parquet footer cannot be read, fails the day with
`schema_change_severity` (P1) and names the files; its row rules are not run, as they could say
nothing true. Otherwise more than 1% of rows breaking at least one row rule is P2, more than 5% P1.
A day with no files, not registered in the catalog, or without rows is an `error` pointing at
partition_presence, never a pass. The report names the worst rules with counts, never a value.

Which engine runs the row rules (policy `schema_validity.engine`, `flightdq validate --engine`):

* `sql` (the default, everywhere): the suite compiled to SQL (`suite_sql`), ONE statement per
  checked range on the backend's own engine, like every other check (`sql_validation`): DuckDB
  over the local lake's Parquet files; Athena on AWS, where only the footers of the checked
  partitions are read by flightdq (ranged GETs) and the rows stay in S3. One global day costs about
  what a bare DuckDB pass over it costs, and the query id and bytes scanned land in the details.
* `gx`: Great Expectations itself on a pandas frame of each day's rows (`gx_validation`): the
  reference the compiler is tested against, and the way to run an expectation the compiler
  refuses. It reads every row into the worker (on AWS it downloads the partition), a day at a
  time, and costs seconds per day plus GX's import.

Both engines judge the files' schemas from their footers first (`file_schemas`) and give the same
counts and verdicts. The outcome is also written, per day, in GX's own validation-result shape
(`flightdq-history/gx-results/dt=<day>/<run>.json`, `suite.validation_result`) when results are
recorded, so GX tooling can read it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flightdq.checks import file_schemas, sql_validation
from flightdq.checks.context import CheckContext
from flightdq.checks.file_schemas import DaySchema
from flightdq.checks.suite import (
    ROW,
    SUITE_NAME,
    RuleOutcome,
    SuiteReport,
    column_of,
    default_suite_path,
    load_suite,
    validation_result,
)
from flightdq.checks.suite_sql import CompiledRule
from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, SCHEMA_VALIDITY
from flightdq.core.results import CheckResult, Severity, Status

GX = "gx"  # policy schema_validity.engine; anything else is "sql", the default
SCHEMA_CHANGE, UNREADABLE_FILES = "schema_change", "unreadable_files"


def run(ctx: CheckContext) -> list[CheckResult]:
    engine = ctx.policy.schema_validity.engine
    suite = load_suite(default_suite_path())
    rules = sql_validation.compiled_rules(suite)
    schemas = file_schemas.read_day_schemas(ctx, rules)
    outcomes = {dt: schema.schema_outcomes(rules, suite) for dt, schema in schemas.items()}
    registered = ctx.registered()
    evaluable = [day for day in ctx.days if schemas[str(day)].ok and str(day) in registered]
    if engine == GX:
        from flightdq.checks.gx_validation import validate_table

        reports = {str(day): validate_table(ctx.backend.read_partition(day), day) for day in evaluable}
    else:
        reports = sql_validation.validate_days(ctx.backend, suite, rules, evaluable, outcomes)

    results, documents = [], []
    for day in ctx.days:
        dt = str(day)
        result = _judge(ctx, day, schemas[dt], dt in registered, reports.get(dt))
        report = reports.get(dt)
        if report is None and schemas[dt].files and not schemas[dt].ok and not schemas[dt].unreadable:
            report = _not_evaluated(suite, rules, outcomes[dt])
        if report is not None and ctx.run_id:
            meta = {"flightdq": {"engine": engine, "run_id": ctx.run_id, "dt": dt, "check": SCHEMA_VALIDITY}}
            documents.append((result, dt, validation_result(suite, report, day, meta)))
        results.append(result)
    locations = file_schemas.in_parallel(
        lambda item: ctx.backend.history.write_gx_result(ctx.run_id, item[1], item[2]), documents
    )
    for (result, _dt, _doc), location in zip(documents, locations, strict=True):
        result.details["gx_result"] = location
    return results


def _not_evaluated(suite: dict, rules: list[CompiledRule], schema: dict[str, RuleOutcome]) -> SuiteReport:
    """A day whose schema differs: its schema rules' verdicts; its row rules not run."""
    outcomes = [
        schema[rule.rule]
        if rule.kind != ROW
        else RuleOutcome(rule.rule, column_of(e), rule.expectation_type, False, 0, ROW, evaluated=False)
        for e, rule in zip(suite["expectations"], rules, strict=True)
    ]
    return SuiteReport(suite.get("name", SUITE_NAME), 0, 0, False, outcomes)


def _result(
    ctx: CheckContext,
    dt: str,
    status: Status,
    severity: Severity | None,
    observed: Any,
    message: str,
    details: dict[str, Any],
) -> CheckResult:
    expected = f"contract schema; <= {ctx.policy.schema_validity.row_fail_ratio:.0%} rows breaking a rule"
    return CheckResult(
        PROCESSED_DATASET, dt, SCHEMA_VALIDITY, status, severity, observed, expected, message, details
    )


def _judge(
    ctx: CheckContext, day: date, schema: DaySchema, registered: bool, report: SuiteReport | None
) -> CheckResult:
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

    if not schema.files:
        return blocked("no files to validate (see partition_presence)")
    if not schema.ok:
        return _schema_finding(ctx, dt, schema)
    if not registered:
        return blocked(
            "the partition is not registered in the catalog, so the engine cannot read it "
            "(see partition_presence)",
            files=len(schema.files),
        )
    if report is None or report.total_rows == 0:
        return blocked("no rows to validate (see partition_presence)", files=len(schema.files))
    rows = report.total_rows
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
        "schema_differences": [],
        "files_with_schema_differences": [],
        "suite": report.suite,
        "files": len(schema.files),
    }
    observed = f"{report.failing_rows} of {rows} rows ({ratio:.2%}) break a rule"
    worst_text = ", ".join(f"{w['rule']} ({w['rows']})" for w in worst if w["kind"] == "row")
    if not report.schema_ok:  # the gx engine judged the whole frame: a difference the files hid
        differences = [f"{r.rule} failed" for r in report.rules if r.kind != ROW and not r.success]
        details |= {"finding": SCHEMA_CHANGE, "schema_differences": differences}
        message = "schema differs from the contract: " + "; ".join(differences)
        return _result(ctx, dt, Status.FAIL, policy.schema_change_severity, observed, message, details)
    if ratio > policy.row_severe_ratio:
        severity = policy.row_severe_severity
    elif ratio > policy.row_fail_ratio:
        severity = policy.row_fail_severity
    else:
        message = f"{observed}" + (f"; within tolerance: {worst_text}" if worst_text else "")
        return _result(ctx, dt, Status.PASS, None, observed, message, details)
    message = f"{observed}; worst rules: {worst_text}"
    return _result(ctx, dt, Status.FAIL, severity, observed, message, details)


def _schema_finding(ctx: CheckContext, dt: str, schema: DaySchema) -> CheckResult:
    """A day whose files cannot be read or differ from the suite: failed from the footers (and the
    catalog) alone; its row rules are not run."""
    differing = sorted(schema.differences)
    differences = sorted({d for found in schema.differences.values() for d in found})
    details: dict[str, Any] = {
        "finding": UNREADABLE_FILES if schema.unreadable else SCHEMA_CHANGE,
        "rows": None,
        "failing_rows": None,
        "failing_ratio": None,
        "worst_rules": [],
        "schema_differences": differences,
        "files_with_schema_differences": differing,
        "unreadable_files": dict(sorted(schema.unreadable.items())),
        "suite": SUITE_NAME,
        "files": len(schema.files),
    }
    files = len(schema.files)
    if schema.unreadable:
        names = ", ".join(sorted(name.rsplit("/", 1)[-1] for name in schema.unreadable))
        observed = f"{len(schema.unreadable)} of {files} file(s) cannot be read"
        message = f"{observed} as Parquet: {names}; row rules not run"
    else:
        catalog = [name for name in differing if name.startswith(file_schemas.CATALOG_TABLE)]
        observed = f"{len(differing) - len(catalog)} of {files} file(s) differ from the contract"
        if catalog:
            observed += ", and so does the catalog"
        message = "schema differs from the contract: " + "; ".join(differences) + "; row rules not run"
    severity = ctx.policy.schema_validity.schema_change_severity
    return _result(ctx, dt, Status.FAIL, severity, observed, message, details)
