"""Target days come from params or the data interval, never the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flightdq.airflow.tasks import DAILY, INTRADAY, resolve_target
from flightdq.core.dates import InputError

RUN_AFTER = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
DAGS = Path(__file__).resolve().parents[2] / "dags"


def resolve(params, mode=DAILY, end=RUN_AFTER):
    return resolve_target(params, mode=mode, data_interval_end=end, run_after=RUN_AFTER, max_days=31)


def test_scheduled_daily_checks_the_day_before_the_interval_end():
    assert resolve({}) == {"days": ["2026-11-26"], "as_of": "2026-11-27T02:00:00+00:00"}


def test_scheduled_intraday_checks_the_day_in_progress():
    end = datetime(2026, 11, 27, 13, 5, tzinfo=UTC)
    assert resolve({}, INTRADAY, end) == {"days": ["2026-11-27"], "as_of": "2026-11-27T13:05:00+00:00"}


def test_manual_range_with_as_of():
    target = resolve({"date": "2026-11-20", "to": "2026-11-22", "as_of": "2026-11-25T00:00:00Z"})
    assert target["days"] == ["2026-11-20", "2026-11-21", "2026-11-22"]
    assert target["as_of"] == "2026-11-25T00:00:00+00:00"


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"date": "2026-02-30"}, "not a real calendar day"),
        ({"date": "2026-11-26", "to": "2026-11-01"}, "reversed"),
        ({"date": "2026-01-01", "to": "2026-11-26"}, "longer than the allowed 31 days"),
        ({"date": "2026-11-28"}, "future"),
        ({"to": "2026-11-26"}, "needs param date"),
        ({"date": "2026-11-20", "as_of": "soon"}, "ISO-8601"),
    ],
)
def test_bad_params_are_rejected_before_anything_runs(params, problem):
    with pytest.raises(InputError, match=problem):
        resolve(params)


# --- runs started by an event of the flightdata_processed asset -------------------------------------


def triggering_events(*extras: object, alias: str | None = None):
    """What `context["triggering_asset_events"]` holds in a task: the Task SDK's own accessor over
    the events (as the execution API sends them), each event of `flightdata_processed`."""
    from airflow.sdk.api.datamodels._generated import (
        AssetAliasReferenceAssetEventDagRun,
        AssetEventDagRunReference,
        AssetReferenceAssetEventDagRun,
    )
    from airflow.sdk.execution_time.comms import AssetEventDagRunReferenceResult
    from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

    from flightdq.airflow.assets import FLIGHTDATA_PROCESSED

    events = [
        AssetEventDagRunReferenceResult.from_asset_event_dag_run_reference(
            AssetEventDagRunReference(
                asset=AssetReferenceAssetEventDagRun(
                    name=FLIGHTDATA_PROCESSED.name, uri=FLIGHTDATA_PROCESSED.uri, extra={}
                ),
                extra=extra,
                source_task_id="repair_day",
                source_dag_id="flightdq_remediation",
                source_run_id=f"manual__{n}",
                source_map_index=n,
                source_aliases=[AssetAliasReferenceAssetEventDagRun(name=alias)] if alias else [],
                timestamp=RUN_AFTER,
            )
        )
        for n, extra in enumerate(extras)
    ]
    return TriggeringAssetEventsAccessor.build(events)


def resolve_asset(events, params=None, max_days=31):
    return resolve_target(
        params or {},
        mode=DAILY,
        data_interval_end=None,
        run_after=RUN_AFTER,
        max_days=max_days,
        asset_events=events,
        day_key="dt",
    )


def test_an_asset_triggered_run_checks_the_days_its_events_name():
    from flightdq.airflow.assets import FLIGHTDATA_PROCESSED

    events = triggering_events({"dt": "2026-11-24", "rows": 10}, {"dt": "2026-11-20"})
    assert [e.extra["dt"] for e in events[FLIGHTDATA_PROCESSED]] == ["2026-11-24", "2026-11-20"]
    assert resolve_asset(events) == {
        "days": ["2026-11-20", "2026-11-24"],
        "as_of": "2026-11-27T02:00:00+00:00",  # when the run started: there is no logical date
        "trigger": "asset",
    }
    later = resolve_asset(events, {"as_of": "2026-11-28T00:00:00Z"})
    assert later["as_of"] == "2026-11-28T00:00:00+00:00"


def test_a_day_named_twice_or_through_an_alias_is_checked_once():
    events = triggering_events({"dt": "2026-11-24"}, {"dt": "2026-11-24"}, alias="repairs")
    assert len(events) == 2  # the asset and the alias each list both events
    assert resolve_asset(events)["days"] == ["2026-11-24"]


@pytest.mark.parametrize(
    ("extras", "problem"),
    [
        ([{}], "has no 'dt' in its extra"),
        ([{"dt": "2026-11-24"}, {"day": "2026-11-24"}], "has no 'dt'"),
        ([{"dt": "24/11/2026"}], "not a date in the form YYYY-MM-DD"),
        ([{"dt": "2026-02-30"}], "not a real calendar day"),
        ([{"dt": 20261124}], "not a date in the form YYYY-MM-DD"),
        ([{"dt": "2026-11-24; DROP TABLE x"}], "not a date in the form YYYY-MM-DD"),
        ([{"dt": "2026-11-28"}], "in the future of the run"),
        ([], "without triggering asset events"),
    ],
)
def test_an_asset_event_without_a_valid_day_is_refused(extras, problem):
    with pytest.raises(InputError, match=problem) as caught:
        resolve_asset(triggering_events(*extras))
    if "extra" in problem or "YYYY" in problem or "calendar" in problem:  # names the event's source
        assert "flightdata_processed from flightdq_remediation/manual__" in str(caught.value)


def test_more_days_than_a_run_may_check_are_refused():
    events = triggering_events(*({"dt": f"2026-11-{d:02d}"} for d in range(1, 5)))
    assert len(resolve_asset(events, max_days=4)["days"]) == 4
    with pytest.raises(InputError, match="4 days, more than the allowed 3"):
        resolve_asset(events, max_days=3)


def test_plain_mappings_of_events_work_too():
    events = {"flightdata_processed": [{"extra": {"dt": "2026-11-21"}}, {"extra": {"dt": "2026-11-19"}}]}
    assert resolve_asset(events)["days"] == ["2026-11-19", "2026-11-21"]


# --- what schedules the daily checks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "on_cron", "on_asset"),
    [
        ("cron", True, False),
        ("asset", False, True),
        ("cron_or_asset", True, True),
        ("", True, True),  # the default: either
        (" Cron_Or_Asset ", True, True),  # spaces and case do not matter
    ],
)
def test_the_daily_schedule_follows_the_setting(setting, on_cron, on_asset, monkeypatch):
    """What starts the parsed DAG's runs: the 02:00 UTC cron, an event of the processed asset (the
    asset itself: Airflow 3.3's scheduler attaches no events to a run made for an `Asset.ref`), or
    either, as the setting says."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import Asset, AssetOrTimeSchedule, CronDataIntervalTimetable

    monkeypatch.setenv("FLIGHTDQ_DAILY_SCHEDULE", setting)
    bag = DagBag(dag_folder=str(DAGS / "flightdq_daily_checks.py"))
    assert bag.import_errors == {}
    timetable = bag.dags["flightdq_daily_checks"].timetable
    crons = [
        t
        for t in (timetable, getattr(timetable, "timetable", None))
        if isinstance(t, CronDataIntervalTimetable)
    ]
    assert [c.expression for c in crons] == (["0 2 * * *"] if on_cron else [])
    assert isinstance(timetable, AssetOrTimeSchedule) is (on_cron and on_asset)
    condition = getattr(timetable, "asset_condition", None)
    if on_asset:
        assert isinstance(condition, Asset) and condition.name == "flightdata_processed"
        assert not isinstance(condition, type(Asset.ref(name="flightdata_processed")))
    else:
        assert not isinstance(condition, Asset)


def test_a_bad_daily_schedule_setting_is_an_import_error(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("FLIGHTDQ_DAILY_SCHEDULE", "hourly")
    bag = DagBag(dag_folder=str(DAGS / "flightdq_daily_checks.py"))
    (error,) = bag.import_errors.values()
    assert "FLIGHTDQ_DAILY_SCHEDULE='hourly' is not one of cron, asset, cron_or_asset" in error


def test_the_intraday_checks_stay_on_their_cron(monkeypatch):
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk import CronDataIntervalTimetable

    monkeypatch.setenv("FLIGHTDQ_DAILY_SCHEDULE", "asset")
    bag = DagBag(dag_folder=str(DAGS / "flightdq_intraday_checks.py"))
    assert isinstance(bag.dags["flightdq_intraday_checks"].timetable, CronDataIntervalTimetable)
