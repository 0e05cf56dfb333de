"""What the DAG tasks do, as plain functions of plain values (testable without a scheduler).

Target days come from the run: a manual trigger's validated params, or the run's data interval;
never the wall clock. Only small things cross XCom: days, the as-of moment, summaries.
The checks are imported inside the functions that run them: the DAG files import this module, and
parsing a DAG should not import every check.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flightdq.core.contract import CHECKS
from flightdq.core.dates import InputError, day_range, echo, parse_day, parse_moment
from flightdq.core.links import airflow_run_url
from flightdq.core.report import results_table
from flightdq.core.results import CheckResult

if TYPE_CHECKING:
    from flightdq.core.config import Settings

log = logging.getLogger(__name__)

DAILY, INTRADAY = "daily", "intraday"
ASSET_TRIGGER = "asset"  # a target's "trigger" when asset events named its days
REMEDIATION_DAG_ID = "flightdq_remediation"


class ChecksFailed(Exception):
    """Some check found a problem; the message lists which (dataset, day, check)s."""


def resolve_target(
    params: Mapping[str, Any],
    *,
    mode: str,
    data_interval_end: datetime | None,
    run_after: datetime,
    max_days: int,
    asset_events: Mapping[Any, Sequence[Any]] | None = None,
    day_key: str = "dt",
) -> dict[str, Any]:
    """The days to check and the moment to check them for.

    A manual run names its days in `params` (`date`, optional `to`, optional `as_of`). A scheduled
    daily run checks the day that ended before its data interval ended; an intraday run checks the
    day its data interval ends in, as it stands at that moment. An asset-triggered run (given its
    `asset_events`, the context's `triggering_asset_events`) has no logical date: it checks every
    day its events name in their extra (`day_key`), as of when the run started; its target says
    `"trigger": "asset"`.
    """
    as_of_param = params.get("as_of")
    if asset_events is not None:
        days = asset_event_days(asset_events, day_key=day_key, max_days=max_days)
        as_of = parse_moment(as_of_param, "param as_of") if as_of_param else run_after
        if days[-1] > as_of.date():
            raise InputError(f"asset event day {days[-1]} is in the future of the run ({as_of.isoformat()})")
        return {"days": [str(d) for d in days], "as_of": as_of.isoformat(), "trigger": ASSET_TRIGGER}
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


def asset_event_days(
    events: Mapping[Any, Sequence[Any]], *, day_key: str = "dt", max_days: int
) -> list[date]:
    """The days named by asset events (asset -> its events, as `triggering_asset_events` maps them;
    an event has an `extra` attribute or key): each event's `extra[day_key]`, a YYYY-MM-DD day.
    Sorted, each day once (an event seen through an alias too counts once). An event without a
    valid day, no event at all, or more than `max_days` days is refused: a check of "some day"
    would pass for a check of the repaired one."""
    days: set[date] = set()
    seen = 0
    for asset, asset_events in events.items():
        for event in asset_events:
            seen += 1
            extra = event.get("extra") if isinstance(event, Mapping) else getattr(event, "extra", None)
            source = _event_source(asset, event)
            if not isinstance(extra, Mapping) or day_key not in extra:
                raise InputError(f"asset event {source} has no {day_key!r} in its extra: no day to check")
            days.add(parse_day(extra[day_key], f"asset event {source} extra {day_key}"))
    if not seen:
        raise InputError("an asset-triggered run without triggering asset events: no day to check")
    if len(days) > max_days:
        raise InputError(f"asset events name {len(days)} days, more than the allowed {max_days} days")
    return sorted(days)


def _event_source(asset: Any, event: Any) -> str:
    """Where an event came from, for an error: the asset's name and the run that emitted it."""
    name = getattr(asset, "name", None) or str(asset)
    get = event.get if isinstance(event, Mapping) else lambda attr: getattr(event, attr, None)
    run = "/".join(str(part) for part in (get("source_dag_id"), get("source_run_id")) if part)
    return echo(f"{name} from {run}" if run else name, 160)


def _settings_from_env() -> Settings:
    from flightdq.core.config import Settings  # imported when a task runs, not when a DAG is parsed

    return Settings.from_env()


def _days(target: Mapping[str, Any]) -> list[date]:
    return [date.fromisoformat(d) for d in target["days"]]


def publish_check_links(ti: Any, check: str, target: Mapping[str, Any], run_id: str) -> None:
    """Push the links a check task shows (day view; on AWS its Athena queries and S3 prefixes).
    Never fails the task: a missing link is not worth a red check."""
    try:
        from flightdq.backends.registry import get_backend
        from flightdq.core.links import LINKS_XCOM_KEY, check_task_links_from_history

        backend = get_backend()
        links = check_task_links_from_history(backend.history, run_id, check, target["days"], backend.name)
        ti.xcom_push(key=LINKS_XCOM_KEY, value=links)
    except Exception:
        log.warning("links for %s were not published", check, exc_info=True)


def run_check_group(check: str, target: Mapping[str, Any], run_id: str) -> dict[str, Any]:
    """Run one check over the target days, keep its results, log them; raise if any failed."""
    from flightdq.checks.runner import run_checks, summarize

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
    """Gather every result this run recorded and log them as one table. Notes the checks that left
    no results (their task failed before recording)."""
    from flightdq.backends.registry import get_backend
    from flightdq.checks.runner import summarize

    backend = get_backend(settings)
    records = backend.history.read_run(run_id, target["days"])
    results = [CheckResult.from_dict(r) for r in records]
    log.info("data-quality results for %s:\n%s", ", ".join(target["days"]), results_table(results))
    summary = summarize(results)
    seen = {r.check for r in results}
    summary["missing_checks"] = [c for c in checks if c not in seen]
    return summary


def record_checks_that_could_not_run(
    target: Mapping[str, Any],
    run_id: str,
    missing: Mapping[str, str | None],
    settings: Settings | None = None,
) -> list[CheckResult]:
    """Record an `error` for each (dataset, day) of each check whose task failed without a result
    (`missing`: check -> error class, when the task could say). The monitor pages about itself."""
    from flightdq.backends.registry import get_backend
    from flightdq.checks.runner import record_results, task_failed_results

    settings = settings or _settings_from_env()
    backend = get_backend(settings)
    found = []
    for check, error_class in missing.items():
        results = task_failed_results(check, _days(target), error_class, settings)
        record_results(backend, run_id, check, results, as_of=parse_moment(target["as_of"]))
        found += results
    return found


def plan_run_days(target: Mapping[str, Any], run_id: str, settings: Settings | None = None) -> list[dict]:
    """The remediation plan of every day this run found something on, from the results it recorded
    and the raw evidence (nothing is run again): what the daily DAG triggers remediation for."""
    from flightdq.backends.registry import get_backend
    from flightdq.recovery.evidence import raw_fullness_of
    from flightdq.recovery.plan import plan_from_results, plans_table

    backend = get_backend(settings or _settings_from_env())
    results = [CheckResult.from_dict(r) for r in backend.history.read_run(run_id, target["days"])]
    days = sorted({date.fromisoformat(r.dt) for r in results if r.failed})
    policy = backend.settings.policy.remediation
    plans = plan_from_results(days, results, policy, raw_fullness_of(backend, policy.raw_samples))
    log.info("plans:\n%s", plans_table(plans))
    return [p.to_dict() for p in plans]


def remediation_request(plans: Sequence[Mapping[str, Any]]) -> dict | None:
    """What the daily DQ DAG asks the remediation DAG to do: only the days whose plan is a repair
    (an upstream drop, a data loss or a day without evidence gets no ETL run)."""
    from flightdq.recovery.plan import REPAIR_ACTIONS

    days = sorted(p["dt"] for p in plans if p["action"] in REPAIR_ACTIONS)
    return {"days": days, "dry_run": False} if days else None


def note_run_plans(
    plans: Sequence[Mapping[str, Any]], run_id: str, dag_id: str, *, partial_rebuilds: bool = False
) -> None:
    """Put on each day's incident why it gets no ETL run (upstream, data loss, no evidence), with
    the upstream diagnosis where raw data is missing or low; with `partial_rebuilds`, also the
    rebuilds from partial raw data (the remediation DAG, which carries them out)."""
    from flightdq.backends.registry import get_backend
    from flightdq.recovery.execute import note_plans
    from flightdq.recovery.plan import REPAIR_ACTIONS, DayPlan

    unrepaired = [
        plan
        for plan in map(DayPlan.from_dict, plans)
        if plan.action not in REPAIR_ACTIONS or (partial_rebuilds and plan.partial)
    ]
    if unrepaired:
        note_plans(get_backend(), unrepaired, run_id, {"airflow_run": airflow_run_url(dag_id, run_id)})


def verdict_text(summary: Mapping[str, Any]) -> str:
    """Empty when the run found nothing wrong; otherwise what was wrong, in one line."""
    problems = _failing_text(summary["failing"]) if summary["failing"] else ""
    if summary.get("missing_checks"):
        problems = (
            f"{problems + '; ' if problems else ''}no results from: {', '.join(summary['missing_checks'])}"
        )
    return problems


def _failing_text(failing: Sequence[Mapping[str, Any]]) -> str:
    return "; ".join(f"{f['dt']} {f['dataset']} {f['check']} {f['status']} {f['severity']}" for f in failing)


# --- remediation ----------------------------------------------------------------------------------
def resolve_remediation_request(
    params: Mapping[str, Any], *, run_after: datetime, max_days: int
) -> dict[str, Any]:
    """Days to repair from the trigger: `date` (+ `to`) by hand, or `days` from the DQ DAG."""
    if params.get("days"):
        if params.get("date") or params.get("to"):
            raise InputError("give either days or date/to, not both")
        days = sorted({parse_day(d, "param days item") for d in params["days"]})
        if len(days) > max_days:
            raise InputError(f"{len(days)} days is more than the allowed {max_days} days")
    elif params.get("date"):
        start = parse_day(params["date"], "param date")
        end = parse_day(params["to"], "param to") if params.get("to") else start
        days = day_range(start, end, max_days=max_days)
    else:
        raise InputError("param date is required (or days, from the data-quality DAG)")
    dry_run = params.get("dry_run", True)
    if not isinstance(dry_run, bool):
        raise InputError(f"param dry_run must be true or false, not {dry_run!r}")
    if days[-1] > run_after.date():
        raise InputError(f"date {days[-1]} is in the future")
    force = params.get("force", False)
    if not isinstance(force, bool):
        raise InputError(f"param force must be true or false, not {force!r}")
    return {
        "days": [str(d) for d in days],
        "as_of": run_after.isoformat(),
        "dry_run": dry_run,
        "force": force,
    }


def plan_remediation(request: Mapping[str, Any], run_id: str) -> list[dict[str, Any]]:
    from flightdq.backends.registry import get_backend
    from flightdq.core.links import airflow_run_url
    from flightdq.recovery.execute import note_started
    from flightdq.recovery.plan import plan_days, plans_table

    backend = get_backend()
    as_of = parse_moment(request["as_of"])
    plans = plan_days(backend, _days(request), as_of, run_id=run_id, record=not request["dry_run"])
    if not request["dry_run"]:
        links = {"remediation_run": airflow_run_url(REMEDIATION_DAG_ID, run_id)}
        note_started(backend, plans, run_id, links, force=request.get("force", False))
    log.info("plan:\n%s", plans_table(plans))
    return [p.to_dict() for p in plans]


def days_to_repair(request: Mapping[str, Any], plans: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plans that need work; none on a dry run (the mapped repair task is then skipped)."""
    if request["dry_run"]:
        log.info("dry run: nothing will be changed")
        return []
    from flightdq.recovery.plan import REPAIR_ACTIONS

    return [dict(p) for p in plans if p["action"] in REPAIR_ACTIONS]


def finish_remediation(
    request: Mapping[str, Any],
    plans: Sequence[Mapping[str, Any]],
    repairs: Sequence[Mapping[str, Any]],
    run_id: str,
) -> dict[str, Any]:
    """Check the repaired days again and record how every day ended (see `remediation_verdict`)."""
    from flightdq.backends.registry import get_backend
    from flightdq.recovery.execute import SETTLED, finish, note_finished, outcomes_table
    from flightdq.recovery.plan import DayPlan

    backend = get_backend()
    ended = finish(
        backend,
        [DayPlan.from_dict(p) for p in plans],
        {r["dt"]: r for r in repairs if r},
        parse_moment(request["as_of"]),
        dry_run=request["dry_run"],
        run_id=run_id,
    )
    log.info("remediation summary:\n%s", outcomes_table(ended))
    if not request["dry_run"]:
        note_finished(
            backend, ended, run_id, {"remediation_run": airflow_run_url(REMEDIATION_DAG_ID, run_id)}
        )
    summary = {"days": [o.to_dict() for o in ended]}
    summary["not_fine"] = [f"{o.dt} {o.outcome}" for o in ended if o.outcome not in SETTLED]
    return summary


# --- incidents ------------------------------------------------------------------------------------


def heartbeat_step(run_id: str, now: datetime, settings: Settings | None = None) -> dict[str, Any]:
    """The dead-man's switch: page "monitoring stopped" when no verdict came for too long."""
    from flightdq.backends.registry import get_backend
    from flightdq.incidents.heartbeat import heartbeat
    from flightdq.incidents.manage import manage_incidents
    from flightdq.incidents.notifiers import notifiers_from_env

    settings = settings or _settings_from_env()
    backend = get_backend(settings)
    policy = settings.policy.incidents
    result = heartbeat(
        backend.history, now, window_minutes=policy.stale_verdict_minutes, severity=policy.stopped_severity
    )
    log.info("heartbeat: %s", result.message)
    return manage_incidents(
        backend,
        [result],
        run_id=run_id,
        links={"airflow_run": airflow_run_url("flightdq_heartbeat", run_id)},
        notifiers=notifiers_from_env(settings.lake, settings.backend, settings.aws_conn_id),
        now=now,
    )
