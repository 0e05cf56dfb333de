"""Remediation carried out: the runbook's "re-run ETL job for missing partitions", made safe.

Act on one day at a time (unless it is a dry run) and say how each ended. A day never gets a
second ETL run while one is going (the backend's job registry enforces it; a second caller waits
for the first run instead).

Who checks a repaired day again: in Airflow, the daily checks' run on the repair's asset event
(the remediation DAG does not re-check, `finish(recheck=False)`); `remediate`, the whole loop in
one process for the CLI, where no scheduler runs anything after it, checks the days itself.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

from flightdq.backends.base import Backend, BackendError, EtlRun
from flightdq.checks.runner import run_checks
from flightdq.core.contract import PROCESSED_DATASET
from flightdq.core.dates import InputError, day_start
from flightdq.core.errors import describe_error
from flightdq.core.results import CheckResult
from flightdq.incidents.notifiers import Notifier
from flightdq.incidents.store import IncidentStore
from flightdq.recovery.plan import REPAIR_ACTIONS, Action, DayPlan, plan_days
from flightdq.recovery.publish import RepairRefused, discard_run, publish_run

__all__ = ["RepairRefused"]  # the typed refusals live with the audit (`flightdq.recovery.publish`)

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    NOTHING_TO_DO = "nothing_to_do"
    PLANNED = "planned"  # dry run: nothing was changed
    REPAIRED = "repaired"
    REPAIRED_PARTIALLY = "repaired_partially"  # rebuilt from the raw hours that remain; the rest is lost
    STILL_FAILING = "still_failing"
    NOT_REPAIRABLE = "not_repairable"
    UPSTREAM = "upstream"
    CANNOT_PLAN = "cannot_plan"
    REJECTED = "rejected"  # a person rejected the repair when asked to approve it: nothing was changed


# How a run ends: green only when every day is one of these (a rejection is a person's decision).
SETTLED = (Outcome.NOTHING_TO_DO, Outcome.REPAIRED, Outcome.PLANNED, Outcome.REJECTED)
_UNREPAIRED = {
    Action.NOT_REPAIRABLE: Outcome.NOT_REPAIRABLE,
    Action.UPSTREAM: Outcome.UPSTREAM,
    Action.CANNOT_PLAN: Outcome.CANNOT_PLAN,
}


@dataclass
class DayOutcome:
    dt: str
    action: str
    outcome: Outcome
    message: str
    etl_run_id: str | None = None
    still_failing: list[str] = field(default_factory=list)
    failure: str | None = None  # why a repair failed, as a kind (`RepairRefused.kind`, or "failed")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"outcome": str(self.outcome)}


def repair_day(backend: Backend, plan: DayPlan, *, force: bool = False) -> dict[str, Any]:
    """Carry out one day's plan: for a rebuild, run the ETL job into a run-scoped prefix, wait for it,
    then audit and publish what it wrote (`finish_rebuild`). Raises BackendError naming the ETL run if
    the run failed, a typed RepairRefused if what it wrote may not replace the partition (smaller,
    unless `force`; or the job broke the job contract): the old partition stays either way."""
    if plan.action is Action.REGISTER:
        return register_day(backend, plan)
    rebuild_needed(plan)
    return finish_rebuild(backend, plan, backend.run_etl(date.fromisoformat(plan.dt)), force=force)


def register_day(backend: Backend, plan: DayPlan) -> dict[str, Any]:
    """The partition's files are there: put it in the catalog."""
    added = backend.register_partitions([plan.dt])
    return {"dt": plan.dt, "action": str(plan.action), "registered": bool(added), "etl_run_id": None}


def rebuild_needed(plan: DayPlan) -> None:
    """Refuse a plan that is not a rebuild before any ETL run is started for it."""
    if plan.action is not Action.REBUILD:
        raise InputError(f"day {plan.dt} is planned as {plan.action}, which is not a repair")


