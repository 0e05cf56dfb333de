"""What a run's results do to incidents: open, worsen or resolve them (`reconcile`), put remediation
steps on their timelines, and group a validation's findings the way incidents would (for the CLI).

A result that could not be evaluated (`error`, not blocked by missing data) is never evidence about
the data: it is a symptom of the day's monitor incident (`incident_kind`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from flightdq.core.dates import utcnow
from flightdq.core.results import CheckResult, Status
from flightdq.incidents.store import (
    CHECKED_BY,
    DATA,
    MONITOR,
    MONITOR_DATASET,
    SEVERITY_RANK,
    Event,
    EventKind,
    IncidentStore,
    Symptom,
    cause_rank,
    worse,
    worst_severity,
)


def incident_kind(result: CheckResult) -> str:
    """A check that could not run is about the monitor, unless it could not run because the data
    it reads is missing (`blocked_by`): that is a symptom of the data incident."""
    if result.dataset == MONITOR_DATASET:
        return MONITOR
    if result.status is Status.ERROR and not result.details.get("blocked_by"):
        return MONITOR
    return DATA


def evidence_of(result: CheckResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "observed": result.observed,
        "expected": result.expected,
        "status": str(result.status),
    }
    for key in ("finding", "blocked_by", "error_class"):
        if result.details.get(key):
            data[key] = result.details[key]
    return data


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
    `links` go on every event; `links_for(result)` adds a result's own (e.g. its Athena queries).

    A result that could not be evaluated (`error`, not blocked by missing data) neither opens nor
    clears a data symptom: it is a symptom of the day's monitor incident instead. Any evaluated
    result (pass, warn or fail) clears the monitor symptom of its check."""
    now = now or utcnow()
    at = now.isoformat()
    current = store.current({r.dt for r in results})
    changes: dict[str, list[str]] = {"opened": [], "worsened": [], "resolved": []}
    by_incident: dict[tuple[str, str], list[tuple[CheckResult, bool]]] = {}
    for result in results:
        kind = incident_kind(result)
        by_incident.setdefault((kind, result.dt), []).append((result, True))
        if kind == DATA:  # it ran: whatever kept it from running before is over
            by_incident.setdefault((MONITOR, result.dt), []).append((result, False))
        else:  # it did not run: say nothing about the data
            pass
    for (kind, dt), findings in sorted(by_incident.items()):
        incident = current.get((kind, dt))
        is_open = incident is not None and not incident.resolved
        symptoms = {(s.dataset, s.check): s for s in incident.symptoms} if is_open else {}
        still_failing = dict(symptoms)
        opened = False
        for result, failing_here in findings:
            key = (result.dataset, result.check)
            failing = failing_here and result.failed
            severity = str(result.severity) if result.severity else None
            event_links = dict(links or {}) | (dict(links_for(result)) if links_for else {})
            evidence = evidence_of(result)
            if failing and key not in still_failing:
                change = (EventKind.DETECTED, result.message, severity)
                still_failing[key] = Symptom(*key, severity, result.message, at)
                opened = opened or not is_open
            elif failing and worse(severity, still_failing[key].severity):
                change = (
                    EventKind.SEVERITY_CHANGED,
                    f"{still_failing[key].severity} -> {severity}: {result.message}",
                    severity,
                )
                still_failing[key].severity = severity
                if is_open and incident.id not in changes["worsened"]:
                    changes["worsened"].append(incident.id)
            elif not failing and key in still_failing:  # pass, warn, or it ran at all (monitor)
                change = (EventKind.REVALIDATED, result.message, None)
                del still_failing[key]
            else:
                continue
            event_kind, detail, event_severity = change
            event = Event(at, event_kind, detail, event_severity, run_id, event_links, evidence, 0, *key)
            store.append(kind, dt, event)
        if opened:
            episode = incident.episode + 1 if incident else 1
            changes["opened"].append(f"{dt}__{kind}__{episode}")
        elif is_open and not still_failing:
            store.append(kind, dt, Event(at, EventKind.RESOLVED, "every symptom passes again", None, run_id))
            changes["resolved"].append(incident.id)
    for incident in store.current({dt for _, dt in by_incident}).values():
        store.index(incident)
    return changes


def record_remediation(
    store: IncidentStore,
    dt: str,
    kind: EventKind,
    detail: str,
    *,
    run_id: str,
    links: Mapping[str, str],
    now: datetime | None = None,
    checked_by: str | None = None,
) -> list[str]:
    """Put a remediation step (or a note about one) on the timeline of the day's open data incident.

    With `checked_by`, the checks run that asked for the remediation, the step is recorded even when
    no incident is open yet: it joins the incident that run opens (a remediation that started before
    the run's incidents step recorded the findings loses nothing). Returns the open incidents it
    went on now."""
    at = (now or utcnow()).isoformat()
    touched = [incident.id for incident in store.open([dt]) if incident.kind == DATA]
    if touched or checked_by:
        data = {CHECKED_BY: checked_by} if checked_by else {}
        store.append(DATA, dt, Event(at, kind, detail, None, run_id, dict(links), data))
    return touched


def findings_by_incident(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """What incidents a set of results calls for, without recording anything: one per (kind, day)
    with a failing result, its cause first, worst first. The CLI's view of a validation."""
    grouped: dict[tuple[str, str], list[Symptom]] = {}
    for result in results:
        if result.failed:
            symptom = Symptom(
                result.dataset, result.check, str(result.severity), result.message, "", evidence_of(result)
            )
            grouped.setdefault((incident_kind(result), result.dt), []).append(symptom)
    found = []
    for (kind, dt), symptoms in grouped.items():
        symptoms.sort(key=cause_rank)
        found.append(
            {
                "kind": kind,
                "dt": dt,
                "severity": worst_severity(s.severity for s in symptoms),
                "cause": {"dataset": symptoms[0].dataset, "check": symptoms[0].check},
                "message": symptoms[0].message,
                "symptoms": [
                    {
                        "dataset": s.dataset,
                        "check": s.check,
                        "severity": s.severity,
                        "status": s.data.get("status"),
                    }
                    for s in symptoms[1:]
                ],
            }
        )
    return sorted(found, key=lambda f: (SEVERITY_RANK.get(f["severity"], 9), f["dt"], f["kind"]))
