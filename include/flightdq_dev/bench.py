"""`make bench`: flightdq against what it has to compute, measured side by side in the same run.

On a generated global-size day (150,000+ flights, millions of raw states), each figure is a whole
process (interpreter start and imports included), run `--runs` times (3) in turn with what it is
compared with, and the median is kept; absolute times on a shared 2-core machine move with the
load, ratios measured side by side much less. Reported, with the targets:

* one day, all five checks (`flightdq validate`) / a bare DuckDB pass over the same day
  (`bench_bare.py`: every suite rule, distinct flight_ids, newest last_seen, four weeks of hourly
  counts, hand-written, nothing else): target <= 2x;
* one day / plain Great Expectations on pandas over the same day (`bench_plain_gx.py`);
* 90 days, all checks / the bare pass over the same 90 days: target <= 2x;
* peak memory (max RSS) of the 90-day validate / the one-day validate: target <= 1.5x;
* each DAG file's parse time / the smallest TaskFlow DAG's (one @task), in fresh processes
  (`bench_parse.py`): target <= 2x.

* the ETL at real cadence (`bench_etl.py`): the local ETL of a global day at 60-s polls (1,440
  snapshots) / a bare DuckDB pass that reads and unnests the same states and sorts them by
  (icao24, time) (`bench_bare.py raw`): target <= 1.5x; its peak memory: target <= 1.5 GB; the
  same at 10-s polls (8,640 snapshots) with `BENCH_CADENCE=10`; and the Spark job on local[2] over
  the 60-s day, timed once. The raw days are generated once into artifacts/bench/ (outside git)
  and reused.

`BENCH_SECTIONS` picks sections (comma-separated: etl, parse, checks; default all three).

Every command runs once unmeasured first, as it would in steady use: Python's bytecode cache is
written (even when PYTHONDONTWRITEBYTECODE is set around the bench), `sql_cache` holds the rendered
statements, and the files are in the page cache for every contender alike.

The 90-day range (and the 4 weeks of drift history before it) reuses the generated day: its
processed rows are re-written with timestamps and flight_ids shifted to each other day, and its raw
objects are hard-linked under each other day's keys (the raw checks read keys, not bodies).
`--lake DIR` keeps the generated lake there and reuses it on the next run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flightdq_dev import PROJECT_ROOT

DAY = date(2026, 6, 10)  # a Wednesday
RANGE_DAYS = 90
HISTORY_DAYS = 28
HERE = Path(__file__).resolve().parent


@dataclass
class Figure:
    label: str
    argv: list[str]
    walls: list[float]
    peaks: list[float]
    expect: Callable[[str], str | None] = lambda out: None  # what is wrong with the output, if anything

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return statistics.median(self.peaks)


def run(argv: list[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall seconds, peak RSS in MB and standard output of one whole process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)  # its own peak memory, not this process's
        wall = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1):  # 1 = checks found something, still a valid measurement
            raise SystemExit(f"{argv} failed ({code}): {err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024, out.read().decode()


def side_by_side(figures: list[Figure], env: dict[str, str], runs: int) -> None:
    """One unmeasured run of each (its output checked: a run that did not do the work is no
    measurement), then `runs` rounds of all of them in turn."""
    for figure in figures:
        _, _, out = run(figure.argv, env)
        problem = figure.expect(out)
        if problem:
            raise SystemExit(f"{figure.label}: {problem}")
    for _ in range(runs):
        for figure in figures:
            wall, peak, _ = run(figure.argv, env)
            figure.walls.append(wall)
            figure.peaks.append(peak)
    for figure in figures:
        walls = ", ".join(f"{w:.2f}" for w in figure.walls)
        print(
            f"  {figure.label:<46} median {figure.wall:7.2f} s  peak {figure.peak:6.0f} MB   ({walls})",
            flush=True,
        )


def validated(days: int) -> Callable[[str], str | None]:
    """A check of `flightdq validate --json` output: every day's schema validity judged rows."""

    def check(out: str) -> str | None:
        import json

        results = json.loads(out)["results"]
        errors = [r for r in results if r["status"] == "error"]
        judged = [r for r in results if r["check"] == "schema_validity" and r["status"] == "pass"]
        if errors or len(judged) != days:
            return f"{len(errors)} check(s) could not run, {len(judged)} of {days} day(s) validated"
        return None

    return check


def lines(count: int) -> Callable[[str], str | None]:
    def check(out: str) -> str | None:
        found = len(out.strip().splitlines())
        return None if found == count else f"{found} line(s) of output, {count} expected"

    return check


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


