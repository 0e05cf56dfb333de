"""One step of every DAG run: results in, incidents updated, due alerts queued and delivered."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flightdq.core.dates import utcnow
from flightdq.core.results import CheckResult
from flightdq.incidents.alerts import Alert, due_alerts
from flightdq.incidents.notifiers import Notifier
from flightdq.incidents.outbox import AlertDeliveryError, Outbox
from flightdq.incidents.reviews import write_review
from flightdq.incidents.store import Event, EventKind, IncidentStore, reconcile

if TYPE_CHECKING:
    from flightdq.backends.base import Backend


def _note(store: IncidentStore, alert: Alert, kind: EventKind, detail: str, now: datetime) -> None:
    """Put what happened to an alert on its incident's timeline."""
    store.append(alert.dataset, alert.dt, alert.check, Event(now.isoformat(), kind, detail, alert.severity))


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
    sends what is still pending."""
    now = now or utcnow()
    store = IncidentStore(backend.blobs)
    changes = reconcile(store, results, run_id=run_id, now=now, links=links, links_for=links_for)
    incidents = store.list()
    remediations = {dt: backend.history.read_remediations([dt]) for dt in {i.dt for i in incidents}}
    outbox = Outbox(backend.blobs)
    policy = backend.settings.policy.incidents
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
        "open_incidents": [i.id for i in incidents if not i.resolved],
    }
    if report["failed"]:
        raise AlertDeliveryError(
            f"{len(report['failed'])} alert deliveries failed (they stay pending and go out on retry): "
            + "; ".join(report["failed"][:5])
        )
    return summary
