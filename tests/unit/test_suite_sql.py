"""The suite compiled to SQL (flightdq.checks.suite_sql), with Great Expectations as the reference.

Every GX comparison runs `gx_validation.validate_table` (pandas) and the compiled query on DuckDB
over the same arrow table, and asserts equal unexpected counts per row rule and an equal union.
GX costs ~2 s a run after a ~15 s import, so the hand-picked cases share a few big tables and the
property-based ones are capped (hypothesis, few examples of many rows each).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import sqlglot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightdq.checks.gx_validation import DEFAULT_SUITE_PATH, day_parameters, validate_table
from flightdq.checks.suite_sql import (
    FAILING_ROWS,
    SUPPORTED_TYPES,
    TOTAL_ROWS,
    SqlType,
    SuiteCompileError,
    check_schema,
    compile_suite,
    evaluable_row_rules,
    load_suite,
    normalize_type,
    portable_regex,
    row_rules,
    row_rules_query,
)
from flightdq.core.contract import PROCESSED_COLUMNS, processed_arrow_schema

DAY = date(2026, 11, 26)
DAY_START = datetime(2026, 11, 26, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
US = timedelta(microseconds=1)
TABLE = "flightdata_processed"
ODD_ZONE = "America/St_Johns"  # UTC-03:30: the SQL must not lean on the session time zone

SUITE = load_suite(DEFAULT_SUITE_PATH)
RULES = compile_suite(SUITE)

# Expectations beyond the real suite's, on the contract's columns, for the kinds and options the
# real suite does not use (sets, strict bounds, one-sided bounds, literal timestamps, the pair's
# other ignore_row_if modes, more regex syntax, not-null on a double).
EXTRA = [
    ("expect_column_values_to_be_in_set", {"column": "squawk", "value_set": ["7500", "7700", "1000", None]}),
    ("expect_column_values_to_be_in_set", {"column": "position_count", "value_set": [1, 2, 3, 5.0, 12]}),
    ("expect_column_values_to_be_in_set", {"column": "max_velocity", "value_set": [0, 236.5, 700]}),
    ("expect_column_values_to_be_in_set", {"column": "callsign", "value_set": []}),
    (
        "expect_column_values_to_be_between",
        {
            "column": "first_latitude",
            "min_value": -90,
            "max_value": 90,
            "strict_min": True,
            "strict_max": True,
        },
    ),
    ("expect_column_values_to_be_between", {"column": "max_velocity", "max_value": 300, "strict_max": True}),
    ("expect_column_values_to_be_between", {"column": "position_count", "min_value": 1, "strict_min": True}),
    ("expect_column_values_to_be_between", {"column": "position_count", "min_value": 0.5, "max_value": 12.5}),
    (
        "expect_column_values_to_be_between",
        {
            "column": "first_seen",
            "min_value": "2026-11-26T06:00:00+02:00",
            "max_value": "2026-11-26T18:00:00.000001-05:00",
            "mostly": 0.5,
        },
    ),
    (
        "expect_column_values_to_be_between",
        {"column": "position_count", "max_value": 2**53 + 1},
    ),  # 2.0**53 to GX
    ("expect_column_pair_values_a_to_be_greater_than_b", {"column_A": "last_seen", "column_B": "first_seen"}),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {
            "column_A": "last_latitude",
            "column_B": "first_latitude",
            "or_equal": True,
            "ignore_row_if": "neither",
        },
    ),
    (
        "expect_column_pair_values_a_to_be_greater_than_b",
        {"column_A": "callsign", "column_B": "squawk", "ignore_row_if": "either_value_is_missing"},
    ),
    ("expect_column_values_to_match_regex", {"column": "callsign", "regex": r"^(?:DLH|BAW)[0-9]+$|^X.$"}),
    ("expect_column_values_to_match_regex", {"column": "icao24", "regex": r"[0-9a-f]{6}\Z"}),
    ("expect_column_values_to_match_regex", {"column": "flight_id", "regex": r"-[0-9]{3}"}),
    ("expect_column_values_to_match_regex", {"column": "squawk", "regex": r"^7[0-7]0{2}$"}),
    ("expect_column_values_to_match_regex", {"column": "origin_country", "regex": r"^[A-Z][a-z .\-]*$"}),
    ("expect_column_values_to_match_regex", {"column": "origin_country", "regex": r"^.+$"}),
    ("expect_column_values_to_not_be_null", {"column": "first_latitude"}),
    ("expect_column_values_to_not_be_null", {"column": "callsign"}),
]
EXTRA_SUITE = {
    **SUITE,
    "expectations": SUITE["expectations"]
    + [
        {"type": kind, "kwargs": kwargs, "meta": {"rule": f"extra_{i:02d}", "column": None, "kind": "row"}}
        for i, (kind, kwargs) in enumerate(EXTRA)
    ],
}
EXTRA_RULES = compile_suite(EXTRA_SUITE)


@pytest.fixture(scope="module")
def extra_suite_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("suite") / "extra.json"
    path.write_text(json.dumps(EXTRA_SUITE))
    return path


# --- helpers --------------------------------------------------------------------------------------


def valid_row(i: int, day: date = DAY) -> dict:
    start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    first = start + timedelta(minutes=(97 * i) % 1380)
    icao = f"{0x3C6400 + i:06x}"
    return {
        "flight_id": f"{icao}-{int(first.timestamp())}",
        "icao24": icao,
        "callsign": f"DLH{400 + i}",
        "origin_country": "Germany",
        "first_seen": first,
        "last_seen": first + timedelta(minutes=42),
        "position_count": 5 + i,
        "first_latitude": 50.03,
        "first_longitude": 8.57,
        "last_latitude": 48.35,
        "last_longitude": 11.78,
        "max_baro_altitude": 11277.6,
        "max_velocity": 236.5,
        "squawk": "1000",
    }


def table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=processed_arrow_schema())


def sql_counts(partitions: dict[str, pa.Table], rules=RULES, **query_args) -> dict[str, dict[str, int]]:
    """dt -> {column: count} from the compiled query, run on DuckDB over the partitions' rows."""
    tables = [t.append_column("dt", pa.array([dt] * t.num_rows, pa.string())) for dt, t in partitions.items()]
    sql = row_rules_query(rules, TABLE, dialect="duckdb", **query_args)
    with duckdb.connect() as con:
        con.execute(f"SET TimeZone = '{ODD_ZONE}'")
        con.register(TABLE, pa.concat_tables(tables))
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return {row[0]: dict(zip(names[1:], row[1:], strict=True)) for row in cursor.fetchall()}


