"""
### Flight data: the monitor's heartbeat (dead-man's switch)

Runbook: every P0-P3 reaches the right people, including "the monitor itself stopped looking".
Every 5 minutes (`FLIGHTDQ_HEARTBEAT_SCHEDULE`, a cron read when this file is parsed):

- **escalations on time**: every open incident past its response time (P0: 15 minutes) gets its
  escalation alert, at most 5 minutes after it was due, whether or not a check runs meanwhile;
- **dead-man's switch**: if no data-quality check has recorded a verdict on the current day for
  `incidents.stale_verdict_minutes` (3 hours by default), open a **P1 "monitoring stopped"**
  incident and page; it resolves by itself, with one "resolved" alert, once verdicts resume.

It notices check DAGs that are paused, stuck or failing on every run. It cannot notice a scheduler
that is down (this DAG would not run either): watch the scheduler from outside Airflow for that.

_The logic lives in `flightdq.incidents.heartbeat`._
"""

from datetime import timedelta

from airflow.sdk import CronDataIntervalTimetable, dag, get_current_context, task

from flightdq.airflow.dag_factory import DEFAULT_ARGS, START_DATE, heartbeat_cron


@dag(
    dag_id="flightdq_heartbeat",
    schedule=CronDataIntervalTimetable(heartbeat_cron(), timezone="UTC"),
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    dagrun_timeout=timedelta(minutes=4),
    # a glitch is retried within the 5 minutes, so the next look is not held back
    default_args=DEFAULT_ARGS | {"retry_delay": timedelta(seconds=30), "retry_exponential_backoff": False},
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
