"""
### Flight data: today's partition, through the day

Runbook: *Data Quality Degradation* ("missing data partitions for current day"). Every hour, check
the UTC day in progress as it stands at the end of the run's data interval:

- `check_partition_presence`: every hour that is over has raw snapshots (missing: **P0**), and
  today's processed partition exists once the day is an hour old (P1);
- `check_record_count_drift`: flights in the hours so far against the same hours of the same
  weekday in past weeks (> 20% below: P2, > 50%: P1);
- `check_freshness`: newest raw snapshot and processed `last_seen` within 60 minutes (P2; 4 h: P1).

Whole-day checks (schema, duplicates) run in `flightdq_daily_checks` once the day is complete.

**Lineage**: with an OpenLineage transport configured (`AIRFLOW__OPENLINEAGE__TRANSPORT`, e.g. Marquez), each
check task reports its results as data-quality assertions on `flightdata_raw` / `flightdata_processed`
(`flightdq.airflow.lineage`); without one, the provider stays off.

_Airflow DAG built by `flightdq.airflow.dag_factory`; the logic lives in `include/flightdq`._
"""

from flightdq.airflow.dag_factory import build_checks_dag
from flightdq.airflow.runs import INTRADAY
from flightdq.core.contract import FRESHNESS, PARTITION_PRESENCE, RECORD_COUNT_DRIFT

build_checks_dag(
    dag_id="flightdq_intraday_checks",
    cron="5 * * * *",
    mode=INTRADAY,
    checks=(PARTITION_PRESENCE, RECORD_COUNT_DRIFT, FRESHNESS),
    doc_md=__doc__,
    tags=["hourly"],
)
