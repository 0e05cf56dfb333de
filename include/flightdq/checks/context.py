"""What every check is given: the backend, the days, the moment checked for, and the policy.

Queries that serve several checks (partition stats, raw listing) run once per context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flightdq.checks import queries
from flightdq.core.dates import day_end, day_start

if TYPE_CHECKING:
    from flightdq.backends.base import Backend
    from flightdq.core.config import Policy


# (datasets, checks, days) -> the days among `days` with an open data incident that has a failing
# symptom among `checks` on `datasets`: `IncidentStore(blobs).unresolved_days`, passed by the caller
# (the checks sit below the incidents and never read their store).
IncidentDays = Callable[[Sequence[str], Sequence[str], Iterable[date]], set[str]]


def no_incident_days(datasets: Sequence[str], checks: Sequence[str], days: Iterable[date]) -> set[str]:
    """For a caller that knows of no incidents: none."""
    return set()


@dataclass
class CheckContext:
    backend: Backend
    days: list[date]
    as_of: datetime
    policy: Policy
    # Set when the results are recorded: what a check keeps beside them (schema_validity's
    # GX-shaped results) goes under this run id.
    run_id: str | None = None
    # The days with an open incident, which record_count_drift leaves out of its baseline.
    incident_days: IncidentDays = no_incident_days
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def first_day(self) -> date:
        return self.days[0]

    @property
    def last_day(self) -> date:
        return self.days[-1]

    def memo(self, key: str, compute):
        """Compute once per context; a failure is remembered too, so the checks that share the
        evidence fail fast instead of asking the engine again."""
        if key not in self._memo:
            try:
                self._memo[key] = compute()
            except Exception as exc:
                self._memo[key] = exc
        found = self._memo[key]
        if isinstance(found, Exception):
            raise found
        return found

    def reference_moment(self, day: date) -> datetime:
        """The moment a day is judged at: `as_of`, or the day's end for a day already over."""
        return min(self.as_of, day_end(day))

    def hours_passed(self, day: date) -> int:
        """Whole hours of the day that are over at `as_of` (24 for a day already over)."""
        elapsed = self.reference_moment(day) - day_start(day)
        return max(0, min(24, int(elapsed // timedelta(hours=1))))

    def day_over(self, day: date) -> bool:
        return self.as_of >= day_end(day)

    # --- shared evidence ---------------------------------------------------------------------
    def partition_stats(self) -> dict[str, dict[str, Any]]:
        """dt -> row_count, duplicated_ids, extra_rows, newest_last_seen (registered partitions)."""

        def compute() -> dict[str, dict[str, Any]]:
            rows = queries.run(
                self.backend, "partition_stats", start_dt=str(self.first_day), end_dt=str(self.last_day)
            )
            return {row["dt"]: row for row in rows}

        return self.memo("partition_stats", compute)

    def raw_times(self) -> dict[str, dict[int, list[int]]]:
        return self.memo("raw_times", lambda: self.backend.raw_snapshot_times(self.first_day, self.last_day))

    def registered(self) -> set[str]:
        return self.memo(
            "registered", lambda: self.backend.registered_partitions(self.first_day, self.last_day)
        )

    def stored(self) -> dict[str, list[str]]:
        return self.memo(
            "stored",
            lambda: self.backend.processed_partitions_in_storage(self.first_day, self.last_day),
        )

    def missing_raw_hours(self, day: date) -> list[int]:
        """Hours of the day that are over at `as_of` and have no raw snapshot object."""
        present = self.raw_times().get(str(day), {})
        return [h for h in range(self.hours_passed(day)) if not present.get(h)]
