"""The "Flight data quality" page: data assembly, the chart, deep links, the plugin and its auth.

Unit layer: hand-written history records (every number chosen here), one small real lake checked
by the runner, and the FastAPI app behind a TestClient with Airflow's real SimpleAuthManager issuing
and validating the JWTs. tests/test_ui_browser.py drives the same pages in a real api-server.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import re
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from flightdq.core import links
from flightdq.storage.blobstore import LocalBlobStore
from flightdq.storage.history import HistoryStore
from flightdq.ui import actions, counts, data, day_view, now
from flightdq.ui.chart import LABEL_WIDTH, STATE_COLORS, label_indices, nice_step, row_count_svg, y_range

REPO = Path(__file__).resolve().parents[2]
P = "flightdata_processed"
R = "flightdata_raw"
D1, D2, D3 = "2026-11-20", "2026-11-21", "2026-11-22"
NOW = datetime(2026, 11, 23, 3, 0, tzinfo=UTC)  # the unit layer's "now": 03:00 UTC on 2026-11-23


def rec(dataset, dt, check, status, severity=None, *, at="2026-11-23T02:00:00+00:00", run="run-a", **kw):
    return {
        "dataset": dataset,
        "dt": dt,
        "check": check,
        "status": status,
        "severity": severity,
        "observed": kw.pop("observed", 1),
        "expected": kw.pop("expected", 1),
        "message": kw.pop("message", f"{check} {status}"),
        "details": kw.pop("details", {}),
        "run_id": run,
        "as_of": at,
        "checked_at": at,
        "backend": "local",
        **kw,
    }


# --- states and the calendar ----------------------------------------------------------------------
def test_a_verdict_is_coloured_by_its_severity():
    assert data.record_state(None) == "nodata"
    assert data.record_state(rec(P, D1, "duplicates", "pass")) == "pass"
    assert data.record_state(rec(P, D1, "record_count_drift", "warn")) == "warn"
    for sev in ("P0", "P1", "P2", "P3"):
        assert data.record_state(rec(P, D1, "duplicates", "fail", sev)) == sev
        assert data.record_state(rec(P, D1, "duplicates", "error", sev)) == sev
    assert data.record_state(rec(P, D1, "duplicates", "fail", None)) == data.FALLBACK_SEVERITY


def test_worst_ranks_severities_before_warnings_passes_and_no_data():
    assert data.worst(["pass", "P3", "warn", "P1", "P2"]) == "P1"
    assert data.worst(["pass", "P0", "P1"]) == "P0"
    assert data.worst(["pass", "warn"]) == "warn"
    assert data.worst(["nodata", "pass"]) == "pass"  # some verdicts: the worst of them
    assert data.worst(["nodata", "nodata"]) == "nodata"
    assert data.worst([]) == "nodata"


def history_three_days() -> list[dict]:
    early, late = "2026-11-23T02:00:00+00:00", "2026-11-23T09:00:00+00:00"
    return [
        # D1: presence failed P1 at 02:00, passed after the repair at 09:00
        rec(P, D1, "partition_presence", "fail", "P1", at=early),
        rec(P, D1, "partition_presence", "pass", at=late, run="rem__recheck"),
        rec(P, D1, "duplicates", "fail", "P3", at=early),
        rec(R, D1, "partition_presence", "pass", at=early),
        # D2: raw data lost (P0) and a drift warning; the processed presence passes
        rec(R, D2, "partition_presence", "fail", "P0", at=early),
        rec(P, D2, "partition_presence", "pass", at=early),
        rec(P, D2, "record_count_drift", "warn", at=early),
        # D3: schema P2 then worse P1 in a later run
        rec(P, D3, "schema_validity", "fail", "P2", at=early),
        rec(P, D3, "schema_validity", "fail", "P1", at=late, run="run-b"),
        # a day outside the calendar's range is ignored
        rec(P, "2026-11-01", "duplicates", "fail", "P0"),
    ]


def test_calendar_cells_are_the_latest_verdicts_and_days_their_worst():
    cal = data.build_calendar(history_three_days(), [D1, D2, D3])
    assert [c.dataset for c in cal.datasets] == [P, R]
    processed, raw = cal.datasets
    assert [r.check for r in processed.rows] == list(data.CHECKS)
    assert [r.check for r in raw.rows] == ["partition_presence", "freshness"]

    def cell(dataset_cal, check, dt):
        row = next(r for r in dataset_cal.rows if r.check == check)
        return next(c for c in row.cells if c.dt == dt)

    presence = cell(processed, "partition_presence", D1)
    assert presence.state == "pass" and presence.recovered and presence.label == "↺"
    assert cell(processed, "duplicates", D1).state == "P3"
    assert cell(processed, "schema_validity", D3).state == "P1"  # the later, worse run wins
    assert cell(raw, "partition_presence", D2).state == "P0"
    assert cell(processed, "record_count_drift", D2).state == "warn"
    assert cell(processed, "freshness", D1).state == "nodata"
    assert [c.state for c in processed.summary] == ["P3", "warn", "P1"]
    assert [c.state for c in raw.summary] == ["pass", "P0", "nodata"]
    assert cal.day_states == {D1: "P3", D2: "P0", D3: "P1"}
    assert cal.unhealthy_days == [D1, D2, D3]
    assert cal.counts["P0"] == 1 and cal.counts["pass"] == 3
    assert "failed earlier" in presence.title


def test_calendar_without_history_has_no_data():
    cal = data.build_calendar([], data.day_list(date(2026, 11, 22), 7))
    assert not cal.has_data
    assert cal.days[0] == "2026-11-16" and cal.days[-1] == "2026-11-22"
    assert set(cal.day_states.values()) == {"nodata"}


def test_calendar_of_a_real_lake_checked_by_the_runner(lake, backend):
    """A healthy day and a day whose processed partition is missing (raw intact): P1 presence."""
    from flightdq.checks.runner import run_checks
    from flightdq.core.dates import utcnow

    healthy, broken = date(2026, 11, 18), date(2026, 11, 19)
    lake.healthy_day(healthy)
    lake.write_raw(broken)
    run_checks(
        [healthy, broken],
        utcnow(),
        checks=["partition_presence", "duplicates"],
        backend=backend,
        settings=backend.settings,
        run_id="manual__test",
    )
    records = HistoryStore(LocalBlobStore(lake.root)).read([healthy, broken])
    cal = data.build_calendar(records, [str(healthy), str(broken)])
    processed = cal.datasets[0]
    presence = next(r for r in processed.rows if r.check == "partition_presence")
    assert [c.state for c in presence.cells] == ["pass", "P1"]
    assert cal.day_states[str(broken)] == "P1"


# --- the day view ---------------------------------------------------------------------------------
def incident_dict():
    return {
        "id": f"{P}__{D1}__partition_presence__1",
        "dataset": P,
        "dt": D1,
        "check": "partition_presence",
        "state": "resolved",
        "severity": "P1",
        "opened_at": "2026-11-23T02:00:00+00:00",
        "resolved_at": "2026-11-23T09:00:00+00:00",
        "timeline": [
            {
                "at": "2026-11-23T02:00:00+00:00",
                "event": "detected",
                "detail": "partition missing",
                "severity": "P1",
                "run_id": "run-a",
                "links": {"airflow_run": "http://127.0.0.1:8080/dags/flightdq_daily_checks/runs/run-a"},
            },
            {
                "at": "2026-11-23T08:00:00+00:00",
                "event": "remediation_finished",
                "detail": "rebuild: repaired",
                "severity": None,
                "run_id": "manual__2026-11-23T08:00:00+00:00",
                "links": {"etl_run": "jr_123"},
            },
            {"at": "2026-11-23T09:00:00+00:00", "event": "resolved", "detail": "passes again", "links": {}},
        ],
    }


def test_day_view_lists_each_check_with_observed_expected_and_its_run():
    records = [
        *history_three_days(),
        rec(P, D1, "record_count_drift", "fail", "P2", observed=8123, expected=10980, message="drop"),
    ]
    dag_ids = {"run-a": ["flightdq_daily_checks"], "rem": ["flightdq_remediation"]}
    view = day_view.build_day(D1, records, [], [incident_dict()], dag_ids=dag_ids, ui_root="/airflow")
    assert [(c.dataset, c.check) for c in view.checks] == [  # worst first (P2, P3), then the passes
        (P, "record_count_drift"),
        (P, "duplicates"),
        (P, "partition_presence"),
        (R, "partition_presence"),
    ]
    drift = view.checks[0]
    assert (drift.observed, drift.expected, drift.state) == ("8,123 flights", "10,980 flights", "P2")
    assert drift.run.dags == [("flightdq_daily_checks", "/airflow/dags/flightdq_daily_checks/runs/run-a")]
    presence = view.checks[2]
    assert presence.state == "pass" and len(presence.earlier) == 1
    assert presence.earlier[0]["status"] == "fail"
    # the re-check after a repair links to the remediation run
    assert presence.run.kind == "re-check after repair"
    assert presence.run.dags == [("flightdq_remediation", "/airflow/dags/flightdq_remediation/runs/rem")]
    assert [c.check for c in view.failing] == ["record_count_drift", "duplicates"]
    assert view.state == "P2"
    assert (P, "freshness") in view.missing_checks
    assert {r.run.run_id for r in view.runs} == {"run-a", "rem__recheck"}


def test_day_view_shows_the_incident_timeline_and_the_remediations():
    rem_run = "manual__2026-11-23T08:00:00+00:00"
    remediations = [
        {
            "dt": D1,
            "action": "rebuild",
            "outcome": "repaired",
            "message": "rebuild done",
            "etl_run_id": "jr_123",
            "still_failing": [],
            "run_key": "manual__2026-11-23T08_00_00+00_00",  # safe_name of the run id
        }
    ]
    dag_ids = {rem_run: ["flightdq_remediation"], "run-a": ["flightdq_daily_checks"]}
    view = day_view.build_day(D1, history_three_days(), remediations, [incident_dict()], dag_ids=dag_ids)
    (incident,) = view.incidents
    assert (incident.state, incident.severity, incident.resolved_at) == (
        "resolved",
        "P1",
        "2026-11-23T09:00:00+00:00",
    )
    assert [e.event for e in incident.timeline] == ["detected", "remediation_finished", "resolved"]
    detected = incident.timeline[0]
    assert detected.links == [("airflow run", "http://127.0.0.1:8080/dags/flightdq_daily_checks/runs/run-a")]
    assert detected.run.dags[0][0] == "flightdq_daily_checks"
    assert incident.timeline[1].links == [("ETL run jr_123", None)]  # local backend: no console
    (remediation,) = view.remediations
    assert remediation.outcome == "repaired" and remediation.etl_run_id == "jr_123"
    assert remediation.run.run_id == rem_run  # found from the file name through the timeline
    assert remediation.run.dags == [
        ("flightdq_remediation", day_view.airflow_run_path("flightdq_remediation", rem_run))
    ]
    athena = {"template": "partition_stats", "engine": "athena", "query_execution_id": "q-9", "seconds": 1.5}
    queried = rec(P, D1, "duplicates", "pass", details={"queries": [athena | {"data_scanned_bytes": 2048}]})
    (row,) = day_view.build_day(D1, [queried], [], None, dag_ids={}, backend="aws").checks
    assert row.queries == [
        ("partition_stats on athena, 1.5 s, 2,048 bytes scanned", links.athena_query_url("q-9", "us-east-1"))
    ]
    assert day_view.build_day(D1, [queried], [], None, dag_ids={}).checks[0].queries[0][1] is None  # local
    aws = day_view.build_day(D1, [], remediations, None, dag_ids={}, backend="aws")
    assert aws.remediations[0].etl_url.startswith("https://us-east-1.console.aws.amazon.com/gluestudio/")
    assert aws.incidents is None


def test_incidents_are_read_defensively(tmp_path, monkeypatch):
    blobs = LocalBlobStore(tmp_path)
    from flightdq.incidents.store import Event, IncidentStore

    IncidentStore(blobs).append(
        "data", D1, Event("2026-11-23T02:00:00+00:00", "detected", "dup", "P3", dataset=P, check="duplicates")
    )
    found = day_view.read_incidents(blobs, [D1])
    assert [(i["check"], i["state"], i["severity"]) for i in found] == [("duplicates", "open", "P3")]
    assert found[0]["timeline"][0]["event"] == "detected"
    monkeypatch.setitem(sys.modules, "flightdq.incidents.store", None)  # the module is missing
    assert day_view.read_incidents(blobs, [D1]) is None


def test_remediation_records_carry_the_run_they_came_from(tmp_path):
    blobs = LocalBlobStore(tmp_path)
    HistoryStore(blobs).write_remediation(
        "manual__2026-11-23T08:00:00+00:00", [{"dt": D1, "action": "rebuild", "outcome": "repaired"}]
    )
    (record,) = HistoryStore(blobs).read_remediations([D1])
    assert record["run_key"] == "manual__2026-11-23T08_00_00+00_00"
    assert day_view.match_run_key(record["run_key"], ["x", "manual__2026-11-23T08:00:00+00:00"]) == (
        "manual__2026-11-23T08:00:00+00:00"
    )


# --- the row count chart --------------------------------------------------------------------------
def drift(dt, observed, expected, baseline, status="pass", severity=None, hours=24):
    return rec(
        P,
        dt,
        "record_count_drift",
        status,
        severity,
        observed=observed,
        expected=expected,
        details={"baseline": baseline, "hours_judged": hours},
    )


def test_row_count_band_runs_from_the_alarm_threshold_to_the_highest_comparable_day():
    records = [
        drift(D1, 95, 100, {"2026-11-13": 90, "2026-11-06": 110, "2026-10-30": 120}),
        drift(D2, 60, 100, {"2026-11-14": 100, "2026-11-07": 98}, "fail", "P2"),
        drift(D3, 7, None, {}, "warn", hours=3),
    ]
    p1, p2, p3, p4 = counts.row_count_series(records, [D1, D2, D3, "2026-11-23"], drop_fail_ratio=0.2)
    assert (p1.observed, p1.expected, p1.low, p1.high) == (95, 100, 80.0, 120)
    assert p1.state == "pass" and not p1.partial
    assert (p2.low, p2.high, p2.state) == (80.0, 100, "P2")  # below its band: a drop
    assert p2.observed < p2.low
    assert (p3.expected, p3.low, p3.high, p3.partial, p3.state) == (None, None, None, True, "warn")
    assert (p4.observed, p4.state) == (None, "nodata")
    assert counts.row_count_series(records, [D1], drop_fail_ratio=0.5)[0].low == 50.0


def test_chart_draws_the_band_median_and_dots_in_the_calendar_colours():
    records = [
        drift(D1, 95, 100, {"a": 90, "b": 110, "c": 120}),
        drift(D2, 60, 100, {"a": 100, "b": 98}, "fail", "P2"),
    ]
    svg = row_count_svg(counts.row_count_series(records, [D1, D2]), highlight=D2, day_href="/flightdq/day/")
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    bands = re.findall(r'class="band" data-dt="([\d-]+)" data-low="([\d.]+)" data-high="([\d.]+)"', svg)
    assert bands == [(D1, "80.0", "120.0"), (D2, "80.0", "100.0")]
    assert svg.count('class="median"') == 2
    assert f'class="point s-P2" data-dt="{D2}" data-observed="60"' in svg
    assert f'fill="{STATE_COLORS["P2"]}"' in svg and f'fill="{STATE_COLORS["pass"]}"' in svg
    assert f'href="/flightdq/day/{D2}"' in svg
    assert 'class="highlight"' in svg
    assert "normal 100 (band 80 to 100)" in svg  # the tooltip says the numbers
    empty = row_count_svg(counts.row_count_series([], [D1]))
    assert "No record_count_drift verdicts" in empty


def test_chart_axis_has_round_ticks_above_every_value():
    assert nice_step(100) == 50 and nice_step(7) == 2 and nice_step(0) == 1
    points = counts.row_count_series([drift(D1, 95, 100, {"a": 120})], [D1])
    low, top = y_range(points)
    assert low == 0 and top >= 120 * 1.05 and top % nice_step(top) == 0


def test_css_palette_is_the_chart_palette():
    css = (REPO / "include/flightdq/ui/static/flightdq.css").read_text()
    for state, colour in STATE_COLORS.items():
        assert f"--s-{state}: {colour};" in css, state
        assert f".s-{state} {{ background: var(--s-{state});" in css, state
    assert "http" not in css.replace("http://www.w3.org", "")  # nothing fetched from elsewhere


# --- deep links ---------------------------------------------------------------------------------
def test_the_glue_run_link_names_the_job_the_repair_runs(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("FLIGHTDQ_ETL_JOB", "team-etl")
    assert links.console_links("aws").etl_run("jr_9").endswith("#/job/team-etl/run/jr_9")
    monkeypatch.delenv("FLIGHTDQ_ETL_JOB")
    assert links.console_links("aws").etl_run("jr_9").endswith("#/job/flightdata-etl/run/jr_9")


def test_aws_console_urls():
    assert links.athena_query_url("abc-123", "eu-west-1") == (
        "https://eu-west-1.console.aws.amazon.com/athena/home?region=eu-west-1#/query-editor/history/abc-123"
    )
    assert links.glue_job_run_url("jr_9", "eu-west-1") == (
        "https://eu-west-1.console.aws.amazon.com/gluestudio/home?region=eu-west-1"
        "#/job/flightdata-etl/run/jr_9"
    )
    assert links.s3_prefix_url(
        "flightdata-processed", "flightdata_processed/dt=2026-11-20/", "eu-west-1"
    ) == (
        "https://s3.console.aws.amazon.com/s3/buckets/flightdata-processed?region=eu-west-1"
        "&prefix=flightdata_processed%2Fdt%3D2026-11-20%2F&showversions=false"
    )
    assert "prefix=year%3D2026%2Fmonth%3D11%2Fday%3D20%2F" in links.raw_day_console_url(D1)
    assert links.aws_region({"AWS_DEFAULT_REGION": "ap-south-1"}) == "ap-south-1"
    assert links.aws_region({}) == "us-east-1"


def test_plugin_urls_inside_the_airflow_ui():
    assert links.day_view_url(D1, base_url="") == f"/plugin/flight-data-quality/flightdq/day/{D1}"
    assert (
        links.day_view_url(D1, base_url="http://h:8080/", embedded=False)
        == f"http://h:8080/flightdq/day/{D1}"
    )
    assert links.days_view_url([D2], base_url="") == links.day_view_url(D2, base_url="")
    assert links.days_view_url([D1, D3, D2], base_url="") == (
        "/plugin/flight-data-quality/flightdq/?end=2026-11-22&days=14"
    )
    assert links.days_view_url([], base_url="") is None
    assert links.ui_path({"AIRFLOW__API__BASE_URL": "https://af.example/airflow/"}) == "/airflow"
    assert links.ui_path({}) == ""


def test_check_task_links_per_backend():
    records = [
        rec(
            P,
            D1,
            "duplicates",
            "pass",
            details={"queries": [{"engine": "athena", "query_execution_id": "q-1"}]},
        ),
        rec(
            P,
            D2,
            "duplicates",
            "fail",
            "P3",
            details={"queries": [{"engine": "athena", "query_execution_id": "q-2"}]},
        ),
    ]
    local = links.check_task_links(links.NoConsole(), [D1, D2], records, base_url="")
    assert local == {links.DAY_VIEW: f"/plugin/flight-data-quality/flightdq/day/{D2}"}  # the failing day
    aws = links.check_task_links(links.AwsConsole("eu-west-1"), [D1, D2], records, base_url="")
    assert aws[links.ATHENA_QUERY].endswith("/history/q-2")
    assert aws[links.S3_PARTITION].endswith(
        "prefix=flightdata_processed%2Fdt%3D2026-11-21%2F&showversions=false"
    )
    assert links.S3_RAW not in aws
    passing = links.check_task_links(links.NoConsole(), [D1, D2], records[:1], base_url="")
    assert passing[links.DAY_VIEW].endswith("?end=2026-11-21&days=14")  # nothing failed: the range
    raw = links.check_task_links(
        links.AwsConsole(), [D1], [rec(R, D1, "freshness", "fail", "P2")], base_url=""
    )
    assert links.S3_RAW in raw and links.S3_PARTITION not in raw and links.ATHENA_QUERY not in raw
    assert links.query_execution_ids(records) == ["q-1", "q-2"]


def test_check_task_links_from_what_the_task_recorded(tmp_path):
    history = HistoryStore(LocalBlobStore(tmp_path))
    history.write("r1", "duplicates", [rec(P, D2, "duplicates", "fail", "P3", run="r1")])
    history.write("r1", "freshness", [rec(P, D1, "freshness", "fail", "P1", run="r1")])
    history.write("r0", "duplicates", [rec(P, D1, "duplicates", "fail", "P3", run="r0")])
    got = links.check_task_links_from_history(
        history, "r1", "duplicates", [D1, D2], links.NoConsole(), base_url=""
    )
    assert got == {links.DAY_VIEW: f"/plugin/flight-data-quality/flightdq/day/{D2}"}


def test_remediation_task_links_per_backend():
    assert links.remediation_task_links(links.NoConsole(), D1, etl_run_id="local-etl__x", base_url="") == {
        links.DAY_VIEW: f"/plugin/flight-data-quality/flightdq/day/{D1}"
    }
    aws = links.remediation_task_links(links.AwsConsole("eu-west-1"), D1, etl_run_id="jr_1", base_url="")
    assert aws[links.GLUE_JOB_RUN].endswith("#/job/flightdata-etl/run/jr_1")
    assert aws[links.S3_PARTITION].startswith(
        "https://s3.console.aws.amazon.com/s3/buckets/flightdata-processed"
    )
    span = links.remediation_task_links(links.NoConsole(), None, days=[D1, D2], base_url="")
    assert span[links.DAY_VIEW].endswith("?end=2026-11-21&days=14")


def test_extra_links_read_the_task_xcom_then_the_runs_return_values():
    from airflow.models.taskinstancekey import TaskInstanceKey

    from flightdq.airflow import extra_links

    xcoms = {
        ("flightdq_daily_checks", "r1", "check_duplicates", links.LINKS_XCOM_KEY, -1): json.dumps(
            {links.DAY_VIEW: "/x/day", links.ATHENA_QUERY: "https://athena/q"}
        ),
        ("flightdq_daily_checks", "r2", "resolve_target", "return_value", -1): {"days": [D1]},
        ("flightdq_remediation", "r3", "repair_day", "return_value", 0): {"dt": D2, "etl_run_id": "jr_7"},
        ("other_dag", "r1", "t", links.LINKS_XCOM_KEY, -1): {links.DAY_VIEW: "/nope"},
    }

    def reader(dag_id, run_id, task_id, key, map_index):
        return extra_links.decode(xcoms.get((dag_id, run_id, task_id, key, map_index)))

    def settings(backend="aws"):
        return lambda: (backend, "")

    def got(dag, run, task, map_index=-1, backend="aws"):
        key = TaskInstanceKey(dag, task, run, 1, map_index)
        return extra_links.task_links(key, reader=reader, settings=settings(backend))

    assert got("flightdq_daily_checks", "r1", "check_duplicates") == {
        links.DAY_VIEW: "/x/day",
        links.ATHENA_QUERY: "https://athena/q",
    }
    assert got("flightdq_daily_checks", "r2", "check_freshness") == {
        links.DAY_VIEW: f"/plugin/flight-data-quality/flightdq/day/{D1}"
    }
    repair = got("flightdq_remediation", "r3", "repair_day", 0)
    assert repair[links.GLUE_JOB_RUN].endswith("/run/jr_7") and links.S3_PARTITION in repair
    assert links.GLUE_JOB_RUN not in got("flightdq_remediation", "r3", "repair_day", 0, backend="local")
    assert got("other_dag", "r1", "t") == {}
    assert got("flightdq_daily_checks", "nothing", "check_duplicates") == {}
    names = [link.name for link in extra_links.operator_extra_links()]
    assert names == list(links.LINK_NAMES)


def test_an_extra_link_that_fails_is_empty_not_an_error(monkeypatch):
    from airflow.models.taskinstancekey import TaskInstanceKey

    from flightdq.airflow import extra_links

    def broken(*args, **kwargs):
        raise RuntimeError("db down")

    monkeypatch.setattr(extra_links, "task_links", broken)
    key = TaskInstanceKey("flightdq_daily_checks", "check_duplicates", "r", 1, -1)
    assert extra_links.DayViewLink().get_link(None, ti_key=key) == ""


# --- the plugin -----------------------------------------------------------------------------------
def load_plugin():
    spec = importlib.util.spec_from_file_location(
        "flightdq_plugin_under_test", REPO / "plugins/flightdq_plugin.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FlightDataQualityPlugin


def test_the_plugin_registers_the_app_the_nav_entry_and_the_links():
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES
    from airflow.plugins_manager import is_valid_plugin
    from fastapi import FastAPI

    plugin = load_plugin()
    assert is_valid_plugin(plugin)
    (app,) = plugin.fastapi_apps
    assert isinstance(app["app"], FastAPI)
    assert app["url_prefix"] == "/flightdq"
    assert not any(app["url_prefix"].startswith(p) for p in RESERVED_URL_PREFIXES)
    (view,) = plugin.external_views
    assert view["destination"] == "nav" and view["url_route"] == links.PLUGIN_URL_ROUTE
    assert view["href"] == "flightdq/"  # relative: the UI resolves it against its base URL
    assert not view["href"].startswith(("/", "http"))
    assert [link.name for link in plugin.operator_extra_links] == list(links.LINK_NAMES)
    from airflow.providers.standard.decorators.python import _PythonDecoratedOperator

    from flightdq.airflow.operators import CheckOperator

    for link in plugin.operator_extra_links:  # @task functions and the check tasks of the checks DAGs
        assert {_PythonDecoratedOperator, CheckOperator} <= set(link.operators), link.name


# --- the app and its auth -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def auth_manager():
    """Airflow's SimpleAuthManager as the api-server runs it (token signing and validation are the
    real ones). Token revocation is looked up in the metadata DB, which this unit layer does not
    create: the lookup answers "not revoked" here; the browser test runs against a real DB."""
    from airflow.api_fastapi.app import create_auth_manager
    from airflow.models.revoked_token import RevokedToken

    original = RevokedToken.__dict__["is_revoked"]
    RevokedToken.is_revoked = classmethod(lambda cls, jti, session=None: False)
    manager = create_auth_manager()
    manager.init()
    yield manager
    RevokedToken.is_revoked = original


def token(manager, role="viewer", username="oncall", **kwargs):
    from airflow.api_fastapi.auth.managers.simple.user import SimpleAuthManagerUser

    return manager.generate_jwt(SimpleAuthManagerUser(username=username, role=role), **kwargs)


def write_history(lake: Path, records: list[dict]) -> None:
    """As the runner writes it: one file per run, check and day (in a lake: its raw zone is there)."""
    (lake / "flightdata-raw").mkdir(parents=True, exist_ok=True)
    grouped: dict[tuple[str, str], list[dict]] = {}
    for record in records:
        grouped.setdefault((record["run_id"], record["check"]), []).append(record)
    history = HistoryStore(LocalBlobStore(lake))
    for (run_id, check), group in grouped.items():
        history.write(run_id, check, group)


@pytest.fixture
def client(tmp_path, auth_manager):
    """The app mounted at /flightdq as the api-server mounts it, on a lake with a written history."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from flightdq.core.config import Settings
    from flightdq.ui.app import Sources, create_app

    lake = tmp_path / "lake"
    (lake / "flightdata-raw").mkdir(parents=True)
    write_history(lake, history_three_days())
    sources = Sources(
        settings_factory=lambda: Settings.from_env({"FLIGHTDQ_LAKE": str(lake)}),
        dag_ids_lookup=lambda ids: {"run-a": ["flightdq_daily_checks"], "run-b": ["flightdq_daily_checks"]},
        remediation_runs_lookup=lambda day: [],
        paused_lookup=lambda: [],
    )
    root = FastAPI()
    root.mount("/flightdq", create_app(sources=sources, today=lambda: date(2026, 11, 23), now=lambda: NOW))
    client = TestClient(root)
    client.lake = lake
    client.sources = sources
    return client


