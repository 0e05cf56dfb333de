"""The day's transform as SQL, defined once (`sql/flights.sql`, DuckDB's dialect) and rendered for each
engine that runs it: DuckDB on the embedded lake (`flightdq.etl.transform`), Spark SQL in the Glue job
(`flightdq.etl.spark_job`). sqlglot renders it for Spark: 0-based array indexes, `arg_max` as
`max_by`, explicit `NULLS LAST` (Spark sorts nulls first). The SQL has no `QUALIFY`, which open-source
Spark 3.5 lacks.

The statement reads a relation `raw_states(file_ord, i, st)`, one row per state vector read (see the
file's header), and returns one row per flight with the contract's columns, times as unix seconds.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from pathlib import Path

from flightdq.core.dates import day_end, day_start

SQL_FILE = Path(__file__).with_name("sql") / "flights.sql"
GAP_SECONDS = 1800  # contact lost for more than this splits a flight (contract section 1)
DIALECTS = ("duckdb", "spark")


@cache
def _template(dialect: str) -> str:
    import sqlglot

    if dialect not in DIALECTS:
        raise ValueError(f"no rendering of the flights SQL for {dialect!r} (one of {', '.join(DIALECTS)})")
    text = SQL_FILE.read_text()
    if dialect == "duckdb":
        return text
    return sqlglot.transpile(text, read="duckdb", write=dialect, pretty=True)[0]


def flights_sql(dialect: str, day: date, *, gap_seconds: int = GAP_SECONDS) -> str:
    """The flights statement for `day`, in `dialect` ("duckdb" or "spark"). `gap_seconds` is also the
    length of the SQL's slices, whose distinct seconds it counts with one 60-bit mask per minute (30
    of them): a whole number of minutes, at most 30."""
    if not (60 <= gap_seconds <= 1800 and gap_seconds % 60 == 0):
        raise ValueError(f"gap_seconds must be a whole number of minutes up to 1800, not {gap_seconds}")
    values = {
        ":day_start": str(int(day_start(day).timestamp())),
        ":day_end": str(int(day_end(day).timestamp())),
        ":gap_seconds": str(int(gap_seconds)),
    }
    sql = _template(dialect)
    for placeholder, value in values.items():
        if placeholder not in sql:
            raise RuntimeError(f"{SQL_FILE.name} rendered for {dialect} lost its placeholder {placeholder}")
        sql = sql.replace(placeholder, value)
    return sql
