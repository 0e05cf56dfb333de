"""The faults the generator plants: each kind and the check that should catch it, their sizes, the
demo's choice of days, and the severity the contract's default policy gives each size."""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    RAW_DATASET,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)

if TYPE_CHECKING:
    from flightdq.core.config import Policy

# Each fault and the (dataset, check) that should catch it. The order is part of the output: a
# fault's random choices are seeded with its index in FAULTS.
CAUGHT_BY: dict[str, tuple[str, str]] = {
    "missing_partition": (PROCESSED_DATASET, PARTITION_PRESENCE),
    "unregistered_partition": (PROCESSED_DATASET, PARTITION_PRESENCE),
    "empty_partition": (PROCESSED_DATASET, PARTITION_PRESENCE),
    "zero_rows_partition": (PROCESSED_DATASET, PARTITION_PRESENCE),
    "missing_raw_hours": (RAW_DATASET, PARTITION_PRESENCE),
    "record_count_drop": (PROCESSED_DATASET, RECORD_COUNT_DRIFT),
    "invalid_rows_minor": (PROCESSED_DATASET, SCHEMA_VALIDITY),
    "invalid_rows_major": (PROCESSED_DATASET, SCHEMA_VALIDITY),
    "renamed_column": (PROCESSED_DATASET, SCHEMA_VALIDITY),
    "retyped_column": (PROCESSED_DATASET, SCHEMA_VALIDITY),
    "duplicate_flight_ids": (PROCESSED_DATASET, DUPLICATES),
    "stops_early": (PROCESSED_DATASET, FRESHNESS),
}
FAULTS = tuple(CAUGHT_BY)

MISSING_RAW_HOURS = (3, 4, 5)  # missing_raw_hours deletes these UTC hours
STOPS_EARLY_HOUR = 17  # stops_early deletes every snapshot from this UTC hour on
RECORD_DROP_RATIO = 0.35
INVALID_MINOR_RATIO = 0.005
INVALID_MAJOR_RATIO = 0.03
DUPLICATE_RATIO = 0.005


def default_demo_faults(end: date) -> dict[str, date]:
    """One fault of each kind, on the last 12 days (one per day) so the 28 days before stay healthy
    baseline history. The first five kinds leave row counts alone: their days are the baseline
    (same weekday, a week earlier) of the last days, and must not skew it."""
    order = (
        "invalid_rows_minor",
        "retyped_column",
        "invalid_rows_major",
        "renamed_column",
        "duplicate_flight_ids",
        "missing_partition",
        "unregistered_partition",
        "empty_partition",
        "zero_rows_partition",
        "missing_raw_hours",
        "record_count_drop",
        "stops_early",
    )
    assert sorted(order) == sorted(FAULTS)
    first = end - timedelta(days=len(order) - 1)
    return {name: first + timedelta(days=i) for i, name in enumerate(order)}


def validate_faults(faults: dict[str, date | str], start: date, end: date) -> dict[str, date]:
    planned: dict[str, date] = {}
    for name, when in faults.items():
        if name not in FAULTS:
            raise ValueError(f"unknown fault {name!r}; known faults: {', '.join(FAULTS)}")
        day = date.fromisoformat(when) if isinstance(when, str) else when
        if not start <= day <= end:
            raise ValueError(f"fault {name} on {day} is outside the generated days {start}..{end}")
        planned[name] = day
    by_day: dict[date, list[str]] = {}
    for name, day in planned.items():
        by_day.setdefault(day, []).append(name)
    shared = {str(d): names for d, names in by_day.items() if len(names) > 1}
    if shared:
        raise ValueError(f"one fault per day keeps each fault's evidence unambiguous; shared days: {shared}")
    return planned


def _policy() -> Policy:  # the contract's defaults
    from flightdq.core.config import Policy

    return Policy()


def drift_severity(drop: float) -> str | None:
    p = _policy().record_count_drift
    if drop > p.drop_severe_ratio:
        return str(p.drop_severe_severity)
    return str(p.drop_fail_severity) if drop > p.drop_fail_ratio else None


def row_severity(ratio: float) -> str | None:
    p = _policy().schema_validity
    if ratio > p.row_severe_ratio:
        return str(p.row_severe_severity)
    return str(p.row_fail_severity) if ratio > p.row_fail_ratio else None


def duplicates_severity(ratio: float) -> str:
    p = _policy().duplicates
    return str(p.ratio_severity if ratio > p.ratio else p.any_severity)
