"""The emulated Glue job runs: the proxy answers StartJobRun, GetJobRun and GetJobRuns of the ETL jobs
it has code for (`EmulatedGlue.jobs`: `flightdata-etl` runs the script its job definition names, the
Spark job `spark_job.py` as deployed or `glue_entry.py`; a test adds a team's own job, or a
misbehaving one, by name; the job definitions themselves stay in moto). A start
enforces the job's MaxConcurrentRuns atomically and really runs the job's code in a thread, with the
run's arguments as a Glue script gets them (`--dt D --output_prefix P --JOB_RUN_ID ...`) and an S3
client of the emulator: STARTING -> RUNNING -> SUCCEEDED, or FAILED with the exception as its
ErrorMessage, so pollers (the backend, the provider's trigger) see it progress."""

from __future__ import annotations

import logging
import math
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flightdq.core.contract import ETL_JOB_NAME
from flightdq_dev.emulator.common import GLUE_ACTIVE
from flightdq_dev.emulator.proxy import AwsError
from flightdq_dev.emulator.seed import DUCKDB_SCRIPT, SPARK_SCRIPT

if TYPE_CHECKING:
    from flightdq_dev.emulator.server import AwsEmulator

log = logging.getLogger(__name__)


@dataclass
class GlueRun:
    id: str
    job_name: str
    arguments: dict[str, str]
    job: dict[str, Any]
    started: float = field(default_factory=time.time)
    state: str = "STARTING"
    error_message: str | None = None
    completed: float | None = None
    modified: float = field(default_factory=time.time)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Id": self.id,
            "Attempt": 0,
            "JobName": self.job_name,
            "StartedOn": self.started,
            "LastModifiedOn": self.modified,
            "JobRunState": self.state,
            "Arguments": self.arguments,
            "PredecessorRuns": [],
            "Timeout": self.job.get("Timeout", 2880),
            "WorkerType": self.job.get("WorkerType"),
            "NumberOfWorkers": self.job.get("NumberOfWorkers"),
            "GlueVersion": self.job.get("GlueVersion", "5.0"),
            "LogGroupName": "/aws-glue/jobs",
            "ExecutionTime": int((self.completed or time.time()) - self.started),
        }
        if self.completed is not None:
            out["CompletedOn"] = self.completed
        if self.error_message:
            out["ErrorMessage"] = self.error_message
        return {k: v for k, v in out.items() if v is not None}


# A job's code: called with the run's arguments (`["--dt", D, "--output_prefix", P, "--JOB_RUN_ID", id,
# ...]`) and a boto3 S3 client of the emulator; raising fails the run, with the error as ErrorMessage.
JobCode = Callable[[list[str], Any], Any]


def duckdb_job(argv: list[str], s3: Any) -> Any:
    """The script `glue_entry.py`: `flightdq.etl.glue_entry`'s entry point (the day on the driver, DuckDB)."""
    from flightdq.etl import glue_entry

    return glue_entry.main(argv, s3=s3)


def spark_job(argv: list[str], s3: Any) -> Any:
    """The script `spark_job.py`, the reference job: `flightdq.etl.spark_job.run_day` on local Spark,
    over a copy of the day (`spark_glue`: local Spark has no S3 file system offline)."""
    from flightdq.etl.glue_entry import parse_arguments
    from flightdq_dev.emulator import spark_glue

    day, output_prefix = parse_arguments(argv)  # the job contract's arguments, Glue's own ignored
    return spark_glue.run_spark_job(s3, day, output_prefix)


# The code of each script a job definition may name (the file name of its Command.ScriptLocation).
SCRIPTS: dict[str, JobCode] = {SPARK_SCRIPT: spark_job, DUCKDB_SCRIPT: duckdb_job}


def by_script(job: dict[str, Any]) -> JobCode:
    """The code of the script the job definition names; an unknown script fails the run, as a
    missing script does on Glue."""
    location = (job.get("Command") or {}).get("ScriptLocation") or ""
    code = SCRIPTS.get(location.rsplit("/", 1)[-1])
    if code is None:
        raise RuntimeError(f"the emulator has no code for the script {location!r} (known: {sorted(SCRIPTS)})")
    return code


