"""Which alerts an incident calls for, and what they say.

One alert when an incident opens; another only when its severity rises, or when its response time
passes unresolved (escalation, naming who the runbook's matrix involves next); one when it resolves.
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
from flightdq.incidents.store import EventKind, Incident

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
