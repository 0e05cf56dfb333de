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
from flightdq.core.errors import EnvironmentFault
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


class AlertsPathError(EnvironmentFault):
    """FLIGHTDQ_ALERTS_FILE (or the lake's default alerts file) cannot be a file: an error of the
    environment, said before anything runs rather than after a repair whose alert then stays stuck."""


def alerts_file(lake: Path, env: Mapping[str, str] | None = None) -> Path:
    """The file alerts are appended to, if it can be one: not a folder, in a folder that exists
    (the lake's default is made with the lake's records)."""
    env = os.environ if env is None else env
    given = env.get("FLIGHTDQ_ALERTS_FILE")
    path = Path(given or lake / "flightdq-alerts.jsonl")
    if path.is_dir():
        raise AlertsPathError(
            f"alerts file {path} is a folder (FLIGHTDQ_ALERTS_FILE names a file to append to)"
        )
    if given and path.parent.exists() and not path.parent.is_dir():
        raise AlertsPathError(f"alerts file {path}: {path.parent} is not a folder")
    return path


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
    # not `alerts_file()`: inside a DAG a bad path must not stop incidents being recorded; the
    # alert stays pending and the task fails on its delivery
    notifiers: list[Notifier] = [
        FileNotifier(Path(env.get("FLIGHTDQ_ALERTS_FILE") or lake / "flightdq-alerts.jsonl"))
    ]
    if slack_connection_exists(conn_id):
        notifiers.append(SlackNotifier(conn_id))
    else:
        log.info("no Airflow connection %r: Slack alerts are off", conn_id)
    if backend == "aws" and env.get("FLIGHTDQ_SNS_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["FLIGHTDQ_SNS_TOPIC_ARN"], aws_conn_id))
    return notifiers
