"""Check history: every result a run produced, kept as JSON records beside the lake.

Keys (in a folder of the local lake, or under an S3 prefix on AWS: see `flightdq.storage.blobstore`):
`flightdq-history/checks/dt=YYYY-MM-DD/<run>__<check>.json`, one JSON list of result records per
task of a run and day; `flightdq-history/remediations/dt=YYYY-MM-DD/<run>.json`, how each day of a
remediation run ended; `flightdq-history/gx-results/dt=YYYY-MM-DD/<run>.json`, schema validity's
outcome for the day in Great Expectations' validation-result shape. A record carries the run id
and the moment it was checked, so the latest verdict on a (dataset, day, check) is the one with the
newest `checked_at`.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import date
from typing import Any

from flightdq.storage.blobstore import BlobStore

log = logging.getLogger(__name__)

HISTORY_ROOT = "flightdq-history"
LATEST_DAY_KEY = f"{HISTORY_ROOT}/latest-checked-day"
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def safe_name(value: str) -> str:
    return _SAFE.sub("_", value)[:180]


class HistoryStore:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs
        self.checks = f"{HISTORY_ROOT}/checks"
        self.remediations = f"{HISTORY_ROOT}/remediations"
        self.gx_results = f"{HISTORY_ROOT}/gx-results"
        self.quarantine = f"{HISTORY_ROOT}/quarantine"  # raw objects the ETL could not read
        self.unreadable: list[str] = []  # record files skipped since this store was made

    def write(self, run_id: str, check: str, records: Iterable[dict[str, Any]]) -> list[str]:
        written = self._write_by_day(self.checks, f"{safe_name(run_id)}__{check}.json", records)
        days = sorted(key.split("dt=")[-1].split("/")[0] for key in written)
        kept = self.blobs.get(LATEST_DAY_KEY)
        if days and (kept is None or days[-1] > kept.decode()):
            self.blobs.put(LATEST_DAY_KEY, days[-1].encode())
        return written

    def write_remediation(self, run_id: str, records: Iterable[dict[str, Any]]) -> list[str]:
        """How each day of a remediation run ended (the incident timeline reads these)."""
        return self._write_by_day(self.remediations, f"{safe_name(run_id)}.json", records)

    def write_gx_result(self, run_id: str, dt: str, document: dict[str, Any]) -> str:
        """One day's schema-validity outcome as a GX validation result; returns its key, relative to
        the store's root (a history record that names it stays true when the lake moves)."""
        key = f"{self.gx_results}/dt={dt}/{safe_name(run_id)}.json"
        self.blobs.put(key, json.dumps(document, indent=1, default=str).encode())
        return key

    def write_quarantine(self, dt: str, objects: dict[str, int]) -> None:
        """Raw objects of day `dt` the ETL could not read (key under the raw bucket -> its size):
        from now on presence counts them as missing snapshots, until the object changes."""
        key = f"{self.quarantine}/dt={dt}.json"
        kept = self.read_quarantine(dt)
        self.blobs.put(key, json.dumps(kept | objects, sort_keys=True).encode())

    def read_quarantine(self, dt: str) -> dict[str, int]:
        data = self.blobs.get(f"{self.quarantine}/dt={dt}.json")
        if data is None:
            return {}
        try:
            found = json.loads(data)
            return {str(k): int(v) for k, v in found.items()}
        except (ValueError, TypeError, AttributeError):
            log.warning("unreadable quarantine record for dt=%s skipped", dt)
            self.unreadable.append(f"{self.quarantine}/dt={dt}.json")
            return {}

    def read_remediations(self, days: Iterable[date | str]) -> list[dict[str, Any]]:
        """How each day of each remediation run ended, each record with `run_key`: the file name it
        came from, i.e. the remediation run id as `safe_name` wrote it."""
        return [
            dict(record) | {"run_key": key.rsplit("/", 1)[-1].removesuffix(".json")}
            for day in sorted({str(d) for d in days})
            for key in self.day_files(self.remediations, day)
            for record in self.load(key)
        ]

    def read(self, days: Iterable[date | str]) -> list[dict[str, Any]]:
        return self._read_days(self.checks, days)

    def read_run(self, run_id: str, days: Iterable[date | str]) -> list[dict[str, Any]]:
        return [r for r in self.read(days) if r.get("run_id") == run_id]

    def latest(self, days: Iterable[date | str]) -> dict[tuple[str, str, str], dict[str, Any]]:
        """(dataset, dt, check) -> the newest record for it."""
        newest: dict[tuple[str, str, str], dict[str, Any]] = {}
        for record in self.read(days):
            key = (record["dataset"], record["dt"], record["check"])
            if key not in newest or record.get("checked_at", "") >= newest[key].get("checked_at", ""):
                newest[key] = record
        return newest

    def _write_by_day(self, prefix: str, file_name: str, records: Iterable[dict[str, Any]]) -> list[str]:
        by_day: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_day.setdefault(record["dt"], []).append(record)
        written = []
        for dt, day_records in sorted(by_day.items()):
            key = f"{prefix}/dt={dt}/{file_name}"
            self.blobs.put(key, json.dumps(day_records, indent=1, sort_keys=True, default=str).encode())
            written.append(self.blobs.location(key))
        return written

    def day_files(self, prefix: str, day: date | str) -> list[str]:
        """The record files of one day under `prefix` (`self.checks` or `self.remediations`)."""
        return self.blobs.list(f"{prefix}/dt={day}/")

    def load(self, key: str) -> list[dict[str, Any]]:
        """The records of one file ([] when it went away since it was listed). A file that is not
        a list of records (truncated by a full disk, edited by hand) is skipped with a warning, and
        named in `unreadable`: one bad file never breaks the reading of any other."""
        data = self.blobs.get(key)
        if data is None:
            return []
        try:
            records = json.loads(data)
            if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
                raise ValueError("not a list of records")
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
            if key not in self.unreadable:  # said once however often the day is read
                log.warning("unreadable history record %s skipped (%s)", key, type(exc).__name__)
                self.unreadable.append(key)
            return []
        return records

    def last_checked_day(self) -> str | None:
        """The newest day with a check record: kept in one small record as results are written, so
        it costs one read however old the lake is (a lake of an earlier version is listed once)."""
        kept = self.blobs.get(LATEST_DAY_KEY)
        if kept is not None:
            return kept.decode() or None
        days = {key.split("/")[2].removeprefix("dt=") for key in self.blobs.list(f"{self.checks}/")}
        return max(days) if days else None

    def _read_days(self, prefix: str, days: Iterable[date | str]) -> list[dict[str, Any]]:
        return [
            record
            for day in sorted({str(d) for d in days})
            for key in self.day_files(prefix, day)
            for record in self.load(key)
        ]
