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
* `mostly` changes GX's success, never its unexpected count: it is accepted and ignored.
  `row_condition` is refused.
"""

from __future__ import annotations

import json
import math
import re
import string
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, NoReturn

import sqlglot
from sqlglot import exp

from flightdq.core.contract import PARTITION_KEY, PROCESSED_COLUMNS

READ_DIALECT = "trino"
SCHEMA = "schema"
ROW = "row"
Kind = Literal["schema", "row"]
Dialect = Literal["trino", "duckdb"]

TOTAL_ROWS = "total_rows"
FAILING_ROWS = "failing_rows"
DAY_START = "day_start"
DAY_END = "day_end"

# Logical types a rule can be compiled against.
VARCHAR = "varchar"
BIGINT = "bigint"
DOUBLE = "double"
TIMESTAMP = "timestamp"
_NUMERIC = (BIGINT, DOUBLE)

# Arguments that never change an unexpected count.
_HARMLESS_KWARGS = frozenset({"mostly", "result_format", "catch_exceptions", "include_config"})
_TIMESTAMP_TZ = exp.DataType.build("TIMESTAMP(6) WITH TIME ZONE", dialect=READ_DIALECT)
_RULE_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class SuiteCompileError(ValueError):
    """An expectation (or a query over compiled rules) that cannot be turned into faithful SQL."""


@dataclass(frozen=True)
class SqlType:
    """A column type with the engine's spelling normalised: `family` plus, for timestamps, the
    fractional-second `precision` and whether it carries a `time_zone`."""

    family: str
    precision: int | None = None
    time_zone: bool = False

    def __str__(self) -> str:
        if self.family != TIMESTAMP:
            return self.family
        return f"timestamp({self.precision})" + (" with time zone" if self.time_zone else "")


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


@dataclass(frozen=True)
class SchemaFailure:
    rule: str
    columns: tuple[str, ...]  # the columns the failure concerns (row rules on them are unusable)
    message: str  # names and types only, never a value


# --- loading and compiling ------------------------------------------------------------------------


def load_suite(path: str | Path) -> dict[str, Any]:
    """The suite file as a dict (its expectations are checked when compiled)."""
    suite = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise SuiteCompileError(f"{path}: not an expectation suite (no 'expectations' list)")
    return suite


def compile_suite(
    suite: Mapping[str, Any], *, column_types: Mapping[str, str] | None = None
) -> list[CompiledRule]:
    """Every expectation of `suite` compiled, in the suite's order.

    A column's type comes from the suite's `expect_column_type_to_be` rule, else from
    `column_types` (logical names: varchar, bigint, double, timestamp), else from the contract.
    """
    expectations = suite.get("expectations")
    if not isinstance(expectations, list):
        raise SuiteCompileError("not an expectation suite (no 'expectations' list)")
    types = {c.name: _logical(c.sql_type) for c in PROCESSED_COLUMNS}
    types.update({name: _logical(sql_type) for name, sql_type in (column_types or {}).items()})
    for expectation in expectations:
        if isinstance(expectation, dict) and expectation.get("type") == "expect_column_type_to_be":
            rule = _compile_one(expectation, types)
            if rule.expected_type is not None:
                types[rule.columns[0]] = rule.expected_type.family
    compiled: list[CompiledRule] = []
    seen: set[str] = set()
    for expectation in expectations:
        rule = _compile_one(expectation, types)
        if rule.rule in seen:
            raise SuiteCompileError(f"rule name {rule.rule!r} is used twice")
        seen.add(rule.rule)
        compiled.append(rule)
    return compiled


def row_rules(rules: Iterable[CompiledRule]) -> list[CompiledRule]:
    return [r for r in rules if r.kind == ROW]


def _compile_one(expectation: Any, types: Mapping[str, str]) -> CompiledRule:
    if not isinstance(expectation, dict):
        raise SuiteCompileError(f"an expectation must be an object, not {type(expectation).__name__}")
    etype = expectation.get("type")
    meta = expectation.get("meta") or {}
    rule = meta.get("rule")
    if not isinstance(rule, str) or not rule:
        raise SuiteCompileError(f"expectation {etype!r} has no meta.rule")
    compiler = _COMPILERS.get(etype) if isinstance(etype, str) else None
    if compiler is None:
        raise SuiteCompileError(
            f"rule {rule!r}: expectation type {etype!r} is not supported by the SQL compiler"
        )
    kwargs = expectation.get("kwargs") or {}
    if not isinstance(kwargs, dict):
        raise SuiteCompileError(f"rule {rule!r}: kwargs must be an object")
    spec = _Spec(rule, etype, kwargs, types)
    compiled = compiler(spec)
    unknown = set(kwargs) - spec.used - _HARMLESS_KWARGS - {"row_condition", "condition_parser"}
    if unknown:
        spec.fail(f"unsupported argument(s) {sorted(unknown)}")
    if kwargs.get("row_condition"):
        spec.fail("row_condition is not supported")
    declared = meta.get("kind")
    if declared is not None and declared != compiled.kind:
        spec.fail(f"meta.kind is {declared!r} but the expectation is a {compiled.kind} rule")
    return compiled


@dataclass
class _Spec:
    """One expectation being compiled: reads its kwargs and names the rule in every error."""

    rule: str
    etype: str
    kwargs: Mapping[str, Any]
    types: Mapping[str, str]
    used: set[str] = field(default_factory=set)
    parameters: list[str] = field(default_factory=list)

    def fail(self, message: str) -> NoReturn:
        raise SuiteCompileError(f"rule {self.rule!r} ({self.etype}): {message}")

    def get(self, key: str, default: Any = None) -> Any:
        self.used.add(key)
        value = self.kwargs.get(key, default)
        if isinstance(value, dict) and "$PARAMETER" in value and key not in ("min_value", "max_value"):
            self.fail(f"{key} cannot be a suite parameter")
        return value

    def column(self, key: str = "column") -> str:
        name = self.get(key)
        if not isinstance(name, str) or not name:
            self.fail(f"{key} must be a column name")
        return name

    def column_type(self, name: str) -> str:
        found = self.types.get(name)
        if found is None:
            self.fail(f"the type of column {name!r} is unknown (no expect_column_type_to_be for it)")
        return found

    def flag(self, key: str) -> bool:
        value = self.get(key)
        if value is not None and not isinstance(value, bool):
            self.fail(f"{key} must be true or false")
        return bool(value)

    def row(self, columns: Sequence[str], predicate: exp.Expression) -> CompiledRule:
        return CompiledRule(
            rule=self.rule,
            kind=ROW,
            expectation_type=self.etype,
            columns=tuple(columns),
            predicate=predicate.sql(dialect=READ_DIALECT),
            column_types=tuple(self.column_type(c) for c in columns),
            parameters=tuple(dict.fromkeys(self.parameters)),
        )


# --- row rules --------------------------------------------------------------------------------------


def _column(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def _missing(name: str, sql_type: str) -> exp.Expression:
    """NULL, or NaN in a double column: what pandas' isnull sees in the frame GX validates."""
    is_null = exp.Is(this=_column(name), expression=exp.Null())
    if sql_type == DOUBLE:
        return exp.paren(exp.or_(is_null, exp.IsNan(this=_column(name))), copy=False)
    return is_null