def gx_counts(table: pa.Table, day: date, suite_path: Path | None = None) -> dict[str, int]:
    """The same columns from Great Expectations: every row rule's unexpected_count and the union."""
    report = validate_table(table, day, suite_path=suite_path)
    rows = [o for o in report.rules if o.kind == "row"]
    assert all(o.evaluated for o in rows), [o.rule for o in rows if not o.evaluated]
    return {
        TOTAL_ROWS: report.total_rows,
        FAILING_ROWS: report.failing_rows,
        **{o.rule: o.unexpected_count for o in rows},
    }


def assert_same_as_gx(table: pa.Table, suite_path: Path | None = None, rules=RULES) -> dict[str, int]:
    expected = gx_counts(table, DAY, suite_path)
    found = sql_counts({str(DAY): table}, rules)[str(DAY)]
    assert found == expected
    return found


# --- (a) compiling --------------------------------------------------------------------------------


def test_every_expectation_of_the_suite_compiles():
    assert [r.rule for r in RULES] == [e["meta"]["rule"] for e in SUITE["expectations"]]
    assert [r.kind for r in RULES] == [e["meta"]["kind"] for e in SUITE["expectations"]]
    assert {e["type"] for e in SUITE["expectations"]} <= SUPPORTED_TYPES
    for rule in row_rules(RULES):
        assert rule.predicate and rule.columns
        sqlglot.parse_one(rule.predicate, read="trino")  # valid Trino SQL
    within = [r for r in RULES if r.rule.endswith("_within_day")]
    assert [r.parameters for r in within] == [("day_start", "day_end")] * 2
    types = {r.columns[0]: str(r.expected_type) for r in RULES if r.expected_type}
    assert types["first_seen"] == "timestamp(6) with time zone"
    assert types["position_count"] == "bigint"