def finish_rebuild(backend: Backend, plan: DayPlan, run: EtlRun, *, force: bool = False) -> dict[str, Any]:
    """After the day's ETL run ended: raise unless it succeeded (what it wrote is deleted), else
    contain, audit and publish what it wrote (`flightdq.recovery.publish.publish_run`) and register
    the partition. The second half of a rebuild, wherever the run was waited for (here, or Airflow's
    triggerer)."""
    if not run.succeeded:
        if not run.attached:  # the caller that started it cleans up after it
            discard_run(backend, run)
        raise BackendError(
            f"ETL run {run.run_id} for {plan.dt} ended {run.state}: {run.error or 'no reason given'}"
        )
    try:
        published = publish_run(backend, run, force=force)
    except RepairRefused as exc:  # the same type, naming the run
        raise type(exc)(f"ETL run {run.run_id} for {plan.dt}: {exc}") from exc
    backend.register_partitions([plan.dt])
    return {
        "dt": plan.dt,
        "action": str(plan.action),
        "etl_run_id": run.run_id,
        "rows": published.rows,
        "attached": run.attached,
        "location": published.location,
        "replaced": published.replaced,
        "skipped": list(published.skipped),  # unreadable raw objects the rebuild left out, by key
    }


def skipped_text(keys: Sequence[str]) -> str:
    """The unreadable raw objects a rebuild left out, with their hours, for the outcome and the
    incident's timeline."""
    found = sorted({int(hour) for hour in map(_hour_of, keys) if hour is not None})
    hours = ", ".join(f"{h:02d}" for h in found)
    names = ", ".join(key.rsplit("/", 1)[-1] for key in keys[:5])
    more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
    return f"left out {len(keys)} unreadable raw snapshot(s) (hours {hours}): {names}{more}"


def _hour_of(key: str) -> str | None:
    for part in key.split("/"):
        if part.startswith("hour="):
            return part.removeprefix("hour=")
    return None


def outcomes(
    plans: Sequence[DayPlan],
    recheck: Iterable[CheckResult],
    repairs: Mapping[str, Mapping[str, Any]],
    *,
    dry_run: bool,
    rechecked: bool = True,
    rejected_by: str | None = None,
) -> list[DayOutcome]:
    """How each day ended, from its plan, what was done and the checks run after (`rechecked`:
    `recheck` holds them; otherwise the re-validation is another run's)."""
    failing_after: dict[str, list[str]] = {}
    for result in recheck:
        if result.failed and result.dataset == PROCESSED_DATASET:
            failing_after.setdefault(result.dt, []).append(f"{result.check} {result.severity}")
    ended = []
    for plan in plans:
        repair = repairs.get(plan.dt, {})
        run_id = repair.get("etl_run_id")
        if plan.action is Action.NOTHING:
            ended.append(DayOutcome(plan.dt, plan.action, Outcome.NOTHING_TO_DO, "all checks pass"))
        elif plan.action in _UNREPAIRED:
            prefix = "data loss (P0): " if plan.action is Action.NOT_REPAIRABLE else ""
            message = prefix + "; ".join(plan.reasons)
            ended.append(DayOutcome(plan.dt, plan.action, _UNREPAIRED[plan.action], message))
        elif dry_run:
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.PLANNED,
                    f"dry run: would {plan.action}; nothing was changed",
                )
            )
        elif rejected_by is not None:
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.REJECTED,
                    f"{plan.action} rejected by {rejected_by} when asked to approve it; nothing was changed",
                )
            )
        elif repair.get("error") or not repair:
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.STILL_FAILING,
                    f"{plan.action} failed: {repair.get('error', 'no repair was recorded')}",
                    run_id,
                    failing_after.get(plan.dt, []),
                    failure=repair.get("failure", "failed"),
                )
            )
        elif plan.partial:
            lost = ", ".join(f"{h:02d}" for h in plan.lost_hours)
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.REPAIRED_PARTIALLY,
                    f"rebuilt from the raw hours that remain (ETL run {run_id}); raw hours {lost} are "
                    "lost and stay a P0 data loss: check the data source and the ingestion Lambda",
                    run_id,
                    failing_after.get(plan.dt, []),
                )
            )
        elif repair.get("skipped"):
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.REPAIRED_PARTIALLY,
                    f"rebuilt from the raw snapshots that could be read (ETL run {run_id}); "
                    f"{skipped_text(repair['skipped'])}. They count as missing from now on (a whole hour "
                    "of them is a P0 data loss): check the ingestion Lambda that wrote them",
                    run_id,
                    failing_after.get(plan.dt, []),
                )
            )
        elif failing_after.get(plan.dt):
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.STILL_FAILING,
                    f"after {plan.action}, still failing: {', '.join(failing_after[plan.dt])}",
                    run_id,
                    failing_after[plan.dt],
                )
            )
        else:
            checked = "every check passes again" if rechecked else "the re-validation checks it next"
            ended.append(
                DayOutcome(
                    plan.dt,
                    plan.action,
                    Outcome.REPAIRED,
                    f"{plan.action} done" + (f" (ETL run {run_id})" if run_id else "") + f"; {checked}",
                    run_id,
                )
            )
    return ended


