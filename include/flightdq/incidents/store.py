"""Incidents: one per fault, from detection to resolution, with its root cause first.

An incident is keyed by its *kind* and UTC day: `data` incidents gather every failing check of the
pipeline's day (raw and processed), `monitor` incidents gather what the monitor itself could not do
(a check that could not run, no verdicts at all for too long). A `monitor` finding is never evidence
about the data, and a data finding never opens a monitor incident.

Inside an incident each failing check is a *symptom*. The *cause* is the most fundamental failing
symptom in `CAUSE_ORDER` (a missing raw hour explains a missing partition, which explains a check
that could not read it, and so on down to freshness); the severity is the worst among the failing
symptoms. A check that passes again clears its symptom; when the last clears, the incident resolves.

History is an append-only list of events in the BlobStore (a folder locally, S3 on AWS), so two
tasks recording at once never lose each other's events and a restarted scheduler finds everything:

    flightdq-incidents/events/dt=<day>/<kind>/<at>__<event>__<nonce>.json   (each names its symptom)
    flightdq-incidents/open/dt=<day>__<kind>                                 an index of open incidents

Someone taking an incident is an event too (`IncidentStore.acknowledge`: who and when, at which
severity); the incident shows the latest (`acknowledged_by`, `acknowledged_at`), and no escalation
alert goes out for it at that severity or a milder one (`alerts.due_alerts`).

Events written by earlier versions, one folder per (dataset, check) (`events/dt=<day>/<dataset>__<check>/`),
are read as `data` events of that day: old lakes keep working without a migration step.
Folding a day's events in time order gives episodes; the incident id names one: `<day>__<kind>__<n>`.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from flightdq.core import contract
from flightdq.core.dates import utcnow
from flightdq.storage.blobstore import BlobStore

log = logging.getLogger(__name__)

INCIDENTS_ROOT = "flightdq-incidents"
INCIDENT_ID_FORM = "<YYYY-MM-DD>__<data|monitor>__<n>"
_INCIDENT_ID_RE = re.compile(r"\d{4}-\d{2}-\d{2}__(data|monitor)__\d{1,9}")
OPEN_INDEX = f"{INCIDENTS_ROOT}/open"
SEVERITY_RANK = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}  # lower is worse
COMMENT_MAX_CHARS = 2000  # a person's note on an incident: longer is refused, never cut

DATA, MONITOR = "data", "monitor"
MONITOR_DATASET = "flightdq"  # the monitor's own symptoms: `monitoring_stopped`
MONITORING_STOPPED = "monitoring_stopped"
SCHEMA_CHANGE = "schema_change"  # a schema_validity symptom about columns or types, not rows
CHECKED_BY = "checked_by"  # in a remediation step's data: the checks run whose findings it acts on

# Most fundamental first. A symptom not listed ranks after all listed ones.
CAUSE_ORDER: list[tuple[str, str]] = [
    (contract.RAW_DATASET, contract.PARTITION_PRESENCE),  # raw hours missing: data loss upstream
    (contract.PROCESSED_DATASET, contract.PARTITION_PRESENCE),  # partition missing, empty, unregistered
    (contract.PROCESSED_DATASET, SCHEMA_CHANGE),  # columns or types differ from the contract
    (contract.PROCESSED_DATASET, contract.SCHEMA_VALIDITY),  # rows break the contract's row rules
    (contract.PROCESSED_DATASET, contract.DUPLICATES),
    (contract.PROCESSED_DATASET, contract.RECORD_COUNT_DRIFT),
    (contract.RAW_DATASET, contract.FRESHNESS),
    (contract.PROCESSED_DATASET, contract.FRESHNESS),
    (MONITOR_DATASET, MONITORING_STOPPED),  # monitor incidents: no verdicts at all ...
]  # ... then any check that could not run (monitoring blind)


class State(StrEnum):
    OPEN = "open"
    REMEDIATING = "remediating"
    ESCALATED = "escalated"
    RESOLVED = "resolved"


class EventKind(StrEnum):
    DETECTED = "detected"  # a symptom starts failing
    SEVERITY_CHANGED = "severity_changed"  # a failing symptom got worse
    REVALIDATED = "revalidated"  # a symptom passes again
    RESOLVED = "resolved"  # the last symptom cleared
    ALERTED = "alerted"
    ESCALATED = "escalated"
    REMEDIATION_STARTED = "remediation_started"
    REMEDIATION_FINISHED = "remediation_finished"
    NOTE = "note"  # anything else people should see on the timeline (a forced rebuild, a diagnosis)
    ACKNOWLEDGED = "acknowledged"  # someone took it (`data.user`); no escalation at this severity
    UNACKNOWLEDGED = "unacknowledged"  # an acknowledgement withdrawn (`data.user`): escalation applies again
    COMMENT = "comment"  # a person's free-text note (`data.user`, the text in `detail`)


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
    dataset: str | None = None  # the symptom an event is about (None: the incident as a whole)
    check: str | None = None


@dataclass
class Symptom:
    dataset: str
    check: str
    severity: str | None
    message: str
    since: str
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def rank_key(self) -> tuple[str, str]:
        if self.check == contract.SCHEMA_VALIDITY and self.data.get("finding") == SCHEMA_CHANGE:
            return (self.dataset, SCHEMA_CHANGE)
        return (self.dataset, self.check)

    @property
    def name(self) -> str:
        return f"{self.check} on {self.dataset}"


def cause_rank(symptom: Symptom) -> tuple[int, int]:
    key = symptom.rank_key
    rank = CAUSE_ORDER.index(key) if key in CAUSE_ORDER else len(CAUSE_ORDER)
    return (rank, SEVERITY_RANK.get(symptom.severity or "P3", 3))


@dataclass
class Incident:
    id: str
    kind: str
    dt: str
    episode: int
    state: State
    severity: str  # the worst of the failing symptoms (once resolved: the worst it reached)
    opened_at: str
    resolved_at: str | None
    timeline: list[Event]
    symptoms: list[Symptom] = field(default_factory=list)  # failing now, cause first
    cause: Symptom | None = None  # the most fundamental failing symptom (once resolved: the last one)
    opened_severity: str = "P3"
    severities_reached: list[tuple[str, str]] = field(default_factory=list)  # (at, severity) per rise
    causes: list[tuple[str, str]] = field(default_factory=list)  # (at, "dataset/check") per cause it had
    acknowledged_by: str | None = None  # the latest acknowledgement: who ...
    acknowledged_at: str | None = None  # ... when ...
    acknowledged_severity: str | None = None  # ... and the severity (response window) it took on

    def acknowledged_for(self, severity: str) -> bool:
        """True when someone acknowledged the incident at `severity` or worse: its response window
        at `severity` is taken care of (a rise to a worse severity opens a new window)."""
        return self.acknowledged_severity is not None and not worse(severity, self.acknowledged_severity)

    @property
    def dataset(self) -> str:
        return self.cause.dataset if self.cause else ""

    @property
    def check(self) -> str:
        return self.cause.check if self.cause else ""

    @property
    def resolved(self) -> bool:
        return self.state is State.RESOLVED

    @property
    def peak_severity(self) -> str:
        return worst_severity([self.opened_severity, *(s for _, s in self.severities_reached)]) or "P3"

    def age_minutes(self, now: datetime) -> float:
        end = datetime.fromisoformat(self.resolved_at) if self.resolved_at else now
        return (end - datetime.fromisoformat(self.opened_at)).total_seconds() / 60

    def latest(self, kind: EventKind) -> Event | None:
        return next((e for e in reversed(self.timeline) if e.event == kind), None)

    @property
    def title(self) -> str:
        if self.kind == MONITOR:
            if self.cause and self.cause.check == MONITORING_STOPPED:
                return f"monitoring stopped: no verdict for {self.dt}"
            what = self.cause.name if self.cause else "a check"
            return f"monitoring blind: {what} could not run for {self.dt}"
        return f"{self.cause.name if self.cause else 'data quality'} on {self.dt}"

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["state"] = str(self.state)
        record["dataset"], record["check"], record["title"] = self.dataset, self.check, self.title
        return record


def worse(a: str | None, b: str | None) -> bool:
    """True when severity `a` is worse than `b`."""
    return a is not None and (b is None or SEVERITY_RANK[a] < SEVERITY_RANK[b])


def worst_severity(severities: Iterable[str | None]) -> str | None:
    found = [s for s in severities if s]
    return min(found, key=SEVERITY_RANK.__getitem__) if found else None


def by_severity(incidents: Iterable[Incident]) -> list[Incident]:
    """Worst first, then the oldest day first."""
    return sorted(incidents, key=lambda i: (SEVERITY_RANK.get(i.severity, 9), i.dt, i.kind, i.episode))


class IncidentStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        # event files skipped as unreadable since this store was made: one bad file never breaks
        # another day's incidents, nor another command
        self.unreadable: list[str] = []

    # --- events -------------------------------------------------------------------------------
    def append(self, kind: str, dt: str, event: Event) -> None:
        nonce = uuid.uuid4().hex[:10]
        event.recorded_ns = event.recorded_ns or time.time_ns()
        stamp = event.at.replace(":", "").replace("+", "p")
        key = f"{INCIDENTS_ROOT}/events/dt={dt}/{kind}/{stamp}__{event.event}__{nonce}.json"
        self.blobs.put(key, json.dumps(asdict(event), sort_keys=True, default=str).encode())

    def _events(self, days: Iterable[str] | None) -> dict[tuple[str, str], list[Event]]:
        prefixes = (
            [f"{INCIDENTS_ROOT}/events/dt={d}/" for d in sorted(set(days))]
            if days is not None
            else [f"{INCIDENTS_ROOT}/events/"]
        )
        grouped: dict[tuple[str, str], list[Event]] = {}
        for prefix in prefixes:
            for key in self.blobs.list(prefix):
                parts = key.split("/")
                dt, folder = parts[2].removeprefix("dt="), parts[3]
                data = self.blobs.get(key)
                if data is None:
                    continue
                try:
                    event = Event(**json.loads(data))
                except (ValueError, TypeError) as exc:  # truncated or foreign: skip it, say so
                    if key not in self.unreadable:  # said once however often the day is read
                        log.warning("unreadable incident event %s skipped (%s)", key, type(exc).__name__)
                        self.unreadable.append(key)
                    continue
                if "__" in folder:  # an earlier version's (dataset, check) folder: a data symptom
                    dataset, check = folder.split("__", 1)
                    if event.event in _SYMPTOM_EVENTS:
                        event.dataset, event.check = event.dataset or dataset, event.check or check
                    folder = DATA
                grouped.setdefault((folder, dt), []).append(event)
        for events in grouped.values():
            events.sort(key=lambda e: (e.at, e.recorded_ns))
        return grouped

    # --- incidents ----------------------------------------------------------------------------
    def list(self, days: Iterable[date | str] | None = None) -> list[Incident]:
        """Every episode of every incident on `days` (all days when None), oldest first."""
        found = []
        day_list = None if days is None else [str(d) for d in days]
        for (kind, dt), events in sorted(self._events(day_list).items()):
            found.extend(_episodes(kind, dt, events))
        return sorted(found, key=lambda i: (i.opened_at, i.id))

    def current(self, days: Iterable[date | str]) -> dict[tuple[str, str], Incident]:
        """(kind, dt) -> its latest episode."""
        latest: dict[tuple[str, str], Incident] = {}
        for incident in self.list(days):
            latest[(incident.kind, incident.dt)] = incident
        return latest

    def open(self, days: Iterable[date | str] | None = None) -> list[Incident]:
        return [i for i in self.list(days) if not i.resolved]

    def open_days(self) -> set[str]:
        """The days the open-incident index names: what every run looks at besides its own days,
        without listing the whole history (an incident resolved meanwhile may still be named)."""
        return {
            key.rsplit("/", 1)[-1].split("__")[0].removeprefix("dt=") for key in self.blobs.list(OPEN_INDEX)
        }

    def index(self, incident: Incident) -> None:
        """Keep the open-incident index true for this incident."""
        marker = f"{OPEN_INDEX}/dt={incident.dt}__{incident.kind}"
        if incident.resolved:
            self.blobs.delete(marker)
        else:
            self.blobs.put(marker, incident.id.encode())

    def get(self, incident_id: str) -> Incident | None:
        """The incident with this id; None when there is none, or the id is not one (never a key
        outside the incidents' folder)."""
        if not is_incident_id(incident_id):
            return None
        dt = incident_id.split("__", 1)[0]
        try:
            date.fromisoformat(dt)
        except ValueError:
            return None
        return next((i for i in self.list([dt]) if i.id == incident_id), None)

    def acknowledge(self, incident_id: str, user: str, now: datetime | None = None) -> Incident:
        """Record on the incident's timeline that `user` took it, at `now`. Raises LookupError for an
        unknown incident and ValueError for a resolved one (or a blank user)."""
        user = (user or "").strip()
        if not user:
            raise ValueError("an acknowledgement needs the user's name")
        incident = self.get(incident_id)
        if incident is None:
            raise LookupError(f"no incident {incident_id!r}")
        if incident.resolved:
            raise ValueError(f"incident {incident_id} is resolved: nothing to acknowledge")
        at = max((now or utcnow()).isoformat(), incident.timeline[-1].at if incident.timeline else "")
        detail = f"acknowledged by {user}"
        event = Event(at, EventKind.ACKNOWLEDGED, detail, incident.severity, data={"user": user})
        self.append(incident.kind, incident.dt, event)
        return self.get(incident_id) or incident

    def _person_event(self, incident_id: str, user: str, what: str) -> Incident:
        user = (user or "").strip()
        if not user:
            raise ValueError(f"{what} needs the user's name")
        incident = self.get(incident_id)
        if incident is None:
            raise LookupError(f"no incident {incident_id!r}")
        return incident

    def unacknowledge(self, incident_id: str, user: str, now: datetime | None = None) -> Incident:
        """Withdraw the incident's acknowledgement (taken by mistake, or handed back): its response
        window applies again. Raises LookupError for an unknown incident, ValueError for one that
        is resolved or not acknowledged."""
        incident = self._person_event(incident_id, user, "withdrawing an acknowledgement")
        if incident.resolved:
            raise ValueError(f"incident {incident_id} is resolved: nothing to withdraw")
        if incident.acknowledged_by is None:
            raise ValueError(f"incident {incident_id} is not acknowledged")
        user = user.strip()
        at = max((now or utcnow()).isoformat(), incident.timeline[-1].at if incident.timeline else "")
        detail = f"acknowledgement by {incident.acknowledged_by} withdrawn by {user}"
        event = Event(at, EventKind.UNACKNOWLEDGED, detail, incident.severity, data={"user": user})
        self.append(incident.kind, incident.dt, event)
        return self.get(incident_id) or incident

    def comment(self, incident_id: str, user: str, text: str, now: datetime | None = None) -> Incident:
        """Put `user`'s free-text note on the incident's timeline (resolved ones too: a post-mortem
        note). Raises LookupError for an unknown incident, ValueError for an empty note or one
        longer than COMMENT_MAX_CHARS."""
        incident = self._person_event(incident_id, user, "a note")
        text = (text or "").strip()
        if not text:
            raise ValueError("the note is empty")
        if len(text) > COMMENT_MAX_CHARS:
            raise ValueError(f"the note has {len(text)} characters; at most {COMMENT_MAX_CHARS}")
        at = max((now or utcnow()).isoformat(), incident.timeline[-1].at if incident.timeline else "")
        event = Event(at, EventKind.COMMENT, text, None, data={"user": user.strip()})
        self.append(incident.kind, incident.dt, event)
        return self.get(incident_id) or incident

    def unresolved_days(
        self, datasets: Sequence[str], checks: Sequence[str], days: Iterable[date | str]
    ) -> set[str]:
        """Days with an open data incident that has a failing symptom among `checks` on `datasets`."""
        return {
            i.dt
            for i in self.open(days)
            if i.kind == DATA and any(s.dataset in datasets and s.check in checks for s in i.symptoms)
        }


def is_incident_id(value: object) -> bool:
    """True when `value` has the form of an incident id (`INCIDENT_ID_FORM`)."""
    return isinstance(value, str) and _INCIDENT_ID_RE.fullmatch(value) is not None


_SYMPTOM_EVENTS = (EventKind.DETECTED, EventKind.SEVERITY_CHANGED, EventKind.REVALIDATED)


def _episodes(kind: str, dt: str, events: list[Event]) -> list[Incident]:
    """Fold one (kind, day)'s events into its episodes. Events of one moment (one run) are applied
    together before the cause and severity are judged, so one run's findings open one incident
    with the right cause, not a cause that changes three times in a second."""
    episodes: list[Incident] = []
    current: Incident | None = None
    failing: dict[tuple[str, str], Symptom] = {}
    moments: dict[str, list[Event]] = {}
    waiting: list[Event] = []  # remediation steps recorded before the incident they act on opened
    for event in events:
        moments.setdefault(event.at, []).append(event)
    for at, batch in moments.items():
        opened_now = False
        for event in batch:
            if event.event == EventKind.DETECTED and (current is None or current.resolved):
                failing = {}
                current = Incident(
                    id=f"{dt}__{kind}__{len(episodes) + 1}",
                    kind=kind,
                    dt=dt,
                    episode=len(episodes) + 1,
                    state=State.OPEN,
                    severity=event.severity or "P3",
                    opened_at=at,
                    resolved_at=None,
                    timeline=[],
                )
                episodes.append(current)
                opened_now = True
            if current is None or (current.resolved and event.event != EventKind.ALERTED):
                if event.data.get(CHECKED_BY):  # a remediation that won the race with the run's incidents
                    waiting.append(event)
                continue  # e.g. a remediation of a day with no open incident: nothing to attach it to
            current.timeline.append(event)
            _apply(current, failing, event)
        if opened_now and waiting:
            detected_by = {e.run_id for e in batch if e.event == EventKind.DETECTED}
            for event in [e for e in waiting if e.data[CHECKED_BY] in detected_by]:
                waiting.remove(event)
                current.timeline.append(event)
                _apply(current, failing, event)
        if current is None or (current.resolved and not opened_now):
            continue
        symptoms = sorted(failing.values(), key=cause_rank)
        if symptoms:
            current.symptoms = symptoms
            cause_name = f"{symptoms[0].dataset}/{symptoms[0].check}"
            current.cause = symptoms[0]
            severity = worst_severity(s.severity for s in symptoms) or "P3"
            if opened_now:
                current.opened_severity = severity
                current.severity = severity
                current.causes = [(at, cause_name)]
            else:
                if worse(severity, current.peak_severity):
                    current.severities_reached.append((at, severity))
                if cause_name != current.causes[-1][1]:
                    current.causes.append((at, cause_name))
                current.severity = severity if not current.resolved else current.severity
        if current.resolved:
            current.symptoms = []
            current.severity = current.peak_severity
    return episodes


def _apply(incident: Incident, failing: dict[tuple[str, str], Symptom], event: Event) -> None:
    key = (event.dataset or "", event.check or "")
    if event.event == EventKind.DETECTED:
        failing[key] = Symptom(key[0], key[1], event.severity, event.detail, event.at, dict(event.data))
    elif event.event == EventKind.SEVERITY_CHANGED and key in failing:
        symptom = failing[key]
        symptom.severity, symptom.message, symptom.data = event.severity, event.detail, dict(event.data)
    elif event.event == EventKind.REVALIDATED:
        failing.pop(key, None)
    elif event.event == EventKind.ESCALATED:
        incident.state = State.ESCALATED
    elif event.event == EventKind.REMEDIATION_STARTED:
        incident.state = State.REMEDIATING
    elif event.event == EventKind.REMEDIATION_FINISHED and incident.state is State.REMEDIATING:
        incident.state = State.ESCALATED if incident.latest(EventKind.ESCALATED) else State.OPEN
    elif event.event == EventKind.RESOLVED:
        incident.state = State.RESOLVED
        incident.resolved_at = event.at
    elif event.event == EventKind.ACKNOWLEDGED:
        incident.acknowledged_by = str(event.data.get("user") or event.detail)
        incident.acknowledged_at = event.at
        incident.acknowledged_severity = event.severity or incident.severity
    elif event.event == EventKind.UNACKNOWLEDGED:
        incident.acknowledged_by = incident.acknowledged_at = incident.acknowledged_severity = None
