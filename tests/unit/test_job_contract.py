"""The ETL job contract on the embedded lake: the repair, not the job, owns write-audit-publish, so a
job that misbehaves on purpose (`flightdq_dev.misbehaving_jobs`, plugged in with `FLIGHTDQ_ETL_JOB`)
is refused or contained. Each time the old partition is untouched (same files, same bytes, catalog
location unchanged), the repair's outcome names the failure as a kind, and nothing the job wrote
stays where a reader could see it.

The same misbehaviours through the emulator's Glue: tests/emulator/test_glue_job_contract.py."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import SMALL_LAKE_END, end_of
from flightdq.backends.local.backend import LocalBackend
from flightdq.core.config import Settings
from flightdq.core.contract import PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.recovery.execute import Outcome, remediate, repair_day
from flightdq.recovery.plan import Action, DayPlan
from flightdq.recovery.publish import (
    DuplicateFlights,
    NoOutput,
    RepairRefused,
    ShrinkRefused,
    WrongSchema,
    WroteAfterSuccess,
    WroteOutsidePrefix,
)

END = SMALL_LAKE_END
AS_OF = end_of(END) + timedelta(hours=3)

# misbehaviour -> the refusal the repair answers with
REFUSALS = {
    "writes_nothing": NoOutput,
    "no_success": NoOutput,
    "shrunk_day": ShrinkRefused,
    "wrong_schema": WrongSchema,
    "writes_outside": WroteOutsidePrefix,
    "writes_twice": DuplicateFlights,
    "succeeds_twice": WroteAfterSuccess,
}


def with_job(backend: LocalBackend, monkeypatch, job: str | None) -> LocalBackend:
    """The same lake, its repairs running `job` (`FLIGHTDQ_ETL_JOB`; None: ours)."""
    if job is None:
        monkeypatch.delenv("FLIGHTDQ_ETL_JOB", raising=False)
    else:
        monkeypatch.setenv("FLIGHTDQ_ETL_JOB", job)
    return LocalBackend(Settings.from_env())


def visible(backend: LocalBackend) -> dict[str, str]:
    """Every file of the processed bucket a reader could come across (hidden names are the publish's
    lock and markers), with a digest of its bytes."""
    root = backend.lake / PROCESSED_BUCKET
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    }


def locations(backend: LocalBackend) -> dict[str, str]:
    return backend.catalog.registered(PROCESSED_TABLE, str(END - timedelta(days=2)), str(END))


def plant_duplicates(backend: LocalBackend) -> None:
    """A fault the checks see (3 flights twice), so that the remediation plans a rebuild of END."""
    file = next(backend.partition_folder(END).glob("*.parquet"))
    table = pq.read_table(file)
    pq.write_table(pa.concat_tables([table, table.slice(0, 3)]), file)


@pytest.mark.parametrize("misbehaviour", sorted(REFUSALS))
def test_a_job_breaking_the_contract_is_refused_and_the_old_partition_is_untouched(
    small_lake, monkeypatch, misbehaviour
):
    plant_duplicates(small_lake)
    backend = with_job(small_lake, monkeypatch, f"flightdq_dev.misbehaving_jobs:{misbehaviour}")
    files, catalog = visible(backend), locations(backend)

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id=f"t-{misbehaviour}")

    assert ended.outcome is Outcome.STILL_FAILING
    assert ended.failure == REFUSALS[misbehaviour].kind, ended.message
    (run,) = backend.etl_runs(END)
    assert f"ETL run {run['run_id']} for {END}" in ended.message  # names the run it refused
    after = visible(backend)
    if misbehaviour == "writes_outside":  # another day's write is named, not deleted (see below)
        after.pop(f"flightdata_processed/dt={END - timedelta(days=1)}/part-stray.parquet")
    assert after == files  # same files, same bytes: its folder and what it wrote in its day are gone
    assert locations(backend) == catalog
    assert run["state"] == "SUCCEEDED"  # the job said it succeeded
    assert list((backend.lake / PROCESSED_BUCKET).rglob("run=*")) == []


def test_writing_outside_the_prefix_is_undone_in_the_live_partition_and_named_in_another_day(
    small_lake, monkeypatch
):
    backend = with_job(small_lake, monkeypatch, "flightdq_dev.misbehaving_jobs:writes_outside")
    live, other = backend.partition_folder(END), backend.partition_folder(END - timedelta(days=1))
    before = {
        day: sorted(p.name for p in folder.iterdir()) for day, folder in (("live", live), ("other", other))
    }
    rows_before = backend.read_partition(END - timedelta(days=1)).num_rows

    with pytest.raises(WroteOutsidePrefix) as refused:
        repair_day(backend, DayPlan(str(END), Action.REBUILD))

    assert "part-extra.parquet" in str(refused.value) and "part-stray.parquet" in str(refused.value)
    assert sorted(p.name for p in live.iterdir()) == before["live"]
    # Another day is not the repair's: what appeared there may be another writer's (that day's own
    # repair), so it is named for a person, never deleted.
    assert sorted(p.name for p in other.iterdir()) == sorted([*before["other"], "part-stray.parquet"])
    (other / "part-stray.parquet").unlink()  # as the person would
    assert backend.read_partition(END - timedelta(days=1)).num_rows == rows_before


def test_a_refusal_is_a_typed_failure_of_the_repair_never_a_message_to_parse(small_lake, monkeypatch):
    backend = with_job(small_lake, monkeypatch, "flightdq_dev.misbehaving_jobs:wrong_schema")
    with pytest.raises(RepairRefused) as refused:
        repair_day(backend, DayPlan(str(END), Action.REBUILD))
    assert type(refused.value) is WrongSchema and refused.value.kind == "wrong_schema"
    assert "position_count is int32" in str(refused.value)


def test_a_shrunk_day_is_published_when_forced(small_lake, monkeypatch):
    backend = with_job(small_lake, monkeypatch, "flightdq_dev.misbehaving_jobs:shrunk_day")
    rows = backend.read_partition(END).num_rows
    done = repair_day(backend, DayPlan(str(END), Action.REBUILD), force=True)
    assert done["replaced"].startswith("FORCED: replaced")
    assert backend.read_partition(END).num_rows == done["rows"] == rows // 2


def test_a_job_that_succeeds_twice_in_two_repairs_leaves_one_day_and_no_run_folder(small_lake, monkeypatch):
    backend = with_job(small_lake, monkeypatch, None)
    before = backend.read_partition(END)
    first = repair_day(backend, DayPlan(str(END), Action.REBUILD))
    second = repair_day(backend, DayPlan(str(END), Action.REBUILD))
    assert first["etl_run_id"] != second["etl_run_id"]
    assert [p.name for p in backend.partition_folder(END).iterdir()] == ["part-00000.parquet"]
    assert backend.read_partition(END).sort_by("flight_id").equals(before.sort_by("flight_id"))


def test_a_teams_own_job_as_a_command_line_that_honours_the_contract_repairs_the_day(small_lake, monkeypatch):
    plant_duplicates(small_lake)
    backend = with_job(small_lake, monkeypatch, "python -m flightdq.etl.transform")
    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="t-command")
    assert ended.outcome is Outcome.REPAIRED, ended.message
    table = backend.read_partition(END)
    assert table.num_rows == len(set(table.column("flight_id").to_pylist()))  # the duplicates are gone
    assert list(backend.partition_folder(END).glob("run=*")) == []


def test_a_command_that_fails_fails_the_run_and_leaves_nothing(small_lake, monkeypatch):
    backend = with_job(small_lake, monkeypatch, "python -c 'import sys; sys.exit(\"no cluster (injected)\")'")
    files = visible(backend)
    run = backend.run_etl(END)
    assert run.state == "FAILED" and "no cluster (injected)" in run.error
    assert visible(backend) == files and list(backend.partition_folder(END).glob("run=*")) == []


def test_a_job_setting_naming_no_function_is_a_configuration_error(small_lake, monkeypatch):
    backend = with_job(small_lake, monkeypatch, "flightdq_dev.misbehaving_jobs:no_such_job")
    run = backend.run_etl(END)
    assert (
        run.state == "FAILED" and "FLIGHTDQ_ETL_JOB='flightdq_dev.misbehaving_jobs:no_such_job'" in run.error
    )


def test_our_local_job_writes_only_its_prefix_and_success_last(small_lake, tmp_path: Path):
    from flightdq.etl import transform

    folder = small_lake.partition_folder(END) / "run=manual"
    files = visible(small_lake)
    outcome = transform.contract_job(
        ["--dt", str(END), "--output_prefix", str(folder), "--lake", str(small_lake.lake)]
    )
    written = {k: v for k, v in visible(small_lake).items() if k not in files}
    assert sorted(written) == [
        f"flightdata_processed/dt={END}/run=manual/_SUCCESS",
        f"flightdata_processed/dt={END}/run=manual/part-00000.parquet",
    ]
    assert {k: v for k, v in visible(small_lake).items() if k in files} == files  # nothing else changed
    assert (folder / "_SUCCESS").stat().st_mtime >= (folder / "part-00000.parquet").stat().st_mtime
    assert outcome.rows == pq.read_metadata(folder / "part-00000.parquet").num_rows
