"""The checks' SQL, written once in Trino SQL (Athena engine v3) and rendered for each engine.

Templates live in `sql/*.sql` and take named placeholders (`:start_dt`). Values are bound into the
parsed statement as literals by sqlglot, never pasted into the text, and the statement is then
written out in the engine's dialect: `trino` for Athena, `duckdb` for the embedded engine. The
rendering is kept by `sql_cache` (values stand in as placeholder literals there, quoted when put
back), so a run whose templates were rendered before does not import sqlglot.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from flightdq.checks import sql_cache

if TYPE_CHECKING:
    from flightdq.backends.base import SqlEngine

SQL_DIR = Path(__file__).with_name("sql")
ATHENA_DIALECT = "trino"


class QueryTemplateError(ValueError):
    pass


def template_names() -> list[str]:
    return sorted(p.stem for p in SQL_DIR.glob("*.sql"))


@cache
def template_text(name: str) -> str:
    path = SQL_DIR / f"{name}.sql"
    if not path.is_file():
        raise QueryTemplateError(f"no SQL template named {name!r}")
    return path.read_text()


def _parse(name: str):
    import sqlglot

    return sqlglot.parse_one(template_text(name), read=ATHENA_DIALECT)


def placeholders(name: str) -> set[str]:
    from sqlglot import exp

    return {p.name for p in _parse(name).find_all(exp.Placeholder)}


def render(name: str, dialect: str, **params: str | int | float) -> str:
    """The template `name` with `params` bound as literals, written in `dialect`. With string
    values only (every template's), the rendering comes from `sql_cache` when it can."""
    for key, value in params.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise QueryTemplateError(f"parameter {key} of {name} must be a string or number")
    if all(isinstance(value, str) for value in params.values()):
        strings = {key: str(value) for key, value in params.items()}
        return sql_cache.render(
            f"template:{dialect}", template_text(name), strings, lambda values: _render(name, dialect, values)
        )
    return _render(name, dialect, params)


def _render(name: str, dialect: str, params: Mapping[str, object]) -> str:
    from sqlglot import exp

    expected = placeholders(name)
    if set(params) != expected:
        raise QueryTemplateError(f"template {name} takes {sorted(expected)}, was given {sorted(params)}")
    bound = exp.replace_placeholders(_parse(name), **params)
    return bound.sql(dialect=dialect, pretty=True)


def run(
    engine: SqlEngine, name: str, *, start_dt: str, end_dt: str, **params: str | int | float
) -> list[dict]:
    """Run the template `name` on `engine` for the days [start_dt, end_dt] (every template filters
    `dt` on them), rendered in the engine's dialect. Every template computes per partition
    (`GROUP BY dt ... ORDER BY dt`), so the engine may run it a partition at a time."""
    sql = render(name, engine.dialect, start_dt=start_dt, end_dt=end_dt, **params)
    return engine.run_sql(sql, label=name, dt_range=(start_dt, end_dt), by_partition=True)
