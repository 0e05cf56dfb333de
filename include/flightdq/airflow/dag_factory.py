"""Builds the data-quality DAGs. Imported by the files in `dags/`: keep module level light (no GX,
no DuckDB, no AWS, no Variables)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import (
    AssetOrTimeSchedule,
    BaseOperator,
    CronDataIntervalTimetable,
    Param,
    dag,
    get_current_context,
    task,
)
from airflow.sdk.exceptions import AirflowFailException

from flightdq.airflow.assets import FLIGHTDATA_PROCESSED
from flightdq.airflow.runs import ASSET_TRIGGER, REMEDIATION_DAG_ID

if TYPE_CHECKING:
    from airflow.sdk.definitions.asset import AssetRef

# The trigger forms' fixed bound on days: the policy's default `validation.max_range_days`. The
# forms are built when a DAG is parsed, which reads no file (the policy is one); the first task of
# each run enforces the policy's actual limit. A policy allowing more still gets at most this many
# days from a form's list (`days`); a `date`..`to` range is checked by the task alone.
FORM_MAX_DAYS = 31
ERROR_CLASS_XCOM_KEY = "error_class"  # what a check task that failed could say about why
START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
# Retries of a task that hit a glitch (a finding is never retried). FLIGHTDQ_TASK_RETRIES changes
# it (the whole-DAG tests use 0): an environment variable, cheap to read when the DAG is parsed.
TASK_RETRIES = int(os.environ.get("FLIGHTDQ_TASK_RETRIES", "2"))
DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": TASK_RETRIES,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}

# How often flightdq_heartbeat looks: escalations go out at most this long after they are due.
HEARTBEAT_SCHEDULE_ENV = "FLIGHTDQ_HEARTBEAT_SCHEDULE"
DEFAULT_HEARTBEAT_CRON = "*/5 * * * *"


class TriggerRemediation(BaseOperator):
    """Starts a run of `trigger_dag_id` with `conf` (templated), not waiting for it; skipped when
    `conf` renders empty (the run asks for no repair). The standard provider's TriggerDagRunOperator
    does the triggering, imported when the task runs: its module imports Airflow's ORM models (about
    20 ms), which every parse of the daily DAG file would otherwise pay, and the whole file's budget
    is twice a one-task DAG's."""

    template_fields = ("conf",)
    ui_color = "#ffefeb"  # TriggerDagRunOperator's

    def __init__(self, *, trigger_dag_id: str, conf: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trigger_dag_id = trigger_dag_id
        self.conf = conf
        self.trigger_run_id: str | None = None

    def execute(self, context: Any) -> None:
        if not self.conf:
            from airflow.sdk.exceptions import AirflowSkipException

            raise AirflowSkipException("no day of this run needs a repair")
        from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

        trigger = TriggerDagRunOperator(
            task_id=self.task_id,
            trigger_dag_id=self.trigger_dag_id,
            conf=self.conf,
            wait_for_completion=False,
        )
        try:
            trigger.execute(
                context
            )  # Airflow 3: raises DagRunTriggerException, which the task runner acts on
        finally:
            self.trigger_run_id = trigger.trigger_run_id  # what listeners (OpenLineage) read


def heartbeat_cron(env: Mapping[str, str] | None = None) -> str:
    """The heartbeat's cron (UTC): FLIGHTDQ_HEARTBEAT_SCHEDULE, default every 5 minutes. Read from
    the environment when the DAG file is parsed; Airflow refuses a malformed cron, naming it."""
    env = os.environ if env is None else env
    return env.get(HEARTBEAT_SCHEDULE_ENV, "").strip() or DEFAULT_HEARTBEAT_CRON


def target_params(remediate: bool) -> dict[str, Param]:
    """The trigger form. Airflow checks each field against its JSON schema when the run is triggered
    (a malformed day is refused there); what needs two fields at once (a reversed or too-long range,
    `to` without `date`, a day after `as_of`) is refused by the first task, `resolve_target`."""
    params = {
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Day to check (UTC)",
            description=(
                "YYYY-MM-DD: the UTC day to check, or the first of a range. Leave empty to check the day "
                "the schedule targets. A day after `as_of` (or after today) is refused, and nothing is "
                "checked or recorded."
            ),
        ),
        "to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Last day of a range (UTC, optional)",
            description=(
                f"YYYY-MM-DD: check every day from `date` to this one, inclusive; at most {FORM_MAX_DAYS} "
                "days (the policy's validation.max_range_days). Needs `date`. A last day before the "
                "first, or a longer range, is refused, and nothing is checked or recorded."
            ),
        ),
        "as_of": Param(
            None,
            type=["null", "string"],
            title="Check as of (ISO-8601, optional)",
            description=(
                "The moment freshness and a day in progress are judged against, e.g. "
                "2026-11-23T06:00:00+00:00. Empty: now (a scheduled run: the end of its data interval). "
                "A moment before the last day checked, or text that is not a moment, is refused, and "
                "nothing is checked or recorded."
            ),
        ),
    }
    if remediate:
        params["trigger_remediation"] = Param(
            True,
            type="boolean",
            title="Trigger remediation for failing days",
            description=(
                "On: a day whose processed partition fails a check is repaired, rebuilt from its raw "
                "data where that is complete (never over lost raw data; a repair of several days waits "
                "for a person's approval), then checked again. Off: only check, repair nothing."
            ),
        )
    return params