def test_unauthenticated_requests_are_refused(client):
    for path in ("/flightdq/", f"/flightdq/day/{D1}"):
        api = client.get(path, headers={"Accept": "application/json"})
        assert api.status_code == 401, path
        assert api.headers["www-authenticate"] == "Bearer"
        assert "Partition health" not in api.text and D2 not in api.text
        browser = client.get(path, headers={"Accept": "text/html"}, follow_redirects=False)
        assert browser.status_code == 303, path
        assert browser.headers["location"].startswith("/auth/login?next=")
        assert "flightdq" in browser.headers["location"]


def test_bad_and_expired_tokens_are_refused(client, auth_manager):
    import jwt

    forged = jwt.encode({"sub": "oncall", "role": "admin"}, "not-the-secret-" * 5, algorithm="HS512")
    client.cookies.set("_token", forged)
    assert client.get("/flightdq/", headers={"Accept": "application/json"}).status_code == 403
    client.cookies.set("_token", token(auth_manager, expiration_time_in_seconds=-60))
    expired = client.get("/flightdq/", headers={"Accept": "application/json"})
    assert expired.status_code == 401 and "expired" in expired.json()["detail"].lower()
    client.cookies.set("_token", token(auth_manager, role=None))  # a user without a role
    refused = client.get("/flightdq/", headers={"Accept": "text/html"}, follow_redirects=False)
    assert refused.status_code == 403 and "may not read DAG runs" in refused.text


