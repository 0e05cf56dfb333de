"""Column types: the logical families rules are compiled against, type names as Trino/Athena/Glue or
DuckDB spell them normalised (`normalize_type`), and the pandas dtypes of the GX frame that
`expect_column_type_to_be` names (`PANDAS_DTYPES`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Dialect = Literal["trino", "duckdb"]

# Logical types a rule can be compiled against.
VARCHAR = "varchar"
BIGINT = "bigint"
DOUBLE = "double"
TIMESTAMP = "timestamp"
NUMERIC = (BIGINT, DOUBLE)


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


# The dtypes `gx_validation.arrow_to_pandas` gives the contract's arrow types.
PANDAS_DTYPES = {
    "str": SqlType(VARCHAR),
    "Int64": SqlType(BIGINT),
    "float64": SqlType(DOUBLE),
    "datetime64[us, UTC]": SqlType(TIMESTAMP, 6, True),
}


def logical(sql_type: str) -> str:
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


def type_matches(expected: SqlType, actual: SqlType, dialect: Dialect) -> bool:
    if expected.family != actual.family:
        return False
    if expected.family != TIMESTAMP or dialect == "trino":
        return True
    return expected == actual
