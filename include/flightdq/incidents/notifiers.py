"""The channels alerts go out on: a local file (always), Slack (an Airflow connection, optional),
Amazon SNS (on AWS)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Protocol

from flightdq.core.config import RETIRED_SLACK_WEBHOOK_SETTING, ConfigError, slack_conn_id
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
    """Slack, through the Slack provider's `SlackWebhookHook` and an Airflow connection of type
    `slackwebhook` (the webhook URL, or host plus token, is a secret kept in the connection)."""

    channel = "slack"

    def __init__(self, conn_id: str, timeout: int = 10) -> None:
        self.conn_id = conn_id
        self.timeout = timeout

    def send(self, alert: Alert) -> None:
        from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        # Raises on any answer but HTTP 200: the outbox then keeps the alert pending.
        SlackWebhookHook(slack_webhook_conn_id=self.conn_id, timeout=self.timeout).send(
            text=f"*{alert.subject}*\n```{alert.text()}```"
        )

    def __repr__(self) -> str:
        return f"SlackNotifier(conn_id={self.conn_id!r})"


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


def slack_connection_exists(conn_id: str) -> bool:
    """Whether Airflow knows the connection (environment, secrets backend or metadata DB). No
    connection is no Slack channel, not an error."""
    from airflow.providers.common.compat.sdk import AirflowNotFoundException, BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        return False
    return True


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


def notifiers_from_env(
    lake: Path, backend: str, aws_conn_id: str, env: Mapping[str, str] | None = None
) -> list[Notifier]:
    """The channels alerts go out on: the file always; Slack when the Airflow connection
    `FLIGHTDQ_SLACK_CONN_ID` names (default `slack_flightdq`) exists; SNS on AWS with a topic."""
    env = os.environ if env is None else env
    conn_id = slack_conn_id(env)
    if env.get(RETIRED_SLACK_WEBHOOK_SETTING):  # never echoed: the URL is a secret
        raise ConfigError(
            f"{RETIRED_SLACK_WEBHOOK_SETTING} is no longer read: Slack alerts go through the Airflow "
            f"connection {conn_id!r} (type slackwebhook, the webhook URL as its password), e.g. "
            f'AIRFLOW_CONN_{conn_id.upper()}=\'{{"conn_type": "slackwebhook", "password": '
            f'"<webhook URL>"}}\'. Move the URL there and unset {RETIRED_SLACK_WEBHOOK_SETTING}.'
        )
    notifiers: list[Notifier] = [FileNotifier(alerts_file(lake, env))]
    if slack_connection_exists(conn_id):
        notifiers.append(SlackNotifier(conn_id))
    else:
        log.info("no Airflow connection %r: Slack alerts are off", conn_id)
    if backend == "aws" and env.get("FLIGHTDQ_SNS_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["FLIGHTDQ_SNS_TOPIC_ARN"], aws_conn_id))
    return notifiers
