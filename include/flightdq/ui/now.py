"""The "Now" view: what needs someone right now, built for 3 a.m.

- every open incident, whatever its day, worst severity first and then the oldest first: its cause
  and how many other checks it explains (symptoms), its age against the runbook's response time for
  its severity (overdue is red), whether it escalated (and who the escalation involves), who
  acknowledged it, and the latest remediation that touched it;
- today by the hour: for raw and processed data, the worst verdict of the checks that judged each
  hour, and for raw data which hours have snapshots (from the presence check's own counts).

Plain Python on the incidents (`flightdq.incidents.store.Incident`) and the check and remediation
records; `app` reads them and renders `templates/now.html`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, RAW_DATASET
from flightdq.incidents.store import SEVERITY_RANK, EventKind, Incident
from flightdq.ui.actions import TriggerAction, day_actions
from flightdq.ui.data import STATE_LABELS, latest_records, record_state, worst
from flightdq.ui.day_view import LatestPlan, RunLink, latest_plan, match_run_key, run_links


def duration_text(minutes: float) -> str:
    """42 min, 3 h 05 min, 2 d 4 h."""
    minutes = max(0, round(minutes))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // 1440} d {minutes % 1440 // 60} h"


@dataclass
class LatestRemediation:
    at: str | None  # None: a remediation record, which carries no time
    what: str  # running | finished | the record's outcome
    detail: str
    run: RunLink | None


@dataclass
class NowIncident:
    id: str
    kind: str
    dt: str
    title: str
    severity: str
    state: str
    cause: str  # "check on dataset"
    cause_message: str
    symptoms: list[tuple[str, str]]  # the other failing checks, worst first: (severity, "check on dataset")
    opened_at: str
    age_minutes: float  # since detection: the response clock's
    response_minutes: int
    acknowledged_by: str | None
    acknowledged_at: str | None
    acknowledged_current: bool  # acknowledged at this severity (or worse): no escalation for it
    escalated_at: str | None
    escalation: str  # the latest escalation's detail (who it involves)
    remediation: LatestRemediation | None
    actions: list[TriggerAction] = field(default_factory=list)
    broke_at: str = ""  # when the data broke (at the latest): the incident's age counts from here
    broken_minutes: float = 0.0
    plan: LatestPlan | None = None  # the latest remediation plan of its day

    @property
    def advice(self) -> str:
        return self.plan.advice if self.plan else ""

    @property
    def overdue(self) -> bool:
        return self.age_minutes > self.response_minutes

    @property
    def clock(self) -> str:
        if self.overdue:
            return f"overdue by {duration_text(self.age_minutes - self.response_minutes)}"
        return f"{duration_text(self.response_minutes - self.age_minutes)} left"

    @property
    def elapsed(self) -> float:
        """Age as a share of the response time, capped at 1 (the clock's bar)."""
        return min(1.0, self.age_minutes / self.response_minutes) if self.response_minutes else 1.0


def latest_remediation(
    incident: Incident,
    records: Sequence[Mapping[str, Any]],
    dag_ids: Mapping[str, Sequence[str]],
    ui_root: str = "",
) -> LatestRemediation | None:
    """The newest remediation step on the incident's timeline; without one, the last remediation
    record of its day (records carry no time: files are read in name order). Dry runs leave neither."""
    steps = [
        e
        for e in incident.timeline
        if e.event in (EventKind.REMEDIATION_STARTED, EventKind.REMEDIATION_FINISHED)
    ]
    if steps:
        step = steps[-1]
        what = "running" if step.event == EventKind.REMEDIATION_STARTED else "finished"
        run = run_links(step.run_id, dag_ids, ui_root) if step.run_id else None
        return LatestRemediation(step.at, what, step.detail, run)
    mine = [r for r in records if r.get("dt", incident.dt) == incident.dt]
    if not mine:
        return None
    record = mine[-1]
    run_key = str(record.get("run_id") or record.get("run_key") or "")
    known = [*dag_ids, *(e.run_id for e in incident.timeline if e.run_id)]
    run_id = record.get("run_id") or match_run_key(run_key, known)
    detail = f"{record.get('action', '')}: {record.get('message', '')}".strip(": ")
    return LatestRemediation(
        None,
        str(record.get("outcome", "")),
        detail,
        run_links(run_id, dag_ids, ui_root) if run_id else None,
    )


def broke_at(incident: Incident, records: Sequence[Mapping[str, Any]] = ()) -> datetime:
    """When the incident's data broke, at the latest: a data incident's day is due hour by hour
    (the first raw hour its raw presence verdict found missing, once that hour was over) and as a
    whole once the day is over; a monitor incident broke when it was detected. Never after
    detection."""
    opened = datetime.fromisoformat(incident.opened_at)
    if incident.kind != "data":
        return opened
    start = datetime.combine(date.fromisoformat(incident.dt), datetime.min.time(), tzinfo=UTC)
    due = start + timedelta(days=1)
    latest = latest_records(r for r in records if r.get("check") == PARTITION_PRESENCE)
    raw = latest.get((RAW_DATASET, incident.dt, PARTITION_PRESENCE))
    missing = [int(h) for h in ((raw or {}).get("details") or {}).get("missing_hours") or []]
    if missing:
        due = start + timedelta(hours=min(missing) + 1)
    return min(opened, due)


def build_now(
    incidents: Iterable[Incident],
    remediations: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    now: datetime,
    response_minutes: Callable[[str], int],
    dag_ids: Mapping[str, Sequence[str]] | None = None,
    ui_root: str = "",
    records: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
) -> list[NowIncident]:
    """The open incidents, worst severity first, then the oldest first. `records`: the check records
    of their days (when the data broke)."""
    dag_ids = dag_ids or {}
    records = records or {}
    rows = []
    for incident in incidents:
        if incident.resolved:
            continue
        cause = incident.cause
        escalated = incident.latest(EventKind.ESCALATED)
        plan = latest_plan(remediations.get(incident.dt, []), incident.dt)
        broke = broke_at(incident, records.get(incident.dt, []))
        others = sorted(incident.symptoms[1:], key=lambda s: (SEVERITY_RANK.get(s.severity or "", 9), s.name))
        rows.append(
            NowIncident(
                id=incident.id,
                kind=incident.kind,
                dt=incident.dt,
                title=incident.title,
                severity=incident.severity,
                state=str(incident.state),
                cause=cause.name if cause else "unknown",
                cause_message=cause.message if cause else "",
                symptoms=[(s.severity or "", s.name) for s in others],
                opened_at=incident.opened_at,
                age_minutes=incident.age_minutes(now),
                response_minutes=response_minutes(incident.severity),
                acknowledged_by=incident.acknowledged_by,
                acknowledged_at=incident.acknowledged_at,
                acknowledged_current=incident.acknowledged_for(incident.severity),
                escalated_at=escalated.at if escalated else None,
                escalation=escalated.detail if escalated else "",
                remediation=latest_remediation(incident, remediations.get(incident.dt, []), dag_ids, ui_root),
                actions=day_actions(
                    incident.dt, ui_root, kind=incident.kind, repairable=plan is None or plan.etl_can_help
                ),
                broke_at=broke.isoformat(),
                broken_minutes=(now - broke).total_seconds() / 60,
                plan=plan,
            )
        )
    rows.sort(key=lambda r: (SEVERITY_RANK.get(r.severity, 9), r.opened_at, r.id))
    return rows


# --- today by the hour -------------------------------------------------------------------------------
@dataclass
class HourCell:
    hour: int
    state: str  # a state of `data.STATES`, or "future"
    title: str

    @property
    def label(self) -> str:
        """The verdict as text, not only as a colour."""
        return HOUR_GLYPHS.get(self.state, self.state)


HOUR_GLYPHS = {"pass": "\u2713", "warn": "!", "nodata": "\u2013", "future": ""}  # P0-P3: their names


@dataclass
class HourRow:
    key: str
    label: str
    cells: list[HourCell]
    note: str = ""


def _hour_of(record: Mapping[str, Any], day: str) -> int | None:
    """The UTC hour of `day` a verdict judged (its `as_of`, else when it was checked); a verdict
    judged after the day counts for its last hour."""
    moment = record.get("as_of") or record.get("checked_at")
    try:
        at = datetime.fromisoformat(str(moment)).astimezone(UTC)
    except (TypeError, ValueError):
        return None
    if str(at.date()) < day:
        return None
    return 23 if str(at.date()) > day else at.hour


def _raw_hours_row(records: Sequence[Mapping[str, Any]], day: str, current_hour: int) -> HourRow:
    latest = latest_records(r for r in records if r.get("check") == PARTITION_PRESENCE)
    record = latest.get((RAW_DATASET, day, PARTITION_PRESENCE))
    details = (record or {}).get("details") or {}
    label = "raw snapshots"
    if record is None or "hours_due" not in details:
        cells = [
            HourCell(h, "future" if h >= current_hour else "nodata", f"{h:02d}:00 no presence verdict yet")
            for h in range(24)
        ]
        return HourRow("raw-snapshots", label, cells, "no partition_presence verdict on raw data yet today")
    due = int(details.get("hours_due") or 0)
    missing = {int(h) for h in details.get("missing_hours") or []}
    checked = str(record.get("checked_at", ""))[11:16]
    cells = []
    for h in range(24):
        if h < due and h in missing:
            cells.append(HourCell(h, "P0", f"{h:02d}:00 no raw snapshot: data loss"))
        elif h < due:
            cells.append(HourCell(h, "pass", f"{h:02d}:00 raw snapshots present"))
        elif h < current_hour:
            cells.append(HourCell(h, "nodata", f"{h:02d}:00 over, not checked since {checked} UTC"))
        else:
            cells.append(HourCell(h, "future", f"{h:02d}:00 not over yet"))
    note = f"{due - len(missing & set(range(due)))} of {due} hours due have snapshots (checked {checked} UTC)"
    return HourRow("raw-snapshots", label, cells, note)


def _verdict_row(
    records: Sequence[Mapping[str, Any]], day: str, dataset: str, current_hour: int, label: str
) -> HourRow:
    by_hour: dict[int, list[Mapping[str, Any]]] = {}
    for record in records:
        if record.get("dataset") == dataset and record.get("dt") == day:
            hour = _hour_of(record, day)
            if hour is not None:
                by_hour.setdefault(hour, []).append(record)
    cells = []
    for h in range(24):
        verdicts = latest_records(by_hour.get(h, [])).values()
        if verdicts:
            state = worst(record_state(r) for r in verdicts)
            lines = [
                f"{r['check']}: {r.get('status')}{' ' + r['severity'] if r.get('severity') else ''}"
                for r in sorted(verdicts, key=lambda r: r["check"])
            ]
            cells.append(HourCell(h, state, f"{h:02d}:00 {STATE_LABELS[state]}\n" + "\n".join(lines)))
        elif h > current_hour:
            cells.append(HourCell(h, "future", f"{h:02d}:00 not yet"))
        else:
            cells.append(HourCell(h, "nodata", f"{h:02d}:00 no check judged this hour"))
    judged = sum(1 for c in cells if c.state not in ("nodata", "future"))
    return HourRow(f"{dataset}-checks", label, cells, f"{judged} hour(s) judged so far")


def hourly_today(records: Iterable[Mapping[str, Any]], now: datetime) -> tuple[str, list[HourRow]]:
    """Today (UTC) by the hour: (the day, its rows)."""
    now = now.astimezone(UTC)
    day = str(now.date())
    mine = [r for r in records if r.get("dt") == day]
    return day, [
        _raw_hours_row(mine, day, now.hour),
        _verdict_row(mine, day, RAW_DATASET, now.hour, "raw checks"),
        _verdict_row(mine, day, PROCESSED_DATASET, now.hour, "processed checks"),
    ]


def days_to_read(open_days: Iterable[str], today: date) -> list[str]:
    """The days whose incidents the view reads: those the open-incident index names, plus today and
    yesterday (a lake written before the index existed still shows its freshest incidents)."""
    return sorted({*open_days, str(today), str(date.fromordinal(today.toordinal() - 1))})
