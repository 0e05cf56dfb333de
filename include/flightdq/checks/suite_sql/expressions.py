"""SQL building blocks shared by the compiler and the query (sqlglot expressions, Trino SQL): a
quoted column, "missing" as GX's pandas engine sees it, and literals compared exactly."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

from sqlglot import exp

from flightdq.checks.suite_sql.model import READ_DIALECT
from flightdq.checks.suite_sql.types import DOUBLE, NUMERIC, TIMESTAMP, VARCHAR

TIMESTAMP_TZ = exp.DataType.build("TIMESTAMP(6) WITH TIME ZONE", dialect=READ_DIALECT)


def column(name: str) -> exp.Column:
    return exp.column(exp.to_identifier(name, quoted=True))


def missing(name: str, sql_type: str) -> exp.Expression:
    """NULL, or NaN in a double column: what pandas' isnull sees in the frame GX validates."""
    is_null = exp.Is(this=column(name), expression=exp.Null())
    if sql_type == DOUBLE:
        return exp.paren(exp.or_(is_null, exp.IsNan(this=column(name))), copy=False)
    return is_null


def present(name: str, sql_type: str) -> exp.Expression:
    return exp.not_(missing(name, sql_type))


def double_literal(value: float) -> exp.Expression:
    text = repr(value)
    return exp.Literal.number(text if "e" in text else f"{text}E0")  # E makes it a DOUBLE in Trino


def literal(value: Any, sql_type: str) -> exp.Expression:
    """The SQL literal for a constant compared with a column of `sql_type` (a value of its kind)."""
    if sql_type in NUMERIC:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{value!r} is not a number, the column is {sql_type}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value!r} is not a finite number")
        if isinstance(value, int):
            return exp.Literal.number(str(value))
        return double_literal(value)
    if sql_type == VARCHAR:
        if not isinstance(value, str):
            raise ValueError(f"{value!r} is not a string, the column is varchar")
        return exp.Literal.string(value)
    if sql_type == TIMESTAMP:
        return timestamp_literal(instant(value))
    raise ValueError(f"columns of type {sql_type} are not supported")


def instant(value: Any) -> datetime:
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


def timestamp_literal(instant: datetime) -> exp.Expression:
    text = instant.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") + " UTC"
    return exp.cast(exp.Literal.string(text), TIMESTAMP_TZ)
