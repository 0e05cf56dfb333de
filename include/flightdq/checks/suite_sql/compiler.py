"""Compiling the suite: every expectation becomes a `CompiledRule` (a row rule's predicate in Trino
SQL, or a schema rule's column set or type), or raises `SuiteCompileError` naming the rule. The
semantic mapping and where GX and SQL engines differ are in the package docstring."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

from sqlglot import exp

from flightdq.checks.suite_sql.expressions import (
    column,
    double_literal,
    instant,
    literal,
    missing,
    present,
    timestamp_literal,
)
from flightdq.checks.suite_sql.model import READ_DIALECT, ROW, SCHEMA, CompiledRule, SuiteCompileError
from flightdq.checks.suite_sql.regex import portable_regex
from flightdq.checks.suite_sql.types import (
    BIGINT,
    NUMERIC,
    PANDAS_DTYPES,
    TIMESTAMP,
    VARCHAR,
    logical,
)
from flightdq.core.contract import PROCESSED_COLUMNS

# Arguments that never change an unexpected count.
_HARMLESS_KWARGS = frozenset({"mostly", "result_format", "catch_exceptions", "include_config"})


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
    types = {c.name: logical(c.sql_type) for c in PROCESSED_COLUMNS}
    types.update({name: logical(sql_type) for name, sql_type in (column_types or {}).items()})
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
    if compiled.kind == ROW:
        compiled = replace(compiled, mostly=_mostly(spec))
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

    def row(
        self, columns: Sequence[str], predicate: exp.Expression, ignored: exp.Expression | None
    ) -> CompiledRule:
        """A row rule: `predicate` is TRUE for the rows breaking it, `ignored` for the rows GX
        leaves out before judging (None: GX judges every row and reports no missing count)."""
        return CompiledRule(
            rule=self.rule,
            kind=ROW,
            expectation_type=self.etype,
            columns=tuple(columns),
            predicate=predicate.sql(dialect=READ_DIALECT),
            column_types=tuple(self.column_type(c) for c in columns),
            parameters=tuple(dict.fromkeys(self.parameters)),
            ignored=None if ignored is None else ignored.sql(dialect=READ_DIALECT),
        )


def _mostly(spec: _Spec) -> float | None:
    value = spec.kwargs.get("mostly")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        spec.fail(f"mostly must be a number within [0, 1], not {value!r}")
    return float(value)


# --- row rules --------------------------------------------------------------------------------------


def _compile_not_null(spec: _Spec) -> CompiledRule:
    name = spec.column()
    return spec.row([name], missing(name, spec.column_type(name)), None)


def _compile_between(spec: _Spec) -> CompiledRule:
    name = spec.column()
    sql_type = spec.column_type(name)
    if sql_type not in (TIMESTAMP, *NUMERIC):
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
    return spec.row([name], exp.and_(present(name, sql_type), exp.or_(*outside)), missing(name, sql_type))


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
            return instant(value)
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
        value = timestamp_literal(bound)
    elif sql_type == BIGINT:
        whole = math.ceil(bound) if op in (exp.LT, exp.GTE) else math.floor(bound)
        whole = min(max(whole, _BIGINT_MIN - 1), _BIGINT_MAX + 1)
        value = exp.Literal.number(str(whole))
    else:
        value = double_literal(bound)
    return op(this=column(name), expression=value)


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
    matches = exp.RegexpLike(this=column(name), expression=exp.Literal.string(portable))
    return spec.row([name], exp.and_(present(name, sql_type), exp.not_(matches)), missing(name, sql_type))


def _compile_in_set(spec: _Spec) -> CompiledRule:
    name = spec.column()
    sql_type = spec.column_type(name)
    values = spec.get("value_set")
    ignored = missing(name, sql_type)
    if values is None:  # GX: vacuously true
        return spec.row([name], exp.false(), ignored)
    if not isinstance(values, list | tuple | set | frozenset):
        spec.fail("value_set must be a list")
    if sql_type not in (VARCHAR, *NUMERIC):
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
            value_literal = literal(value, sql_type)
        except ValueError as exc:
            spec.fail(f"value_set: {exc}")
        literals.setdefault(value, value_literal)
    judged = present(name, sql_type)
    if not literals:
        return spec.row([name], judged, ignored)
    member = exp.In(this=column(name), expressions=list(literals.values()))
    return spec.row([name], exp.and_(judged, exp.not_(member)), ignored)


def _compile_pair_greater(spec: _Spec) -> CompiledRule:
    a, b = spec.column("column_A"), spec.column("column_B")
    type_a, type_b = spec.column_type(a), spec.column_type(b)
    if type_a != type_b and not (type_a in NUMERIC and type_b in NUMERIC):
        spec.fail(f"cannot compare {a} ({type_a}) with {b} ({type_b})")
    if type_a not in (VARCHAR, TIMESTAMP, *NUMERIC):
        spec.fail(f"columns of type {type_a} are not supported")
    or_equal = spec.flag("or_equal")
    ignore = spec.get("ignore_row_if", "both_values_are_missing")
    cls = exp.LT if or_equal else exp.LTE
    not_greater = cls(this=column(a), expression=column(b))
    both_present = exp.and_(present(a, type_a), present(b, type_b))
    compared = exp.and_(both_present, not_greater)
    if ignore == "either_value_is_missing":
        predicate = compared
        ignored = exp.or_(missing(a, type_a), missing(b, type_b))
    elif ignore == "both_values_are_missing":
        only_a = exp.and_(missing(a, type_a), present(b, type_b))
        only_b = exp.and_(present(a, type_a), missing(b, type_b))
        predicate = exp.or_(only_a, only_b, compared)
        ignored = exp.and_(missing(a, type_a), missing(b, type_b))
    elif ignore == "neither":
        predicate = exp.or_(missing(a, type_a), missing(b, type_b), compared)
        ignored = exp.false()
    else:
        spec.fail(f"ignore_row_if {ignore!r} is not one GX knows")
    return spec.row([a, b], predicate, ignored)


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
    expected = PANDAS_DTYPES.get(dtype) if isinstance(dtype, str) else None
    if expected is None:
        spec.fail(f"type_ {dtype!r} is not one of {sorted(PANDAS_DTYPES)}")
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
