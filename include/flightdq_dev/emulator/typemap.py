"""Types and values between Glue, Parquet, DuckDB and Athena: the DuckDB type a Glue column is read
as, whether a Parquet column's type is readable as the table's, and a DuckDB result column's Athena
type and the text Athena sends its values as."""

from __future__ import annotations

from datetime import UTC
from decimal import Decimal
from typing import Any

from flightdq_dev.emulator.common import QueryFailed

_GLUE_TO_DUCKDB = {
    "string": "VARCHAR",
    "varchar": "VARCHAR",
    "char": "VARCHAR",
    "bigint": "BIGINT",
    "int": "INTEGER",
    "integer": "INTEGER",
    "smallint": "SMALLINT",
    "tinyint": "TINYINT",
    "double": "DOUBLE",
    "float": "FLOAT",
    "boolean": "BOOLEAN",
    "timestamp": "TIMESTAMP",  # Athena's timestamp has no zone; the session zone is UTC
    "date": "DATE",
}


def duckdb_type(glue_type: str) -> str:
    kind = glue_type.strip().lower()
    if kind.startswith("decimal"):
        return kind.upper()
    base = kind.split("(")[0]
    if base not in _GLUE_TO_DUCKDB:
        raise QueryFailed(f"NOT_SUPPORTED: the emulator cannot read columns of type {glue_type}")
    return _GLUE_TO_DUCKDB[base]


def compatible(glue_type: str, arrow_type: Any) -> bool:
    """Whether Athena reads a Parquet column of `arrow_type` as the table's `glue_type`."""
    import pyarrow as pa

    base = glue_type.strip().lower().split("(")[0]
    widths = {"bigint": 64, "int": 32, "integer": 32, "smallint": 16, "tinyint": 8}
    if base in ("string", "varchar", "char"):
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    if base in widths:
        return pa.types.is_signed_integer(arrow_type) and arrow_type.bit_width <= widths[base]
    if base in ("double", "float"):
        return pa.types.is_floating(arrow_type)
    checks = {
        "boolean": pa.types.is_boolean,
        "timestamp": pa.types.is_timestamp,
        "date": pa.types.is_date,
        "decimal": pa.types.is_decimal,
    }
    return checks.get(base, lambda _t: True)(arrow_type)


def athena_type(column_type: str) -> tuple[str, int, int]:
    """(Athena type name, precision, scale) for a DuckDB result column type."""
    kind = column_type.upper()
    if kind.startswith("DECIMAL"):
        precision, _, scale = kind[kind.index("(") + 1 : -1].partition(",")
        return "decimal", int(precision), int(scale or 0)
    table = {
        "BIGINT": ("bigint", 19),
        "HUGEINT": ("bigint", 19),  # Trino's sum(bigint) is a bigint
        "UBIGINT": ("bigint", 19),
        "UINTEGER": ("bigint", 19),
        "INTEGER": ("integer", 10),
        "USMALLINT": ("integer", 10),
        "SMALLINT": ("smallint", 5),
        "UTINYINT": ("smallint", 5),
        "TINYINT": ("tinyint", 3),
        "DOUBLE": ("double", 17),
        "FLOAT": ("float", 17),
        "BOOLEAN": ("boolean", 0),
        "DATE": ("date", 0),
        "VARCHAR": ("varchar", 2147483647),
    }
    if kind in table:
        name, precision = table[kind]
        return name, precision, 0
    if kind.startswith("TIMESTAMP WITH TIME ZONE"):
        return "timestamp with time zone", 3, 0
    if kind.startswith("TIMESTAMP"):
        return "timestamp", 3, 0
    return "varchar", 2147483647, 0


def athena_text(value: Any, kind: str) -> str | None:
    """A value as Athena prints it in GetQueryResults."""
    if value is None:
        return None
    if kind == "boolean":
        return "true" if value else "false"
    if kind in ("double", "float"):
        return java_double(float(value))
    if kind == "timestamp":
        moment = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
    if kind == "timestamp with time zone":
        moment = value.astimezone(UTC)
        return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"
    if kind == "date":
        return value.isoformat()
    return str(value)


def java_double(value: float) -> str:
    """A double as Java's Double.toString writes it (what Athena returns): 1.7943552E9, 0.5, NaN."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "-0.0" if str(value).startswith("-") else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        text = repr(value)
        return text if "." in text or "e" in text else text + ".0"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    mantissa = "".join(str(d) for d in digits)
    power = len(mantissa) + int(exponent) - 1
    return f"{'-' if sign else ''}{mantissa[0]}.{mantissa[1:] or '0'}E{power}"
