"""One fault, one page: failures of one day are one incident whose cause is the most fundamental
failing check; a check that could not run opens a monitor incident, never a data one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from flightdq.core.results import CheckResult, Severity, Status
from flightdq.incidents.manage import manage_incidents
from flightdq.incidents.notifiers import FileNotifier
from flightdq.incidents.reconcile import findings_by_incident
from flightdq.incidents.store import DATA, MONITOR, Event, EventKind, IncidentStore
from flightdq.storage.blobstore import LocalBlobStore

DT = "2026-11-25"
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
P, R = "flightdata_processed", "flightdata_raw"


def result(check, status, severity=None, *, dataset=P, dt=DT, message="", **details) -> CheckResult:
    failing = status in (Status.FAIL, Status.ERROR)
    return CheckResult(
        dataset, dt, check, status, (severity or Severity.P2) if failing else None, 0, 1, message, details
    )


def missing_partition_day(*, schema_change: bool = False) -> list[CheckResult]:
    """What the five checks say about a day whose processed partition is missing."""
    found = [
        result("partition_presence", Status.PASS, dataset=R),
        result("partition_presence", Status.FAIL, Severity.P1, message="partition is missing"),
        result("record_count_drift", Status.FAIL, Severity.P1, message="0 flights, 100% below normal"),
        result("duplicates", Status.ERROR, blocked_by="partition_presence", message="no rows to check"),
        result("freshness", Status.FAIL, Severity.P1, message="no processed data"),
    ]
    if schema_change:
        found.append(
            result("schema_validity", Status.FAIL, Severity.P1, finding="schema_change", message="differs")
        )
    else:
        found.append(result("schema_validity", Status.ERROR, blocked_by="partition_presence"))
    return found


def passing_day() -> list[CheckResult]:
    checks = ("partition_presence", "record_count_drift", "duplicates", "freshness", "schema_validity")
    return [result(c, Status.PASS) for c in checks] + [result("partition_presence", Status.PASS, dataset=R)]


def step(backend, lake, results, now, run):
    notifier = FileNotifier(lake.root / "alerts.jsonl")
    return manage_incidents(backend, results, run_id=f"run-{run}", links={}, notifiers=[notifier], now=now)


def alerts(lake) -> list[dict]:
    path = lake.root / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_a_missing_partition_is_one_incident_one_alert_then_one_resolution(lake, backend):
    step(backend, lake, missing_partition_day(), T0, 0)
    step(backend, lake, missing_partition_day(), T0 + timedelta(minutes=30), 1)  # still failing: quiet
    (incident,) = IncidentStore(backend.blobs).list()
    assert (incident.kind, incident.check, incident.dataset, incident.severity) == (
        DATA,
        "partition_presence",
        P,
        "P1",
    )
    assert [s.check for s in incident.symptoms] == [  # the cause leads, then by CAUSE_ORDER
        "partition_presence",
        "schema_validity",
        "duplicates",
        "record_count_drift",
        "freshness",
    ]
    (opened,) = alerts(lake)
    assert opened["kind"] == "opened" and opened["check"] == "partition_presence"
    assert opened["text"].splitlines()[2].startswith("cause: partition_presence on flightdata_processed")
    assert len(opened["symptoms"]) == 4

    step(backend, lake, passing_day(), T0 + timedelta(minutes=45), 2)
    assert [a["kind"] for a in alerts(lake)] == ["opened", "resolved"]
    assert IncidentStore(backend.blobs).open() == []


def test_a_schema_change_on_a_missing_partition_day_is_a_symptom_not_a_second_page(lake, backend):
    step(backend, lake, missing_partition_day(schema_change=True), T0, 0)
    (incident,) = IncidentStore(backend.blobs).list()
    assert incident.check == "partition_presence"
    assert [a["kind"] for a in alerts(lake)] == ["opened"]


def test_a_more_fundamental_cause_found_later_alerts_once_with_the_new_cause(lake, backend):
    drift_only = [result("record_count_drift", Status.FAIL, Severity.P2, message="30% below normal")]
    step(backend, lake, drift_only, T0, 0)
    raw_gap = [result("partition_presence", Status.FAIL, Severity.P0, dataset=R, message="6 hours missing")]
    step(backend, lake, drift_only + raw_gap, T0 + timedelta(minutes=5), 1)
    step(backend, lake, drift_only + raw_gap, T0 + timedelta(minutes=10), 2)
    assert [(a["kind"], a["severity"], a["check"]) for a in alerts(lake)] == [
        ("opened", "P2", "record_count_drift"),
        ("severity_raised", "P0", "partition_presence"),  # the new cause came with it: one alert
    ]
    (incident,) = IncidentStore(backend.blobs).list()
    assert [c for _, c in incident.causes] == [f"{P}/record_count_drift", f"{R}/partition_presence"]


def test_a_new_cause_of_the_same_severity_alerts_once(lake, backend):
    drift = [result("record_count_drift", Status.FAIL, Severity.P1, message="55% below normal")]
    step(backend, lake, drift, T0, 0)
    presence = [result("partition_presence", Status.FAIL, Severity.P1, message="partition is empty")]
    step(backend, lake, drift + presence, T0 + timedelta(minutes=5), 1)
    step(backend, lake, drift + presence, T0 + timedelta(minutes=10), 2)
    assert [(a["kind"], a["check"]) for a in alerts(lake)] == [
        ("opened", "record_count_drift"),
        ("cause_changed", "partition_presence"),
    ]


def test_a_check_that_could_not_run_pages_about_the_monitor_not_the_data(lake, backend):
    blind = result("duplicates", Status.ERROR, message="check could not run: ExpiredTokenException")
    step(backend, lake, [blind, result("partition_presence", Status.PASS)], T0, 0)
    (incident,) = IncidentStore(backend.blobs).list()
    assert incident.kind == MONITOR and incident.title.startswith("monitoring blind: duplicates")
    (alert,) = alerts(lake)
    assert "monitoring blind" in alert["text"] and alert["severity"] == "P2"

    # Still blind past the P2 response time (4 h): it rises to P1, once.
    step(backend, lake, [blind], T0 + timedelta(hours=5), 1)
    step(backend, lake, [blind], T0 + timedelta(hours=6), 2)
    kinds = [(a["kind"], a["severity"]) for a in alerts(lake)]
    assert kinds.count(("severity_raised", "P1")) == 1

    step(backend, lake, [result("duplicates", Status.PASS)], T0 + timedelta(hours=7), 3)  # it ran again
    assert IncidentStore(backend.blobs).open() == []
    assert alerts(lake)[-1]["kind"] == "resolved"


def test_incidents_written_by_the_earlier_version_are_still_read(tmp_path):
    blobs = LocalBlobStore(tmp_path)
    old = {"at": T0.isoformat(), "event": "detected", "detail": "missing", "severity": "P1", "data": {}}
    key = f"flightdq-incidents/events/dt={DT}/{P}__partition_presence/20261126T020000p0000__detected__x.json"
    blobs.put(key, json.dumps(old).encode())
    (incident,) = IncidentStore(blobs).list()
    assert (incident.kind, incident.check, incident.severity, incident.resolved) == (
        DATA,
        "partition_presence",
        "P1",
        False,
    )


class CountingBlobs(LocalBlobStore):
    def __init__(self, root):
        super().__init__(root)
        self.listed: list[str] = []

    def list(self, prefix: str) -> list[str]:
        self.listed.append(prefix)
        return super().list(prefix)


def test_a_run_reads_only_its_own_days_and_the_open_ones_not_a_year_of_history(tmp_path):
    store = IncidentStore(CountingBlobs(tmp_path))
    start = datetime(2025, 11, 1, tzinfo=UTC)
    for n in range(365):  # a year of incidents, all resolved
        dt = str((start + timedelta(days=n)).date())
        store.append(
            DATA, dt, Event(start.isoformat(), EventKind.DETECTED, "x", "P3", dataset=P, check="duplicates")
        )
        store.append(DATA, dt, Event(start.isoformat(), EventKind.RESOLVED, "ok"))
    store.append(
        DATA, DT, Event(T0.isoformat(), EventKind.DETECTED, "x", "P2", dataset=P, check="duplicates")
    )
    store.index(store.current([DT])[(DATA, DT)])
    store.blobs.listed.clear()
    days = {"2026-12-01"} | store.open_days()
    assert days == {"2026-12-01", DT}
    store.list(days)
    assert all(DT in p or "2026-12-01" in p or p.endswith("/open") for p in store.blobs.listed)


def test_findings_are_grouped_worst_first_for_the_cli():
    found = findings_by_incident(
        [
            result("duplicates", Status.FAIL, Severity.P3, dt="2026-11-20"),
            *missing_partition_day(),
            result("partition_presence", Status.FAIL, Severity.P0, dataset=R, dt="2026-11-24"),
        ]
    )
    assert [(f["dt"], f["severity"], f["cause"]["check"]) for f in found] == [
        ("2026-11-24", "P0", "partition_presence"),
        (DT, "P1", "partition_presence"),
        ("2026-11-20", "P3", "duplicates"),
    ]


def test_the_newest_checked_day_costs_one_read_not_a_listing_of_a_year(tmp_path):
    from flightdq.storage.history import HistoryStore

    blobs = CountingBlobs(tmp_path)
    history = HistoryStore(blobs)
    start = datetime(2025, 11, 1, tzinfo=UTC)
    for n in range(365):
        dt = str((start + timedelta(days=n)).date())
        history.write(
            "run", "duplicates", [{"dt": dt, "dataset": P, "check": "duplicates", "status": "pass"}]
        )
    blobs.listed.clear()
    assert history.last_checked_day() == "2026-10-31"
    assert blobs.listed == []


def test_the_dead_mans_switch_opens_monitoring_stopped_and_resolves_when_verdicts_resume(lake, backend):
    from flightdq.incidents.heartbeat import heartbeat
    from flightdq.storage.history import HistoryStore

    history = HistoryStore(backend.blobs)

    def verdict_at(moment: datetime) -> None:
        record = {"dt": str(moment.date()), "dataset": P, "check": "freshness", "status": "pass"}
        history.write(f"run-{moment:%H%M}", "freshness", [record | {"checked_at": moment.isoformat()}])

    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    verdict_at(now - timedelta(hours=4))  # the last verdict is 4 hours old: the checks stopped
    beat = heartbeat(history, now, window_minutes=180, severity="P1")
    assert beat.status is Status.FAIL and beat.severity == "P1"
    step(backend, lake, [beat], now, 0)
    step(
        backend,
        lake,
        [heartbeat(history, now + timedelta(minutes=30), window_minutes=180, severity="P1")],
        now + timedelta(minutes=30),
        1,
    )
    (incident,) = IncidentStore(backend.blobs).open()
    assert incident.kind == MONITOR and incident.title.startswith("monitoring stopped")

    verdict_at(now + timedelta(minutes=50))  # the checks run again
    resumed = heartbeat(history, now + timedelta(hours=1), window_minutes=180, severity="P1")
    assert resumed.status is Status.PASS
    step(backend, lake, [resumed], now + timedelta(hours=1), 2)
    assert IncidentStore(backend.blobs).open() == []
    assert [(a["kind"], a["severity"]) for a in alerts(lake)] == [("opened", "P1"), ("resolved", "P1")]


def test_a_first_start_is_not_monitoring_stopped(lake, backend):
    """The heartbeat of a first start runs before any check has recorded: no page. Once a check has
    recorded, a silence past the window is monitoring stopped again."""
    from flightdq.incidents.heartbeat import heartbeat
    from flightdq.storage.history import HistoryStore

    history = HistoryStore(backend.blobs)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    first = heartbeat(history, now, window_minutes=180, severity="P1")
    assert first.status is Status.WARN and not first.failed
    step(backend, lake, [first], now, 0)
    assert IncidentStore(backend.blobs).open() == [] and alerts(lake) == []
    old = now - timedelta(days=3)
    record = {"dt": str(old.date()), "dataset": P, "check": "freshness", "status": "pass"}
    history.write("run-old", "freshness", [record | {"checked_at": old.isoformat()}])
    assert heartbeat(history, now, window_minutes=180, severity="P1").status is Status.FAIL