def test_the_suite_regexes_are_anchored_and_respelled():
    predicates = {r.rule: r.predicate for r in RULES}
    assert r"'\A[0-9a-f]{6}\n?\z'" in predicates["icao24_format"]
    assert r"'\A[A-Z0-9]{2,8}\n?\z'" in predicates["callsign_format"]
    assert "IS_NAN(" in predicates["max_velocity_range"]
    assert "IS_NAN(" not in predicates["position_count_at_least_one"]


def with_expectation(expectation: dict) -> dict:
    return {**SUITE, "expectations": [*SUITE["expectations"], expectation]}


def test_an_unknown_expectation_type_is_refused_by_name():
    unknown = {
        "type": "expect_column_values_to_be_unique",
        "kwargs": {"column": "flight_id"},
        "meta": {"rule": "flight_id_unique", "kind": "row"},
    }
    with pytest.raises(SuiteCompileError, match=r"flight_id_unique.*expect_column_values_to_be_unique"):
        compile_suite(with_expectation(unknown))


def row_exp(kind: str, **kwargs) -> dict:
    return {"type": kind, "kwargs": kwargs, "meta": {"rule": "odd_rule", "kind": "row"}}


BETWEEN = "expect_column_values_to_be_between"
REFUSED = {
    "row_condition": (
        row_exp(BETWEEN, column="max_velocity", min_value=0, row_condition='col("x")>1'),
        "row_condition",
    ),
    "unknown argument": (row_exp(BETWEEN, column="max_velocity", min_value=0, min_valu=1), "min_valu"),
    "no bounds": (row_exp(BETWEEN, column="max_velocity"), "both be absent"),
    "min above max": (row_exp(BETWEEN, column="max_velocity", min_value=5, max_value=1), "greater than"),
    "naive timestamp": (row_exp(BETWEEN, column="first_seen", min_value="2026-11-26T00:00:00"), "offset"),
    "bounds on a string": (row_exp(BETWEEN, column="callsign", min_value="A"), "numeric or timestamp column"),
    "number parameter": (
        row_exp(BETWEEN, column="max_velocity", min_value={"$PARAMETER": "low"}),
        "only bound a timestamp",
    ),
    "string on a number": (row_exp(BETWEEN, column="max_velocity", max_value="7"), "not a number"),
    "parameter flag": (
        row_exp(BETWEEN, column="max_velocity", min_value=0, strict_min={"$PARAMETER": "s"}),
        "strict_min cannot be a suite parameter",
    ),
    "regex on a number": (
        row_exp("expect_column_values_to_match_regex", column="position_count", regex="^1$"),
        "string column",
    ),
    "unsupported regex": (
        row_exp("expect_column_values_to_match_regex", column="icao24", regex=r"^\w+$"),
        r"\\w",
    ),
    "set on a timestamp": (
        row_exp("expect_column_values_to_be_in_set", column="first_seen", value_set=["2026-11-26"]),
        "timestamp",
    ),
    "odd ignore_row_if": (
        row_exp(
            "expect_column_pair_values_a_to_be_greater_than_b",
            column_A="last_seen",
            column_B="first_seen",
            ignore_row_if="sometimes",
        ),
        "sometimes",
    ),
    "pair of kinds": (
        row_exp(
            "expect_column_pair_values_a_to_be_greater_than_b", column_A="callsign", column_B="max_velocity"
        ),
        "cannot compare",
    ),
    "unknown column type": (row_exp("expect_column_values_to_not_be_null", column="gate"), "gate"),
    "kind mismatch": (
        {
            "type": "expect_column_to_exist",
            "kwargs": {"column": "icao24"},
            "meta": {"rule": "odd_rule", "kind": "row"},
        },
        "meta.kind",
    ),
    "odd dtype": (
        {
            "type": "expect_column_type_to_be",
            "kwargs": {"column": "icao24", "type_": "int32[pyarrow]"},
            "meta": {"rule": "odd_rule", "kind": "schema"},
        },
        "int32",
    ),
    "no rule name": ({"type": BETWEEN, "kwargs": {"column": "max_velocity", "min_value": 0}}, "no meta.rule"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_what_cannot_be_translated_faithfully_is_refused(case: str):
    expectation, message = REFUSED[case]
    with pytest.raises(SuiteCompileError, match=message) as info:
        compile_suite(with_expectation(expectation))
    if "meta" in expectation:
        assert "odd_rule" in str(info.value)


def test_a_rule_name_used_twice_is_refused():
    twice = with_expectation(dict(SUITE["expectations"][-1]))
    with pytest.raises(SuiteCompileError, match="used twice"):
        compile_suite(twice)


def test_the_compiler_loads_neither_gx_nor_pandas_nor_airflow():
    probe = (
        "import sys, flightdq.checks.suite_sql; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'great_expectations', 'pandas', 'airflow', 'pyarrow', 'duckdb'}))"
    )
    include = str(Path(__file__).resolve().parents[2] / "include")
    env = {**os.environ, "PYTHONPATH": include}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, env=env)
    assert done.stdout.strip() == "[]"


def test_load_suite_reads_a_file(tmp_path: Path):
    path = tmp_path / "suite.json"
    path.write_text(json.dumps(SUITE))
    assert load_suite(path) == SUITE
    path.write_text("[]")
    with pytest.raises(SuiteCompileError, match="not an expectation suite"):
        load_suite(path)


# --- regular expressions --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pattern", "portable"),
    [
        (r"^[0-9a-f]{6}$", r"\A[0-9a-f]{6}\n?\z"),
        (r"a.b", r"a[^\n]b"),
        (r"(x|y$)", r"(?:x|y\n?\z)"),
        (r"^a|b$", r"\Aa|b\n?\z"),
        (r"a\Z", r"a\z"),
        (r"[a-]\.\-\]", r"[a\-]\.-\]"),
        (r"[^\n\x00-\x1f]+?", r"[^\x0A\x00-\x1F]+?"),
        (r"ab{2,}c{0,3}d{4}", r"ab{2,}c{0,3}d{4}"),
        (r"a&&b<c>", r"a&&b<c>"),
        (r"[&&]", r"[\&\&]"),
    ],
)
def test_portable_regex_spelling(pattern: str, portable: str):
    assert portable_regex(pattern) == portable


