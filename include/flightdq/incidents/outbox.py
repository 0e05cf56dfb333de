"""The alert outbox: every alert reaches every channel exactly once.

Alerts go through an outbox in the BlobStore, so deduplication survives task retries and restarted
schedulers, and an alert that could not be delivered stays pending (and the task fails) until a
retry delivers it:

    flightdq-incidents/alerts/<alert key>/alert.json          the alert, created once (create-only)
    flightdq-incidents/alerts/<alert key>/<channel>.try-<n>   the n-th delivery try, claimed create-only
    flightdq-incidents/alerts/<alert key>/<channel>.failed-<n> why that try failed
    flightdq-incidents/alerts/<alert key>/<channel>.delivered  done
    flightdq-incidents/alerts-pending/<alert key>              an index: not yet on every channel

Delivery looks only at the pending index, so its cost does not grow with the number of alerts ever
sent. An outbox written before the index existed is indexed once, on first use.

A try claimed but neither delivered nor failed for `STALE_TRY_SECONDS` (its worker died mid-send)
is tried again: at worst a message goes out twice, never zero times.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from flightdq.core.dates import utcnow
from flightdq.incidents.alerts import Alert
from flightdq.incidents.notifiers import Notifier
from flightdq.incidents.store import INCIDENTS_ROOT
from flightdq.storage.blobstore import BlobStore

log = logging.getLogger(__name__)

ALERTS_ROOT = f"{INCIDENTS_ROOT}/alerts"
PENDING_ROOT = f"{INCIDENTS_ROOT}/alerts-pending"
INDEXED_MARKER = f"{INCIDENTS_ROOT}/alerts-index-v1"
STALE_TRY_SECONDS = 600


class AlertDeliveryError(RuntimeError):
    """Some alert could not be delivered; it stays pending and the next try sends it."""


class Outbox:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def enqueue(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Store each alert unless it already is; returns the ones that are new."""
        self._index_once()
        new = []
        for alert in alerts:
            body = json.dumps(asdict(alert), sort_keys=True, default=str).encode()
            if self.blobs.put_if_absent(f"{ALERTS_ROOT}/{alert.key}/alert.json", body):
                self.blobs.put(f"{PENDING_ROOT}/{alert.key}", b"")
                new.append(alert)
        return new

    def pending(self) -> dict[str, tuple[Alert, set[str]]]:
        """alert key -> (the alert, the names of its marker files), for the alerts not yet sent
        everywhere, oldest first."""
        found = {}
        for index_key in self.blobs.list(f"{PENDING_ROOT}/"):
            key = index_key.rsplit("/", 1)[-1]
            alert, markers = self._read(key)
            if alert is not None:
                found[key] = (alert, markers)
        return dict(sorted(found.items(), key=lambda kv: kv[1][0].created_at))

    def _read(self, key: str) -> tuple[Alert | None, set[str]]:
        alert, markers = None, set()
        for blob_key in self.blobs.list(f"{ALERTS_ROOT}/{key}/"):
            name = blob_key.rsplit("/", 1)[-1]
            if name == "alert.json":
                alert = Alert(**json.loads(self.blobs.get(blob_key) or b"{}"))
            else:
                markers.add(name)
        return alert, markers

    def _index_once(self) -> None:
        """Index the alerts an earlier version left pending (it kept no index)."""
        if self.blobs.get(INDEXED_MARKER) is not None:
            return
        for key in {k.split("/")[2] for k in self.blobs.list(f"{ALERTS_ROOT}/")}:
            if not any(m.endswith(".delivered") for m in self._read(key)[1]):
                self.blobs.put(f"{PENDING_ROOT}/{key}", b"")
        self.blobs.put(INDEXED_MARKER, b"")

    def deliver(self, notifiers: Sequence[Notifier], now: datetime | None = None) -> dict[str, list]:
        """Send every pending alert on every channel it has not reached, trying everything (one
        broken channel does not block the others). The report's `failed` says what stays pending;
        `first_delivered` holds the alerts that reached their first channel just now."""
        now = now or utcnow()
        self._index_once()
        report: dict[str, list] = {"delivered": [], "failed": [], "skipped": [], "first_delivered": []}
        for key, (alert, markers) in self.pending().items():
            first = not any(m.endswith(".delivered") for m in markers)
            before = len(report["delivered"])
            reached = {n.channel for n in notifiers if f"{n.channel}.delivered" in markers}
            for notifier in notifiers:
                channel = notifier.channel
                if channel in reached:
                    continue
                attempt = self._claim(key, channel, markers, now)
                if attempt is None:
                    report["skipped"].append(f"{key} via {channel}")  # another worker is sending it
                    continue
                base = f"{ALERTS_ROOT}/{key}/{channel}"
                try:
                    notifier.send(alert)
                except Exception as exc:  # any failure of the channel: keep the alert pending
                    reason = f"{type(exc).__name__}: {exc}"[:500]
                    self.blobs.put(
                        f"{base}.failed-{attempt}",
                        json.dumps({"at": now.isoformat(), "error": reason}).encode(),
                    )
                    log.error("alert %s via %s failed: %s", key, channel, reason)
                    report["failed"].append(f"{key} via {channel}: {reason}")
                    continue
                self.blobs.put(f"{base}.delivered", json.dumps({"at": now.isoformat()}).encode())
                report["delivered"].append(f"{key} via {channel}")
                reached.add(channel)
            if first and len(report["delivered"]) > before:
                report["first_delivered"].append(alert)
            if reached >= {n.channel for n in notifiers}:
                self.blobs.delete(f"{PENDING_ROOT}/{key}")
        return report

    def _claim(self, key: str, channel: str, markers: set[str], now: datetime) -> int | None:
        tries = sorted(int(m.rsplit("-", 1)[1]) for m in markers if m.startswith(f"{channel}.try-"))
        if tries:
            last = tries[-1]
            if f"{channel}.failed-{last}" not in markers:
                claimed = json.loads(self.blobs.get(f"{ALERTS_ROOT}/{key}/{channel}.try-{last}") or b"{}")
                age = (now - datetime.fromisoformat(claimed.get("at", now.isoformat()))).total_seconds()
                if age < STALE_TRY_SECONDS:
                    return None
        attempt = (tries[-1] + 1) if tries else 1
        body = json.dumps({"at": now.isoformat(), "pid": os.getpid()}).encode()
        if not self.blobs.put_if_absent(f"{ALERTS_ROOT}/{key}/{channel}.try-{attempt}", body):
            return None
        return attempt
