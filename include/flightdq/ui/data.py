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
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from flightdq.core.contract import (
    CHECKS,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    RAW_DATASET,
    RECORD_COUNT_DRIFT,
)
from flightdq.core.links import etl_run_url, query_url
from flightdq.storage.history import HISTORY_ROOT, safe_name

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

RunLookup = Callable[[Iterable[str]], Mapping[str, Sequence[str]]]  # run ids -> dag ids that have them


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


# --- runs and links -------------------------------------------------------------------------------
def airflow_run_path(dag_id: str, run_id: str, ui_root: str = "") -> str:
    """The Airflow UI's page of a DAG run, relative to the site (`ui_root`: `[api] base_url`'s path)."""
    return f"{ui_root}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def run_kind(run_id: str) -> str:
    if run_id.startswith("cli__"):
        return "command line"
    if run_id.endswith("__recheck"):
        return "re-check after repair"
    if run_id.startswith("scheduled__"):
        return "scheduled run"
    if run_id.startswith("manual__"):
        return "manual run"
    if run_id.startswith("asset_triggered__"):
        return "asset-triggered run"
    return "run"


@dataclass
class RunLink:
    run_id: str
    kind: str
    dags: list[tuple[str, str]]  # (dag id, url of the run page)


def run_links(run_id: str, dag_ids: Mapping[str, Sequence[str]], ui_root: str = "") -> RunLink:
    """Where a run id recorded in the history can be seen in Airflow. A re-check after a repair is
    recorded as `<remediation run id>__recheck`: it links to the remediation run."""
    target = run_id.removesuffix("__recheck")
    dags = dag_ids.get(run_id) or dag_ids.get(target) or ()
    return RunLink(run_id, run_kind(run_id), [(d, airflow_run_path(d, target, ui_root)) for d in dags])


# --- day view -------------------------------------------------------------------------------------
@dataclass
class CheckRow:
    dataset: str
    check: str
    state: str
    record: Mapping[str, Any]
    run: RunLink
    earlier: list[Mapping[str, Any]]  # older verdicts on the same key, newest first
    queries: list[tuple[str, str | None]]  # (description, console url or None)

    @property
    def observed(self) -> str:
        return format_value(self.record.get("observed"))

    @property
    def expected(self) -> str:
        return format_value(self.record.get("expected"))

    @property
    def details_json(self) -> str:
        return json.dumps(self.record.get("details") or {}, indent=1, sort_keys=True, default=str)


@dataclass
class RunRow:
    run: RunLink
    first_checked: str
    last_checked: str
    checks: list[str]
    state: str


@dataclass
class RemediationRow:
    run_key: str
    run: RunLink | None
    action: str
    outcome: str
    message: str
    etl_run_id: str | None
    etl_url: str | None
    still_failing: list[str]


@dataclass
class EventRow:
    at: str
    event: str
    detail: str
    severity: str | None
    run: RunLink | None
    links: list[tuple[str, str | None]]  # (label, url or None when the value is not a link)


@dataclass
class IncidentView:
    id: str
    dataset: str
    check: str
    state: str
    severity: str
    opened_at: str
    resolved_at: str | None
    timeline: list[EventRow]


@dataclass
class DayView:
    day: str
    state: str
    checks: list[CheckRow]
    runs: list[RunRow]
    remediations: list[RemediationRow]
    incidents: list[IncidentView] | None  # None: no incident data available
    missing_checks: list[tuple[str, str]] = field(default_factory=list)  # (dataset, check) never checked

    @property
    def failing(self) -> list[CheckRow]:
        return [c for c in self.checks if c.record.get("status") in FAILED]


def _link_items(links: Mapping[str, Any] | None, backend: str) -> list[tuple[str, str | None]]:
    items: list[tuple[str, str | None]] = []
    for label, value in sorted((links or {}).items()):
        text = str(value)
        if text.startswith(("http://", "https://", "/")):
            items.append((label.replace("_", " "), text))
        elif label == "etl_run":
            items.append((f"ETL run {text}", etl_run_url(backend, text)))
        else:
            items.append((f"{label.replace('_', ' ')}: {text}", None))
    return items


def normalize_incident(incident: Any) -> dict[str, Any]:
    """An `Incident` (dataclass with `to_dict`) or a dict, as a plain dict."""
    if hasattr(incident, "to_dict"):
        incident = incident.to_dict()
    record = dict(incident)
    record["state"] = str(record.get("state", ""))
    record["timeline"] = [dict(e) if isinstance(e, Mapping) else vars(e) for e in record.get("timeline", [])]
    return record


def match_run_key(run_key: str, known_run_ids: Iterable[str]) -> str | None:
    """The run id whose history file name (`safe_name(run_id)`) is `run_key`."""
    return next((r for r in known_run_ids if safe_name(r) == run_key), None)


def _check_order(check: str) -> int:
    return CHECKS.index(check) if check in CHECKS else len(CHECKS)


