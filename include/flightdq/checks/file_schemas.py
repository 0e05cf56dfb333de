"""What the checked days' files (and, on AWS, the catalog) say about their columns, judged by the
suite's schema rules compiled by `suite_sql`, before any row is read.

Each file is judged on its own, from its Parquet footer (`backend.partition_file_columns`: the
footer only; DuckDB's parquet_schema() locally, ranged GETs on S3, never the whole object), so the
file that differs is named. The contract states the files' types in Parquet terms
(`core.parquet_types.CONTRACT_TYPES`); each is given to `check_schema` as DuckDB spells the SQL type
the suite expects, and any other Parquet type as its Parquet spelling, which matches no SQL type.
On AWS the Glue table's and each partition's columns are judged too (Trino spelling): Athena reads
the files as the catalog says. A footer that cannot be read makes the file "unreadable".

What only Arrow metadata stored beside the Parquet types can say (a large_string, a dictionary, a
time zone name other than UTC) is not judged here: the engines read such a file as the contract's
type. GX on pandas sees it (the `gx` engine's own type expectations fail on it).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any, TypeVar

from flightdq.checks.suite import SCHEMA, RuleOutcome
from flightdq.checks.suite_sql import CompiledRule, SchemaFailure, check_schema
from flightdq.core.contract import GLUE_DATABASE, PROCESSED_TABLE
from flightdq.core.parquet_types import CONTRACT_TYPES

if TYPE_CHECKING:
    from flightdq.checks.context import CheckContext

THREADS = 8  # footers read (and GX-shaped results written) at once: S3 round trips overlap
CATALOG_TABLE = f"glue:{GLUE_DATABASE}.{PROCESSED_TABLE}"
T = TypeVar("T")
R = TypeVar("R")


@dataclass
class DaySchema:
    """One day's files judged by the suite's schema rules."""

    files: list[str] = field(default_factory=list)  # every data file found, readable or not
    unreadable: dict[str, str] = field(default_factory=dict)  # file -> what went wrong (no values)
    differences: dict[str, list[str]] = field(default_factory=dict)  # file or catalog entry -> how
    failures: dict[str, SchemaFailure] = field(default_factory=dict)  # schema rule -> first failure
    columns: list[str] = field(default_factory=list)  # the columns of the files (sorted)

    @property
    def ok(self) -> bool:
        """Row rules can be judged: there are files, all readable, all of the suite's schema."""
        return bool(self.files) and not self.unreadable and not self.differences

    def add(self, name: str, failures: list[SchemaFailure]) -> None:
        if failures:
            self.differences[name] = sorted({d for f in failures for d in f.differences})
        for failure in failures:
            self.failures.setdefault(failure.rule, failure)

    def schema_outcomes(self, rules: Sequence[CompiledRule], suite: dict) -> dict[str, RuleOutcome]:
        """The suite's schema rules as GX would report them for these files (rule -> outcome)."""
        by_rule = {e["meta"]["rule"]: e for e in suite["expectations"]}
        outcomes = {}
        for rule in rules:
            if rule.kind != SCHEMA:
                continue
            expectation = by_rule[rule.rule]
            failure = self.failures.get(rule.rule)
            if rule.expectation_type == "expect_table_columns_to_match_set":
                observed: Any = self.columns
            elif rule.expectation_type == "expect_column_type_to_be" and failure is None:
                observed = expectation["kwargs"].get("type_")
            else:
                observed = failure.message if failure else None
            column = (expectation.get("meta") or {}).get("column")
            outcomes[rule.rule] = RuleOutcome(
                rule.rule, column, rule.expectation_type, failure is None, 0, SCHEMA, observed=observed
            )
        return outcomes


# The contract's Parquet types as DuckDB names the SQL types the suite expects of them.
_SQL_NAMES = {
    CONTRACT_TYPES["string"]: "VARCHAR",
    CONTRACT_TYPES["bigint"]: "BIGINT",
    CONTRACT_TYPES["double"]: "DOUBLE",
    CONTRACT_TYPES["timestamp"]: "TIMESTAMP WITH TIME ZONE",
}


def file_column_types(columns: dict[str, str]) -> dict[str, str]:
    """A file's columns (name -> Parquet type) as `check_schema(..., dialect="duckdb")` takes them."""
    return {name: _SQL_NAMES.get(kind, f"{kind} (parquet)") for name, kind in columns.items()}


def in_parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    """`function` over `items` on a few threads (in order); inline for one item."""
    items = list(items)
    if len(items) <= 1:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(THREADS, len(items)), thread_name_prefix="flightdq-io") as pool:
        return list(pool.map(function, items))


def read_day_schemas(ctx: CheckContext, rules: Sequence[CompiledRule]) -> dict[str, DaySchema]:
    """dt -> DaySchema for every checked day."""

    def one_day(day: date) -> DaySchema:
        unreadable: dict[str, str] = {}
        files = ctx.backend.partition_file_columns(day, unreadable=unreadable)
        found = DaySchema(files=sorted([*files, *unreadable]), unreadable=unreadable)
        columns: set[str] = set()
        for name, file_columns in files.items():
            types = file_column_types(file_columns)
            columns.update(types)
            found.add(name, check_schema(rules, types, dialect="duckdb"))
        found.columns = sorted(columns)
        return found

    days = in_parallel(one_day, ctx.days)
    found = {str(day): schema for day, schema in zip(ctx.days, days, strict=True)}
    catalog = ctx.backend.catalog_columns(ctx.first_day, ctx.last_day)
    if catalog is not None:  # AWS: Athena reads the files as the Glue catalog says
        table, partitions = catalog
        table_failures = check_schema(rules, table, dialect="trino")
        for dt, schema in found.items():
            if not schema.files:
                continue
            schema.add(CATALOG_TABLE, table_failures)
            if partitions.get(dt):  # a partition without columns of its own is read as the table
                schema.add(f"{CATALOG_TABLE}/dt={dt}", check_schema(rules, partitions[dt], dialect="trino"))
    return found