def test_an_airflow_login_sees_the_calendar(client, auth_manager):
    client.cookies.set("_token", token(auth_manager))
    page = client.get("/flightdq/?end=2026-11-22&days=7")
    assert page.status_code == 200
    html = page.text
    assert "signed in as <b>oncall</b>" in html
    cell = re.search(
        rf'<a class="cell s-P0"[^>]*data-dataset="{R}" data-dt="{D2}" data-check="partition_presence"', html
    )
    assert cell, "the raw P0 day is not red in the calendar"
    assert f'href="/flightdq/day/{D2}"' in html
    assert 'href="/flightdq/static/flightdq.css"' in html
    assert "<svg" in html and "cdn" not in html.lower()
    assert not re.search(r'(src|href)="https?://', html)  # every asset is served by the plugin


def test_a_bearer_token_works_too(client, auth_manager):
    page = client.get("/flightdq/calendar", headers={"Authorization": f"Bearer {token(auth_manager)}"})
    assert page.status_code == 200 and "Partition health" in page.text


def test_the_day_view_lists_the_failing_check_and_the_runs(client, auth_manager):
    client.cookies.set("_token", token(auth_manager))
    page = client.get(f"/flightdq/day/{D3}")
    assert page.status_code == 200
    html = page.text
    row = re.search(
        r'<tr id="flightdata_processed--schema_validity" class="check"'
        r'[^>]*data-status="fail" data-state="P1"',
        html,
    )
    assert row, "the failing schema check is not listed as P1"
    assert 'href="/dags/flightdq_daily_checks/runs/run-b"' in html
    assert "No incident was opened for this day." in html
    assert client.get("/flightdq/day/2026-02-30").status_code == 400


