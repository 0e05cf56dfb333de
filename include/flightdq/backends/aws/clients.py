"""The AWS clients every part of the backend shares: made on first use through the amazon provider's
hooks and one Airflow connection, and one API call retried with exponential backoff (and a bound)
while AWS throttles it or answers 5xx. Also the polling and backoff bounds (`AwsTuning`) and the
check that a value is a partition day.

Nothing here calls AWS or reads a connection until a client is first asked for; Airflow and botocore
are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flightdq.backends.base import BackendError
from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME
from flightdq.etl.s3_io import error_code

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "SlowDown"}
)
SERVER_ERROR_CODES = frozenset(
    {"InternalServerException", "InternalFailure", "InternalServerError", "ServiceUnavailable"}
)


@dataclass(frozen=True)
class AwsTuning:
    """Polling, backoff and waiting bounds. The defaults suit AWS; tests shrink them."""

    athena_poll_seconds: float = 0.2  # first poll of a query; grows x1.5 per poll up to the max
    athena_poll_max_seconds: float = 5.0
    athena_timeout_seconds: float = 900.0  # then the query is cancelled and the check errors
    retry_attempts: int = 8  # calls refused by throttling (or a 5xx) before giving up
    backoff_base_seconds: float = 0.5  # delay before retry n: base * 2**(n-1), capped, with jitter
    backoff_max_seconds: float = 20.0
    glue_poll_seconds: float = 1.0  # first poll of a job run; grows x1.5 per poll up to the max
    glue_poll_max_seconds: float = 30.0
    glue_wait_seconds: float = 3 * 3600.0  # longest wait for a run (ours or one we attached to)
    concurrent_retry_seconds: float = 10.0  # first wait after ConcurrentRunsExceeded; doubles, max 120 s
    concurrent_wait_seconds: float = 2 * 3600.0  # longest total wait for the job's run slot


class AwsClients:
    """The hooks and boto3 clients of one backend (one per service kind: `athena`, `glue_job`,
    `glue_catalog`, `s3`, and for the upstream diagnosis `cloudwatch`, `logs`, `lambda`), made on
    first use, and the retried call."""

    def __init__(self, conn_id: str, tuning: AwsTuning, sleep: Callable[[float], None]) -> None:
        self.conn_id = conn_id
        self.tuning = tuning
        self.sleep = sleep
        self._hooks: dict[str, Any] = {}
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def hook(self, kind: str) -> Any:
        with self._lock:
            hook = self._hooks.get(kind)
            if hook is None:
                hook = self._hooks[kind] = make_hook(kind, self.conn_id)
            return hook

    def client(self, kind: str) -> Any:
        with self._lock:
            client = self._clients.get(kind)
        if client is not None:
            return client
        hook = self.hook(kind)
        if kind == "athena":
            from botocore.config import Config

            # flightdq retries throttling itself (counted, bounded, logged): no retries underneath it
            config = hook.config.merge(Config(retries={"mode": "standard", "total_max_attempts": 1}))
            client = hook.get_client_type(config=config)
        else:
            client = hook.get_conn()
        with self._lock:
            return self._clients.setdefault(kind, client)

    def call(self, kind: str, operation: str, what: str, counter: list[int] | None = None, **kwargs):
        """One API call, retried with exponential backoff (and a bound) while AWS throttles it or
        answers 5xx. Other errors propagate."""
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        method = getattr(self.client(kind), operation)
        attempt = 0
        while True:
            try:
                return method(**kwargs)
            except ClientError as exc:
                code = error_code(exc)
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
                if code not in THROTTLING_CODES and code not in SERVER_ERROR_CODES and status < 500:
                    raise
                error: Exception = exc
            except (BotoConnectionError, HTTPClientError) as exc:  # a start carries a token: safe to repeat
                code, error = type(exc).__name__, exc
            attempt += 1
            if counter is not None:
                counter[0] += 1
            if attempt >= self.tuning.retry_attempts:
                raise BackendError(
                    f"{what}: {operation} refused {attempt} times ({code}); gave up after "
                    f"{self.tuning.retry_attempts} attempts"
                ) from error
            delay = backoff_delay(attempt, self.tuning.backoff_base_seconds, self.tuning.backoff_max_seconds)
            log.warning("%s: %s refused (%s), retry %d in %.2fs", what, operation, code, attempt, delay)
            self.sleep(delay)


def make_hook(kind: str, conn_id: str) -> Any:
    if kind == "athena":
        from airflow.providers.amazon.aws.hooks.athena import AthenaHook

        return AthenaHook(aws_conn_id=conn_id, log_query=False)
    if kind == "glue_job":
        from airflow.providers.amazon.aws.hooks.glue import GlueJobHook

        return GlueJobHook(aws_conn_id=conn_id, job_name=ETL_JOB_NAME)
    if kind == "glue_catalog":
        from airflow.providers.amazon.aws.hooks.glue_catalog import GlueCatalogHook

        return GlueCatalogHook(aws_conn_id=conn_id)
    if kind == "s3":
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=conn_id)
    if kind == "cloudwatch":  # the provider has no CloudWatch metrics hook: the generic one
        from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

        return AwsBaseHook(aws_conn_id=conn_id, client_type="cloudwatch")
    if kind == "logs":
        from airflow.providers.amazon.aws.hooks.logs import AwsLogsHook

        return AwsLogsHook(aws_conn_id=conn_id)
    if kind == "lambda":
        from airflow.providers.amazon.aws.hooks.lambda_function import LambdaHook

        return LambdaHook(aws_conn_id=conn_id)
    raise ValueError(f"no hook for {kind!r}")


def backoff_delay(attempt: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2**(attempt-1))."""
    ceiling = min(cap, base * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)


def partition_day(value: date | str) -> str:
    """`value` as a partition value YYYY-MM-DD; anything else raises BackendError."""
    text = str(value)
    if not layout.is_partition_value(text):
        raise BackendError(f"{text!r} is not a partition value YYYY-MM-DD")
    return text
