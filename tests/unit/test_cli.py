"""`flightdq` as users script it: contract section 3's arguments, JSON and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta

import pytest

from conftest import valid_rows
from flightdq.cli import main

DAY = date(2026, 11, 25)
AS_OF = "2026-11-26T02:00:00Z"


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `flightdq ARGS`, whether it returns or exits (argparse)."""
    try:
        code = main(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["validate", "--date", "2026-13-01"], "2026-13-01"),
        (["validate", "--date", "26-11-2026"], "YYYY-MM-DD"),
        (["validate", "--date", "2026-11-25", "--to", "2026-11-20"], "reversed"),
        (["validate", "--date", "2026-11-25", "--dataset", "flightdata_cooked"], "unknown dataset"),
        (["validate", "--date", "2026-11-25", "--check", "vibes"], "unknown check"),
        (["validate", "--date", "2026-11-25", "--as-of", "yesterday"], "ISO-8601"),
        (["validate", "--date", "2026-11-27", "--as-of", "2026-11-26T00:00:00Z"], "future"),
        (["validate"], "--date"),
        (["catalog", "repair", "--to", "2026-11-25"], "--to needs --date"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_problem(lake, capsys, args, problem):
    code, out, err = run(capsys, *args)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err
    assert problem in err


def test_validate_json_passes_a_healthy_day_with_exit_0(lake, capsys):
    for k in range(1, 5):
        lake.healthy_day(DAY - timedelta(weeks=k), 100)
    lake.healthy_day(DAY, 100)
    code, out, _ = run(capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--json")
    document = json.loads(out)
    assert code == 0
    checks = {(r["dataset"], r["check"]) for r in document["results"]}
    assert checks == {
        ("flightdata_raw", "partition_presence"),
        ("flightdata_processed", "partition_presence"),
        ("flightdata_processed", "record_count_drift"),
        ("flightdata_processed", "schema_validity"),
        ("flightdata_processed", "duplicates"),
        ("flightdata_raw", "freshness"),
        ("flightdata_processed", "freshness"),
    }
    for record in document["results"]:
        assert record["status"] == "pass" and record["severity"] is None
        assert set(record) >= {
            "dataset",
            "dt",
            "check",
            "status",
            "severity",
            "observed",
            "expected",
            "message",
        }


def test_validate_exits_1_on_a_failing_check_and_names_it(lake, capsys):
    lake.write_raw(DAY)  # raw is there, the processed partition is not
    code, out, _ = run(
        capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--json", "--check", "partition_presence"
    )
    found = {r["dataset"]: r for r in json.loads(out)["results"]}
    assert code == 1
    assert found["flightdata_processed"]["status"] == "fail"
    assert found["flightdata_processed"]["severity"] == "P1"
    assert found["flightdata_raw"]["status"] == "pass"


def test_validate_a_range_and_keep_history(lake, capsys):
    for offset in range(3):
        lake.healthy_day(DAY - timedelta(days=offset), 30)
    code, out, _ = run(
        capsys,
        "validate",
        "--date",
        str(DAY - timedelta(days=2)),
        "--to",
        str(DAY),
        "--as-of",
        AS_OF,
        "--check",
        "duplicates",
        "--json",
    )
    dts = sorted(r["dt"] for r in json.loads(out)["results"])
    assert code == 0 and dts == [str(DAY - timedelta(days=d)) for d in (2, 1, 0)]
    assert len(list((lake.root / "flightdq-history" / "checks").rglob("*.json"))) == 3


def test_catalog_repair_registers_only_what_storage_has(lake, capsys):
    lake.write_partition(DAY, valid_rows(DAY, 3), register=False)
    lake.write_partition(DAY - timedelta(days=1), valid_rows(DAY, 3))
    (lake.partition_dir(DAY - timedelta(days=2))).mkdir(parents=True)  # a folder with no files
    code, out, _ = run(capsys, "catalog", "repair")
    assert code == 0 and out.strip() == f"registered 1 partition(s): {DAY}"
    code, out, _ = run(capsys, "catalog", "repair")
    assert out.strip() == "registered 0 partition(s)"


def test_catalog_repair_leaves_alone_folders_that_are_no_days_partition(lake, capsys):
    """`dt=2026-02-30` and `dt=9999-01-01` were registered as partitions."""
    import shutil

    lake.write_partition(DAY, valid_rows(DAY, 3), register=False)
    source = lake.write_partition(DAY - timedelta(days=1), valid_rows(DAY, 3), register=False)
    for name in ("2026-02-30", "9999-01-01"):
        shutil.copytree(source, source.with_name(f"dt={name}"))
    shutil.rmtree(source)
    code, out, _ = run(capsys, "catalog", "repair")
    assert code == 0
    assert out.splitlines()[0] == f"registered 1 partition(s): {DAY}"
    assert "dt=2026-02-30 (not a real day)" in out and "dt=9999-01-01 (a day in the future)" in out
    from flightdq.backends.local.catalog import LocalCatalog

    assert list(LocalCatalog(lake.root).registered("flightdata_processed")) == [str(DAY)]


def test_the_installed_command_runs():
    flightdq = subprocess.run(
        [sys.executable, "-m", "flightdq.cli", "validate", "--date", "bad"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert flightdq.returncode == 2 and "'bad' is not a date" in flightdq.stderr