class EmulatedGlue:
    def __init__(self, emulator: AwsEmulator) -> None:
        self.emulator = emulator
        self.jobs: dict[str, JobCode | None] = {
            ETL_JOB_NAME: None
        }  # job name -> its code; None: its script's
        self.runs: list[GlueRun] = []
        self.threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def handlers(self) -> dict[str, Any]:
        return {
            "AWSGlue.StartJobRun": self.start_job_run,
            "AWSGlue.GetJobRun": self.get_job_run,
            "AWSGlue.GetJobRuns": self.get_job_runs,
        }

    def start_job_run(self, params: dict[str, Any], region: str) -> dict[str, Any] | None:
        name = params.get("JobName")
        if name not in self.jobs:
            return None  # moto answers for other jobs
        glue = self.emulator._moto_client("glue", region)
        try:
            job = glue.get_job(JobName=name)["Job"]
        except glue.exceptions.EntityNotFoundException:
            raise AwsError("EntityNotFoundException", f"Job {name} not found") from None
        if self.emulator.faults._take_refusal():
            raise AwsError("ConcurrentRunsExceededException", f"Concurrent runs exceeded for {name}")
        with self._lock:  # check and start in one step, as Glue does
            limit = (job.get("ExecutionProperty") or {}).get("MaxConcurrentRuns", 1)
            if len([r for r in self.runs if r.job_name == name and r.state in GLUE_ACTIVE]) >= limit:
                raise AwsError("ConcurrentRunsExceededException", f"Concurrent runs exceeded for {name}")
            arguments = {**(job.get("DefaultArguments") or {}), **(params.get("Arguments") or {})}
            arguments.update(job.get("NonOverridableArguments") or {})
            run = GlueRun(f"jr_{secrets.token_hex(32)}", name, arguments, job)
            self.runs.append(run)
        thread = threading.Thread(
            target=self._run, args=(run, region), name=f"emulated-glue-{run.id[:12]}", daemon=True
        )
        self.threads.append(thread)
        thread.start()
        return {"JobRunId": run.id}

    def get_job_run(self, params: dict[str, Any], region: str) -> dict[str, Any] | None:
        if params.get("JobName") not in self.jobs:
            return None
        run = next(
            (r for r in self.runs if r.id == params.get("RunId") and r.job_name == params.get("JobName")),
            None,
        )
        if run is None:
            raise AwsError("EntityNotFoundException", f"Job run {params.get('RunId')} not found")
        return {"JobRun": run.as_dict()}

    def get_job_runs(self, params: dict[str, Any], region: str) -> dict[str, Any] | None:
        if params.get("JobName") not in self.jobs:
            return None
        mine = [r for r in self.runs if r.job_name == params.get("JobName")]
        newest_first = sorted(mine, key=lambda r: r.started, reverse=True)
        offset, size = int(params.get("NextToken") or 0), int(params.get("MaxResults") or 100)
        body: dict[str, Any] = {"JobRuns": [r.as_dict() for r in newest_first[offset : offset + size]]}
        if offset + size < len(newest_first):
            body["NextToken"] = str(offset + size)
        return body

    def _run(self, run: GlueRun, region: str) -> None:
        """One job run, in its own thread: the job's code with the run's arguments (or an injected
        failure)."""
        from flightdq.etl.transform import EtlError

        emulator = self.emulator
        started = time.monotonic()
        final = "FAILED"
        try:
            # A Glue run takes seconds to start; the job's first write is never in its start second
            # (what the repair's containment relies on: S3 stamps objects to the second).
            time.sleep(max(0.0, math.floor(run.started) + 1.05 - time.time()))
            run.state, run.modified = "RUNNING", time.time()
            failure = emulator.faults._take_glue_failure()
            if failure is not None:
                final, run.error_message = failure
            else:
                argv = [part for key, value in run.arguments.items() for part in (key, str(value))]
                code = self.jobs[run.job_name] or by_script(run.job)
                code([*argv, "--JOB_RUN_ID", run.id], emulator.client("s3", region))
                final = "SUCCEEDED"
        except BaseException as exc:  # SystemExit from argparse included: the run fails, as on Glue
            run.error_message = str(exc) if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
            log.warning("emulated Glue run %s failed: %s", run.id, run.error_message)
        finally:
            rest = emulator.faults.glue_run_min_seconds - (time.monotonic() - started)
            if rest > 0:
                emulator._stopping.wait(rest)
            run.completed = run.modified = time.time()
            run.state = final
