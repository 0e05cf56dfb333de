"""The "Flight data quality" page of the Airflow UI (plugins/flightdq_plugin.py mounts it).

- `data`: what the pages show, assembled from the check history, the remediation records and
  the incidents as plain Python (unit-tested without a server);
- `chart`: the daily row count and its normal band as inline SVG;
- `auth`: the Airflow login, checked on every page (plugin apps do not inherit it);
- `app`: the FastAPI app, its Jinja2 templates and its local static files (no CDN).
"""
