"""The sandbox: `python -m flightdq_dev.emulator --seed` generates a small sample lake, starts the
emulator, loads the lake into it and prints the environment to point flightdq and Airflow at it,
until Ctrl-C."""

from __future__ import annotations

import argparse
import logging
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flightdq.core.contract import (
    ATHENA_WORKGROUP,
    ETL_JOB_NAME,
    GLUE_DATABASE,
    METRICS_TABLE,
    PROCESSED_TABLE,
)
from flightdq_dev.emulator.common import PINNED_MOTO
from flightdq_dev.emulator.seed import DUCKDB_SCRIPT, SPARK_SCRIPT, SeedReport, seed_from_lake
from flightdq_dev.emulator.server import AwsEmulator


def main(argv: list[str] | None = None) -> int:
    """`python -m flightdq_dev.emulator --seed`: a sample lake on a local AWS, until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m flightdq_dev.emulator",
        description="A local AWS (moto on 127.0.0.1) that runs Athena queries and Glue jobs for flightdq.",
    )
    parser.add_argument("--seed", action="store_true", help="generate a small sample lake and load it")
    parser.add_argument("--lake", help="load this existing local lake instead of generating one")
    parser.add_argument("--days", type=int, default=21, help="days in the generated lake (default 21)")
    parser.add_argument("--faults", action="store_true", help="plant the demo faults in the generated lake")
    parser.add_argument("--port", type=int, default=5000, help="port on 127.0.0.1 (default 5000; 0: any)")
    parser.add_argument(
        "--etl-script",
        choices=[SPARK_SCRIPT, DUCKDB_SCRIPT],
        default=SPARK_SCRIPT,
        help=f"the script of the Glue job flightdata-etl (default {SPARK_SCRIPT}, on local Spark: needs "
        f"Java 17; {DUCKDB_SCRIPT}: the Spark-less job on DuckDB)",
    )
    args = parser.parse_args(argv)
    if args.faults and (args.lake or args.days < 12):
        parser.error("--faults plants one fault a day on the last 12 days of a generated lake: --days >= 12")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    workdir: Path | None = None
    lake: Path | None = Path(args.lake).expanduser().resolve() if args.lake else None
    if lake is None and args.seed:
        from flightdq_dev.generator import default_demo_faults, generate_lake

        workdir = Path(tempfile.mkdtemp(prefix="flightdq-sandbox-"))
        lake = workdir / "lake"
        end = datetime.now(UTC).date() - timedelta(days=1)
        faults = default_demo_faults(end) if args.faults else None
        print(f"generating a {args.days}-day sample lake ending {end} in {lake} ...", flush=True)
        generate_lake(lake, end=end, days=args.days, seed=7, size="small", faults=faults)

    stop = threading.Event()
    # Ctrl-C and SIGTERM stop it. SIGINT gets a handler of its own: a process started in the
    # background by a non-interactive shell inherits SIGINT ignored, and Ctrl-C would do nothing.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    emulator = AwsEmulator(port=args.port)
    try:
        emulator.start()
        report = (
            seed_from_lake(lake, emulator.endpoint, etl_script=args.etl_script) if lake is not None else None
        )
        print(_banner(emulator, report, lake), flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        emulator.stop()
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
    print("emulator stopped; its state is gone.")
    return 0


def _commands() -> tuple[str, str]:
    """`flightdq` and `airflow` as a fresh shell can run them: this venv's `flightdq`, and the
    repository's `scripts/airflow` (the venv's `airflow` with the project's settings) when this runs
    from a checkout, else the venv's `airflow`."""
    bin_dir = Path(sys.executable).parent
    flightdq = bin_dir / "flightdq"
    script = Path(__file__).resolve().parents[3] / "scripts" / "airflow"
    airflow = script if script.is_file() else bin_dir / "airflow"
    return shlex.quote(str(flightdq)), shlex.quote(str(airflow))


def _banner(emulator: AwsEmulator, report: SeedReport | None, lake: Path | None) -> str:
    env = emulator.env()
    flightdq, airflow = _commands()
    last = report.partitions[-1] if report and report.partitions else str(date.today() - timedelta(days=1))
    lines = [
        "",
        f"flightdq AWS sandbox: moto {PINNED_MOTO} on {emulator.endpoint} (127.0.0.1 only)",
    ]
    if report is not None:
        lines += [
            f"  loaded from {lake}:",
            f"  {report.raw_objects} raw and {report.processed_objects} processed objects,",
            f"  {len(report.partitions)} partitions registered in {GLUE_DATABASE}.{PROCESSED_TABLE}, "
            f"Glue job {ETL_JOB_NAME}, Athena workgroup {ATHENA_WORKGROUP},",
            f"  SNS topic {report.topic_arn}, DynamoDB table {METRICS_TABLE}",
        ]
    lines += ["", "In another shell (the Airflow connection is the AIRFLOW_CONN_AWS_DEFAULT line):"]
    lines += [f"  export {k}='{v}'" for k, v in env.items()]
    lines += [
        f"  export AWS_ENDPOINT_URL='{emulator.endpoint}'   # plain boto3 / aws cli only",
        "",
        f"  {flightdq} validate --date {last} --json",
        f"  {flightdq} remediate --date {last} --dry-run",
        f'  {airflow} dags test flightdq_daily_checks -c \'{{"date": "{last}"}}\'',
        "",
        "Ctrl-C stops the emulator (its state lives in memory and is gone then).",
    ]
    return "\n".join(lines)
