"""Alerts that reach people exactly once.

One alert when an incident opens; another only when its severity rises, or when its response time
passes unresolved (escalation, naming who the runbook's matrix involves next); one when it resolves.

Alerts go through an outbox in the BlobStore, so deduplication survives task retries and restarted
schedulers, and an alert that could not be delivered stays pending (and the task fails) until a
retry delivers it:

    flightdq-incidents/alerts/<alert key>/alert.json          the alert, created once (create-only)
    flightdq-incidents/alerts/<alert key>/<channel>.try-<n>   the n-th delivery try, claimed create-only
    flightdq-incidents/alerts/<alert key>/<channel>.failed-<n> why that try failed
    flightdq-incidents/alerts/<alert key>/<channel>.delivered  done

A try claimed but neither delivered nor failed for `STALE_TRY_SECONDS` (its worker died mid-send)
is tried again: at worst a message goes out twice, never zero times.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from flightdq.core.config import IncidentPolicy
from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)
from flightdq.core.dates import utcnow
from flightdq.core.results import CheckResult
from flightdq.incidents.store import (
    INCIDENTS_ROOT,
    Event,
    EventKind,
    Incident,
    IncidentStore,
    reconcile,
    review_markdown,
)
from flightdq.storage.blobstore import BlobStore

if TYPE_CHECKING:
    from flightdq.backends.base import Backend

log = logging.getLogger(__name__)

ALERTS_ROOT = f"{INCIDENTS_ROOT}/alerts"
STALE_TRY_SECONDS = 600

_MISSING_DATA = [
    "Check upstream data source availability (OpenSky Network API)",
    "Verify the ingestion Lambda's executions and errors",
    "Re-run the ETL for the missing partitions (flightdq_remediation, or `flightdq remediate`)",
    "Update data processing schedules if needed",
]
_DATA_QUALITY = [
    "Re-run the ETL for the day if raw data is sound (flightdq_remediation)",
    "Enable additional data validation rules",
    "Review and update data cleansing logic",
]
RUNBOOK_STEPS: dict[str, list[str]] = {
    PARTITION_PRESENCE: _MISSING_DATA,
    FRESHNESS: _MISSING_DATA,
    RECORD_COUNT_DRIFT: [*_MISSING_DATA[:2], *_DATA_QUALITY],
    DUPLICATES: _DATA_QUALITY,
    SCHEMA_VALIDITY: [
        "Identify schema evolution in source data",
        "Update data transformation logic",
        "Implement backward compatibility",
        "Notify downstream consumers of changes",
    ],
}


class AlertDeliveryError(RuntimeError):
    """Some alert could not be delivered; it stays pending and the next try sends it."""


@dataclass
class Alert:
    key: str
    kind: str  # opened, severity_raised, escalated, resolved
    incident_id: str
    severity: str
    dataset: str
    dt: str
    check: str
    observed: Any
    expected: Any
    message: str
    remediation: str
    runbook: list[str]
    links: dict[str, str] = field(default_factory=dict)
    involve: list[str] = field(default_factory=list)
    created_at: str = ""

    @property
    def subject(self) -> str:
        verb = {
            "opened": "OPEN",
            "severity_raised": "WORSE",
            "escalated": "ESCALATED",
            "resolved": "RESOLVED",
        }
        return f"[{self.severity}] {verb.get(self.kind, self.kind)}: {self.check} on {self.dataset} {self.dt}"

    def text(self) -> str:
        lines = [self.subject, "", self.message, f"observed {self.observed} against expected {self.expected}"]
        if self.involve:
            lines.append(f"involve now: {', '.join(self.involve)}")
        lines.append(f"remediation: {self.remediation}")
        lines += ["runbook (Data Quality Degradation):", *[f"  - {step}" for step in self.runbook]]
        lines += [f"{name}: {url}" for name, url in sorted(self.links.items())]
        lines.append(f"incident: {self.incident_id}")
        return "\n".join(lines)


# --- deciding what is due ---------------------------------------------------------------------------
def due_alerts(
    incidents: Sequence[Incident],
    *,
    policy: IncidentPolicy,
    now: datetime,
    remediations: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[Alert]:
    """Every alert the incidents call for now. Keys are stable, so asking twice is harmless."""
    alerts = []
    for incident in incidents:
        remediation = _remediation_text(incident, (remediations or {}).get(incident.dt, []))
        opened_severity = incident.timeline[0].severity or incident.severity
        alerts.append(_alert(incident, "opened", "opened", opened_severity, remediation, now))
        for change in (e for e in incident.timeline if e.event == EventKind.SEVERITY_CHANGED):
            alerts.append(
                _alert(
                    incident,
                    "severity_raised",
                    f"severity-{change.severity}",
                    change.severity,
                    remediation,
                    now,
                )
            )
        age = incident.age_minutes(now)
        if not incident.resolved and age > policy.response_minutes.of(incident.severity):
            involve = policy.escalation.involved_at(incident.severity, age)
            alerts.append(
                _alert(
                    incident,
                    "escalated",
                    f"escalated-{incident.severity}",
                    incident.severity,
                    remediation,
                    now,
                    involve,
                )
            )
        if incident.resolved:
            alerts.append(_alert(incident, "resolved", "resolved", incident.severity, remediation, now))
    return alerts


def _alert(
    incident: Incident,
    kind: str,
    suffix: str,
    severity: str,
    remediation: str,
    now: datetime,
    involve: Sequence[str] = (),
) -> Alert:
    revalidated = incident.latest(EventKind.REVALIDATED) if kind == "resolved" else None
    evidence_event = revalidated or incident.latest(EventKind.SEVERITY_CHANGED) or incident.timeline[0]
    return Alert(
        key=f"{incident.id}__{suffix}",
        kind=kind,
        incident_id=incident.id,
        severity=severity,
        dataset=incident.dataset,
        dt=incident.dt,
        check=incident.check,
        observed=evidence_event.data.get("observed"),
        expected=evidence_event.data.get("expected"),
        message=(revalidated or incident.timeline[0]).detail,
        remediation=remediation,
        runbook=RUNBOOK_STEPS.get(incident.check, []),
        links=_links(incident),
        involve=list(involve),
        created_at=now.isoformat(),
    )


def _remediation_text(incident: Incident, remediations: Sequence[Mapping[str, Any]]) -> str:
    finished = incident.latest(EventKind.REMEDIATION_FINISHED)
    if finished:
        return finished.detail
    if incident.latest(EventKind.REMEDIATION_STARTED):
        return "remediation is running"
    done = [r for r in remediations if r.get("outcome") not in (None, "nothing_to_do")]
    if done:
        last = done[-1]
        return f"{last.get('action')}: {last.get('outcome')} ({last.get('message')})"
    return "none yet"


def _links(incident: Incident) -> dict[str, str]:
    links: dict[str, str] = {}
    for event in incident.timeline:  # later events' links win
        links.update(event.links)
    return links


# --- the outbox -------------------------------------------------------------------------------------
class Outbox:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def enqueue(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Store each alert unless it already is; returns the ones that are new."""
        return [
            a
            for a in alerts
            if self.blobs.put_if_absent(
                f"{ALERTS_ROOT}/{a.key}/alert.json",
                json.dumps(asdict(a), sort_keys=True, default=str).encode(),
            )
        ]

    def alerts(self) -> dict[str, tuple[Alert, set[str]]]:
        """alert key -> (the alert, the names of its marker files)."""
        found: dict[str, tuple[Alert | None, set[str]]] = {}
        for key in self.blobs.list(f"{ALERTS_ROOT}/"):
            alert_key, name = key.removeprefix(f"{ALERTS_ROOT}/").rsplit("/", 1)
            alert, markers = found.get(alert_key, (None, set()))
            if name == "alert.json":
                alert = Alert(**json.loads(self.blobs.get(key) or b"{}"))
            else:
                markers.add(name)
            found[alert_key] = (alert, markers)
        return {k: (a, m) for k, (a, m) in found.items() if a is not None}

    def deliver(self, notifiers: Sequence[Notifier], now: datetime | None = None) -> dict[str, list]:
        """Send every pending alert on every channel it has not reached, trying everything (one
        broken channel does not block the others). The report's `failed` says what stays pending;
        `first_delivered` holds the alerts that reached their first channel just now."""
        now = now or utcnow()
        report: dict[str, list] = {"delivered": [], "failed": [], "skipped": [], "first_delivered": []}
        for key, (alert, markers) in sorted(self.alerts().items(), key=lambda kv: kv[1][0].created_at):
            if not any(m.endswith(".delivered") for m in markers) and any(
                f"{n.channel}.delivered" not in markers for n in notifiers
            ):
                before = len(report["delivered"])
            else:
                before = None
            for notifier in notifiers:
                channel = notifier.channel
                if f"{channel}.delivered" in markers:
                    continue
                attempt = self._claim(key, channel, markers, now)
                if attempt is None:
                    report["skipped"].append(f"{key} via {channel}")  # another worker is sending it
                    continue
                base = f"{ALERTS_ROOT}/{key}/{channel}"
                try:
                    notifier.send(alert)
                except Exception as exc:  # any failure of the channel: keep the alert pending
                    reason = f"{type(exc).__name__}: {exc}"[:500]
                    self.blobs.put(
                        f"{base}.failed-{attempt}",
                        json.dumps({"at": now.isoformat(), "error": reason}).encode(),
                    )
                    log.error("alert %s via %s failed: %s", key, channel, reason)
                    report["failed"].append(f"{key} via {channel}: {reason}")
                    continue
                self.blobs.put(f"{base}.delivered", json.dumps({"at": now.isoformat()}).encode())
                report["delivered"].append(f"{key} via {channel}")
            if before is not None and len(report["delivered"]) > before:
                report["first_delivered"].append(alert)
        return report

    def _claim(self, key: str, channel: str, markers: set[str], now: datetime) -> int | None:
        tries = sorted(int(m.rsplit("-", 1)[1]) for m in markers if m.startswith(f"{channel}.try-"))
        if tries:
            last = tries[-1]
            if f"{channel}.failed-{last}" not in markers:
                claimed = json.loads(self.blobs.get(f"{ALERTS_ROOT}/{key}/{channel}.try-{last}") or b"{}")
                age = (now - datetime.fromisoformat(claimed.get("at", now.isoformat()))).total_seconds()
                if age < STALE_TRY_SECONDS:
                    return None
        attempt = (tries[-1] + 1) if tries else 1
        body = json.dumps({"at": now.isoformat(), "pid": os.getpid()}).encode()
        if not self.blobs.put_if_absent(f"{ALERTS_ROOT}/{key}/{channel}.try-{attempt}", body):
            return None
        return attempt