def _present(name: str, sql_type: str) -> exp.Expression:
    return exp.not_(_missing(name, sql_type))


def _compile_not_null(spec: _Spec) -> CompiledRule:
    name = spec.column()
    return spec.row([name], _missing(name, spec.column_type(name)))


def _compile_between(spec: _Spec) -> CompiledRule:
    name = spec.column()
    sql_type = spec.column_type(name)
    if sql_type not in (TIMESTAMP, *_NUMERIC):
        spec.fail(f"bounds need a numeric or timestamp column (GX 1.x takes no other); {name} is {sql_type}")
    low, high = spec.get("min_value"), spec.get("max_value")
    strict_min, strict_max = spec.flag("strict_min"), spec.flag("strict_max")
    if low is None and high is None:
        spec.fail("min_value and max_value cannot both be absent")
    lower, upper = _bound(spec, "min", low, sql_type), _bound(spec, "max", high, sql_type)
    if isinstance(lower, float) and isinstance(upper, float) and lower > upper:
        spec.fail("min_value cannot be greater than max_value")
    if isinstance(lower, datetime) and isinstance(upper, datetime) and lower > upper:
        spec.fail("min_value cannot be greater than max_value")
    outside: list[exp.Expression] = []
    if lower is not None:
        outside.append(_outside(name, sql_type, exp.LTE if strict_min else exp.LT, lower))
    if upper is not None:
        outside.append(_outside(name, sql_type, exp.GTE if strict_max else exp.GT, upper))
    return spec.row([name], exp.and_(_present(name, sql_type), exp.or_(*outside)))


