"""
### Flight data: daily data-quality checks

Runbook: *Data Quality Degradation*. Once a UTC day is over (02:00 UTC the next day, when the ETL
has had time to build it), check that day on both datasets:

| task | what it checks | fails when (default policy) |
|---|---|---|
| `check_partition_presence` | raw hours and the processed partition are there | partition missing/empty: P1, raw hours missing: **P0** |
| `check_record_count_drift` | flights against the same weekday's normal | > 20% below: P2, > 50%: P1 |
| `check_schema_validity` | the Great Expectations suite `flightdata_processed` | column/type change: P1, > 1% bad rows: P2, > 5%: P1 |
| `check_duplicates` | repeated `flight_id` | any: P3, > 1% of rows: P2 |
| `check_freshness` | newest data against the end of the day | > 60 min: P2, > 4 h: P1 |

A red check task is a finding (no retry); `report` gathers every result of the run into one table,
`incidents` opens/updates/resolves incidents and sends the alerts that are due (exactly once;
retried if a notifier is down), and only then `trigger_remediation` asks `flightdq_remediation` to
rebuild the days whose processed partition failed and whose raw data is there (never data loss),
naming this run (`checked_by`) so the repair plans from its results. `verdict` turns the run red
when it leaves something for a person: a finding no repair was asked for, or a check that could not
run; a partition handed to the remediation is the repair's (its re-validation is red if it fails).
**Schedule** (`FLIGHTDQ_DAILY_SCHEDULE`, read when this file is parsed; default `cron_or_asset`):
`cron` runs at 02:00 UTC and checks the day before; `asset` runs when the `flightdata_processed`
asset gets an event (the remediation DAG emits one per rebuilt or registered partition, with the
day in the event's extra, `{"dt": "YYYY-MM-DD"}`); `cron_or_asset` does both. An asset-triggered
run has no logical date: it checks every day its triggering events name (each once; an event
without a valid day fails `resolve_target`), as of when the run starts.
**The re-validation**: an asset-triggered run is the re-check of a repair (the only one: the
remediation DAG checks nothing after it repairs), so it never triggers
`flightdq_remediation` (its `report` says `remediation_withheld`; `trigger_remediation` is
skipped). A repaired day that still fails keeps its incident open and alerting; only the 02:00 run,
a manual run or a person asks for another repair.
**Trigger by hand** with `date` (and `to` for a range, at most 31 days) to re-check days after a repair.
Results are kept in the check history (`flightdq-history/` in the lake).

**Lineage**: with an OpenLineage transport configured (`AIRFLOW__OPENLINEAGE__TRANSPORT`, e.g. Marquez), each
check task reports its results as data-quality assertions on `flightdata_raw` / `flightdata_processed`
(`flightdq.airflow.lineage`); without one, the provider stays off.

_Airflow DAG built by `flightdq.airflow.dag_factory`; the logic lives in `include/flightdq`._
"""

from flightdq.airflow.dag_factory import build_checks_dag
from flightdq.airflow.runs import DAILY, daily_schedule_mode
from flightdq.core.contract import CHECKS

build_checks_dag(
    dag_id="flightdq_daily_checks",
    cron="0 2 * * *",
    mode=DAILY,
    checks=CHECKS,
    doc_md=__doc__,
    tags=["daily"],
    remediate=True,
    schedule_mode=daily_schedule_mode(),
)