# --- channels ---------------------------------------------------------------------------------------
class Notifier(Protocol):
    channel: str

    def send(self, alert: Alert) -> None: ...


class FileNotifier:
    """The local default: one JSON line per alert in a file (and the task log)."""

    channel = "file"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(
                json.dumps({"subject": alert.subject, "text": alert.text(), **asdict(alert)}, default=str)
                + "\n"
            )
        log.warning("ALERT %s\n%s", alert.subject, alert.text())


class SlackNotifier:
    """A Slack incoming webhook. The URL is a secret: it comes from the environment, never the logs."""

    channel = "slack"

    def __init__(self, webhook_url: str, timeout: float = 10.0) -> None:
        self._url = webhook_url
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        body = json.dumps({"text": f"*{alert.subject}*\n```{alert.text()}```"}).encode()
        request = urllib.request.Request(self._url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if response.status >= 300:
                raise RuntimeError(f"Slack webhook answered HTTP {response.status}")

    def __repr__(self) -> str:
        return "SlackNotifier(<webhook from FLIGHTDQ_SLACK_WEBHOOK_URL>)"


class SnsNotifier:
    """Amazon SNS, through the amazon provider's hook and the Airflow connection."""

    channel = "sns"

    def __init__(self, topic_arn: str, aws_conn_id: str) -> None:
        self.topic_arn = topic_arn
        self.aws_conn_id = aws_conn_id

    def send(self, alert: Alert) -> None:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=self.aws_conn_id).publish_to_target(
            target_arn=self.topic_arn,
            message=alert.text(),
            subject=alert.subject[:100],
            message_attributes={"severity": alert.severity, "check": alert.check, "dt": alert.dt},
        )


