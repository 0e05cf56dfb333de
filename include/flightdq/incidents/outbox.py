"""The alert outbox: every alert reaches every channel exactly once.

Alerts go through an outbox in the BlobStore, so deduplication survives task retries and restarted
schedulers, and an alert that could not be delivered stays pending (and the task fails) until a
retry delivers it:

    flightdq-incidents/alerts/<alert key>/alert.json          the alert, created once (create-only)
    flightdq-incidents/alerts/<alert key>/<channel>.try-<n>   the n-th delivery try, claimed create-only
    flightdq-incidents/alerts/<alert key>/<channel>.failed-<n> why that try failed
    flightdq-incidents/alerts/<alert key>/<channel>.delivered  done

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
STALE_TRY_SECONDS = 600


class AlertDeliveryError(RuntimeError):
    """Some alert could not be delivered; it stays pending and the next try sends it."""


class Outbox:
    def __init__(self, blobs: BlobStore) -> None:
        self.blobs = blobs

    def enqueue(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Store each alert unless it already is; returns the ones that are new."""
        return [
            a
            for a in alerts
            if self.blobs.put_if_absent(
                f"{ALERTS_ROOT}/{a.key}/alert.json",
                json.dumps(asdict(a), sort_keys=True, default=str).encode(),
            )
        ]

    def alerts(self) -> dict[str, tuple[Alert, set[str]]]:
        """alert key -> (the alert, the names of its marker files)."""
        found: dict[str, tuple[Alert | None, set[str]]] = {}
        for key in self.blobs.list(f"{ALERTS_ROOT}/"):
            alert_key, name = key.removeprefix(f"{ALERTS_ROOT}/").rsplit("/", 1)
            alert, markers = found.get(alert_key, (None, set()))
            if name == "alert.json":
                alert = Alert(**json.loads(self.blobs.get(key) or b"{}"))
            else:
                markers.add(name)
            found[alert_key] = (alert, markers)
        return {k: (a, m) for k, (a, m) in found.items() if a is not None}

    def deliver(self, notifiers: Sequence[Notifier], now: datetime | None = None) -> dict[str, list]:
        """Send every pending alert on every channel it has not reached, trying everything (one
        broken channel does not block the others). The report's `failed` says what stays pending;
        `first_delivered` holds the alerts that reached their first channel just now."""
        now = now or utcnow()
        report: dict[str, list] = {"delivered": [], "failed": [], "skipped": [], "first_delivered": []}
        for key, (alert, markers) in sorted(self.alerts().items(), key=lambda kv: kv[1][0].created_at):
            if not any(m.endswith(".delivered") for m in markers) and any(
                f"{n.channel}.delivered" not in markers for n in notifiers
            ):
                before = len(report["delivered"])
            else:
                before = None
            for notifier in notifiers:
                channel = notifier.channel
                if f"{channel}.delivered" in markers:
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
            if before is not None and len(report["delivered"]) > before:
                report["first_delivered"].append(alert)
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
