"""The schema rules judged against a table's columns (name -> type, as an engine spells it), and the
row rules that can be judged on such a table."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from flightdq.checks.suite_sql.model import SCHEMA, CompiledRule, SchemaFailure, row_rules
from flightdq.checks.suite_sql.types import Dialect, normalize_type, type_matches
from flightdq.core.contract import PARTITION_KEY


def check_schema(
    rules: Iterable[CompiledRule],
    columns: Mapping[str, str],
    *,
    dialect: Dialect,
    partition_keys: Iterable[str] = (PARTITION_KEY,),
) -> list[SchemaFailure]:
    """The schema rules that `columns` (name -> type as the engine spells it) break.

    The partition keys are the path's, not the files': they are left out of the comparison.
    """
    keys = set(partition_keys)
    found = {
        name: normalize_type(sql_type, dialect) for name, sql_type in columns.items() if name not in keys
    }
    failures: list[SchemaFailure] = []
    for rule in rules:
        if rule.kind != SCHEMA:
            continue
        if rule.expectation_type == "expect_table_columns_to_match_set":
            missing = [c for c in rule.columns if c not in found]
            extra = sorted(set(found) - set(rule.columns)) if rule.exact_match else []
            if missing or extra:
                words = [f"missing column {c}" for c in missing] + [f"unexpected column {c}" for c in extra]
                failures.append(SchemaFailure(rule.rule, tuple(missing), "; ".join(words)))
            continue
        (name,) = rule.columns
        if name not in found:
            failures.append(SchemaFailure(rule.rule, (name,), f"missing column {name}"))
        elif rule.expected_type is not None and not type_matches(rule.expected_type, found[name], dialect):
            message = f"column {name} is {columns[name]}, the suite expects {rule.expected_type}"
            failures.append(SchemaFailure(rule.rule, (name,), message))
    return failures


def evaluable_row_rules(
    rules: Sequence[CompiledRule],
    columns: Mapping[str, str],
    *,
    dialect: Dialect,
    partition_keys: Iterable[str] = (PARTITION_KEY,),
) -> list[CompiledRule]:
    """The row rules that can be judged on a table with `columns`: each of their columns exists
    and passes its schema rules (as `gx_validation.validate_table` decides what to evaluate)."""
    failures = check_schema(rules, columns, dialect=dialect, partition_keys=partition_keys)
    unusable = {c for f in failures for c in f.columns}
    return [r for r in row_rules(rules) if set(r.columns) <= set(columns) and not set(r.columns) & unusable]
