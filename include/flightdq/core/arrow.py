"""Pure helpers on Arrow schemas (no I/O), shared by both backends when a partition's files are read
as one table."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa


def unify_by_name(schemas: list[pa.Schema]) -> pa.Schema:
    """One schema holding every column of every file, matched by name; a column whose type differs
    between files keeps the first file's type (the caller decides whether the others may be cast)."""
    import pyarrow as pa

    fields: dict[str, pa.Field] = {}
    for schema in schemas:
        for field in schema:
            fields.setdefault(field.name, field)
    return pa.schema(list(fields.values()))


def parquet_type(arrow_type: pa.DataType) -> pa.DataType:
    """The arrow type a reader that ignores the stored Arrow schema (`ARROW:schema`, as Athena and
    DuckDB do) gives a column written from `arrow_type`: a dictionary is its values, a large string
    or binary the plain one, and a timestamp adjusted to UTC is UTC whatever zone name was stored."""
    import pyarrow as pa

    if pa.types.is_dictionary(arrow_type):
        return parquet_type(arrow_type.value_type)
    if pa.types.is_large_string(arrow_type):
        return pa.string()
    if pa.types.is_large_binary(arrow_type):
        return pa.binary()
    if pa.types.is_timestamp(arrow_type) and arrow_type.tz is not None:
        return pa.timestamp(arrow_type.unit, tz="UTC")
    return arrow_type


def as_parquet_reads(table: pa.Table) -> pa.Table:
    """`table` with each top-level column of the type its Parquet type gives (`parquet_type`)."""
    import pyarrow as pa

    schema = pa.schema([field.with_type(parquet_type(field.type)) for field in table.schema])
    return table if schema.equals(table.schema) else table.cast(schema)
