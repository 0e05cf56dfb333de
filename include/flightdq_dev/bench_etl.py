"""The processes `make bench` times for the ETL at real cadence, each a whole process:

    python -m flightdq_dev.bench_etl generate RAW_ROOT POLL   the global day's raw snapshots (cached)
    python -m flightdq_dev.bench_etl duckdb RAW_ROOT OUT       the local ETL: transform_day + Parquet
    python -m flightdq_dev.bench_etl spark RAW_ROOT OUT        the Spark job on local[2]

RAW_ROOT is a raw zone folder (`.../flightdata-raw`); each prints one line: rows and a figure.
"""

from __future__ import annotations

import shutil
import sys
from datetime import date, timedelta
from pathlib import Path

DAY = date(2026, 6, 10)  # the bench's global day (a Wednesday), as in bench.py
GLOBAL_FLIGHTS = 160_000  # flights per weekday of the generator's `global` size
SEED = 7


def generate(raw_root: Path, poll: int) -> None:
    """The day's raw objects at `poll` seconds, written beside and renamed into place (a cache that
    is there is whole)."""
    from flightdq_dev.generator.snapshots import Snapshots
    from flightdq_dev.generator.traffic import Traffic

    partial = raw_root.with_name(raw_root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    traffic = Traffic(seed=SEED, flights_per_weekday=GLOBAL_FLIGHTS)
    snapshots = Snapshots(seed=SEED, poll=poll)
    for day in (DAY - timedelta(days=1), DAY):  # the day before: flights airborne at midnight
        traffic.schedule_day(day)
    objects, states = snapshots.write_raw_day(partial, DAY, traffic)
    partial.rename(raw_root)
    print(objects, states)


def duckdb_etl(raw_root: Path, out: Path) -> None:
    import pyarrow.parquet as pq

    from flightdq.core import layout
    from flightdq.etl.transform import PARQUET_COMPRESSION, transform_day

    files = sorted((raw_root / layout.raw_day_prefix(DAY)).rglob("states_*.json*"))
    table = transform_day(files, DAY)
    out.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, out / "part-00000.parquet", compression=PARQUET_COMPRESSION)
    print(table.num_rows, len(files))


def spark_etl(raw_root: Path, out: Path) -> None:
    """The Spark job on local[2]; prints its rows and the JVM's peak memory (VmHWM, MB): the JVM is
    the Python process's grandchild, outside the bench's wait4 figures."""
    from flightdq.etl import spark_job

    shutil.rmtree(out, ignore_errors=True)
    spark = spark_job.local_session("local[2]")
    try:
        outcome = spark_job.run_day(spark, DAY, f"file://{raw_root}/", f"file://{out}/")
        jvm = spark.sparkContext._gateway.proc.pid
        status = Path(f"/proc/{jvm}/status").read_text()
        peak_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    finally:
        spark.stop()
    print(outcome.rows, peak_kb // 1024)


if __name__ == "__main__":
    command, root = sys.argv[1], Path(sys.argv[2]).resolve()
    if command == "generate":
        generate(root, int(sys.argv[3]))
    elif command == "duckdb":
        duckdb_etl(root, Path(sys.argv[3]).resolve())
    elif command == "spark":
        spark_etl(root, Path(sys.argv[3]).resolve())
    else:
        raise SystemExit(f"unknown command {command!r}")
