"""One step of every DAG run: results in, incidents updated, due alerts queued and delivered."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flightdq.core.config import IncidentPolicy
from flightdq.core.dates import utcnow
from flightdq.core.links import ConsoleLinks, airflow_run_url
from flightdq.core.results import CheckResult
from flightdq.incidents.alerts import Alert, due_alerts
from flightdq.incidents.notifiers import Notifier, plain_notifiers
from flightdq.incidents.outbox import AlertDeliveryError, Outbox
from flightdq.incidents.reconcile import reconcile
from flightdq.incidents.reviews import write_review
from flightdq.incidents.store import (
    MONITOR,
    MONITORING_STOPPED,
    Event,
    EventKind,
    Incident,
    IncidentStore,
    by_severity,
    worse,
)

if TYPE_CHECKING:
    from flightdq.backends.base import Backend

log = logging.getLogger(__name__)


def _note(store: IncidentStore, alert: Alert, kind: EventKind, detail: str, now: datetime) -> None:
    """Put what happened to an alert on its incident's timeline."""
    dt, incident_kind, _ = alert.incident_id.split("__")
    store.append(incident_kind, dt, Event(now.isoformat(), kind, detail, alert.severity))


def escalate(store: IncidentStore, new_alerts: Sequence[Alert], now: datetime) -> None:
    """Put each new escalation on its incident's timeline, naming who is involved now."""
    for alert in new_alerts:
        if alert.kind == "escalated":
            involve = ", ".join(alert.involve)
            _note(
                store,
                alert,
                EventKind.ESCALATED,
                f"unresolved past its response time; involve: {involve}",
                now,
            )


def raise_blind_monitors(
    store: IncidentStore, incidents: Sequence[Incident], policy: IncidentPolicy, now: datetime
) -> None:
    """A monitor that stays blind past its response time is worse than a passing glitch: its
    symptoms rise to `monitoring.blind_overdue_severity` (P1 by default), which alerts once."""
    for incident in incidents:
        if incident.kind != MONITOR or incident.resolved:
            continue
        if incident.age_minutes(now) <= policy.response_minutes.of(incident.severity):
            continue
        target = policy.blind_overdue_severity
        for symptom in incident.symptoms:
            if symptom.check != MONITORING_STOPPED and worse(target, symptom.severity):
                detail = (
                    f"{symptom.severity} -> {target}: still blind after {incident.age_minutes(now):.0f} min"
                )
                event = Event(now.isoformat(), EventKind.SEVERITY_CHANGED, detail, target)
                event.dataset, event.check, event.data = symptom.dataset, symptom.check, dict(symptom.data)
                store.append(MONITOR, incident.dt, event)


def manage_incidents(
    backend: Backend,
    results: Sequence[CheckResult],
    *,
    run_id: str,
    links: Mapping[str, str],
    notifiers: Sequence[Notifier],
    now: datetime | None = None,
    links_for: Callable[[CheckResult], Mapping[str, str]] | None = None,
) -> dict[str, Any]:
    """One step of every DAG run: open, worsen or resolve incidents from the run's results, queue
    the alerts that are due (for every unresolved incident, whatever day it is on), deliver what is
    pending, and write the review of each incident that resolved. Raises AlertDeliveryError, after
    recording everything, when some alert could not be delivered: the task fails and its retry
    sends what is still pending.

    It reads the incidents of the run's days and of the days the open-incident index names, and
    the pending alerts: its cost does not grow with the age of the lake."""
    now = now or utcnow()
    store = IncidentStore(backend.blobs)
    policy = backend.settings.policy.incidents
    changes = reconcile(store, results, run_id=run_id, now=now, links=links, links_for=links_for)
    days = {r.dt for r in results} | store.open_days()
    raise_blind_monitors(store, store.open(days), policy, now)
    incidents = store.list(days)
    for incident in store.current(days).values():
        store.index(incident)  # drops markers of incidents resolved meanwhile
    remediations = {dt: backend.history.read_remediations([dt]) for dt in {i.dt for i in incidents}}
    outbox = Outbox(backend.blobs)
    new = outbox.enqueue(due_alerts(incidents, policy=policy, now=now, remediations=remediations))
    escalate(store, new, now)
    for incident_id in changes["resolved"]:
        write_review(backend, store, incident_id, now)
    report = outbox.deliver(notifiers, now)
    for alert in report["first_delivered"]:
        if alert.kind != "escalated":
            _note(store, alert, EventKind.ALERTED, f"{alert.kind} alert sent: {alert.subject}", now)
    summary = {
        **changes,
        "alerts_queued": [a.key for a in new],
        "delivered": report["delivered"],
        "open_incidents": [i.id for i in by_severity(incidents) if not i.resolved],
    }
    if report["failed"]:
        raise AlertDeliveryError(
            f"{len(report['failed'])} alert deliveries failed (they stay pending and go out on retry): "
            + "; ".join(report["failed"][:5])
        )
    return summary


def result_links(console: ConsoleLinks, result: CheckResult) -> dict[str, str]:
    """Links to what stands behind one result: the console pages of the queries that computed it."""
    urls = [url for q in result.details.get("queries", []) if (url := console.query(q))]
    return {f"athena_query_{n}" if n else "athena_query": url for n, url in enumerate(urls)}


def incidents_for_run(
    days: Sequence[str],
    run_id: str,
    dag_id: str | None,
    *,
    backend: Backend,
    results_run_ids: Sequence[str] | None = None,
    now: datetime | None = None,
    notifiers: Sequence[Notifier] | None = None,
) -> dict[str, Any]:
    """Turn the results a run recorded into incidents and alerts (what the DAGs' `incidents` task and
    `flightdq remediate` run): `manage_incidents` with the run's links and the `notifiers` the
    entry point chose (default: the plain channels, `plain_notifiers`).
    `results_run_ids`: the runs whose results count (default: this run), later ones winning for
    the same (dataset, day, check): a remediation's plan, then its re-check. `backend`: the one
    the entry point built."""
    settings = backend.settings
    latest: dict[tuple[str, str, str], dict] = {}
    for results_run in results_run_ids or [run_id]:
        for record in backend.history.read_run(results_run, days):
            latest[(record["dataset"], record["dt"], record["check"])] = record
    records = list(latest.values())
    summary = manage_incidents(
        backend,
        [CheckResult.from_dict(r) for r in records],
        run_id=run_id,
        links={"airflow_run": airflow_run_url(dag_id, run_id)} if dag_id else {},
        links_for=lambda result: result_links(backend.console, result),
        notifiers=list(notifiers) if notifiers is not None else plain_notifiers(settings.lake),
        now=now,
    )
    log.info("incidents: %s", {k: v for k, v in summary.items() if v})
    return summary
