"""
### Flight data: remediation (re-run the ETL for broken days)

Runbook: *Data Quality Degradation → Resolution → For Missing Data*: "Re-run ETL job for missing
partitions". This Airflow DAG does it safely, one day at a time:

1. `resolve_request`: the days (`date`, optional `to`, at most 31 days; or `days` when the daily
   data-quality DAG triggers it) and `dry_run` (**on by default** when triggered by hand);
2. `plan`: decide per day: *nothing* to do, *register* (files there, catalog missing them),
   *rebuild* (missing, empty, short, duplicated or broken partition whose raw data is complete), or
   *not repairable* (raw hours missing: **P0 data loss**, no ETL run). Asked by the daily checks,
   it plans from the results that run recorded (`checked_by`); asked by a person, it checks the days;
3. `approval_gate`: a real repair of 2 days or more (`remediation.approval_from_days`), or any
   forced repair, waits in `approve` for a person's **Approve** or **Reject** in Airflow's *Required
   Actions*, with the plan shown. A rejection changes nothing. A single unforced day does not wait;
4. `repair_day` (mapped, in the pool `flightdq_etl`: at most `remediation.max_parallel_etl`
   ETL runs at once across all runs, default 1): run `flightdata-etl` for the day, or attach to
   the run already going for it (never two at once), then register the partition. On AWS the
   task waits for the Glue run in the **triggerer** (deferred: no worker held); on the embedded
   lake the ETL runs inside the task. A repaired day emits an event of the asset
   `flightdata_processed` with `{"dt": day}` in its extra;
5. `finish`: record how each day ended (*repaired*, *repaired partially*, *still failing* when the
   repair failed, *rejected*, *not repairable*, *upstream*, *cannot plan*) in one summary and one record, and put
   it on the days' incidents; `verdict` makes the run red unless every day is fine (a dry run is
   always green: its plan is its answer).

**Re-validation is not here.** Each repaired day's asset event starts a run of
`flightdq_daily_checks`, which checks that day with every check and is the one place incidents
open and resolve. This DAG only writes timeline steps (started, finished, why no ETL run).

A dry run changes nothing: it ends green with its plan as the run's result (the `finish` task's
return value, and one table in its log) and a plan record the day view shows.
"""

from datetime import timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Param, dag, get_current_context, task
from airflow.sdk.exceptions import AirflowFailException

from flightdq.airflow.assets import FLIGHTDATA_PROCESSED
from flightdq.airflow.dag_factory import DEFAULT_ARGS, FORM_MAX_DAYS, START_DATE
from flightdq.airflow.operators import (
    DECISION_XCOM_KEY,
    REFUSAL_XCOM_KEY,
    RepairApprovalOperator,
    RepairDayOperator,
)
from flightdq.airflow.pools import ETL_POOL