def finish(
    backend: Backend,
    plans: Sequence[DayPlan],
    repairs: Mapping[str, Mapping[str, Any]],
    as_of: datetime,
    *,
    dry_run: bool,
    run_id: str,
    recheck: bool = True,
    rejected_by: str | None = None,
) -> list[DayOutcome]:
    """Record how every day ended; with `recheck`, check the days acted on again first (the CLI:
    in Airflow the re-validation is the daily checks' run on the repair's asset event)."""
    repairs = dict(repairs)
    acted = [] if dry_run or rejected_by is not None else [p for p in plans if p.action in REPAIR_ACTIONS]
    for plan in acted:  # a repair that failed for good left no result: say so
        repairs.setdefault(plan.dt, {"dt": plan.dt, "error": "the repair failed; see its log"})
    recheck_days = [date.fromisoformat(p.dt) for p in acted] if recheck else []
    rechecked = (
        run_checks(
            recheck_days,
            as_of,
            backend=backend,
            settings=backend.settings,
            run_id=f"{run_id}__recheck",
            incident_days=IncidentStore(backend.blobs).unresolved_days,
        )
        if recheck_days
        else []
    )
    ended = outcomes(plans, rechecked, repairs, dry_run=dry_run, rechecked=recheck, rejected_by=rejected_by)
    # Dry runs are recorded too (marked so), for the day view to show what a repair would do; not
    # on a backend opened read-only (`flightdq remediate --dry-run` changes nothing at all).
    if not dry_run or backend.writable:
        reasons = {p.dt: p.reasons for p in plans}
        records = [o.to_dict() | {"dry_run": dry_run, "reasons": reasons.get(o.dt, [])} for o in ended]
        backend.history.write_remediation(run_id, records)
    return ended


def remediate(
    backend: Backend,
    days: Sequence[date],
    as_of: datetime,
    *,
    dry_run: bool,
    run_id: str,
    force: bool = False,
    notifiers: Sequence[Notifier] | None = None,
) -> list[DayOutcome]:
    """The whole loop in one process (what `flightdq remediate` runs; the DAG runs the same steps
    as separate tasks). `notifiers`: the alert channels the entry point chose (default: the plain
    ones, `incidents.notifiers.plain_notifiers`)."""
    plans = plan_days(backend, days, as_of, run_id=run_id, record=not dry_run, force=force)
    if not dry_run:
        note_started(backend, plans, run_id, {}, force=force)
    repairs: dict[str, dict[str, Any]] = {}
    for plan in [] if dry_run else [p for p in plans if p.action in REPAIR_ACTIONS]:
        try:
            repairs[plan.dt] = repair_day(backend, plan, force=force)
        except BackendError as exc:
            log.error("repair of %s failed: %s", plan.dt, exc)
            repairs[plan.dt] = {"dt": plan.dt, "error": str(exc), "failure": getattr(exc, "kind", "failed")}
    ended = finish(backend, plans, repairs, as_of, dry_run=dry_run, run_id=run_id)
    if not dry_run:  # the plan's findings and the re-checks open, update or resolve incidents
        from flightdq.incidents.manage import incidents_for_run

        note_finished(backend, ended, run_id, {})
        days_checked = [str(d) for d in days]
        incidents_for_run(
            days_checked,
            run_id,
            None,
            backend=backend,
            results_run_ids=[run_id, f"{run_id}__recheck"],
            notifiers=notifiers,
        )
        note_plans(backend, [p for p in plans if p.action not in REPAIR_ACTIONS or p.partial], run_id, {})
    return ended


