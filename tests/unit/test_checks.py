"""Each check against a planted fault (it must fail, with the right severity) and a healthy
control (it must pass), on small hand-built partitions whose every number is known."""

from __future__ import annotations

from datetime import date, timedelta

import pyarrow as pa
import pytest

from conftest import end_of, valid_rows
from flightdq.checks import CheckContext, drift, duplicates, freshness, presence, schema_validity
from flightdq.core.results import Severity, Status

DAY = date(2026, 11, 25)  # a Wednesday


def ctx_for(backend, days, as_of=None):
    days = days if isinstance(days, list) else [days]
    return CheckContext(
        backend, days, as_of or end_of(days[-1]) + timedelta(hours=2), backend.settings.policy
    )


def by_dataset(results):
    return {r.dataset: r for r in results}


# --- partition_presence -----------------------------------------------------------------------
def test_presence_passes_a_complete_day(lake, backend):
    lake.healthy_day(DAY)
    found = by_dataset(presence.run(ctx_for(backend, DAY)))
    assert found["flightdata_processed"].status is Status.PASS
    assert found["flightdata_processed"].observed == 100
    assert found["flightdata_raw"].status is Status.PASS


@pytest.mark.parametrize(
    ("setup", "state"),
    [
        ("missing", "missing"),
        ("unregistered", "not_registered"),
        ("no_files", "no_files"),
        ("no_rows", "no_rows"),
    ],
)
def test_presence_tells_apart_why_a_partition_is_absent(lake, backend, setup, state):
    lake.write_raw(DAY)
    if setup == "unregistered":
        lake.write_partition(DAY, valid_rows(DAY, 5), register=False)
    elif setup == "no_files":
        lake.catalog.register("flightdata_processed", [(str(DAY), str(lake.partition_dir(DAY)))])
    elif setup == "no_rows":
        lake.write_partition(DAY, [])
    result = by_dataset(presence.run(ctx_for(backend, DAY)))["flightdata_processed"]
    assert result.status is Status.FAIL
    assert result.severity is Severity.P1  # raw is complete: the ETL can rebuild it
    assert result.details["state"] == state
    assert result.details["repairable"] is True


def test_missing_raw_hours_are_data_loss(lake, backend):
    lake.write_raw(DAY, hours=[h for h in range(24) if h not in (3, 4, 5)])
    lake.write_partition(DAY, valid_rows(DAY, 50))
    found = by_dataset(presence.run(ctx_for(backend, DAY)))
    raw = found["flightdata_raw"]
    assert raw.status is Status.FAIL and raw.severity is Severity.P0
    assert raw.details["missing_hours"] == [3, 4, 5]
    assert "03-05" in raw.message


def test_missing_processed_with_missing_raw_is_p0(lake, backend):
    lake.write_raw(DAY, hours=range(10))
    result = by_dataset(presence.run(ctx_for(backend, DAY)))["flightdata_processed"]
    assert result.severity is Severity.P0 and result.details["repairable"] is False


def test_presence_judges_only_hours_that_have_passed(lake, backend):
    as_of = end_of(DAY) - timedelta(hours=14, minutes=30)  # 09:30 on DAY
    lake.write_raw(DAY, until=as_of)
    lake.write_partition(DAY, valid_rows(DAY, 20, hours=range(9)))
    found = by_dataset(presence.run(ctx_for(backend, DAY, as_of)))
    assert found["flightdata_raw"].status is Status.PASS
    assert found["flightdata_raw"].details["hours_due"] == 9


# --- record_count_drift -----------------------------------------------------------------------
def weeks_of_history(lake, day, counts):
    for k, n in enumerate(counts, start=1):
        lake.write_partition(day - timedelta(weeks=k), valid_rows(day, n))


