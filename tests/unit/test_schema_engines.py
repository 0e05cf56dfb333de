"""schema_validity's two engines: the suite compiled to SQL (`sql`, the default: one query per range)
and Great Expectations on pandas (`gx`). They must agree rule by rule; the SQL engine must judge a
range in one query, fail a day with a changed or unreadable file from its footers alone without
letting it break the other days, and write its outcome in GX's own validation-result shape.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from conftest import end_of, valid_rows
from flightdq.checks import CheckContext, schema_validity, sql_cache
from flightdq.checks.runner import run_checks, terminal_progress
from flightdq.core.config import ConfigError, load_policy
from flightdq.core.contract import processed_arrow_schema
from flightdq.core.results import Severity, Status

DAY = date(2026, 11, 25)
INCLUDE = Path(__file__).resolve().parents[2] / "include"


def rule_of(result: dict) -> str:
    return result["expectation_config"]["meta"]["rule"]


def with_engine(settings, engine: str):
    schema = replace(settings.policy.schema_validity, engine=engine)
    return replace(settings, policy=replace(settings.policy, schema_validity=schema))


def ctx_for(backend, days, engine: str = "sql", run_id: str | None = None) -> CheckContext:
    days = days if isinstance(days, list) else [days]
    policy = with_engine(backend.settings, engine).policy
    return CheckContext(backend, days, end_of(days[-1]) + timedelta(hours=2), policy, run_id=run_id)


def planted_rows(day: date) -> list[dict]:
    """300 valid rows, then every row rule broken at least once, with nulls and NaNs (which GX
    leaves out of most rules) where the contract allows them and where it does not."""
    rows = valid_rows(day, 300)
    start = end_of(day) - timedelta(days=1)
    edits = [
        {"callsign": "lower case"},
        {"callsign": None, "squawk": None},
        {"icao24": "XYZ", "flight_id": "bad id"},
        {"squawk": "9999", "max_velocity": math.nan},
        {"position_count": 0},
        {"first_latitude": 95.0, "last_latitude": -91.0},
        {"first_longitude": 200.0, "last_longitude": math.nan},
        {"max_baro_altitude": 30000.0, "max_velocity": -1.0},
        {"first_seen": start + timedelta(hours=5), "last_seen": start + timedelta(hours=4)},
        {"first_seen": start - timedelta(seconds=1), "last_seen": start + timedelta(days=1)},
        {"origin_country": None},
        {"first_latitude": math.nan, "max_velocity": None, "max_baro_altitude": None},
        {"last_seen": None},
        {"flight_id": None, "icao24": None},
        {"position_count": None, "first_seen": None},
    ]
    for row, edit in zip(rows, edits, strict=False):
        row.update(edit)
    return rows


# --- the two engines agree -------------------------------------------------------------------------


def test_the_sql_and_gx_engines_count_every_rule_alike_and_agree(lake, backend):
    nullable = pa.schema([f.with_nullable(True) for f in processed_arrow_schema()])  # nulls where none may be
    lake.write_partition(DAY, planted_rows(DAY), schema=nullable)
    found = {}
    for engine in ("sql", "gx"):
        (result,) = schema_validity.run(ctx_for(backend, DAY, engine, run_id=f"run-{engine}"))
        document = json.loads((lake.root / result.details.pop("gx_result")).read_text())
        found[engine] = (result, document)
    (sql, sql_doc), (gx, gx_doc) = found["sql"], found["gx"]
    assert (sql.status, sql.severity, sql.observed, sql.message) == (
        gx.status,
        gx.severity,
        gx.observed,
        gx.message,
    )
    assert sql.details == gx.details
    assert sql.status is Status.FAIL and sql.severity is Severity.P2  # 13 of 300 rows: over 1%, under 5%

    def per_rule(document):
        return {rule_of(r): (r["success"], r["result"]) for r in document["results"]}

    assert per_rule(sql_doc) == per_rule(gx_doc)
    row_results = [r for r in sql_doc["results"] if r["expectation_config"]["meta"]["kind"] == "row"]
    assert all(not r["success"] for r in row_results if r["result"]["unexpected_count"])
    assert {rule_of(r) for r in row_results if not r["success"]} >= {
        "callsign_format",
        "icao24_format",
        "flight_id_format",
        "squawk_format",
        "position_count_at_least_one",
        "first_latitude_range",
        "first_seen_not_after_last_seen",
        "first_seen_within_day",
        "last_seen_within_day",
        "origin_country_not_null",
    }
    assert sql_doc["meta"]["flightdq"]["engine"] == "sql" and gx_doc["meta"]["flightdq"]["engine"] == "gx"
    assert sql_doc["statistics"] == gx_doc["statistics"]
    assert "lower case" not in json.dumps(sql_doc)  # counts, names and types only: never a value

    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema

    loaded = ExpectationSuiteValidationResultSchema().load(sql_doc)  # GX tooling reads it
    assert loaded.success is False and len(loaded.results) == len(sql_doc["results"])


# --- the SQL engine over a range -------------------------------------------------------------------


def test_a_range_is_one_query_and_a_changed_or_unreadable_day_fails_alone(lake, backend, settings):
    days = [DAY - timedelta(days=3) + timedelta(days=k) for k in range(4)]
    lake.write_partition(days[0], valid_rows(days[0], 200))
    schema = processed_arrow_schema()
    retyped = schema.set(schema.get_field_index("position_count"), pa.field("position_count", pa.float64()))
    lake.write_partition(days[1], valid_rows(days[1], 50), schema=retyped)
    folder = lake.write_partition(days[2], valid_rows(days[2], 50))
    (folder / "part-00001.parquet").write_bytes(b"not parquet at all")
    rows = valid_rows(days[3], 200)
    rows[0]["callsign"] = rows[1]["callsign"] = "bad one"
    lake.write_partition(days[3], rows)

    results = run_checks(
        days, end_of(days[-1]), checks=["schema_validity"], backend=backend, settings=settings, record=False
    )
    by_day = {r.dt: r for r in results}
    assert [q["template"] for q in results[0].details["queries"]] == ["schema_validity_rows"]

    first, changed, unreadable, last = (by_day[str(d)] for d in days)
    assert first.status is Status.PASS and first.details["rows"] == 200
    assert last.status is Status.PASS and last.details["failing_rows"] == 2
    assert (changed.status, changed.severity) == (Status.FAIL, Severity.P1)
    assert changed.details["finding"] == "schema_change"
    assert changed.details["rows"] is None  # its row rules were not run
    assert changed.details["schema_differences"] == [
        "column position_count is DOUBLE, the suite expects bigint"
    ]
    assert changed.details["files_with_schema_differences"] == [
        f"flightdata-processed/flightdata_processed/dt={days[1]}/part-00000.parquet"
    ]
    assert (unreadable.status, unreadable.severity) == (Status.FAIL, Severity.P1)
    assert unreadable.details["finding"] == "unreadable_files"
    assert list(unreadable.details["unreadable_files"]) == [
        f"flightdata-processed/flightdata_processed/dt={days[2]}/part-00001.parquet"
    ]
    assert "part-00001.parquet" in unreadable.message and "1 of 2 file(s)" in unreadable.message


def test_one_file_of_a_day_that_differs_is_named(lake, backend):
    folder = lake.write_partition(DAY, valid_rows(DAY, 20))
    schema = processed_arrow_schema()
    renamed = schema.set(schema.get_field_index("squawk"), pa.field("transponder", pa.string()))
    rows = [{("transponder" if k == "squawk" else k): v for k, v in r.items()} for r in valid_rows(DAY, 5)]
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pylist(rows, schema=renamed), folder / "part-00001.parquet")
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.status is Status.FAIL and result.details["finding"] == "schema_change"
    assert [Path(f).name for f in result.details["files_with_schema_differences"]] == ["part-00001.parquet"]
    assert "missing column squawk" in result.message and "unexpected column transponder" in result.message
    assert result.observed == "1 of 2 file(s) differ from the contract"


@pytest.mark.parametrize(
    ("setup", "message"),
    [("none", "no files"), ("unregistered", "not registered"), ("no_rows", "no rows")],
)
def test_a_day_with_nothing_to_validate_is_an_error_pointing_at_presence(lake, backend, setup, message):
    if setup == "unregistered":
        lake.write_partition(DAY, valid_rows(DAY, 5), register=False)
    elif setup == "no_rows":
        lake.write_partition(DAY, [])
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.status is Status.ERROR and result.details["blocked_by"] == "partition_presence"
    assert message in result.message


def test_recorded_runs_keep_a_gx_result_per_day_beside_the_history(lake, backend, settings):
    lake.write_partition(DAY, valid_rows(DAY, 30))
    (result,) = run_checks(
        [DAY], end_of(DAY), checks=["schema_validity"], backend=backend, settings=settings, run_id="run-1"
    )
    # relative to the lake: the history stays true when the lake moves (it once kept absolute paths)
    assert result.details["gx_result"] == f"flightdq-history/gx-results/dt={DAY}/run-1.json"
    document = json.loads((lake.root / result.details["gx_result"]).read_text())
    assert document["success"] is True and document["suite_name"] == "flightdata_processed"
    assert document["suite_parameters"]["day_start"] == f"{DAY}T00:00:00+00:00"
    within = next(r for r in document["results"] if rule_of(r) == "first_seen_within_day")
    assert within["expectation_config"]["kwargs"]["min_value"] == f"{DAY}T00:00:00+00:00"
    assert within["result"] == {
        "element_count": 30,
        "unexpected_count": 0,
        "unexpected_percent": 0.0,
        "partial_unexpected_list": [],
        "missing_count": 0,
        "missing_percent": 0.0,
        "unexpected_percent_total": 0.0,
        "unexpected_percent_nonmissing": 0.0,
    }


# --- the policy key and the command line -----------------------------------------------------------


def test_the_engine_is_a_policy_key(tmp_path):
    assert load_policy().schema_validity.engine == "sql"
    path = tmp_path / "policy.yaml"
    path.write_text("schema_validity:\n  engine: gx\n")
    assert load_policy(path).schema_validity.engine == "gx"
    path.write_text("schema_validity:\n  engine: spark\n")
    with pytest.raises(ConfigError, match=r"schema_validity\.engine.*'spark'"):
        load_policy(path)


def test_validate_engine_overrides_the_policy(lake, capsys, monkeypatch):
    from flightdq import cli

    seen = {}

    def fake_run_checks(days, as_of, **kwargs):
        seen["engine"] = kwargs["settings"].policy.schema_validity.engine
        return []

    monkeypatch.setattr("flightdq.checks.runner.run_checks", fake_run_checks)
    assert cli.main(["validate", "--date", str(DAY), "--engine", "gx", "--json"]) == 0
    assert seen["engine"] == "gx"
    with pytest.raises(SystemExit) as exit_:
        cli.main(["validate", "--date", str(DAY), "--engine", "spark"])
    assert exit_.value.code == 2 and "spark" in capsys.readouterr().err


# --- progress ----------------------------------------------------------------------------------------


class FakeTerminal:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_shows_on_a_terminal_for_a_range_and_stays_quiet_otherwise(lake, backend, settings):
    assert terminal_progress(FakeTerminal(tty=False), 30) is None
    assert terminal_progress(FakeTerminal(tty=True), 3) is None  # a few days: no progress line
    terminal = FakeTerminal(tty=True)
    days = [DAY - timedelta(days=k) for k in range(5)]
    checks = ["duplicates", "freshness"]
    run_checks(
        days,
        end_of(DAY),
        checks=checks,
        backend=backend,
        settings=settings,
        record=False,
        progress=terminal_progress(terminal, len(days)),
    )
    lines = terminal.text.split("\r\033[K")
    assert lines[1:] == [
        "flightdq: 5 days: duplicates (0/2 checks done)",
        "flightdq: 5 days: freshness (1/2 checks done)",
        "",  # cleared at the end
    ]


def test_validate_shows_progress_on_a_terminal_but_not_with_json(lake, monkeypatch):
    from flightdq import cli

    args = ["validate", "--date", str(DAY - timedelta(days=6)), "--to", str(DAY), "--check", "duplicates"]
    for extra, shown in (([], True), (["--json"], False)):
        terminal = FakeTerminal(tty=True)
        monkeypatch.setattr(sys, "stderr", terminal)
        cli.main([*args, *extra])
        assert ("flightdq: 7 days: duplicates (0/1 checks done)" in terminal.text) is shown


# --- fast start --------------------------------------------------------------------------------------


def run_python(code: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(INCLUDE), **env}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)


HEAVY = "{'great_expectations', 'pandas', 'pyarrow', 'numpy', 'sqlglot', 'airflow'}"


def test_the_cli_and_the_runner_import_neither_gx_nor_pandas():
    code = (
        "import sys, flightdq.cli, flightdq.checks.runner, flightdq.checks.schema_validity, "
        "flightdq.checks.sql_validation, flightdq.backends.local.backend; "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY}))"
    )
    assert run_python(code, {}).stdout.strip() == "[]"


def test_a_validate_run_with_rendered_sql_cached_loads_no_heavy_library(lake, tmp_path):
    for k in range(5):
        lake.healthy_day(DAY - timedelta(weeks=k), 50)
    code = (
        "import sys; from flightdq.cli import main; "
        f"main(['validate', '--date', '{DAY}', '--as-of', '{DAY + timedelta(days=1)}T02:00:00Z', '--json']); "
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & {HEAVY}), file=sys.stderr)"
    )
    env = {"FLIGHTDQ_LAKE": str(lake.root), "FLIGHTDQ_SQL_CACHE": str(tmp_path / "sql-cache")}
    first = run_python(code, env)  # renders the statements (sqlglot) and keeps them
    assert json.loads(first.stdout)["results"]
    second = run_python(code, env)
    assert second.stderr.strip().splitlines()[-1] == "[]"

    def statuses(done: subprocess.CompletedProcess) -> dict:
        return {(r["check"], r["dataset"]): r["status"] for r in json.loads(done.stdout)["results"]}

    assert statuses(second) == statuses(first)
    assert statuses(second)[("schema_validity", "flightdata_processed")] == "pass"


# --- the SQL cache -----------------------------------------------------------------------------------


def test_cached_sql_is_the_sql_rendered_in_place(tmp_path, monkeypatch):
    from flightdq.checks import queries

    monkeypatch.setenv("FLIGHTDQ_SQL_CACHE", str(tmp_path / "cache"))
    values = {"start_dt": "2026-11-01", "end_dt": "2026-11-2'5"}  # a quote must stay a quote
    for dialect in ("trino", "duckdb"):
        direct = queries._render("partition_stats", dialect, values)
        assert queries.render("partition_stats", dialect, **values) == direct  # renders, keeps

        def build(values):
            raise AssertionError("rendered again: the cache was not used")

        template = queries.template_text("partition_stats")
        assert sql_cache.render(f"template:{dialect}", template, values, build) == direct


def test_the_sql_cache_can_be_off_or_unwritable(tmp_path, monkeypatch):
    from flightdq.checks import queries

    monkeypatch.setenv("FLIGHTDQ_SQL_CACHE", "off")
    expected = queries._render("daily_flight_counts", "duckdb", {"start_dt": "a", "end_dt": "b"})
    assert queries.render("daily_flight_counts", "duckdb", start_dt="a", end_dt="b") == expected
    blocked = tmp_path / "file"
    blocked.write_text("")
    monkeypatch.setenv("FLIGHTDQ_SQL_CACHE", str(blocked / "cache"))  # under a file: cannot be made
    assert queries.render("daily_flight_counts", "duckdb", start_dt="a", end_dt="b") == expected


# --- Parquet types read alike by DuckDB (local) and pyarrow (S3) ---------------------------------


def test_both_footer_readers_spell_parquet_types_alike(lake, backend):
    import pyarrow.parquet as pq

    from flightdq.backends.aws.s3 import parquet_columns

    odd = pa.table(
        {
            "text": pa.array(["x"], pa.large_string()),
            "nanos": pa.array([1], pa.timestamp("ns", tz="UTC")),
            "naive": pa.array([1], pa.timestamp("us")),
            "small": pa.array([1], pa.int32()),
            "flag": pa.array([True]),
            "items": pa.array([[1]]),
            "pair": pa.array([{"a": 1}]),
        }
    )
    folder = lake.write_partition(DAY, valid_rows(DAY, 3))
    pq.write_table(odd, folder / "part-00001.parquet")
    local = backend.partition_file_columns(DAY)
    assert {Path(name).name: parquet_columns(pq.ParquetFile(lake.root / name)) for name in local} == {
        Path(name).name: columns for name, columns in local.items()
    }
    assert local[f"flightdata-processed/flightdata_processed/dt={DAY}/part-00001.parquet"] == {
        "text": "BYTE_ARRAY STRING",
        "nanos": "INT64 TIMESTAMP(NANOS,UTC)",
        "naive": "INT64 TIMESTAMP(MICROS,LOCAL)",
        "small": "INT32",
        "flag": "BOOLEAN",
        "items": "GROUP LIST",
        "pair": "GROUP",
    }


def test_per_partition_statements_give_the_whole_range_answer(lake, backend):
    from flightdq.checks import queries

    for k in range(4):
        lake.write_partition(DAY - timedelta(days=k), valid_rows(DAY - timedelta(days=k), 40 + k))
    span = {"start_dt": str(DAY - timedelta(days=3)), "end_dt": str(DAY)}
    for template in ("partition_stats", "hourly_flight_counts", "daily_flight_counts"):
        sql = queries.render(template, "duckdb", **span)
        whole = backend.run_sql(sql, label=template, dt_range=(span["start_dt"], span["end_dt"]))
        parts = backend.run_sql(
            sql, label=template, dt_range=(span["start_dt"], span["end_dt"]), by_partition=True
        )
        assert parts == whole and len({r["dt"] for r in whole}) == 4


# --- both engines judge the Parquet types, not the stored Arrow schema (issue 19, invariant 7) ------


def _arrow_only_variant(table: pa.Table, kind: str) -> pa.Table:
    """`table` with a type only the stored `ARROW:schema` tells apart from the contract's."""
    strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
    stamps = [f.name for f in table.schema if pa.types.is_timestamp(f.type)]
    for name in strings if kind != "timestamp_etc_utc" else stamps:
        column = table[name]
        if kind == "dictionary":
            column = column.dictionary_encode()
        elif kind == "large_string":
            column = column.cast(pa.large_string())
        else:
            column = column.cast(pa.timestamp("us", tz="Etc/UTC"))
        table = table.set_column(table.schema.get_field_index(name), name, column)
    return table


