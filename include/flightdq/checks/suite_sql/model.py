"""What the compiler produces: `CompiledRule` (one per expectation), `SchemaFailure` (a schema rule a
table breaks), the names of the query's fixed columns, and `SuiteCompileError`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any, Literal

from flightdq.checks.suite_sql.types import SqlType

READ_DIALECT = "trino"  # predicates are written in Trino SQL, transpiled for other engines
SCHEMA = "schema"
ROW = "row"
Kind = Literal["schema", "row"]

TOTAL_ROWS = "total_rows"
FAILING_ROWS = "failing_rows"
MISSING_SUFFIX = "__missing"  # `<rule>__missing`: the rows GX leaves out of the rule (its missing_count)
DAY_START = "day_start"
DAY_END = "day_end"


class SuiteCompileError(ValueError):
    """An expectation (or a query over compiled rules) that cannot be turned into faithful SQL."""


@dataclass(frozen=True)
class CompiledRule:
    rule: str  # the expectation's meta.rule
    kind: Kind
    expectation_type: str
    columns: tuple[str, ...]  # the columns read (for a column set: the expected set)
    predicate: str | None = None  # row rules: Trino SQL, TRUE when the row breaks the rule
    column_types: tuple[str, ...] = ()  # row rules: the logical type of each column
    parameters: tuple[str, ...] = ()  # row rules: suite parameters used as :name placeholders
    expected_type: SqlType | None = None  # expect_column_type_to_be
    exact_match: bool = True  # expect_table_columns_to_match_set
    # Row rules: Trino SQL, TRUE for the rows GX leaves out before judging (its `missing_count`);
    # None when GX counts every row and reports no missing_count (not-null rules).
    ignored: str | None = None
    mostly: float | None = None  # GX's `mostly`: changes the rule's success, never its counts

    def to_json(self) -> dict[str, Any]:
        """Plain JSON data (`from_json` gives the rule back): compiled rules can be kept on disk."""
        data = asdict(self)
        data["expected_type"] = None if self.expected_type is None else asdict(self.expected_type)
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CompiledRule:
        fields = dict(data)
        for name in ("columns", "column_types", "parameters"):
            fields[name] = tuple(fields[name])
        if fields["expected_type"] is not None:
            fields["expected_type"] = SqlType(**fields["expected_type"])
        return cls(**fields)


@dataclass(frozen=True)
class SchemaFailure:
    rule: str
    columns: tuple[str, ...]  # the columns the failure concerns (row rules on them are unusable)
    message: str  # names and types only, never a value

    @property
    def differences(self) -> list[str]:
        """The failure as separate phrases ("missing column x", "unexpected column y", ...)."""
        return self.message.split("; ")


def row_rules(rules: Iterable[CompiledRule]) -> list[CompiledRule]:
    return [r for r in rules if r.kind == ROW]