def test_links_follow_a_base_url_with_a_path(tmp_path, auth_manager):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from flightdq.core.config import Settings
    from flightdq.ui.app import Sources, create_app

    lake = tmp_path / "lake"
    (lake / "flightdata-raw").mkdir(parents=True)
    HistoryStore(LocalBlobStore(lake)).write("run-a", "duplicates", [rec(P, D1, "duplicates", "fail", "P3")])
    sources = Sources(
        settings_factory=lambda: Settings.from_env({"FLIGHTDQ_LAKE": str(lake)}),
        dag_ids_lookup=lambda ids: {"run-a": ["flightdq_daily_checks"]},
        remediation_runs_lookup=lambda day: [],
    )
    root = FastAPI(root_path="/airflow")  # as Airflow's app is made for `[api] base_url` .../airflow
    root.mount("/flightdq", create_app(sources=sources))
    client = TestClient(root)
    client.cookies.set("_token", token(auth_manager))
    html = client.get(f"/airflow/flightdq/day/{D1}").text
    assert 'href="/airflow/flightdq/static/flightdq.css"' in html
    assert 'href="/airflow/dags/flightdq_daily_checks/runs/run-a"' in html


def test_record_files_of_older_days_are_read_once_per_few_minutes(tmp_path, monkeypatch):
    from flightdq.ui import sources as ui_sources

    write_history(tmp_path, [rec(P, D1, "duplicates", "pass"), rec(P, D3, "duplicates", "fail", "P3")])
    reads: list[str] = []

    class Counting(LocalBlobStore):
        def get(self, key):
            reads.append(key.split("/")[2])
            return super().get(key)

    sources = ui_sources.Sources()
    blobs, today = Counting(tmp_path), date(2026, 11, 23)  # D1 is over, D3 is still being written
    for _ in range(3):
        assert len(sources.check_records(blobs, [D1, D3], today=today)) == 2
    assert reads == [f"dt={D1}", f"dt={D3}", f"dt={D3}", f"dt={D3}"]
    monkeypatch.setattr(ui_sources.time, "monotonic", lambda: 1e12)  # ten minutes later: read again
    sources.check_records(blobs, [D1], today=today)
    assert reads[-1] == f"dt={D1}"


def test_a_backend_that_cannot_start_gives_a_page_not_a_crash(auth_manager):
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from flightdq.core.config import ConfigError
    from flightdq.ui.app import Sources, create_app

    def broken():
        raise ConfigError("FLIGHTDQ_BACKEND='gcp' is not one of local, aws")

    root = FastAPI()
    root.mount("/flightdq", create_app(sources=Sources(settings_factory=broken)))
    client = TestClient(root)
    assert client.get("/flightdq/").status_code == 401  # the login comes first
    client.cookies.set("_token", token(auth_manager))
    page = client.get("/flightdq/")
    assert page.status_code == 503 and "FLIGHTDQ_BACKEND" in page.text


def test_static_assets_are_local_and_hold_no_data(client):
    for name, kind in (
        ("flightdq.css", "text/css"),
        ("flightdq.js", "text/javascript"),
        ("icon.svg", "image/svg+xml"),
    ):
        got = client.get(f"/flightdq/static/{name}")
        assert got.status_code == 200 and got.headers["content-type"].startswith(kind), name
        assert got.headers["cache-control"] == "max-age=300", name
        assert D1 not in got.text
    assert client.get("/flightdq/static/../app.py").status_code == 404
    assert client.get("/flightdq/static/%2e%2e/app.py").status_code == 404
    assert client.get("/flightdq/static/app.py").status_code == 404
    assert client.get("/flightdq/static/").status_code == 404


def test_the_calendar_defaults_to_the_latest_checked_day(client, auth_manager):
    client.cookies.set("_token", token(auth_manager))
    html = client.get("/flightdq/calendar").text
    end = date(2026, 11, 22)
    assert f"{end - timedelta(days=27)} \u2013 {end}" in html


# --- incidents: acknowledging one (store and alerts) ------------------------------------------------
def at(minutes: float) -> datetime:
    return NOW + timedelta(minutes=minutes)


def failing(dt, check="partition_presence", severity="P1", dataset=P, status="fail"):
    from flightdq.core.results import CheckResult

    return CheckResult.from_dict(rec(dataset, dt, check, status, severity, message=f"{check} {severity}"))


def test_an_acknowledgement_says_who_and_when_and_holds_escalation_at_its_severity(tmp_path):
    from flightdq.core.config import IncidentPolicy
    from flightdq.incidents.alerts import due_alerts
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import EventKind, IncidentStore

    store = IncidentStore(LocalBlobStore(tmp_path))
    reconcile(store, [failing(D1, severity="P1")], run_id="r1", now=at(0))
    reconcile(store, [failing(D2, severity="P1")], run_id="r1", now=at(0))
    (mine,) = [i for i in store.open([D1])]
    acked = store.acknowledge(mine.id, " oncall ", at(10))
    assert (acked.acknowledged_by, acked.acknowledged_at) == ("oncall", at(10).isoformat())
    assert acked.acknowledged_for("P1") and acked.acknowledged_for("P2") and not acked.acknowledged_for("P0")
    event = acked.latest(EventKind.ACKNOWLEDGED)
    assert (event.detail, event.severity, event.data) == ("acknowledged by oncall", "P1", {"user": "oncall"})
    assert acked.to_dict()["acknowledged_by"] == "oncall"

    policy = IncidentPolicy()  # P1: respond within 60 minutes
    escalated = {
        a.incident_id
        for a in due_alerts(store.open([D1, D2]), policy=policy, now=at(90))
        if a.kind == "escalated"
    }
    assert escalated == {f"{D2}__data__1"}  # the acknowledged one stays quiet in its P1 window
    reconcile(store, [failing(D1, severity="P0")], run_id="r2", now=at(100))  # worse: a new window
    (worse,) = store.open([D1])
    assert worse.acknowledged_by == "oncall" and not worse.acknowledged_for(worse.severity)
    keys = {a.key for a in due_alerts([worse], policy=policy, now=at(120)) if a.kind == "escalated"}
    assert keys == {f"{D1}__data__1__escalated-P0"}

    with pytest.raises(LookupError):
        store.acknowledge(f"{D3}__data__1", "oncall", at(5))
    with pytest.raises(ValueError, match="user"):
        store.acknowledge(mine.id, "  ", at(5))
    reconcile(store, [failing(D2, status="pass", severity=None)], run_id="r3", now=at(130))
    with pytest.raises(ValueError, match="resolved"):
        store.acknowledge(f"{D2}__data__1", "oncall", at(140))


