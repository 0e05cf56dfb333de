"""What parsing each DAG file costs, against the smallest TaskFlow DAG measured in the same run.

Each DAG file in `dags/`, and a DAG of one `@task` written to a temporary folder (the floor for any
TaskFlow DAG: Airflow's decorators and operators), is parsed by a `DagBag` on that one file in a
fresh Python process, after Airflow itself is imported (what the DAG processor pays per file). The
files are parsed in turn, `--runs` times each, interleaved, so the load of a shared machine falls on
all of them alike; the median of each is kept. Target: every DAG file parses in at most
`TARGET_RATIO` times the one-task DAG.

`python -m flightdq_dev.bench_parse [--runs N] [--root CHECKOUT]`; `main()` is what `make bench`
calls. Each process runs once unmeasured first (bytecode written, files in the page cache).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from flightdq_dev import PROJECT_ROOT

TARGET_RATIO = 2.0
SMALLEST_TASKFLOW_DAG = """from datetime import datetime

from airflow.sdk import dag, task


@dag(dag_id="one_task", schedule=None, start_date=datetime(2026, 1, 1))
def one_task():
    @task
    def nothing() -> None:
        pass

    nothing()


one_task()
"""
_PARSE = (
    "import sys, time\n"
    "import airflow.sdk  # Airflow itself: paid once per DAG processor, not per file\n"
    "from airflow.dag_processing.dagbag import DagBag\n"
    "started = time.perf_counter()\n"
    "bag = DagBag(dag_folder=sys.argv[1])\n"
    "elapsed = time.perf_counter() - started\n"
    "assert not bag.import_errors, bag.import_errors\n"
    "assert bag.dags, 'no DAG in ' + sys.argv[1]\n"
    "print(elapsed)\n"
)


def parse_ms(path: Path, env: dict[str, str]) -> float:
    """One DagBag parse of `path` in a fresh process, in ms."""
    done = subprocess.run(
        [sys.executable, "-c", _PARSE, str(path)], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise RuntimeError(f"parsing {path.name} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1]) * 1000


def measure(runs: int = 5, root: Path = PROJECT_ROOT) -> tuple[float, dict[str, float]]:
    """(the smallest TaskFlow DAG's median parse ms, {DAG file: median parse ms})."""
    with tempfile.TemporaryDirectory(prefix="flightdq-bench-parse-") as work:
        floor = Path(work) / "one_task_dag.py"
        floor.write_text(SMALLEST_TASKFLOW_DAG)
        files = [floor, *sorted((root / "dags").glob("*.py"))]
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | {
            "AIRFLOW_HOME": str(Path(work) / "airflow-home"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "PYTHONPATH": os.pathsep.join(
                [str(root / "include"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
        }
        for path in files:  # unmeasured: bytecode written, the files in the page cache
            parse_ms(path, env)
        times: dict[Path, list[float]] = {path: [] for path in files}
        for _ in range(runs):
            for path in files:
                times[path].append(parse_ms(path, env))
        medians = {path.name: statistics.median(values) for path, values in times.items()}
    return medians.pop(floor.name), medians


def main(argv: list[str] | None = None) -> int:
    """Print each DAG file's parse time and its ratio to the smallest TaskFlow DAG's; exit 1 when a
    file misses the target."""
    parser = argparse.ArgumentParser(prog="flightdq_dev.bench_parse", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured parses of each file (median)")
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the checkout whose dags/ to parse")
    args = parser.parse_args(argv)
    floor, files = measure(args.runs, args.root.resolve())
    print(f"DAG parse time (DagBag on one file, fresh process, median of {args.runs}):", flush=True)
    print(f"  {'the smallest TaskFlow DAG (one @task)':<40} {floor:7.0f} ms")
    missed = 0
    for name, ms in files.items():
        ratio = ms / floor
        ok = ratio <= TARGET_RATIO
        missed += not ok
        verdict = "ok" if ok else f"MISSED (target <= {TARGET_RATIO:g}x)"
        print(f"  {name:<40} {ms:7.0f} ms  {ratio:5.2f}x  {verdict}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
