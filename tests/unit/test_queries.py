"""The checks' SQL is written once in Trino SQL: it parses as Trino, renders for both engines, and
takes values only as bound literals."""

from __future__ import annotations

import pytest
import sqlglot
from sqlglot.errors import ErrorLevel

from flightdq.checks import queries


@pytest.mark.parametrize("name", queries.template_names())
def test_every_template_is_valid_trino_sql(name):
    parsed = sqlglot.parse(queries.template_text(name), read="trino", error_level=ErrorLevel.RAISE)
    assert len(parsed) == 1 and parsed[0] is not None
    assert queries.placeholders(name) == {"start_dt", "end_dt"}
    athena = queries.render(name, "trino", start_dt="2026-11-01", end_dt="2026-11-02")
    assert "'2026-11-01'" in athena and ":start_dt" not in athena
    # the Athena text parses again as Trino: what we send is what we wrote
    assert sqlglot.parse_one(athena, read="trino", error_level=ErrorLevel.RAISE) is not None


def test_values_are_bound_as_literals_not_pasted():
    sql = queries.render("partition_stats", "duckdb", start_dt="x' OR 1=1 --", end_dt="2026-11-02")
    assert "'x'' OR 1=1 --'" in sql  # quoted inside one literal


def test_wrong_parameters_are_rejected():
    with pytest.raises(queries.QueryTemplateError, match="takes"):
        queries.render("partition_stats", "duckdb", start_dt="2026-11-01")
    with pytest.raises(queries.QueryTemplateError, match="string or number"):
        queries.render("partition_stats", "duckdb", start_dt=["a"], end_dt="b")
    with pytest.raises(queries.QueryTemplateError, match="no SQL template"):
        queries.template_text("nope")


def test_trino_idioms_are_translated_for_duckdb():
    sql = queries.render("partition_stats", "duckdb", start_dt="2026-11-01", end_dt="2026-11-02")
    assert "TO_UNIXTIME" not in sql.upper() and "EPOCH" in sql.upper()
