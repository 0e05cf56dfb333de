"""The engine behind the emulated Athena: a query's Trino SQL transpiled to DuckDB by sqlglot and run
over the Parquet objects of the table's registered Glue partitions (those the query's partition
predicate keeps, as Athena prunes them), read with the Glue table's column types. DuckDB's httpfs
cannot be downloaded offline, so objects are fetched through the emulator's own S3 API into a local
cache."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from flightdq.backends.local.backend import NAN_SAFE_SETTING
from flightdq.core.layout import is_data_file
from flightdq_dev.emulator.common import QueryFailed
from flightdq_dev.emulator.pruning import partition_filter, referenced_columns
from flightdq_dev.emulator.typemap import athena_text, athena_type, compatible, duckdb_type

if TYPE_CHECKING:
    from flightdq_dev.emulator.athena import QueryRecord
    from flightdq_dev.emulator.server import AwsEmulator


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def execute_on_duckdb(emulator: AwsEmulator, record: QueryRecord) -> None:
    import duckdb
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(record.query, read="trino")
    except sqlglot.errors.ParseError as exc:
        raise QueryFailed(f"SYNTAX_ERROR: {str(exc).splitlines()[0]}") from None
    if not isinstance(tree, exp.Query):
        raise QueryFailed("NOT_SUPPORTED: the emulated Athena runs SELECT queries only")
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    tables: dict[tuple[str, str], list[exp.Table]] = {}
    for table in tree.find_all(exp.Table):
        if not table.name or (table.name in ctes and not table.db):
            continue
        tables.setdefault(((table.db or record.database).lower(), table.name.lower()), []).append(table)

    # Spill files under the system's temporary folder, not DuckDB's default `.tmp` in the working one.
    from flightdq.backends.local.backend import spill_directory

    connection = duckdb.connect(":memory:", config={"threads": 2, "temp_directory": spill_directory()})
    try:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(NAN_SAFE_SETTING)  # as the embedded engine: NaN in Parquet doubles judged right
        referenced = referenced_columns(tree)
        for (database, name), references in tables.items():
            view = _table_view(emulator, connection, record, database, name, references, referenced)
            connection.execute(f"CREATE OR REPLACE TEMP VIEW {_ident(name)} AS {view}")
        for table in tree.find_all(exp.Table):
            table.set("db", None)
            table.set("catalog", None)
        try:
            cursor = connection.execute(tree.sql(dialect="duckdb"))
            description = cursor.description
            values = cursor.fetchall()
        except duckdb.Error as exc:
            kind = (
                "SYNTAX_ERROR"
                if isinstance(exc, duckdb.ParserException | duckdb.BinderException)
                else ("GENERIC_USER_ERROR")
            )
            raise QueryFailed(f"{kind}: {str(exc).strip().splitlines()[0]}") from None
    finally:
        connection.close()
    types = [athena_type(str(d[1])) for d in description]
    record.columns = [
        {
            "CatalogName": "hive",
            "SchemaName": "",
            "TableName": "",
            "Name": d[0],
            "Label": d[0],
            "Type": kind,
            "Precision": precision,
            "Scale": scale,
            "Nullable": "UNKNOWN",
            "CaseSensitive": kind == "varchar",
        }
        for d, (kind, precision, scale) in zip(description, types, strict=True)
    ]
    record.rows = [
        [athena_text(v, kind) for v, (kind, _p, _s) in zip(row, types, strict=True)] for row in values
    ]


def _table_view(
    emulator: AwsEmulator,
    connection: Any,
    record: QueryRecord,
    database: str,
    name: str,
    references: list[Any],
    referenced: set[str] | None,
) -> str:
    """SELECT ... over the Parquet objects of the table's registered partitions that the query's
    partition predicate keeps, with the Glue table's columns and types."""
    import duckdb
    import pyarrow.parquet as pq

    glue = emulator._moto_client("glue", record.region)
    s3 = emulator._moto_client("s3", record.region)
    try:
        table = glue.get_table(DatabaseName=database, Name=name)["Table"]
    except glue.exceptions.EntityNotFoundException:
        raise QueryFailed(
            f"TABLE_NOT_FOUND: line 1:1: Table 'awsdatacatalog.{database}.{name}' does not exist"
        ) from None
    sd = table.get("StorageDescriptor") or {}
    serde = ((sd.get("SerdeInfo") or {}).get("SerializationLibrary") or "") + (sd.get("InputFormat") or "")
    if "parquet" not in serde.lower():
        raise QueryFailed(f"NOT_SUPPORTED: the emulator reads Parquet tables only ({database}.{name})")
    columns = [(c["Name"].lower(), c["Type"]) for c in sd.get("Columns") or []]
    keys = [(k["Name"].lower(), k["Type"]) for k in table.get("PartitionKeys") or []]
    if keys:
        partitions = []
        for page in glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=name):
            partitions += page.get("Partitions") or []
        chosen = [
            (dict(zip([k for k, _ in keys], p["Values"], strict=True)), p["StorageDescriptor"]["Location"])
            for p in partitions
        ]
        condition = partition_filter(references, {k for k, _ in keys})
        if condition is not None and chosen:  # DuckDB evaluates it over the partitions' values
            rows = ", ".join(
                f"({i}, " + ", ".join(f"CAST({_sql_string(v[k])} AS {duckdb_type(t)})" for k, t in keys) + ")"
                for i, (v, _) in enumerate(chosen)
            )
            names = ", ".join(["_i", *(_ident(k) for k, _ in keys)])
            with contextlib.suppress(duckdb.Error):  # not evaluable on the keys alone: read every one
                kept = connection.execute(f"SELECT _i FROM (VALUES {rows}) AS p({names}) WHERE {condition}")
                chosen = [chosen[i] for (i,) in sorted(kept.fetchall())]
    else:
        chosen = [({}, sd.get("Location") or "")]
    selects = []
    for values, location in sorted(chosen, key=lambda c: sorted(c[0].items())):
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        listed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            listed += page.get("Contents") or []
        files = [o for o in listed if is_data_file(o["Key"][len(prefix) :])]
        if files:
            record.scanned_partitions.append(",".join(f"{k}={v}" for k, v in values.items()) or name)
        for obj in files:
            path = emulator._fetch(record.region, bucket, obj)
            record.scanned_bytes += int(obj["Size"])
            file_schema = pq.read_schema(path)
            present = {f.name.lower(): f for f in file_schema}
            parts = []
            for column, glue_type in columns:
                field_ = present.get(column)
                if field_ is None:
                    parts.append(f"CAST(NULL AS {duckdb_type(glue_type)}) AS {_ident(column)}")
                    continue
                if (referenced is None or column in referenced) and not compatible(glue_type, field_.type):
                    raise QueryFailed(
                        f"HIVE_BAD_DATA: Field {column}'s type {field_.type} in parquet file "
                        f"s3://{bucket}/{obj['Key']} is incompatible with type {glue_type} "
                        "defined in table schema"
                    )
                parts.append(f"CAST({_ident(field_.name)} AS {duckdb_type(glue_type)}) AS {_ident(column)}")
            for key, key_type in keys:
                parts.append(f"CAST({_sql_string(values[key])} AS {duckdb_type(key_type)}) AS {_ident(key)}")
            selects.append(f"SELECT {', '.join(parts)} FROM read_parquet({_sql_string(str(path))})")
    if not selects:
        nulls = [f"CAST(NULL AS {duckdb_type(t)}) AS {_ident(c)}" for c, t in [*columns, *keys]]
        return f"SELECT {', '.join(nulls)} WHERE false"
    return "\nUNION ALL\n".join(selects)
