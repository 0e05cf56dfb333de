"""Deep links: where an on-call engineer jumps from a check or remediation task.

Plain functions of plain values, no Airflow import, so the DAG tasks (on the worker), the operator
extra links (in the api-server, `flightdq.airflow.extra_links`) and the UI plugin build the same URLs.

- every backend: the "Flight data quality" page of the Airflow UI (the plugin's day view, or its
  calendar for a range of days);
- plus what the backend's console shows (`ConsoleLinks`, `backend.console`): on AWS the Athena
  query behind a check (from the query execution id the backend logged), the Glue job run that
  rebuilt a day, and the S3 prefix of the day's processed partition (and of its raw snapshots); the
  embedded lake has none (`NoConsole`). Nothing here branches on a backend's name.

A task publishes its links as one XCom, `LINKS_XCOM_KEY` -> {link name: url}; the extra links read
it back (see `flightdq.airflow.extra_links`). Names are the buttons' labels in the task instance view.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Protocol
from urllib.parse import quote, urlencode, urlsplit

from flightdq.core.contract import ETL_JOB_NAME, PROCESSED_BUCKET, PROCESSED_DATASET, RAW_BUCKET
from flightdq.core.layout import processed_partition_prefix, raw_day_prefix

# Where the plugin lives (plugins/flightdq_plugin.py mounts the app and registers the nav entry).
PLUGIN_URL_PREFIX = "/flightdq"  # the FastAPI app, mounted on the api-server
PLUGIN_URL_ROUTE = "flight-data-quality"  # the page inside the Airflow UI: /plugin/<route>
PLUGIN_NAME = "Flight data quality"

LINKS_XCOM_KEY = "flightdq_links"

# Button labels (also the keys of the XCom dict).
DAY_VIEW = "Data quality: day view"
ATHENA_QUERY = "Athena query"
GLUE_JOB_RUN = "Glue job run"
S3_PARTITION = "S3 partition"
S3_RAW = "S3 raw snapshots"
LINK_NAMES = (DAY_VIEW, ATHENA_QUERY, GLUE_JOB_RUN, S3_PARTITION, S3_RAW)

DEFAULT_REGION = "us-east-1"
QUERY_ID_KEYS = ("query_execution_id", "QueryExecutionId", "query_id", "execution_id")


# --- Airflow UI ---------------------------------------------------------------------------------
def airflow_base_url(env: Mapping[str, str] | None = None) -> str:
    """The Airflow UI's address: `[api] base_url`, or the local api-server `make airflow` starts."""
    env = os.environ if env is None else env
    return (env.get("AIRFLOW__API__BASE_URL") or "http://127.0.0.1:8080").rstrip("/")


def ui_path(env: Mapping[str, str] | None = None) -> str:
    """The path part of the Airflow UI's address ("" unless `[api] base_url` has a path). Links shown
    inside the Airflow UI (task buttons) are made relative to the site with it, so they work
    whatever host name the browser used."""
    return urlsplit(airflow_base_url(env)).path.rstrip("/")


def airflow_run_url(dag_id: str, run_id: str, *, base_url: str | None = None) -> str:
    """The Airflow UI page of one DAG run."""
    base = airflow_base_url() if base_url is None else base_url.rstrip("/")
    return f"{base}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def plugin_url(path: str = "", *, base_url: str | None = None, embedded: bool = True) -> str:
    """A page of the plugin. `embedded`: inside the Airflow UI (nav bar around it), the way to
    link from anywhere in Airflow; otherwise the bare page the UI frames."""
    base = airflow_base_url() if base_url is None else base_url.rstrip("/")
    path = path.lstrip("/")
    inner = f"{PLUGIN_URL_PREFIX}/{path}"
    return f"{base}/plugin/{PLUGIN_URL_ROUTE}{inner}" if embedded else f"{base}{inner}"


def day_view_url(day: date | str, *, base_url: str | None = None, embedded: bool = True) -> str:
    return plugin_url(f"day/{day}", base_url=base_url, embedded=embedded)


def calendar_url(end: date | str, days: int, *, base_url: str | None = None, embedded: bool = True) -> str:
    return plugin_url(f"?{urlencode({'end': str(end), 'days': days})}", base_url=base_url, embedded=embedded)


