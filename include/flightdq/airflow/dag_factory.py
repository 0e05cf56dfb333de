"""Builds the data-quality DAGs. Imported by the files in `dags/`: keep module level light (no GX,
no DuckDB, no AWS, no Variables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from flightdq.airflow.tasks import REMEDIATION_DAG_ID

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}


def target_params(remediate: bool) -> dict[str, Param]:
    params = {
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Day to check (UTC)",
            description="Leave empty on a scheduled run; YYYY-MM-DD to check a day by hand.",
        ),
        "to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Last day of a range",
            description="Optional: check every day from `date` to this one, inclusive.",
        ),
        "as_of": Param(
            None,
            type=["null", "string"],
            title="Check as of (ISO-8601)",
            description="Optional: the moment to judge freshness and progress against.",
        ),
    }
    if remediate:
        params["trigger_remediation"] = Param(
            True,
            type="boolean",
            title="Trigger remediation for failing days",
            description="Turn off to re-check days without repairing them.",
        )
    return params


def build_checks_dag(
    *,
    dag_id: str,
    cron: str,
    mode: str,
    checks: Sequence[str],
    doc_md: str,
    tags: Sequence[str] = (),
    remediate: bool = False,
):  # -> airflow DAG
    """A DAG running `checks` (one task each) on the days its runs target, then one `report`, a
    `verdict` that is red on any finding and, with `remediate`, a trigger of the remediation DAG
    for the days whose processed partition failed a check."""

    @dag(
        dag_id=dag_id,
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
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
            from flightdq.airflow.tasks import resolve_target as resolve
            from flightdq.core.config import Settings
            from flightdq.core.dates import InputError

            context = get_current_context()
            dag_run = context["dag_run"]
            try:
                return resolve(
                    context["params"],
                    mode=mode,
                    data_interval_end=dag_run.data_interval_end,
                    run_after=dag_run.run_after,
                    max_days=Settings.from_env().policy.validation.max_range_days,
                )
            except InputError as exc:
                raise AirflowFailException(f"bad input: {exc}") from None

        target = resolve_target()

        check_tasks = []
        for check in checks:

            @task(task_id=f"check_{check}")
            def run_check(target: dict, check: str = check) -> dict:
                from flightdq.airflow.tasks import ChecksFailed, publish_check_links, run_check_group

                context = get_current_context()
                try:
                    return run_check_group(check, target, context["run_id"])
                except ChecksFailed as exc:  # a finding, not a glitch: do not retry
                    raise AirflowFailException(f"{check} failed: {exc}") from None
                finally:
                    publish_check_links(context["ti"], check, target, context["run_id"])

            check_tasks.append(run_check(target))

        # Runs after every check, failed ones included, but not when the target could not be resolved.
        @task(trigger_rule="all_done_min_one_success", retries=0)
        def report(target: dict) -> dict:
            from flightdq.airflow.tasks import remediation_request_from_results, report_run

            context = get_current_context()
            summary = report_run(target, context["run_id"], checks)
            wanted = remediate and context["params"].get("trigger_remediation", True)
            summary["remediation"] = remediation_request_from_results(summary) if wanted else None
            return summary

        @task(retries=0)
        def verdict(summary: dict) -> None:
            """Red when any check failed or left no results: the run's colour is the lake's health."""
            from flightdq.airflow.tasks import verdict_text

            problems = verdict_text(summary)
            if problems:
                raise AirflowFailException(f"data-quality checks failed: {problems}")

        @task(retries=3, retry_delay=timedelta(minutes=1))
        def incidents(target: dict) -> dict:
            """Open, worsen or resolve incidents; send the alerts that are due, exactly once. Fails
            (and retries) when an alert could not be delivered; nothing is lost meanwhile."""
            from flightdq.incidents.manage import incidents_for_run

            context = get_current_context()
            return incidents_for_run(target["days"], context["run_id"], dag_id)

        summary = report(target)
        check_tasks >> summary
        summary >> incidents(target)
        verdict(summary)
        if remediate:

            @task.short_circuit
            def remediation_needed(summary: dict) -> bool:
                return summary["remediation"] is not None

            from airflow.providers.standard.operators.trigger_dagrun import TriggerDagRunOperator

            trigger_remediation = TriggerDagRunOperator(
                task_id="trigger_remediation",
                trigger_dag_id=REMEDIATION_DAG_ID,
                conf="{{ ti.xcom_pull(task_ids='report')['remediation'] }}",
                wait_for_completion=False,
            )
            remediation_needed(summary) >> trigger_remediation

    return checks_dag()