def make_lake(lake: Path, env: dict[str, str]) -> None:
    """Generate the global day, rebuild it with the ETL (both timed once), replicate it."""
    print(f"flightdq bench: generating one global-size day ({DAY}) in {lake}", flush=True)
    wall, peak, _ = run(
        python(
            "from datetime import date; from pathlib import Path; "
            "from flightdq_dev.generator import generate_lake; "
            f"generate_lake(Path({str(lake)!r}), end=date.fromisoformat({str(DAY)!r}), days=1, "
            "size='global')"
        ),
        env,
    )
    print(f"  {'generate the global day (raw + ETL)':<46} {wall:7.1f} s  peak {peak:6.0f} MB")
    wall, peak, _ = run(
        python(
            "from datetime import date; from pathlib import Path; "
            "from flightdq.recovery.publish import rebuild_local; "
            f"rebuild_local(Path({str(lake)!r}), date.fromisoformat({str(DAY)!r}), force=True)"
        ),
        env,
    )
    print(f"  {'rebuild the day with the ETL':<46} {wall:7.1f} s  peak {peak:6.0f} MB")
    # In a child: the bench itself stays small, since a child forked from a big parent starts with
    # the parent's pages in its peak memory (ru_maxrss), whatever it runs after.
    wall, _, _ = run(
        python(
            "from datetime import date, timedelta; from pathlib import Path; "
            "from flightdq_dev.bench import DAY, HISTORY_DAYS, RANGE_DAYS, replicate; "
            f"replicate(Path({str(lake)!r}), DAY, "
            "[DAY - timedelta(days=k) for k in range(1, RANGE_DAYS + HISTORY_DAYS)])"
        ),
        env,
    )
    print(f"  (replicated to {RANGE_DAYS + HISTORY_DAYS - 1} more days in {wall:.0f} s)")


BENCH_CACHE = PROJECT_ROOT / "artifacts" / "bench"
MAX_ETL_PEAK_MB = 1536  # 1.5 GB


def etl_at_cadence(env: dict[str, str], workdir: Path, runs: int) -> list[tuple[str, float, float | None]]:
    """The ETL section (module doc); returns its ratio rows (label, ratio, target)."""
    from flightdq.core import layout
    from flightdq_dev.bench_etl import DAY as ETL_DAY

    cadences = [60] + ([int(os.environ["BENCH_CADENCE"])] if os.environ.get("BENCH_CADENCE") else [])
    rows: list[tuple[str, float, float | None]] = []
    for poll in dict.fromkeys(cadences):
        raw = BENCH_CACHE / f"raw-global-{poll}s" / "flightdata-raw"
        if not raw.is_dir():
            raw.parent.mkdir(parents=True, exist_ok=True)
            print(
                f"flightdq bench: generating the global day {ETL_DAY} at {poll}-s polls in {raw}", flush=True
            )
            wall, peak, out = run(
                [sys.executable, "-m", "flightdq_dev.bench_etl", "generate", str(raw), str(poll)], env
            )
            print(
                f"  {'generated (snapshots, states): ' + out.strip():<46} {wall:7.1f} s  peak {peak:6.0f} MB"
            )
        day_folder = raw / layout.raw_day_prefix(ETL_DAY)
        snapshots = sum(1 for _ in day_folder.rglob("states_*"))
        size = sum(p.stat().st_size for p in day_folder.rglob("states_*")) / 2**20
        print(f"ETL of a global day, {snapshots} snapshots ({poll}-s polls, {size:.0f} MB raw):", flush=True)
        etl = Figure(
            f"local ETL (DuckDB), {poll}-s day",
            [
                sys.executable,
                "-m",
                "flightdq_dev.bench_etl",
                "duckdb",
                str(raw),
                str(workdir / f"etl-{poll}"),
            ],
            [],
            [],
            lines(1),
        )
        bare = Figure(
            f"bare read+unnest+sort, {poll}-s day",
            [sys.executable, str(HERE / "bench_bare.py"), "raw", str(day_folder)],
            [],
            [],
            lines(1),
        )
        side_by_side([etl, bare], env, runs)
        rows.append((f"ETL {poll}-s day / bare pass", etl.wall / bare.wall, 1.5))
        rows.append((f"ETL {poll}-s day peak memory / 1.5 GB", etl.peak / MAX_ETL_PEAK_MB, 1.0))
        if poll == 60:
            out = workdir / "spark-out"
            argv = [sys.executable, "-m", "flightdq_dev.bench_etl", "spark", str(raw), str(out)]
            wall, peak, printed = run(argv, env | {"SPARK_LOCAL_IP": "127.0.0.1"})
            if not (out / "_SUCCESS").exists():
                raise SystemExit(f"the Spark job wrote no _SUCCESS: {printed[-2000:]}")
            jvm_peak = float(printed.split()[-1])
            print(
                f"  {'Spark job on local[2], 60-s day (once)':<46} {wall:7.2f} s  peak {peak:6.0f} MB "
                f"(Python), {jvm_peak:.0f} MB (JVM)"
            )
            rows.append(("(Spark job local[2] / local ETL, 60-s day)", wall / etl.wall, None))
    return rows