def outcomes_table(ended: Sequence[DayOutcome]) -> str:
    from collections import Counter

    from tabulate import tabulate

    rows = [(o.dt, str(o.action), str(o.outcome), o.message) for o in ended]
    table = tabulate(
        rows, headers=("dt", "action", "outcome", "message"), tablefmt="simple", disable_numparse=True
    )
    counts = Counter(str(o.outcome) for o in ended)
    return table + "\n" + ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))


def note_started(
    backend: Backend,
    plans: Sequence[DayPlan],
    run_id: str,
    links: Mapping[str, str],
    *,
    force: bool = False,
    checked_by: str | None = None,
) -> None:
    """Put "remediation started" on the timeline of the open incidents of the days acted on. With
    `checked_by` (the checks run that asked for the repair) it lands on the incident that run
    opens even when the incident is recorded after it (`record_remediation`)."""
    from flightdq.incidents.reconcile import record_remediation
    from flightdq.incidents.store import EventKind, IncidentStore

    store = IncidentStore(backend.blobs)
    for plan in plans:
        if plan.action in REPAIR_ACTIONS:
            what = f"{plan.action} started"
            if force:
                what += " (FORCED: it may replace the partition with a smaller one)"
            record_remediation(
                store,
                plan.dt,
                EventKind.REMEDIATION_STARTED,
                what,
                run_id=run_id,
                links=links,
                checked_by=checked_by,
            )


def note_plans(backend: Backend, plans: Sequence[DayPlan], run_id: str, links: Mapping[str, str]) -> None:
    """On the day's open incident: why no ETL run (upstream, data loss, no evidence), and for raw
    data that is missing or low, what the ingestion Lambda did meanwhile (`upstream_diagnosis`).
    Called after the incidents step, so that the run's own findings have opened the incident."""
    from flightdq.incidents.diagnosis import diagnosis_text
    from flightdq.incidents.reconcile import record_remediation
    from flightdq.incidents.store import EventKind, IncidentStore

    store = IncidentStore(backend.blobs)
    for plan in plans:
        if plan.action in (*REPAIR_ACTIONS, Action.NOTHING) and not plan.partial:
            continue
        what = f"{plan.action}: {'; '.join(plan.reasons)}"
        if plan.action is not Action.REBUILD:
            what = f"no ETL run: {what}"
        if plan.action in (Action.UPSTREAM, Action.NOT_REPAIRABLE) or plan.partial:
            start = day_start(date.fromisoformat(plan.dt))
            try:
                what += f". {diagnosis_text(backend.upstream_diagnosis(start, start + timedelta(days=1)))}"
            except Exception as exc:  # the diagnosis helps people; its failure must not stop the note
                what += f". Upstream diagnosis unavailable ({describe_error(exc)})"
        record_remediation(store, plan.dt, EventKind.NOTE, what, run_id=run_id, links=links)


def note_finished(
    backend: Backend, ended: Sequence[DayOutcome], run_id: str, links: Mapping[str, str]
) -> None:
    """Put how the remediation ended on the timeline of the open incidents of the days acted on."""
    from flightdq.core.links import etl_run_url
    from flightdq.incidents.reconcile import record_remediation
    from flightdq.incidents.store import EventKind, IncidentStore

    store = IncidentStore(backend.blobs)
    for outcome in ended:
        if outcome.action in REPAIR_ACTIONS and outcome.outcome is not Outcome.PLANNED:
            day_links = dict(links) | ({"etl_run": outcome.etl_run_id} if outcome.etl_run_id else {})
            if glue := etl_run_url(backend.name, outcome.etl_run_id):
                day_links["glue_job_run"] = glue
            record_remediation(
                store,
                outcome.dt,
                EventKind.REMEDIATION_FINISHED,
                f"{outcome.action}: {outcome.outcome}: {outcome.message}",
                run_id=run_id,
                links=day_links,
            )
