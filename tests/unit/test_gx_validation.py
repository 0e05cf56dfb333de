"""The schema-validity suite (expectations/flightdata_processed.json) run through Great Expectations.

Small hand-built tables: every bad value is placed by the test, so each count is known exactly.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from flightdq.checks.gx_validation import DEFAULT_SUITE_PATH, SuiteReport, load_suite, validate_table
from flightdq.core.contract import PROCESSED_COLUMN_NAMES, PROCESSED_COLUMNS, processed_arrow_schema

DAY = date(2026, 11, 26)
DAY_START = datetime(2026, 11, 26, tzinfo=UTC)
DAY_END = DAY_START + timedelta(days=1)
N = 12
BAD = 5  # the row a test breaks


def make_row(i: int) -> dict:
    first = DAY_START + timedelta(minutes=(97 * i) % 1380)
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
        "squawk": f"{i % 8}{(i + 3) % 8}00",
    }


def make_rows(n: int = N) -> list[dict]:
    rows = [make_row(i) for i in range(n)]
    # The day's edges are inside the day: [00:00:00, 24:00:00).
    rows[0]["first_seen"] = DAY_START
    rows[-1]["last_seen"] = DAY_END - timedelta(microseconds=1)
    # Values at the rules' bounds are valid.
    rows[1].update(
        first_latitude=-90.0,
        last_latitude=90.0,
        first_longitude=-180.0,
        last_longitude=180.0,
        max_baro_altitude=-500.0,
        max_velocity=0.0,
        position_count=1,
        callsign="AB",
        squawk="0000",
    )
    rows[2].update(max_baro_altitude=20000.0, max_velocity=700.0, callsign="ABCD1234", squawk="7777")
    rows[3]["last_seen"] = rows[3]["first_seen"]  # a one-position flight: first_seen == last_seen
    return rows


def table_of(rows: list[dict]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=processed_arrow_schema())


def outcome(report: SuiteReport, rule: str):
    (found,) = [o for o in report.rules if o.rule == rule]
    return found


def broken(report: SuiteReport) -> dict[str, int]:
    return {o.rule: o.unexpected_count for o in report.rules if not o.success}


def row_rules() -> set[str]:
    return {e["meta"]["rule"] for e in load_suite()["expectations"] if e["meta"]["kind"] == "row"}


def set_column(table: pa.Table, name: str, values: pa.Array | pa.ChunkedArray) -> pa.Table:
    return table.set_column(table.schema.get_field_index(name), name, values)


# --- the suite file ---------------------------------------------------------------------------------


def test_suite_file_is_a_gx_suite_with_the_contract_columns_and_types():
    import great_expectations as gx

    raw = json.loads(DEFAULT_SUITE_PATH.read_text())
    suite = gx.ExpectationSuite(**raw)
    assert suite.name == "flightdata_processed"
    assert len(suite.expectations) == len(raw["expectations"])

    by_type: dict[str, list[dict]] = {}
    for exp in raw["expectations"]:
        assert {"rule", "kind", "column"} <= set(exp["meta"]), exp
        by_type.setdefault(exp["type"], []).append(exp)
    (columns,) = by_type["expect_table_columns_to_match_set"]
    assert sorted(columns["kwargs"]["column_set"]) == sorted(PROCESSED_COLUMN_NAMES)
    assert "dt" not in columns["kwargs"]["column_set"]
    assert columns["kwargs"]["exact_match"] is True
    typed = {e["kwargs"]["column"]: e["meta"]["arrow_type"] for e in by_type["expect_column_type_to_be"]}
    assert typed == {c.name: c.arrow_type for c in PROCESSED_COLUMNS}
    not_null = {e["kwargs"]["column"] for e in by_type["expect_column_values_to_not_be_null"]}
    assert not_null == {c.name for c in PROCESSED_COLUMNS if not c.nullable}


def test_suite_day_bounds_are_suite_parameters():
    within = [e for e in load_suite()["expectations"] if e["meta"]["rule"].endswith("_within_day")]
    assert {e["kwargs"]["column"] for e in within} == {"first_seen", "last_seen"}
    for exp in within:
        assert exp["kwargs"]["min_value"] == {"$PARAMETER": "day_start"}
        assert exp["kwargs"]["max_value"] == {"$PARAMETER": "day_end"}
        assert exp["kwargs"]["strict_max"] is True


# --- valid data -----------------------------------------------------------------------------------


def test_valid_table_passes():
    report = validate_table(table_of(make_rows()), DAY)
    assert report.suite == "flightdata_processed"
    assert report.total_rows == N
    assert report.failing_rows == 0
    assert report.schema_ok
    assert broken(report) == {}
    assert all(o.evaluated for o in report.rules)
    assert {o.kind for o in report.rules} == {"schema", "row"}
    assert row_rules() <= {o.rule for o in report.rules}


def test_valid_table_read_back_from_parquet_passes(tmp_path: Path):
    path = tmp_path / "part-00000.parquet"
    pq.write_table(table_of(make_rows()), path)
    report = validate_table(pq.read_table(path), DAY)
    assert report.schema_ok
    assert report.failing_rows == 0
    assert report.total_rows == N


def test_empty_table_has_nothing_failing():
    report = validate_table(table_of([]), DAY)
    assert (report.total_rows, report.failing_rows, report.schema_ok) == (0, 0, True)


def test_columns_in_another_order_are_fine():
    table = table_of(make_rows())
    report = validate_table(table.select(list(reversed(table.column_names))), DAY)
    assert report.schema_ok
    assert report.failing_rows == 0


# --- one rule at a time ---------------------------------------------------------------------------

BREAKERS: dict[str, Callable[[dict], None]] = {
    "flight_id_not_null": lambda r: r.update(flight_id=None),
    "icao24_not_null": lambda r: r.update(icao24=None),
    "origin_country_not_null": lambda r: r.update(origin_country=None),
    "first_seen_not_null": lambda r: r.update(first_seen=None),
    "last_seen_not_null": lambda r: r.update(last_seen=None),
    "position_count_not_null": lambda r: r.update(position_count=None),
    "flight_id_format": lambda r: r.update(flight_id=r["flight_id"].upper()),
    "icao24_format": lambda r: r.update(icao24="3c64g0"),
    "callsign_format": lambda r: r.update(callsign="DLH 4"),
    "squawk_format": lambda r: r.update(squawk="7800"),
    "position_count_at_least_one": lambda r: r.update(position_count=0),
    "first_latitude_range": lambda r: r.update(first_latitude=90.5),
    "last_latitude_range": lambda r: r.update(last_latitude=-91.0),
    "first_longitude_range": lambda r: r.update(first_longitude=-180.01),
    "last_longitude_range": lambda r: r.update(last_longitude=181.0),
    "max_baro_altitude_range": lambda r: r.update(max_baro_altitude=-500.5),
    "max_velocity_range": lambda r: r.update(max_velocity=700.1),
    "first_seen_not_after_last_seen": lambda r: r.update(last_seen=r["first_seen"] - timedelta(seconds=1)),
    "first_seen_within_day": lambda r: r.update(first_seen=DAY_START - timedelta(microseconds=1)),
    "last_seen_within_day": lambda r: r.update(last_seen=DAY_END),
}


def test_every_row_rule_has_a_breaker():
    assert set(BREAKERS) == row_rules()


@pytest.mark.parametrize("rule", sorted(BREAKERS))
def test_one_bad_row_breaks_exactly_its_rule(rule: str):
    rows = make_rows()
    BREAKERS[rule](rows[BAD])
    report = validate_table(table_of(rows), DAY)
    assert report.schema_ok
    assert report.failing_rows == 1
    assert broken(report) == {rule: 1}
    assert outcome(report, rule).kind == "row"


def test_callsign_lowercase_and_too_long_break_the_format():
    rows = make_rows()
    rows[4]["callsign"] = "dlh400"
    rows[5]["callsign"] = "ABCDEFGHI"
    rows[6]["callsign"] = "A"
    report = validate_table(table_of(rows), DAY)
    assert broken(report) == {"callsign_format": 3}
    assert report.failing_rows == 3


def test_a_row_breaking_two_rules_counts_once():
    rows = make_rows()
    rows[BAD].update(callsign="dlh", squawk="9999", max_velocity=900.0)
    rows[BAD + 1]["position_count"] = 0
    report = validate_table(table_of(rows), DAY)
    assert broken(report) == {
        "callsign_format": 1,
        "squawk_format": 1,
        "max_velocity_range": 1,
        "position_count_at_least_one": 1,
    }
    assert sum(broken(report).values()) == 4
    assert report.failing_rows == 2


def test_failing_rows_is_the_union_over_many_rows():
    rows = make_rows(300)
    for i in range(0, 300, 10):  # 30 rows, each breaking one or two rules
        rows[i]["icao24"] = "XXXXXX"
        if i % 20 == 0:
            rows[i]["max_baro_altitude"] = 25000.0
    report = validate_table(table_of(rows), DAY)
    assert outcome(report, "icao24_format").unexpected_count == 30
    assert outcome(report, "max_baro_altitude_range").unexpected_count == 15
    assert report.failing_rows == 30


# --- nulls ----------------------------------------------------------------------------------------


def test_nulls_in_nullable_columns_pass():
    rows = make_rows()
    nullable = [c.name for c in PROCESSED_COLUMNS if c.nullable]
    for i in (BAD, BAD + 1):
        rows[i].update(dict.fromkeys(nullable))
    report = validate_table(table_of(rows), DAY)
    assert report.failing_rows == 0
    assert broken(report) == {}
    assert outcome(report, "callsign_format").evaluated
    assert outcome(report, "squawk_format").unexpected_count == 0


def test_nulls_in_non_null_columns_fail_and_the_row_counts_once():
    rows = make_rows()
    required = [c.name for c in PROCESSED_COLUMNS if not c.nullable]
    rows[BAD].update(dict.fromkeys(required))
    report = validate_table(table_of(rows), DAY)
    assert broken(report) == {f"{name}_not_null": 1 for name in required}
    assert report.failing_rows == 1
    assert report.schema_ok  # a null is a row problem, never a type change (int64 stays Int64)


# --- the partition's day --------------------------------------------------------------------------


def test_timestamps_outside_the_day_fail():
    rows = make_rows()
    rows[BAD]["first_seen"] = DAY_START - timedelta(hours=2)
    rows[BAD + 1].update(first_seen=DAY_END + timedelta(hours=1), last_seen=DAY_END + timedelta(hours=2))
    report = validate_table(table_of(rows), DAY)
    assert broken(report) == {"first_seen_within_day": 2, "last_seen_within_day": 1}
    assert report.failing_rows == 2


def test_the_same_suite_serves_every_day():
    table = table_of(make_rows())
    assert validate_table(table, DAY).failing_rows == 0
    next_day = validate_table(table, DAY + timedelta(days=1))
    assert next_day.failing_rows == N
    assert broken(next_day) == {"first_seen_within_day": N, "last_seen_within_day": N}


# --- schema changes -------------------------------------------------------------------------------


@pytest.mark.parametrize("change", ["renamed", "dropped"])
def test_missing_column_fails_schema_and_other_rules_still_run(change: str):
    rows = make_rows()
    rows[BAD]["callsign"] = "bad one"
    table = table_of(rows)
    if change == "renamed":
        table = table.rename_columns(["icao" if c == "icao24" else c for c in table.column_names])
    else:
        table = table.drop_columns(["icao24"])
    report = validate_table(table, DAY)
    assert not report.schema_ok
    assert not outcome(report, "columns_match_contract").success
    assert not outcome(report, "icao24_type").success
    for rule in ("icao24_not_null", "icao24_format"):
        assert not outcome(report, rule).evaluated
        assert outcome(report, rule).unexpected_count == 0
    assert outcome(report, "callsign_format").unexpected_count == 1  # the rest still evaluated
    assert all(o.evaluated for o in report.rules if o.column not in ("icao24", None))
    assert report.failing_rows == 1


def test_extra_column_fails_schema():
    table = table_of(make_rows()).append_column("dt", pa.array([str(DAY)] * N))
    report = validate_table(table, DAY)
    assert not report.schema_ok
    assert broken(report) == {"columns_match_contract": 0}
    assert report.failing_rows == 0


RETYPES = {
    "position_count as string": ("position_count", pa.string()),
    "position_count as double": ("position_count", pa.float64()),
    "position_count as int32": ("position_count", pa.int32()),
    "first_seen as string": ("first_seen", pa.string()),
    "first_seen in nanoseconds": ("first_seen", pa.timestamp("ns", tz="UTC")),
    "first_seen without time zone": ("first_seen", pa.timestamp("us")),
    "max_velocity as float32": ("max_velocity", pa.float32()),
}


@pytest.mark.parametrize("name", sorted(RETYPES))
def test_retyped_column_fails_its_type_rule(name: str):
    column, arrow_type = RETYPES[name]
    table = table_of(make_rows())
    table = set_column(table, column, pc.cast(table[column], arrow_type))
    report = validate_table(table, DAY)
    assert not report.schema_ok
    failed_schema = [o.rule for o in report.rules if o.kind == "schema" and not o.success]
    assert failed_schema == [f"{column}_type"]
    # A row rule on a retyped column says nothing true: reported failed, not evaluated, no rows.
    on_column = [o for o in report.rules if o.kind == "row" and o.column == column]
    assert on_column
    assert all(not o.success and not o.evaluated and o.unexpected_count == 0 for o in on_column)
    assert all(o.success and o.evaluated for o in report.rules if o.kind == "row" and o.column != column)
    assert report.failing_rows == 0


# --- what leaves the function ---------------------------------------------------------------------


def test_no_raw_values_in_the_report():
    rows = make_rows()
    rows[BAD].update(icao24="QZ9XK7", callsign="secret x", squawk="9191", flight_id="QZ9XK7-1")
    report = validate_table(table_of(rows), DAY)
    assert report.failing_rows == 1
    text = repr(report)
    values = {v for r in rows for k in ("icao24", "callsign", "flight_id", "squawk") if (v := r[k])}
    assert "QZ9XK7" in values and "secret x" in values
    leaked = [v for v in values if v in text]
    assert leaked == []


def test_no_network_no_progress_bars_and_analytics_off(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
):
    def refuse(*args, **kwargs):
        raise AssertionError("Great Expectations tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.delenv("GX_ANALYTICS_ENABLED", raising=False)
    report = validate_table(table_of(make_rows()), DAY)
    assert report.failing_rows == 0
    assert os.environ["GX_ANALYTICS_ENABLED"] == "False"
    captured = capfd.readouterr()
    assert "Calculating Metrics" not in captured.err + captured.out


# --- the suite path -------------------------------------------------------------------------------


def test_a_custom_suite_path_is_used(tmp_path: Path):
    suite = load_suite()
    suite["expectations"] = [e for e in suite["expectations"] if e["meta"]["rule"] == "squawk_format"]
    path = tmp_path / "only_squawk.json"
    path.write_text(json.dumps(suite))
    rows = make_rows()
    rows[BAD].update(squawk="9999", callsign="bad one")
    report = validate_table(table_of(rows), DAY, suite_path=path)
    assert [o.rule for o in report.rules] == ["squawk_format"]
    assert report.failing_rows == 1
    assert report.schema_ok  # no schema expectation in this suite


def test_load_suite_rejects_duplicate_rule_names(tmp_path: Path):
    suite = load_suite()
    suite["expectations"].append(dict(suite["expectations"][-1]))
    path = tmp_path / "dup.json"
    path.write_text(json.dumps(suite))
    with pytest.raises(ValueError, match="used twice"):
        load_suite(path)


def test_load_suite_names_a_missing_file(tmp_path: Path):
    with pytest.raises(FileNotFoundError, match=r"nowhere\.json"):
        load_suite(tmp_path / "nowhere.json")


def test_an_expectation_gx_cannot_evaluate_is_reported_failed_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    suite = load_suite()
    suite["expectations"] = [e for e in suite["expectations"] if e["meta"]["rule"] == "callsign_format"]
    suite["expectations"].append(
        {  # numbers against strings: GX raises inside the expectation
            "type": "expect_column_values_to_be_between",
            "kwargs": {"column": "callsign", "min_value": 0, "max_value": 10},
            "meta": {"rule": "callsign_between", "column": "callsign", "kind": "row"},
        }
    )
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(suite))
    rows = make_rows()
    rows[BAD]["callsign"] = "bad one"
    with caplog.at_level("WARNING", logger="flightdq.checks.gx_validation"):
        report = validate_table(table_of(rows), DAY, suite_path=path)
    odd = outcome(report, "callsign_between")
    assert (odd.success, odd.evaluated, odd.unexpected_count) == (False, False, 0)
    assert outcome(report, "callsign_format").unexpected_count == 1
    assert report.failing_rows == 1
    assert "callsign_between" in caplog.text
    assert "bad one" not in caplog.text


def test_great_expectations_chatter_stays_out_of_task_logs():
    import logging

    from flightdq.checks.gx_validation import _import_gx

    _import_gx()
    assert logging.getLogger("great_expectations._docs_decorators").getEffectiveLevel() >= logging.WARNING
    assert (
        logging.getLogger("great_expectations.expectations.registry").getEffectiveLevel() >= logging.WARNING
    )
