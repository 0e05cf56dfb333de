"""Post-incident reviews, written as Markdown when an incident resolves (or on demand)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from flightdq.incidents.store import INCIDENTS_ROOT, IncidentStore, review_markdown

if TYPE_CHECKING:
    from flightdq.backends.base import Backend

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
