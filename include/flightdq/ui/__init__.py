"""The "Flight data quality" page of the Airflow UI (plugins/flightdq_plugin.py mounts it).

- `data`: states and the calendar, from the check history as plain Python (unit-tested without a server);
- `now`: the landing view, open incidents of every day worst first with their response clocks, and
  today hour by hour;
- `day_view`: one day's incidents, remediations (Airflow's remediation runs too), checks and runs;
- `actions`: the runs a day offers (dry-run repair, repair, re-check), triggered by the browser
  through Airflow's REST API after a confirmation;
- `counts`: the daily row count against its normal band; `chart` draws it as inline SVG;
- `auth`: the Airflow login, checked on every page (plugin apps do not inherit it);
- `app`: the FastAPI app, its Jinja2 templates and its local static files (no CDN).

May import: any flightdq package below it. It reads records; the one thing it writes is an
acknowledgement (`IncidentStore.acknowledge`), for a signed-in user who may change DAG runs.
"""
