"""The channels alerts go out on: a local file (always), Slack (a webhook, optional), Amazon SNS (on AWS)."""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

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


class SlackNotifier:
    """A Slack incoming webhook. The URL is a secret: it comes from the environment, never the logs."""

    channel = "slack"

    def __init__(self, webhook_url: str, timeout: float = 10.0) -> None:
        self._url = webhook_url
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        body = json.dumps({"text": f"*{alert.subject}*\n```{alert.text()}```"}).encode()
        request = urllib.request.Request(self._url, data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            if response.status >= 300:
                raise RuntimeError(f"Slack webhook answered HTTP {response.status}")

    def __repr__(self) -> str:
        return "SlackNotifier(<webhook from FLIGHTDQ_SLACK_WEBHOOK_URL>)"


class SnsNotifier:
    """Amazon SNS, through the amazon provider's hook and the Airflow connection."""

    channel = "sns"

    def __init__(self, topic_arn: str, aws_conn_id: str) -> None:
        self.topic_arn = topic_arn
        self.aws_conn_id = aws_conn_id

    def send(self, alert: Alert) -> None:
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        SnsHook(aws_conn_id=self.aws_conn_id).publish_to_target(
            target_arn=self.topic_arn,
            message=alert.text(),
            subject=alert.subject[:100],
            message_attributes={"severity": alert.severity, "check": alert.check, "dt": alert.dt},
        )


def notifiers_from_env(
    lake: Path, backend: str, aws_conn_id: str, env: Mapping[str, str] | None = None
) -> list[Notifier]:
    env = os.environ if env is None else env
    notifiers: list[Notifier] = [
        FileNotifier(Path(env.get("FLIGHTDQ_ALERTS_FILE") or lake / "flightdq-alerts.jsonl"))
    ]
    if env.get("FLIGHTDQ_SLACK_WEBHOOK_URL"):
        notifiers.append(SlackNotifier(env["FLIGHTDQ_SLACK_WEBHOOK_URL"]))
    if backend == "aws" and env.get("FLIGHTDQ_SNS_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["FLIGHTDQ_SNS_TOPIC_ARN"], aws_conn_id))
    return notifiers
