"""A failure carries its kind as a type from where it happens (issue 21): a data file the engine
cannot read is a `DataFault` (a finding about that day), anything else that stops a check is about
the monitor. The runner and the checks decide on the type, never on the message's wording."""

from __future__ import annotations

from datetime import date

import pytest

from conftest import end_of, valid_rows
from flightdq.backends.base import BackendError, PartitionFileUnreadable
from flightdq.checks import CHECK_RUNNERS
from flightdq.checks.runner import run_checks
from flightdq.core.contract import PARTITION_PRESENCE, RECORD_COUNT_DRIFT, SCHEMA_VALIDITY
from flightdq.core.errors import DataFault
from flightdq.core.results import Status

DAY = date(2026, 11, 25)
# The same wording both times: a file named, " in " in its description. Only the type differs.
MESSAGE = "ConversionException in dt=2026-11-25/part-00000.parquet (column last_seen)"


@pytest.fixture
def healthy(lake, backend):
    lake.healthy_day(DAY)
    return backend


@pytest.mark.parametrize(
    ("raised", "blocked"),
    [
        (PartitionFileUnreadable(MESSAGE, files=("dt=2026-11-25/part-00000.parquet",)), True),
        (BackendError(MESSAGE), False),
        (RuntimeError(MESSAGE), False),
    ],
)
def test_the_runner_classifies_by_type_not_by_wording(healthy, monkeypatch, raised, blocked):
    def broken(ctx):
        raise raised

    monkeypatch.setitem(CHECK_RUNNERS, RECORD_COUNT_DRIFT, broken)
    (result,) = run_checks([DAY], end_of(DAY), checks=[RECORD_COUNT_DRIFT], backend=healthy, record=False)

    assert result.status is Status.ERROR
    assert (result.details.get("blocked_by") == SCHEMA_VALIDITY) is blocked
    assert ("blocked_by" in result.details) is blocked


def test_a_data_fault_naming_no_file_is_still_the_datas(healthy, monkeypatch):
    """The type decides: a DataFault whose text names nothing is blocked by the data all the same."""

    def broken(ctx):
        raise PartitionFileUnreadable("the engine could not decode a value")

    monkeypatch.setitem(CHECK_RUNNERS, RECORD_COUNT_DRIFT, broken)
    (result,) = run_checks([DAY], end_of(DAY), checks=[RECORD_COUNT_DRIFT], backend=healthy, record=False)
    assert result.details["blocked_by"] == SCHEMA_VALIDITY


def test_the_embedded_engine_raises_a_data_fault_naming_the_file_it_could_not_read(lake, backend):
    folder = lake.write_partition(DAY, valid_rows(DAY, 50))
    part = folder / "part-00000.parquet"
    part.write_bytes(b"not parquet at all" * 10)

    with pytest.raises(PartitionFileUnreadable) as raised:
        backend.run_sql("SELECT count(*) AS n FROM flightdata_processed", dt_range=(str(DAY), str(DAY)))
    assert raised.value.files == (str(part),)
    assert isinstance(raised.value, BackendError)  # callers that catch engine failures still do


def test_an_engine_failure_about_no_file_is_not_a_data_fault(lake, backend):
    lake.write_partition(DAY, valid_rows(DAY, 50))
    with pytest.raises(BackendError) as raised:
        backend.run_sql("SELECT no_such_column FROM flightdata_processed", dt_range=(str(DAY), str(DAY)))
    assert not isinstance(raised.value, DataFault)


def test_a_footer_that_cannot_be_read_is_a_data_fault(lake, backend):
    folder = lake.write_partition(DAY, valid_rows(DAY, 50))
    (folder / "part-00000.parquet").write_bytes(b"garbage" * 20)
    with pytest.raises(PartitionFileUnreadable):
        backend.partition_file_columns(DAY)
    with pytest.raises(PartitionFileUnreadable):
        backend.read_partition(DAY)


def test_presence_blames_an_unreadable_file_on_the_processed_day(lake, backend):
    lake.write_raw(DAY)
    folder = lake.write_partition(DAY, valid_rows(DAY, 50))
    (folder / "part-00000.parquet").write_bytes(b"garbage" * 20)
    results = run_checks(
        [DAY],
        end_of(DAY),
        checks=[PARTITION_PRESENCE],
        datasets=["flightdata_processed"],
        backend=backend,
        record=False,
    )
    (result,) = results
    assert result.status is Status.ERROR and result.details["blocked_by"] == SCHEMA_VALIDITY