@pytest.mark.parametrize(
    "pattern",
    [
        r"\d+",
        r"\w",
        r"\s",
        r"\bx",
        r"(?i)abc",
        r"a(?=b)",
        r"(a)\1",
        r"(?P<n>a)",
        r"a$b",
        r"(a$)+",
        r"a{,3}",
        r"a{2000}",
        r"a{x",
        r"[[:alpha:]]",
        r"[]a]",
        r"[a-c-e]",
        r"a*+",
        r"^*",
        r"(",
    ],
)
def test_regex_outside_the_subset_is_refused(pattern: str):
    with pytest.raises(ValueError, match=r"supported|valid|unbalanced"):
        portable_regex(pattern)


REGEXES = [
    r"^[0-9a-f]{6}-[0-9]+$",
    r"^[0-9a-f]{6}$",
    r"^[A-Z0-9]{2,8}$",
    r"^[0-7]{4}$",
    r"^(?:DLH|BAW)[0-9]+$|^X.$",
    r"[0-9a-f]{6}\Z",
    r"-[0-9]{3}",
    r"^.+$",
    r"^$",
    r"a*$",
    r"^(ab|a)b?$",
    r"[^a-c]+",
    r"é.$",
    r"^[\x00-\x1f]",
    r"\.\-|x{2}",
    r"(?:a|b)?c$",
]
ALPHABET = "abcxAB0179-. é٣\n\r\x85\u2028\x00"