@pytest.mark.parametrize("kind", ["dictionary", "large_string", "timestamp_etc_utc"])
@pytest.mark.parametrize("engine", ["sql", "gx"])
def test_both_engines_pass_files_whose_parquet_types_are_the_contracts(lake, backend, kind, engine):
    import pyarrow.parquet as pq

    folder = lake.write_partition(DAY, valid_rows(DAY, 20))
    table = pq.read_table(folder / "part-00000.parquet")
    variant = _arrow_only_variant(table, kind)
    assert not variant.schema.equals(table.schema)
    pq.write_table(variant, folder / "part-00000.parquet")
    assert pq.read_metadata(folder / "part-00000.parquet").metadata[b"ARROW:schema"]
    (result,) = schema_validity.run(ctx_for(backend, DAY, engine))
    assert result.status is Status.PASS, result.message


@pytest.mark.parametrize("change", ["int32_position_count", "string_timestamps"])
@pytest.mark.parametrize("engine", ["sql", "gx"])
def test_both_engines_fail_a_real_parquet_type_change(lake, backend, change, engine):
    import pyarrow.parquet as pq

    folder = lake.write_partition(DAY, valid_rows(DAY, 20))
    table = pq.read_table(folder / "part-00000.parquet")
    names = ["position_count"] if change == "int32_position_count" else ["first_seen", "last_seen"]
    for name in names:
        target = pa.int32() if change == "int32_position_count" else pa.string()
        table = table.set_column(table.schema.get_field_index(name), name, table[name].cast(target))
    pq.write_table(table, folder / "part-00000.parquet")
    (result,) = schema_validity.run(ctx_for(backend, DAY, engine))
    assert result.status is Status.FAIL and result.severity is Severity.P1
