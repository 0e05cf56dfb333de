"""The AWS backend's connection as Airflow gives it: an Airflow connection (`settings.aws_conn_id`,
default `aws_default`) read through the amazon provider's hooks, so credentials, region, endpoint and
botocore config come from it (its extra `region_name`, `endpoint_url` or
`service_config.<service>.endpoint_url`, `config_kwargs`; without credentials in it, boto3's own
chain). The entry points, a task, the CLI and the page, build the backend with `backend()`; the
backends package itself only knows the `AwsConnection` port.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flightdq.backends.base import Backend
    from flightdq.core.config import Settings


class ProviderAwsConnection:
    """`flightdq.backends.aws.clients.AwsConnection` on the amazon provider's `AwsBaseHook`: one hook
    per service, made on first use (the provider is imported then, not when a DAG is parsed)."""

    def __init__(self, conn_id: str) -> None:
        self.conn_id = conn_id
        self.name = f"connection {conn_id!r}"

    def __repr__(self) -> str:
        return f"ProviderAwsConnection({self.conn_id!r})"

    def _hook(self, service: str) -> Any:
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=self.conn_id, client_type=service)

    def session(self) -> Any:
        return self._hook("sts").get_session()

    def client(self, service: str, config: Any = None) -> Any:
        hook = self._hook(service)
        return hook.get_client_type(config=None if config is None else hook.config.merge(config))


def backend(settings: Settings | None = None, *, writable: bool = True) -> Backend:
    """The configured backend, on AWS with the Airflow connection the settings name."""
    from flightdq.backends.registry import get_backend
    from flightdq.core.config import Settings

    settings = settings or Settings.from_env()
    return get_backend(settings, writable=writable, aws=ProviderAwsConnection(settings.aws_conn_id))
