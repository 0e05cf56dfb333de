"""The ETL Glue job (`settings.etl_job`, default `flightdata-etl`) seen from Airflow: a run is started
with the job contract's arguments (`--dt` and a new run-scoped `--output_prefix`, docs/aws.md "The
ETL job contract"); before starting, a run already going for the day (same `--dt`) is attached to
instead of starting another. `ConcurrentRunsExceededException` means
wait and retry (bounded), re-checking for a run of the day each time: never a second run for one day,
never a silent failure. Waiting for the run's end: a botocore waiter here (`run_etl`, the CLI's path;
the amazon provider's `job_complete` waiter's states), or the provider's `GlueJobCompleteTrigger` in
Airflow's triggerer (the remediation DAG's repair task starts the run with `start_etl` and defers).

What our job does is `flightdq.etl.glue_entry`; auditing and publishing what a run wrote is the
repair's (`flightdq.recovery.publish`).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from flightdq.backends.aws.clients import (
    SERVER_ERROR_CODES,
    THROTTLING_CODES,
    AwsClients,
    AwsTuning,
    partition_day,
)
from flightdq.backends.base import ETL_GOING_STATES, BackendError, EtlRun
from flightdq.core import layout
from flightdq.core.contract import ETL_JOB_NAME, PROCESSED_BUCKET
from flightdq.etl.s3_io import error_code, error_message

log = logging.getLogger(__name__)

GLUE_ACTIVE_STATES = ETL_GOING_STATES
GLUE_TERMINAL_STATES = frozenset({"SUCCEEDED", "FAILED", "STOPPED", "TIMEOUT", "ERROR", "EXPIRED"})


def _acceptor(state: str, outcome: str) -> dict[str, str]:
    return {"matcher": "path", "argument": "JobRun.JobRunState", "expected": state, "state": outcome}


# Botocore's waiter for a run's end (the amazon provider's `job_complete`, on this module's states):
# wait while the run is going, stop at its end; an end other than SUCCEEDED stops it too (the run's
# state and message are read after).
JOB_COMPLETE_WAITER = {
    "version": 2,
    "waiters": {
        "job_complete": {
            "operation": "GetJobRun",
            "delay": 60,
            "maxAttempts": 75,
            "acceptors": [
                *(_acceptor(s, "retry") for s in sorted(GLUE_ACTIVE_STATES)),
                *(_acceptor(s, "failure") for s in sorted(GLUE_TERMINAL_STATES - {"SUCCEEDED"})),
                _acceptor("SUCCEEDED", "success"),
            ],
        }
    },
}


class GlueEtlJob:
    """Runs of `flightdata-etl`: start or attach, wait, and list the runs of a day."""

    def __init__(self, clients: AwsClients, job_name: str = ETL_JOB_NAME) -> None:
        self._clients = clients
        self.job_name = job_name
        self._job_checked = False

    def run_etl(self, day: date) -> EtlRun:
        """Run `flightdata-etl --dt <day>`, or attach to the run already going for that day, and wait
        for it to end (the provider's `job_complete` waiter, in this process). A run that ended
        STOPPED, ERROR, TIMEOUT, FAILED (or EXPIRED) comes back as not succeeded, with its id and
        Glue's ErrorMessage. Airflow's repair task does not wait here: it starts with `start_etl`
        and defers to the triggerer (`flightdq.airflow.operators`)."""
        started = self.start_etl(day)
        return self.wait_for_run(started.run_id, started.dt, attached=started.attached)

    def start_etl(self, day: date) -> EtlRun:
        """Start the day's run with a new run-scoped output prefix, or attach to the one already going
        for it; returns at once with the run as Glue describes it now (usually STARTING or RUNNING)."""
        dt = partition_day(day)
        self._check_job_once()
        going = self.active_etl_run(dt)
        if going is not None:
            log.info(
                "Glue run %s of %s for dt=%s is already going: attaching", going["Id"], self.job_name, dt
            )
            run_id, attached = going["Id"], True
        else:
            run_id, attached = self._start_run(dt)
        return self.etl_run(run_id, dt, attached=attached)

    def etl_run(self, run_id: str, dt: str, *, attached: bool = False) -> EtlRun:
        """One run as Glue describes it now; a run that ended other than SUCCEEDED carries Glue's
        ErrorMessage (or says that Glue gave none)."""
        what = f"Glue run {run_id} of {self.job_name} for dt={dt}"
        run = self._clients.call(
            "glue_job", "get_job_run", what, JobName=self.job_name, RunId=run_id, PredecessorsIncluded=False
        )["JobRun"]
        state = run.get("JobRunState") or "UNKNOWN"
        error = run.get("ErrorMessage")
        if state not in GLUE_ACTIVE_STATES and state != "SUCCEEDED" and not error:
            error = f"Glue reported {state} without an error message"
        started = run.get("StartedOn")
        return EtlRun(
            run_id,
            dt,
            state,
            error=error,
            attached=attached,
            output_prefix=(run.get("Arguments") or {}).get("--output_prefix"),
            started_at=_started(run) if started is not None else None,
        )

    def wait_for_run(self, run_id: str, dt: str, *, attached: bool) -> EtlRun:
        """Wait with a `job_complete` waiter (a look every `glue_poll_seconds`, for at most
        `glue_wait_seconds`), then read the run once more for its end and ErrorMessage."""
        from botocore.exceptions import WaiterError
        from botocore.waiter import WaiterModel, create_waiter_with_client

        tuning = self._clients.tuning
        what = f"Glue run {run_id} of {self.job_name} for dt={dt}"
        delay = tuning.glue_poll_seconds
        waiter = create_waiter_with_client(
            "job_complete", WaiterModel(JOB_COMPLETE_WAITER), self._clients.client("glue_job")
        )
        try:
            waiter.wait(
                JobName=self.job_name,
                RunId=run_id,
                WaiterConfig={"Delay": delay, "MaxAttempts": glue_wait_attempts(tuning)},
            )
        except WaiterError as exc:  # a failed run included: its state and message are read below
            log.info("%s: the waiter stopped: %s", what, exc)
        run = self.etl_run(run_id, dt, attached=attached)
        if run.going:
            raise BackendError(
                f"{what} still {run.state} after {tuning.glue_wait_seconds:.0f}s; left running "
                "(a retry attaches to it)"
            )
        log.info("%s ended %s%s", what, run.state, f": {run.error}" if run.error else "")
        return run

    def etl_runs(self, day: date | str) -> list[dict[str, Any]]:
        """The runs of the job for `day` that Glue still remembers, oldest first, in the local job
        registry's shape (run_id, dt, state, started_at, finished_at, error, rows)."""
        return [
            {
                "run_id": r["Id"],
                "dt": partition_day(day),
                "state": r.get("JobRunState"),
                "started_at": _iso(r.get("StartedOn")),
                "finished_at": _iso(r.get("CompletedOn")),
                "error": r.get("ErrorMessage"),
                "rows": None,
            }
            for r in self._glue_runs_for(partition_day(day))
        ]

    def active_etl_run(self, dt: str) -> dict[str, Any] | None:
        """The earliest-started Glue run for `dt` that is still going, if any (as Glue describes it)."""
        going = [r for r in self._glue_runs_for(dt) if r.get("JobRunState") in GLUE_ACTIVE_STATES]
        return going[0] if going else None

    def _glue_runs_for(self, dt: str) -> list[dict[str, Any]]:
        """Glue's JobRun records of the job whose `--dt` argument is `dt`, oldest first."""
        runs = [r for r in self._job_runs() if (r.get("Arguments") or {}).get("--dt") == dt]
        return sorted(runs, key=lambda r: (_started(r), r["Id"]))

    def _job_runs(self) -> Iterator[dict[str, Any]]:
        from botocore.exceptions import ClientError

        token = None
        while True:
            kwargs: dict[str, Any] = {"JobName": self.job_name, "MaxResults": 200}
            if token:
                kwargs["NextToken"] = token
            try:
                page = self._clients.call("glue_job", "get_job_runs", f"Glue job {self.job_name}", **kwargs)
            except ClientError as exc:
                raise BackendError(
                    f"listing runs of Glue job {self.job_name} failed: "
                    f"{error_code(exc)}: {error_message(exc)}"
                ) from exc
            yield from page.get("JobRuns") or []
            token = page.get("NextToken")
            if not token:
                return

    def _check_job_once(self) -> None:
        """Never two runs for one day rests on the job allowing one run at a time: say so if not."""
        if self._job_checked:
            return
        self._job_checked = True
        try:
            job = self._clients.call(
                "glue_job", "get_job", f"Glue job {self.job_name}", JobName=self.job_name
            )["Job"]
        except Exception as exc:  # the start call will report a missing job with its own error
            log.warning("could not read Glue job %s: %s", self.job_name, exc)
            return
        limit = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1)
        if limit != 1:
            log.warning(
                "Glue job %s allows %s concurrent runs; flightdq relies on 1 (docs/aws.md): two callers "
                "starting the same day at the same moment could then both start a run",
                self.job_name,
                limit,
            )

    def _start_run(self, dt: str) -> tuple[str, bool]:
        """Start a run for `dt`; returns (run id, attached). While Glue refuses because the job's run
        slot is taken, wait and retry (bounded); before each retry look for a run of `dt` that someone
        else started meanwhile and attach to it instead."""
        from botocore.exceptions import ClientError, HTTPClientError
        from botocore.exceptions import ConnectionError as BotoConnectionError

        tuning = self._clients.tuning
        what = f"Glue job {self.job_name} for dt={dt}"
        started = time.monotonic()
        delay = tuning.concurrent_retry_seconds
        refusals = 0
        while True:
            try:
                response = self._clients.client("glue_job").start_job_run(
                    JobName=self.job_name, Arguments={"--dt": dt, "--output_prefix": output_prefix(dt)}
                )
                log.info("%s: started run %s", what, response["JobRunId"])
                return response["JobRunId"], False
            except ClientError as exc:
                code = error_code(exc)
                if code == "ConcurrentRunsExceededException":
                    reason = "the job's run slot is taken (ConcurrentRunsExceededException)"
                elif code in THROTTLING_CODES or code in SERVER_ERROR_CODES:
                    reason = f"Glue refused the start ({code})"
                else:
                    raise BackendError(f"{what}: start_job_run failed: {code}: {error_message(exc)}") from exc
            except (BotoConnectionError, HTTPClientError) as exc:  # it may have started: the look finds it
                reason = f"the start call was lost ({type(exc).__name__})"
            refusals += 1
            going = self.active_etl_run(dt)
            if going is not None:
                log.info("%s: run %s for the day is going now: attaching", what, going["Id"])
                return going["Id"], True
            waited = time.monotonic() - started
            if waited + delay > tuning.concurrent_wait_seconds:
                raise BackendError(
                    f"{what}: could not start after {refusals} attempt(s) over {waited:.0f}s: {reason}"
                )
            log.warning("%s: %s; waiting %.1fs before trying again", what, reason, delay)
            self._clients.sleep(delay)
            delay = min(delay * 2, 120.0)


def output_prefix(dt: str) -> str:
    """A new run-scoped output prefix for a run of the day (the job contract):
    `s3://<processed bucket>/flightdata_processed/dt=D/run=<run id>/`; the run id is the repair's own
    (Glue's JobRunId is known only once the run started)."""
    run_id = f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{uuid.uuid4().hex[:12]}"
    return f"s3://{PROCESSED_BUCKET}/{layout.processed_partition_prefix(dt)}run={run_id}/"


def glue_wait_attempts(tuning: AwsTuning) -> int:
    """How many looks at a run, `glue_poll_seconds` apart, make `glue_wait_seconds`."""
    return max(1, math.ceil(tuning.glue_wait_seconds / tuning.glue_poll_seconds))


def _started(run: dict[str, Any]) -> float:
    started = run.get("StartedOn")
    if isinstance(started, datetime):
        return started.timestamp()
    return float(started or 0)


def _iso(moment: Any) -> str | None:
    return moment.isoformat() if isinstance(moment, datetime) else None