# --- the Now view -----------------------------------------------------------------------------------
def open_incident(dt, severity, opened_minutes_ago, *, kind="data", symptoms=1, events=()):
    from flightdq.incidents.store import Event, Incident, State, Symptom

    opened = (NOW - timedelta(minutes=opened_minutes_ago)).isoformat()
    causes = [Symptom(R, "partition_presence", severity, "raw hours 02-03 missing", opened)]
    causes += [Symptom(P, "freshness", "P2", "late", opened) for _ in range(symptoms - 1)]
    timeline = [Event(opened, "detected", "raw hours missing", severity, "run-a"), *events]
    return Incident(
        f"{dt}__{kind}__1",
        kind,
        dt,
        1,
        State.OPEN,
        severity,
        opened,
        None,
        timeline,
        causes,
        causes[0],
        severity,
    )


def test_now_lists_open_incidents_worst_first_then_oldest_with_their_clocks():
    from flightdq.core.config import ResponseMinutes
    from flightdq.incidents.store import Event, State

    finished = Event(at(-5).isoformat(), "remediation_finished", "rebuild: repaired", None, "manual__rem")
    incidents = [
        open_incident(D1, "P2", 30),
        open_incident(D3, "P0", 5, symptoms=3),
        open_incident(D2, "P0", 20, events=[finished]),
        open_incident("2026-11-19", "P1", 200, kind="monitor"),
    ]
    resolved = open_incident("2026-11-18", "P0", 500)
    resolved.state = State.RESOLVED
    resolved.resolved_at = at(-1).isoformat()
    remediations = {
        D1: [
            {
                "dt": D1,
                "action": "rebuild",
                "outcome": "still_failing",
                "message": "rows short",
                "run_key": "manual__2026-11-22T01_00_00+00_00",
            }
        ]
    }
    rows = now.build_now(
        [*incidents, resolved],
        remediations,
        now=NOW,
        response_minutes=ResponseMinutes().of,
        dag_ids={"manual__rem": ["flightdq_remediation"]},
        ui_root="/airflow",
    )
    assert [(r.dt, r.severity) for r in rows] == [(D2, "P0"), (D3, "P0"), ("2026-11-19", "P1"), (D1, "P2")]
    oldest_p0, newest_p0, monitor, p2 = rows
    assert (oldest_p0.age_minutes, oldest_p0.response_minutes, oldest_p0.overdue) == (20, 15, True)
    assert oldest_p0.clock == "overdue by 5 min" and oldest_p0.elapsed == 1.0
    assert (newest_p0.overdue, newest_p0.clock, newest_p0.elapsed) == (False, "10 min left", 5 / 15)
    assert newest_p0.symptoms == [("P2", "freshness on flightdata_processed")] * 2
    assert newest_p0.cause == "partition_presence on flightdata_raw"
    assert monitor.clock == "overdue by 2 h 20 min"
    assert p2.clock == "3 h 30 min left"
    latest = oldest_p0.remediation
    assert (latest.what, latest.detail, latest.at) == ("finished", "rebuild: repaired", at(-5).isoformat())
    assert latest.run.dags == [
        ("flightdq_remediation", "/airflow/dags/flightdq_remediation/runs/manual__rem")
    ]
    assert (p2.remediation.what, p2.remediation.at) == ("still_failing", None)  # a record: no time
    assert newest_p0.remediation is None
    assert [a.key for a in monitor.actions] == ["recheck"]  # a blind monitor is not repaired
    assert [a.key for a in p2.actions] == ["dry_run", "repair", "recheck"]
    assert now.duration_text(59.6) == "1 h 00 min" and now.duration_text(3000) == "2 d 2 h"


def test_today_by_the_hour_from_the_presence_counts_and_the_verdicts_of_each_hour():
    today, moment = "2026-11-23", datetime(2026, 11, 23, 5, 30, tzinfo=UTC)
    raw = rec(
        R,
        today,
        "partition_presence",
        "fail",
        "P0",
        at="2026-11-23T05:05:00+00:00",
        details={"hours_due": 5, "missing_hours": [2], "objects": 48},
    )
    records = [
        raw,
        rec(P, today, "freshness", "fail", "P2", at="2026-11-23T03:05:00+00:00"),
        rec(P, today, "partition_presence", "pass", at="2026-11-23T03:05:00+00:00"),
        rec(P, today, "freshness", "pass", at="2026-11-23T04:05:00+00:00"),
        rec(P, D3, "freshness", "fail", "P1", at="2026-11-23T02:00:00+00:00"),  # another day: not today's
    ]
    day, (snapshots, raw_checks, processed) = now.hourly_today(records, moment)
    assert day == today
    states = [c.state for c in snapshots.cells]
    assert states[:5] == ["pass", "pass", "P0", "pass", "pass"] and set(states[5:]) == {"future"}
    assert "4 of 5 hours" in snapshots.note
    assert [c.state for c in processed.cells[:7]] == [
        "nodata",
        "nodata",
        "nodata",
        "P2",
        "pass",
        "nodata",
        "future",
    ]
    assert (
        "freshness: fail P2" in processed.cells[3].title
        and "partition_presence: pass" in processed.cells[3].title
    )
    assert raw_checks.cells[5].state == "P0" and raw_checks.cells[4].state == "nodata"
    (nothing, *_), _ = now.hourly_today([], moment)[1], None
    assert {c.state for c in nothing.cells[:5]} == {"nodata"} and "no partition_presence" in nothing.note


# --- acting from the page: trigger links ------------------------------------------------------------
def test_trigger_actions_name_the_dag_the_conf_and_airflows_own_endpoint():
    dry, repair, recheck = actions.day_actions(D1, "/airflow")
    assert (dry.dag_id, dry.conf) == ("flightdq_remediation", {"date": D1, "dry_run": True})
    assert (repair.dag_id, repair.conf, repair.danger) == (
        "flightdq_remediation",
        {"date": D1, "dry_run": False},
        True,
    )
    assert (recheck.dag_id, recheck.conf) == (
        "flightdq_daily_checks",
        {"date": D1, "trigger_remediation": False},
    )
    assert dry.api_path == "/airflow/api/v2/dags/flightdq_remediation/dagRuns"
    assert recheck.dag_path == "/airflow/dags/flightdq_daily_checks"
    assert json.loads(dry.conf_json) == dry.conf and D1 in dry.note
    assert [a.key for a in actions.day_actions(D1, kind="monitor")] == ["recheck"]


def test_the_day_view_offers_the_runs_prefilled_and_lists_remediation_runs_dry_runs_included():
    runs = [
        {
            "dag_id": "flightdq_remediation",
            "run_id": "manual__1",
            "state": "queued",
            "conf": {"date": D1, "dry_run": True},
            "run_after": "2026-11-23T01:00:00+00:00",
        },
        {
            "dag_id": "flightdq_remediation",
            "run_id": "manual__2",
            "state": "success",
            "conf": {"date": "2026-11-18", "to": D2},
            "run_after": "2026-11-23T02:00:00+00:00",
        },
        {
            "dag_id": "flightdq_remediation",
            "run_id": "manual__3",
            "state": "failed",
            "conf": {"days": [D1, D3], "dry_run": False},
            "run_after": "2026-11-23T00:00:00+00:00",
        },
        {
            "dag_id": "flightdq_remediation",
            "run_id": "manual__4",
            "state": "success",
            "conf": {"date": D3},
            "run_after": "2026-11-23T03:00:00+00:00",
        },
    ]
    view = day_view.build_day(D1, [], [], [], dag_ids={}, remediation_run_records=runs)
    assert [(r.run_id, r.dry_run, r.days) for r in view.remediation_runs] == [
        ("manual__2", True, f"2026-11-18 to {D2}"),  # no dry_run in its conf: the param's default
        ("manual__1", True, D1),
        ("manual__3", False, "2 days"),
    ]
    assert day_view.build_day(D1, [], [], [], dag_ids={}).remediation_runs is None


def test_a_repair_waiting_for_approval_links_to_its_required_action(client, auth_manager):
    run = {
        "dag_id": "flightdq_remediation",
        "run_id": "manual__big",
        "state": "running",
        "conf": {"date": D1, "to": D3, "dry_run": False},
        "run_after": "2026-11-23T01:00:00+00:00",
        "awaiting_approval": True,
    }
    client.sources.remediation_runs_lookup = lambda day: [
        run,
        run | {"run_id": "manual__small", "awaiting_approval": False},
    ]
    client.cookies.set("_token", token(auth_manager, role="user"))
    html = client.get(f"/flightdq/day/{D2}").text
    links = re.findall(r'class="approval" href="([^"]+)"', html)
    assert links == ["/dags/flightdq_remediation/runs/manual__big/tasks/approve/required_actions"]


