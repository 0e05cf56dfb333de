"""The Airflow pool `flightdq_etl`: how many ETL runs flightdq's repairs have going at once, across
every remediation run. `python -m flightdq.airflow.pools` creates it, or updates it to the policy's
`remediation.max_parallel_etl` (default 1: Glue runs `flightdata-etl` one at a time). It writes the
metadata DB directly (an initialised one: `airflow db migrate`); no api-server needs to run.
`make airflow` (scripts/airflow-local.sh) and the compose init container run it; so do the tests
that run the remediation DAG.

The pool counts deferred tasks too (`include_deferred`): a repair waiting in the triggerer for its
Glue run still holds the run's slot, so the next day's repair stays queued in the scheduler (holding
no worker) instead of starting a run Glue would refuse.

A missing pool is not silent: the dag-processor puts "Dag 'flightdq_remediation' references
non-existent pools" among the DAG warnings in the UI, and the scheduler logs that tasks using it
will not be scheduled. No task checks for it: tasks cannot read pools from the metadata DB in
Airflow 3, and the repairs would be the ones waiting anyway.
"""

from __future__ import annotations

import argparse
import sys

ETL_POOL = "flightdq_etl"
DESCRIPTION = (
    "flightdq: ETL runs of flightdata-etl at once (policy remediation.max_parallel_etl); "
    "deferred repairs waiting for their run count"
)


def ensure_etl_pool(slots: int | None = None) -> tuple[str, int]:
    """Create or update `flightdq_etl` with `slots` (default: the policy's `max_parallel_etl`);
    returns (pool name, slots)."""
    from airflow.models.pool import Pool
    from airflow.utils.session import create_session

    if slots is None:
        from flightdq.core.config import Settings

        slots = Settings.from_env().policy.remediation.max_parallel_etl
    with create_session() as session:
        Pool.create_or_update_pool(ETL_POOL, slots, DESCRIPTION, include_deferred=True, session=session)
    return ETL_POOL, slots


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flightdq.airflow.pools", description=DESCRIPTION)
    parser.add_argument("--slots", type=int, help="override the policy's remediation.max_parallel_etl")
    args = parser.parse_args(argv)
    if args.slots is not None and args.slots < 1:
        parser.error("--slots must be at least 1")
    name, slots = ensure_etl_pool(args.slots)
    print(f"pool {name}: {slots} slot(s), deferred tasks included")
    return 0


if __name__ == "__main__":
    sys.exit(main())
