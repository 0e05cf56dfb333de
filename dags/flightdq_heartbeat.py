"""
### Flight data: the monitor's heartbeat (dead-man's switch)

Runbook: every P0-P3 reaches the right people, including "the monitor itself stopped looking".
Every 30 minutes: if no data-quality check has recorded a verdict on the current day for
`incidents.stale_verdict_minutes` (3 hours by default), open a **P1 "monitoring stopped"** incident
and page; it resolves by itself, with one "resolved" alert, once verdicts resume.

It notices check DAGs that are paused, stuck or failing on every run. It cannot notice a scheduler
that is down (this DAG would not run either): watch the scheduler from outside Airflow for that.

_The logic lives in `flightdq.incidents.heartbeat`._
"""

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from flightdq.airflow.dag_factory import DEFAULT_ARGS, START_DATE


@dag(
    dag_id="flightdq_heartbeat",
    schedule=CronDataIntervalTimetable("*/30 * * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["flightdq", "data-quality", "monitor"],
    doc_md=__doc__,
)
def flightdq_heartbeat() -> None:
    @task
    def heartbeat() -> dict:
        from flightdq.airflow.tasks import heartbeat_step

        context = get_current_context()
        return heartbeat_step(context["run_id"], context["dag_run"].run_after)

    heartbeat()


flightdq_heartbeat()