def days_view_url(days: Sequence[date | str], *, base_url: str | None = None) -> str | None:
    """One day: its day view. A range: the calendar over it (at least two weeks)."""
    ordered = sorted({str(d) for d in days})
    if not ordered:
        return None
    if len(ordered) == 1:
        return day_view_url(ordered[0], base_url=base_url)
    span = (date.fromisoformat(ordered[-1]) - date.fromisoformat(ordered[0])).days + 1
    return calendar_url(ordered[-1], max(span, 14), base_url=base_url)


# --- AWS console ----------------------------------------------------------------------------------
def _console(region: str) -> str:
    return f"https://{region}.console.aws.amazon.com"


def athena_query_url(query_execution_id: str, region: str = DEFAULT_REGION) -> str:
    """The Athena console's page of one query execution (its SQL, state, data scanned, results)."""
    return (
        f"{_console(region)}/athena/home?region={quote(region)}"
        f"#/query-editor/history/{quote(query_execution_id, safe='')}"
    )


def glue_job_run_url(job_run_id: str, region: str = DEFAULT_REGION, job_name: str = ETL_JOB_NAME) -> str:
    """The Glue console's page of one job run (Glue Studio's run details)."""
    return (
        f"{_console(region)}/gluestudio/home?region={quote(region)}"
        f"#/job/{quote(job_name, safe='')}/run/{quote(job_run_id, safe='')}"
    )


def s3_prefix_url(bucket: str, prefix: str, region: str = DEFAULT_REGION) -> str:
    """The S3 console listing a prefix of a bucket."""
    query = urlencode({"region": region, "prefix": prefix, "showversions": "false"})
    return f"https://s3.console.aws.amazon.com/s3/buckets/{quote(bucket, safe='')}?{query}"


def processed_partition_console_url(day: date | str, region: str = DEFAULT_REGION) -> str:
    return s3_prefix_url(PROCESSED_BUCKET, processed_partition_prefix(day), region)


def raw_day_console_url(day: date | str, region: str = DEFAULT_REGION) -> str:
    return s3_prefix_url(RAW_BUCKET, raw_day_prefix(_as_date(day)), region)


def aws_region(env: Mapping[str, str] | None = None) -> str:
    """The region the console links point at: AWS_REGION / AWS_DEFAULT_REGION (what boto3 uses)."""
    env = os.environ if env is None else env
    return env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


# --- console links: what each backend can show ------------------------------------------------
class ConsoleLinks(Protocol):
    """The console pages a backend can link to (each backend has one as `backend.console`); None
    where it has no such page. Link builders take one of these, never a backend's name."""

    def query(self, query: Mapping[str, Any]) -> str | None:
        """The page of one logged query (`query_log` entry)."""

    def etl_run(self, etl_run_id: str | None) -> str | None:
        """The page of one ETL job run."""

    def partition(self, day: date | str) -> str | None:
        """The storage listing of a day's processed partition."""

    def raw_day(self, day: date | str) -> str | None:
        """The storage listing of a day's raw snapshots."""


class NoConsole:
    """The embedded lake: no console (its ETL runs are in the local job registry, shown in the day view)."""

    def query(self, query: Mapping[str, Any]) -> str | None:
        return None

    def etl_run(self, etl_run_id: str | None) -> str | None:
        return None

    def partition(self, day: date | str) -> str | None:
        return None

    def raw_day(self, day: date | str) -> str | None:
        return None


@dataclass(frozen=True)
class AwsConsole:
    """The AWS console in `region`: Athena query pages, Glue job runs, S3 prefixes."""

    region: str = DEFAULT_REGION
    job_name: str = ETL_JOB_NAME  # the Glue job a repair runs (FLIGHTDQ_ETL_JOB, a team's own)

    def query(self, query: Mapping[str, Any]) -> str | None:
        qid = next((query[k] for k in QUERY_ID_KEYS if query.get(k)), None)
        return athena_query_url(str(qid), self.region) if qid else None

    def etl_run(self, etl_run_id: str | None) -> str | None:
        return glue_job_run_url(etl_run_id, self.region, self.job_name) if etl_run_id else None

    def partition(self, day: date | str) -> str | None:
        return processed_partition_console_url(day, self.region)

    def raw_day(self, day: date | str) -> str | None:
        return raw_day_console_url(day, self.region)


CONSOLES: dict[str, Callable[[], ConsoleLinks]] = {
    "local": NoConsole,
    "aws": lambda: AwsConsole(aws_region(), os.environ.get("FLIGHTDQ_ETL_JOB", "").strip() or ETL_JOB_NAME),
}


