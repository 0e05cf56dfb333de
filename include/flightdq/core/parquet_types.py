"""Parquet column types, spelled the same whoever reads the footer: `<physical>[ <logical>]`, e.g.
`BYTE_ARRAY STRING`, `INT64`, `DOUBLE`, `INT64 TIMESTAMP(MICROS,UTC)`, `INT32`, `GROUP LIST`.

The contract states the processed files' types in Parquet terms (strings as UTF-8 strings, bigint
as int64, double as float64, timestamps as microsecond timestamps adjusted to UTC): `CONTRACT_TYPES`
spells them. The local backend reads footers with DuckDB (`parquet_schema()`, `from_duckdb`), the
AWS backend with pyarrow over ranged GETs (`from_pyarrow`); both give these spellings, so a file is
judged alike on both. Arrow-only details a writer may store beside the Parquet types (large_string,
a dictionary, a time zone name) are not Parquet types and are not seen here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# The contract's column types (core.contract's sql_type) as Parquet spells them.
CONTRACT_TYPES = {
    "string": "BYTE_ARRAY STRING",
    "bigint": "INT64",
    "double": "DOUBLE",
    "timestamp": "INT64 TIMESTAMP(MICROS,UTC)",
}
# Spellings that mean the same type: an int64 may carry an explicit signed 64-bit annotation.
SYNONYMS = {"INT64 INT(64,SIGNED)": "INT64"}
_UNITS = {"MILLIS": "MILLIS", "MICROS": "MICROS", "NANOS": "NANOS"}
_JSON_UNITS = {"milliseconds": "MILLIS", "microseconds": "MICROS", "nanoseconds": "NANOS"}
# Legacy converted types, when a reader shows no logical type.
_CONVERTED = {
    "UTF8": ("STRING", {}),
    "TIMESTAMP_MILLIS": ("TIMESTAMP", {"unit": "MILLIS", "utc": True}),
    "TIMESTAMP_MICROS": ("TIMESTAMP", {"unit": "MICROS", "utc": True}),
    "LIST": ("LIST", {}),
    "MAP": ("MAP", {}),
    "DATE": ("DATE", {}),
}


def spell(
    physical: str | None,
    logical: str | None = None,
    *,
    unit: str | None = None,
    utc: bool | None = None,
    bits: int | None = None,
    signed: bool | None = None,
) -> str:
    """The spelling of one column's type (`physical` None: a group, such as a list or a struct)."""
    base = (physical or "GROUP").upper()
    kind = (logical or "").upper()
    if kind in ("", "NONE"):
        return base
    if kind == "TIMESTAMP":
        kind = f"TIMESTAMP({unit},{'UTC' if utc else 'LOCAL'})"
    elif kind == "INT":
        kind = f"INT({bits},{'SIGNED' if signed else 'UNSIGNED'})"
    spelled = f"{base} {kind}"
    return SYNONYMS.get(spelled, spelled)


def from_duckdb(rows: Sequence[Sequence[Any]]) -> dict[str, str]:
    """Top-level column -> spelling, from DuckDB's `parquet_schema()` rows of one file, each
    (name, type, converted_type, logical_type, num_children), in the function's order (the root
    first, then the tree depth-first)."""
    columns: dict[str, str] = {}
    position = 1
    children = int(rows[0][4] or 0) if rows else 0
    for _ in range(children):
        name, physical, converted, logical = rows[position][:4]
        columns[name] = _from_duckdb_row(physical, converted, logical)
        position = _skip_subtree(rows, position)
    return columns


def _skip_subtree(rows: Sequence[Sequence[Any]], position: int) -> int:
    """The position after the node at `position` and everything below it."""
    pending = 1
    while pending:
        pending += int(rows[position][4] or 0) - 1
        position += 1
    return position


def _from_duckdb_row(physical: str | None, converted: str | None, logical: str | None) -> str:
    if logical:
        match = re.match(r"(\w+?)Type\((.*)\)$", logical)
        kind, args = (match.group(1), match.group(2)) if match else (logical, "")
        attrs: dict[str, Any] = {}
        if kind.upper() == "TIMESTAMP":
            attrs["utc"] = bool(re.search(r"isAdjustedToUTC=(1|true)", args, re.IGNORECASE))
            found = re.search(r"(MILLIS|MICROS|NANOS)=(?!<null>)", args)
            attrs["unit"] = _UNITS[found.group(1)] if found else "?"
        elif kind.upper() == "INT":
            bits = re.search(r"bitWidth=(\d+)", args)
            attrs["bits"] = int(bits.group(1)) if bits else None
            attrs["signed"] = bool(re.search(r"isSigned=(1|true)", args, re.IGNORECASE))
        return spell(physical, kind, **attrs)
    if converted in _CONVERTED:
        kind, attrs = _CONVERTED[converted]
        return spell(physical, kind, **attrs)
    return spell(physical, converted)


def from_pyarrow(
    top_level: Iterable[tuple[str, str | None]], leaves: Mapping[str, tuple[str, Mapping[str, Any]]]
) -> dict[str, str]:
    """Top-level column -> spelling, from pyarrow: `top_level` is each top-level field's name with,
    for a group, its kind ("LIST", "MAP", "" for a struct; None for a primitive column), and
    `leaves` maps a primitive column's path to (physical type, logical type as `to_json()` reads)."""
    columns = {}
    for name, group in top_level:
        if group is not None:
            columns[name] = spell(None, group)
            continue
        physical, logical = leaves[name]
        kind = str(logical.get("Type") or "")
        attrs: dict[str, Any] = {}
        if kind.upper() == "TIMESTAMP":
            unit = _JSON_UNITS.get(logical.get("timeUnit"), "?")
            attrs = {"unit": unit, "utc": logical.get("isAdjustedToUTC")}
        elif kind.upper() == "INT":
            attrs = {"bits": logical.get("bitWidth"), "signed": logical.get("isSigned")}
        columns[name] = spell(physical, kind, **attrs)
    return columns