def checks_schedule(
    cron: str, schedule_mode: str = "cron"
) -> CronDataIntervalTimetable | AssetOrTimeSchedule | AssetRef:
    """What starts a checks DAG's runs: `cron` (a data-interval cron in UTC), `asset` (an event of
    `flightdata_processed`: a rebuilt or registered partition) or `cron_or_asset` (either).

    The schedule names the asset itself (`FLIGHTDATA_PROCESSED`), never `Asset.ref(name=...)`:
    Airflow 3.3's scheduler creates a run for a reference but attaches no events to it (the run
    "consumed 0 asset events" and has no day to check). The asset has a name and no `s3://` URI,
    so using it loads no provider's URI handler (nor boto3) when a DAG file is parsed."""
    timetable = CronDataIntervalTimetable(cron, timezone="UTC")
    processed = FLIGHTDATA_PROCESSED
    if schedule_mode == "cron":
        return timetable
    if schedule_mode == "asset":
        return processed
    if schedule_mode == "cron_or_asset":
        return AssetOrTimeSchedule(timetable=timetable, assets=processed)
    raise ValueError(f"schedule mode {schedule_mode!r} is not one of cron, asset, cron_or_asset")


def build_checks_dag(
    *,
    dag_id: str,
    cron: str,
    mode: str,
    checks: Sequence[str],
    doc_md: str,
    tags: Sequence[str] = (),
    remediate: bool = False,
    schedule_mode: str = "cron",
):  # -> airflow DAG
    """A DAG running `checks` (one task each) on the days its runs target, then one `report`, a
    `verdict` that is red on any finding and, with `remediate`, a trigger of the remediation DAG
    for the days whose processed partition failed a check (never from an asset-triggered run: that
    is the re-check of a repair, and must not start another one). `schedule_mode`: see
    `checks_schedule`."""

    @dag(
        dag_id=dag_id,
        schedule=checks_schedule(cron, schedule_mode),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["flightdq", "data-quality", *tags],
        doc_md=doc_md,
        params=target_params(remediate),
        render_template_as_native_obj=True,
    )
    def checks_dag() -> None:
        @task(retries=0)
        def resolve_target() -> dict:
            from flightdq.airflow.assets import ASSET_EVENT_DAY_KEY
            from flightdq.airflow.tasks import resolve_target as resolve
            from flightdq.core.config import Settings
            from flightdq.core.dates import InputError

            context = get_current_context()
            dag_run = context["dag_run"]
            # An asset-triggered run has no logical date: its days are in its events' extras.
            by_asset = dag_run.run_type == "asset_triggered"
            try:
                return resolve(
                    context["params"],
                    mode=mode,
                    data_interval_end=dag_run.data_interval_end,
                    run_after=dag_run.run_after,
                    max_days=Settings.from_env().policy.validation.max_range_days,
                    asset_events=context["triggering_asset_events"] if by_asset else None,
                    day_key=ASSET_EVENT_DAY_KEY,
                )
            except InputError as exc:
                raise AirflowFailException(f"bad input: {exc}") from None

        target = resolve_target()

        from flightdq.airflow.operators import CheckOperator

        check_tasks = [
            CheckOperator(task_id=f"check_{check}", check=check, target=target) for check in checks
        ]

        # Runs after every check, failed ones included, but not when the target could not be resolved.
        @task(trigger_rule="all_done_min_one_success", retries=0)
        def report(target: dict) -> dict:
            from flightdq.airflow.tasks import plan_run_days, remediation_request, report_run

            context = get_current_context()
            summary = report_run(target, context["run_id"], checks)
            summary["could_not_run"] = {
                check: context["ti"].xcom_pull(task_ids=f"check_{check}", key=ERROR_CLASS_XCOM_KEY)
                for check in summary["missing_checks"]
            }
            summary["plans"] = plan_run_days(target, context["run_id"]) if remediate else []
            wanted = remediate and context["params"].get("trigger_remediation", True)
            # A run started by a repair's asset event re-checks that repair: it never asks for
            # another, so a day that stays bad cannot loop remediation -> event -> check -> ...
            summary["remediation_withheld"] = wanted and target.get("trigger") == ASSET_TRIGGER
            wanted = wanted and not summary["remediation_withheld"]
            summary["remediation"] = (
                remediation_request(summary["plans"], context["run_id"]) if wanted else None
            )
            return summary

        @task(retries=0)
        def verdict(summary: dict) -> None:
            """Red when the run leaves something for a person: a finding no repair was asked for, or a
            check that left no results. A partition handed to the remediation is the repair's; its
            re-validation run is red if the repair did not fix it."""
            from flightdq.airflow.tasks import verdict_text

            problems = verdict_text(summary)
            if problems:
                raise AirflowFailException(f"data-quality checks failed: {problems}")

        @task(retries=3, retry_delay=timedelta(minutes=1))
        def incidents(target: dict, summary: dict) -> dict:
            """Open, worsen or resolve incidents (a check task that failed opens "monitoring blind");
            send the alerts that are due, exactly once; say on each day's incident why it gets no ETL
            run. Fails (and retries) when an alert could not be delivered; nothing is lost meanwhile."""
            from flightdq.airflow.tasks import (
                incidents_step,
                note_run_plans,
                record_checks_that_could_not_run,
            )

            run_id = get_current_context()["run_id"]
            record_checks_that_could_not_run(target, run_id, summary["could_not_run"])
            done = incidents_step(target["days"], run_id, dag_id)
            note_run_plans(summary["plans"], run_id, dag_id)
            return done

        summary = report(target)
        check_tasks >> summary
        recorded = incidents(target, summary)
        verdict(summary)
        if remediate:
            # After `incidents`: the repair's timeline steps find the incident its findings opened.
            # `all_done`: an alert that could not be delivered (it stays pending) holds no repair back.
            # Skipped when the report asks for no repair.
            trigger_remediation = TriggerRemediation(
                task_id="trigger_remediation",
                trigger_dag_id=REMEDIATION_DAG_ID,
                conf="{{ ti.xcom_pull(task_ids='report')['remediation'] }}",
                trigger_rule="all_done",
            )
            [summary, recorded] >> trigger_remediation

    return checks_dag()