def print_ratios(rows: list[tuple[str, float, float | None]]) -> None:
    print("ratios (target):")
    for label, ratio, target in rows:
        verdict = (
            "" if target is None else ("  ok" if ratio <= target else f"  MISSED (target <= {target:g}x)")
        )
        print(f"  {label:<46} {ratio:6.2f}x{verdict}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="flightdq_dev.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--lake", type=Path, help="keep the generated lake here (reused when present)")
    parser.add_argument("--runs", type=int, default=3, help="measured runs of each figure (median)")
    args = parser.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="flightdq-bench-"))
    lake = args.lake.resolve() if args.lake else workdir / "lake"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
        "FLIGHTDQ_LAKE": str(lake),
        "FLIGHTDQ_BACKEND": "local",
        "FLIGHTDQ_SQL_CACHE": str(workdir / "sql-cache"),
        "GX_ANALYTICS_ENABLED": "False",
        "FLIGHTDQ_POLICY": str(workdir / "policy.yaml"),
    }
    # The default policy allows ranges of 31 days; the bench measures a 90-day range.
    (workdir / "policy.yaml").write_text(f"validation:\n  max_range_days: {RANGE_DAYS}\n")
    as_of = f"{DAY + timedelta(days=1)}T02:00:00Z"
    first = str(DAY - timedelta(days=RANGE_DAYS - 1))
    sections = set(os.environ.get("BENCH_SECTIONS", "etl,parse,checks").split(","))
    try:
        if "etl" in sections:
            print(
                f"flightdq bench: {os.cpu_count()} cores, medians of {args.runs} runs, whole processes",
                flush=True,
            )
            print_ratios(etl_at_cadence(env, workdir, args.runs))
        if "parse" in sections:
            from flightdq_dev import bench_parse

            print("DAG parse time (DagBag on one file, fresh process, median):", flush=True)
            floor, files = bench_parse.measure(max(args.runs, 5), PROJECT_ROOT)
            print(f"  {'the smallest TaskFlow DAG (one @task)':<46} {floor:7.0f} ms")
            for name, ms in files.items():
                print(f"  {name:<46} {ms:7.0f} ms")
            print_ratios(
                [
                    (f"parse {name} / one-@task DAG", ms / floor, bench_parse.TARGET_RATIO)
                    for name, ms in files.items()
                ]
            )
        if "checks" not in sections:
            return 0
        if not (lake / "flightdata-processed").is_dir():
            make_lake(lake, env)
        print(
            f"flightdq bench: {os.cpu_count()} cores, medians of {args.runs} runs, whole processes",
            flush=True,
        )
        validate = [
            sys.executable,
            "-m",
            "flightdq.cli",
            "validate",
            "--as-of",
            as_of,
            "--json",
            "--no-record",
        ]
        bare = [sys.executable, str(HERE / "bench_bare.py"), str(lake)]
        one_day = Figure(
            "validate one day (all five checks)", [*validate, "--date", str(DAY)], [], [], validated(1)
        )
        bare_day = Figure("bare DuckDB pass, one day", [*bare, str(DAY), str(DAY)], [], [], lines(1))
        plain_gx = Figure(
            "plain GX on pandas, one day",
            [sys.executable, str(HERE / "bench_plain_gx.py"), str(lake), str(DAY)],
            [],
            [],
            lines(1),
        )
        side_by_side([one_day, bare_day, plain_gx], env, args.runs)
        days = Figure(
            f"validate {RANGE_DAYS} days (all five checks)",
            [*validate, "--date", first, "--to", str(DAY)],
            [],
            [],
            validated(RANGE_DAYS),
        )
        bare_days = Figure(
            f"bare DuckDB pass, {RANGE_DAYS} days", [*bare, first, str(DAY)], [], [], lines(RANGE_DAYS)
        )
        side_by_side([days, bare_days], env, args.runs)
        rows = [
            ("one day / bare one day", one_day.wall / bare_day.wall, 2.0),
            ("one day / plain GX one day", one_day.wall / plain_gx.wall, None),
            (f"{RANGE_DAYS} days / bare {RANGE_DAYS} days", days.wall / bare_days.wall, 2.0),
            (f"peak memory {RANGE_DAYS} days / one day", days.peak / one_day.peak, 1.5),
        ]
        print_ratios(rows)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
