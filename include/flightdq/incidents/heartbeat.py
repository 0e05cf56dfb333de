"""The dead-man's switch: when no check has recorded a verdict on the current UTC day (or the day
before, in its first hours) for `incidents.stale_verdict_minutes`, the monitor has stopped looking.

`heartbeat` turns that into a result on the monitor's own dataset (`flightdq`/`monitoring_stopped`):
a failure opens (or keeps open) the day's "monitoring stopped" incident; a pass, once verdicts
resume, resolves it. Verdicts are `pass`, `warn` or `fail`: an `error` is no verdict. A lake no
check has ever recorded on is a monitor that has not started yet (a warning, no page): a first
start, whose heartbeat runs before the first check finishes, pages nobody.

It runs in its own small DAG, so it notices check DAGs that are paused, stuck or failing. It cannot
notice a scheduler that is down (it would not run either): that needs a watcher outside Airflow.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flightdq.core.results import CheckResult, Status
from flightdq.incidents.store import MONITOR_DATASET, MONITORING_STOPPED
from flightdq.storage.history import HistoryStore


def newest_verdict(history: HistoryStore, now: datetime) -> datetime | None:
    """The newest `checked_at` of a verdict on today's or yesterday's data."""
    days = [now.date() - timedelta(days=1), now.date()]
    moments = [
        datetime.fromisoformat(r["checked_at"])
        for r in history.read(days)
        if r.get("status") in (Status.PASS, Status.WARN, Status.FAIL) and r.get("checked_at")
    ]
    return max(moments, default=None)


def heartbeat(history: HistoryStore, now: datetime, *, window_minutes: int, severity: str) -> CheckResult:
    newest = newest_verdict(history, now)
    window = timedelta(minutes=window_minutes)
    expected = f"a verdict within {window_minutes} minutes"
    if newest is None and history.last_checked_day() is None:
        # A lake no check ever recorded anything on (a first start): the monitor has not started,
        # not stopped. Paging now would be about the start-up order, not about the checks.
        message = "no check has recorded a verdict yet: the monitor has not started (nothing to page)"
        return CheckResult(
            MONITOR_DATASET, str(now.date()), MONITORING_STOPPED, Status.WARN, None, "none", expected, message
        )
    if newest is not None and now - newest <= window:
        age = round((now - newest).total_seconds() / 60)
        message = f"checks are recording verdicts: the newest is {age} minutes old"
        return CheckResult(
            MONITOR_DATASET, str(now.date()), MONITORING_STOPPED, Status.PASS, None, age, expected, message
        )
    observed = "none" if newest is None else f"{(now - newest).total_seconds() / 60:.0f} minutes ago"
    message = (
        f"no check has recorded a verdict for {window_minutes} minutes (newest: {observed}): "
        "the check DAGs are paused, stuck or failing"
    )
    return CheckResult(
        MONITOR_DATASET,
        str(now.date()),
        MONITORING_STOPPED,
        Status.FAIL,
        severity,
        observed,
        expected,
        message,
    )
