"""Where the pages read from: the backend's BlobStore (check history, remediations, incidents), the
policy, and Airflow's metadata DB (which DAG a run id belongs to, which remediation runs a day had).
Every read is defensive: a source that cannot be read makes the page say so, never crash."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

from flightdq.storage.history import HistoryStore
from flightdq.ui import actions, day_view
from flightdq.ui import now as now_view

log = logging.getLogger(__name__)

FRESH_DAYS = 2  # records of the last days are being written: never cached
CACHE_SECONDS = 600  # a record file of an older day re-read at most this often
CACHE_MAX_FILES = 50_000
APPROVAL_TASK_ID = "approve"  # flightdq_remediation's approval before big repairs


class Unavailable(Exception):
    """The check history cannot be read (configuration or backend); the message says why."""


class Sources:
    """Where the pages read from: the backend's BlobStore (history, remediations, incidents), the
    drift policy (for the band) and Airflow's metadata DB (which DAG a run id belongs to)."""

    def __init__(
        self,
        settings_factory: Callable[[], Any] | None = None,
        blobs_factory: Callable[[Any], Any] | None = None,
        dag_ids_lookup: day_view.RunLookup | None = None,
        remediation_runs_lookup: Callable[[str], list[dict[str, Any]] | None] | None = None,
        paused_lookup: Callable[[], list[str]] | None = None,
    ) -> None:
        self.settings_factory = settings_factory or _settings_from_env
        self.blobs_factory = blobs_factory or _blobs_for
        self.dag_ids_lookup = dag_ids_lookup or airflow_dag_ids
        self.remediation_runs_lookup = remediation_runs_lookup or airflow_remediation_runs
        self.paused_lookup = paused_lookup or airflow_paused_dags
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}  # key -> (expires, records)
        self._lock = threading.Lock()

    def open(self) -> tuple[Any, Any]:
        """(settings, blobs), or `Unavailable` naming why the records cannot be read."""
        try:
            settings = self.settings_factory()
            return settings, self.blobs_factory(settings)
        except Exception as exc:  # a bad FLIGHTDQ_* setting, a backend that cannot start
            log.exception("flightdq's records cannot be opened")
            raise Unavailable(f"flightdq's records cannot be read: {type(exc).__name__}: {exc}") from None

    def check_records(self, blobs: Any, days: Iterable[str], *, today: date) -> list[dict[str, Any]]:
        """Every check record of `days`. Record files of days that are over are kept for a few minutes
        (a page reads thousands of small files; a file changes only when its task runs again)."""
        history = HistoryStore(blobs)
        records: list[dict[str, Any]] = []
        fresh_from = str(today - timedelta(days=FRESH_DAYS))
        now = time.monotonic()
        for day in sorted(set(days)):
            for key in history.day_files(history.checks, day):
                hit = self._cache.get(key) if day < fresh_from else None
                if hit is not None and hit[0] > now:
                    records.extend(hit[1])
                    continue
                found = history.load(key)
                if day < fresh_from:
                    with self._lock:
                        if len(self._cache) >= CACHE_MAX_FILES:
                            self._cache.clear()
                        self._cache[key] = (now + CACHE_SECONDS, found)
                records.extend(found)
        return records

    def last_checked_day(self, blobs: Any) -> str | None:
        return HistoryStore(blobs).last_checked_day()


def _settings_from_env() -> Any:
    from flightdq.core.config import Settings

    return Settings.from_env()


def _blobs_for(settings: Any) -> Any:
    """The BlobStore the backend keeps flightdq's records in. Locally the lake folder itself (read
    only: the page never creates the lake's catalog, nor a missing lake); otherwise the backend's."""
    if settings.backend == "local":
        from flightdq.backends.local.backend import check_lake_root
        from flightdq.storage.blobstore import LocalBlobStore

        return LocalBlobStore(check_lake_root(settings.lake, writable=False))
    from flightdq.airflow.aws import backend

    return backend(settings).blobs


