"""What the DAG tasks do, as plain functions of plain values (testable without a scheduler).

Target days come from the run: a manual trigger's validated params, or the run's data interval;
never the wall clock. Only small things cross XCom: days, the as-of moment, summaries.
The checks are imported inside the functions that run them: the DAG files import this module, and
parsing a DAG should not import every check.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flightdq.airflow.runs import ASSET_TRIGGER, DAILY, INTRADAY, REMEDIATION_DAG_ID  # noqa: F401 (INTRADAY: the modes, side by side)
from flightdq.core.contract import CHECKS, PROCESSED_DATASET
from flightdq.core.dates import InputError, day_range, echo, parse_day, parse_moment
from flightdq.core.links import airflow_run_url
from flightdq.core.report import results_table
from flightdq.core.results import CheckResult

if TYPE_CHECKING:
    from flightdq.backends.base import Backend
    from flightdq.core.config import Settings

log = logging.getLogger(__name__)

RUN_ID_RE = re.compile(r"[A-Za-z0-9_.:+\-]{1,250}")  # an Airflow run id, as the checks DAG passes it on


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


def task_backend(settings: Settings | None = None) -> Backend:
    """The backend a task body builds once, at its start, and passes down: nothing below the task
    looks one up. On AWS its connection is the Airflow connection the settings name."""
    from flightdq.airflow.aws import backend

    return backend(settings)


def _days(target: Mapping[str, Any]) -> list[date]:
    return [date.fromisoformat(d) for d in target["days"]]


def publish_check_links(
    ti: Any, check: str, target: Mapping[str, Any], run_id: str, backend: Backend | None = None
) -> None:
    """Push the links a check task shows (day view; on AWS its Athena queries and S3 prefixes).
    Never fails the task: a missing link is not worth a red check. `backend`: the task's, when it
    got as far as building one."""
    try:
        from flightdq.core.links import LINKS_XCOM_KEY, check_task_links_from_history

        backend = backend or task_backend()
        links = check_task_links_from_history(backend.history, run_id, check, target["days"], backend.console)
        ti.xcom_push(key=LINKS_XCOM_KEY, value=links)
    except Exception:
        log.warning("links for %s were not published", check, exc_info=True)


def run_check_group(
    check: str,
    target: Mapping[str, Any],
    run_id: str,
    backend: Backend,
    *,
    keep: list[CheckResult] | None = None,
) -> dict[str, Any]:
    """Run one check over the target days, keep its results (in the history, and in `keep` when
    given: the task's lineage reports them), log them; raise if any failed."""
    from flightdq.checks.runner import run_checks, summarize
    from flightdq.incidents.store import IncidentStore

    results = run_checks(
        _days(target),
        parse_moment(target["as_of"]),
        checks=[check],
        backend=backend,
        run_id=run_id,
        raise_errors=True,
        incident_days=IncidentStore(backend.blobs).unresolved_days,
    )
    if keep is not None:
        keep.extend(results)
    log.info("%s results:\n%s", check, results_table(results))
    summary = summarize(results)
    if summary["failing"]:
        raise ChecksFailed(_failing_text(summary["failing"]))
    return summary


def check_results_of_run(check: str, target: Mapping[str, Any], run_id: str) -> list[CheckResult]:
    """What one check recorded in a run (its lineage, when the task kept none in memory)."""
    records = task_backend().history.read_run(run_id, target["days"])
    return [CheckResult.from_dict(r) for r in records if r.get("check") == check]


def report_run(
    target: Mapping[str, Any], run_id: str, checks: Sequence[str] = CHECKS, settings: Settings | None = None
) -> dict[str, Any]:
    """Gather every result this run recorded and log them as one table. Notes the checks that left
    no results (their task failed before recording)."""
    from flightdq.checks.runner import summarize

    backend = task_backend(settings)
    records = backend.history.read_run(run_id, target["days"])
    results = [CheckResult.from_dict(r) for r in records]
    log.info("data-quality results for %s:\n%s", ", ".join(target["days"]), results_table(results))
    from flightdq.incidents.reconcile import incident_kind
    from flightdq.incidents.store import MONITOR

    summary = summarize(results)
    failed = [r for r in results if r.failed]
    summary["failing"] = [
        finding | {"monitor": incident_kind(r) == MONITOR}
        for finding, r in zip(summary["failing"], failed, strict=True)
    ]
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
    from flightdq.checks.runner import record_results, task_failed_results

    settings = settings or _settings_from_env()
    backend = task_backend(settings)
    found = []
    for check, error_class in missing.items():
        results = task_failed_results(check, _days(target), error_class, settings)
        record_results(backend, run_id, check, results, as_of=parse_moment(target["as_of"]))
        found += results
    return found


def plan_run_days(target: Mapping[str, Any], run_id: str, settings: Settings | None = None) -> list[dict]:
    """The remediation plan of every day this run found something on, from the results it recorded
    and the raw evidence (nothing is run again): what the daily DAG triggers remediation for."""
    from flightdq.recovery.plan import plan_recorded, plans_table

    backend = task_backend(settings or _settings_from_env())
    results = [CheckResult.from_dict(r) for r in backend.history.read_run(run_id, target["days"])]
    days = sorted({date.fromisoformat(r.dt) for r in results if r.failed})
    plans = plan_recorded(backend, days, [r for r in results if date.fromisoformat(r.dt) in days])
    log.info("plans:\n%s", plans_table(plans))
    return [p.to_dict() for p in plans]


def remediation_request(plans: Sequence[Mapping[str, Any]], checked_by: str) -> dict | None:
    """What the daily DQ DAG asks the remediation DAG to do: only the days whose plan is a repair
    (an upstream drop, a data loss or a day without evidence gets no ETL run). `checked_by`, the
    run that found them: the remediation plans from its results instead of checking the days again."""
    from flightdq.recovery.plan import REPAIR_ACTIONS

    days = sorted(p["dt"] for p in plans if p["action"] in REPAIR_ACTIONS)
    return {"days": days, "dry_run": False, "checked_by": checked_by} if days else None


def needs_a_person(summary: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The findings of a run that nothing is fixing: all of them, except those about a processed
    partition the run handed to the remediation (its re-validation judges the repair). A check
    that could not run, and raw data that is missing or late, always need a person."""
    repairing = set((summary.get("remediation") or {}).get("days", []))
    return [
        finding
        for finding in summary["failing"]
        if finding.get("monitor") or finding["dataset"] != PROCESSED_DATASET or finding["dt"] not in repairing
    ]


def note_run_plans(
    plans: Sequence[Mapping[str, Any]], run_id: str, dag_id: str, *, partial_rebuilds: bool = False
) -> None:
    """Put on each day's incident why it gets no ETL run (upstream, data loss, no evidence), with
    the upstream diagnosis where raw data is missing or low; with `partial_rebuilds`, also the
    rebuilds from partial raw data (the remediation DAG, which carries them out)."""
    from flightdq.recovery.execute import note_plans
    from flightdq.recovery.plan import REPAIR_ACTIONS, DayPlan

    unrepaired = [
        plan
        for plan in map(DayPlan.from_dict, plans)
        if plan.action not in REPAIR_ACTIONS or (partial_rebuilds and plan.partial)
    ]
    if unrepaired:
        note_plans(task_backend(), unrepaired, run_id, {"airflow_run": airflow_run_url(dag_id, run_id)})


def verdict_text(summary: Mapping[str, Any]) -> str:
    """Empty when the run leaves nothing for a person; otherwise what, in one line: the findings
    no repair was asked for (`needs_a_person`) and the checks that left no results."""
    unhandled = needs_a_person(summary)
    problems = _failing_text(unhandled) if unhandled else ""
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
    checked_by = params.get("checked_by") or None
    if checked_by is not None and (not isinstance(checked_by, str) or not RUN_ID_RE.fullmatch(checked_by)):
        raise InputError(f"param checked_by {echo(str(checked_by), 80)} is not an Airflow run id")
    return {
        "days": [str(d) for d in days],
        "as_of": run_after.isoformat(),
        "dry_run": dry_run,
        "force": force,
        "checked_by": checked_by,
    }


def plan_remediation(request: Mapping[str, Any], run_id: str) -> list[dict[str, Any]]:
    """Each day's plan. Asked by a checks run (`checked_by`), from the results that run recorded:
    the days are not judged again. Asked by a person, from a validation of the days now."""
    from flightdq.recovery.execute import note_started
    from flightdq.recovery.plan import plan_days, plan_from_history, plans_table

    backend = task_backend()
    days = _days(request)
    checked_by = request.get("checked_by")
    plans = (
        plan_from_history(backend, days, checked_by, force=request.get("force", False))
        if checked_by
        else None
    )
    if plans is not None:
        log.info("planned from the results of %s", checked_by)
    else:
        as_of = parse_moment(request["as_of"])
        plans = plan_days(
            backend,
            days,
            as_of,
            run_id=run_id,
            record=not request["dry_run"],
            force=request.get("force", False),
        )
    if not request["dry_run"]:
        links = {"remediation_run": airflow_run_url(REMEDIATION_DAG_ID, run_id)}
        note_started(backend, plans, run_id, links, force=request.get("force", False), checked_by=checked_by)
    log.info("plan:\n%s", plans_table(plans))
    return [p.to_dict() for p in plans]


def days_to_repair(request: Mapping[str, Any], plans: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The plans that need work; none on a dry run (the mapped repair task is then skipped)."""
    if request["dry_run"]:
        log.info("dry run: nothing will be changed")
        return []
    from flightdq.recovery.plan import REPAIR_ACTIONS

    return [dict(p) for p in plans if p["action"] in REPAIR_ACTIONS]


def approval_needed(request: Mapping[str, Any], plans: Sequence[Mapping[str, Any]], from_days: int) -> bool:
    """A real repair waits for a person when it acts on `from_days` days or more, or is forced
    (`from_days` 0: never). A dry run, and a single unforced day, never wait."""
    from flightdq.recovery.plan import REPAIR_ACTIONS

    acting = [p for p in plans if p["action"] in REPAIR_ACTIONS]
    if request["dry_run"] or not acting or from_days == 0:
        return False
    return bool(request.get("force")) or len(acting) >= from_days


def approval_text(request: Mapping[str, Any], plans: Sequence[Mapping[str, Any]]) -> tuple[str, str]:
    """The approval's subject and body (Markdown): what the repair will do to each day, and why."""
    from flightdq.recovery.plan import REPAIR_ACTIONS

    acting = [p for p in plans if p["action"] in REPAIR_ACTIONS]
    forced = " (FORCED: a rebuild may replace a partition with a smaller one)" if request.get("force") else ""
    subject = f"Repair {len(acting)} day(s) of flightdata_processed{forced}?"
    rows = [
        f"| {p['dt']} | {p['action']}{' (partial)' if p.get('lost_hours') else ''} | "
        f"{'; '.join(p.get('reasons') or []).replace('|', '/')[:300] or '-'} |"
        for p in plans
    ]
    body = "\n".join(
        [
            "The plan (each day that is not *rebuild* or *register* gets no ETL run):",
            "",
            "| day | action | why |",
            "|---|---|---|",
            *rows,
            "",
            "**Approve**: run the ETL for these days, one at a time, then re-validate them. "
            "**Reject**: change nothing; the run ends with the plan recorded.",
        ]
    )
    return subject, body


def finish_remediation(
    request: Mapping[str, Any],
    plans: Sequence[Mapping[str, Any]],
    repairs: Sequence[Mapping[str, Any]],
    run_id: str,
    rejected_by: str | None = None,
) -> dict[str, Any]:
    """Record how every day ended, and say so on the days' incidents. The repaired days are not
    checked here: each emitted an event of `flightdata_processed`, and the daily checks' run on
    that event is the re-validation (and the one place incidents resolve)."""
    from flightdq.recovery.execute import SETTLED, finish, note_finished, note_plans, outcomes_table
    from flightdq.recovery.plan import REPAIR_ACTIONS, DayPlan

    backend = task_backend()
    day_plans = [DayPlan.from_dict(p) for p in plans]
    ended = finish(
        backend,
        day_plans,
        {r["dt"]: r for r in repairs if r},
        parse_moment(request["as_of"]),
        dry_run=request["dry_run"],
        run_id=run_id,
        recheck=False,
        rejected_by=rejected_by,
    )
    log.info("remediation summary:\n%s", outcomes_table(ended))
    if not request["dry_run"]:
        links = {"remediation_run": airflow_run_url(REMEDIATION_DAG_ID, run_id)}
        note_finished(backend, ended, run_id, links)  # a rejection too: it is a decision on the incident
        unrepaired = [p for p in day_plans if p.action not in REPAIR_ACTIONS or p.partial]
        note_plans(backend, unrepaired, run_id, links)
    summary = {"days": [o.to_dict() for o in ended], "dry_run": request["dry_run"]}
    # A dry run's answer is its plan, whatever the plan says: it ends green.
    summary["not_fine"] = (
        [] if request["dry_run"] else [f"{o.dt} {o.outcome}" for o in ended if o.outcome not in SETTLED]
    )
    return summary


# --- incidents ------------------------------------------------------------------------------------


def heartbeat_step(run_id: str, now: datetime, settings: Settings | None = None) -> dict[str, Any]:
    """The dead-man's switch: page "monitoring stopped" when no verdict came for too long."""
    from flightdq.airflow.notifiers import notifiers_from_env
    from flightdq.incidents.heartbeat import heartbeat
    from flightdq.incidents.manage import manage_incidents

    settings = settings or _settings_from_env()
    backend = task_backend(settings)
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


def incidents_step(
    days: Sequence[str], run_id: str, dag_id: str, settings: Settings | None = None
) -> dict[str, Any]:
    """The DAGs' `incidents` task: the run's results into incidents and alerts, on the channels
    chosen here (the file; Slack and SNS through their Airflow connections)."""
    from flightdq.airflow.notifiers import notifiers_from_env
    from flightdq.incidents.manage import incidents_for_run

    settings = settings or _settings_from_env()
    return incidents_for_run(
        days,
        run_id,
        dag_id,
        backend=task_backend(settings),
        notifiers=notifiers_from_env(settings.lake, settings.backend, settings.aws_conn_id),
    )