def notifiers_from_env(
    lake: Path, backend: str, aws_conn_id: str, env: Mapping[str, str] | None = None
) -> list[Notifier]:
    env = os.environ if env is None else env
    notifiers: list[Notifier] = [
        FileNotifier(Path(env.get("FLIGHTDQ_ALERTS_FILE") or lake / "flightdq-alerts.jsonl"))
    ]
    if env.get("FLIGHTDQ_SLACK_WEBHOOK_URL"):
        notifiers.append(SlackNotifier(env["FLIGHTDQ_SLACK_WEBHOOK_URL"]))
    if backend == "aws" and env.get("FLIGHTDQ_SNS_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["FLIGHTDQ_SNS_TOPIC_ARN"], aws_conn_id))
    return notifiers


# --- one step of a DAG run --------------------------------------------------------------------------
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


REVIEWS_ROOT = f"{INCIDENTS_ROOT}/reviews"


def write_review(
    backend: Backend, store: IncidentStore, incident_id: str, now: datetime | None = None
) -> tuple[str, str]:
    """Write the incident's post-incident review as Markdown; returns where it is, and the text."""
    incident = store.get(incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    text = review_markdown(
        incident, backend.history.read([incident.dt]), backend.history.read_remediations([incident.dt]), now
    )
    key = f"{REVIEWS_ROOT}/{incident.id}.md"
    backend.blobs.put(key, text.encode())
    return backend.blobs.location(key), text
