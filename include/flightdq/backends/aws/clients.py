"""The AWS clients every part of the backend shares: made on first use from the `AwsConnection` the
entry point gives the backend (the Airflow layer's is an Airflow connection read through the amazon
provider's hooks: `flightdq.airflow.aws`); the one retry policy for AWS calls (`retrying`, on
tenacity: bounded attempts, exponential backoff with jitter while AWS throttles, answers 5xx or the
connection drops) and `AwsClients.call`, one API call under it. Also the polling and backoff bounds
(`AwsTuning`) and the check that a value is a partition day.

Nothing here calls AWS or resolves credentials until a client is first asked for; botocore is
imported inside the functions that need it. No framework: the connection is injected.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol

import tenacity

from flightdq.backends.base import BackendError
from flightdq.core import layout
from flightdq.core.errors import EnvironmentFault
from flightdq.etl.s3_io import error_code

log = logging.getLogger(__name__)

THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "RequestLimitExceeded", "SlowDown"}
)
SERVER_ERROR_CODES = frozenset(
    {"InternalServerException", "InternalFailure", "InternalServerError", "ServiceUnavailable"}
)


# Clients whose every call goes through `AwsClients.call`; the others (S3, the Glue catalog and job
# clients) are also used directly, by code written for botocore's own retries.
ONLY_CALLED_THROUGH_THE_POLICY = frozenset({"athena", "cloudwatch", "logs", "lambda"})


@dataclass(frozen=True)
class AwsTuning:
    """Polling, backoff and waiting bounds. The defaults suit AWS; tests shrink them."""

    athena_poll_seconds: float = 0.5  # between two polls of a query's state
    athena_timeout_seconds: float = 900.0  # then the query is cancelled and the check errors
    retry_attempts: int = 8  # attempts of a call refused by throttling, a 5xx or the connection
    backoff_base_seconds: float = 0.5  # wait before retry n: base * 2**(n-1), capped, equal jitter
    backoff_max_seconds: float = 20.0
    glue_poll_seconds: float = 30.0  # between two looks at a Glue run (the waiter's and the trigger's)
    glue_wait_seconds: float = 3 * 3600.0  # longest wait for a run (ours or one we attached to)
    concurrent_retry_seconds: float = 10.0  # first wait after ConcurrentRunsExceeded; doubles, max 120 s
    concurrent_wait_seconds: float = 2 * 3600.0  # longest total wait for the job's run slot


class AwsCredentialsMissing(EnvironmentFault):
    """The AWS connection resolves to no credentials: an error of the environment."""


class AwsConnection(Protocol):
    """The backend's port to AWS: where its boto3 session and clients come from (credentials, region,
    endpoints, botocore config), built by the entry point and passed in. The Airflow layer's reads an
    Airflow connection through the amazon provider's hooks (`flightdq.airflow.aws`); a test may pass
    plain boto3. Nothing is resolved until asked."""

    name: str  # how messages name it: "connection 'aws_default'"

    def session(self) -> Any:
        """The boto3 Session the clients are made from: credentials and region."""

    def client(self, service: str, config: Any = None) -> Any:
        """A new boto3 client of `service` (`s3`, `glue`, `athena`, `cloudwatch`, `logs`, `lambda`);
        a botocore Config given is merged over the connection's own."""


# The backend's client kinds -> boto3 service names (the Glue catalog and the Glue job share one).
SERVICES = {"glue_job": "glue", "glue_catalog": "glue"}


