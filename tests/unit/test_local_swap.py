"""Readers never see a day missing on the embedded lake (issue 19, invariant 6): `validate`'s presence
check, run in other processes at the same time as rebuilds swap the day's partition in again and
again, always finds the day registered with files."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from conftest import SMALL_LAKE_END
from flightdq.etl import transform as etl
from flightdq.recovery import publish

# One reader process: the presence check of `validate` (catalog location, then the files there) in a
# loop, bounded by count and time; prints how often it looked and what each failure said.
READER = """
import json, sys, time
from datetime import date, datetime, timedelta, UTC
from flightdq.backends.local.backend import LocalBackend
from flightdq.checks.runner import run_checks
from flightdq.core.config import Settings

day = date.fromisoformat(sys.argv[1])
as_of = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC) + timedelta(hours=2)
backend = LocalBackend(Settings.from_env(), writable=False)
looks, failures, deadline = 0, [], time.monotonic() + float(sys.argv[2])
print("ready", flush=True)
while looks < 5000 and time.monotonic() < deadline:
    for r in run_checks([day], as_of, checks=["partition_presence"], datasets=["flightdata_processed"],
                        backend=backend, record=False):
        if r.failed or str(r.status) != "pass":
            failures.append(r.message)
    looks += 1
print(json.dumps({"looks": looks, "failures": failures[:5], "failed": len(failures)}), flush=True)
"""


def test_presence_readers_beside_repeated_swaps_never_see_the_day_missing(small_lake):
    day, seconds = SMALL_LAKE_END, 25.0
    readers = [
        subprocess.Popen(
            [sys.executable, "-c", READER, str(day), str(seconds)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    try:
        for reader in readers:
            assert reader.stdout.readline().strip() == "ready"
        swaps, deadline = 0, time.monotonic() + seconds - 5
        while swaps < 40 and time.monotonic() < deadline:
            publish.rebuild_local(small_lake.lake, day, force=True)
            swaps += 1
        outputs = [reader.communicate(timeout=60)[0] for reader in readers]
        outcomes = [json.loads(out.strip().splitlines()[-1]) for out in outputs]
    finally:
        for reader in readers:
            reader.kill()
            reader.wait()
    assert swaps >= 5
    assert all(o["looks"] > 20 for o in outcomes), outcomes
    assert [o["failed"] for o in outcomes] == [0, 0], outcomes


@pytest.mark.parametrize("exchange", [True, False], ids=["renameat2", "no-renameat2"])
def test_a_reader_listing_the_day_beside_swaps_never_finds_it_empty(small_lake, monkeypatch, exchange):
    """A reader lists the folder as validate does, beside rebuilds whose first one replaces an old
    partition of other file names. Without renameat2's RENAME_EXCHANGE (macOS, some network mounts)
    the swap must not fall back to moving the old folder away first; with it, the old folder must not
    be deleted under a reader still listing it."""
    import threading

    from flightdq.core import layout

    if not exchange:
        monkeypatch.setattr(publish, "_exchange", lambda a, b: False)  # what such a file system answers
    day = SMALL_LAKE_END
    partition = small_lake.partition_folder(day)
    stray = partition / "part-00009.parquet"  # an old partition's file the rebuild does not write
    stray.write_bytes((partition / etl.PART_FILE).read_bytes())
    missing, looks, stop = [], [0], threading.Event()

    def reader() -> None:
        while not stop.is_set() and looks[0] < 200_000:
            if not layout.data_files(partition):
                missing.append(looks[0])
            looks[0] += 1

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        for _ in range(15):
            publish.rebuild_local(small_lake.lake, day, force=True)
            if time.monotonic() > deadline:
                break
    finally:
        stop.set()
        thread.join(timeout=10)
    assert looks[0] > 100 and missing == []
    assert [p.name for p in layout.data_files(partition)] == [etl.PART_FILE]  # the stray is gone
    assert not list(partition.parent.glob(f".dt={day}.*-*"))  # no staging or old folder left
