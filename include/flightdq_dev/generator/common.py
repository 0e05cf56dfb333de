"""Small helpers the generator's parts share: a UTC day's start, the processed partition's folder, the ETL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from flightdq.core import layout
from flightdq.core.contract import PROCESSED_BUCKET


def day_start_unix(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


def partition_folder(root: Path, day: date) -> Path:
    return Path(root) / PROCESSED_BUCKET / layout.processed_partition_prefix(day)


def run_etl(root: Path, day: date):  # -> flightdq.etl.transform.EtlOutcome
    from flightdq.recovery.publish import rebuild_local

    return rebuild_local(Path(root), day, force=True)  # the generator plants faults on purpose
