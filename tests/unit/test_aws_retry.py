"""The one retry policy for AWS calls (`clients.retrying`, on tenacity) and `AwsClients.call` under it:
throttling, 5xx and lost connections are retried with growing, jittered waits and counted; a bound
ends it with a `BackendError` saying how often the call was refused; anything else propagates at once."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from flightdq.backends.aws.clients import AwsClients, AwsTuning, retrying
from flightdq.backends.base import BackendError

TUNING = AwsTuning(retry_attempts=5, backoff_base_seconds=1.0, backoff_max_seconds=6.0)


def client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} from the test"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "StartQueryExecution",
    )


class Flaky:
    """Raises the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls: list[dict] = []

    def __call__(self, **kwargs):
        self.calls.append(kwargs)
        if self.errors:
            raise self.errors.pop(0)
        return {"answered": kwargs}


def test_throttled_n_times_then_answered_counts_each_refusal_and_waits_longer_each_time():
    sleeps: list[float] = []
    counter = [0]
    call = Flaky(*[client_error("TooManyRequestsException")] * 3)
    answer = retrying(TUNING, "test call", counter=counter, sleep=sleeps.append)(call, Token="t")
    assert answer == {"answered": {"Token": "t"}}
    assert len(call.calls) == 4 and all(c == {"Token": "t"} for c in call.calls)
    assert counter == [3]
    # equal jitter: the wait before retry n lies in [c/2, c], c = min(max, base * 2**(n-1))
    for n, slept in enumerate(sleeps, start=1):
        ceiling = min(TUNING.backoff_max_seconds, TUNING.backoff_base_seconds * 2 ** (n - 1))
        assert ceiling / 2 <= slept <= ceiling
    assert sleeps[0] <= sleeps[1] <= sleeps[2]


def test_waits_stay_under_the_cap():
    sleeps: list[float] = []
    tuning = AwsTuning(retry_attempts=9, backoff_base_seconds=1.0, backoff_max_seconds=3.0)
    call = Flaky(*[client_error("ThrottlingException")] * 8)
    retrying(tuning, "test call", sleep=sleeps.append)(call)
    assert len(sleeps) == 8 and max(sleeps) <= 3.0 and min(sleeps[3:]) >= 1.5


@pytest.mark.parametrize(
    "error",
    [
        client_error("InternalServerException", 500),
        client_error("SomethingNew", 503),
        client_error("SlowDown", 503),
        EndpointConnectionError(endpoint_url="http://127.0.0.1:1"),
    ],
    ids=["5xx-code", "5xx-status", "s3-slowdown", "connection"],
)
def test_server_errors_and_lost_connections_are_retried_too(error):
    counter = [0]
    call = Flaky(error)
    assert retrying(TUNING, "test call", counter=counter, sleep=lambda s: None)(call) == {"answered": {}}
    assert counter == [1] and len(call.calls) == 2


def test_the_bound_ends_it_with_a_backend_error_saying_how_often():
    sleeps: list[float] = []
    counter = [0]
    last = client_error("TooManyRequestsException")
    call = Flaky(*[client_error("TooManyRequestsException")] * 4, last, client_error("never reached"))
    with pytest.raises(BackendError) as raised:
        retrying(TUNING, "Athena query x: start_query_execution", counter=counter, sleep=sleeps.append)(call)
    assert str(raised.value) == (
        "Athena query x: start_query_execution refused 5 times (TooManyRequestsException); "
        "gave up after 5 attempts"
    )
    assert raised.value.__cause__ is last
    assert len(call.calls) == 5 and len(sleeps) == 4 and counter == [5]


def test_other_errors_propagate_at_once():
    sleeps: list[float] = []
    counter = [0]
    denied = client_error("AccessDeniedException", 400)
    call = Flaky(denied)
    with pytest.raises(ClientError) as raised:
        retrying(TUNING, "test call", counter=counter, sleep=sleeps.append)(call)
    assert raised.value is denied
    assert len(call.calls) == 1 and sleeps == [] and counter == [0]


def test_a_block_can_be_retried_with_the_same_policy():
    sleeps: list[float] = []
    call = Flaky(client_error("ThrottlingException"))
    for attempt in retrying(TUNING, "a block", sleep=sleeps.append):
        with attempt:
            answer = call()
    assert answer == {"answered": {}} and len(sleeps) == 1


class FakeAthenaClient:
    def __init__(self) -> None:
        self.get_query_execution = Flaky(
            client_error("TooManyRequestsException"), client_error("ThrottlingException")
        )


NO_CONNECTION: Any = None  # the tests below hand AwsClients its client


def test_aws_clients_call_uses_the_policy(monkeypatch):
    sleeps: list[float] = []
    clients = AwsClients(NO_CONNECTION, TUNING, sleeps.append)
    fake = FakeAthenaClient()
    monkeypatch.setattr(clients, "client", lambda kind: fake)

    counter = [0]
    assert clients.call("athena", "get_query_execution", "q", counter, QueryExecutionId="1") == {
        "answered": {"QueryExecutionId": "1"}
    }
    assert counter == [2] and len(sleeps) == 2

    short = AwsClients(NO_CONNECTION, AwsTuning(retry_attempts=2, backoff_base_seconds=0.0), sleeps.append)
    monkeypatch.setattr(short, "client", lambda kind: fake)
    fake.get_query_execution.errors = [client_error("TooManyRequestsException")] * 2
    with pytest.raises(
        BackendError, match=r"^q: get_query_execution refused 2 times \(TooManyRequestsException\)"
    ):
        short.call("athena", "get_query_execution", "q")
