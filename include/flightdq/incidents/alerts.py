"""Which alerts an incident calls for, and what they say.

One alert when an incident opens; another only when its severity rises, when its cause changes, or
when its response time passes unresolved (escalation, naming who the runbook's matrix involves
next; none while someone has acknowledged it at that severity or a worse one); one when it resolves.
Every alert leads with the cause and its runbook steps, then lists the symptoms the cause explains.
Each alert has a stable key, so asking twice what is due is harmless: the outbox sends each key once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flightdq.core.config import IncidentPolicy
from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)
from flightdq.incidents.store import MONITOR, MONITORING_STOPPED, EventKind, Incident

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
UPSTREAM_STEPS = [
    "Check upstream data source availability (OpenSky Network API)",
    "Verify the ingestion Lambda's executions, errors and throttles (CloudWatch)",
    "Check the Lambda's recent ERROR log events",
    "Re-running the ETL cannot help: raw data itself is missing or low",
]
_MONITOR_BLIND = [
    "Read the failed check task's log in Airflow (the error class is in this alert)",
    "Check the AWS connection's credentials and Athena/Glue availability (or the local lake path)",
    "Re-run the check DAG for the day once the cause is fixed; the incident resolves when it runs",
]
_MONITOR_STOPPED = [
    "Check that the Airflow scheduler and dag-processor are running",
    "Check that the flightdq check DAGs are not paused and their runs are not stuck",
    "Trigger flightdq_intraday_checks by hand; the incident resolves when verdicts resume",
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
    MONITORING_STOPPED: _MONITOR_STOPPED,
}


def runbook_for(incident: Incident) -> list[str]:
    """The runbook's steps for the incident's cause."""
    if incident.kind == MONITOR:
        return _MONITOR_STOPPED if incident.check == MONITORING_STOPPED else _MONITOR_BLIND
    if incident.cause and incident.cause.data.get("upstream"):
        return UPSTREAM_STEPS
    return RUNBOOK_STEPS.get(incident.check, [])


@dataclass
class Alert:
    key: str
    kind: str  # opened, severity_raised, cause_changed, escalated, resolved
    incident_id: str
    severity: str
    dataset: str  # the cause's
    dt: str
    check: str  # the cause's
    observed: Any
    expected: Any
    message: str
    remediation: str
    runbook: list[str]
    links: dict[str, str] = field(default_factory=dict)
    involve: list[str] = field(default_factory=list)
    created_at: str = ""
    title: str = ""
    symptoms: list[str] = field(default_factory=list)  # the other failing checks, worst first

    @property
    def subject(self) -> str:
        verb = {
            "opened": "OPEN",
            "severity_raised": "WORSE",
            "cause_changed": "NEW CAUSE",
            "escalated": "ESCALATED",
            "resolved": "RESOLVED",
        }
        what = self.title or f"{self.check} on {self.dataset} {self.dt}"
        return f"[{self.severity}] {verb.get(self.kind, self.kind)}: {what}"

    def text(self) -> str:
        lines = [
            self.subject,
            "",
            f"cause: {self.check} on {self.dataset}: {self.message}",
            f"observed {self.observed} against expected {self.expected}",
            "runbook (Data Quality Degradation):",
            *[f"  - {step}" for step in self.runbook],
        ]
        if self.symptoms:
            lines += ["symptoms (explained by the cause):", *[f"  - {s}" for s in self.symptoms]]
        if self.involve:
            lines.append(f"involve now: {', '.join(self.involve)}")
        lines.append(f"remediation: {self.remediation}")
        lines += [f"{name}: {url}" for name, url in sorted(self.links.items())]
        lines.append(f"incident: {self.incident_id}")
        return "\n".join(lines)


def due_alerts(
    incidents: Sequence[Incident],
    *,
    policy: IncidentPolicy,
    now: datetime,
    remediations: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[Alert]:
    """Every alert the incidents call for now: one when it opens, one per severity it rises to,
    one per new cause, one escalation per response time, one when it resolves. Keys are stable,
    so asking twice is harmless."""
    alerts = []
    for incident in incidents:
        remediation = _remediation_text(incident, (remediations or {}).get(incident.dt, []))

        due: list[tuple[str, str, str, Sequence[str]]] = [("opened", "opened", incident.opened_severity, ())]
        due += [("severity_raised", f"severity-{s}", s, ()) for _, s in incident.severities_reached]
        rose_at = {at for at, _ in incident.severities_reached}
        due += [  # a new cause that came with a rise in severity is told by that alert
            ("cause_changed", f"cause-{cause.replace('/', '.')}", incident.severity, ())
            for at, cause in incident.causes[1:]
            if at not in rose_at
        ]
        age = incident.age_minutes(now)
        overdue = age > policy.response_minutes.of(incident.severity)
        if not incident.resolved and overdue and not incident.acknowledged_for(incident.severity):
            involve = policy.escalation.involved_at(incident.severity, age)
            due.append(("escalated", f"escalated-{incident.severity}", incident.severity, involve))
        if incident.resolved:
            due.append(("resolved", "resolved", incident.severity, ()))
        alerts += [_alert(incident, *spec, remediation=remediation, now=now) for spec in due]
    return alerts


def _alert(
    incident: Incident,
    kind: str,
    suffix: str,
    severity: str,
    involve: Sequence[str],
    *,
    remediation: str,
    now: datetime,
) -> Alert:
    cause = incident.cause
    evidence = cause.data if cause else {}
    message = cause.message if cause else ""
    if kind == "resolved":
        revalidated = incident.latest(EventKind.REVALIDATED)
        if revalidated:
            evidence, message = revalidated.data, f"every symptom passes again ({revalidated.detail})"
    return Alert(
        key=f"{incident.id}__{suffix}",
        kind=kind,
        incident_id=incident.id,
        severity=severity,
        dataset=incident.dataset,
        dt=incident.dt,
        check=incident.check,
        observed=evidence.get("observed"),
        expected=evidence.get("expected"),
        message=message,
        remediation=remediation,
        runbook=runbook_for(incident),
        links=_links(incident),
        involve=list(involve),
        created_at=now.isoformat(),
        title=incident.title,
        symptoms=[f"{s.name} ({s.severity}): {s.message}" for s in incident.symptoms[1:]],
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
