"""Run checks over days, record what they found, and hand back the results.

This is what the CLI and the DAG tasks call; neither holds any check logic of its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from flightdq.backends.base import Backend, get_backend
from flightdq.checks import CHECK_RUNNERS, CheckContext
from flightdq.config import Settings
from flightdq.contract import CHECKS, DATASETS, FRESHNESS, PARTITION_PRESENCE, PROCESSED_DATASET
from flightdq.dates import InputError, echo, utcnow
from flightdq.results import CheckResult, Status

log = logging.getLogger(__name__)

_DATASETS_OF = {check: (PROCESSED_DATASET,) for check in CHECKS} | {
    PARTITION_PRESENCE: DATASETS,
    FRESHNESS: DATASETS,
}


def validate_request(
    days: Sequence[date], as_of: datetime, checks: Iterable[str], datasets: Iterable[str]
) -> None:
    """Reject a request that cannot be answered, before anything runs."""
    for check in checks:
        if check not in CHECKS:
            raise InputError(f"unknown check {echo(check)}; known: {', '.join(CHECKS)}")
    for dataset in datasets:
        if dataset not in DATASETS:
            raise InputError(f"unknown dataset {echo(dataset)}; known: {', '.join(DATASETS)}")
    if not days:
        raise InputError("no days to check")
    if days[-1] > as_of.date():
        raise InputError(f"date {days[-1]} is in the future of the moment checked for ({as_of.isoformat()})")


def run_checks(
    days: Sequence[date],
    as_of: datetime,
    *,
    checks: Iterable[str] = CHECKS,
    datasets: Iterable[str] = DATASETS,
    backend: Backend | None = None,
    settings: Settings | None = None,
    run_id: str | None = None,
    record: bool = True,
    raise_errors: bool = False,
) -> list[CheckResult]:
    """Run `checks` on `days` as they stood at `as_of`; keep the results in the check history.

    A check that raises becomes an `error` result for its days (or, with `raise_errors`, the
    exception propagates: Airflow then retries the task).
    """
    checks, datasets = list(checks), list(datasets)
    validate_request(days, as_of, checks, datasets)
    settings = settings or Settings.from_env()
    backend = backend or get_backend(settings)
    run_id = run_id or f"cli__{utcnow():%Y%m%dT%H%M%S}__{uuid.uuid4().hex[:8]}"
    ctx = CheckContext(backend=backend, days=sorted(days), as_of=as_of, policy=settings.policy)
    results: list[CheckResult] = []
    for check in checks:
        try:
            found = CHECK_RUNNERS[check](ctx)
        except Exception as exc:
            if raise_errors:
                raise
            log.exception("check %s failed to run", check)
            found = [
                CheckResult(
                    dataset,
                    str(day),
                    check,
                    Status.ERROR,
                    settings.policy.check_error_severity,
                    None,
                    None,
                    f"check could not run: {type(exc).__name__}: {exc}",
                    {"exception": type(exc).__name__},
                )
                for day in ctx.days
                for dataset in _DATASETS_OF[check]
            ]
        found = [r for r in found if r.dataset in datasets]
        queries, backend.query_log[:] = list(backend.query_log), []
        for result in found:  # what checking cost: the queries behind this check
            result.details.setdefault("queries", queries)
        if record:
            record_results(backend, run_id, check, found, as_of=as_of)
        results.extend(found)
    return results


def record_results(
    backend: Backend, run_id: str, check: str, results: Sequence[CheckResult], *, as_of: datetime
) -> list[str]:
    checked_at = utcnow().isoformat()
    records = [
        r.to_dict()
        | {"run_id": run_id, "as_of": as_of.isoformat(), "checked_at": checked_at, "backend": backend.name}
        for r in results
    ]
    return backend.history.write(run_id, check, records)


def summarize(results: Sequence[CheckResult]) -> dict[str, Any]:
    """A small summary for XCom and logs: counts by status and the failing (dataset, dt, check)s."""
    counts = {str(s): 0 for s in Status}
    for r in results:
        counts[str(r.status)] += 1
    failing = [
        {
            "dataset": r.dataset,
            "dt": r.dt,
            "check": r.check,
            "status": str(r.status),
            "severity": str(r.severity) if r.severity else None,
        }
        for r in results
        if r.failed
    ]
    return {"counts": counts, "failing": failing}