def _bound(spec: _Spec, key: str, value: Any, sql_type: str) -> float | datetime | exp.Placeholder | None:
    """One bound of a between rule as GX holds it: a float (GX's pydantic model turns every number
    into one), an aware datetime, or a suite parameter; None when absent."""
    if value is None:
        return None
    if isinstance(value, dict):
        name = value.get("$PARAMETER")
        if set(value) != {"$PARAMETER"} or not isinstance(name, str) or not name.isidentifier():
            spec.fail(f"{key}_value: only a bare {{'$PARAMETER': name}} is supported")
        if sql_type != TIMESTAMP:
            spec.fail(f"{key}_value: a suite parameter can only bound a timestamp column")
        spec.parameters.append(name)
        return exp.Placeholder(this=name)
    if sql_type == TIMESTAMP:
        try:
            return _instant(value)
        except ValueError as exc:
            spec.fail(f"{key}_value: {exc}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        spec.fail(f"{key}_value: {value!r} is not a number, the column is {sql_type}")
    if not math.isfinite(value):
        spec.fail(f"{key}_value: {value!r} is not a finite number")
    return float(value)


_BIGINT_MIN, _BIGINT_MAX = -(2**63), 2**63 - 1


def _outside(
    name: str, sql_type: str, op: type[exp.Binary], bound: float | datetime | exp.Placeholder
) -> exp.Expression:
    """`column op bound`, exact as Python compares an int or a float with GX's float bound.

    Against a bigint column a double literal would make the engine compare in doubles (inexact
    beyond 2**53); an integer one is exact: x < b iff x < ceil(b), x <= b iff x <= floor(b), and so
    on, with the integer clamped just outside bigint's range (which keeps every outcome)."""
    if isinstance(bound, exp.Placeholder):
        value: exp.Expression = bound
    elif isinstance(bound, datetime):
        value = _timestamp_literal(bound)
    elif sql_type == BIGINT:
        whole = math.ceil(bound) if op in (exp.LT, exp.GTE) else math.floor(bound)
        whole = min(max(whole, _BIGINT_MIN - 1), _BIGINT_MAX + 1)
        value = exp.Literal.number(str(whole))
    else:
        value = _double_literal(bound)
    return op(this=_column(name), expression=value)


def _double_literal(value: float) -> exp.Expression:
    text = repr(value)
    return exp.Literal.number(text if "e" in text else f"{text}E0")  # E makes it a DOUBLE in Trino


def _literal(value: Any, sql_type: str) -> exp.Expression:
    """The SQL literal for a constant compared with a column of `sql_type` (a value of its kind)."""
    if sql_type in _NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number, the column is {sql_type}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        if isinstance(value, int):
            return exp.Literal.number(str(value))
        return _double_literal(value)
    if sql_type == VARCHAR:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string, the column is varchar")
        return exp.Literal.string(value)
    if sql_type == TIMESTAMP:
        return _timestamp_literal(_instant(value))
    raise ValueError(f"columns of type {sql_type} are not supported")


def _instant(value: Any) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 timestamp") from None
    if not isinstance(value, datetime):
        raise ValueError(f"{value!r} is not a timestamp")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{value.isoformat()!r} has no UTC offset (GX compares it with a UTC column)")
    return value.astimezone(UTC)


def _timestamp_literal(instant: datetime) -> exp.Expression:
    text = instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
    return exp.cast(exp.Literal.string(text), _TIMESTAMP_TZ)


def _compile_regex(spec: _Spec) -> CompiledRule:
    name = spec.column()
    sql_type = spec.column_type(name)
    if sql_type != VARCHAR:
        spec.fail(f"a regex needs a string column; {name} is {sql_type}")
    pattern = spec.get("regex")
    if not isinstance(pattern, str):
        spec.fail("regex must be a string")
    try:
        portable = portable_regex(pattern)
    except ValueError as exc:
        spec.fail(f"regex {pattern!r}: {exc}")
    matches = exp.RegexpLike(this=_column(name), expression=exp.Literal.string(portable))
    return spec.row([name], exp.and_(_present(name, sql_type), exp.not_(matches)))


def _compile_in_set(spec: _Spec) -> CompiledRule:
    name = spec.column()
    sql_type = spec.column_type(name)
    values = spec.get("value_set")
    if values is None:  # GX: vacuously true
        return spec.row([name], exp.false())
    if not isinstance(values, list | tuple | set | frozenset):
        spec.fail("value_set must be a list")
    if sql_type not in (VARCHAR, *_NUMERIC):
        spec.fail(f"value_set on a {sql_type} column is not supported")
    literals: dict[Any, exp.Expression] = {}
    for value in values:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue  # a missing value is skipped before the set is consulted
        if sql_type == BIGINT and isinstance(value, float) and math.isfinite(value):
            if not value.is_integer():
                continue  # no integer equals it
            value = int(value)  # compared exactly, not in doubles
        try:
            literal = _literal(value, sql_type)
        except ValueError as exc:
            spec.fail(f"value_set: {exc}")
        literals.setdefault(value, literal)
    present = _present(name, sql_type)
    if not literals:
        return spec.row([name], present)
    member = exp.In(this=_column(name), expressions=list(literals.values()))
    return spec.row([name], exp.and_(present, exp.not_(member)))


def _compile_pair_greater(spec: _Spec) -> CompiledRule:
    a, b = spec.column("column_A"), spec.column("column_B")
    type_a, type_b = spec.column_type(a), spec.column_type(b)
    if type_a != type_b and not (type_a in _NUMERIC and type_b in _NUMERIC):
        spec.fail(f"cannot compare {a} ({type_a}) with {b} ({type_b})")
    if type_a not in (VARCHAR, TIMESTAMP, *_NUMERIC):
        spec.fail(f"columns of type {type_a} are not supported")
    or_equal = spec.flag("or_equal")
    ignore = spec.get("ignore_row_if", "both_values_are_missing")
    cls = exp.LT if or_equal else exp.LTE
    not_greater = cls(this=_column(a), expression=_column(b))
    both_present = exp.and_(_present(a, type_a), _present(b, type_b))
    compared = exp.and_(both_present, not_greater)
    if ignore == "either_value_is_missing":
        predicate = compared
    elif ignore == "both_values_are_missing":
        only_a = exp.and_(_missing(a, type_a), _present(b, type_b))
        only_b = exp.and_(_present(a, type_a), _missing(b, type_b))
        predicate = exp.or_(only_a, only_b, compared)
    elif ignore == "neither":
        predicate = exp.or_(_missing(a, type_a), _missing(b, type_b), compared)
    else:
        spec.fail(f"ignore_row_if {ignore!r} is not one GX knows")
    return spec.row([a, b], predicate)


# --- schema rules ---------------------------------------------------------------------------------

# The dtypes `gx_validation.arrow_to_pandas` gives the contract's arrow types.
_PANDAS_DTYPES = {
    "str": SqlType(VARCHAR),
    "Int64": SqlType(BIGINT),
    "float64": SqlType(DOUBLE),
    "datetime64[us, UTC]": SqlType(TIMESTAMP, 6, True),
}


def _compile_columns_match_set(spec: _Spec) -> CompiledRule:
    columns = spec.get("column_set")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        spec.fail("column_set must be a list of column names")
    exact = spec.get("exact_match", True)
    if not isinstance(exact, bool):
        spec.fail("exact_match must be true or false")
    return CompiledRule(spec.rule, SCHEMA, spec.etype, tuple(columns), exact_match=exact)


def _compile_column_exists(spec: _Spec) -> CompiledRule:
    spec.get("column_index")
    if spec.kwargs.get("column_index") is not None:
        spec.fail("column_index is not supported")
    return CompiledRule(spec.rule, SCHEMA, spec.etype, (spec.column(),))


def _compile_column_type(spec: _Spec) -> CompiledRule:
    name = spec.column()
    dtype = spec.get("type_")
    expected = _PANDAS_DTYPES.get(dtype) if isinstance(dtype, str) else None
    if expected is None:
        spec.fail(f"type_ {dtype!r} is not one of {sorted(_PANDAS_DTYPES)}")
    return CompiledRule(spec.rule, SCHEMA, spec.etype, (name,), expected_type=expected)


_COMPILERS: dict[str, Callable[[_Spec], CompiledRule]] = {
    "expect_column_values_to_not_be_null": _compile_not_null,
    "expect_column_values_to_be_between": _compile_between,
    "expect_column_values_to_match_regex": _compile_regex,
    "expect_column_values_to_be_in_set": _compile_in_set,
    "expect_column_pair_values_a_to_be_greater_than_b": _compile_pair_greater,
    "expect_table_columns_to_match_set": _compile_columns_match_set,
    "expect_column_to_exist": _compile_column_exists,
    "expect_column_type_to_be": _compile_column_type,
}
SUPPORTED_TYPES = frozenset(_COMPILERS)


def _logical(sql_type: str) -> str:
    """The family of a type as the contract or a caller spells it (string, bigint, timestamp, ...)."""
    return normalize_type(sql_type, "trino").family


_FAMILIES = {
    VARCHAR: {"varchar", "string", "text"},
    BIGINT: {"bigint", "int8", "long", "int64"},
    "integer": {"integer", "int", "int4", "int32", "signed"},
    "smallint": {"smallint", "int2", "short", "int16"},
    "tinyint": {"tinyint", "int1"},
    DOUBLE: {"double", "float8", "double precision", "float64"},
    "real": {"real", "float4", "float", "float32"},
    "boolean": {"boolean", "bool", "logical"},
    "date": {"date"},
}
_BY_NAME = {alias: family for family, aliases in _FAMILIES.items() for alias in aliases}
_TIMESTAMP_NAME = re.compile(r"timestamp(?:\s*\(\s*(\d+)\s*\))?(\s+with(?:out)?\s+time\s+zone)?")
_DUCKDB_TIMESTAMPS = {
    "datetime": SqlType(TIMESTAMP, 6),
    "timestamp_us": SqlType(TIMESTAMP, 6),
    "timestamp_ms": SqlType(TIMESTAMP, 3),
    "timestamp_s": SqlType(TIMESTAMP, 0),
    "timestamp_ns": SqlType(TIMESTAMP, 9),
    "timestamptz": SqlType(TIMESTAMP, 6, True),
}


def normalize_type(name: str, dialect: Dialect) -> SqlType:
    """A type name as Trino/Athena/Glue (`dialect="trino"`) or DuckDB spells it, normalised:
    varchar(n), string, TEXT -> varchar; INT8 -> bigint; FLOAT8 -> double; timestamp ->
    timestamp(3) in Trino, timestamp(6) in DuckDB; TIMESTAMPTZ -> timestamp(6) with time zone.
    A type outside these families keeps its lower-case name (with parameters) as the family."""
    if dialect not in ("trino", "duckdb"):
        raise ValueError(f"dialect must be 'trino' or 'duckdb', not {dialect!r}")
    text = " ".join(name.strip().lower().split())
    base = re.sub(r"\s*\(.*\)$", "", text)
    if base in _BY_NAME and (base == text or base == "varchar"):
        return SqlType(_BY_NAME[base])
    if dialect == "duckdb" and text in _DUCKDB_TIMESTAMPS:
        return _DUCKDB_TIMESTAMPS[text]
    match = _TIMESTAMP_NAME.fullmatch(text)
    if match:
        default = 3 if dialect == "trino" else 6
        precision = int(match.group(1)) if match.group(1) is not None else default
        zone = bool(match.group(2)) and "without" not in match.group(2)
        return SqlType(TIMESTAMP, precision, zone)
    return SqlType(text)


def _type_matches(expected: SqlType, actual: SqlType, dialect: Dialect) -> bool:
    if expected.family != actual.family:
        return False
    if expected.family != TIMESTAMP or dialect == "trino":
        return True
    return expected == actual


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
        elif rule.expected_type is not None and not _type_matches(rule.expected_type, found[name], dialect):
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


# --- the query ------------------------------------------------------------------------------------


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
    dialect: str = READ_DIALECT,
    partition_key: str = PARTITION_KEY,
) -> str:
    """One statement over `table`: per partition, `total_rows`, `failing_rows` (the union) and one
    column per row rule (named by the rule) counting the rows that break it, ordered by partition.

    Suite parameters (timestamps) are bound from `parameters`, as ISO-8601 strings with an offset
    or aware datetimes, or else, for day_start / day_end, from each row's partition. `start_dt` /
    `end_dt` limit the partitions read (inclusive). Written in Trino SQL, then transpiled to
    `dialect`.
    """
    rows = row_rules(rules)
    _check_output_names(rows, partition_key)
    bindings = _bindings(rows, parameters or {}, partition_key)
    counts: list[exp.Expression] = [
        exp.alias_(exp.Count(this=exp.Star()), TOTAL_ROWS, quoted=True),
    ]
    predicates = [_bind(rule, bindings) for rule in rows]
    union = exp.or_(*(exp.paren(p.copy()) for p in predicates)) if predicates else exp.false()
    counts.append(exp.alias_(exp.CountIf(this=union), FAILING_ROWS, quoted=True))
    for rule, predicate in zip(rows, predicates, strict=True):
        counts.append(exp.alias_(exp.CountIf(this=predicate), rule.rule, quoted=True))
    key = exp.column(exp.to_identifier(partition_key, quoted=True))
    query = (
        exp.select(key.copy(), *counts)
        .from_(exp.to_table(table, dialect=READ_DIALECT))
        .group_by(key.copy())
        .order_by(key.copy())
    )
    if start_dt is not None:
        query = query.where(exp.GTE(this=key.copy(), expression=exp.Literal.string(start_dt)))
    if end_dt is not None:
        query = query.where(exp.LTE(this=key.copy(), expression=exp.Literal.string(end_dt)))
    sql = query.sql(dialect=READ_DIALECT, pretty=True)
    if dialect == READ_DIALECT:
        return sql
    return sqlglot.transpile(sql, read=READ_DIALECT, write=dialect, pretty=True)[0]


