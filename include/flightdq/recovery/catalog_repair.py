"""Catalog maintenance: register the partitions found in storage, as Athena's MSCK REPAIR TABLE does,
and point registered partitions whose location went stale (a moved lake) at their files."""

from __future__ import annotations

from datetime import date

from flightdq.backends.base import Backend
from flightdq.core.dates import utcnow


def repair_catalog(
    backend: Backend, start: date | None = None, end: date | None = None, *, today: date | None = None
) -> tuple[list[str], list[str], dict[str, str]]:
    """Register every processed partition in storage that has files and is not registered yet
    (already registered ones are left alone), and fix stale locations. A folder named like a day
    that is none (`dt=2026-02-30`) or is after `today` (`dt=9999-01-01`) is no day's partition: it
    is left alone and reported. Returns (added, relocated, skipped folder -> why)."""
    today = today or utcnow().date()
    relocated = backend.fix_partition_locations(start, end)
    stored = backend.processed_partitions_in_storage(start, end)
    skipped: dict[str, str] = {}
    with_files = []
    for dt, files in sorted(stored.items()):
        if not files:
            continue
        try:
            day = date.fromisoformat(dt)
        except ValueError:
            skipped[dt] = "not a real day"
            continue
        if day > today:
            skipped[dt] = "a day in the future"
            continue
        with_files.append(dt)
    return backend.register_partitions(with_files), relocated, skipped
