"""Check history: every result a run produced, kept as JSON records in the lake.

Layout (local lake; the same keys under an S3 prefix on AWS):
`flightdq-history/checks/dt=YYYY-MM-DD/<run>__<check>.json`, one JSON list of result records per
task of a run and day. A record carries the run id and the moment it was checked, so the latest
verdict on a (dataset, day, check) is the one with the newest `checked_at`.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

HISTORY_ROOT = "flightdq-history"
_SAFE = re.compile(r"[^A-Za-z0-9_.+-]")


def safe_name(value: str) -> str:
    return _SAFE.sub("_", value)[:180]


class HistoryStore:
    """Check history in a folder. (The AWS backend keeps the same records under an S3 prefix.)"""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / HISTORY_ROOT / "checks"
        self.remediations = Path(root) / HISTORY_ROOT / "remediations"

    def write(self, run_id: str, check: str, records: Iterable[dict[str, Any]]) -> list[str]:
        return _write_by_day(self.root, f"{safe_name(run_id)}__{check}.json", records)

    def write_remediation(self, run_id: str, records: Iterable[dict[str, Any]]) -> list[str]:
        """How each day of a remediation run ended (the incident timeline reads these)."""
        return _write_by_day(self.remediations, f"{safe_name(run_id)}.json", records)

    def read_remediations(self, days: Iterable[date | str]) -> list[dict[str, Any]]:
        return _read_days(self.remediations, days)

    def read(self, days: Iterable[date | str]) -> list[dict[str, Any]]:
        return _read_days(self.root, days)

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


def _write_by_day(root: Path, file_name: str, records: Iterable[dict[str, Any]]) -> list[str]:
    by_day: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        by_day.setdefault(record["dt"], []).append(record)
    written = []
    for dt, day_records in sorted(by_day.items()):
        folder = root / f"dt={dt}"
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
        with os.fdopen(fd, "w") as handle:
            json.dump(day_records, handle, indent=1, sort_keys=True, default=str)
        Path(tmp).replace(folder / file_name)  # readers see the old file or the new one, never half
        written.append(str(folder / file_name))
    return written


def _read_days(root: Path, days: Iterable[date | str]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for day in sorted({str(d) for d in days}):
        for path in sorted((root / f"dt={day}").glob("*.json")):
            records.extend(json.loads(path.read_text()))
    return records
