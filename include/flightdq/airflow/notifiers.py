"""The alert channels behind an Airflow connection: Slack (the Slack provider's webhook hook) and
Amazon SNS (the amazon provider's hook), and the choice of channels a task makes. The file channel,
which needs no framework, is `flightdq.incidents.notifiers.FileNotifier`."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from flightdq.core.config import RETIRED_SLACK_WEBHOOK_SETTING, ConfigError, slack_conn_id
from flightdq.incidents.alerts import Alert
from flightdq.incidents.notifiers import Notifier, plain_notifiers

log = logging.getLogger(__name__)


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
    notifiers = plain_notifiers(lake, env)
    if slack_connection_exists(conn_id):
        notifiers.append(SlackNotifier(conn_id))
    else:
        log.debug("no Airflow connection %r: Slack alerts are off", conn_id)
    if backend == "aws" and env.get("FLIGHTDQ_SNS_TOPIC_ARN"):
        notifiers.append(SnsNotifier(env["FLIGHTDQ_SNS_TOPIC_ARN"], aws_conn_id))
    return notifiers