@pytest.mark.filterwarnings("ignore:This pattern is interpreted as a regular expression")
@settings(max_examples=30, deadline=None, database=None)
@given(st.lists(st.text(ALPHABET, max_size=8), min_size=1, max_size=60))
def test_portable_regexes_search_like_gx_on_duckdb(strings: list[str]):
    """Python's re.search, pandas' str.contains (GX's engine) and DuckDB on the respelled regex agree."""
    series = pd.Series(strings, dtype=pd.StringDtype("pyarrow", na_value=np.nan))
    with duckdb.connect() as con:
        duck = con.execute(
            "SELECT list(regexp_matches(s, p) ORDER BY i) FROM (SELECT unnest($1) AS s, "
            "unnest(range(len($1))) AS i) CROSS JOIN (SELECT unnest($2) AS p, unnest(range(len($2))) AS j) "
            "GROUP BY j ORDER BY j",
            [strings, [portable_regex(p) for p in REGEXES]],
        ).fetchall()
    for pattern, (found,) in zip(REGEXES, duck, strict=True):
        python = [re.search(pattern, s) is not None for s in strings]
        pandas = series.str.contains(pattern).tolist()  # what GX's pandas engine runs
        assert python == pandas == found, pattern


# --- schema ---------------------------------------------------------------------------------------

ATHENA_COLUMNS = {c.name: c.sql_type for c in PROCESSED_COLUMNS} | {"dt": "string"}
TRINO_COLUMNS = {
    c.name: {"string": "varchar", "timestamp": "timestamp(3)"}.get(c.sql_type, c.sql_type)
    for c in PROCESSED_COLUMNS
}


def duckdb_columns(table: pa.Table) -> dict[str, str]:
    with duckdb.connect() as con:
        con.register("t", table)
        return {name: kind for name, kind, *_ in con.execute("DESCRIBE t").fetchall()}


def test_the_contract_table_passes_the_schema_rules_on_both_engines():
    described = duckdb_columns(table_of([valid_row(0)]))
    assert described["first_seen"] == "TIMESTAMP WITH TIME ZONE"
    assert check_schema(RULES, described, dialect="duckdb") == []
    assert check_schema(RULES, ATHENA_COLUMNS, dialect="trino") == []
    assert check_schema(RULES, TRINO_COLUMNS, dialect="trino") == []
    assert len(evaluable_row_rules(RULES, described, dialect="duckdb")) == len(row_rules(RULES))


def test_schema_differences_are_named():
    table = table_of([valid_row(0)])
    table = table.drop_columns(["icao24"]).append_column("gate", pa.array(["A1"]))
    table = table.set_column(
        table.schema.get_field_index("first_seen"), "first_seen", table["first_seen"].cast(pa.timestamp("us"))
    )
    table = table.set_column(
        table.schema.get_field_index("position_count"),
        "position_count",
        table["position_count"].cast(pa.int32()),
    )
    failures = {f.rule: f.message for f in check_schema(RULES, duckdb_columns(table), dialect="duckdb")}
    assert failures == {
        "columns_match_contract": "missing column icao24; unexpected column gate",
        "icao24_type": "missing column icao24",
        "first_seen_type": "column first_seen is TIMESTAMP, the suite expects timestamp(6) with time zone",
        "position_count_type": "column position_count is INTEGER, the suite expects bigint",
    }
    usable = {r.rule for r in evaluable_row_rules(RULES, duckdb_columns(table), dialect="duckdb")}
    broken_columns = {"icao24", "first_seen", "position_count"}
    assert usable == {r.rule for r in row_rules(RULES) if not set(r.columns) & broken_columns}


@pytest.mark.parametrize(
    ("name", "dialect", "normal"),
    [
        ("varchar", "trino", SqlType("varchar")),
        ("varchar(20)", "trino", SqlType("varchar")),
        ("string", "trino", SqlType("varchar")),
        ("VARCHAR", "duckdb", SqlType("varchar")),
        ("BIGINT", "duckdb", SqlType("bigint")),
        ("int8", "duckdb", SqlType("bigint")),
        ("DOUBLE", "duckdb", SqlType("double")),
        ("FLOAT", "duckdb", SqlType("real")),
        ("decimal(10,2)", "trino", SqlType("decimal(10,2)")),
        ("timestamp", "trino", SqlType("timestamp", 3)),
        ("timestamp(6)", "trino", SqlType("timestamp", 6)),
        ("timestamp(3) with time zone", "trino", SqlType("timestamp", 3, True)),
        ("TIMESTAMP", "duckdb", SqlType("timestamp", 6)),
        ("TIMESTAMP_NS", "duckdb", SqlType("timestamp", 9)),
        ("TIMESTAMP WITH TIME ZONE", "duckdb", SqlType("timestamp", 6, True)),
        ("TIMESTAMPTZ", "duckdb", SqlType("timestamp", 6, True)),
    ],
)
def test_type_names_are_normalised(name: str, dialect: str, normal: SqlType):
    assert normalize_type(name, dialect) == normal  # type: ignore[arg-type]


