"""Post-incident reviews, written as Markdown when an incident resolves (or on demand)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flightdq.core.dates import utcnow
from flightdq.incidents.store import INCIDENTS_ROOT, Incident, IncidentStore

if TYPE_CHECKING:
    from flightdq.backends.base import Records

REVIEWS_ROOT = f"{INCIDENTS_ROOT}/reviews"


def write_review(
    records: Records, store: IncidentStore, incident_id: str, now: datetime | None = None
) -> tuple[str, str]:
    """Write the incident's post-incident review as Markdown; returns where it is, and the text."""
    incident = store.get(incident_id)
    if incident is None:
        raise KeyError(f"no incident {incident_id}")
    text = review_markdown(
        incident, records.history.read([incident.dt]), records.history.read_remediations([incident.dt]), now
    )
    key = f"{REVIEWS_ROOT}/{incident.id}.md"
    records.blobs.put(key, text.encode())
    return records.blobs.location(key), text


def _cell(text: Any) -> str:
    """Text from records (a user's name, a message) as Markdown text: HTML in it is shown, never
    rendered, and it stays in its table cell."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def review_markdown(
    incident: Incident,
    history: Sequence[Mapping[str, Any]],
    remediations: Sequence[Mapping[str, Any]],
    now: datetime | None = None,
) -> str:
    """The incident's cause, symptoms, timeline, checks, actions and outcome, for the review meeting."""
    now = now or utcnow()
    duration = f"{incident.age_minutes(now):.0f} minutes"
    lines = [
        f"# Post-incident review: {incident.title}",
        "",
        f"- **Incident:** `{incident.id}` (episode {incident.episode})",
        f"- **Cause:** {incident.cause.name if incident.cause else 'unknown'}",
        f"- **Severity:** {incident.severity}",
        f"- **State:** {incident.state}",
        f"- **Opened:** {incident.opened_at}",
        f"- **Resolved:** {incident.resolved_at or 'not yet'}",
        f"- **Time to resolve:** {duration}" if incident.resolved else f"- **Open for:** {duration} so far",
        "",
        "## Timeline",
        "",
        "| at (UTC) | event | about | severity | detail |",
        "|---|---|---|---|---|",
    ]
    for event in incident.timeline:
        about = f"{event.check} on {event.dataset}" if event.check else ""
        lines.append(
            f"| {event.at} | {event.event} | {about} | {event.severity or ''} | {_cell(event.detail)} |"
        )
    about = {(e.dataset, e.check) for e in incident.timeline if e.check}
    checks = [h for h in history if (h.get("dataset"), h.get("check")) in about]
    lines += [
        "",
        "## Checks",
        "",
        "| checked at | run | dataset | check | status | severity | observed | expected |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for record in sorted(checks, key=lambda r: (r.get("checked_at", ""), r.get("check", ""))):
        lines.append(
            f"| {record.get('checked_at', '')} | `{record.get('run_id', '')}` | "
            f"{record.get('dataset', '')} | {record.get('check')} | "
            f"{record['status']} | {record.get('severity') or ''} | {_cell(record.get('observed'))} | "
            f"{_cell(record.get('expected'))} |"
        )
    lines += ["", "## Actions", ""]
    lines += [
        f"- {r.get('action')}: {r.get('outcome')} ({_cell(r.get('message'))})"
        + (f", ETL run `{r['etl_run_id']}`" if r.get("etl_run_id") else "")
        for r in remediations
    ]
    if not remediations:
        lines.append("- no remediation was run for this day")
    outcome = (
        "Resolved: every symptom passes again." if incident.resolved else "Unresolved at the time of writing."
    )
    lines += ["", "## Outcome", "", outcome, "", "## Follow-ups", "", "- Root cause:", "- Prevention:"]
    lines += ["- Runbook changes:", ""]
    return "\n".join(lines)
