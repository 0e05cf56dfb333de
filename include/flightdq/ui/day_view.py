"""The day view: a day's incidents first (cause, symptoms, severity, timeline), then what was done
about them (remediation outcomes, and the remediation runs Airflow knows of, dry runs included),
then its checks worst first, and the runs that produced them with their Airflow links, assembled
from flightdq's records as plain Python."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from flightdq.airflow.runs import REMEDIATION_DAG_ID
from flightdq.core.contract import CHECKS
from flightdq.core.links import etl_run_url, query_url
from flightdq.storage.history import safe_name
from flightdq.ui.data import (
    DATASET_CHECKS,
    DATASET_ORDER,
    FAILED,
    RANK,
    format_measure,
    format_value,
    latest_records,
    record_state,
    worst,
)

log = logging.getLogger(__name__)

RunLookup = Callable[[Iterable[str]], Mapping[str, Sequence[str]]]  # run ids -> dag ids that have them


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
        return format_measure(self.record.get("observed"), self.dataset, self.check)

    @property
    def expected(self) -> str:
        return format_measure(self.record.get("expected"), self.dataset, self.check)

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
    dry_run: bool = False
    reasons: list[str] = field(default_factory=list)

    @property
    def run_text(self) -> str:
        """The run, readable, when Airflow has no run of that id to link to."""
        return readable_run_key(self.run_key)


@dataclass
class EventRow:
    at: str
    event: str
    detail: str
    severity: str | None
    run: RunLink | None
    links: list[tuple[str, str | None]]  # (label, url or None when the value is not a link)
    user: str = ""  # the person behind it (a note, an acknowledgement)


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
    kind: str = "data"
    title: str = ""
    cause_message: str = ""
    symptoms: list[dict[str, Any]] = field(default_factory=list)  # the other failing checks
    acknowledged_by: str | None = None
    acknowledged_at: str | None = None
    acknowledged_severity: str | None = None

    @property
    def resolved(self) -> bool:
        return self.state == "resolved"

    @property
    def acknowledged_current(self) -> bool:
        """Acknowledged at its present severity or a worse one (no escalation reminder for it)."""
        rank = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
        ack = rank.get(self.acknowledged_severity or "", -1)
        return ack >= 0 and rank.get(self.severity, 9) >= ack


@dataclass
class RemediationRun:
    """A run of the remediation DAG that targeted the day, as Airflow's metadata DB has it: dry runs
    included (they leave no remediation record)."""

    run_id: str
    state: str
    dry_run: bool
    days: str  # what it targeted, as given ("2026-11-20", "2026-11-20 to 2026-11-26", "3 days")
    run_after: str
    url: str
    approval_url: str = ""  # the run waits for a person: its approval in Airflow's Required Actions


RemediationRunLookup = Callable[[str], Sequence[Mapping[str, Any]]]  # day -> runs of the remediation DAG


@dataclass
class DayView:
    day: str
    state: str
    checks: list[CheckRow]
    runs: list[RunRow]
    remediations: list[RemediationRow]
    incidents: list[IncidentView] | None  # None: no incident data available
    missing_checks: list[tuple[str, str]] = field(default_factory=list)  # (dataset, check) never checked
    remediation_runs: list[RemediationRun] | None = None  # None: Airflow's runs could not be read
    plan: LatestPlan | None = None  # what the latest remediation (a dry run too) planned for the day

    @property
    def failing(self) -> list[CheckRow]:
        return [c for c in self.checks if c.record.get("status") in FAILED]

    @property
    def open_incidents(self) -> bool:
        return any(not i.resolved for i in self.incidents or [])

    @property
    def repair_can_help(self) -> bool:
        """False when nothing is wrong (no failing check, no open incident) or the latest plan found
        that no ETL run can help (raw data lost, an upstream problem)."""
        if not self.failing and not self.open_incidents:
            return False
        return self.plan is None or self.plan.etl_can_help


NO_ETL_ACTIONS = ("not_repairable", "upstream")  # recovery.plan.Action: plans no ETL run can carry out
UPSTREAM_ADVICE = "no ETL run can help: check the upstream"
_RUN_MOMENT = re.compile(r"(\d{4}-\d{2}-\d{2})T(\d{2})[:_](\d{2})[:_](\d{2})(?:\.(\d+))?")


def readable_run_key(run_key: str) -> str:
    """A run id as `safe_name` wrote it into a file name, readable again:
    `manual__2026-12-06T12_11_13.688683+00_00` -> `manual__2026-12-06T12:11:13`."""
    m = _RUN_MOMENT.search(run_key)
    if not m:
        return run_key
    head = run_key[: m.start()]
    tail = "__recheck" if run_key.endswith("__recheck") else ""
    return f"{head}{m[1]}T{m[2]}:{m[3]}:{m[4]}{tail}"


def run_moment(run_key: str) -> str:
    """The moment in a run id or run key (`YYYY-MM-DDTHH:MM:SS.ffffff`, '' when it has none), to
    order remediation records, which carry no time of their own."""
    m = _RUN_MOMENT.search(run_key)
    return f"{m[1]}T{m[2]}:{m[3]}:{m[4]}.{(m[5] or '').ljust(6, '0')}" if m else ""


@dataclass
class LatestPlan:
    action: str  # recovery.plan.Action
    outcome: str
    reasons: list[str]
    dry_run: bool
    run_key: str

    @property
    def etl_can_help(self) -> bool:
        return self.action not in NO_ETL_ACTIONS

    @property
    def advice(self) -> str:
        return "" if self.etl_can_help else UPSTREAM_ADVICE


def latest_plan(records: Iterable[Mapping[str, Any]], day: str) -> LatestPlan | None:
    """The plan of the newest remediation record of `day` (dry runs included), by the moment in its
    run id; None when no remediation has planned the day."""
    mine = [r for r in records if r.get("dt", day) == day and r.get("action")]
    if not mine:
        return None
    record = max(
        enumerate(mine),
        key=lambda ir: (run_moment(str(ir[1].get("run_id") or ir[1].get("run_key") or "")), ir[0]),
    )[1]
    return LatestPlan(
        str(record.get("action", "")),
        str(record.get("outcome", "")),
        [str(r) for r in record.get("reasons") or []],
        bool(record.get("dry_run")),
        str(record.get("run_id") or record.get("run_key") or ""),
    )


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


def _symptom_rank(symptom: Mapping[str, Any]) -> tuple[int, str, str]:
    """Worst severity first, then by name."""
    rank = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
    return rank.get(str(symptom.get("severity")), 4), str(symptom.get("check")), str(symptom.get("dataset"))


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
    remediation_run_records: Sequence[Mapping[str, Any]] | None = None,
) -> DayView:
    """Everything known about one day: each check's latest verdict (observed against expected),
    the runs that checked it, the remediations that repaired it and its incidents' timelines."""
    records = [r for r in records if r.get("dt") == day]
    latest = latest_records(records)
    by_key: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r.get("checked_at", ""), reverse=True):
        by_key.setdefault((record["dataset"], record["dt"], record["check"]), []).append(record)

    def order(key: tuple[str, str, str]) -> tuple[int, int, int, str]:
        """Worst verdict first (P0 at the top), then the dataset and the checks' usual order."""
        dataset, _, check = key
        d = DATASET_ORDER.index(dataset) if dataset in DATASET_ORDER else len(DATASET_ORDER)
        c = CHECKS.index(check) if check in CHECKS else len(CHECKS)
        return RANK.get(record_state(latest[key]), len(RANK)), d, c, check

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
                        str((event.get("data") or {}).get("user") or "")
                        if event.get("event") == "comment"
                        else "",
                    )
                )
            cause = incident.get("cause") or {}
            symptoms = [dict(s) for s in incident.get("symptoms") or [] if isinstance(s, Mapping)]
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
                    kind=str(incident.get("kind", "data")),
                    title=str(incident.get("title") or incident.get("check") or ""),
                    cause_message=str(cause.get("message", "")) if isinstance(cause, Mapping) else "",
                    symptoms=sorted(symptoms[1:], key=_symptom_rank),  # the first is the cause
                    acknowledged_by=incident.get("acknowledged_by"),
                    acknowledged_at=incident.get("acknowledged_at"),
                    acknowledged_severity=incident.get("acknowledged_severity"),
                )
            )
        # open ones first, then the newest
        incident_views.sort(key=lambda i: i.opened_at, reverse=True)
        incident_views.sort(key=lambda i: i.resolved)

    airflow_runs = list(remediation_run_records or [])
    dag_ids = dict(dag_ids)
    for run in airflow_runs:  # the remediation runs Airflow knows of: their ids and DAG
        if run.get("run_id"):
            known_run_ids.add(str(run["run_id"]))
            dag_ids.setdefault(str(run["run_id"]), [str(run.get("dag_id") or REMEDIATION_DAG_ID)])
    remediations = list(remediations)
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
                bool(record.get("dry_run")),
                [str(r) for r in record.get("reasons") or []],
            )
        )
    remediation_rows.sort(key=lambda r: run_moment(r.run.run_id if r.run else r.run_key), reverse=True)

    return DayView(
        day,
        worst(c.state for c in checks),
        checks,
        run_rows,
        remediation_rows,
        incident_views,
        missing,
        None if remediation_run_records is None else remediation_runs(remediation_run_records, day, ui_root),
        latest_plan(remediations, day),
    )


