"""Catalog maintenance: register the partitions found in storage, as Athena's MSCK REPAIR TABLE does,
and point registered partitions whose location went stale (a moved lake) at their files."""

from __future__ import annotations

from datetime import date

from flightdq.backends.base import Backend


def repair_catalog(
    backend: Backend, start: date | None = None, end: date | None = None
) -> tuple[list[str], list[str]]:
    """Register every processed partition in storage that has files and is not registered yet
    (already registered ones are left alone), and fix stale locations. Returns (added, relocated)."""
    relocated = backend.fix_partition_locations(start, end)
    stored = backend.processed_partitions_in_storage(start, end)
    with_files = [dt for dt, files in stored.items() if files]
    return backend.register_partitions(sorted(with_files)), relocated
