"""What the "Flight data quality" pages show, assembled from flightdq's own records.

Plain Python on plain dicts: the check history (`flightdq.storage.history`: one record per dataset, day,
check and run), the remediation records (how each day of a remediation run ended) and the
incidents (`flightdq.incidents.store`, read defensively: without them the pages say "no incident data").

Colours are *states*: the severity of a failing verdict (`P0`..`P3`), `warn`, `pass`, or `nodata`.
A calendar cell is the latest verdict on its (dataset, day, check); a day's summary is the worst
state of its cells. A cell that passes now but failed earlier is marked `recovered`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flightdq.core.contract import (
    CHECKS,
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    RAW_DATASET,
    RECORD_COUNT_DRIFT,
)

log = logging.getLogger(__name__)

# Worst first. `nodata` ranks last so that a day with some verdicts shows the worst of those.
STATES = ("P0", "P1", "P2", "P3", "warn", "pass", "nodata")
RANK = {state: i for i, state in enumerate(STATES)}
STATE_LABELS = {
    "P0": "P0 critical: data loss",
    "P1": "P1 high",
    "P2": "P2 medium",
    "P3": "P3 low",
    "warn": "warning (nothing to judge yet)",
    "pass": "pass",
    "nodata": "no data",
}
FAILED = ("fail", "error")
DATASET_CHECKS = {  # which checks run on which dataset (flightdq.checks.runner)
    RAW_DATASET: (PARTITION_PRESENCE, FRESHNESS),
    PROCESSED_DATASET: CHECKS,
}
DATASET_ORDER = (PROCESSED_DATASET, RAW_DATASET)
FALLBACK_SEVERITY = "P2"  # a failure recorded without a severity (should not happen): the policy default


# --- states ---------------------------------------------------------------------------------------
def record_state(record: Mapping[str, Any] | None) -> str:
    """The colour of one verdict."""
    if record is None:
        return "nodata"
    status = record.get("status")
    if status in FAILED:
        severity = record.get("severity")
        return severity if severity in ("P0", "P1", "P2", "P3") else FALLBACK_SEVERITY
    if status == "warn":
        return "warn"
    if status == "pass":
        return "pass"
    return "nodata"


def worst(states: Iterable[str]) -> str:
    return min(states, key=lambda s: RANK.get(s, len(STATES)), default="nodata")


def latest_records(records: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], Mapping[str, Any]]:
    """(dataset, dt, check) -> the newest record (the rule of `HistoryStore.latest`)."""
    newest: dict[tuple[str, str, str], Mapping[str, Any]] = {}
    for record in records:
        key = (record["dataset"], record["dt"], record["check"])
        if key not in newest or record.get("checked_at", "") >= newest[key].get("checked_at", ""):
            newest[key] = record
    return newest


def day_list(end: date, days: int) -> list[str]:
    return [str(end - timedelta(days=i)) for i in range(days - 1, -1, -1)]


def format_value(value: Any) -> str:
    """Observed / expected values as one short line."""
    if value is None:
        return "\u2013"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".") if abs(value) < 1e6 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


# What a check's observed and expected numbers count (flightdq.checks: each check's CheckResult).
UNITS: dict[tuple[str, str], str] = {
    (RAW_DATASET, PARTITION_PRESENCE): "h missing",
    (RAW_DATASET, FRESHNESS): "min",
    (PROCESSED_DATASET, PARTITION_PRESENCE): "rows",
    (PROCESSED_DATASET, FRESHNESS): "min",
    (PROCESSED_DATASET, DUPLICATES): "extra rows",
    (PROCESSED_DATASET, RECORD_COUNT_DRIFT): "flights",
}


def format_measure(value: Any, dataset: str, check: str) -> str:
    """An observed or expected value with its unit (`9.2 min`, `1,204 flights`); text and missing
    values as they are (`format_value`)."""
    text = format_value(value)
    unit = UNITS.get((dataset, check))
    if unit and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{text} {unit}"
    if unit and isinstance(value, str) and value.startswith(("<", ">")) and value[-1:].isdigit():
        return f"{value} {unit}"  # an expectation such as "<= 60" or ">0"
    return text


# --- calendar -------------------------------------------------------------------------------------
@dataclass
class Cell:
    dataset: str
    dt: str
    check: str
    state: str
    record: Mapping[str, Any] | None = None
    recovered: bool = False  # passes now, failed earlier

    @property
    def status(self) -> str:
        return self.record.get("status", "") if self.record else ""

    @property
    def title(self) -> str:
        """The cell's tooltip."""
        if self.record is None:
            return f"{self.dt} · {self.check} on {self.dataset}: no verdict recorded"
        head = f"{self.dt} · {self.check} on {self.dataset}: {self.status}"
        if self.record.get("severity"):
            head += f" {self.record['severity']}"
        if self.recovered:
            head += " (failed earlier, passes now)"
        return f"{head}\n{self.record.get('message', '')}"

    @property
    def label(self) -> str:
        if self.state in ("P0", "P1", "P2", "P3"):
            return self.state
        return {"pass": "↺" if self.recovered else "✓", "warn": "!", "nodata": ""}.get(self.state, "")


@dataclass
class CalendarRow:
    dataset: str
    check: str
    cells: list[Cell]


@dataclass
class DatasetCalendar:
    dataset: str
    summary: list[Cell]  # one per day: the worst state of the day's checks on this dataset
    rows: list[CalendarRow]


@dataclass
class Calendar:
    days: list[str]
    datasets: list[DatasetCalendar]
    day_states: dict[str, str]  # worst over every dataset and check
    counts: dict[str, int]  # cells per state

    @property
    def has_data(self) -> bool:
        return any(state != "nodata" for state in self.day_states.values())

    @property
    def unhealthy_days(self) -> list[str]:
        return [d for d in self.days if self.day_states[d] in ("P0", "P1", "P2", "P3")]


def _checks_of(dataset: str, seen: Iterable[tuple[str, str]]) -> list[str]:
    checks = list(DATASET_CHECKS.get(dataset, ()))
    extra = sorted({c for d, c in seen if d == dataset and c not in checks})
    return checks + extra


def build_calendar(records: Iterable[Mapping[str, Any]], days: Sequence[str]) -> Calendar:
    """One cell per dataset, day and check, coloured by its latest verdict."""
    records = [r for r in records if r.get("dt") in set(days)]
    latest = latest_records(records)
    ever_failed = {(r["dataset"], r["dt"], r["check"]) for r in records if r.get("status") in FAILED}
    seen = {(d, c) for d, _, c in latest}
    datasets = [d for d in DATASET_ORDER if d in DATASET_CHECKS] + sorted(
        {d for d, _ in seen} - set(DATASET_ORDER)
    )
    calendars: list[DatasetCalendar] = []
    counts = dict.fromkeys(STATES, 0)
    for dataset in datasets:
        rows = []
        for check in _checks_of(dataset, seen):
            cells = []
            for dt in days:
                record = latest.get((dataset, dt, check))
                state = record_state(record)
                recovered = state == "pass" and (dataset, dt, check) in ever_failed
                cells.append(Cell(dataset, dt, check, state, record, recovered))
                counts[state] += 1
            rows.append(CalendarRow(dataset, check, cells))
        summary = [
            Cell(dataset, dt, "all checks", worst(row.cells[i].state for row in rows))
            for i, dt in enumerate(days)
        ]
        calendars.append(DatasetCalendar(dataset, summary, rows))
    day_states = {
        dt: worst(cal.summary[i].state for cal in calendars) if calendars else "nodata"
        for i, dt in enumerate(days)
    }
    return Calendar(list(days), calendars, day_states, counts)