class AwsClients:
    """The boto3 clients of one backend (one per kind: `athena`, `glue_job`, `glue_catalog`, `s3`,
    and for the upstream diagnosis `cloudwatch`, `logs`, `lambda`), made on first use from its
    connection, and the retried call."""

    def __init__(self, connection: AwsConnection, tuning: AwsTuning, sleep: Callable[[float], None]) -> None:
        self.connection = connection
        self.tuning = tuning
        self.sleep = sleep
        self._session: Any = None
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()

    def session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = self.connection.session()
            return self._session

    def require_credentials(self) -> None:
        """Raise AwsCredentialsMissing unless the connection resolves to credentials. Resolving them
        makes no AWS call (the instance metadata lookup aside), so a machine without any fails here
        at once, in one line, instead of in every check."""
        from botocore.exceptions import BotoCoreError

        name = self.connection.name
        try:
            found = self.session().get_credentials()
        except BotoCoreError as exc:  # a named profile that is missing, a broken credential process
            raise AwsCredentialsMissing(
                f"AWS credentials for {name} cannot be resolved ({type(exc).__name__})"
            ) from None
        if found is None:
            raise AwsCredentialsMissing(
                f"no AWS credentials for {name} (none in the connection, the environment, the shared "
                "files or the instance profile)"
            )

    def client(self, kind: str) -> Any:
        with self._lock:
            client = self._clients.get(kind)
        if client is not None:
            return client
        service = SERVICES.get(kind, kind)
        if kind in ONLY_CALLED_THROUGH_THE_POLICY:
            from botocore.config import Config

            # `retrying` retries these (counted, bounded, logged): no second layer of retries under it,
            # which would multiply the attempts and the waits (an unreachable endpoint took minutes)
            config = Config(retries={"mode": "standard", "total_max_attempts": 1})
            client = self.connection.client(service, config)
        else:
            client = self.connection.client(service)
        with self._lock:
            return self._clients.setdefault(kind, client)

    def call(
        self, kind: str, operation: str, what: str, counter: list[int] | None = None, **kwargs: Any
    ) -> Any:
        """One API call, retried by `retrying` while AWS throttles it, answers 5xx or the connection
        drops. Other errors propagate at once."""
        method = getattr(self.client(kind), operation)
        policy = retrying(self.tuning, f"{what}: {operation}", counter=counter, sleep=self.sleep)
        return policy(method, **kwargs)


def is_transient(exc: BaseException) -> bool:
    """Throttling, a 5xx or a lost connection: worth another try."""
    from botocore.exceptions import ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0
        return code in THROTTLING_CODES or code in SERVER_ERROR_CODES or status >= 500
    return isinstance(exc, BotoConnectionError | HTTPClientError)


def retrying(
    tuning: AwsTuning,
    what: str,
    *,
    counter: list[int] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> tenacity.Retrying:
    """flightdq's one retry policy for AWS calls: at most `tuning.retry_attempts` attempts while
    `is_transient`; before retry n a wait between half and all of min(max, base * 2**(n-1)) (equal
    jitter); each refusal counted in `counter[0]` and each retry logged; refused every time, a
    `BackendError` saying how often. `retrying(...)(fn, *args, **kwargs)` calls `fn`, or
    `for attempt in retrying(...): with attempt: ...` retries a block."""
    half_base, half_cap = tuning.backoff_base_seconds / 2, tuning.backoff_max_seconds / 2

    def count(state: tenacity.RetryCallState) -> None:
        if counter is not None:
            counter[0] += 1

    def announce(state: tenacity.RetryCallState) -> None:
        log.warning(
            "%s refused (%s), retry %d in %.2fs",
            what, _refusal(state), state.attempt_number, state.upcoming_sleep,
        )  # fmt: skip

    def give_up(state: tenacity.RetryCallState) -> None:
        raise BackendError(
            f"{what} refused {state.attempt_number} times ({_refusal(state)}); gave up after "
            f"{tuning.retry_attempts} attempts"
        ) from state.outcome.exception()

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=tenacity.stop_after_attempt(tuning.retry_attempts),
        wait=tenacity.wait_exponential(multiplier=half_base, max=half_cap)
        + tenacity.wait_random_exponential(multiplier=half_base, max=half_cap),
        after=count,
        before_sleep=announce,
        retry_error_callback=give_up,
        sleep=sleep,
    )


def _refusal(state: tenacity.RetryCallState) -> str:
    exc = state.outcome.exception()
    return error_code(exc) or type(exc).__name__


def partition_day(value: date | str) -> str:
    """`value` as a partition value YYYY-MM-DD; anything else raises BackendError."""
    text = str(value)
    if not layout.is_partition_value(text):
        raise BackendError(f"{text!r} is not a partition value YYYY-MM-DD")
    return text
