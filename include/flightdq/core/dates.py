"""Parsing and validating the days and moments users give us.

Every date that reaches SQL, a path or an AWS call has been through `parse_day`, so it is exactly
`YYYY-MM-DD` and a real calendar day.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta

_DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InputError(ValueError):
    """Bad user input. The message names the problem in one line."""


def parse_day(value: str, what: str = "date") -> date:
    if not isinstance(value, str) or not _DAY_RE.match(value):
        raise InputError(f"{what} {value!r} is not a date in the form YYYY-MM-DD")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise InputError(f"{what} {value!r} is not a real calendar day ({exc})") from None


def parse_moment(value: str, what: str = "--as-of") -> datetime:
    """An ISO-8601 moment, made timezone-aware in UTC (a naive one is taken as UTC)."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00") if value.endswith("Z") else value)
    except (TypeError, ValueError):
        raise InputError(f"{what} {value!r} is not an ISO-8601 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def day_range(start: date, end: date | None = None, *, max_days: int | None = None) -> list[date]:
    end = end or start
    if end < start:
        raise InputError(f"range is reversed: the last day {end} is before the first day {start}")
    days = (end - start).days + 1
    if max_days is not None and days > max_days:
        raise InputError(f"range of {days} days is longer than the allowed {max_days} days")
    return list(iter_days(start, end))


def iter_days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def day_end(day: date) -> datetime:
    """The first moment after the day (exclusive bound)."""
    return day_start(day) + timedelta(days=1)


def utcnow() -> datetime:
    return datetime.now(UTC)