def test_the_day_page_shows_the_incident_first_and_buttons_with_the_day_filled_in(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    reconcile(
        IncidentStore(LocalBlobStore(client.lake)),
        [failing(D3, "schema_validity", "P1"), failing(D3, "duplicates", "P3")],
        run_id="run-b",
        now=NOW,
    )
    client.cookies.set("_token", token(auth_manager, role="user"))
    html = client.get(f"/flightdq/day/{D3}").text
    order = [
        html.index(f'id="{section}"')
        for section in ("day-head", "incidents", "remediation", "checks", "runs")
    ]
    assert order == sorted(order)
    incident = html[html.index('<article class="incident"') : html.index("</article>")]
    assert (
        "schema_validity on flightdata_processed" in incident
        and "duplicates on flightdata_processed" in incident
    )
    assert 'data-ack="/flightdq/incidents/2026-11-22__data__1/acknowledge"' in incident
    buttons = dict(re.findall(r'data-trigger="(\w+)"[^>]*data-conf="([^"]+)"', html))
    assert {k: json.loads(v.replace("&#34;", '"')) for k, v in buttons.items()} == {
        "dry_run": {"date": D3, "dry_run": True},
        "repair": {"date": D3, "dry_run": False},
        "recheck": {"date": D3, "trigger_remediation": False},
    }
    assert 'data-api="/api/v2/dags/flightdq_remediation/dagRuns"' in html
    assert '<dialog id="trigger-dialog"' in html


def test_a_paused_dag_is_said_plainly_where_its_runs_are_triggered(client, auth_manager):
    """A run triggered for a paused DAG waits, queued: the page says so before and after a click."""
    client.cookies.set("_token", token(auth_manager, role="user"))
    html = client.get(f"/flightdq/day/{D3}").text
    assert "data-paused-dags" not in html and 'data-paused="yes"' not in html
    client.sources.paused_lookup = lambda: ["flightdq_remediation"]
    for path in ("/flightdq/", "/flightdq/calendar", f"/flightdq/day/{D3}"):
        page = client.get(path).text
        assert 'data-paused-dags="flightdq_remediation"' in page, path
    html = client.get(f"/flightdq/day/{D3}").text
    paused = dict(re.findall(r'data-trigger="(\w+)"[^>]*data-paused="(\w*)"', html))
    assert paused == {"dry_run": "yes", "repair": "yes", "recheck": ""}


# --- acting from the page: acknowledge ----------------------------------------------------------------
ACK_HEADERS = {"X-Requested-By": "flightdq", "Origin": "http://testserver"}


def test_acknowledging_needs_a_login_the_pages_own_header_and_a_role_that_may_act(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(
        store,
        [failing(D2, "partition_presence", "P0", dataset=R)],
        run_id="run-a",
        now=NOW - timedelta(minutes=20),
    )
    url = f"/flightdq/incidents/{D2}__data__1/acknowledge"
    assert client.post(url, headers=ACK_HEADERS).status_code == 401  # no login
    client.cookies.set("_token", token(auth_manager, role="user"))
    for headers in (
        {},
        {"Origin": "http://testserver"},
        {**ACK_HEADERS, "Origin": "https://evil.example"},
        {**ACK_HEADERS, "Sec-Fetch-Site": "cross-site"},
    ):
        refused = client.post(url, headers=headers)
        assert refused.status_code == 403 and "page itself" in refused.json()["detail"], headers
    client.cookies.set("_token", token(auth_manager, role="viewer"))
    assert "may not change DAG runs" in client.post(url, headers=ACK_HEADERS).json()["detail"]
    assert store.get(f"{D2}__data__1").acknowledged_by is None  # nothing was recorded

    client.cookies.set("_token", token(auth_manager, role="user", username="alice"))
    done = client.post(url, headers=ACK_HEADERS)
    assert done.status_code == 200, done.text
    assert done.json() == {
        "id": f"{D2}__data__1",
        "acknowledged_by": "alice",
        "acknowledged_at": NOW.isoformat(),
        "severity": "P0",
    }
    assert store.get(f"{D2}__data__1").acknowledged_by == "alice"
    assert (
        client.post("/flightdq/incidents/2026-11-01__data__1/acknowledge", headers=ACK_HEADERS).status_code
        == 404
    )
    assert client.post("/flightdq/incidents/nonsense/acknowledge", headers=ACK_HEADERS).status_code == 404

    page = client.get("/flightdq/").text  # the Now view shows it, and the escalation is held
    item = page[page.index(f'data-incident="{D2}__data__1"') :]
    assert "acknowledged by <b>alice</b>" in item[: item.index("</li>")]
    assert "no escalation: acknowledged at P0" in item[: item.index("</li>")]


def test_the_command_line_lists_who_acknowledged(client, auth_manager, monkeypatch, capsys):
    from flightdq.cli import main
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D1, "duplicates", "P3")], run_id="run-a", now=NOW)
    store.acknowledge(f"{D1}__data__1", "alice", NOW + timedelta(minutes=1))
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(client.lake))
    assert main(["incident", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["incidents"]
    assert (row["acknowledged_by"], row["acknowledged_at"]) == (
        "alice",
        (NOW + timedelta(minutes=1)).isoformat(),
    )
    assert main(["incident", "list"]) == 0
    assert re.search(r"P3\s+2026-11-20__data__1\s+open\s+.*\balice\b", capsys.readouterr().out)


def test_the_now_page_orders_incidents_and_refreshes_itself(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D1, "record_count_drift", "P2")], run_id="run-a", now=NOW - timedelta(hours=5))
    reconcile(
        store,
        [failing(D2, "partition_presence", "P0", dataset=R)],
        run_id="run-a",
        now=NOW - timedelta(minutes=5),
    )
    client.cookies.set("_token", token(auth_manager))  # a viewer: sees everything, may not act
    html = client.get("/flightdq/").text
    assert re.findall(r'data-incident="[^"]+" data-severity="(P\d)"', html) == ["P0", "P2"]
    assert html.count('class="clock overdue"') == 1  # the P2 is 5 h old: past its 4 h
    assert re.search(r"<b>2</b> open:.*1 P0.*1 P2.*1 overdue</b>\s*· 2 not acknowledged", html, re.S)
    assert "overdue by 1 h 00 min" in html and "10 min left" in html
    assert (
        'data-refresh="60"' in html and 'class="tab active" href="/flightdq/" aria-current="page">Now' in html
    )
    assert 'class="ack" disabled' in html and "data-ack=" not in html  # a viewer may not acknowledge
    assert re.findall(r'<tr data-row="([^"]+)"', html) == [
        "raw-snapshots",
        "flightdata_raw-checks",
        "flightdata_processed-checks",
    ]
    assert 'href="/flightdq/calendar"' in html
    assert client.get("/flightdq/?end=2026-11-22&days=7").text.count('class="calendar"') == 2  # old addresses


def test_the_page_follows_airflows_colour_mode(client):
    """The script and both palettes are served without a login (the browser test shows the page
    following Airflow's choice); the dark palette changes the page's own colours."""
    theme = client.get("/flightdq/static/theme.js")
    assert theme.status_code == 200 and theme.headers["content-type"].startswith("text/javascript")
    palettes = css_palettes(client.get("/flightdq/static/flightdq.css").text)
    assert palettes["light"]["--bg"] != palettes["dark"]["--bg"]
    assert palettes["light"]["--fg"] != palettes["dark"]["--fg"]