def _covers(conf: Mapping[str, Any], day: str) -> str | None:
    """What a remediation run's conf targeted, when it covers `day` (None otherwise)."""
    days = [str(d) for d in conf.get("days") or []]
    if days:
        return (days[0] if len(days) == 1 else f"{len(days)} days") if day in days else None
    start = str(conf.get("date") or "")
    end = str(conf.get("to") or start)
    if start and start <= day <= end:
        return start if end == start else f"{start} to {end}"
    return None


def remediation_runs(
    records: Iterable[Mapping[str, Any]], day: str, ui_root: str = ""
) -> list[RemediationRun]:
    """The runs of the remediation DAG (`dag_id`, `run_id`, `state`, `conf`, `run_after`) whose conf
    covers `day`, newest first. A run without `dry_run` in its conf is a dry run (the param's default)."""
    found = []
    for record in records:
        conf = record.get("conf") or {}
        target = _covers(conf, day)
        if target is None:
            continue
        run_id = str(record.get("run_id", ""))
        url = airflow_run_path(str(record.get("dag_id") or REMEDIATION_DAG_ID), run_id, ui_root)
        found.append(
            RemediationRun(
                run_id,
                str(record.get("state") or ""),
                conf.get("dry_run", True) is not False,
                target,
                str(record.get("run_after") or ""),
                url,
                f"{url}/tasks/approve/required_actions" if record.get("awaiting_approval") else "",
            )
        )
    return sorted(found, key=lambda r: r.run_after, reverse=True)


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
