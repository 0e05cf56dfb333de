"""Evidence about raw data that the plan needs beyond the checks: how full a day's raw snapshots are.

Raw fullness is the mean number of states in a few raw snapshots sampled evenly over the day (the
listing gives the snapshots; only `samples` bodies are read per day), compared with the same for
the days the drift check used as its normal. It answers one question cheaply: is raw data itself
as thin as the processed day, or did the ETL lose what raw holds?
"""

from __future__ import annotations

import gzip
import json
import statistics
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING

from flightdq.core.errors import describe_error

if TYPE_CHECKING:
    from flightdq.backends.base import Backend


def states_per_snapshot(backend: Backend, day: date, samples: int) -> float | None:
    """The mean number of states in `samples` raw snapshots spread over the day (None: no snapshot)."""
    listing = backend.raw_snapshot_times(day, day).get(str(day), {})
    snapshots = sorted((hour, unix) for hour, times in listing.items() for unix in times)
    if not snapshots:
        return None
    step = max(1, len(snapshots) // samples)
    counts = []
    for hour, unix in snapshots[step // 2 :: step][:samples]:
        body = backend.read_raw_snapshot(day, hour, unix)
        if body is None:
            continue
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)
        counts.append(len(json.loads(body).get("states") or []))
    return statistics.fmean(counts) if counts else None


def raw_fullness_of(
    backend: Backend, samples: int
) -> Callable[[str, Sequence[str]], tuple[float | None, str]]:
    """`(dt, baseline days) -> (raw fullness of dt / median of the baseline's, how it was measured)`."""

    def fullness(dt: str, baseline: Sequence[str]) -> tuple[float | None, str]:
        try:
            today = states_per_snapshot(backend, date.fromisoformat(dt), samples)
            normal = [
                level
                for past in baseline
                if (level := states_per_snapshot(backend, date.fromisoformat(past), samples))
            ]
        except Exception as exc:  # evidence that cannot be read is no evidence
            return None, f"raw snapshots could not be read: {describe_error(exc)}"
        if today is None or not normal:
            return None, "no raw snapshots to compare" if today is None else "no baseline days with raw data"
        median = statistics.median(normal)
        return today / median, f"{today:.0f} states per snapshot against a normal of {median:.0f}"

    return fullness