def test_trino_timestamps_of_any_precision_match_but_duckdb_wants_the_zone():
    for trino_type in ("timestamp", "timestamp(3)", "timestamp(6)", "timestamp(6) with time zone"):
        assert check_schema(RULES, TRINO_COLUMNS | {"first_seen": trino_type}, dialect="trino") == []
    described = duckdb_columns(table_of([valid_row(0)]))
    for duck_type in ("TIMESTAMP", "TIMESTAMP_NS", "VARCHAR"):
        failures = check_schema(RULES, described | {"first_seen": duck_type}, dialect="duckdb")
        assert [f.rule for f in failures] == ["first_seen_type"]


# --- (b) against Great Expectations: hand-picked faults -------------------------------------------


def planted_rows() -> list[dict]:
    rows = [valid_row(i) for i in range(40)]
    edits = [
        # values exactly at the bounds (valid), and just outside
        {"first_latitude": -90.0, "last_latitude": 90.0, "first_longitude": -180.0, "last_longitude": 180.0},
        {
            "max_baro_altitude": -500.0,
            "max_velocity": 0.0,
            "position_count": 1,
            "callsign": "AB",
            "squawk": "0000",
        },
        {"max_baro_altitude": 20000.0, "max_velocity": 700.0, "callsign": "ABCD1234", "squawk": "7777"},
        {
            "first_latitude": math.nextafter(-90.0, -math.inf),
            "last_longitude": math.nextafter(180.0, math.inf),
        },
        {
            "max_velocity": -0.0,
            "max_baro_altitude": 20000.000001,
            "position_count": 0,
            "last_latitude": -90.5,
        },
        {"first_longitude": 180.25, "last_latitude": math.nextafter(90.0, math.inf)},
        # NaN and infinities in doubles: NaN is a null to GX
        {"first_latitude": math.nan, "last_latitude": math.nan, "max_velocity": math.nan},
        {"max_baro_altitude": math.inf, "max_velocity": -math.inf, "first_longitude": math.nan},
        # nulls everywhere nullable, and in required columns
        dict.fromkeys(
            ("callsign", "squawk", "first_latitude", "first_longitude", "last_latitude", "max_velocity")
        ),
        dict.fromkeys(("flight_id", "icao24", "origin_country", "position_count")),
        {"first_seen": None},
        {"last_seen": None},
        {"first_seen": None, "last_seen": None},
        # regexes: case, spaces, length, trailing newline (Python's $), carriage return, unicode
        {"callsign": "DLH 4", "icao24": "3C6400", "squawk": "7800"},
        {"callsign": "dlh400", "icao24": "3c640", "squawk": "12345", "flight_id": "3c6400_1"},
        {"callsign": "ABCDEFGHI", "icao24": "3c6400\n", "squawk": "7700\n", "flight_id": "3c6400-1\n"},
        {"callsign": "ABC\n\n", "icao24": "3c6400\r", "squawk": "770\u2028", "flight_id": "3c6400-\n"},
        {"callsign": "A", "icao24": " 3c6400", "squawk": "\u0663" * 4, "flight_id": "3c6400-\u0661"},
        {"callsign": "X\n", "origin_country": "Côte d'Ivoire\n", "squawk": "7500"},
        {"callsign": "", "icao24": "", "squawk": "", "flight_id": "", "origin_country": ""},
        {"callsign": "XY", "origin_country": "United States", "squawk": "7600"},
        # first_seen after last_seen, equal, 1 µs apart
        {"first_seen": DAY_START + timedelta(hours=5), "last_seen": DAY_START + timedelta(hours=5) - US},
        {"first_seen": DAY_START + timedelta(hours=6), "last_seen": DAY_START + timedelta(hours=6)},
        # the day's edges, 1 µs either side, and other time zones
        {"first_seen": DAY_START, "last_seen": DAY_END - US},
        {"first_seen": DAY_START - US, "last_seen": DAY_END},
        {"first_seen": DAY_START + US, "last_seen": DAY_END + US},
        {"first_seen": datetime(2026, 11, 26, 1, 0, tzinfo=timezone(timedelta(hours=1)))},  # 00:00 UTC
        {"first_seen": datetime(2026, 11, 26, 0, 30, tzinfo=timezone(timedelta(hours=1)))},  # the day before
        {"last_seen": datetime(2026, 11, 26, 20, 0, tzinfo=timezone(timedelta(hours=-4)))},  # 00:00 next day
        {
            "first_seen": datetime(2026, 11, 26, 4, 0, tzinfo=UTC) - US,
            "last_seen": datetime(2026, 11, 26, 23, 0, 0, 1, tzinfo=UTC),
        },
        {
            "first_seen": datetime(2026, 11, 26, 4, 0, tzinfo=UTC),
            "last_seen": datetime(2026, 11, 26, 23, 0, 0, 2, tzinfo=UTC),
        },
        # extremes of the integer column
        {"position_count": -(2**63)},
        {"position_count": 2**63 - 1},
        {"position_count": 2**53 + 1},  # above max_value 2**53 + 1 as GX reads it (a float: 2**53)
        {"position_count": 2**53},
    ]
    for row, edit in zip(rows, edits, strict=False):
        row.update(edit)
    return rows


