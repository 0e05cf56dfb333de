"""Operator extra links on flightdq's tasks: buttons in the task instance view of the Airflow UI.

Most of flightdq's tasks are `@task` functions, with no operator class of their own to declare
links on. Airflow 3.3 offers two plugin hooks that reach them: `global_operator_extra_links` (every
task of every DAG) and `operator_extra_links`, links attached to the operator classes a link names
in `operators`. These links name `_PythonDecoratedOperator`, the class behind `@task` (mapped or
not), `CheckOperator` (the checks DAGs' `check_<name>` tasks) and `RepairDayOperator` (the
remediation's `repair_day`), and the plugin registers them in
`operator_extra_links`. The api-server computes them when the
task page asks (`BaseOperatorLink.get_link(operator, ti_key=...)`), and a link whose URL is empty is
not shown, so DAGs other than flightdq's never see them.

Where a link's URL comes from, for a task instance of a `flightdq_*` DAG:

1. the task's own XCom `flightdq.core.links.LINKS_XCOM_KEY` ({link name: url}), which a task pushes
   with `flightdq.core.links.check_task_links` / `remediation_task_links` (it knows its query ids);
2. otherwise what the run's standard return values say: the days of `resolve_target` (check DAGs)
   or `resolve_request` (remediation) give the day view (or the calendar of the range); a mapped
   `repair_day` returns its day and ETL run id, which give the Glue job run and S3 prefix on AWS.

XCom values are read as JSON only (never deserialised into objects).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.providers.standard.decorators.python import _PythonDecoratedOperator
from airflow.sdk import BaseOperatorLink

from flightdq.airflow.operators import CheckOperator, RepairDayOperator
from flightdq.core import links

if TYPE_CHECKING:
    from airflow.models.taskinstancekey import TaskInstanceKey

log = logging.getLogger(__name__)

DAG_PREFIX = "flightdq_"
TARGET_TASKS = ("resolve_target", "resolve_request")  # return {"days": [...], ...}
REPAIR_TASK = "repair_day"  # returns {"dt": ..., "etl_run_id": ...}
RETURN_KEY = "return_value"


def decode(value: Any) -> Any:
    """An XCom value as stored (JSON, possibly JSON inside a string) -> plain Python."""
    for _ in range(3):
        if not isinstance(value, str | bytes):
            break
        try:
            value = json.loads(value)
        except ValueError:
            break
    return value


def read_xcom(dag_id: str, run_id: str, task_id: str, key: str, map_index: int = -1) -> Any:
    """One XCom value from Airflow's metadata DB (what the api-server can see), or None."""
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    with create_session() as session:
        row = session.execute(
            XComModel.get_many(
                key=key, run_id=run_id, dag_ids=dag_id, task_ids=task_id, map_indexes=map_index
            ).with_only_columns(XComModel.value)
        ).first()
    return decode(row[0]) if row else None


def _settings() -> tuple[str, str]:
    """(backend name, the UI's path prefix) as configured for the api-server."""
    from airflow.configuration import conf

    backend = (os.environ.get("FLIGHTDQ_BACKEND") or "local").strip().lower()
    base = conf.get("api", "base_url", fallback="") or ""
    return backend, links.ui_path({"AIRFLOW__API__BASE_URL": base}) if base else ""


def task_links(ti_key: TaskInstanceKey, *, reader=read_xcom, settings=_settings) -> dict[str, str]:
    """{link name: url} for one task instance of a flightdq DAG (see the module doc for the order)."""
    if not ti_key.dag_id.startswith(DAG_PREFIX):
        return {}
    own = reader(ti_key.dag_id, ti_key.run_id, ti_key.task_id, links.LINKS_XCOM_KEY, ti_key.map_index)
    if isinstance(own, Mapping) and own:
        return {str(k): str(v) for k, v in own.items() if v}
    backend, base = settings()
    if ti_key.task_id == REPAIR_TASK:
        result = reader(ti_key.dag_id, ti_key.run_id, ti_key.task_id, RETURN_KEY, ti_key.map_index)
        if isinstance(result, Mapping) and result.get("dt"):
            return links.remediation_task_links(
                links.console_links(backend),
                str(result["dt"]),
                etl_run_id=result.get("etl_run_id"),
                base_url=base,
            )
    for task_id in TARGET_TASKS:
        target = reader(ti_key.dag_id, ti_key.run_id, task_id, RETURN_KEY, -1)
        if isinstance(target, Mapping) and target.get("days"):
            view = links.days_view_url([str(d) for d in target["days"]], base_url=base)
            return {links.DAY_VIEW: view} if view else {}
    return {}


class FlightDQLink(BaseOperatorLink):
    """A button on flightdq's `@task` tasks; subclasses name it."""

    operators: ClassVar[list[type]] = [_PythonDecoratedOperator, CheckOperator, RepairDayOperator]
    link_name: ClassVar[str] = ""

    @property
    def name(self) -> str:
        return self.link_name

    def get_link(self, operator: Any, *, ti_key: TaskInstanceKey) -> str:
        try:
            return task_links(ti_key).get(self.link_name, "")
        except Exception:  # a link must never break the task page
            log.exception("flightdq link %r for %s failed", self.link_name, ti_key)
            return ""


class DayViewLink(FlightDQLink):
    link_name = links.DAY_VIEW


class AthenaQueryLink(FlightDQLink):
    link_name = links.ATHENA_QUERY


class GlueJobRunLink(FlightDQLink):
    link_name = links.GLUE_JOB_RUN


class S3PartitionLink(FlightDQLink):
    link_name = links.S3_PARTITION


class S3RawLink(FlightDQLink):
    link_name = links.S3_RAW


LINKS = (DayViewLink, AthenaQueryLink, GlueJobRunLink, S3PartitionLink, S3RawLink)


def operator_extra_links() -> list[FlightDQLink]:
    """One instance of each, for the plugin's `operator_extra_links`."""
    return [cls() for cls in LINKS]