def build_day(
    day: str,
    records: Iterable[Mapping[str, Any]],
    remediations: Iterable[Mapping[str, Any]],
    incidents: Iterable[Any] | None,
    *,
    dag_ids: Mapping[str, Sequence[str]],
    backend: str = "local",
    ui_root: str = "",
) -> DayView:
    """Everything known about one day: each check's latest verdict (observed against expected),
    the runs that checked it, the remediations that repaired it and its incidents' timelines."""
    records = [r for r in records if r.get("dt") == day]
    latest = latest_records(records)
    by_key: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r.get("checked_at", ""), reverse=True):
        by_key.setdefault((record["dataset"], record["dt"], record["check"]), []).append(record)

    def order(key: tuple[str, str, str]) -> tuple[int, int, str]:
        dataset, _, check = key
        d = DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else len(DATASET_ORDER)
        c = CHECKS.index(check) if check in CHECKS else len(CHECKS)
        return d, c, check

    checks = []
    for key in sorted(latest, key=order):
        record = latest[key]
        queries = []
        for q in (record.get("details") or {}).get("queries") or []:
            if isinstance(q, Mapping):
                text = f"{q.get('template', 'query')} on {q.get('engine', '?')}"
                if q.get("seconds") is not None:
                    text += f", {q['seconds']} s"
                scanned = q.get("data_scanned_bytes", q.get("bytes_scanned"))
                if scanned is not None:
                    text += f", {format_value(scanned)} bytes scanned"
                queries.append((text, query_url(backend, q)))
        checks.append(
            CheckRow(
                key[0],
                key[2],
                record_state(record),
                record,
                run_links(str(record.get("run_id", "")), dag_ids, ui_root),
                by_key[key][1:],
                queries,
            )
        )
    seen = {(d, c) for d, _, c in latest}
    missing = [(d, c) for d in DATASET_ORDER for c in DATASET_CHECKS[d] if (d, c) not in seen]

    runs: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        runs.setdefault(str(record.get("run_id", "")), []).append(record)
    run_rows = []
    for run_id, run_records in runs.items():
        stamps = sorted(r.get("checked_at", "") for r in run_records)
        run_rows.append(
            RunRow(
                run_links(run_id, dag_ids, ui_root),
                stamps[0],
                stamps[-1],
                sorted(
                    {r["check"] for r in run_records}, key=lambda c: CHECKS.index(c) if c in CHECKS else 99
                ),
                worst(record_state(r) for r in run_records),
            )
        )
    run_rows.sort(key=lambda r: r.last_checked, reverse=True)

    incident_views = None
    known_run_ids = set(runs) | {r.removesuffix("__recheck") for r in runs}
    if incidents is not None:
        incident_views = []
        for raw in incidents:
            incident = normalize_incident(raw)
            if incident.get("dt") != day:
                continue
            timeline = []
            for event in incident.get("timeline", []):
                run_id = event.get("run_id")
                if run_id:
                    known_run_ids.add(run_id)
                timeline.append(
                    EventRow(
                        str(event.get("at", "")),
                        str(event.get("event", "")),
                        str(event.get("detail", "")),
                        event.get("severity"),
                        run_links(run_id, dag_ids, ui_root) if run_id else None,
                        _link_items(event.get("links"), backend),
                    )
                )
            incident_views.append(
                IncidentView(
                    str(incident.get("id", "")),
                    str(incident.get("dataset", "")),
                    str(incident.get("check", "")),
                    str(incident.get("state", "")),
                    str(incident.get("severity", "")),
                    str(incident.get("opened_at", "")),
                    incident.get("resolved_at"),
                    timeline,
                )
            )
        incident_views.sort(key=lambda i: i.opened_at, reverse=True)

    remediation_rows = []
    for record in remediations:
        if record.get("dt", day) != day:
            continue
        run_key = str(record.get("run_id") or record.get("run_key") or "")
        run_id = record.get("run_id") or match_run_key(run_key, known_run_ids)
        etl = record.get("etl_run_id")
        remediation_rows.append(
            RemediationRow(
                run_key,
                run_links(run_id, dag_ids, ui_root) if run_id else None,
                str(record.get("action", "")),
                str(record.get("outcome", "")),
                str(record.get("message", "")),
                etl,
                etl_run_url(backend, etl),
                list(record.get("still_failing") or []),
            )
        )

    return DayView(
        day,
        worst(c.state for c in checks),
        checks,
        run_rows,
        remediation_rows,
        incident_views,
        missing,
    )


def run_ids_of_day(records: Iterable[Mapping[str, Any]], incidents: Iterable[Any] | None) -> set[str]:
    """Every run id the day's records and incident events name (to look their DAGs up)."""
    ids = set()
    for record in records:
        if record.get("run_id"):
            ids.add(str(record["run_id"]))
            ids.add(str(record["run_id"]).removesuffix("__recheck"))
    for raw in incidents or []:
        for event in normalize_incident(raw).get("timeline", []):
            if event.get("run_id"):
                ids.add(str(event["run_id"]))
    return ids


# --- reading the stores ---------------------------------------------------------------------------
def read_remediations(blobs: Any, day: str) -> list[dict[str, Any]]:
    """The remediation records of a day, each with `run_key`: its file name, the remediation run id
    as `safe_name` wrote it (the records themselves do not carry the run id)."""
    found = []
    for key in blobs.list(f"{HISTORY_ROOT}/remediations/dt={day}/"):
        data = blobs.get(key)
        if data is None:
            continue
        run_key = key.rsplit("/", 1)[-1].removesuffix(".json")
        for record in json.loads(data):
            found.append(dict(record) | {"run_key": run_key})
    return found


def read_incidents(blobs: Any, days: Iterable[str]) -> list[dict[str, Any]] | None:
    """The incidents of `days`, or None when there is no incident store (module or class missing,
    or it cannot be read): the page then says "no incident data"."""
    try:
        from flightdq.incidents.store import IncidentStore
    except ImportError:
        return None
    try:
        return [normalize_incident(i) for i in IncidentStore(blobs).list(list(days))]
    except Exception:  # a broken incident store must not take the page down
        log.exception("incidents could not be read")
        return None


# --- row counts -----------------------------------------------------------------------------------
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