def test_planted_faults_count_like_gx():
    found = assert_same_as_gx(table_of(planted_rows()))
    broken = {rule for rule, n in found.items() if n and rule not in (TOTAL_ROWS,)}
    assert {r.rule for r in row_rules(RULES)} <= broken  # every row rule was exercised


def test_planted_faults_count_like_gx_for_the_other_expectation_options(extra_suite_path: Path):
    found = assert_same_as_gx(table_of(planted_rows()), extra_suite_path, EXTRA_RULES)
    assert all(found[f"extra_{i:02d}"] for i in range(len(EXTRA)))  # every extra rule was exercised


def test_each_partition_is_judged_against_its_own_day():
    next_day = DAY + timedelta(days=1)
    today = table_of(planted_rows())
    tomorrow = table_of([valid_row(i, next_day) for i in range(6)] + [valid_row(7), valid_row(8)])
    found = sql_counts({str(DAY): today, str(next_day): tomorrow, "2026-11-20": today.slice(0, 0)})
    assert set(found) == {str(DAY), str(next_day)}  # a partition without rows has no group
    assert found[str(DAY)] == gx_counts(today, DAY)
    assert found[str(next_day)] == gx_counts(tomorrow, next_day)
    assert found[str(next_day)]["first_seen_within_day"] == 2


