"""The one statement that counts, per partition, the rows breaking each row rule: `row_rules_query`.
Suite parameters are bound per row from the partition key (or from explicit values)."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

import sqlglot
from sqlglot import exp

from flightdq.checks.suite_sql.expressions import literal
from flightdq.checks.suite_sql.model import (
    DAY_END,
    DAY_START,
    FAILING_ROWS,
    MISSING_SUFFIX,
    READ_DIALECT,
    TOTAL_ROWS,
    CompiledRule,
    SuiteCompileError,
    row_rules,
)
from flightdq.core.contract import PARTITION_KEY

_RULE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


def day_bounds_from_partition(partition_key: str = PARTITION_KEY) -> dict[str, exp.Expression]:
    """day_start / day_end of each row's partition: `dt` 00:00 UTC and 24 hours later."""
    key = exp.to_identifier(partition_key, quoted=True).sql(dialect=READ_DIALECT)
    start = f"CAST(CAST({key} AS VARCHAR) || ' 00:00:00 UTC' AS TIMESTAMP(6) WITH TIME ZONE)"
    return {
        DAY_START: sqlglot.parse_one(start, read=READ_DIALECT),
        DAY_END: sqlglot.parse_one(f"date_add('hour', 24, {start})", read=READ_DIALECT),
    }


def row_rules_query(
    rules: Sequence[CompiledRule],
    table: str,
    *,
    parameters: Mapping[str, Any] | None = None,
    start_dt: str | None = None,
    end_dt: str | None = None,
    dts: Collection[str] | None = None,
    missing_counts: bool = False,
    dialect: str = READ_DIALECT,
    partition_key: str = PARTITION_KEY,
) -> str:
    """One statement over `table`: per partition, `total_rows`, `failing_rows` (the union) and one
    column per row rule (named by the rule) counting the rows that break it, ordered by partition.

    Suite parameters (timestamps) are bound from `parameters`, as ISO-8601 strings with an offset
    or aware datetimes, or else, for day_start / day_end, from each row's partition. `start_dt` /
    `end_dt` limit the partitions read (inclusive), `dts` to those partitions (the engine prunes
    the others: a partition left out is never read). With `missing_counts`, each rule that GX
    judges on fewer than all rows also gets `<rule>__missing`: the rows it leaves out (GX's
    `missing_count`). Written in Trino SQL, then transpiled to `dialect`.
    """
    rows = row_rules(rules)
    _check_output_names(rows, partition_key, missing_counts)
    bindings = _bindings(rows, parameters or {}, partition_key)
    key = exp.column(exp.to_identifier(partition_key, quoted=True))
    # Each predicate is evaluated once per row, in a subquery, as a boolean column (`_r<n>`, and
    # `_m<n>` for the rows the rule leaves out); the counts and the union aggregate those flags.
    flags: list[exp.Expression] = [key.copy()]
    counts: list[exp.Expression] = [exp.alias_(exp.Count(this=exp.Star()), TOTAL_ROWS, quoted=True)]
    missing: list[exp.Expression] = []
    for number, rule in enumerate(rows):
        flags.append(exp.alias_(_bind(rule, bindings), f"_r{number}", quoted=True))
        counts.append(exp.alias_(exp.CountIf(this=_flag(f"_r{number}")), rule.rule, quoted=True))
        if missing_counts and rule.ignored is not None:
            ignored = sqlglot.parse_one(rule.ignored, read=READ_DIALECT)
            flags.append(exp.alias_(ignored, f"_m{number}", quoted=True))
            name = rule.rule + MISSING_SUFFIX
            missing.append(exp.alias_(exp.CountIf(this=_flag(f"_m{number}")), name, quoted=True))
    union = exp.or_(*(_flag(f"_r{n}") for n in range(len(rows)))) if rows else exp.false()
    counts.insert(1, exp.alias_(exp.CountIf(this=union), FAILING_ROWS, quoted=True))
    judged = exp.select(*flags).from_(exp.to_table(table, dialect=READ_DIALECT))
    if start_dt is not None:
        judged = judged.where(exp.GTE(this=key.copy(), expression=exp.Literal.string(start_dt)))
    if end_dt is not None:
        judged = judged.where(exp.LTE(this=key.copy(), expression=exp.Literal.string(end_dt)))
    if dts is not None:
        if not dts:
            raise SuiteCompileError("dts: no partition to query")
        values = [exp.Literal.string(dt) for dt in sorted(set(dts))]
        judged = judged.where(exp.In(this=key.copy(), expressions=values))
    query = (
        exp.select(key.copy(), *counts, *missing)
        .from_(judged.subquery("judged"))
        .group_by(key.copy())
        .order_by(key.copy())
    )
    sql = query.sql(dialect=READ_DIALECT, pretty=True)
    if dialect == READ_DIALECT:
        return sql
    return sqlglot.transpile(sql, read=READ_DIALECT, write=dialect, pretty=True)[0]


def _flag(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _check_output_names(rows: Sequence[CompiledRule], partition_key: str, missing_counts: bool) -> None:
    fixed = {partition_key.lower(), TOTAL_ROWS, FAILING_ROWS}
    taken = set(fixed)
    for rule in rows:
        names = [rule.rule]
        if missing_counts and rule.ignored is not None:
            names.append(rule.rule + MISSING_SUFFIX)
        for name in names:
            if not _RULE_NAME.fullmatch(rule.rule) or name in taken:
                raise SuiteCompileError(
                    f"rule {rule.rule!r} cannot name a result column: use lower-case letters, digits "
                    f"and _, once, and none of {sorted(fixed)} (nor another rule's name + {MISSING_SUFFIX})"
                )
            taken.add(name)


def _bindings(
    rows: Sequence[CompiledRule], parameters: Mapping[str, Any], partition_key: str
) -> dict[str, exp.Expression]:
    derived = day_bounds_from_partition(partition_key)
    bindings: dict[str, exp.Expression] = {}
    for rule in rows:
        for name in rule.parameters:
            if name in parameters:
                try:
                    bindings[name] = literal(parameters[name], rule.column_types[0])
                except ValueError as exc:
                    raise SuiteCompileError(f"rule {rule.rule!r}: parameter {name}: {exc}") from None
            elif name in derived:
                bindings[name] = derived[name]
            else:
                raise SuiteCompileError(f"rule {rule.rule!r} needs suite parameter {name!r}: none was given")
    return bindings


def _bind(rule: CompiledRule, bindings: Mapping[str, exp.Expression]) -> exp.Expression:
    predicate = sqlglot.parse_one(rule.predicate or "FALSE", read=READ_DIALECT)

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder) and node.name in bindings:
            return bindings[node.name].copy()
        return node

    return predicate.transform(replace)