def test_drift_passes_a_normal_day_and_fails_a_drop(lake, backend):
    weeks_of_history(lake, DAY, [1000, 1010, 990, 1005])
    lake.write_partition(DAY, valid_rows(DAY, 700))  # 30% below
    lake.write_partition(DAY + timedelta(days=1), valid_rows(DAY, 990))
    weeks_of_history(lake, DAY + timedelta(days=1), [1000, 1000, 1000, 1000])
    results = {r.dt: r for r in drift.run(ctx_for(backend, [DAY, DAY + timedelta(days=1)]))}
    dropped, normal = results[str(DAY)], results[str(DAY + timedelta(days=1))]
    assert dropped.status is Status.FAIL and dropped.severity is Severity.P2
    assert dropped.observed == 700 and dropped.expected == 1002
    assert normal.status is Status.PASS


def test_drift_beyond_half_is_p1(lake, backend):
    weeks_of_history(lake, DAY, [1000, 1000, 1000])
    lake.write_partition(DAY, valid_rows(DAY, 400))
    (result,) = drift.run(ctx_for(backend, DAY))
    assert result.severity is Severity.P1


def test_a_normal_weekend_is_not_an_incident(lake, backend):
    saturday = date(2026, 11, 21)
    for k in range(1, 5):  # weekdays busy, Saturdays 25% lower
        lake.write_partition(saturday - timedelta(weeks=k), valid_rows(saturday, 750))
        lake.write_partition(saturday - timedelta(weeks=k, days=1), valid_rows(saturday, 1000))
    lake.write_partition(saturday, valid_rows(saturday, 740))
    (result,) = drift.run(ctx_for(backend, saturday))
    assert result.status is Status.PASS and result.expected == 750


def test_incident_days_do_not_drag_the_normal_down(lake, backend):
    weeks_of_history(lake, DAY, [1000, 300, 320, 1000])  # two bad weeks, recorded as incidents
    backend.history.write(
        "earlier",
        "record_count_drift",
        [
            {
                "dataset": "flightdata_processed",
                "dt": str(DAY - timedelta(weeks=k)),
                "check": "record_count_drift",
                "status": "fail",
                "severity": "P1",
                "checked_at": "2026-11-01T00:00:00+00:00",
            }
            for k in (2, 3)
        ],
    )
    lake.write_partition(DAY, valid_rows(DAY, 600))
    (result,) = drift.run(ctx_for(backend, DAY))
    assert result.expected == 1000
    assert result.status is Status.FAIL
    assert set(result.details["left_out"].values()) == {"incident"}


def test_a_zero_never_passes_even_without_history(lake, backend):
    lake.write_partition(DAY, [])
    (result,) = drift.run(ctx_for(backend, DAY))
    assert result.status is Status.FAIL and result.observed == 0


def test_not_enough_history_is_a_warning_not_an_alarm(lake, backend):
    weeks_of_history(lake, DAY, [1000])
    lake.write_partition(DAY, valid_rows(DAY, 400))
    (result,) = drift.run(ctx_for(backend, DAY))
    assert result.status is Status.WARN and result.severity is None
    assert "not enough history" in result.message


def test_a_day_in_progress_is_judged_on_its_hours_so_far(lake, backend):
    for k in range(1, 5):
        lake.write_partition(DAY - timedelta(weeks=k), valid_rows(DAY, 960))  # 40 per hour
    as_of = end_of(DAY) - timedelta(hours=14)  # 10:00: hours 0-9 are over
    lake.write_partition(DAY, valid_rows(DAY, 400, hours=range(10)))  # 40 per hour so far
    (result,) = drift.run(ctx_for(backend, DAY, as_of))
    assert result.status is Status.PASS
    assert result.expected == 400 and result.details["hours_judged"] == 10


# --- duplicates -------------------------------------------------------------------------------
def test_duplicates(lake, backend):
    rows = valid_rows(DAY, 200)
    lake.write_partition(DAY, rows + rows[:1])
    other = DAY + timedelta(days=1)
    rows2 = valid_rows(other, 100)
    lake.write_partition(other, rows2 + rows2[:5])
    third = DAY + timedelta(days=2)
    lake.write_partition(third, valid_rows(third, 100))
    found = {r.dt: r for r in duplicates.run(ctx_for(backend, [DAY, other, third]))}
    assert (found[str(DAY)].status, found[str(DAY)].severity, found[str(DAY)].observed) == (
        Status.FAIL,
        Severity.P3,
        1,
    )
    assert found[str(other)].severity is Severity.P2 and found[str(other)].details["duplicated_ids"] == 5
    assert found[str(third)].status is Status.PASS


