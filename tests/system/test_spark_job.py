"""The reference ETL job on Spark (flightdq.etl.spark_job), run on local Spark 3.5.4 (Glue 5.0's
version) over a generated day: the same flights, value for value, as the DuckDB transform of the
embedded lake (one SQL file, two engines), and the job contract's layout of what it writes.

One local SparkSession (bound to 127.0.0.1, no UI) serves the module and is stopped at its end.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from flightdq.core import layout
from flightdq.core.contract import processed_arrow_schema
from flightdq.etl import spark_job
from flightdq.etl.transform import transform_day_skipping
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.slow

DAY = date(2026, 11, 20)


@pytest.fixture(scope="module")
def spark() -> Iterator[object]:
    session = spark_job.local_session("local[2]")
    try:
        yield session
    finally:
        session.stop()


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    """A generated day (15-minute polls, gzip and plain mixed), with one truncated .json.gz and one
    malformed .json among its raw objects. Returns (lake, the truncated object, the malformed one)."""
    root = tmp_path_factory.mktemp("spark") / "lake"
    generate_lake(root, end=DAY, days=1, size="small", poll_seconds=900)
    raw = sorted((root / "flightdata-raw" / layout.raw_day_prefix(DAY)).rglob("states_*"))
    zipped = [p for p in raw if p.name.endswith(".json.gz")]
    plain = [p for p in raw if p.name.endswith(".json")]
    assert len(zipped) > 10 and len(plain) > 10
    truncated, malformed = zipped[len(zipped) // 2], plain[len(plain) // 3]
    truncated.write_bytes(truncated.read_bytes()[:60])
    malformed.write_bytes(b'{"time": 1, "states": [["aaaaaa", ')
    return root, truncated, malformed


def uri(path: Path) -> str:
    """A file:// URI as Hadoop takes it: not percent-encoded (Path.as_uri writes dt= as dt%3D)."""
    return f"file://{path}/"


def raw_root(lake: Path) -> str:
    return uri(lake / "flightdata-raw")


def run_prefix(lake: Path, run: str) -> Path:
    return lake / "flightdata-processed" / layout.processed_partition_prefix(DAY) / f"run={run}"


def files_outside(lake: Path, prefix: Path) -> set[Path]:
    return {p for p in lake.rglob("*") if p.is_file() and prefix not in p.parents}


def test_spark_makes_the_same_flights_as_duckdb_and_writes_the_contract_layout(spark, lake) -> None:
    root, truncated, malformed = lake
    raw_files = sorted((root / "flightdata-raw" / layout.raw_day_prefix(DAY)).rglob("states_*"))
    expected, duck_skipped = transform_day_skipping(raw_files, DAY)
    assert sorted(duck_skipped) == sorted([str(truncated), str(malformed)])
    assert expected.num_rows > 50

    prefix = run_prefix(root, "spark-1")
    before = files_outside(root, prefix)
    outcome = spark_job.run_day(spark, DAY, raw_root(root), uri(prefix))

    # the same flights, every column, value for value, with the contract's exact schema
    parts = sorted(prefix.glob("*.parquet"))
    assert parts and outcome.files == [f"file:{p}" for p in parts]
    written = pa.concat_tables([pq.ParquetFile(p).read() for p in parts])
    assert written.schema.equals(processed_arrow_schema())
    assert written.sort_by("flight_id").equals(expected)
    assert outcome.rows == expected.num_rows

    # the unreadable objects are left out and named, the others read
    day_folder = root / "flightdata-raw" / layout.raw_day_prefix(DAY)
    keys = [p.relative_to(root / "flightdata-raw").as_posix() for p in (truncated, malformed)]
    assert sorted(outcome.skipped) == sorted(keys) and all(day_folder.is_dir() for _ in keys)
    assert json.loads((prefix / "_SKIPPED.json").read_text()) == outcome.skipped
    assert outcome.raw_objects == len(raw_files) - 2

    # only files under the prefix: Parquet, _SKIPPED.json, then _SUCCESS (empty, last)
    assert files_outside(root, prefix) == before
    names = sorted(p.name for p in prefix.rglob("*"))
    assert names == sorted([*(p.name for p in parts), "_SKIPPED.json", "_SUCCESS"])
    success = prefix / "_SUCCESS"
    assert success.read_bytes() == b""
    assert all(p.stat().st_mtime_ns <= success.stat().st_mtime_ns for p in prefix.iterdir())


def test_main_takes_glue_arguments_and_refuses_a_prefix_that_holds_objects(spark, lake, capsys) -> None:
    root, _, _ = lake
    prefix = run_prefix(root, "jr_main")
    argv = ["--JOB_NAME", "flightdata-etl", "--JOB_RUN_ID", "jr_main", "--dt", str(DAY)]
    argv += ["--output_prefix", uri(prefix), "--raw_root", raw_root(root), "--TempDir", "s3://x/"]
    assert spark_job.main(argv) == 0  # the module's session: what Glue's getOrCreate returns
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["dt"] == str(DAY) and printed["rows"] > 50 and len(printed["skipped"]) == 2
    assert (prefix / "_SUCCESS").exists()

    listing = sorted(prefix.iterdir())
    with pytest.raises(spark_job.SparkJobError, match=rf"dt={DAY}: .* already holds objects"):
        spark_job.run_day(spark, DAY, raw_root(root), uri(prefix))
    assert sorted(prefix.iterdir()) == listing  # succeeding twice into one prefix is refused, untouched


def test_a_value_of_the_wrong_type_or_no_raw_data_fails_without_a_success_marker(
    spark, tmp_path: Path
) -> None:
    moment = 1_795_000_000  # 2026-11-18 11:06 UTC
    day = date(2026, 11, 18)
    state = ["abcdef", "DLH1    ", "Germany", moment, moment, 8.5, "north", 10000.0, False, 230.0]
    state += [90.0, 0.0, None, 10000.0, "1000", False, 0]
    key = layout.raw_key(day, (moment % 86400) // 3600, moment + 5, gzip=True)
    path = tmp_path / "flightdata-raw" / key
    path.parent.mkdir(parents=True)
    path.write_bytes(gzip.compress(json.dumps({"time": moment + 5, "states": [state]}).encode()))
    out = tmp_path / "out"
    with pytest.raises(
        spark_job.SparkJobError, match=rf"dt={day}: reading or transforming 1 raw snapshots"
    ) as raised:
        spark_job.run_day(spark, day, raw_root(tmp_path), uri(out))
    assert "CAST_INVALID_INPUT" in str(raised.value) and "north" not in str(raised.value)
    assert not (out / "_SUCCESS").exists()

    with pytest.raises(spark_job.SparkJobError, match=r"dt=2026-11-17: no raw snapshots under"):
        spark_job.run_day(spark, date(2026, 11, 17), raw_root(tmp_path), uri(tmp_path / "out2"))
    assert not (tmp_path / "out2").exists()
