"""Athena, the AWS backend's SQL engine: it runs the same Trino templates as the embedded engine
(`queries.render(name, "trino")`). Every template filters `dt BETWEEN ...`, so Athena prunes to the
checked partitions.

The query lifecycle is PyAthena's (the DB-API driver the amazon provider's `AthenaSQLHook` wraps):
start, poll, read every result page (1,000 rows a page, the header row dropped) and type each value
by its column's type. Its Athena API calls go through `AwsClients.call`, so throttling, 5xx and lost
connections are retried, counted and bounded by flightdq's one policy (PyAthena's own retries and
botocore's are off). Result reuse is off (a reused result does not notice data that changed).
FAILED and CANCELLED raise `BackendError` naming the query execution id and Athena's reason; a query
still running after `athena_timeout_seconds` is cancelled. Each query appends its id and the bytes it
scanned to `query_log`, so the cost of checking is visible in every check result.
"""

from __future__ import annotations

import contextlib
import functools
import time
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flightdq.backends.aws.clients import AwsClients
from flightdq.backends.base import BackendError, PartitionFileUnreadable
from flightdq.core.contract import ATHENA_WORKGROUP, GLUE_DATABASE, QUERY_RESULTS_BUCKET
from flightdq.core.errors import data_files_named

if TYPE_CHECKING:
    from pyathena.converter import DefaultTypeConverter
    from pyathena.model import AthenaQueryExecution

QUERY_OUTPUT_LOCATION = f"s3://{QUERY_RESULTS_BUCKET}/"
NO_RESULT_REUSE = {"ResultReuseByAgeConfiguration": {"Enabled": False}}


class Athena:
    """Runs statements on Athena and logs each one (id, bytes scanned, seconds, rows, throttling)."""

    def __init__(self, clients: AwsClients, query_log: list[dict[str, Any]]) -> None:
        self._clients = clients
        self.query_log = query_log

    def run_sql(self, sql: str, *, label: str = "adhoc") -> list[dict[str, Any]]:
        """Run one Trino statement on Athena (database `flightdata`, workgroup `primary`, results to
        `s3://flightdata-query-results/`, result reuse off) and return all its rows, typed."""
        from pyathena.cursor import DictCursor
        from pyathena.error import Error as PyAthenaError

        started = time.monotonic()
        refused = [0]
        what = f"Athena query {label}"
        deadline = started + self._clients.tuning.athena_timeout_seconds
        last: list[AthenaQueryExecution] = []

        def watch(execution: AthenaQueryExecution) -> None:
            last[:] = [execution]
            if execution.state not in execution.TERMINAL_STATES and time.monotonic() >= deadline:
                raise _TimedOut(execution.state)

        connection = self._connect(_RetriedAthena(self._clients, what, refused))
        cursor = connection.cursor(DictCursor, on_poll=watch)
        try:
            rows = cursor.execute(sql).fetchall()
        except _TimedOut as timeout:
            what = f"Athena query {cursor.query_id} ({label})"
            with contextlib.suppress(PyAthenaError):  # the timeout is the error worth reporting
                cursor.cancel()
            raise BackendError(
                f"{what} still {timeout} after {self._clients.tuning.athena_timeout_seconds:.0f}s; "
                "cancelled it"
            ) from None
        except PyAthenaError as exc:
            if isinstance(exc.__cause__, BackendError):  # refused until the retry policy gave up
                raise exc.__cause__ from None
            what = f"Athena query {cursor.query_id} ({label})" if cursor.query_id else what
            if last and last[0].state in ("FAILED", "CANCELLED"):
                reason = last[0].state_change_reason or last[0].error_message or "Athena gave no reason"
                if files := data_files_named(reason):  # Athena choked on a data file it read
                    raise PartitionFileUnreadable(
                        f"{what} ended {last[0].state}: {reason}", files=files
                    ) from None
                raise BackendError(f"{what} ended {last[0].state}: {reason}") from None
            raise BackendError(f"{what}: {type(exc.__cause__ or exc).__name__}: {exc}") from exc
        finally:
            connection.close()
        self.query_log.append(
            {
                "template": label,
                "engine": "athena",
                "query_execution_id": cursor.query_id,
                "data_scanned_bytes": int(cursor.data_scanned_in_bytes or 0),
                "seconds": round(time.monotonic() - started, 3),
                "rows": len(rows),
                "throttled": refused[0],
            }
        )
        return rows

    def _connect(self, athena: _RetriedAthena) -> Any:
        from pyathena.util import RetryConfig

        session = self._clients.session()
        return _connection_class()(
            athena,
            session=session,
            region_name=session.region_name,
            schema_name=GLUE_DATABASE,
            catalog_name="AwsDataCatalog",
            work_group=ATHENA_WORKGROUP,
            s3_staging_dir=QUERY_OUTPUT_LOCATION,
            poll_interval=self._clients.tuning.athena_poll_seconds,
            converter=utc_converter(),
            retry_config=RetryConfig(exceptions=(), attempt=1),  # retried by AwsClients.call instead
        )


@functools.cache
def _connection_class() -> type:
    """PyAthena's connection, its Athena API calls made on the client it is given (PyAthena is
    imported on first use, like botocore)."""
    from pyathena.connection import Connection

    class RetriedConnection(Connection):
        def __init__(self, athena: Any, **kwargs: Any) -> None:
            self._athena = athena
            super().__init__(**kwargs)

        @property
        def client(self) -> Any:
            return self._athena

    return RetriedConnection


class _TimedOut(Exception):
    """Raised from PyAthena's poll callback once the query has run too long; carries its state."""


class _RetriedAthena:
    """The Athena client as PyAthena calls it: each API call made by `AwsClients.call` (retried,
    counted, bounded), and a start with a client token (a start retried after a lost answer is the
    same query, not a second one) and result reuse switched off explicitly."""

    def __init__(self, clients: AwsClients, what: str, counter: list[int]) -> None:
        self._clients, self._what, self._counter = clients, what, counter

    def start_query_execution(self, **kwargs: Any) -> dict[str, Any]:
        kwargs.setdefault("ClientRequestToken", uuid.uuid4().hex)
        kwargs.setdefault("ResultReuseConfiguration", NO_RESULT_REUSE)
        return self.__getattr__("start_query_execution")(**kwargs)

    def __getattr__(self, operation: str) -> Any:
        return functools.partial(self._clients.call, "athena", operation, self._what, self._counter)


def utc_converter() -> DefaultTypeConverter:
    """PyAthena's converter, with timestamps aware and in UTC (Athena's session zone), as the
    embedded engine returns them."""
    from pyathena.converter import DefaultTypeConverter

    converter = DefaultTypeConverter()
    with_zone = converter.get("timestamp with time zone")
    converter.update(
        {
            "timestamp": lambda v: None if v is None else datetime.fromisoformat(v).replace(tzinfo=UTC),
            "timestamp with time zone": lambda v: None if (t := with_zone(v)) is None else t.astimezone(UTC),
        }
    )
    return converter
