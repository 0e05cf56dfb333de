"""The upstream diagnosis as a person reads it: one short section for an alert or an incident's
timeline, rendered from `Backend.upstream_diagnosis`'s plain-JSON result (also as read back from a
stored incident, so every field is optional here).

    Upstream diagnosis (flightdata-processor, 2026-11-25 06:00-12:00 UTC): 0 invocations in 6 of 6
    hours; 3 errors, 0 throttles; 12 ERROR log events (8 TimeoutError, 4 ERROR); state Active

A part that could not be gathered says so with its error class ("metrics unavailable
(AccessDeniedException)"); a backend without an ingestion Lambda gives its reason. Pure: no I/O.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

TITLE = "Upstream diagnosis"
MAX_CLASSES = 5  # error classes named; the rest are summed as "N other"


def diagnosis_text(diag: dict[str, Any]) -> str:
    """One line (no trailing newline) summing up an upstream diagnosis."""
    if not diag.get("available"):
        return f"{TITLE}: {diag.get('reason') or 'not available'}"
    where = ", ".join(p for p in (str(diag.get("function") or ""), _window(diag.get("window"))) if p)
    heading = f"{TITLE} ({where})" if where else TITLE
    parts = [_metrics(diag.get("metrics")), _errors(diag.get("errors")), _state(diag.get("state"))]
    return f"{heading}: " + "; ".join(parts)


def _failed(name: str, part: Any) -> str | None:
    if not isinstance(part, dict):
        return f"{name} unavailable"
    if part.get("error"):
        return f"{name} unavailable ({part['error']})"
    return None


def _metrics(part: Any) -> str:
    failed = _failed("metrics", part)
    if failed:
        return failed
    hours = _count(part.get("hours"))
    idle = _count(part.get("hours_without_invocations"))
    invocations = _count(part.get("invocations"))
    if invocations == 0:
        activity = f"0 invocations in {idle} of {hours} {_plural(hours, 'hour')}"
    elif idle:
        activity = f"{invocations} {_plural(invocations, 'invocation')}, none in {idle} of {hours} hours"
    else:
        activity = f"{invocations} {_plural(invocations, 'invocation')}, every hour"
    text = (
        f"{activity}; {_count(part.get('errors'))} {_plural(part.get('errors'), 'error')}, "
        f"{_count(part.get('throttles'))} {_plural(part.get('throttles'), 'throttle')}"
    )
    duration = part.get("duration_ms") or {}
    if duration.get("maximum") is not None:
        average = duration.get("average")
        shown = f"avg {_count(average)} ms, " if average is not None else ""
        text += f", duration {shown}max {_count(duration['maximum'])} ms"
    return text


def _errors(part: Any) -> str:
    failed = _failed("ERROR logs", part)
    if failed:
        return failed
    events = _count(part.get("events"))
    at_least = "at least " if part.get("truncated") else ""
    if not events:
        return "no ERROR log events"
    by_class = sorted((part.get("by_class") or {}).items(), key=lambda kv: (-_count(kv[1]), kv[0]))
    named = [f"{_count(n)} {name}" for name, n in by_class[:MAX_CLASSES]]
    rest = sum(_count(n) for _, n in by_class[MAX_CLASSES:])
    if rest:
        named.append(f"{rest} other")
    classes = f" ({', '.join(named)})" if named else ""
    return f"{at_least}{events} ERROR log {_plural(events, 'event')}{classes}"


def _state(part: Any) -> str:
    failed = _failed("state", part)
    if failed:
        return failed
    text = f"state {part.get('state') or 'unknown'}"
    if part.get("state_reason_code"):
        text += f" ({part['state_reason_code']})"
    status = part.get("last_update_status")
    if status and status != "Successful":
        text += f", last update {status}"
    if part.get("last_modified"):
        text += f", modified {_minute(str(part['last_modified']))}"
    return text


def _window(window: Any) -> str:
    """'2026-11-25 06:00-12:00 UTC'; a day's end as 24:00; across days both dates."""
    try:
        first, last = (_utc(datetime.fromisoformat(str(moment).replace("Z", "+00:00"))) for moment in window)
    except (TypeError, ValueError):
        return ""
    if last.date() == first.date():
        return f"{first:%Y-%m-%d %H:%M}-{last:%H:%M} UTC"
    if last == datetime.combine(first.date() + timedelta(days=1), time(), UTC):
        return f"{first:%Y-%m-%d %H:%M}-24:00 UTC"
    return f"{first:%Y-%m-%d %H:%M}-{last:%Y-%m-%d %H:%M} UTC"


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _minute(stamp: str) -> str:
    """Lambda's LastModified ('2026-11-20T10:00:00.000+0000', always UTC) to the minute:
    '2026-11-20 10:00 UTC'; anything else as it is."""
    utc = stamp.endswith(("+0000", "+00:00", "Z"))
    if utc and len(stamp) >= 16 and stamp[10] == "T" and stamp[4] == stamp[7] == "-":
        return f"{stamp[:10]} {stamp[11:16]} UTC"
    return stamp


def _count(value: Any) -> int:
    """A count or a duration, rounded for reading."""
    return round(value) if isinstance(value, int | float) else 0


def _plural(n: Any, word: str) -> str:
    return word if _count(n) == 1 else f"{word}s"
