"""The remediation's repair task as an operator: a day's ETL run on AWS Glue is waited for by
Airflow's triggerer, not by a worker.

`RepairDayOperator` carries out one day's plan (`flightdq.recovery.plan.DayPlan`, as a dict):

- register: put the partition's files in the catalog, and return;
- rebuild on a backend whose ETL is a service of its own (`ExternalEtl`: AWS Glue): start the day's
  run, or attach to the one already going (never two runs for one day), then defer to the amazon
  provider's `GlueJobCompleteTrigger`; `execute_complete` reads how the run ended and finishes the
  day (a failed run raises with its id and Glue's ErrorMessage; what a run that succeeded wrote under
  its prefix is audited and published by the repair, `flightdq.recovery.publish`: a refusal is
  final, not retried);
- rebuild on the embedded lake: run the ETL in the task. It is a function in this process (DuckDB
  and Parquet files on local disk), with no external service to wait for: deferring would only move
  the same work elsewhere.

A rebuilt or registered partition emits an event of `FLIGHTDATA_PROCESSED` with the day in its
extra: give the task `outlets=[FLIGHTDATA_PROCESSED]` (in `.partial()` when mapped: a mapped
task's outlets are the ones declared there). A task that fails emits no event; a dry run maps no
repair task at all.

Nothing heavy at import: the DAG file imports this module; the backend, the provider's trigger
(and botocore with it) are imported when the task runs.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from airflow.providers.standard.operators.hitl import ApprovalOperator
from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from flightdq.airflow.assets import ASSET_EVENT_DAY_KEY, FLIGHTDATA_PROCESSED

if TYPE_CHECKING:
    from airflow.sdk import Context

    from flightdq.backends.base import Backend, EtlRun, ExternalEtl
    from flightdq.recovery.plan import DayPlan

log = logging.getLogger(__name__)

# The run a deferred repair waits for ({"run_id", "dt", "attached"}), kept in an XCom rather than
# the deferral's kwargs: `airflow dags test` resumes the task with the trigger's event alone.
ETL_RUN_XCOM_KEY = "etl_run"
# A repair the repair refused (a typed `RepairRefused`: {"dt", "error", "failure": its kind}), kept
# for the task that records how the remediation ended: a refusal fails the task, with no return value.
REFUSAL_XCOM_KEY = "refusal"
# Seconds between two looks at a Glue run by the triggerer; unset: the backend's tuning (30 s).
# The whole-DAG tests on the emulator shorten it.
POLL_SECONDS_ENV = "FLIGHTDQ_GLUE_POLL_SECONDS"


class RepairDayOperator(BaseOperator):
    """Repair one planned day (register, or rebuild with the ETL job); see the module's doc.

    :param day_plan: one `DayPlan.to_dict()` whose action is register or rebuild
    :param force: let a rebuild shrink the partition; None (the default): the run's `force` param
    """

    template_fields = ("day_plan",)
    ui_color = "#e8f0fe"

    def __init__(self, *, day_plan: Mapping[str, Any], force: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.day_plan = day_plan
        self.force = force

    def execute(self, context: Context) -> dict[str, Any]:
        from flightdq.airflow.tasks import task_backend
        from flightdq.backends.base import ExternalEtl
        from flightdq.recovery.execute import rebuild_needed, register_day, repair_day
        from flightdq.recovery.plan import Action

        plan = self._plan()
        backend = task_backend()
        if plan.action is Action.REGISTER:
            return self._done(context, register_day(backend, plan))
        rebuild_needed(plan)
        force = self._force(context)
        if not isinstance(backend, ExternalEtl):  # the embedded ETL: run here (see the module's doc)
            return self._done(
                context, self._refusal_is_final(context, plan, lambda: repair_day(backend, plan, force=force))
            )
        run = backend.start_etl(date.fromisoformat(plan.dt))
        if not run.going:  # it ended already (a run attached to at its very end)
            return self._done(context, self._finish(context, backend, plan, run, force=force))
        context["ti"].xcom_push(
            key=ETL_RUN_XCOM_KEY, value={"run_id": run.run_id, "dt": run.dt, "attached": run.attached}
        )
        self.defer(trigger=self._trigger(backend, run.run_id), method_name="execute_complete")

    def execute_complete(self, context: Context, event: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The trigger fired: read how the run ended (Glue's state and ErrorMessage, not the event's
        summary of it) and finish the day."""
        from flightdq.airflow.tasks import task_backend
        from flightdq.backends.base import BackendError

        plan = self._plan()
        backend = task_backend()
        ti = context["ti"]
        started = ti.xcom_pull(task_ids=ti.task_id, key=ETL_RUN_XCOM_KEY, map_indexes=ti.map_index) or {}
        run_id = (event or {}).get("run_id") or started.get("run_id")
        if not run_id:
            raise BackendError(f"the trigger for {plan.dt} returned no Glue run id: {event!r}")
        run = backend.etl_run(run_id, plan.dt, attached=bool(started.get("attached")))
        if run.going:  # the trigger gave up waiting (or failed to look): the run goes on
            raise BackendError(
                f"ETL run {run_id} for {plan.dt} is still {run.state} but the wait for it ended: "
                f"{(event or {}).get('message', 'no reason given')}; left running (a retry attaches to it)"
            )
        return self._done(context, self._finish(context, backend, plan, run, force=self._force(context)))

    def _plan(self) -> DayPlan:
        from flightdq.recovery.plan import DayPlan

        return DayPlan.from_dict(dict(self.day_plan))

    def _force(self, context: Context) -> bool:
        if self.force is not None:
            return self.force
        return bool(context["params"].get("force", False))

    def _finish(
        self, context: Context, backend: Backend, plan: DayPlan, run: EtlRun, *, force: bool
    ) -> dict[str, Any]:
        """Audit and publish what the run wrote (`flightdq.recovery.publish`): the repair's, not the job's."""
        from flightdq.recovery.execute import finish_rebuild

        return self._refusal_is_final(context, plan, lambda: finish_rebuild(backend, plan, run, force=force))

    @staticmethod
    def _refusal_is_final(
        context: Context, plan: DayPlan, repair: Callable[[], dict[str, Any]]
    ) -> dict[str, Any]:
        from flightdq.recovery.execute import RepairRefused

        try:
            return repair()
        except RepairRefused as exc:  # a refusal is an answer, not a glitch: do not retry
            refusal = {"dt": plan.dt, "error": str(exc), "failure": exc.kind}
            context["ti"].xcom_push(key=REFUSAL_XCOM_KEY, value=refusal)
            raise AirflowFailException(str(exc)) from None

    def _trigger(self, backend: ExternalEtl, run_id: str) -> Any:
        from airflow.providers.amazon.aws.triggers.glue import GlueJobCompleteTrigger

        wait = backend.etl_wait()
        delay = float(os.environ.get(POLL_SECONDS_ENV) or wait.poll_seconds)
        polls = max(1, round(wait.poll_seconds * wait.max_polls / delay))  # the same longest wait
        log.info(
            "Glue run %s of %s: waiting in the triggerer (a look every %gs, at most %d looks)",
            run_id,
            wait.job_name,
            delay,
            polls,
        )
        return GlueJobCompleteTrigger(
            job_name=wait.job_name,
            run_id=run_id,
            aws_conn_id=wait.aws_conn_id,
            waiter_delay=delay,
            waiter_max_attempts=polls,
        )

    def _done(self, context: Context, repair: dict[str, Any]) -> dict[str, Any]:
        """The partition is there and registered: say so to whoever is scheduled on it."""
        context["outlet_events"][FLIGHTDATA_PROCESSED].extra = {ASSET_EVENT_DAY_KEY: repair["dt"]}
        log.info("repaired %s: %s", repair["dt"], repair)
        return repair


