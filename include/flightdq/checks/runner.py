"""Run checks over days, record what they found, and hand back the results.

This is what the CLI and the DAG tasks call; neither holds any check logic of its own.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any, TextIO

from flightdq.backends.base import Backend, Records
from flightdq.checks import CHECK_RUNNERS, CheckContext
from flightdq.checks.context import IncidentDays, no_incident_days
from flightdq.core.config import Settings
from flightdq.core.contract import (
    CHECKS,
    DATASETS,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    SCHEMA_VALIDITY,
)
from flightdq.core.dates import InputError, echo, utcnow
from flightdq.core.errors import DataFault, describe_error
from flightdq.core.results import CheckResult, Status
from flightdq.storage.blobstore import StorageError

log = logging.getLogger(__name__)

_DATASETS_OF = {check: (PROCESSED_DATASET,) for check in CHECKS} | {
    PARTITION_PRESENCE: DATASETS,
    FRESHNESS: DATASETS,
}


def validate_request(
    days: Sequence[date], as_of: datetime, checks: Iterable[str], datasets: Iterable[str]
) -> None:
    """Reject a request that cannot be answered, before anything runs: an unknown check or
    dataset, no day, a day after `as_of`, or checks none of which applies to the datasets asked for."""
    checks, datasets = list(checks), list(datasets)
    for check in checks:
        if check not in CHECKS:
            raise InputError(f"unknown check {echo(check)}; known: {', '.join(CHECKS)}")
    for dataset in datasets:
        if dataset not in DATASETS:
            raise InputError(f"unknown dataset {echo(dataset)}; known: {', '.join(DATASETS)}")
    if not any(dataset in _DATASETS_OF[check] for check in checks for dataset in datasets):
        pairs = "; ".join(
            f"{check} checks {', '.join(_DATASETS_OF[check])}" for check in dict.fromkeys(checks)
        )
        raise InputError(f"nothing to check: no check asked for applies to {', '.join(datasets)} ({pairs})")
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
    backend: Backend,
    settings: Settings | None = None,
    run_id: str | None = None,
    record: bool = True,
    raise_errors: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
    incident_days: IncidentDays = no_incident_days,
) -> list[CheckResult]:
    """Run `checks` on `days` as they stood at `as_of`; keep the results in the check history.
    `backend`: the one the entry point (a CLI command, a task) built; `settings` default to its own.

    A check that raises becomes an `error` result for its days (or, with `raise_errors`, the
    exception propagates: Airflow then retries the task). `progress(check, done, total)` is told
    before each check starts and once all are done (check ""). `incident_days`: which days have an
    open incident (`IncidentStore(backend.blobs).unresolved_days`), left out of drift's baseline.
    """
    checks, datasets = list(dict.fromkeys(checks)), list(dict.fromkeys(datasets))  # each once
    validate_request(days, as_of, checks, datasets)
    settings = settings or backend.settings
    run_id = run_id or f"cli__{utcnow():%Y%m%dT%H%M%S}__{uuid.uuid4().hex[:8]}"
    ctx = CheckContext(
        backend=backend,
        days=sorted(days),
        as_of=as_of,
        policy=settings.policy,
        run_id=run_id if record else None,
        incident_days=incident_days,
    )
    results: list[CheckResult] = []
    for done, check in enumerate(checks):
        if progress is not None:
            progress(check, done, len(checks))
        found = CHECK_RUNNERS[check](ctx) if raise_errors else _run_confined(check, ctx, settings)
        found = [r for r in found if r.dataset in datasets]
        queries, backend.query_log[:] = list(backend.query_log), []
        for result in found:  # what checking cost: the queries behind this check
            result.details.setdefault("queries", queries)
        if record:
            record_results(backend, run_id, check, found, as_of=as_of)
        results.extend(found)
    if progress is not None:
        progress("", len(checks), len(checks))
    return results


def _run_confined(check: str, ctx: CheckContext, settings: Settings) -> list[CheckResult]:
    """Run one check over the context's days; a fault stays on the day it is on.

    When the check raises over a range, it runs again day by day: the days that fail get an
    `error` result each, the others their verdict. An error that names a data file, or that only
    some days of a range hit, is the data's own fault (`blocked_by: schema_validity`, which names the
    file): a symptom of that day's data incident. An error that every day hits, naming no file, is
    about the monitor (the engine, the credentials, the disk): never evidence about the data. An
    EnvironmentFault (an unreadable folder, a locked catalog...) is not confined: no check can judge
    any day through it, so it ends the run, as bad usage does."""
    try:
        return CHECK_RUNNERS[check](ctx)
    except ENVIRONMENT_ERRORS as exc:  # never a verdict on a day: the command fails, saying why
        raise environment_error(exc) from None
    except Exception as exc:
        if len(ctx.days) == 1:
            _log_error(check, ctx.days[0], exc, data_fault=_names_a_file(exc))
            return _errors(check, ctx.days, exc, settings, data_fault=_names_a_file(exc))
        log.warning("check %s failed over %d days (%s); running it day by day", check, len(ctx.days), exc)
    results: list[CheckResult] = []
    failed: dict[date, Exception] = {}
    for day in ctx.days:
        one_day = replace(ctx, days=[day], _memo={})
        try:
            results.extend(CHECK_RUNNERS[check](one_day))
        except ENVIRONMENT_ERRORS as exc:
            raise environment_error(exc) from None
        except Exception as exc:
            failed[day] = exc
    some_ran = len(failed) < len(ctx.days)
    for day, exc in failed.items():
        _log_error(check, day, exc, data_fault=some_ran or _names_a_file(exc))
        results.extend(_errors(check, [day], exc, settings, data_fault=some_ran or _names_a_file(exc)))
    return results


# Errors of the environment: the lake or a record cannot be read or written (a permission, a full
# disk), a setting is wrong. They say nothing about any day's data, so they are never a check result:
# the CLI ends with one line (exit 2), a DAG task fails and its `incidents` step opens "monitoring blind".
ENVIRONMENT_ERRORS = (InputError, PermissionError)


def environment_error(exc: Exception) -> InputError:
    """`exc` as the one-line InputError the CLI prints; a PermissionError names its path."""
    if isinstance(exc, InputError):
        return exc
    return StorageError(f"cannot read {exc.filename or 'the lake'}: permission denied")


def _log_error(check: str, day: date, exc: Exception, *, data_fault: bool) -> None:
    """A check the data itself blocked is a finding (its result names the file, schema_validity
    reports it): no traceback. One that could not run for any other reason is logged in full."""
    if data_fault:
        log.info("check %s blocked by the data for %s: %s", check, day, describe_error(exc))
    else:
        log.exception("check %s could not run for %s", check, day, exc_info=exc)


def _names_a_file(exc: Exception) -> bool:
    """A fault in the data (a file the engine could not read or decode), told by its type: the
    engine adapters raise `DataFault` where the file is read."""
    return isinstance(exc, DataFault)


def _errors(
    check: str, days: Sequence[date], exc: Exception, settings: Settings, *, data_fault: bool
) -> list[CheckResult]:
    described = describe_error(exc)
    details: dict[str, Any] = {"exception": type(exc).__name__, "error_class": type(exc).__name__}
    if data_fault:
        details["blocked_by"] = SCHEMA_VALIDITY
        message = f"could not read this day's data: {described} (see schema_validity)"
    else:
        message = f"check could not run: {described}"
    return error_results(check, days, message, details, settings)


def task_failed_results(
    check: str, days: Sequence[date], error_class: str | None, settings: Settings
) -> list[CheckResult]:
    """The results of a check whose task failed after its retries without recording anything (the
    monitor is blind there): an `error` per dataset and day, naming the error class if known."""
    cause = error_class or "the task left no result"
    message = f"check could not run: {cause} (its Airflow task failed after its retries; see the task log)"
    details = {"error_class": error_class or "unknown", "task_failed": True}
    return error_results(check, days, message, details, settings)


def error_results(
    check: str, days: Sequence[date], message: str, details: dict[str, Any], settings: Settings
) -> list[CheckResult]:
    """An `error` result of `check` for each of its datasets on each day."""
    severity = settings.policy.check_error_severity
    return [
        CheckResult(dataset, str(day), check, Status.ERROR, severity, None, None, message, dict(details))
        for day in days
        for dataset in _DATASETS_OF[check]
    ]


def terminal_progress(stream: TextIO, days: int, *, more_than: int = 3) -> Callable | None:
    """A `progress` callback that keeps one line on `stream` up to date (which check, how many are
    done) for a range of more than `more_than` days; None when `stream` is not a terminal."""
    if days <= more_than or not stream.isatty():
        return None

    def show(check: str, done: int, total: int) -> None:
        line = f"flightdq: {days} days: {check} ({done}/{total} checks done)" if check else ""
        stream.write("\r\033[K" + line)  # back to the line's start, clear it
        stream.flush()

    return show


def record_results(
    records: Records, run_id: str, check: str, results: Sequence[CheckResult], *, as_of: datetime
) -> list[str]:
    checked_at = utcnow().isoformat()
    stamped = [
        r.to_dict()
        | {"run_id": run_id, "as_of": as_of.isoformat(), "checked_at": checked_at, "backend": records.name}
        for r in results
    ]
    return records.history.write(run_id, check, stamped)


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
