"""The channel every alert goes out on: a local file. The channels behind an Airflow connection
(Slack, Amazon SNS) are in `flightdq.airflow.notifiers`; the entry point that chooses the
channels passes them down (`manage.incidents_for_run(notifiers=...)`)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from flightdq.core.config import ConfigError
from flightdq.incidents.alerts import Alert

log = logging.getLogger(__name__)


class Notifier(Protocol):
    channel: str

    def send(self, alert: Alert) -> None: ...


class FileNotifier:
    """The local default: one JSON line per alert in a file (and the task log)."""

    channel = "file"

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def send(self, alert: Alert) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as handle:
            handle.write(
                json.dumps({"subject": alert.subject, "text": alert.text(), **asdict(alert)}, default=str)
                + "\n"
            )
        log.warning("ALERT %s\n%s", alert.subject, alert.text())


def alerts_file(lake: Path, env: Mapping[str, str] | None = None) -> Path:
    """Where the file channel writes: FLIGHTDQ_ALERTS_FILE, default `flightdq-alerts.jsonl` in the lake."""
    env = os.environ if env is None else env
    return Path(env.get("FLIGHTDQ_ALERTS_FILE") or lake / "flightdq-alerts.jsonl")


def check_alerts_file(path: Path) -> None:
    """Refuse, in one line, an alerts file that cannot be appended to, before anything is done that
    would alert: a folder, a folder that does not exist, or one that cannot be written."""
    if path.is_dir():
        raise ConfigError(f"FLIGHTDQ_ALERTS_FILE {path} is a folder: name a file (it is appended to)")
    if not path.parent.is_dir():
        raise ConfigError(f"FLIGHTDQ_ALERTS_FILE {path}: the folder {path.parent} does not exist")
    if not os.access(path if path.exists() else path.parent, os.W_OK):
        raise ConfigError(f"FLIGHTDQ_ALERTS_FILE {path} cannot be written: permission denied")


def plain_notifiers(lake: Path, env: Mapping[str, str] | None = None) -> list[Notifier]:
    """The channels that need no framework: the alerts file. Slack and SNS go through Airflow
    connections: `flightdq.airflow.notifiers.notifiers_from_env` adds them where a task chooses."""
    return [FileNotifier(alerts_file(lake, env))]
