"""Fault injection for tests (`emulator.faults`): failed and throttled queries, failed and refused
Glue job runs, slow runs."""

from __future__ import annotations

import threading


class Faults:
    """Switches a test flips to make the next calls misbehave. Each is consumed when it fires."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._query_failures: list[str] = []
        self._throttles = 0
        self._glue_failures: list[tuple[str, str]] = []
        self._glue_refusals = 0
        self.glue_run_min_seconds = 0.0  # every run stays RUNNING at least this long
        self.throttled = 0  # how many throttling errors were served
        self.refused = 0  # how many injected ConcurrentRunsExceeded refusals were served

    def fail_next_query(self, reason: str = "HIVE_BAD_DATA: injected by the AWS emulator") -> None:
        """The next query started ends FAILED with `reason` as its StateChangeReason."""
        with self._lock:
            self._query_failures.append(reason)

    def throttle_next_queries(self, times: int) -> None:
        """The next `times` StartQueryExecution calls answer TooManyRequestsException."""
        with self._lock:
            self._throttles += times

    def fail_next_glue_runs(
        self, times: int = 1, message: str = "injected by the AWS emulator", state: str = "FAILED"
    ) -> None:
        """The next `times` job runs end in `state` (FAILED, TIMEOUT, STOPPED, ERROR) with `message`,
        without touching any data."""
        with self._lock:
            self._glue_failures += [(state, message)] * times

    def refuse_next_glue_starts(self, times: int = 1) -> None:
        """The next `times` StartJobRun calls answer ConcurrentRunsExceededException."""
        with self._lock:
            self._glue_refusals += times

    def clear(self) -> None:
        with self._lock:
            self._query_failures.clear()
            self._throttles = 0
            self._glue_failures.clear()
            self._glue_refusals = 0
        self.glue_run_min_seconds = 0.0

    def _take_throttle(self) -> bool:
        with self._lock:
            if self._throttles <= 0:
                return False
            self._throttles -= 1
            self.throttled += 1
            return True

    def _take_query_failure(self) -> str | None:
        with self._lock:
            return self._query_failures.pop(0) if self._query_failures else None

    def _take_glue_failure(self) -> tuple[str, str] | None:
        with self._lock:
            return self._glue_failures.pop(0) if self._glue_failures else None

    def _take_refusal(self) -> bool:
        with self._lock:
            if self._glue_refusals <= 0:
                return False
            self._glue_refusals -= 1
            self.refused += 1
            return True
