"""Catalog maintenance: register the partitions found in storage, as Athena's MSCK REPAIR TABLE does."""

from __future__ import annotations

from datetime import date

from flightdq.backends.base import Backend


def repair_catalog(backend: Backend, start: date | None = None, end: date | None = None) -> list[str]:
    """Register every processed partition in storage that has files and is not registered yet.
    Already registered partitions are left alone. Returns the dts that were added."""
    stored = backend.processed_partitions_in_storage(start, end)
    with_files = [dt for dt, files in stored.items() if files]
    return backend.register_partitions(sorted(with_files))
