"""The `sql` engine of schema_validity (the default): the suite's row rules compiled to SQL
(`suite_sql`) and run as ONE statement over the checked days on the backend's own engine (DuckDB on
the embedded lake, Athena on AWS), through `backend.run_sql`, like every other check.

The statement returns, per partition `dt`: the rows, the rows breaking at least one rule, each
rule's failing rows and the rows GX would leave out of it (its missing count). From those counts
each day gets the same `SuiteReport` the `gx` engine gives, GX's verdict per rule included (`mostly`
too). Only days whose files passed the schema rules are queried (`dts`): a day with a missing,
retyped or unreadable file is judged from its footers alone and never read, so it cannot break the
query for the other days. Nothing here imports Great Expectations or pandas, and with the compiled
suite and the statement kept by `sql_cache`, a run does not even import sqlglot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import TYPE_CHECKING

from flightdq.checks import sql_cache
from flightdq.checks.suite import (
    ROW,
    SUITE_NAME,
    RuleOutcome,
    SuiteReport,
    column_of,
    rule_success,
)
from flightdq.checks.suite_sql import FAILING_ROWS, MISSING_SUFFIX, TOTAL_ROWS, CompiledRule
from flightdq.core.contract import PARTITION_KEY, PROCESSED_TABLE

if TYPE_CHECKING:
    from flightdq.backends.base import SqlEngine

QUERY_LABEL = "schema_validity_rows"


def validate_days(
    engine: SqlEngine,
    suite: dict,
    rules: Sequence[CompiledRule],
    days: Sequence[date],
    schema_outcomes: Mapping[str, dict[str, RuleOutcome]],
) -> dict[str, SuiteReport]:
    """dt -> SuiteReport for each of `days` that has rows, from one statement. `schema_outcomes`
    (dt -> rule -> outcome) are the schema rules' verdicts on the days' files, which they passed."""
    if not days:
        return {}
    dts = sorted(str(day) for day in days)
    first, last = dts[0], dts[-1]
    every_day = (date.fromisoformat(last) - date.fromisoformat(first)).days + 1 == len(dts)
    values: dict[str, str | list[str]] = {"start_dt": first, "end_dt": last}
    if not every_day:  # a day left out: name the days to read, so the engine never reads it
        values["dts"] = dts

    def build(values: Mapping[str, str | Sequence[str]]) -> str:
        from flightdq.checks.suite_sql import row_rules_query

        return row_rules_query(
            rules,
            PROCESSED_TABLE,
            start_dt=str(values["start_dt"]),
            end_dt=str(values["end_dt"]),
            dts=values.get("dts"),
            missing_counts=True,
            dialect=engine.dialect,
        )

    inputs = json.dumps([suite, PROCESSED_TABLE], sort_keys=True)
    sql = sql_cache.render(f"row-rules:{engine.dialect}", inputs, values, build)
    rows = engine.run_sql(sql, label=QUERY_LABEL, dt_range=(first, last), dts=set(dts), by_partition=True)
    return {
        str(row[PARTITION_KEY]): _report(suite, rules, row, schema_outcomes[str(row[PARTITION_KEY])])
        for row in rows
    }


def compiled_rules(suite: dict) -> list[CompiledRule]:
    """The suite compiled (`suite_sql.compile_suite`), kept by `sql_cache` between runs."""

    def build() -> list[dict]:
        from flightdq.checks.suite_sql import compile_suite

        return [rule.to_json() for rule in compile_suite(suite)]

    data = sql_cache.cached_json("compiled-suite", json.dumps(suite, sort_keys=True), build)
    return [CompiledRule.from_json(rule) for rule in data]


def _report(
    suite: dict, rules: Sequence[CompiledRule], row: dict, schema_outcomes: dict[str, RuleOutcome]
) -> SuiteReport:
    total = int(row[TOTAL_ROWS])
    outcomes = []
    for expectation, rule in zip(suite["expectations"], rules, strict=True):
        if rule.kind != ROW:
            outcomes.append(schema_outcomes[rule.rule])
            continue
        unexpected = int(row[rule.rule])
        missing = None if rule.ignored is None else int(row[rule.rule + MISSING_SUFFIX])
        judged = total - (missing or 0)
        outcomes.append(
            RuleOutcome(
                rule.rule,
                column_of(expectation),
                rule.expectation_type,
                rule_success(unexpected, judged, rule.mostly),
                unexpected,
                ROW,
                element_count=total,
                missing_count=missing,
            )
        )
    return SuiteReport(
        suite=suite.get("name", SUITE_NAME),
        total_rows=total,
        failing_rows=int(row[FAILING_ROWS]),
        schema_ok=all(o.success for o in outcomes if o.kind != ROW),
        rules=outcomes,
    )
