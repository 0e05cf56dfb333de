"""The remediation plan: what each day needs, decided from a validation of the day.

Per day: nothing to do, register (the files are sound, the catalog does not know them), rebuild
(re-run the ETL from raw data), or not repairable (raw data is missing: data loss, no ETL run).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flightdq.checks.runner import run_checks
from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, RAW_DATASET, SCHEMA_VALIDITY
from flightdq.core.results import CheckResult

if TYPE_CHECKING:
    from flightdq.backends.base import Backend


class Action(StrEnum):
    NOTHING = "nothing"
    REGISTER = "register"  # files are in storage, the catalog does not know them
    REBUILD = "rebuild"  # re-run the ETL from raw data
    NOT_REPAIRABLE = "not_repairable"  # raw data is missing: data loss, no ETL run


REPAIR_ACTIONS = (Action.REBUILD, Action.REGISTER)


@dataclass
class DayPlan:
    dt: str
    action: Action
    reasons: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"action": str(self.action)}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DayPlan:
        return cls(record["dt"], Action(record["action"]), list(record.get("reasons", [])))


def plan_from_results(days: Sequence[date], results: Iterable[CheckResult]) -> list[DayPlan]:
    """Decide, from a validation of the days, what each day needs."""
    by_day: dict[str, list[CheckResult]] = {}
    for result in results:
        by_day.setdefault(result.dt, []).append(result)
    plans = []
    for day in days:
        found = by_day.get(str(day), [])
        raw_gaps = [
            r for r in found if r.dataset == RAW_DATASET and r.check == PARTITION_PRESENCE and r.failed
        ]
        failing = [r for r in found if r.dataset == PROCESSED_DATASET and r.failed]
        reasons = [f"{r.check}: {r.message}" for r in failing]
        if raw_gaps:
            plans.append(
                DayPlan(
                    str(day),
                    Action.NOT_REPAIRABLE,
                    [
                        f"raw data missing ({raw_gaps[0].message}); re-running the ETL cannot bring it back",
                        *reasons,
                    ],
                )
            )
        elif not failing:
            plans.append(DayPlan(str(day), Action.NOTHING))
        elif _files_fine_but_unregistered(failing):
            plans.append(DayPlan(str(day), Action.REGISTER, reasons))
        else:
            plans.append(DayPlan(str(day), Action.REBUILD, reasons))
    return plans


def _files_fine_but_unregistered(failing: list[CheckResult]) -> bool:
    """The partition's files are in storage and sound, only the catalog does not know them: the
    engine could not see the day, so its SQL checks failed too, but registering it is the repair."""
    unregistered = any(
        r.check == PARTITION_PRESENCE and r.details.get("state") == "not_registered" for r in failing
    )
    files_broken = any(r.check == SCHEMA_VALIDITY and not r.details.get("blocked_by") for r in failing)
    return unregistered and not files_broken


def plan_days(
    backend: Backend, days: Sequence[date], as_of: datetime, *, run_id: str, record: bool = True
) -> list[DayPlan]:
    """Validate the days and plan each. A dry run passes `record=False`: it writes nothing at all."""
    results = run_checks(
        days, as_of, backend=backend, settings=backend.settings, run_id=run_id, record=record
    )
    return plan_from_results(days, results)