# --- the trigger forms explain themselves -------------------------------------------------------------
def remediation_dag():
    spec = importlib.util.spec_from_file_location(
        "flightdq_remediation_under_test", REPO / "dags/flightdq_remediation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.flightdq_remediation()


def test_every_trigger_param_explains_itself_and_day_lists_are_not_required():
    from airflow.sdk.definitions.param import ParamValidationError

    from flightdq.airflow.dag_factory import target_params
    from flightdq.airflow.tasks import DAILY, resolve_remediation_request, resolve_target
    from flightdq.core.dates import InputError

    dag = remediation_dag()
    forms = {"checks": target_params(True), "remediation": {k: dag.params.get_param(k) for k in dag.params}}
    for form, params in forms.items():
        for name, param in params.items():
            assert param.description and len(param.description) > 40, (form, name)
            types = param.schema.get("type")
            if param.schema.get("type") != "boolean":  # booleans always have a value
                assert isinstance(types, list) and "null" in types, (form, name)  # not marked required
    # what a form cannot check (two fields at once) is refused before anything is checked or changed
    run_after = datetime(2026, 12, 31, tzinfo=UTC)
    too_long = {"date": "2026-10-01", "to": "2026-11-01"}  # 32 days
    for refused in ({"date": D2, "to": D1}, too_long, {"days": [D1], "date": D1}):
        with pytest.raises(InputError):
            resolve_remediation_request(refused, run_after=run_after, max_days=31)
    for refused in ({"date": D2, "to": D1}, too_long, {"to": D1}):
        with pytest.raises(InputError):
            resolve_target(refused, mode=DAILY, data_interval_end=None, run_after=run_after, max_days=31)
    days = dag.params.get_param("days")
    assert days.resolve(None) is None and days.resolve([D1, D2]) == [D1, D2]
    for refused in ([f"2026-10-{d:02d}" for d in range(1, 32)] + [D1], [D1, D1], ["2026-02-30"]):
        with pytest.raises(ParamValidationError):
            days.resolve(refused)
    with pytest.raises(ParamValidationError):
        dag.params.get_param("to").resolve("2026-11-31")


# --- the chart's labels ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 7, 14, 28, 43, 56, 91, 120])
def test_chart_labels_never_overlap_and_the_last_day_is_labelled(n):
    days = [str(date(2026, 8, 1) + timedelta(days=i)) for i in range(n)]
    records = [drift(d, 100 + i, 100, {"a": 110}) for i, d in enumerate(days)]
    svg = row_count_svg(counts.row_count_series(records, days))
    xs = [float(x) for x in re.findall(r'class="xlabel" x="([\d.]+)"', svg)]
    labels = re.findall(r'class="xlabel"[^>]*>([\d-]+)</text>', svg)
    assert labels[-1] == days[-1][5:] and len(xs) >= min(n, 2)
    assert all(b - a >= LABEL_WIDTH for a, b in itertools.pairwise(xs)), xs
    assert label_indices(n, 960 / n)[-1] == n - 1 and label_indices(0, 1) == []
    assert 'class="chart"' in svg and 'viewBox="0 0 960 280"' in svg


# --- colours: AA contrast, computed from the stylesheet ------------------------------------------------
def css_palettes(css: str) -> dict[str, dict[str, str]]:
    """The custom properties of `:root` (light) and `:root[data-theme="dark"]` (dark: light's,
    overridden), and each `.s-<state>` rule's background and colour, per theme."""

    def props(block: str) -> dict[str, str]:
        return dict(re.findall(r"(--[\w-]+|background|color)\s*:\s*([^;]+);", block))

    light: dict[str, str] = {}
    for block in re.findall(r"(?m)^:root\s*\{([^}]*)\}", css):
        light |= props(block)
    dark = dict(light)
    for block in re.findall(r'(?m)^:root\[data-theme="dark"\]\s*\{([^}]*)\}', css):
        dark |= props(block)
    palettes = {"light": light, "dark": dark}
    for state in data.STATES:
        plain = re.search(rf"(?m)^\.s-{state}\s*\{{([^}}]*)\}}", css)
        themed = re.search(rf'(?m)^:root\[data-theme="dark"\] \.s-{state}\s*\{{([^}}]*)\}}', css)
        for theme, palette in palettes.items():
            rule = props(plain[1]) if plain else {}
            if theme == "dark" and themed:
                rule |= props(themed[1])
            palette[f".s-{state}"] = rule  # type: ignore[assignment]
    return palettes


def resolve(value: str, palette: dict) -> str:
    m = re.fullmatch(r"var\((--[\w-]+)\)", value.strip())
    return resolve(palette[m[1]], palette) if m else value.strip()


def luminance(hex_colour: str) -> float:
    """WCAG 2 relative luminance of `#rrggbb` (or `#rgb`, `#fff`)."""
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_contrast_formula_matches_wcag_reference_values():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)  # the classic AA near-miss
    assert contrast("#16a34a", "#ffffff") < 4.5  # the old green badge: 3.3:1, refused


def test_every_state_badge_has_aa_contrast_in_both_themes():
    css = (REPO / "include/flightdq/ui/static/flightdq.css").read_text()
    palettes = css_palettes(css)
    seen = []
    for theme, palette in palettes.items():
        for state in data.STATES:
            rule = palette[f".s-{state}"]
            background, text = resolve(rule["background"], palette), resolve(rule["color"], palette)
            ratio = contrast(background, text)
            seen.append((theme, state, round(ratio, 2)))
            assert ratio >= 4.5, (theme, state, background, text, ratio)
    assert len(seen) == 2 * len(data.STATES)


def test_a_p3_row_is_not_tinted_like_a_p1():
    css = (REPO / "include/flightdq/ui/static/flightdq.css").read_text()
    for theme, palette in css_palettes(css).items():
        tints = {
            state: resolve(palette[var], palette)
            for state, var in (("P1", "--failrow"), ("P2", "--failrow-P2"), ("P3", "--failrow-P3"))
        }
        assert len(set(tints.values())) == 3, (theme, tints)
    assert re.search(r'tr\.check\[data-state="P3"\]\s*\{\s*background:\s*var\(--failrow-P3\)', css)


# --- only what can help: repair buttons, the next step, dry runs ------------------------------------------
def remediation(dt, action, outcome, run_id, *, dry_run=False, reasons=("raw hours 02-03 lost",)):
    return {
        "dt": dt,
        "action": action,
        "outcome": outcome,
        "message": "m",
        "run_id": run_id,
        "dry_run": dry_run,
        "reasons": list(reasons),
    }


def test_no_repair_where_the_latest_plan_says_no_etl_run_can_help():
    from flightdq.core.config import ResponseMinutes

    incidents = [open_incident(D1, "P0", 30), open_incident(D2, "P0", 30)]
    remediations = {
        D1: [  # an older plan would have rebuilt; the newest dry run found the raw data lost
            remediation(D1, "rebuild", "planned", "manual__2026-11-23T01:00:00+00:00", dry_run=True),
            remediation(D1, "not_repairable", "planned", "manual__2026-11-23T02:00:00+00:00", dry_run=True),
        ],
        D2: [remediation(D2, "rebuild", "planned", "manual__2026-11-23T02:00:00+00:00", dry_run=True)],
    }
    rows = {
        r.dt: r
        for r in now.build_now(incidents, remediations, now=NOW, response_minutes=ResponseMinutes().of)
    }
    assert [a.key for a in rows[D1].actions] == ["dry_run", "recheck"]
    assert rows[D1].advice and rows[D1].plan.reasons == ["raw hours 02-03 lost"]
    assert [a.key for a in rows[D2].actions] == ["dry_run", "repair", "recheck"] and not rows[D2].advice

    records = [rec(R, D1, "partition_presence", "fail", "P0")]
    lost = day_view.build_day(D1, records, remediations[D1], [], dag_ids={})
    assert not lost.repair_can_help and lost.plan.action == "not_repairable"
    passing = day_view.build_day(D1, [rec(P, D1, "duplicates", "pass")], [], [], dag_ids={})
    assert not passing.repair_can_help and not passing.failing
    assert [a.key for a in actions.day_actions(D1, failing=False)] == ["recheck"]


def test_the_pages_offer_no_repair_on_a_passing_or_not_repairable_day(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    client.cookies.set("_token", token(auth_manager, role="user"))
    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D3, "partition_presence", "P0", dataset=R)], run_id="run-x", now=NOW)
    history = HistoryStore(LocalBlobStore(client.lake))
    run_id = "manual__2026-11-23T02:30:00.123456+00:00"
    history.write_remediation(run_id, [remediation(D3, "not_repairable", "planned", run_id, dry_run=True)])

    def triggers(html: str) -> list[str]:
        return re.findall(r'data-trigger="(\w+)"', html)

    day = client.get(f"/flightdq/day/{D3}").text
    assert "repair" not in triggers(day) and "recheck" in triggers(day)
    assert 'data-advice="upstream"' in day
    now_page = client.get("/flightdq/").text
    card = now_page[now_page.index(f'data-incident="{D3}__data__1"') :]
    card = card[: card.index("</li>")]
    assert "repair" not in triggers(card) and 'data-advice="upstream"' in card
    # the dry run's row: a readable run id linked to its Airflow run, marked as a dry run
    client.sources.remediation_runs_lookup = lambda day: [
        {"dag_id": "flightdq_remediation", "run_id": run_id, "state": "success", "conf": {"date": D3}}
    ]
    day = client.get(f"/flightdq/day/{D3}").text
    row = re.search(
        r'<tr data-outcome="planned" data-dry-run="(\w+)" data-run="([^"]*)">(.*?)</tr>', day, re.S
    )
    assert row and row[1] == "true" and row[2] == run_id, day
    assert 'class="drymark"' in row[3] and "manual__2026-11-23T02:30:00<" in row[3]
    assert "/dags/flightdq_remediation/runs/manual__2026-11-23T02%3A30%3A00.123456%2B00%3A00" in row[3]
    # without Airflow's run: still readable, never the file name's underscores
    assert (
        day_view.readable_run_key("manual__2026-11-23T02_30_00.123456+00_00") == "manual__2026-11-23T02:30:00"
    )

    write_history(client.lake, [rec(P, "2026-11-10", "duplicates", "pass", run="run-p")])
    clean = client.get("/flightdq/day/2026-11-10").text
    assert triggers(clean.split('id="incidents"')[0]) == ["recheck"]
    assert 'data-advice="nothing"' in clean


