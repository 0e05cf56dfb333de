"""Builds the data-quality DAGs. Imported by the files in `dags/`: keep module level light (no GX,
no DuckDB, no AWS, no Variables)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from airflow.sdk import CronDataIntervalTimetable, Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

START_DATE = datetime(2026, 1, 1, tzinfo=UTC)
DEFAULT_ARGS = {
    "owner": "data-platform",
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
}


def target_params() -> dict[str, Param]:
    return {
        "date": Param(None, type=["null", "string"], format="date", title="Day to check (UTC)",
                      description="Leave empty on a scheduled run; YYYY-MM-DD to check a day by hand."),
        "to": Param(None, type=["null", "string"], format="date", title="Last day of a range",
                    description="Optional: check every day from `date` to this one, inclusive."),
        "as_of": Param(None, type=["null", "string"], title="Check as of (ISO-8601)",
                       description="Optional: the moment to judge freshness and progress against."),
    }


def build_checks_dag(*, dag_id: str, cron: str, mode: str, checks: Sequence[str], doc_md: str,
                     tags: Sequence[str] = ()):  # -> airflow DAG
    @dag(
        dag_id=dag_id,
        schedule=CronDataIntervalTimetable(cron, timezone="UTC"),
        start_date=START_DATE,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["flightdq", "data-quality", *tags],
        doc_md=doc_md,
        params=target_params(),
        render_template_as_native_obj=True,
    )
    def checks_dag() -> None:
        @task(retries=0)
        def resolve_target() -> dict:
            from flightdq.config import Settings
            from flightdq.dates import InputError
            from flightdq.orchestration import resolve_target as resolve

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
                from flightdq.orchestration import ChecksFailed, run_check_group

                try:
                    return run_check_group(check, target, get_current_context()["run_id"])
                except ChecksFailed as exc:  # a finding, not a glitch: do not retry
                    raise AirflowFailException(f"{check} failed: {exc}") from None

            check_tasks.append(run_check(target))

        @task(trigger_rule="all_done", retries=0)
        def report(target: dict) -> dict:
            from flightdq.orchestration import ChecksFailed, report_run

            try:
                return report_run(target, get_current_context()["run_id"], checks)
            except ChecksFailed as exc:
                raise AirflowFailException(f"data-quality checks failed: {exc}") from None

        check_tasks >> report(target)

    return checks_dag()
