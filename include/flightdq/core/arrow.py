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
