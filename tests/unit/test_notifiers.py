"""The alert channels: Slack goes through the Slack provider's SlackWebhookHook and an Airflow
connection (here a JSON `AIRFLOW_CONN_*` variable pointing at a webhook on 127.0.0.1); without the
connection Slack is off; the outbox sends each alert once per channel, a failed send staying pending."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from flightdq.airflow.notifiers import SlackNotifier, SnsNotifier, notifiers_from_env
from flightdq.core.config import ConfigError, Settings
from flightdq.incidents.alerts import Alert
from flightdq.incidents.notifiers import FileNotifier
from flightdq.incidents.outbox import Outbox

TOKEN = "T0000/B0000/not-a-real-secret"


class Webhook:
    """A Slack-like incoming webhook on 127.0.0.1 that can be taken down and brought back."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.up = True
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if not outer.up:
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"down")
                    return
                outer.received.append(json.loads(body))
                outer.paths.append(self.path)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")  # what Slack answers

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.host = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.url = f"{self.host}/{TOKEN}"

    def connection_json(self) -> str:
        """The Airflow connection, as an AIRFLOW_CONN_* variable holds it (JSON form)."""
        return json.dumps({"conn_type": "slackwebhook", "host": self.host, "password": TOKEN})

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook(monkeypatch):
    hook = Webhook()
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_FLIGHTDQ", hook.connection_json())
    yield hook
    hook.stop()


def alert(key: str = "a1", kind: str = "opened") -> Alert:
    return Alert(
        key=key,
        kind=kind,
        incident_id="inc-1",
        severity="P1",
        dataset="flightdata_processed",
        dt="2026-11-25",
        check="partition_presence",
        observed=0,
        expected=">0 rows",
        message="partition is missing",
        remediation="none yet",
        runbook=["Re-run the ETL"],
        created_at="2026-11-26T02:00:00+00:00",
    )


def test_slack_posts_the_alert_through_the_connection(webhook):
    SlackNotifier("slack_flightdq").send(alert())
    assert webhook.paths == [f"/{TOKEN}"]  # host + token from the connection make the URL
    (body,) = webhook.received
    assert body["text"].startswith("*[P1] OPEN: partition_presence on flightdata_processed 2026-11-25*\n```")
    assert "partition is missing" in body["text"] and body["text"].endswith("```")


def test_a_webhook_that_answers_an_error_raises(webhook):
    webhook.up = False
    with pytest.raises(Exception, match="503"):
        SlackNotifier("slack_flightdq").send(alert())
    assert webhook.received == []


def test_no_connection_no_slack_channel(tmp_path, monkeypatch):
    monkeypatch.delenv("AIRFLOW_CONN_SLACK_FLIGHTDQ", raising=False)
    channels = notifiers_from_env(tmp_path, "local", "aws_default", env={})
    assert [n.channel for n in channels] == ["file"]


def test_the_connection_turns_slack_on_and_its_id_is_a_setting(tmp_path, monkeypatch, webhook):
    (file, slack) = notifiers_from_env(tmp_path, "local", "aws_default", env={})
    assert isinstance(file, FileNotifier) and slack.conn_id == "slack_flightdq"

    env = {"FLIGHTDQ_SLACK_CONN_ID": "slack_oncall"}
    assert [n.channel for n in notifiers_from_env(tmp_path, "local", "aws_default", env=env)] == ["file"]
    monkeypatch.setenv("AIRFLOW_CONN_SLACK_ONCALL", webhook.connection_json())
    channels = notifiers_from_env(tmp_path, "local", "aws_default", env=env)
    assert [(n.channel, getattr(n, "conn_id", None)) for n in channels] == [
        ("file", None),
        ("slack", "slack_oncall"),
    ]
    assert Settings.from_env(env).slack_conn_id == "slack_oncall"
    assert Settings.from_env({}).slack_conn_id == "slack_flightdq"


def test_sns_only_on_aws_with_a_topic(tmp_path):
    env = {"FLIGHTDQ_SNS_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:dq"}
    assert [n.channel for n in notifiers_from_env(tmp_path, "local", "aws_default", env=env)] == ["file"]
    channels = notifiers_from_env(tmp_path, "aws", "aws_dq", env=env)
    assert isinstance(channels[-1], SnsNotifier) and channels[-1].aws_conn_id == "aws_dq"


def test_the_retired_webhook_setting_is_refused_without_echoing_it(tmp_path):
    secret = "https://hooks.example.invalid/services/T1/B1/secret"
    with pytest.raises(ConfigError, match="FLIGHTDQ_SLACK_WEBHOOK_URL is no longer read") as caught:
        notifiers_from_env(tmp_path, "local", "aws_default", env={"FLIGHTDQ_SLACK_WEBHOOK_URL": secret})
    assert secret not in str(caught.value)
    assert "AIRFLOW_CONN_SLACK_FLIGHTDQ" in str(caught.value)


def test_outbox_sends_each_alert_once_and_a_failed_send_stays_pending(tmp_path, webhook, backend):
    outbox = Outbox(backend.blobs)
    channels = notifiers_from_env(tmp_path, "local", "aws_default", env={})
    now = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
    assert outbox.enqueue([alert("a1")]) != []

    webhook.up = False  # Slack down: the file gets it, Slack stays pending
    report = outbox.deliver(channels, now)
    assert report["delivered"] == ["a1 via file"]
    assert [f.split(":")[0] for f in report["failed"]] == ["a1 via slack"]
    assert list(outbox.pending()) == ["a1"]

    webhook.up = True  # the retry: Slack gets it once, the file is not written again
    report = outbox.deliver(channels, now + timedelta(minutes=2))
    assert report["delivered"] == ["a1 via slack"] and report["failed"] == []
    assert outbox.pending() == {}
    assert len(webhook.received) == 1

    assert outbox.enqueue([alert("a1")]) == []  # the same alert asked for again: already sent
    report = outbox.deliver(channels, now + timedelta(minutes=4))
    assert report["delivered"] == [] and len(webhook.received) == 1
    lines = (tmp_path / "flightdq-alerts.jsonl").read_text().splitlines()
    assert len(lines) == 1