def airflow_dag_ids(run_ids: Iterable[str]) -> dict[str, list[str]]:
    """run id -> the flightdq DAGs (tagged `flightdq`) that have a run with that id, from Airflow's
    metadata DB. Empty when the DB cannot be reached (the pages then show run ids without links)."""
    ids = sorted({r for r in run_ids if r})
    if not ids:
        return {}
    try:
        from airflow.models.dag import DagTag
        from airflow.models.dagrun import DagRun
        from airflow.utils.session import create_session
        from sqlalchemy import select

        found: dict[str, list[str]] = {}
        with create_session() as session:
            rows = session.execute(
                select(DagRun.run_id, DagRun.dag_id)
                .join(DagTag, DagTag.dag_id == DagRun.dag_id)
                .where(DagRun.run_id.in_(ids), DagTag.name == "flightdq")
                .order_by(DagRun.dag_id)
            ).all()
        for run_id, dag_id in rows:
            found.setdefault(run_id, []).append(dag_id)
        return found
    except Exception:
        log.exception("looking up the DAGs of %d run ids failed", len(ids))
        return {}


def airflow_paused_dags() -> list[str]:
    """The DAGs the pages trigger (the daily checks, the remediation) that are paused in Airflow: a
    run triggered for them waits, queued, until someone unpauses them. Empty when the metadata DB
    cannot be read (the page then says nothing rather than something false)."""
    try:
        from airflow.models.dag import DagModel
        from airflow.utils.session import create_session
        from sqlalchemy import select

        wanted = (actions.DAILY_CHECKS_DAG_ID, actions.REMEDIATION_DAG_ID)
        with create_session() as session:
            rows = session.execute(
                select(DagModel.dag_id).where(DagModel.dag_id.in_(wanted), DagModel.is_paused.is_(True))
            ).all()
        return sorted(row[0] for row in rows)
    except Exception:
        log.exception("reading which flightdq DAGs are paused failed")
        return []


def airflow_remediation_runs(day: str, limit: int = 300) -> list[dict[str, Any]] | None:
    """The latest runs of the remediation DAG (dry runs included) from Airflow's metadata DB, as
    plain dicts; `day_view.remediation_runs` keeps those whose conf covers the day. None when the DB
    cannot be reached."""
    try:
        from airflow.models.dagrun import DagRun
        from airflow.models.taskinstance import TaskInstance
        from airflow.utils.session import create_session
        from sqlalchemy import select

        with create_session() as session:
            runs = session.scalars(
                select(DagRun)
                .where(DagRun.dag_id == actions.REMEDIATION_DAG_ID)
                .order_by(DagRun.id.desc())
                .limit(limit)
            ).all()
            waiting = set(
                session.scalars(
                    select(TaskInstance.run_id).where(
                        TaskInstance.dag_id == actions.REMEDIATION_DAG_ID,
                        TaskInstance.task_id == APPROVAL_TASK_ID,
                        TaskInstance.state == "awaiting_input",
                    )
                ).all()
            )
            return [
                {
                    "dag_id": run.dag_id,
                    "run_id": run.run_id,
                    "state": str(run.state or ""),
                    "conf": dict(run.conf or {}),
                    "run_after": run.run_after.isoformat() if run.run_after else "",
                    "awaiting_approval": run.run_id in waiting,
                }
                for run in runs
            ]
    except Exception:
        log.exception("reading the runs of %s for %s failed", actions.REMEDIATION_DAG_ID, day)
        return None


def read_open_incidents(blobs: Any, today: date) -> list[Any] | None:
    """The open incidents of every day the open-incident index names (and of today and yesterday),
    or None when there is no incident store to read."""
    try:
        from flightdq.incidents.store import IncidentStore

        store = IncidentStore(blobs)
        return store.open(now_view.days_to_read(store.open_days(), today))
    except Exception:  # a broken incident store must not take the page down
        log.exception("open incidents could not be read")
        return None
