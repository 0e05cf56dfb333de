"""A killed run is taken over in one rerun (issue 19, invariant 5): kill -9 during a one-day rebuild,
then ONE rerun repairs the day and sends nothing a clean run would not; a live claim is respected."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import SMALL_LAKE_END

AS_OF = "2026-11-26T02:00:00Z"
DAY = str(SMALL_LAKE_END)


def _remediate_cmd() -> list[str]:
    return [sys.executable, "-m", "flightdq.cli", "remediate", "--date", DAY, "--as-of", AS_OF]


def _running_claims(lake: Path) -> list[tuple[str, int]]:
    try:
        with sqlite3.connect(lake / "_catalog" / "flightdata.sqlite", timeout=1) as conn:
            return conn.execute("SELECT run_id, pid FROM etl_runs WHERE state = 'RUNNING'").fetchall()
    except sqlite3.Error:
        return []


def _alerts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def broken_day(small_lake, tmp_path, monkeypatch):
    alerts = tmp_path / "alerts.jsonl"
    monkeypatch.setenv("FLIGHTDQ_ALERTS_FILE", str(alerts))
    shutil.rmtree(small_lake.partition_folder(DAY))
    return small_lake.lake, alerts


@pytest.mark.parametrize("reap_during_rerun", [True, False], ids=["reaped-while-rerun-waits", "zombie"])
def test_a_run_killed_holding_the_claim_is_taken_over_by_one_rerun(broken_day, reap_during_rerun):
    lake, alerts = broken_day
    victim = subprocess.Popen(_remediate_cmd(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while not _running_claims(lake):
            assert victim.poll() is None, "the remediation ended before it claimed the ETL run"
            assert time.monotonic() < deadline, "no ETL claim within 60 s"
            time.sleep(0.02)
        os.kill(victim.pid, signal.SIGKILL)  # not reaped yet: its pid is still there, as a zombie
        time.sleep(0.3)
        alerts_before = _alerts(alerts)
        rerun = subprocess.Popen(_remediate_cmd(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if reap_during_rerun:
            time.sleep(1.0)
            victim.wait()
        try:
            out, err = rerun.communicate(timeout=60)
        finally:
            rerun.kill()
    finally:
        victim.kill()
        victim.wait()
    assert rerun.returncode == 0, out + err
    (day,) = [line.split() for line in out.splitlines() if line.startswith(DAY)]
    assert day[2] == "repaired"
    assert _alerts(alerts) == alerts_before  # a clean repair alerts nobody
    states = sorted(
        r[0]
        for r in sqlite3.connect(lake / "_catalog" / "flightdata.sqlite").execute(
            "SELECT state FROM etl_runs WHERE dt = ?", (DAY,)
        )
    )
    assert states == ["ABANDONED", "SUCCEEDED"]


def test_a_claim_held_by_a_live_process_is_respected(small_lake):
    from flightdq.backends.local.catalog import process_identity

    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        time.sleep(0.2)
        catalog = small_lake.catalog
        with catalog.connect() as conn:
            conn.execute(
                "INSERT INTO etl_runs (run_id, dt, state, pid, owner) VALUES (?, ?, 'RUNNING', ?, ?)",
                ("held", DAY, holder.pid, process_identity(holder.pid)),
            )
        assert catalog.claim_etl_run(DAY, "second", os.getpid()) == "held"
        with pytest.raises(Exception, match="still running"):
            small_lake.run_etl(SMALL_LAKE_END, wait_seconds=0.5)
    finally:
        holder.kill()
        holder.wait()
    run = small_lake.run_etl(SMALL_LAKE_END)  # its owner is gone now: taken over at once
    assert run.state == "SUCCEEDED" and not run.attached
