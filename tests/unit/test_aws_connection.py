"""The AWS backend's port to AWS (`AwsConnection`): the backend takes it from its entry point; the
Airflow layer's reads an Airflow connection through the amazon provider's hooks. No AWS call here."""

from __future__ import annotations

import json

import pytest

from flightdq.airflow.aws import ProviderAwsConnection, backend
from flightdq.backends.aws.clients import AwsClients, AwsCredentialsMissing, AwsTuning
from flightdq.backends.base import BackendError
from flightdq.backends.registry import get_backend
from flightdq.core.config import Settings
from flightdq.core.errors import EnvironmentFault

AWS = {"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_AWS_CONN_ID": "aws_dq"}


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """No credentials anywhere boto3 looks: environment, shared files, instance metadata."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DQ", json.dumps({"conn_type": "aws", "extra": {"region_name": "eu-west-1"}})
    )


def test_the_aws_backend_is_given_its_connection_by_the_entry_point():
    with pytest.raises(BackendError, match="connection"):
        get_backend(Settings.from_env(AWS))
    made = backend(Settings.from_env(AWS))
    assert made.name == "aws" and "connection 'aws_dq'" in repr(made)


def test_no_credentials_is_one_line_of_the_environment(no_credentials):
    with pytest.raises(AwsCredentialsMissing) as caught:
        backend(Settings.from_env(AWS)).require_credentials()
    assert isinstance(caught.value, EnvironmentFault)
    assert str(caught.value).startswith("no AWS credentials for connection 'aws_dq'")
    assert "\n" not in str(caught.value)


def test_the_airflow_connection_gives_clients_its_region_and_endpoint(no_credentials, monkeypatch):
    extra = {"region_name": "eu-west-1", "endpoint_url": "http://127.0.0.1:9"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_AWS_DQ", json.dumps({"conn_type": "aws", "login": "k", "password": "s", "extra": extra})
    )
    clients = AwsClients(ProviderAwsConnection("aws_dq"), AwsTuning(), lambda s: None)
    clients.require_credentials()
    assert clients.session().region_name == "eu-west-1"
    s3, athena = clients.client("s3"), clients.client("athena")
    assert s3.meta.endpoint_url == athena.meta.endpoint_url == "http://127.0.0.1:9"
    assert clients.client("glue_job").meta.service_model.service_name == "glue"
    assert athena.meta.config.retries["total_max_attempts"] == 1  # retried by the policy alone
    assert clients.client("s3") is s3  # made once