def console_links(backend: str) -> ConsoleLinks:
    """The console links of the backend named `backend` (for a process that has its name but builds
    no backend: the api-server's extra links, the UI); an unknown name has none."""
    return CONSOLES.get(backend, NoConsole)()


# --- what a task shows --------------------------------------------------------------------------
def query_execution_ids(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """The query execution ids behind check records (`details.queries`, in run order)."""
    found: list[str] = []
    for record in records:
        for query in (record.get("details") or {}).get("queries") or []:
            if not isinstance(query, Mapping):
                continue
            qid = next((query[k] for k in QUERY_ID_KEYS if query.get(k)), None)
            if qid and str(qid) not in found:
                found.append(str(qid))
    return found


def focus_day(records: Iterable[Mapping[str, Any]], days: Sequence[date | str]) -> str | None:
    """The day a check task should link to: its first failing day, else its first day."""
    failing = sorted(r["dt"] for r in records if r.get("status") in ("fail", "error") and r.get("dt"))
    if failing:
        return failing[0]
    return str(min(days)) if days else None


def check_task_links(
    console: ConsoleLinks,
    days: Sequence[date | str],
    records: Iterable[Mapping[str, Any]] = (),
    *,
    base_url: str | None = None,
) -> dict[str, str]:
    """Links for a check task that checked `days` and recorded `records` (its history records).
    Links into the Airflow UI are site-relative (`ui_path`) unless `base_url` is given.

    The day view of the first failing day (or the calendar of the range when nothing failed); and
    what the backend's console shows: the query behind the check, the storage of that day's data.
    """
    records = list(records)
    base_url = ui_path() if base_url is None else base_url
    links: dict[str, str] = {}
    day = focus_day(records, days)
    failing = any(r.get("status") in ("fail", "error") for r in records)
    view = (
        day_view_url(day, base_url=base_url) if (failing and day) else days_view_url(days, base_url=base_url)
    )
    if view:
        links[DAY_VIEW] = view
    if not day:
        return links
    queries = query_execution_ids(r for r in records if r.get("dt") == day) or query_execution_ids(records)
    datasets = {r.get("dataset") for r in records if r.get("dt") == day}
    found = {
        ATHENA_QUERY: console.query({"query_execution_id": queries[0]}) if queries else None,
        S3_PARTITION: console.partition(day) if not datasets or PROCESSED_DATASET in datasets else None,
        S3_RAW: console.raw_day(day) if datasets - {PROCESSED_DATASET} else None,
    }
    return links | {name: url for name, url in found.items() if url}


def check_task_links_from_history(
    history: Any,
    run_id: str,
    check: str,
    days: Sequence[date | str],
    console: ConsoleLinks,
    *,
    base_url: str | None = None,
) -> dict[str, str]:
    """`check_task_links` for what one check task of a run recorded (`history`: a HistoryStore):
    what a task pushes as its `LINKS_XCOM_KEY` XCom, whether the check passed or not."""
    records = [r for r in history.read_run(run_id, [str(d) for d in days]) if r.get("check") == check]
    return check_task_links(console, days, records, base_url=base_url)


def remediation_task_links(
    console: ConsoleLinks,
    day: date | str | None,
    *,
    etl_run_id: str | None = None,
    days: Sequence[date | str] = (),
    base_url: str | None = None,
) -> dict[str, str]:
    """Links for a remediation task: one day (`repair_day`) or the run's days (`plan`, `finish`):
    the day view (or calendar), and what the console shows of the ETL run that rebuilt the day and
    of the partition it wrote."""
    base_url = ui_path() if base_url is None else base_url
    links: dict[str, str] = {}
    view = day_view_url(day, base_url=base_url) if day else days_view_url(days, base_url=base_url)
    if view:
        links[DAY_VIEW] = view
    found = {
        GLUE_JOB_RUN: console.etl_run(etl_run_id),
        S3_PARTITION: console.partition(day) if day else None,
    }
    return links | {name: url for name, url in found.items() if url}


def etl_run_url(backend: str, etl_run_id: str | None) -> str | None:
    """Where an ETL run can be looked at, for a caller that has the backend's name only
    (`console_links(backend).etl_run`)."""
    return console_links(backend).etl_run(etl_run_id)


def query_url(backend: str, query: Mapping[str, Any]) -> str | None:
    """The console page of one logged query, for a caller that has the backend's name only."""
    return console_links(backend).query(query)


def _as_date(day: date | str) -> date:
    return day if isinstance(day, date) else date.fromisoformat(day)
