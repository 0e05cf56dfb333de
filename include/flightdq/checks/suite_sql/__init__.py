"""The Great Expectations suite compiled to SQL: one Trino predicate per row rule, one query per table.

`gx_validation` runs the suite `expectations/flightdata_processed.json` with Great Expectations on a
pandas frame, one partition at a time. This module reads the same suite (a plain dict) and compiles
every expectation into a `CompiledRule`, without importing Great Expectations or pandas:

* a **row** rule gets `predicate`, a boolean expression in Trino SQL that is TRUE exactly for the
  rows GX counts in the rule's `unexpected_count`, and FALSE for every other row (never NULL);
* a **schema** rule gets the column set or the column type the table must have; `check_schema`
  judges it against a column -> type mapping as Trino/Athena or DuckDB spell the types.

`row_rules_query` renders one statement that returns, for each partition `dt`: `total_rows`,
`failing_rows` (rows breaking at least one row rule: the union) and one column per rule, named by
the rule, holding `count_if(predicate)`. It is written in Trino SQL and transpiled by sqlglot for
any other engine (`dialect="duckdb"`). An expectation type the compiler does not know, or an
argument it cannot translate faithfully, raises `SuiteCompileError` naming the rule and the type:
nothing is skipped silently.

Day bounds
----------
The suite's `$PARAMETER` values (`day_start`, `day_end`) become named placeholders (`:day_start`)
in the predicates. `row_rules_query` binds them, by default, per row from the partition key, as
`gx_validation.day_parameters` does per partition: `day_start` is `dt` 00:00 UTC and `day_end` 24
hours later (the next UTC midnight), both `timestamp(6) with time zone`. So one query checks any
number of partitions, each against its own day. Explicit values (`parameters={"day_start": ...}`,
ISO-8601 strings with an offset or aware datetimes, exactly what GX is given) override that.

Semantic mapping (x is the rule's column; "missing" means NULL, or NaN for a double column)
--------------------------------------------------------------------------------------------
=============================================== ==========================================
expectation                                     failing row (the predicate)
=============================================== ==========================================
expect_column_values_to_not_be_null             x is missing
expect_column_values_to_be_between              x not missing and x < min (<= if strict_min)
                                                or x > max (>= if strict_max); a bound may
                                                be absent, or a `$PARAMETER`
expect_column_values_to_match_regex             x not missing and not regexp_like(x, regex')
                                                (regex' is the regex translated, see below)
expect_column_values_to_be_in_set               x not missing and x not in the set
expect_column_pair_values_a_to_be_greater_than_b
    ignore_row_if either_value_is_missing       neither missing and A < B (A <= B if strict)
    ignore_row_if both_values_are_missing       exactly one missing, or neither and A < B
      (GX's default)
    ignore_row_if neither                       either missing, or A < B
expect_table_columns_to_match_set               (schema) the column set equals column_set,
                                                or contains it when exact_match is false
expect_column_to_exist                          (schema) the column exists
expect_column_type_to_be                        (schema) the column's type is the SQL type
                                                the pandas dtype stands for (below)
=============================================== ==========================================

Where GX and the SQL engines differ, and what is done about it
--------------------------------------------------------------
* **Nulls.** GX drops a column's nulls before every column-map rule except not-null, so a null
  never breaks a range, regex or set rule; SQL would give NULL (and NOT of NULL is NULL). Every
  predicate therefore tests for a value first and is two-valued: safe under NOT, OR and count_if.
  For the pair rule GX drops rows per `ignore_row_if` (default `both_values_are_missing`); a row it
  keeps with one missing side compares False in pandas, so it counts as unexpected: mirrored above.
  One gap: on an `Int64` (bigint) pair, a null that `ignore_row_if` keeps makes pandas' comparison
  NA and GX raises (the rule is "not evaluated" by `gx_validation`); the SQL counts the row failing.
* **NaN.** The frame GX sees stores doubles as numpy float64, where NaN *is* the null (`isnull`),
  whether the file held a NaN or a null. SQL keeps NaN as a value: DuckDB orders it above +inf and
  says NaN = NaN, Trino compares it false to everything. For a double column "missing" is therefore
  `x IS NULL OR is_nan(x)` (DuckDB: `isnan`), in every rule, including not-null. Column types come
  from the suite's own `expect_column_type_to_be` rules (else the contract), so the compiler knows
  which columns are doubles.
* **Regular expressions.** GX on pandas runs `Series.str.contains(regex)`: a *search* (not
  anchored) with Python `re` semantics (pandas uses pyarrow's RE2 only where the two agree).
  Trino's `regexp_like` searches too, with Java syntax (Joni); DuckDB's `regexp_matches` with RE2.
  They disagree on: `$` (Python: at the end or before a final "\\n"; Java: also before a final
  "\\r\\n", "\\r", U+0085, U+2028, U+2029; RE2: at the very end only); `.` (Python and RE2: any
  character but "\\n"; Java: no line terminator at all); `\\d \\w \\s \\b` (Unicode in Python, ASCII in
  RE2 and Java); `{,n}` (a repeat in Python, literal text in RE2); `[`, `&&` inside a class (Java
  nests and intersects); repeat counts over 1000 (RE2 refuses). So the regex is parsed as a strict
  subset of Python syntax and re-spelled in a form all three read alike: `^` -> `\\A`, `$` ->
  `\\n?\\z` (only as the last thing of the pattern), `.` -> `[^\\n]`, `\\Z` -> `\\z`, metacharacters
  escaped, control characters as `\\xHH`, groups non-capturing. Anything outside the subset
  (character-class escapes, flags, lookaround, backreferences, `$` before more pattern, ...)
  raises `SuiteCompileError`: write `[0-9]` instead of `\\d`. Only string columns take a regex
  (GX would stringify a number; SQL would fail).
* **Timestamps.** GX compares the UTC-aware column with the parsed bounds as instants; bounds are
  rendered as `timestamp(6) with time zone` literals in UTC, and a literal bound must be ISO-8601
  with an offset (GX raises on a naive one). DuckDB reads the files' `timestamp[us, tz=UTC]` as
  TIMESTAMPTZ: an instant comparison, whatever the session TimeZone. A Hive/Glue table in Trino or
  Athena exposes the same column as a naive `timestamp(p)`: Trino compares it with the bound after
  reading it in the session time zone, which is UTC on Athena (elsewhere set it to UTC). Athena
  reads microseconds as milliseconds (Trino's default `hive.timestamp-precision`), so a value less
  than 1 ms from a bound (e.g. 1 µs before midnight) can be judged differently there than by GX;
  no predicate can undo that. Trino was not available to test; DuckDB was, against GX.
* **Between bounds.** GX 1.x's expectation model turns every numeric bound into a float and takes
  no string bound but a date-time; both bounds absent, or min > max, make it raise. So the
  compiler takes JSON numbers on numeric columns and ISO-8601 date-times on timestamp columns,
  and raises on anything else (a string column, a numeric string, a bool). A number is compared as
  that float, the way Python compares: exactly. On a double column that is a double literal; on a
  bigint column the engines would compare in doubles (inexact past 2**53), so the float becomes an
  exact integer comparison (x < 0.5 -> x < 1, x > 2.0**53 -> x > 9007199254740992). A suite
  parameter may bound a timestamp column only.
* **In set**: values must be of the column's kind (strings for a string column, numbers for a
  numeric one; timestamps are not supported). A null or NaN in the set can never matter (missing
  values are skipped) and is dropped; `value_set: null` is vacuously true, as in GX.
* **Types.** `expect_column_type_to_be` names a pandas dtype of the frame
  `gx_validation.arrow_to_pandas` builds: "str" -> varchar, "Int64" -> bigint, "float64" ->
  double, "datetime64[us, UTC]" -> timestamp(6) with time zone; any other dtype raises. Engine type
  names are normalised (`normalize_type`). DuckDB must match exactly (a naive TIMESTAMP means the
  files lost their zone). Trino/Athena tables cannot show a Parquet timestamp's zone and show its
  precision as a connector setting, so there any `timestamp(p)` matches a timestamp dtype.
* **Missing or retyped columns.** GX does not evaluate a row rule on such a column; in SQL it
  would not even compile. `evaluable_row_rules` keeps the row rules whose columns pass the schema
  rules, as `gx_validation.validate_table` does.
* `mostly` changes GX's success, never its unexpected count: it does not change a predicate.
  `row_condition` is refused. (The SQL engine of schema_validity reports success with `mostly`
  as GX does, from the counts: `CompiledRule.mostly`.)

Modules
-------
`types` (SQL types and their spellings), `model` (`CompiledRule`, `SchemaFailure`, names),
`regex` (portable regular expressions), `expressions` (shared SQL pieces), `compiler`
(expectations -> rules), `schema` (schema rules against a table's columns) and `query` (the one
row-rules statement). Everything a caller needs is importable from this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flightdq.checks.suite_sql.model import (
    DAY_END,
    DAY_START,
    FAILING_ROWS,
    MISSING_SUFFIX,
    READ_DIALECT,
    ROW,
    SCHEMA,
    TOTAL_ROWS,
    CompiledRule,
    Kind,
    SchemaFailure,
    SuiteCompileError,
    row_rules,
)
from flightdq.checks.suite_sql.schema import check_schema, evaluable_row_rules
from flightdq.checks.suite_sql.types import Dialect, SqlType, normalize_type

if TYPE_CHECKING:
    from flightdq.checks.suite_sql.compiler import SUPPORTED_TYPES, compile_suite, load_suite
    from flightdq.checks.suite_sql.query import day_bounds_from_partition, row_rules_query
    from flightdq.checks.suite_sql.regex import portable_regex

# What needs sqlglot is imported on first use (PEP 562): judging a schema, or reading compiled rules
# back from `sql_cache`, does not import sqlglot.
_LAZY = {
    "SUPPORTED_TYPES": "compiler",
    "compile_suite": "compiler",
    "load_suite": "compiler",
    "day_bounds_from_partition": "query",
    "row_rules_query": "query",
    "portable_regex": "regex",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    globals()[name] = value
    return value


__all__ = [
    "DAY_END",
    "DAY_START",
    "FAILING_ROWS",
    "MISSING_SUFFIX",
    "READ_DIALECT",
    "ROW",
    "SCHEMA",
    "SUPPORTED_TYPES",
    "TOTAL_ROWS",
    "CompiledRule",
    "Dialect",
    "Kind",
    "SchemaFailure",
    "SqlType",
    "SuiteCompileError",
    "check_schema",
    "compile_suite",
    "day_bounds_from_partition",
    "evaluable_row_rules",
    "load_suite",
    "normalize_type",
    "portable_regex",
    "row_rules",
    "row_rules_query",
]
