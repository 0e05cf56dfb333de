"""What the DAG tasks do, as plain functions of plain values (testable without a scheduler).

Target days come from the run: a manual trigger's validated params, or the run's data interval;
never the wall clock. Only small things cross XCom: days, the as-of moment, summaries.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from flightdq.config import Settings
from flightdq.contract import CHECKS
from flightdq.dates import InputError, day_range, parse_day, parse_moment
from flightdq.report import results_table
from flightdq.results import CheckResult
from flightdq.runner import run_checks, summarize

log = logging.getLogger(__name__)

DAILY, INTRADAY = "daily", "intraday"


class ChecksFailed(Exception):
    """Some check found a problem; the message lists which (dataset, day, check)s."""


def resolve_target(
    params: Mapping[str, Any],
    *,
    mode: str,
    data_interval_end: datetime | None,
    run_after: datetime,
    max_days: int,
) -> dict[str, Any]:
    """The days to check and the moment to check them for.

    A manual run names its days in `params` (`date`, optional `to`, optional `as_of`). A scheduled
    daily run checks the day that ended before its data interval ended; an intraday run checks the
    day its data interval ends in, as it stands at that moment.
    """
    as_of_param = params.get("as_of")
    if params.get("date"):
        start = parse_day(params["date"], "param date")
        end = parse_day(params["to"], "param to") if params.get("to") else start
        days = day_range(start, end, max_days=max_days)
        as_of = parse_moment(as_of_param, "param as_of") if as_of_param else run_after
    else:
        if params.get("to"):
            raise InputError("param to needs param date")
        moment = data_interval_end or run_after
        as_of = parse_moment(as_of_param, "param as_of") if as_of_param else moment
        target = (moment - timedelta(days=1)).date() if mode == DAILY else moment.date()
        days = [target]
    if days[-1] > as_of.date():
        raise InputError(f"date {days[-1]} is in the future of the moment checked for ({as_of.isoformat()})")
    return {"days": [str(d) for d in days], "as_of": as_of.isoformat()}


def _days(target: Mapping[str, Any]) -> list[date]:
    return [date.fromisoformat(d) for d in target["days"]]


def run_check_group(check: str, target: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """Run one check over the target days, keep its results, log them; raise if any failed."""
    results = run_checks(
        _days(target), parse_moment(target["as_of"]), checks=[check], run_id=run_id, raise_errors=True
    )
    log.info("%s results:\n%s", check, results_table(results))
    summary = summarize(results)
    if summary["failing"]:
        raise ChecksFailed(_failing_text(summary["failing"]))
    return summary


def report_run(
    target: Mapping[str, Any], run_id: str, checks: Sequence[str] = CHECKS, settings: Settings | None = None
) -> dict[str, Any]:
    """Gather every result this run recorded, log one table, and raise if anything failed or a
    check left no results (its task failed before recording)."""
    from flightdq.backends.base import get_backend

    backend = get_backend(settings)
    records = backend.history.read_run(run_id, target["days"])
    results = [CheckResult.from_dict(r) for r in records]
    log.info("data-quality results for %s:\n%s", ", ".join(target["days"]), results_table(results))
    summary = summarize(results)
    seen = {r.check for r in results}
    summary["missing_checks"] = [c for c in checks if c not in seen]
    problems = summary["failing"] and _failing_text(summary["failing"])
    if summary["missing_checks"]:
        problems = f"{problems + '; ' if problems else ''}no results from: {', '.join(summary['missing_checks'])}"
    if problems:
        raise ChecksFailed(problems)
    return summary


def _failing_text(failing: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{f['dt']} {f['dataset']} {f['check']} {f['status']} {f['severity']}" for f in failing)
