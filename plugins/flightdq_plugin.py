"""The "Flight data quality" page in the Airflow UI, and deep links on flightdq's tasks.

- `fastapi_apps`: the page's FastAPI app (`flightdq.ui.app`), mounted by the api-server at
  `/flightdq`. Airflow does not put its authentication in front of plugin apps: the app checks
  the Airflow login itself on every page (`flightdq.ui.auth`).
- `external_views`: a top-level entry "Flight data quality" in the UI's navigation; the UI shows the
  app in a frame at `/plugin/flight-data-quality` (and a page of the app at
  `/plugin/flight-data-quality/flightdq/<page>`). `href` is relative to the UI's base URL.
- `operator_extra_links`: buttons on the check and remediation tasks (day view; on AWS the Athena
  query, the Glue job run and the S3 prefix), see `flightdq.airflow.extra_links`.

The logic lives in `include/flightdq`; this file only registers it.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin

from flightdq.airflow.extra_links import operator_extra_links
from flightdq.core.links import PLUGIN_NAME, PLUGIN_URL_PREFIX, PLUGIN_URL_ROUTE
from flightdq.ui.app import create_app


class FlightDataQualityPlugin(AirflowPlugin):
    name = "flightdq"
    fastapi_apps = [
        {"app": create_app(), "url_prefix": PLUGIN_URL_PREFIX, "name": PLUGIN_NAME},
    ]
    external_views = [
        {
            "name": PLUGIN_NAME,
            "href": f"{PLUGIN_URL_PREFIX.lstrip('/')}/",
            "url_route": PLUGIN_URL_ROUTE,
            "destination": "nav",
            "nav_top_level": True,
            "icon": f"{PLUGIN_URL_PREFIX.lstrip('/')}/static/icon.svg",
        },
    ]
    operator_extra_links = operator_extra_links()
