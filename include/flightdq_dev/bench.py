"""`make bench`: figures on a generated global-size day (150,000+ flights, millions of raw states).

Prints wall time and peak memory (max RSS of the measured process) to generate the day, to rebuild
it with the ETL, to validate it, and to validate a 90-day range; then each DAG file's parse time.
Every measurement runs in its own process, so one step's memory does not hide another's.

The 90-day range (and the 4 weeks of drift history before it) reuses the generated day: its
processed rows are re-written with timestamps and flight_ids shifted to each other day, and its raw
objects are hard-linked under each other day's keys (the raw checks read keys, not bodies).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from flightdq_dev import PROJECT_ROOT

DAY = date(2026, 6, 10)  # a Wednesday
RANGE_DAYS = 90
HISTORY_DAYS = 28


def measure(label: str, argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):  # 1 = checks found something, still a valid measurement
        raise SystemExit(f"{label} failed ({code}): {proc.stderr.read().decode()[-2000:]}")
    peak_mb = usage.ru_maxrss / 1024
    print(f"  {label:<44} {wall:8.1f} s   peak {peak_mb:7.0f} MB", flush=True)
    return wall, peak_mb


def python(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def replicate(lake: Path, source: date, targets: list[date]) -> None:
    """Copy the source day to each target day, shifted in time (see the module doc)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flightdq.backends.local.catalog import LocalCatalog
    from flightdq.core.layout import RAW_KEY_RE, processed_partition_prefix, raw_key

    table = pq.read_table(
        next((lake / "flightdata-processed" / processed_partition_prefix(source)).glob("*.parquet"))
    )
    raw_root = lake / "flightdata-raw"
    raw = [(p, RAW_KEY_RE.match(str(p.relative_to(raw_root)))) for p in sorted(raw_root.rglob("states_*"))]
    catalog = LocalCatalog(lake)
    for target in targets:
        shift = (target - source).days * 86400
        delta = pa.scalar(shift * 1_000_000, pa.duration("us"))
        shifted = table.set_column(
            table.schema.get_field_index("first_seen"),
            "first_seen",
            pc.add(table.column("first_seen"), delta),
        )
        shifted = shifted.set_column(
            shifted.schema.get_field_index("last_seen"), "last_seen", pc.add(table.column("last_seen"), delta)
        )
        first_unix = pc.cast(
            pc.divide(pc.cast(shifted.column("first_seen"), pa.int64()), 1_000_000), pa.string()
        )
        flight_ids = pc.binary_join_element_wise(shifted.column("icao24"), first_unix, "-")
        shifted = shifted.set_column(0, "flight_id", flight_ids)
        folder = lake / "flightdata-processed" / processed_partition_prefix(target)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(shifted, folder / "part-00000.parquet")
        catalog.register("flightdata_processed", [(str(target), str(folder))])
        for path, match in raw:
            unix = int(match["unix"]) + shift
            dest = raw_root / raw_key(target, int(match["hour"]), unix, gzip=bool(match["gz"]))
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, dest)


def parse_times() -> None:
    print("DAG parse time (DagBag on one file, after Airflow itself is imported):")
    for path in sorted((PROJECT_ROOT / "dags").glob("*.py")):
        code = (
            "import time; from airflow.dag_processing.dagbag import DagBag; t = time.perf_counter(); "
            f"bag = DagBag(dag_folder={str(path)!r}); assert not bag.import_errors, bag.import_errors; "
            "print(time.perf_counter() - t)"
        )
        out = subprocess.run(python(code), capture_output=True, text=True, check=True)
        print(f"  {path.name:<44} {float(out.stdout.strip().splitlines()[-1]) * 1000:8.0f} ms")


def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="flightdq-bench-"))
    lake = workdir / "lake"
    env = os.environ | {
        "FLIGHTDQ_LAKE": str(lake),
        "FLIGHTDQ_BACKEND": "local",
        "GX_ANALYTICS_ENABLED": "False",
    }
    as_of = f"{DAY + timedelta(days=1)}T02:00:00Z"
    try:
        print(f"flightdq bench: one global-size day ({DAY}), {os.cpu_count()} cores")
        measure(
            "generate the global day (raw + ETL)",
            python(
                "from datetime import date; from pathlib import Path; "
                "from flightdq_dev.generator import generate_lake; "
                f"generate_lake(Path({str(lake)!r}), end=date.fromisoformat({str(DAY)!r}), days=1, "
                "size='global')"
            ),
            env,
        )
        from flightdq_dev.generator import LakeManifest

        manifest = LakeManifest.load(lake)
        rows = sum(manifest.processed_rows.values())
        print(
            f"  (the day: {manifest.raw_objects} raw objects, {manifest.raw_states:,} raw states, "
            f"{rows:,} flights)"
        )
        measure(
            "rebuild the day with the ETL",
            python(
                "from datetime import date; from pathlib import Path; "
                "from flightdq.etl.transform import run_local_etl; "
                f"run_local_etl(Path({str(lake)!r}), date.fromisoformat({str(DAY)!r}), force=True)"
            ),
            env,
        )
        history = [DAY - timedelta(days=k) for k in range(1, RANGE_DAYS + HISTORY_DAYS)]
        started = time.perf_counter()
        replicate(lake, DAY, history)
        print(f"  (replicated to {len(history)} more days in {time.perf_counter() - started:.0f} s)")
        flightdq = [sys.executable, "-m", "flightdq.cli"]
        measure(
            "validate one day (all five checks)",
            [*flightdq, "validate", "--date", str(DAY), "--as-of", as_of, "--json", "--no-record"],
            env,
        )
        first = str(DAY - timedelta(days=RANGE_DAYS - 1))
        validate_range = [
            *flightdq,
            "validate",
            "--date",
            first,
            "--to",
            str(DAY),
            "--as-of",
            as_of,
            "--json",
            "--no-record",
        ]
        measure(f"validate a {RANGE_DAYS}-day range (all five checks)", validate_range, env)
        sql_checks = ["partition_presence", "record_count_drift", "duplicates", "freshness"]
        measure(
            f"validate a {RANGE_DAYS}-day range, SQL checks only",
            [*validate_range, *(arg for check in sql_checks for arg in ("--check", check))],
            env,
        )
        parse_times()
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