def _check_output_names(rows: Sequence[CompiledRule], partition_key: str) -> None:
    fixed = {partition_key.lower(), TOTAL_ROWS, FAILING_ROWS}
    taken = set(fixed)
    for rule in rows:
        if not _RULE_NAME.fullmatch(rule.rule) or rule.rule in taken:
            raise SuiteCompileError(
                f"rule {rule.rule!r} cannot name a result column: use lower-case letters, digits and _, "
                f"once, and none of {sorted(fixed)}"
            )
        taken.add(rule.rule)


def _bindings(
    rows: Sequence[CompiledRule], parameters: Mapping[str, Any], partition_key: str
) -> dict[str, exp.Expression]:
    derived = day_bounds_from_partition(partition_key)
    bindings: dict[str, exp.Expression] = {}
    for rule in rows:
        for name in rule.parameters:
            if name in parameters:
                try:
                    bindings[name] = _literal(parameters[name], rule.column_types[0])
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


# --- regular expressions --------------------------------------------------------------------------

_REPEAT_MAX = 1000  # RE2's limit
_SPECIAL = set(r"\.^$*+?()[]{}|")  # escaped when emitted outside a class
_CLASS_SPECIAL = set("\\[]^-&")  # escaped when emitted inside a class
_CONTROL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "f": "\f", "v": "\v", "a": "\a"}
_HEX_ESCAPES = {"x": 2, "u": 4, "U": 8}
_QUANTIFIER = re.compile(r"\{(\d+)(,(\d*))?\}")


