"""Incidents: what a failing check becomes, from detection to resolution, as the runbook runs them.

An incident is keyed by (dataset, day, check). Its history is an append-only list of events in the
BlobStore (a folder locally, S3 on AWS), so two tasks recording at once never lose each other's
events, and a restarted scheduler finds everything where it was:

    flightdq-incidents/events/dt=<day>/<dataset>__<check>/<at>__<event>__<nonce>.json

Folding the events in time order gives episodes: one opens when the check fails (`detected`) and
closes when it passes again (`revalidated`, `resolved`); a later failure opens the next episode.
The incident id names the episode: `<dataset>__<day>__<check>__<n>`.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flightdq.blobstore import BlobStore
from flightdq.dates import utcnow
from flightdq.results import CheckResult

INCIDENTS_ROOT = "flightdq-incidents"
INCIDENT_ID_FORM = "<dataset>__<YYYY-MM-DD>__<check>__<n>"
_INCIDENT_ID_RE = re.compile(r"[A-Za-z0-9_]+?__\d{4}-\d{2}-\d{2}__[A-Za-z0-9_]+__\d{1,9}")
SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}  # lower is worse


class State(StrEnum):
    OPEN = "open"
    REMEDIATING = "remediating"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    DETECTED = "detected"
    SEVERITY_CHANGED = "severity_changed"
    ALERTED = "alerted"
    ESCALATED = "escalated"
    REMEDIATION_STARTED = "remediation_started"
    REMEDIATION_FINISHED = "remediation_finished"
    REVALIDATED = "revalidated"
    RESOLVED = "resolved"


@dataclass
class Event:
    at: str
    event: str
    detail: str = ""
    severity: str | None = None
    run_id: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    recorded_ns: int = 0  # when it was written: orders events that share `at` (one run's moment)


@dataclass
class Incident:
    id: str
    dataset: str
    dt: str
    check: str
    episode: int
    state: State
    severity: str
    opened_at: str
    resolved_at: str | None
    timeline: list[Event]

    @property
    def resolved(self) -> bool:
        return self.state is State.RESOLVED

    def age_minutes(self, now: datetime) -> float:
        end = datetime.fromisoformat(self.resolved_at) if self.resolved_at else now
        return (end - datetime.fromisoformat(self.opened_at)).total_seconds() / 60

    def latest(self, kind: EventKind) -> Event | None:
        return next((e for e in reversed(self.timeline) if e.event == kind), None)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["state"] = str(self.state)
        return record


def worse(a: str | None, b: str | None) -> bool:
    """True when severity `a` is worse than `b`."""
    return a is not None and (b is None or SEVERITY_RANK[a] < SEVERITY_RANK[b])


class IncidentStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    # --- events -------------------------------------------------------------------------------
    def append(self, dataset: str, dt: str, check: str, event: Event) -> None:
        nonce = uuid.uuid4().hex[:10]
        event.recorded_ns = event.recorded_ns or time.time_ns()
        stamp = event.at.replace(":", "").replace("+", "p")
        key = f"{INCIDENTS_ROOT}/events/dt={dt}/{dataset}__{check}/{stamp}__{event.event}__{nonce}.json"
        self.blobs.put(key, json.dumps(asdict(event), sort_keys=True, default=str).encode())

    def _events(self, days: Iterable[str] | None) -> dict[tuple[str, str, str], list[Event]]:
        prefixes = (
            [f"{INCIDENTS_ROOT}/events/dt={d}/" for d in sorted(set(days))]
            if days is not None
            else [f"{INCIDENTS_ROOT}/events/"]
        )
        grouped: dict[tuple[str, str, str], list[Event]] = {}
        for prefix in prefixes:
            for key in self.blobs.list(prefix):
                parts = key.split("/")
                dt, name = parts[2].removeprefix("dt="), parts[3]
                dataset, check = name.split("__", 1)
                data = self.blobs.get(key)
                if data is not None:
                    grouped.setdefault((dataset, dt, check), []).append(Event(**json.loads(data)))
        for events in grouped.values():
            events.sort(key=lambda e: (e.at, e.recorded_ns))
        return grouped

    # --- incidents ----------------------------------------------------------------------------
    def list(self, days: Iterable[date | str] | None = None) -> list[Incident]:
        """Every episode of every incident on `days` (all days when None), oldest first."""
        found = []
        day_list = None if days is None else [str(d) for d in days]
        for (dataset, dt, check), events in sorted(self._events(day_list).items()):
            found.extend(_episodes(dataset, dt, check, events))
        return sorted(found, key=lambda i: (i.opened_at, i.id))

    def current(self, days: Iterable[date | str]) -> dict[tuple[str, str, str], Incident]:
        """(dataset, dt, check) -> its latest episode."""
        latest: dict[tuple[str, str, str], Incident] = {}
        for incident in self.list(days):
            latest[(incident.dataset, incident.dt, incident.check)] = incident
        return latest

    def open(self, days: Iterable[date | str] | None = None) -> list[Incident]:
        return [i for i in self.list(days) if not i.resolved]

    def get(self, incident_id: str) -> Incident | None:
        """The incident with this id; None when there is none, or the id is not one (never a key
        outside the incidents' folder)."""
        if not is_incident_id(incident_id):
            return None
        parts = incident_id.split("__")
        if len(parts) != 4:
            return None
        dt = parts[1]
        return next((i for i in self.list([dt]) if i.id == incident_id), None)

    def unresolved_days(self, dataset: str, checks: Sequence[str], days: Iterable[date | str]) -> set[str]:
        return {i.dt for i in self.open(days) if i.dataset == dataset and i.check in checks}


def is_incident_id(value: object) -> bool:
    """True when `value` has the form of an incident id (`INCIDENT_ID_FORM`)."""
    return isinstance(value, str) and _INCIDENT_ID_RE.fullmatch(value) is not None


def _episodes(dataset: str, dt: str, check: str, events: list[Event]) -> list[Incident]:
    episodes: list[Incident] = []
    current: Incident | None = None
    for event in events:
        if event.event == EventKind.DETECTED and (current is None or current.resolved):
            current = Incident(
                id=f"{dataset}__{dt}__{check}__{len(episodes) + 1}",
                dataset=dataset,
                dt=dt,
                check=check,
                episode=len(episodes) + 1,
                state=State.OPEN,
                severity=event.severity or "P3",
                opened_at=event.at,
                resolved_at=None,
                timeline=[],
            )
            episodes.append(current)
        if current is None or (
            current.resolved and event.event not in (EventKind.DETECTED, EventKind.ALERTED)
        ):
            continue  # e.g. a remediation of a day with no open incident: nothing to attach it to
        current.timeline.append(event)
        if event.event == EventKind.SEVERITY_CHANGED and event.severity:
            current.severity = event.severity
        elif event.event == EventKind.ESCALATED:
            current.state = State.ESCALATED
        elif event.event == EventKind.REMEDIATION_STARTED:
            current.state = State.REMEDIATING
        elif event.event == EventKind.REMEDIATION_FINISHED and current.state is State.REMEDIATING:
            current.state = State.ESCALATED if current.latest(EventKind.ESCALATED) else State.OPEN
        elif event.event == EventKind.RESOLVED:
            current.state = State.RESOLVED
            current.resolved_at = event.at
    return episodes


# --- what a run's results do to incidents ---------------------------------------------------------
def reconcile(
    store: IncidentStore,
    results: Sequence[CheckResult],
    *,
    run_id: str,
    now: datetime | None = None,
    links: Mapping[str, str] | None = None,
    links_for: Callable[[CheckResult], Mapping[str, str]] | None = None,
) -> dict[str, list[str]]:
    """Open, worsen or resolve incidents from one run's results. Returns the ids per change.
    `links` go on every event; `links_for(result)` adds a result's own (e.g. its Athena queries)."""
    now = now or utcnow()
    at = now.isoformat()
    current = store.current({r.dt for r in results})
    changes: dict[str, list[str]] = {"opened": [], "worsened": [], "resolved": []}
    for result in results:
        key = (result.dataset, result.dt, result.check)
        incident = current.get(key)
        is_open = incident is not None and not incident.resolved
        severity = str(result.severity) if result.severity else None
        evidence = {"observed": result.observed, "expected": result.expected, "status": str(result.status)}
        result_links = _links_of(result, links, links_for)
        if result.failed and not is_open:
            store.append(
                *key,
                Event(
                    at,
                    EventKind.DETECTED,
                    result.message,
                    severity,
                    run_id,
                    result_links,
                    evidence,
                ),
            )
            episode = incident.episode + 1 if incident else 1
            changes["opened"].append(f"{result.dataset}__{result.dt}__{result.check}__{episode}")
        elif result.failed and worse(severity, incident.severity):
            store.append(
                *key,
                Event(
                    at,
                    EventKind.SEVERITY_CHANGED,
                    f"{incident.severity} -> {severity}: {result.message}",
                    severity,
                    run_id,
                    result_links,
                    evidence,
                ),
            )
            changes["worsened"].append(incident.id)
        elif not result.failed and is_open:  # pass, or warn: whatever failed no longer does
            store.append(
                *key,
                Event(
                    at,
                    EventKind.REVALIDATED,
                    result.message,
                    None,
                    run_id,
                    result_links,
                    evidence,
                ),
            )
            store.append(*key, Event(at, EventKind.RESOLVED, "the check passes again", None, run_id))
            changes["resolved"].append(incident.id)
    return changes


def _links_of(
    result: CheckResult,
    links: Mapping[str, str] | None,
    links_for: Callable[[CheckResult], Mapping[str, str]] | None,
) -> dict[str, str]:
    return dict(links or {}) | (dict(links_for(result)) if links_for else {})


def record_remediation(
    store: IncidentStore,
    dt: str,
    kind: EventKind,
    detail: str,
    *,
    run_id: str,
    links: Mapping[str, str],
    now: datetime | None = None,
) -> list[str]:
    """Put a remediation step on the timeline of every open incident of the processed day."""
    at = (now or utcnow()).isoformat()
    touched = []
    for incident in store.open([dt]):
        if incident.dataset != "flightdata_processed":
            continue
        store.append(incident.dataset, dt, incident.check, Event(at, kind, detail, None, run_id, dict(links)))
        touched.append(incident.id)
    return touched


# --- post-incident review -------------------------------------------------------------------------
def review_markdown(
    incident: Incident,
    history: Sequence[Mapping[str, Any]],
    remediations: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> str:
    """The incident's timeline, checks, actions and outcome, for the review meeting."""
    now = now or utcnow()
    lines = [
        f"# Post-incident review: {incident.check} on {incident.dataset}, {incident.dt}",
        "",
        f"- **Incident:** `{incident.id}` (episode {incident.episode})",
        f"- **Severity:** {incident.severity}",
        f"- **State:** {incident.state}",
        f"- **Opened:** {incident.opened_at}",
        f"- **Resolved:** {incident.resolved_at or 'not yet'}",
        f"- **Time to resolve:** {incident.age_minutes(now):.0f} minutes",
        "",
        "## Timeline",
        "",
        "| at (UTC) | event | severity | detail |",
        "|---|---|---|---|",
    ]
    for event in incident.timeline:
        detail = event.detail.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {event.at} | {event.event} | {event.severity or ''} | {detail} |")
    checks = [h for h in history if h.get("check") == incident.check and h.get("dataset") == incident.dataset]
    lines += [
        "",
        "## Checks",
        "",
        "| checked at | run | status | severity | observed | expected |",
        "|---|---|---|---|---|---|",
    ]
    for record in sorted(checks, key=lambda r: r.get("checked_at", "")):
        lines.append(
            f"| {record.get('checked_at', '')} | `{record.get('run_id', '')}` | {record['status']} | "
            f"{record.get('severity') or ''} | {record.get('observed')} | {record.get('expected')} |"
        )
    lines += ["", "## Actions", ""]
    lines += [
        f"- {r.get('action')}: {r.get('outcome')} ({r.get('message')})"
        + (f", ETL run `{r['etl_run_id']}`" if r.get("etl_run_id") else "")
        for r in remediations
    ]
    if not remediations:
        lines.append("- no remediation was run for this day")
    outcome = (
        "Resolved: the check passes again." if incident.resolved else "Unresolved at the time of writing."
    )
    lines += [
        "",
        "## Outcome",
        "",
        outcome,
        "",
        "## Follow-ups",
        "",
        "- Root cause:",
        "- Prevention:",
        "- Runbook changes:",
        "",
    ]
    return "\n".join(lines)