# --- acting on an incident: undo, notes --------------------------------------------------------------
def test_an_acknowledgement_can_be_undone_and_escalation_applies_again(client, auth_manager):
    from flightdq.core.config import IncidentPolicy
    from flightdq.incidents.alerts import due_alerts
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D2, "partition_presence", "P0", dataset=R)], run_id="run-a", now=at(-30))
    incident_id = f"{D2}__data__1"
    base = f"/flightdq/incidents/{incident_id}"
    client.cookies.set("_token", token(auth_manager, role="user", username="alice"))
    assert client.post(f"{base}/unacknowledge", headers=ACK_HEADERS).status_code == 409  # nothing to undo
    assert client.post(f"{base}/acknowledge", headers=ACK_HEADERS).status_code == 200
    assert client.post(f"{base}/unacknowledge").status_code == 403  # not from the page
    client.cookies.set("_token", token(auth_manager, role="viewer"))
    assert client.post(f"{base}/unacknowledge", headers=ACK_HEADERS).status_code == 403
    assert store.get(incident_id).acknowledged_by == "alice"
    client.cookies.set("_token", token(auth_manager, role="user", username="bob"))
    page = client.get("/flightdq/").text
    assert f'data-ack="/flightdq/incidents/{incident_id}/unacknowledge"' in page
    undone = client.post(f"{base}/unacknowledge", headers=ACK_HEADERS)
    assert undone.status_code == 200 and undone.json()["acknowledged_by"] is None
    incident = store.get(incident_id)
    assert incident.acknowledged_by is None and not incident.acknowledged_for("P0")
    assert incident.timeline[-1].data == {"user": "bob"}
    escalated = [a for a in due_alerts([incident], policy=IncidentPolicy(), now=NOW) if a.kind == "escalated"]
    assert escalated  # the P0 is overdue and nobody holds it any more
    page = client.get("/flightdq/").text
    assert f'data-ack="/flightdq/incidents/{incident_id}/acknowledge"' in page


def test_a_note_on_an_incident_is_stored_escaped_and_bounded(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import COMMENT_MAX_CHARS, IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D2, "partition_presence", "P0", dataset=R)], run_id="run-a", now=at(-30))
    incident_id = f"{D2}__data__1"
    url = f"/flightdq/incidents/{incident_id}/notes"
    text = "<script>alert(1)</script> upstream says the feed was down 02:00-04:00"
    client.cookies.set("_token", token(auth_manager, role="user", username="alice"))
    assert client.post(url, json={"text": text}).status_code == 403  # no page header: refused
    client.cookies.set("_token", token(auth_manager, role="viewer"))
    assert client.post(url, json={"text": text}, headers=ACK_HEADERS).status_code == 403
    client.cookies.set("_token", token(auth_manager, role="user", username="alice"))
    for bad, status in (
        ({"text": "   "}, 409),
        ({"text": "x" * (COMMENT_MAX_CHARS + 1)}, 409),
        ({"t": 1}, 400),
    ):
        assert client.post(url, json=bad, headers=ACK_HEADERS).status_code == status, bad
    assert client.post(url, content=b"x" * (5 * COMMENT_MAX_CHARS), headers=ACK_HEADERS).status_code == 413
    assert len(store.get(incident_id).timeline) == 1  # nothing written by the refusals
    assert client.post(url, json={"text": text}, headers=ACK_HEADERS).status_code == 200
    assert (
        client.post(
            f"/flightdq/incidents/{D3}__data__1/notes", json={"text": "x"}, headers=ACK_HEADERS
        ).status_code
        == 404
    )
    note = store.get(incident_id).timeline[-1]
    assert (note.event, note.detail, note.data) == ("comment", text, {"user": "alice"})
    day = client.get(f"/flightdq/day/{D2}").text
    assert "<script>alert(1)</script>" not in day and "&lt;script&gt;alert(1)&lt;/script&gt;" in day
    assert re.search(r'class="ev ev-comment".*?<span class="by">alice:</span>', day, re.S)
    assert f'data-note-form="/flightdq/incidents/{incident_id}/notes"' in day


# --- live run state ----------------------------------------------------------------------------------
def test_runs_json_gives_the_days_remediation_runs_and_their_state(client, auth_manager):
    assert client.get(f"/flightdq/runs.json?day={D1}").status_code == 401
    client.cookies.set("_token", token(auth_manager))
    calls = []

    def lookup(day):
        calls.append(day)
        return [
            {
                "dag_id": "flightdq_remediation",
                "run_id": "manual__a",
                "state": "running",
                "conf": {"date": D1, "dry_run": True},
                "run_after": "2026-11-23T02:00:00+00:00",
            },
            {
                "dag_id": "flightdq_remediation",
                "run_id": "manual__b",
                "state": "success",
                "conf": {"date": D2, "dry_run": False},
                "run_after": "2026-11-23T01:00:00+00:00",
            },
            {
                "dag_id": "flightdq_remediation",
                "run_id": "manual__c",
                "state": "queued",
                "conf": {"days": [D1], "dry_run": False},
                "run_after": "2026-11-23T02:30:00+00:00",
                "awaiting_approval": True,
            },
        ]

    client.sources.remediation_runs_lookup = lookup
    answer = client.get(f"/flightdq/runs.json?day={D1}")
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    runs = answer.json()["runs"]
    assert [(r["run_id"], r["state"], r["dry_run"], r["finished"], r["awaiting_approval"]) for r in runs] == [
        ("manual__c", "queued", False, False, True),
        ("manual__a", "running", True, False, False),
    ]
    assert calls == [D1]
    assert client.get("/flightdq/runs.json?day=2026-13-01").status_code == 400
    client.sources.remediation_runs_lookup = lambda day: None
    assert client.get(f"/flightdq/runs.json?day={D1}").status_code == 503


# --- readability ---------------------------------------------------------------------------------------
def test_observed_values_carry_their_unit():
    assert data.format_measure(9.2, R, "freshness") == "9.2 min"
    assert data.format_measure(1204, P, "record_count_drift") == "1,204 flights"
    assert data.format_measure(3, R, "partition_presence") == "3 h missing"
    assert data.format_measure("<= 60 min", P, "freshness") == "<= 60 min"
    assert data.format_measure(None, P, "freshness") == "\u2013"
    assert data.format_measure("2 of 9 rows (22%) break a rule", P, "schema_validity").startswith("2 of 9")


def test_symptoms_worst_first_and_reachable_by_keyboard(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    found = [
        failing(D2, "partition_presence", "P1", dataset=R),
        failing(D2, "freshness", "P3"),
        failing(D2, "duplicates", "P2"),
        failing(D2, "record_count_drift", "P1"),
    ]
    reconcile(store, found, run_id="run-a", now=at(-30))
    client.cookies.set("_token", token(auth_manager))
    page = client.get("/flightdq/").text
    card = page[page.index(f'data-incident="{D2}__data__1"') :]
    card = card[: card.index("</li>\n")]
    # a disclosure (<details>/<summary>: focusable, opens with Enter or Space), not a title tooltip
    box = re.search(r'<details class="symptoms"><summary>(.*?)</summary>(.*?)</details>', card, re.S)
    assert box, card
    assert re.findall(r'<li data-severity="(P\d)">', box[2]) == ["P1", "P2", "P3"]
    day = client.get(f"/flightdq/day/{D2}").text
    listed = day[day.index('<div class="symptoms">') :]
    listed = listed[: listed.index("</ul>")]
    assert re.findall(r'class="badge s-(P\d)"', listed) == ["P1", "P2", "P3"]


def test_an_incidents_age_counts_from_when_the_data_broke():
    raw = rec(R, D2, "partition_presence", "fail", "P0", details={"missing_hours": [5, 2, 3]})
    incident = open_incident(D2, "P0", 30)  # detected at 02:30 on D2 + 1 day
    assert now.broke_at(incident, [raw]).isoformat() == f"{D2}T03:00:00+00:00"  # hour 02 was due at 03:00
    assert now.broke_at(incident, []).isoformat() == f"{D3}T00:00:00+00:00"  # the day as a whole
    today = open_incident("2026-11-23", "P1", 30)
    assert now.broke_at(today, []) == NOW - timedelta(minutes=30)  # never after its detection
    monitor = open_incident(D2, "P2", 30, kind="monitor")
    assert now.broke_at(monitor, [raw]) == NOW - timedelta(minutes=30)


def test_the_calendar_date_input_is_iso_and_hours_say_their_verdict_in_text(client, auth_manager):
    client.cookies.set("_token", token(auth_manager))
    html = client.get("/flightdq/calendar").text
    field = re.search(r'<input ([^>]*)name="end"([^>]*)>', html)
    attrs = field[1] + field[2]
    assert 'type="text"' in attrs and 'pattern="\\d{4}-\\d{2}-\\d{2}"' in attrs
    assert re.search(r'value="\d{4}-\d{2}-\d{2}"', attrs)
    page = client.get("/flightdq/").text
    cells = re.findall(r'<span class="cell s-(\w+)"[^>]*aria-label="([^"]+)">([^<]*)</span>', page)
    assert len(cells) == 72
    assert all(text for state, _, text in cells if state != "future"), cells
    assert len({(state, text) for state, _, text in cells}) == len({state for state, _, _ in cells})


def test_an_incident_that_worsened_after_its_acknowledgement_can_be_taken_again(client, auth_manager):
    from flightdq.incidents.reconcile import reconcile
    from flightdq.incidents.store import IncidentStore

    store = IncidentStore(LocalBlobStore(client.lake))
    reconcile(store, [failing(D2, severity="P1")], run_id="run-a", now=at(-30))
    store.acknowledge(f"{D2}__data__1", "alice", at(-20))
    reconcile(store, [failing(D2, severity="P0")], run_id="run-b", now=at(-10))
    client.cookies.set("_token", token(auth_manager, role="user", username="bob"))
    page = client.get("/flightdq/").text
    card = page[page.index(f'data-incident="{D2}__data__1"') :]
    card = card[: card.index("</li>")]
    assert re.findall(r'data-ack="[^"]+/(\w+)"', card) == ["acknowledge", "unacknowledge"]