def portable_regex(pattern: str) -> str:
    """`pattern` (Python `re` syntax, as GX's pandas engine reads it) re-spelled so that Trino
    (Java/Joni), DuckDB (RE2) and Python all search it alike; ValueError for anything outside the
    supported subset."""
    try:
        with warnings.catch_warnings():  # Python's warning about a nested set: refused below anyway
            warnings.simplefilter("ignore", FutureWarning)
            re.compile(pattern)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    parser = _RegexParser(pattern)
    tree = parser.alternation()
    if parser.pos != len(pattern):
        raise ValueError(f"unbalanced ')' at position {parser.pos}")
    return _emit_alternation(tree, tail=True)


# Nodes: ("lit", char) ("any",) ("class", negated, [(lo, hi)]) ("begin",) ("end",) ("end_string",)
# ("group", alternation) ("repeat", node, min, max or None, lazy); an alternation is a list of
# sequences, a sequence a list of nodes.
_Node = tuple[Any, ...]


class _RegexParser:
    def __init__(self, pattern: str) -> None:
        self.text = pattern
        self.pos = 0

    def peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def refuse(self, what: str) -> ValueError:
        return ValueError(f"{what} (position {self.pos}) is not supported")

    def alternation(self) -> list[list[_Node]]:
        branches = [self.sequence()]
        while self.peek() == "|":
            self.pos += 1
            branches.append(self.sequence())
        return branches

    def sequence(self) -> list[_Node]:
        nodes: list[_Node] = []
        while self.peek() and self.peek() not in "|)":
            atom = self.atom()
            quantified = self.quantifier(atom)
            nodes.append(quantified)
        return nodes

    def atom(self) -> _Node:
        char = self.peek()
        self.pos += 1
        if char == "(":
            if self.peek() == "?":
                if self.peek(1) != ":":
                    raise self.refuse("a group with (? other than (?: (flags, lookaround, names)")
                self.pos += 2
            inner = self.alternation()
            if self.peek() != ")":
                raise self.refuse("an unclosed group")
            self.pos += 1
            return ("group", inner)
        if char == "[":
            return self.char_class()
        if char == ".":
            return ("any",)
        if char == "^":
            return ("begin",)
        if char == "$":
            return ("end",)
        if char == "\\":
            return self.escape(in_class=False)
        if char in "*+?":
            raise self.refuse(f"a repeat {char!r} with nothing to repeat")
        if char == "{":
            raise self.refuse("an unescaped '{' that is not a repeat count")
        return ("lit", char)

    def escape(self, *, in_class: bool) -> _Node:
        char = self.peek()
        self.pos += 1
        if char in string.punctuation:
            return ("lit", char)
        if char in _CONTROL_ESCAPES:
            return ("lit", _CONTROL_ESCAPES[char])
        if char in _HEX_ESCAPES:
            digits = self.text[self.pos : self.pos + _HEX_ESCAPES[char]]
            self.pos += len(digits)
            return ("lit", chr(int(digits, 16)))
        if not in_class and char == "A":
            return ("begin",)
        if not in_class and char == "Z":
            return ("end_string",)
        raise self.refuse(f"the escape \\{char} (use an explicit class such as [0-9] for \\d)")

    def char_class(self) -> _Node:
        negated = self.peek() == "^"
        if negated:
            self.pos += 1
        if self.peek() in ("]", "["):
            raise self.refuse(f"an unescaped {self.peek()!r} opening a character class")
        ranges: list[tuple[str, str]] = []
        first = True
        while self.peek() != "]":
            if not self.peek():
                raise self.refuse("an unclosed character class")
            if self.peek() == "-" and not first and self.peek(1) != "]":
                raise self.refuse("an unescaped '-' inside a character class")
            low = self.class_char()
            high = low
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.pos += 1
                high = self.class_char()
                if ord(high) < ord(low):
                    raise self.refuse("a character range running backwards")
            ranges.append((low, high))
            first = False
        self.pos += 1
        return ("class", negated, ranges)

    def class_char(self) -> str:
        char = self.peek()
        self.pos += 1
        if char == "[":
            raise self.refuse("an unescaped '[' inside a character class")
        if char == "\\":
            node = self.escape(in_class=True)
            return node[1]
        return char

    def quantifier(self, atom: _Node) -> _Node:
        char = self.peek()
        if char in ("*", "+", "?"):
            self.pos += 1
            low, high = {"*": (0, None), "+": (1, None), "?": (0, 1)}[char]
        elif char == "{":
            match = _QUANTIFIER.match(self.text, self.pos)
            if not match:
                raise self.refuse("an unescaped '{' that is not a repeat count")
            self.pos = match.end()
            low = int(match.group(1))
            high = low if match.group(2) is None else (int(match.group(3)) if match.group(3) else None)
            if max(low, high or 0) > _REPEAT_MAX or (high is not None and high < low):
                raise self.refuse(f"the repeat count {match.group(0)}")
        else:
            return atom
        if atom[0] in ("begin", "end", "end_string"):
            raise self.refuse("a repeated anchor")
        lazy = self.peek() == "?"
        if lazy:
            self.pos += 1
        if self.peek() and self.peek() in "*+?{":
            raise self.refuse("a repeat of a repeat (possessive or nested)")
        return ("repeat", atom, low, high, lazy)


