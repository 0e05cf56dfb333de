"""Safe to leave unattended: a fault stays on its day, an error is never evidence, a rebuild never
makes a day worse, and a partial raw day is rebuilt from what remains with its loss still P0."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.backends.local.backend import LocalBackend
from flightdq.checks.runner import run_checks
from flightdq.core.config import RemediationPolicy, Settings
from flightdq.core.results import CheckResult, Severity, Status
from flightdq.recovery.execute import Outcome, remediate, repair_day
from flightdq.recovery.plan import Action, DayPlan, plan_day, plan_days
from flightdq.recovery.publish import RepairRefused, ShrinkRefused, rebuild_local
from flightdq.storage.blobstore import StorageError
from flightdq_dev.generator import generate_lake

END = date(2026, 11, 25)
MIDDLE = END - timedelta(days=1)
AS_OF = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
CALLSIGN = "ZZTOP42"


def verdicts(results, dt) -> dict:
    return {(r.dataset, r.check): (str(r.status), r.severity) for r in results if r.dt == dt}


def test_a_truncated_file_stays_on_its_day_and_is_named(small_lake):
    backend = small_lake
    days = [END - timedelta(days=2), MIDDLE, END]
    before = run_checks(days, AS_OF, backend=backend, record=False)
    good = backend.partition_folder(MIDDLE) / "part-00000.parquet"
    (backend.partition_folder(MIDDLE) / "part-00001.parquet").write_bytes(good.read_bytes()[:200])
    (backend.partition_folder(MIDDLE) / "_ignored.parquet").write_bytes(b"not parquet at all")

    after = run_checks(days, AS_OF, backend=backend, record=False)
    for other in (days[0], END):
        assert verdicts(after, str(other)) == verdicts(before, str(other))
    bad = [r for r in after if r.dt == str(MIDDLE) and r.status in (Status.ERROR, Status.FAIL)]
    assert bad and any("part-00001.parquet" in r.message for r in bad)
    assert all("_ignored" not in r.message for r in after)  # files Athena skips are skipped here too
    assert not any(r.severity == Severity.P0 for r in after)  # a broken file is no data loss

    plans = {p.dt: p.action for p in plan_days(backend, days, AS_OF, run_id="p", record=False)}
    assert plans == {str(days[0]): Action.NOTHING, str(MIDDLE): Action.REBUILD, str(END): Action.NOTHING}


def test_a_file_with_a_retyped_column_stays_on_its_day_and_quotes_no_value(small_lake):
    backend = small_lake
    table = pq.read_table(backend.partition_folder(MIDDLE) / "part-00000.parquet").slice(0, 5)
    callsigns = pa.array([CALLSIGN] * table.num_rows)
    table = table.set_column(table.schema.get_field_index("last_seen"), "last_seen", callsigns)
    pq.write_table(table, backend.partition_folder(MIDDLE) / "part-00001.parquet")

    days = [END - timedelta(days=2), MIDDLE, END]
    results = run_checks(days, AS_OF, backend=backend, record=False)
    assert {r.status for r in results if r.dt != str(MIDDLE)} <= {Status.PASS, Status.WARN}
    schema = next(r for r in results if r.dt == str(MIDDLE) and r.check == "schema_validity")
    assert schema.status is Status.FAIL and "part-00001.parquet" in json.dumps(schema.details)
    assert CALLSIGN not in json.dumps([r.to_dict() for r in results], default=str)


def test_a_check_that_could_not_run_is_never_read_as_data_loss(small_lake, monkeypatch):
    backend = small_lake

    def refused(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/lake/flightdata-raw")

    # an error of the environment is no result at all (not an `error` verdict on the day): the
    # command fails with it, naming the path (exit 2); a DAG task fails, and pages "monitoring blind"
    monkeypatch.setattr(backend, "raw_snapshot_times", refused)
    with pytest.raises(StorageError, match="cannot read /lake/flightdata-raw: permission denied"):
        run_checks([END], AS_OF, backend=backend, record=False)
    with pytest.raises(StorageError):
        plan_days(backend, [END], AS_OF, run_id="p", record=False)


def test_a_rebuild_that_would_shrink_the_partition_is_refused_unless_forced(small_lake):
    backend = small_lake
    partition = backend.partition_folder(END) / "part-00000.parquet"
    before = partition.read_bytes()
    for hour in range(12, 24):  # raw loses its afternoon after the partition was built
        for path in (backend.raw_root / f"year={END:%Y}/month={END:%m}/day={END:%d}/hour={hour:02d}").glob(
            "*"
        ):
            path.unlink()

    with pytest.raises(ShrinkRefused, match="refused: the rebuilt partition"):
        rebuild_local(backend.lake, END)
    assert partition.read_bytes() == before  # byte for byte
    with pytest.raises(RepairRefused) as refused:  # through the repair: a refusal, not a failure to retry
        repair_day(backend, DayPlan(str(END), Action.REBUILD))
    assert refused.value.kind == "shrink_refused"
    assert [r["state"] for r in backend.etl_runs(END)] == ["SUCCEEDED"]  # the job did write the day
    assert partition.read_bytes() == before
    assert list(backend.partition_folder(END).glob("run=*")) == []  # what it wrote is gone

    forced = rebuild_local(backend.lake, END, force=True)
    assert forced.replaced.startswith("FORCED: replaced")
    assert pq.read_metadata(partition).num_rows < pq.ParquetFile(pa.BufferReader(before)).metadata.num_rows


def test_empty_raw_bodies_are_missing_snapshots_and_the_good_partition_is_kept(small_lake):
    backend = small_lake
    partition = backend.partition_folder(END) / "part-00000.parquet"
    before = partition.read_bytes()
    for path in (backend.raw_root / f"year={END:%Y}/month={END:%m}/day={END:%d}").rglob("states_*"):
        path.write_bytes(b"")

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="empty-bodies")
    assert ended.outcome is Outcome.NOT_REPAIRABLE and "data loss" in ended.message
    assert partition.read_bytes() == before
    assert backend.etl_runs(END) == []


def test_a_partial_raw_day_is_rebuilt_from_what_remains_and_its_loss_stays_p0(small_lake):
    backend = small_lake
    for hour in range(18, 24):
        for path in (backend.raw_root / f"year={END:%Y}/month={END:%m}/day={END:%d}/hour={hour:02d}").glob(
            "*"
        ):
            path.unlink()
    for path in backend.partition_folder(END).glob("*.parquet"):
        path.unlink()

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="partial")
    assert (ended.action, ended.outcome) == (Action.REBUILD, Outcome.REPAIRED_PARTIALLY), ended.message
    assert "18, 19, 20, 21, 22, 23" in ended.message
    assert backend.read_partition(END).num_rows > 0
    recheck = run_checks([END], AS_OF, backend=backend, record=False)
    raw = next(r for r in recheck if r.dataset == "flightdata_raw" and r.check == "partition_presence")
    assert raw.status is Status.FAIL and raw.severity == Severity.P0  # the loss is still data loss


# --- upstream or ETL: which one lost the flights -----------------------------------------------------
def drift(observed: int, expected: int) -> CheckResult:
    return CheckResult(
        "flightdata_processed",
        str(END),
        "record_count_drift",
        Status.FAIL,
        Severity.P2,
        observed,
        expected,
        "drop",
        {"baseline": {"2026-11-18": expected, "2026-11-11": expected}},
    )


def sound_day() -> list[CheckResult]:
    def ok(dataset, check, **details):
        return CheckResult(dataset, str(END), check, Status.PASS, None, 1, 1, "ok", details)

    return [
        ok("flightdata_raw", "partition_presence", missing_hours=[]),
        ok("flightdata_processed", "partition_presence", state="present"),
        ok("flightdata_processed", "schema_validity"),
        ok("flightdata_processed", "duplicates"),
    ]


def test_a_drop_that_raw_shows_too_is_upstream_and_gets_no_etl_run():
    plan = plan_day(
        str(END), [*sound_day(), drift(650, 1000)], RemediationPolicy(), lambda dt, b: (0.66, "thin")
    )
    assert plan.action is Action.UPSTREAM
    assert any("upstream: raw data itself is low" in r for r in plan.reasons)
    assert any("ingestion Lambda" in r for r in plan.reasons)


def test_a_drop_that_raw_does_not_show_is_rebuilt():
    plan = plan_day(
        str(END), [*sound_day(), drift(650, 1000)], RemediationPolicy(), lambda dt, b: (0.98, "full")
    )
    assert plan.action is Action.REBUILD and plan.evidence == {"processed_ratio": 0.65, "raw_ratio": 0.98}


def test_no_raw_evidence_means_no_plan_rather_than_a_guess():
    plan = plan_day(
        str(END), [*sound_day(), drift(650, 1000)], RemediationPolicy(), lambda dt, b: (None, "x")
    )
    assert plan.action is Action.CANNOT_PLAN


# --- a lake that moves, a run that dies ------------------------------------------------------------
def test_a_moved_lake_keeps_working_and_catalog_repair_fixes_old_absolute_locations(
    small_lake, tmp_path, monkeypatch
):
    backend = small_lake
    backend.catalog.relocate(
        "flightdata_processed", [(str(END), str(backend.partition_folder(END)))]
    )  # old style
    moved = tmp_path / "moved-lake"
    backend.lake.rename(moved)
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(moved))
    backend = LocalBackend(Settings.from_env())
    results = run_checks([MIDDLE], AS_OF, backend=backend, record=False)
    assert {r.status for r in results} <= {Status.PASS, Status.WARN}  # relative locations follow the lake

    from flightdq.cli import main

    assert main(["catalog", "repair"]) == 0
    assert backend.catalog.registered("flightdata_processed")[str(END)] == backend.relative_location(str(END))
    results = run_checks([END], AS_OF, backend=backend, record=False)
    assert {r.status for r in results} <= {Status.PASS, Status.WARN}


def test_a_running_row_whose_pid_was_reused_is_taken_over_and_the_takeover_recorded(small_lake):
    import os

    backend = small_lake
    with backend.catalog.connect() as conn:  # our own pid, but another process's start time
        conn.execute(
            "INSERT INTO etl_runs (run_id, dt, state, pid, owner) VALUES ('ghost', ?, 'RUNNING', ?, ?)",
            (str(END), os.getpid(), f"{os.getpid()}:1.000"),
        )
    run = backend.run_etl(END)
    assert run.succeeded and not run.attached
    ghost = backend.catalog.etl_run("ghost")
    assert ghost["state"] == "ABANDONED" and run.run_id in ghost["error"]


def test_a_kill_right_after_the_swap_leaves_nothing_for_the_next_run_to_trip_on(small_lake):
    import subprocess
    import sys

    backend = small_lake
    script = (
        "import os, shutil, sys\n"
        "from datetime import date\n"
        "from flightdq.core.config import Settings\n"
        "from flightdq.backends.local.backend import LocalBackend\n"
        "from flightdq.recovery import publish\n"
        "from flightdq.recovery.execute import repair_day\n"
        "from flightdq.recovery.plan import Action, DayPlan\n"
        "real = shutil.rmtree\n"
        "def die(path, *a, **k):\n"
        "    if '.old-' in str(path) or '.staging-' in str(path):  # the old partition, swapped out\n"
        "        os._exit(9)\n"
        "    return real(path, *a, **k)\n"
        "publish.shutil.rmtree = die\n"
        f"repair_day(LocalBackend(Settings.from_env()), DayPlan('{END}', Action.REBUILD))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 9, done.stderr[-2000:]
    assert [r["state"] for r in backend.etl_runs(END)] == ["SUCCEEDED"]  # the job ended; its publish died

    repaired = repair_day(backend, DayPlan(str(END), Action.REBUILD))
    assert repaired["rows"] == pq.read_metadata(backend.partition_folder(END) / "part-00000.parquet").num_rows
    assert sorted(r["state"] for r in backend.etl_runs(END)) == ["SUCCEEDED", "SUCCEEDED"]
    assert list(backend.partition_folder(END).parent.glob(".dt=*")) == [
        p
        for p in backend.partition_folder(END).parent.glob(".dt=*")
        if p.name.endswith((".lock", ".published"))
    ]
    assert list(backend.partition_folder(END).glob("run=*")) == []


@pytest.mark.slow
def test_a_drop_that_raw_data_shows_too_gets_no_etl_run_and_its_incident_says_upstream(tmp_path, monkeypatch):
    """Thin a day at the source (every raw snapshot loses 60% of its aircraft) and build its partition
    from that: processed and raw are both low. Remediation plans `upstream`: no ETL run."""
    import gzip

    root = tmp_path / "lake"
    generate_lake(root, end=END, days=29, seed=4, size="small", poll_seconds=1800)
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(root))
    backend = LocalBackend(Settings.from_env())
    raw_day = backend.raw_root / f"year={END:%Y}/month={END:%m}/day={END:%d}"
    for path in raw_day.rglob("states_*"):
        gz = path.name.endswith(".gz")
        body = json.loads(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
        states = body.get("states") or []
        body["states"] = [s for i, s in enumerate(states) if i % 5 < 2]
        data = json.dumps(body).encode()
        path.write_bytes(gzip.compress(data) if gz else data)
    rebuild_local(backend.lake, END, force=True)  # what the pipeline made of the thin day

    ended = remediate(backend, [END], AS_OF, dry_run=False, run_id="upstream")
    (day,) = ended
    assert (day.action, day.outcome) == (Action.UPSTREAM, Outcome.UPSTREAM), day.message
    assert "raw data itself is low" in day.message
    assert backend.etl_runs(END) == []  # no Glue (or local ETL) run for nothing
    from flightdq.incidents.store import IncidentStore

    (incident,) = IncidentStore(backend.blobs).open([END])
    assert incident.check == "record_count_drift"
    notes = [e.detail for e in incident.timeline if e.event == "note"]
    assert any("upstream" in n and "not available locally" in n for n in notes), notes


def test_a_callsign_planted_in_a_raw_field_appears_in_no_record_the_product_writes(small_lake):
    """The engine quotes the value it chokes on; nothing flightdq stores or sends may."""
    import gzip

    backend = small_lake
    raw_day = backend.raw_root / f"year={END:%Y}/month={END:%m}/day={END:%d}"
    path = sorted(raw_day.rglob("states_*"))[10]
    gz = path.name.endswith(".gz")
    body = json.loads(gzip.decompress(path.read_bytes()) if gz else path.read_bytes())
    body["states"][0][6] = CALLSIGN  # latitude: a string where a number belongs
    data = json.dumps(body).encode()
    path.write_bytes(gzip.compress(data) if gz else data)
    for parquet in backend.partition_folder(END).glob("*.parquet"):
        parquet.unlink()

    (ended,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="leak")
    assert ended.outcome is Outcome.STILL_FAILING and "ConversionException" in ended.message
    written = [
        p
        for p in backend.lake.rglob("*")
        if p.is_file()
        and "flightdata-raw" not in p.parts
        and p.suffix in (".json", ".jsonl", ".md", ".sqlite")
    ]
    assert any("flightdq-incidents" in p.parts for p in written)  # the timeline, alerts and review exist
    leaked = [p for p in written if CALLSIGN.encode() in p.read_bytes()]
    assert leaked == []


def test_dropping_duplicated_rows_is_no_shrink(small_lake):
    """A partition with a duplicated flight holds no more flights than its rebuild: not refused."""
    backend = small_lake
    path = backend.partition_folder(END) / "part-00000.parquet"
    table = pq.read_table(path)
    pq.write_table(pa.concat_tables([table, table.slice(0, 3)]), path)
    outcome = rebuild_local(backend.lake, END)
    assert outcome.rows == table.num_rows and not outcome.replaced.startswith("FORCED")