@dag(
    dag_id="flightdq_remediation",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=4,
    default_args=DEFAULT_ARGS,
    tags=["flightdq", "remediation", "manual"],
    doc_md=__doc__,
    params={
        "date": Param(
            None,
            type=["null", "string"],
            format="date",
            title="First day to repair (UTC)",
            description=(
                "YYYY-MM-DD: the UTC day to repair, or the first of a range. Needed unless `days` is "
                "given. A day in the future is refused, and nothing is planned or changed."
            ),
        ),
        "to": Param(
            None,
            type=["null", "string"],
            format="date",
            title="Last day (UTC, optional)",
            description=(
                f"YYYY-MM-DD: repair every day from `date` to this one, inclusive; at most {FORM_MAX_DAYS} "
                "days (the policy's validation.max_range_days). A last day before the first, or a longer "
                "range, is refused, and nothing is planned or changed."
            ),
        ),
        "dry_run": Param(
            True,
            type="boolean",
            title="Dry run: plan only, change nothing",
            description=(
                "On (the default): plan each day and change no data. The plan says what a repair would "
                "do (nothing, register the partition, rebuild it from raw data) or why it cannot (raw "
                "data lost, a fault upstream), and is recorded. Off: repair the days that need it, one "
                "at a time, then check them again."
            ),
        ),
        "force": Param(
            False,
            type="boolean",
            title="Force: let a rebuild shrink a partition",
            description="Off: a rebuild that would hold fewer rows or hours than the partition it "
            "replaces is refused and the old partition kept. On: it replaces it anyway, and the "
            "incident's timeline records that it was forced.",
        ),
        "checked_by": Param(
            None,
            type=["null", "string"],
            maxLength=250,
            title="Checked by (set by the data-quality DAG; leave empty by hand)",
            description=(
                "Filled in when the daily checks ask for this repair: the plan reuses that run's "
                "findings. Empty: the days are checked first."
            ),
        ),
        "days": Param(
            [],
            type=["null", "array"],
            items={"type": "string", "format": "date"},
            maxItems=FORM_MAX_DAYS,
            uniqueItems=True,
            title="Days (set by the data-quality DAG; leave empty by hand)",
            description=(
                f"Filled in when the daily checks ask for repairs: the days to repair, YYYY-MM-DD, each "
                f"once, at most {FORM_MAX_DAYS} (and the policy's validation.max_range_days). By hand, "
                "give `date` and `to` instead; giving both is refused, and nothing is changed."
            ),
        ),
    },
)
def flightdq_remediation() -> None:
    @task(retries=0)
    def resolve_request() -> dict:
        from flightdq.airflow.tasks import resolve_remediation_request
        from flightdq.core.config import Settings
        from flightdq.core.dates import InputError

        context = get_current_context()
        try:
            return resolve_remediation_request(
                context["params"],
                run_after=context["dag_run"].run_after,
                max_days=Settings.from_env().policy.validation.max_range_days,
            )
        except InputError as exc:
            raise AirflowFailException(f"bad input: {exc}") from None

    @task
    def plan(request: dict) -> list[dict]:
        from flightdq.airflow.tasks import plan_remediation

        return plan_remediation(request, get_current_context()["run_id"])

    @task
    def days_to_repair(request: dict, plans: list[dict]) -> list[dict]:
        from flightdq.airflow.tasks import days_to_repair as select

        return select(request, plans)

    @task.branch(retries=0)
    def approval_gate(request: dict, plans: list[dict]) -> str:
        """Wait for a person (`approve`) before a big or forced repair; otherwise go straight on."""
        from flightdq.airflow.tasks import approval_needed, approval_text
        from flightdq.core.config import Settings

        from_days = Settings.from_env().policy.remediation.approval_from_days
        if not approval_needed(request, plans, from_days):
            return "no_approval_needed"
        subject, body = approval_text(request, plans)
        ti = get_current_context()["ti"]
        ti.xcom_push(key="subject", value=subject)
        ti.xcom_push(key="body", value=body)
        return "approve"

    # Runs when the repairs are done: failed ones included, and none at all (a dry run, a rejected
    # repair, or days no ETL run can help: a map of zero repairs is skipped, and Airflow then never
    # runs a downstream task with a "min one success" rule, so this is `all_done` and pulls the
    # repairs itself). When planning failed, resolving `plans` fails this task too, and the run is red.
    @task(trigger_rule="all_done", retries=0)
    def finish(request: dict, plans: list[dict]) -> dict:
        from flightdq.airflow.tasks import finish_remediation

        context = get_current_context()
        pulled = context["ti"].xcom_pull(task_ids="repair_day", default=None)  # one repair: a dict
        repairs = [pulled] if isinstance(pulled, dict) else [r for r in pulled or [] if r]
        refused = context["ti"].xcom_pull(task_ids="repair_day", key=REFUSAL_XCOM_KEY, default=None)
        repairs += [refused] if isinstance(refused, dict) else [r for r in refused or [] if r]
        decision = context["ti"].xcom_pull(task_ids="approve", key=DECISION_XCOM_KEY, default=None)
        rejected_by = decision["by"] if decision and not decision["approved"] else None
        return finish_remediation(request, plans, repairs, context["run_id"], rejected_by=rejected_by)

    @task(retries=0)
    def verdict(summary: dict) -> None:
        """Red unless every day ended repaired, with nothing to do, or planned (dry run)."""
        if summary["not_fine"]:
            raise AirflowFailException(f"not every day is fine: {'; '.join(summary['not_fine'])}")

    request = resolve_request()
    plans = plan(request)
    gate = approval_gate(request, plans)
    approve = RepairApprovalOperator(
        task_id="approve",
        subject="{{ ti.xcom_pull(task_ids='approval_gate', key='subject') }}",
        body="{{ ti.xcom_pull(task_ids='approval_gate', key='body') }}",
        retries=0,
    )
    no_approval_needed = EmptyOperator(task_id="no_approval_needed")
    repairs = RepairDayOperator.partial(
        task_id="repair_day",
        pool=ETL_POOL,
        outlets=[FLIGHTDATA_PROCESSED],
        retry_delay=timedelta(minutes=1),
        trigger_rule="none_failed_min_one_success",  # after `approve` or `no_approval_needed`
    ).expand(day_plan=days_to_repair(request, plans))
    gate >> [approve, no_approval_needed] >> repairs
    summary = finish(request, plans)
    repairs >> summary
    verdict(summary)


flightdq_remediation()
