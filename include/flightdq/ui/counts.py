"""The daily flight count of the processed table against its normal band, for the chart."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flightdq.core.contract import PROCESSED_DATASET, RECORD_COUNT_DRIFT
from flightdq.ui.data import latest_records, record_state


@dataclass
class CountPoint:
    dt: str
    observed: int | None
    expected: int | None  # the weekday median of the comparable days
    low: float | None  # the drift alarm threshold: expected x (1 - drop_fail_ratio)
    high: float | None  # the highest comparable day (or expected when higher)
    baseline: dict[str, int]
    state: str
    hours_judged: int
    message: str

    @property
    def partial(self) -> bool:
        return self.hours_judged < 24


def row_count_series(
    records: Iterable[Mapping[str, Any]], days: Sequence[str], *, drop_fail_ratio: float = 0.20
) -> list[CountPoint]:
    """The daily flight count of the processed table and its normal band, from the latest
    `record_count_drift` verdict of each day: observed, expected (the median of the same weekday
    over the previous weeks) and the baseline days it was taken from. The band runs from the
    alarm threshold (`drop_fail_ratio` below the median) to the highest comparable day."""
    latest = latest_records(
        r for r in records if r.get("check") == RECORD_COUNT_DRIFT and r.get("dataset") == PROCESSED_DATASET
    )
    points = []
    for dt in days:
        record = latest.get((PROCESSED_DATASET, dt, RECORD_COUNT_DRIFT))
        if record is None:
            points.append(CountPoint(dt, None, None, None, None, {}, "nodata", 24, ""))
            continue
        details = record.get("details") or {}
        baseline = {str(k): int(v) for k, v in (details.get("baseline") or {}).items()}
        observed = record.get("observed")
        expected = record.get("expected")
        expected = int(expected) if isinstance(expected, int | float) else None
        low = expected * (1 - drop_fail_ratio) if expected is not None else None
        high = max([expected, *baseline.values()]) if expected is not None else None
        points.append(
            CountPoint(
                dt,
                int(observed) if isinstance(observed, int | float) else None,
                expected,
                low,
                high,
                baseline,
                record_state(record),
                int(details.get("hours_judged", 24)),
                str(record.get("message", "")),
            )
        )
    return points
