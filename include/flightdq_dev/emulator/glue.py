"""The emulated Glue: StartJobRun enforces MaxConcurrentRuns atomically and really runs
`flightdq.etl.glue_entry` in a thread, STARTING -> RUNNING -> SUCCEEDED/FAILED (with ErrorMessage)."""

from __future__ import annotations

import functools
import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flightdq_dev.emulator.common import GLUE_ACTIVE, active, original

if TYPE_CHECKING:
    from flightdq_dev.emulator.server import AwsEmulator

log = logging.getLogger(__name__)


def start_job_run(self: Any, **kwargs: Any) -> str:
    emulator = active()
    if emulator is None:
        return original("FakeJob", "start_job_run")(self, **kwargs)
    from moto.glue.exceptions import ConcurrentRunsExceededException

    if emulator.faults._take_refusal():
        raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {self.name}")
    with emulator._glue_lock:  # check and start in one step, as Glue does
        limit = (self.execution_property or {}).get("MaxConcurrentRuns", 1)
        going = [r for r in self.job_runs if r.status in GLUE_ACTIVE]
        if len(going) >= limit:
            raise ConcurrentRunsExceededException(f"Concurrent runs exceeded for {self.name}")
        arguments = dict(self.default_arguments or {})
        arguments.update(kwargs.get("arguments") or {})
        arguments.update(self.non_overridable_arguments or {})
        run = _job_run_class()(
            job_name=self.name,
            arguments=arguments,
            timeout=kwargs.get("timeout") or self.timeout,
            worker_type=kwargs.get("worker_type") or self.worker_type,
            number_of_workers=kwargs.get("number_of_workers") or self.number_of_workers,
        )
        self.job_runs.append(run)
    thread = threading.Thread(
        target=_run_job_run,
        args=(emulator, self, run),
        name=f"emulated-glue-{run.job_run_id[:12]}",
        daemon=True,
    )
    emulator._glue_threads.append(thread)
    thread.start()
    return run.job_run_id


@functools.cache
def _job_run_class() -> type:
    from moto.glue.models import FakeJobRun

    class EmulatedJobRun(FakeJobRun):
        """A job run whose state is what the emulated run did, not moto's timer."""

        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.state = "STARTING"
            self.error_message: str | None = None
            self.completed: datetime | None = None

        @property
        def status(self) -> str:
            return self.state

        @status.setter
        def status(self, value: str) -> None:
            self.state = value

        def as_dict(self) -> dict[str, Any]:
            out = super().as_dict()
            out["JobRunState"] = self.state
            out["GlueVersion"] = "5.0"
            out.pop("CompletedOn", None)
            if self.completed is not None:
                out["CompletedOn"] = self.completed
                out["ExecutionTime"] = max(0, int((self.completed - self.started_on).total_seconds()))
            if self.error_message:
                out["ErrorMessage"] = self.error_message
            return out

    return EmulatedJobRun


def _run_job_run(emulator: AwsEmulator, job: Any, run: Any) -> None:
    """One job run, in its own thread: the ETL for its `--dt` (or an injected failure)."""
    from flightdq.core.dates import parse_day
    from flightdq.etl import glue_entry as glue_job
    from flightdq.etl.transform import EtlError

    started = time.monotonic()
    region = job.backend.region_name
    final = "FAILED"
    try:
        run.state = "RUNNING"
        failure = emulator.faults._take_glue_failure()
        if failure is not None:
            final, run.error_message = failure
        else:
            arguments = run.arguments or {}
            day = parse_day(str(arguments.get("--dt")), "--dt")
            glue_job.run_job(
                day,
                s3=emulator.client("s3", region),
                glue=emulator.client("glue", region),
                run_id=run.job_run_id,
                force=arguments.get("--force") == "true",
            )
            final = "SUCCEEDED"
    except Exception as exc:
        run.error_message = str(exc) if isinstance(exc, EtlError) else f"{type(exc).__name__}: {exc}"
        log.warning("emulated Glue run %s failed: %s", run.job_run_id, run.error_message)
    finally:
        rest = emulator.faults.glue_run_min_seconds - (time.monotonic() - started)
        if rest > 0:
            emulator._stopping.wait(rest)
        run.completed = datetime.now(UTC).replace(tzinfo=None)  # moto keeps naive UTC times
        run.state = final