def test_explicit_day_parameters_give_the_dt_derived_counts():
    table = table_of(planted_rows())
    derived = sql_counts({str(DAY): table})
    params = day_parameters(DAY)  # what gx_validation hands GX
    assert sql_counts({str(DAY): table}, parameters=params) == derived
    shifted = {
        "day_start": datetime(2026, 11, 26, 5, 30, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        "day_end": "2026-11-26T19:00:00-05:00",
    }
    assert sql_counts({str(DAY): table}, parameters=shifted) == derived
    with pytest.raises(SuiteCompileError, match="offset"):
        row_rules_query(
            RULES, TABLE, parameters={"day_start": "2026-11-26T00:00:00", "day_end": params["day_end"]}
        )


def test_the_query_can_be_limited_to_a_range_of_partitions():
    tables = {f"2026-11-{d}": table_of([valid_row(0, date(2026, 11, d))]) for d in (24, 25, 26, 27)}
    found = sql_counts(tables, start_dt="2026-11-25", end_dt="2026-11-26")
    assert sorted(found) == ["2026-11-25", "2026-11-26"]
    assert all(counts[TOTAL_ROWS] == 1 and counts[FAILING_ROWS] == 0 for counts in found.values())


def test_the_trino_statement_round_trips_and_names_every_rule():
    sql = row_rules_query(RULES, "flightdata.flightdata_processed")
    parsed = sqlglot.parse_one(sql, read="trino")
    assert parsed.sql(dialect="trino", pretty=True) == sql
    assert parsed.named_selects == ["dt", TOTAL_ROWS, FAILING_ROWS, *(r.rule for r in row_rules(RULES))]
    assert "REGEXP_LIKE(" in sql and "COUNT_IF(" in sql and "IS_NAN(" in sql


def test_no_row_rules_still_counts_rows():
    schema_only = [r for r in RULES if r.kind == "schema"]
    found = sql_counts({str(DAY): table_of([valid_row(0), valid_row(1)])}, schema_only)
    assert found == {str(DAY): {TOTAL_ROWS: 2, FAILING_ROWS: 0}}


# --- (b) against Great Expectations: random tables ------------------------------------------------

TEXT = "0123456789abcdefABCDEFXZ -\n\r\u2028é٣"


def text_like(valid: st.SearchStrategy[str]) -> st.SearchStrategy[str | None]:
    return st.one_of(
        valid,
        valid,
        valid.map(lambda s: s + "\n"),
        valid.map(str.upper),
        valid.map(str.lower),
        valid.map(lambda s: s[:-1] + " "),
        st.text(TEXT, max_size=10),
        st.none(),
    )


def around(*values: float) -> list[float]:
    return [v for x in values for v in (x, math.nextafter(x, -math.inf), math.nextafter(x, math.inf))]


DOUBLES = st.one_of(
    st.sampled_from([None, math.nan, math.inf, -math.inf, 0.0, -0.0, 236.5, 50.0]),
    st.sampled_from(around(-90, 90, -180, 180, -500, 20000, 700, 300)),
    st.floats(-25000, 25000, allow_nan=False),
)
ZONES = st.sampled_from(
    [
        UTC,
        timezone(timedelta(hours=2)),
        timezone(timedelta(hours=-5)),
        timezone(timedelta(hours=5, minutes=30)),
    ]
)
EDGES = [
    DAY_START,
    DAY_END,
    datetime(2026, 11, 26, 4, tzinfo=UTC),
    datetime(2026, 11, 26, 23, 0, 0, 1, tzinfo=UTC),
]
TIMES = st.one_of(
    st.sampled_from([e + d for e in EDGES for d in (-US, timedelta(0), US)]),
    st.datetimes(datetime(2026, 11, 25, 12), datetime(2026, 11, 27, 12), timezones=ZONES),
    st.none(),
)
HEX6 = st.text("0123456789abcdef", min_size=6, max_size=6)
ROWS = st.fixed_dictionaries(
    {
        "flight_id": text_like(st.builds(lambda h, n: f"{h}-{n}", HEX6, st.integers(0, 10**10))),
        "icao24": text_like(HEX6),
        "callsign": text_like(st.from_regex(r"\A(?:DLH|BAW|X)[0-9A-Z]{0,7}\Z")),
        "origin_country": text_like(st.sampled_from(["Germany", "United States", "Côte d'Ivoire", "X"])),
        "first_seen": TIMES,
        "last_seen": TIMES,
        "position_count": st.one_of(
            st.sampled_from([None, 0, 1, 2, 3, 5, 12, 13, -(2**63), 2**63 - 1, 2**53, 2**53 + 1]),
            st.integers(-3, 20),
        ),
        "first_latitude": DOUBLES,
        "first_longitude": DOUBLES,
        "last_latitude": DOUBLES,
        "last_longitude": DOUBLES,
        "max_baro_altitude": DOUBLES,
        "max_velocity": DOUBLES,
        "squawk": text_like(st.from_regex(r"\A[0-7]{4}\Z")),
    }
)


@settings(
    max_examples=12,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(ROWS, min_size=1, max_size=100))
def test_random_tables_count_like_gx(extra_suite_path: Path, rows: list[dict]):
    assert_same_as_gx(table_of(rows), extra_suite_path, EXTRA_RULES)
