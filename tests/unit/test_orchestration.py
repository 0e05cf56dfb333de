"""Target days come from params or the data interval, never the wall clock."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from flightdq.airflow.tasks import DAILY, INTRADAY, resolve_target
from flightdq.core.dates import InputError

RUN_AFTER = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)


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
