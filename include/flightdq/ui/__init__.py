"""The "Flight data quality" page of the Airflow UI (plugins/flightdq_plugin.py mounts it).

- `data`: states and the calendar, from the check history as plain Python (unit-tested without a server);
- `day_view`: one day's checks, runs, remediations and incidents;
- `counts`: the daily row count against its normal band; `chart` draws it as inline SVG;
- `auth`: the Airflow login, checked on every page (plugin apps do not inherit it);
- `app`: the FastAPI app, its Jinja2 templates and its local static files (no CDN).

May import: any flightdq package below it (it reads records, never writes them).
"""