def _emit_alternation(branches: list[list[_Node]], *, tail: bool) -> str:
    return "|".join(_emit_sequence(branch, tail=tail) for branch in branches)


def _emit_sequence(nodes: list[_Node], *, tail: bool) -> str:
    return "".join(_emit(node, tail=tail and i == len(nodes) - 1) for i, node in enumerate(nodes))


def _emit(node: _Node, *, tail: bool) -> str:
    kind = node[0]
    if kind == "lit":
        return _emit_char(node[1], _SPECIAL)
    if kind == "any":
        return r"[^\n]"
    if kind == "begin":
        return r"\A"
    if kind == "end_string":
        return r"\z"
    if kind == "end":
        if not tail:
            raise ValueError("'$' is only supported at the very end of the pattern (or of a branch)")
        return r"\n?\z"
    if kind == "group":
        return "(?:" + _emit_alternation(node[1], tail=tail) + ")"
    if kind == "class":
        _, negated, ranges = node
        body = "".join(
            _emit_char(low, _CLASS_SPECIAL) + ("" if low == high else "-" + _emit_char(high, _CLASS_SPECIAL))
            for low, high in ranges
        )
        return "[" + ("^" if negated else "") + body + "]"
    _, atom, low, high, lazy = node
    inner = _emit(atom, tail=False)
    count = {(0, None): "*", (1, None): "+", (0, 1): "?"}.get((low, high))
    if count is None:
        count = f"{{{low}}}" if high == low else f"{{{low},{'' if high is None else high}}}"
    return inner + count + ("?" if lazy else "")


def _emit_char(char: str, special: set[str]) -> str:
    code = ord(char)
    if 0xD800 <= code <= 0xDFFF:
        raise ValueError("a lone surrogate is not supported")
    if code < 0x20 or code == 0x7F:
        return f"\\x{code:02X}"
    if char in special:
        return "\\" + char
    return char
