"""Incidents and alerts: one alert when an incident opens, one escalation when its response time
passes, one message when it resolves; a notifier that is down delays alerts but loses none."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from test_notifiers import TOKEN, Webhook

from flightdq.airflow.notifiers import notifiers_from_env
from flightdq.core.results import CheckResult, Severity, Status
from flightdq.incidents.manage import manage_incidents
from flightdq.incidents.notifiers import FileNotifier
from flightdq.incidents.outbox import AlertDeliveryError
from flightdq.incidents.store import IncidentStore, State

DT = "2026-11-25"
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)


def presence(status: Status, severity: Severity | None = Severity.P1) -> CheckResult:
    failing = status is not Status.PASS
    return CheckResult(
        "flightdata_processed",
        DT,
        "partition_presence",
        status,
        severity if failing else None,
        0 if failing else 120,
        ">0 rows",
        "partition is missing" if failing else "partition present",
        {},
    )


@pytest.fixture
def webhook(monkeypatch):
    hook = Webhook()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_FLIGHTDQ", hook.connection_json())
    yield hook
    hook.stop()


@pytest.fixture
def channels(lake, webhook):
    """The configured channels: the file, and Slack through the connection the webhook fixture sets."""
    notifiers = notifiers_from_env(
        lake.root, "local", "aws_default", env={"FLIGHTDQ_ALERTS_FILE": str(lake.root / "alerts.jsonl")}
    )
    assert [n.channel for n in notifiers] == ["file", "slack"]
    return notifiers


def file_alerts(lake) -> list[dict]:
    path = lake.root / "alerts.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def step(backend, channels, result, now, run):
    return manage_incidents(
        backend,
        [result],
        run_id=f"run-{run}",
        links={"airflow_run": f"http://af/{run}"},
        notifiers=channels,
        now=now,
    )


def test_one_alert_for_24_hourly_failures_one_escalation_one_resolution(lake, backend, channels, webhook):
    for hour in range(24):
        step(backend, channels, presence(Status.FAIL), T0 + timedelta(hours=hour), hour)
    kinds = [a["kind"] for a in file_alerts(lake)]
    assert kinds == ["opened", "escalated"]  # P1 answers within 1 hour: escalated once, not 23 times
    escalation = file_alerts(lake)[1]
    assert escalation["involve"] == ["On-call engineer", "Senior engineer", "Engineering manager"]

    step(backend, channels, presence(Status.PASS), T0 + timedelta(hours=25), 25)
    step(backend, channels, presence(Status.PASS), T0 + timedelta(hours=26), 26)
    assert [a["kind"] for a in file_alerts(lake)] == ["opened", "escalated", "resolved"]
    assert [m["text"].split("*")[1].split(":")[0] for m in webhook.received] == [
        "[P1] OPEN",
        "[P1] ESCALATED",
        "[P1] RESOLVED",
    ]

    (incident,) = IncidentStore(backend.blobs).list()
    assert incident.state is State.RESOLVED
    events = [e.event for e in incident.timeline]
    assert events[:3] == ["detected", "alerted", "escalated"]
    assert events[-3:] == ["revalidated", "resolved", "alerted"]
    review = backend.blobs.get(f"flightdq-incidents/reviews/{incident.id}.md").decode()
    assert "# Post-incident review" in review and "| revalidated |" in review


def test_a_severity_rise_alerts_again_once(lake, backend, channels):
    step(backend, channels, presence(Status.FAIL, Severity.P2), T0, 0)
    step(backend, channels, presence(Status.FAIL, Severity.P0), T0 + timedelta(minutes=5), 1)
    step(backend, channels, presence(Status.FAIL, Severity.P0), T0 + timedelta(minutes=10), 2)
    step(backend, channels, presence(Status.FAIL, Severity.P2), T0 + timedelta(minutes=12), 3)
    assert [(a["kind"], a["severity"]) for a in file_alerts(lake)] == [
        ("opened", "P2"),
        ("severity_raised", "P0"),
    ]


def test_a_notifier_that_is_down_delays_the_alert_but_loses_nothing(lake, backend, channels, webhook):
    webhook.up = False
    with pytest.raises(AlertDeliveryError, match="slack"):
        step(backend, channels, presence(Status.FAIL), T0, 0)
    (incident,) = IncidentStore(backend.blobs).open()  # the incident is recorded all the same
    assert incident.severity == "P1"
    assert [a["kind"] for a in file_alerts(lake)] == ["opened"]  # the working channel got it once
    assert webhook.received == []

    with pytest.raises(AlertDeliveryError):  # a retry while still down: fails loudly again
        step(backend, channels, presence(Status.FAIL), T0 + timedelta(minutes=2), 0)
    webhook.up = True
    step(backend, channels, presence(Status.FAIL), T0 + timedelta(minutes=4), 0)  # the retry that works
    step(backend, channels, presence(Status.FAIL), T0 + timedelta(minutes=6), 1)
    assert len(webhook.received) == 1 and "[P1] OPEN" in webhook.received[0]["text"]
    assert [a["kind"] for a in file_alerts(lake)] == ["opened"]
    assert TOKEN not in json.dumps(file_alerts(lake))  # the webhook token (a secret) is never written


def test_alerts_carry_what_on_call_needs(lake, backend, channels):
    step(backend, channels, presence(Status.FAIL), T0, 0)
    (alert,) = file_alerts(lake)
    assert (alert["severity"], alert["dataset"], alert["dt"], alert["check"]) == (
        "P1",
        "flightdata_processed",
        DT,
        "partition_presence",
    )
    assert alert["observed"] == 0 and alert["expected"] == ">0 rows"
    assert alert["links"] == {"airflow_run": "http://af/0"}
    assert any("Re-run the ETL" in step for step in alert["runbook"])
    assert alert["remediation"] == "none yet"


def test_unresolved_incident_days_stay_out_of_the_baseline(lake, backend, channels):
    from flightdq.incidents.store import Event, EventKind

    store = IncidentStore(backend.blobs)
    drift = {"dataset": "flightdata_processed", "check": "record_count_drift"}
    store.append("data", DT, Event(T0.isoformat(), EventKind.DETECTED, "drop", "P2", **drift))
    assert store.unresolved_days(["flightdata_processed"], ["record_count_drift"], [DT]) == {DT}
    assert store.unresolved_days(["flightdata_processed"], ["duplicates"], [DT]) == set()
    store.append("data", DT, Event((T0 + timedelta(hours=1)).isoformat(), EventKind.RESOLVED, "repaired"))
    assert store.unresolved_days(["flightdata_processed"], ["record_count_drift"], [DT]) == set()


@pytest.mark.slow
def test_no_alert_names_an_aircraft(tmp_path, monkeypatch):
    """Alerts from every kind of planted fault carry counts and rule names, never an icao24 or a
    callsign from the data."""
    import re

    import pyarrow.parquet as pq

    from flightdq.backends.local.backend import LocalBackend
    from flightdq.checks.runner import run_checks
    from flightdq.core.config import Settings
    from flightdq.core.dates import iter_days
    from flightdq_dev.generator import default_demo_faults, generate_lake

    end = datetime(2026, 11, 25).date()
    root = tmp_path / "lake"
    generate_lake(root, end=end, days=30, seed=9, size="small", faults=default_demo_faults(end))
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(root))
    backend = LocalBackend(Settings.from_env())
    days = list(iter_days(end - timedelta(days=11), end))
    results = run_checks(days, T0, backend=backend, run_id="scan")
    notifier = FileNotifier(root / "alerts.jsonl")
    manage_incidents(backend, results, run_id="scan", links={}, notifiers=[notifier], now=T0)
    text = (root / "alerts.jsonl").read_text()
    assert text.count("\n") >= 10  # every fault kind alerted

    identities = set()
    for path in (root / "flightdata-processed").rglob("*.parquet"):
        table = pq.read_table(path)
        for column in ("icao24", "callsign", "call_sign"):
            if column in table.column_names:
                identities |= {v for v in table.column(column).to_pylist() if v}
    assert len(identities) > 100
    leaked = {v for v in identities if re.search(rf"(?<![0-9A-Za-z]){re.escape(v)}(?![0-9A-Za-z])", text)}
    assert leaked == set()


def test_incident_cli_lists_open_incidents_and_writes_a_review(lake, backend, channels, capsys, tmp_path):
    from flightdq.cli import main

    step(backend, channels, presence(Status.FAIL), T0, 0)
    assert main(["incident", "list", "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["incidents"]
    assert row["id"] == "2026-11-25__data__1"
    assert row["cause"] == "partition_presence on flightdata_processed"
    assert row["severity"] == "P1" and row["response_minutes"] == 60 and row["overdue"] is True
    assert row["respond_within_minutes"] == 0
    assert main(["incident", "list"]) == 0
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("P1")]
    assert " now " in line and "OVERDUE by " in line and " 60m " not in line  # not "respond in 60m"
    out = tmp_path / "review.md"
    assert main(["incident", "report", row["id"], "--out", str(out)]) == 0
    assert out.read_text().startswith("# Post-incident review: partition_presence on flightdata_processed")
    assert "- **Open for:**" in out.read_text()  # not "time to resolve" while it is open
    assert main(["incident", "report", "nope"]) == 2
    assert "no incident 'nope'" in capsys.readouterr().err


def test_on_aws_an_incident_links_the_athena_queries_behind_it(lake, backend, channels):
    from flightdq.core.links import AwsConsole, NoConsole
    from flightdq.incidents.manage import result_links

    result = presence(Status.FAIL)
    result.details["queries"] = [
        {"template": "partition_stats", "engine": "athena", "query_execution_id": "q-123"}
    ]
    assert result_links(NoConsole(), result) == {}
    links = result_links(AwsConsole(), result)
    assert list(links) == ["athena_query"] and "q-123" in links["athena_query"]
    manage_incidents(
        backend,
        [result],
        run_id="r",
        links={},
        notifiers=channels,
        now=T0,
        links_for=lambda r: result_links(AwsConsole(), r),
    )
    (alert,) = file_alerts(lake)
    assert "q-123" in alert["links"]["athena_query"]


def test_one_truncated_record_is_skipped_with_a_warning_and_breaks_no_other_day(
    lake, backend, channels, capsys
):
    """One truncated incident event file made `incident list`, `incident report` and `remediate`
    of every other day fail with a JSONDecodeError traceback; a truncated history file likewise."""
    from flightdq.cli import main
    from flightdq.storage.history import HistoryStore

    step(backend, channels, presence(Status.FAIL), T0, 0)
    other = "2026-11-20"
    bad_event = lake.root / "flightdq-incidents" / "events" / f"dt={other}" / "data" / "x__detected__1.json"
    bad_event.parent.mkdir(parents=True)
    bad_event.write_text('{"at": "2026-11-2')  # cut off by a full disk
    bad_history = lake.root / "flightdq-history" / "checks" / f"dt={DT}" / "cut.json"
    bad_history.parent.mkdir(parents=True, exist_ok=True)
    bad_history.write_text('[{"dt": "2026-11-25", "check"')
    assert main(["incident", "list", "--all", "--json"]) == 0
    captured = capsys.readouterr()
    assert [r["id"] for r in json.loads(captured.out)["incidents"]] == ["2026-11-25__data__1"]
    assert "warning: skipped 1 unreadable record file(s)" in captured.err and bad_event.name in captured.err
    assert main(["incident", "report", "2026-11-25__data__1"]) == 0
    assert "Post-incident review" in capsys.readouterr().out
    history = HistoryStore(backend.blobs)
    assert isinstance(history.read([DT]), list) and history.unreadable == [
        f"flightdq-history/checks/dt={DT}/cut.json"
    ]
