"""
### Flight data: freshness, every 15 minutes

Runbook: *Data Quality Degradation* ("data freshness lag > 60 minutes"). The newest raw snapshot
(from the object keys) and the newest processed `last_seen` of the day in progress, against the end
of the run's data interval: more than 60 minutes old is P2, more than 4 hours P1.

_Airflow DAG built by `flightdq.airflow.dag_factory`; the logic lives in `include/flightdq`._
"""

from flightdq.airflow.dag_factory import build_checks_dag
from flightdq.airflow.runs import INTRADAY
from flightdq.core.contract import FRESHNESS

build_checks_dag(
    dag_id="flightdq_freshness",
    cron="*/15 * * * *",
    mode=INTRADAY,
    checks=(FRESHNESS,),
    doc_md=__doc__,
    tags=["every-15-minutes"],
)
