"""Time to detect an ingestion stop: flightdq_freshness's scheduled runs (every 15 minutes) replayed
over a day in progress, each as its tasks run it (`resolve_target` from the run's data interval, the
freshness check, the incidents step at the run's moment). A raw feed that stops must be alerted within
75 minutes of its last snapshot (the 60-minute threshold plus the 15-minute schedule) with one
opening alert; a feed that keeps going gets none."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime, timedelta

import pytest

from flightdq.airflow.tasks import INTRADAY, ChecksFailed, resolve_target, run_check_group, task_backend
from flightdq.core.contract import FRESHNESS
from flightdq.incidents.manage import incidents_for_run
from flightdq_dev.generator import generate_lake
from flightdq_dev.generator.faults import STOPS_EARLY_HOUR

DAY = datetime(2026, 11, 25, tzinfo=UTC)
EVERY = timedelta(minutes=15)


def replay(lake, alerts_file, monkeypatch, first: datetime, last: datetime) -> list[tuple[datetime, dict]]:
    """Each scheduled run of the freshness DAG from `first` to `last`; (run moment, alert) as sent."""
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(lake))
    monkeypatch.setenv("FLIGHTDQ_ALERTS_FILE", str(alerts_file))
    sent: list[tuple[datetime, dict]] = []
    moment = first
    while moment <= last:
        run_id = f"scheduled__{(moment - EVERY).isoformat()}"
        target = resolve_target({}, mode=INTRADAY, data_interval_end=moment, run_after=moment, max_days=31)
        with suppress(ChecksFailed):  # a finding: the incidents step turns it into an alert
            run_check_group(FRESHNESS, target, run_id, task_backend())
        before = len(alerts_file.read_text().splitlines()) if alerts_file.exists() else 0
        incidents_for_run(target["days"], run_id, "flightdq_freshness", backend=task_backend(), now=moment)
        lines = alerts_file.read_text().splitlines() if alerts_file.exists() else []
        sent += [(moment, json.loads(line)) for line in lines[before:]]
        moment += EVERY
    return sent


@pytest.mark.parametrize("stops", [True, False], ids=["ingestion-stops", "keeps-ingesting"])
def test_an_ingestion_stop_is_alerted_within_75_minutes_once(tmp_path, monkeypatch, stops):
    lake = tmp_path / "lake"
    faults = {"stops_early": DAY.date()} if stops else {}
    generate_lake(lake, end=DAY.date(), days=15, size="small", faults=faults)
    first = DAY + timedelta(hours=STOPS_EARLY_HOUR - 2)
    sent = replay(lake, tmp_path / "alerts.jsonl", monkeypatch, first, DAY + timedelta(hours=20))
    if not stops:
        assert sent == []
        return
    last_snapshot = last_raw_time(lake)
    opened = [(moment, alert) for moment, alert in sent if alert["kind"] == "opened"]
    assert len(opened) == 1, sent
    moment, alert = opened[0]
    assert alert["check"] == FRESHNESS and alert["dt"] == str(DAY.date())
    detected_after = moment - last_snapshot
    print(f"ingestion stop alerted {detected_after.total_seconds() / 60:.0f} min after the last snapshot")
    assert timedelta(minutes=60) < detected_after <= timedelta(minutes=75)


def last_raw_time(lake) -> datetime:
    """The newest raw snapshot's `time` of DAY, from the object names (states_<unix>.json[.gz])."""
    folder = lake / "flightdata-raw" / f"year={DAY:%Y}" / f"month={DAY:%m}" / f"day={DAY:%d}"
    times = [int(p.name.split("_")[1].split(".")[0]) for p in folder.rglob("states_*")]
    return datetime.fromtimestamp(max(times), tz=UTC)