def test_duplicates_does_not_pass_a_missing_partition(lake, backend):
    (result,) = duplicates.run(ctx_for(backend, DAY))
    assert result.status is Status.ERROR


# --- freshness --------------------------------------------------------------------------------
def test_freshness_of_a_complete_day_passes(lake, backend):
    lake.healthy_day(DAY)
    found = by_dataset(freshness.run(ctx_for(backend, DAY)))
    # the last raw snapshot is 23:30:30, the newest last_seen is in hour 23
    assert found["flightdata_raw"].status is Status.PASS
    assert found["flightdata_processed"].status is Status.PASS


def test_freshness_fails_data_that_stops_early(lake, backend):
    lake.write_raw(DAY, hours=range(17))
    lake.write_partition(DAY, valid_rows(DAY, 100, hours=range(17)))
    found = by_dataset(freshness.run(ctx_for(backend, DAY)))
    assert found["flightdata_raw"].severity is Severity.P1
    assert found["flightdata_raw"].observed > 6 * 60
    assert found["flightdata_processed"].severity is Severity.P1


def test_freshness_against_as_of(lake, backend):
    as_of = end_of(DAY) - timedelta(hours=12)  # 12:00
    lake.write_raw(DAY, hours=range(11))  # newest snapshot 10:30:30 -> 89.5 minutes old
    found = by_dataset(freshness.run(ctx_for(backend, DAY, as_of)))
    assert found["flightdata_raw"].status is Status.FAIL
    assert found["flightdata_raw"].severity is Severity.P2
    assert found["flightdata_raw"].observed == 89.5


# --- schema_validity --------------------------------------------------------------------------
def test_schema_validity_passes_valid_rows(lake, backend):
    lake.write_partition(DAY, valid_rows(DAY, 300))
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.status is Status.PASS, result.message


@pytest.mark.parametrize(
    ("bad", "status", "severity"),
    [(2, Status.PASS, None), (6, Status.FAIL, Severity.P2), (30, Status.FAIL, Severity.P1)],
)
def test_schema_validity_row_thresholds(lake, backend, bad, status, severity):
    rows = valid_rows(DAY, 300)
    for row in rows[:bad]:
        row["callsign"] = "lower case"
    lake.write_partition(DAY, rows)
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert (result.status, result.severity) == (status, severity)
    assert result.details["failing_rows"] == bad
    if bad > 3:
        assert result.details["worst_rules"][0]["rows"] == bad
    assert "lower case" not in repr(result.to_dict())  # counts only, never a value


def test_schema_validity_fails_a_retyped_column(lake, backend):
    from flightdq.core.contract import processed_arrow_schema

    schema = processed_arrow_schema()
    index = schema.get_field_index("position_count")
    retyped = schema.set(index, pa.field("position_count", pa.float64()))
    lake.write_partition(DAY, valid_rows(DAY, 50), schema=retyped)
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.status is Status.FAIL and result.severity is Severity.P1
    assert "position_count" in result.message


def test_schema_validity_fails_a_renamed_column(lake, backend):
    from flightdq.core.contract import processed_arrow_schema

    schema = processed_arrow_schema()
    renamed = schema.set(schema.get_field_index("callsign"), pa.field("call_sign", pa.string()))
    rows = [{("call_sign" if k == "callsign" else k): v for k, v in r.items()} for r in valid_rows(DAY, 50)]
    lake.write_partition(DAY, rows, schema=renamed)
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.severity is Severity.P1
    assert "missing column callsign" in result.message and "unexpected column call_sign" in result.message


def test_schema_validity_does_not_pass_a_missing_partition(lake, backend):
    (result,) = schema_validity.run(ctx_for(backend, DAY))
    assert result.status is Status.ERROR