# The decision on a repair that waited for approval: {"approved": bool, "by": name}, in an XCom of
# the approval task (a rejected ApprovalOperator skips its downstream and keeps no return value).
DECISION_XCOM_KEY = "decision"


class RepairApprovalOperator(ApprovalOperator):
    """The standard provider's `ApprovalOperator` (Airflow's Required Actions: Approve or Reject),
    recording the decision and who made it for the task that records how the repair ended."""

    def execute_complete(self, context: Context, event: dict[str, Any]) -> Any:
        chosen = list(event.get("chosen_options") or [])
        user = event.get("responded_by_user") or {}
        name = user.get("name") if isinstance(user, Mapping) else getattr(user, "name", None)
        if "error" not in event:
            decision = {"approved": chosen == [self.APPROVE], "by": name or "a person"}
            context["ti"].xcom_push(key=DECISION_XCOM_KEY, value=decision)
        return super().execute_complete(context=context, event=event)


class CheckOperator(BaseOperator):
    """One data-quality check over the run's days (`check_<name>` tasks of the checks DAGs).

    A finding fails the task without a retry (`AirflowFailException`); a check that could not run
    raises its error (retried as a glitch; `incidents` pages about the monitor). Either way the task
    publishes its links, and reports its results to Airflow's OpenLineage provider as data-quality
    assertions on the datasets it judged (`flightdq.airflow.lineage`), on success and on failure.

    :param check: the check's name (`flightdq.core.contract.CHECKS`)
    :param target: the run's target (`resolve_target`'s return value: days, as_of)
    """

    template_fields = ("target",)
    ui_color = "#e0f2f1"

    def __init__(self, *, check: str, target: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.target = target
        self._results: list | None = None

    def execute(self, context: Context) -> dict[str, Any]:
        from flightdq.airflow.dag_factory import ERROR_CLASS_XCOM_KEY
        from flightdq.airflow.tasks import ChecksFailed, publish_check_links, run_check_group, task_backend

        kept: list = []
        self._results = kept
        backend = None
        try:
            backend = task_backend()
            return run_check_group(self.check, self.target, context["run_id"], backend, keep=kept)
        except ChecksFailed as exc:  # a finding, not a glitch: do not retry
            raise AirflowFailException(f"{self.check} failed: {exc}") from None
        except Exception as exc:  # the monitor could not look: `incidents` pages about it
            context["ti"].xcom_push(key=ERROR_CLASS_XCOM_KEY, value=type(exc).__name__)
            raise
        finally:
            publish_check_links(context["ti"], self.check, self.target, context["run_id"], backend)

    def _lineage(self, task_instance: Any) -> Any:
        from flightdq.airflow.lineage import check_lineage
        from flightdq.airflow.tasks import check_results_of_run
        from flightdq.core.config import Settings

        results = self._results
        if not results and isinstance(self.target, Mapping):
            results = check_results_of_run(self.check, self.target, task_instance.run_id)
        settings = Settings.from_env()
        return check_lineage(results or [], settings.backend, settings.lake)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        return self._lineage(task_instance)

    def get_openlineage_facets_on_failure(self, task_instance: Any) -> Any:
        return self._lineage(task_instance)
