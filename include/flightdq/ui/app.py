"""The FastAPI app behind the "Flight data quality" page (mounted at `/flightdq` by the plugin).

Pages (every one needs an Airflow login, see `flightdq.ui.auth`):

- `/`               "Now": the open incidents of every day, worst first, each with its clock against
                    its response time, and today hour by hour (refreshes itself every minute);
- `/calendar`       the calendar of partition health and the daily row count chart
                    (`?end=YYYY-MM-DD&days=N`, default: the 28 days up to the latest checked day;
                    `/?end=...&days=...`, the address of earlier versions, still shows it);
- `/day/YYYY-MM-DD` one day: its incidents (cause, symptoms, timeline), what was done about them,
                    each check's observed and expected values, and the Airflow runs behind them.

- `/runs.json?day=YYYY-MM-DD` the remediation runs Airflow has for a day (state, dry run, waiting
                    for approval): the pages poll it to show a run's state without a reload.

Three actions write, each on the incident's timeline: `POST /incidents/<id>/acknowledge` records who
took an incident, `POST /incidents/<id>/unacknowledge` withdraws that, `POST /incidents/<id>/notes`
(JSON `{"text": ...}`, at most `COMMENT_MAX_CHARS` characters) adds a person's note. Each needs a user
who may change DAG runs, and the page's own `X-Requested-By` header (see `auth.same_origin`). Runs
are triggered by the browser through Airflow's REST API, not by this app (see `flightdq.ui.actions`).

`/static/*` serves the stylesheet, the scripts and the icon from this package (no CDN), a Starlette
`StaticFiles` mount; they hold no data and need no login (the icon is shown in Airflow's navigation).

Links inside the pages are relative to where the app is mounted, so they work inside the Airflow
UI's frame, on their own, and under an `[api] base_url` with a path.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from flightdq.core.links import PLUGIN_URL_PREFIX
from flightdq.incidents.store import COMMENT_MAX_CHARS
from flightdq.storage.history import HistoryStore
from flightdq.ui import actions, counts, data, day_view
from flightdq.ui import now as now_view
from flightdq.ui.auth import (
    ACTION_HEADER,
    ACTION_HEADER_VALUE,
    Refused,
    User,
    airflow_user,
    login_url,
    same_origin,
)
from flightdq.ui.chart import STATE_COLORS, row_count_svg
from flightdq.ui.sources import Sources, Unavailable, read_open_incidents

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript", ".svg": "image/svg+xml"}
REFRESH_SECONDS = 60  # the Now view reloads itself this often (the page has a pause toggle)
DEFAULT_DAYS = 28
MAX_DAYS = 120
CHART_DAYS_AROUND = 21  # the day view's chart: three weeks either side of the day


def _parse_day(value: str | None, what: str) -> date | None:
    if value in (None, ""):
        return None
    from flightdq.core.dates import InputError, parse_day

    try:
        return parse_day(value, what)
    except InputError as exc:
        raise BadRequest(str(exc)) from None


class BadRequest(Exception):
    """A malformed day in the address."""


def _wants_html(request: Request) -> bool:
    return request.method == "GET" and "text/html" in request.headers.get("accept", "")


def create_app(
    *,
    sources: Sources | None = None,
    authenticate: Callable[..., Any] = airflow_user,
    mount_prefix: str = PLUGIN_URL_PREFIX,
    today: Callable[[], date] | None = None,
    now: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The app. Tests pass their own `sources` (a lake folder, a fixed DAG lookup), may pass another
    `authenticate` dependency and a fixed clock (`now`; `today` defaults to its day); the plugin uses
    the defaults."""
    import jinja2

    from flightdq.core.dates import utcnow

    sources = sources or Sources()
    now = now or utcnow
    today = today or (lambda: now().date())
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(
        STATES=data.STATES,
        STATE_LABELS=data.STATE_LABELS,
        STATE_COLORS=STATE_COLORS,
        ACTION_HEADER=ACTION_HEADER,
        ACTION_HEADER_VALUE=ACTION_HEADER_VALUE,
        REFRESH_SECONDS=REFRESH_SECONDS,
        COMMENT_MAX_CHARS=COMMENT_MAX_CHARS,
    )
    env.filters.update(FILTERS)

    app = FastAPI(
        title="Flight data quality",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if exc.login and _wants_html(request):
            target = login_url(_next_url(request))
            if target:
                return RedirectResponse(target, status_code=303)
        if _wants_html(request):
            page = env.get_template("refused.html").render(
                base=_base(request), status=exc.status_code, detail=exc.detail
            )
            return HTMLResponse(page, status_code=exc.status_code)
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=headers)

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Response:
        return HTMLResponse(
            env.get_template("refused.html").render(base=_base(request), status=400, detail=str(exc)),
            status_code=400,
        )

    @app.exception_handler(Unavailable)
    async def unavailable(request: Request, exc: Unavailable) -> Response:
        return HTMLResponse(
            env.get_template("refused.html").render(base=_base(request), status=503, detail=str(exc)),
            status_code=503,
        )

    def render(request: Request, template: str, user: User, **context: Any) -> HTMLResponse:
        base = _base(request)
        page = env.get_template(template).render(
            base=base,
            ui_root=_ui_root(base, mount_prefix),
            origin=f"{request.url.scheme}://{request.url.netloc}",
            user=user.name,
            can_act=user.can_act,
            paused=sources.paused_lookup(),
            **context,
        )
        return HTMLResponse(page, headers={"Cache-Control": "no-store"})

    @app.get("/", response_class=HTMLResponse)
    def now_page(
        request: Request,
        user: User = Depends(authenticate),  # noqa: B008 (FastAPI's way)
        end: str | None = None,
        days: int | None = None,
    ) -> HTMLResponse:
        if end is not None or days is not None:  # an address of the calendar from earlier versions
            return calendar_page(request, user, end, days or DEFAULT_DAYS)
        settings, blobs = sources.open()
        moment = now()
        day = moment.date()
        incidents = read_open_incidents(blobs, day)
        history = HistoryStore(blobs)
        incident_days = sorted({i.dt for i in incidents or []})
        remediations = {dt: history.read_remediations([dt]) for dt in incident_days}
        day_records: dict[str, list[dict[str, Any]]] = {}
        for record in sources.check_records(blobs, incident_days, today=day) if incident_days else []:
            day_records.setdefault(str(record.get("dt")), []).append(record)
        run_ids = {e.run_id for i in incidents or [] for e in i.timeline if e.run_id}
        base = _base(request)
        rows = now_view.build_now(
            incidents or [],
            remediations,
            now=moment,
            response_minutes=settings.policy.incidents.response_minutes.of,
            dag_ids=sources.dag_ids_lookup(run_ids),
            ui_root=_ui_root(base, mount_prefix),
            records=day_records,
        )
        today_day, hours = now_view.hourly_today(sources.check_records(blobs, [str(day)], today=day), moment)
        return render(
            request,
            "now.html",
            user,
            title="Now",
            tab="now",
            incidents=rows,
            incidents_known=incidents is not None,
            today=today_day,
            hours=hours,
            current_hour=moment.hour,
            moment=moment.isoformat(timespec="seconds"),
            backend=settings.backend,
            source=_source_text(settings),
        )

    @app.get("/calendar", response_class=HTMLResponse)
    def calendar_page(
        request: Request,
        user: User = Depends(authenticate),  # noqa: B008 (FastAPI's way)
        end: str | None = None,
        days: int = DEFAULT_DAYS,
    ) -> HTMLResponse:
        settings, blobs = sources.open()
        current = today()
        end_day = _parse_day(end, "end") or _default_end(sources.last_checked_day(blobs), current)
        span = max(7, min(MAX_DAYS, days))
        day_list = data.day_list(end_day, span)
        records = sources.check_records(blobs, day_list, today=current)
        calendar = data.build_calendar(records, day_list)
        points = counts.row_count_series(
            records, day_list, drop_fail_ratio=settings.policy.record_count_drift.drop_fail_ratio
        )
        return render(
            request,
            "calendar.html",
            user,
            title="Partition health",
            tab="calendar",
            calendar=calendar,
            chart=row_count_svg(points, day_href=f"{_base(request)}/day/"),
            end=str(end_day),
            days=span,
            prev_end=str(end_day - timedelta(days=span)),
            next_end=str(end_day + timedelta(days=span)) if end_day < current else None,
            day_options=(14, 28, 56, 91),
            drop_fail_ratio=settings.policy.record_count_drift.drop_fail_ratio,
            backend=settings.backend,
            source=_source_text(settings),
        )

    @app.get("/day/{dt}", response_class=HTMLResponse)
    def day_page(
        request: Request,
        dt: str,
        user: User = Depends(authenticate),  # noqa: B008
    ) -> HTMLResponse:
        day = _parse_day(dt, "day")
        if day is None:
            raise BadRequest("day is missing")
        settings, blobs = sources.open()
        current = today()
        records = sources.check_records(blobs, [str(day)], today=current)
        remediations = HistoryStore(blobs).read_remediations([day])
        incidents = day_view.read_incidents(blobs, [str(day)])
        dag_ids = sources.dag_ids_lookup(day_view.run_ids_of_day(records, incidents))
        base = _base(request)
        ui_root = _ui_root(base, mount_prefix)
        view = day_view.build_day(
            str(day),
            records,
            remediations,
            incidents,
            dag_ids=dag_ids,
            backend=settings.backend,
            ui_root=ui_root,
            remediation_run_records=sources.remediation_runs_lookup(str(day)),
        )
        around = [str(day + timedelta(days=i)) for i in range(-CHART_DAYS_AROUND, CHART_DAYS_AROUND + 1)]
        around = [d for d in around if d <= str(current)]
        chart_records = sources.check_records(blobs, around, today=current)
        points = counts.row_count_series(
            chart_records, around, drop_fail_ratio=settings.policy.record_count_drift.drop_fail_ratio
        )
        return render(
            request,
            "day.html",
            user,
            title=f"{day:%A} {day}",
            tab="day",
            view=view,
            actions=actions.day_actions(
                str(day),
                ui_root,
                failing=bool(view.failing) or view.open_incidents,
                repairable=view.repair_can_help or not (view.failing or view.open_incidents),
            ),
            remediation_dag_path=actions.dag_path(actions.REMEDIATION_DAG_ID, ui_root),
            response_minutes=settings.policy.incidents.response_minutes.of,
            weekday=f"{day:%A}",
            prev_day=str(day - timedelta(days=1)),
            next_day=str(day + timedelta(days=1)) if day < current else None,
            calendar_end=str(day + timedelta(days=7)) if day + timedelta(days=7) <= current else str(current),
            chart=row_count_svg(points, highlight=str(day), day_href=f"{base}/day/"),
            drop_fail_ratio=settings.policy.record_count_drift.drop_fail_ratio,
            backend=settings.backend,
            source=_source_text(settings),
        )

    def person_action(request: Request, user: User, what: str) -> Any:
        """The incident store, once the request may change an incident (from the page, by a user
        who may change DAG runs)."""
        if not same_origin(request):
            raise Refused(403, f"{what} must come from the page itself ({ACTION_HEADER})", login=False)
        if not user.can_act:
            raise Refused(403, f"{user.name} may not change DAG runs, so may not do this", login=False)
        from flightdq.incidents.store import IncidentStore

        _, blobs = sources.open()
        return IncidentStore(blobs)

    def incident_reply(change: Callable[[], Any], what: str, user: User) -> JSONResponse:
        try:
            incident = change()
        except LookupError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=404)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=409)
        log.info("%s: %s on %s", user.name, what, incident.id)
        return JSONResponse(
            {
                "id": incident.id,
                "acknowledged_by": incident.acknowledged_by,
                "acknowledged_at": incident.acknowledged_at,
                "severity": incident.severity,
            },
            headers={"Cache-Control": "no-store"},
        )

    @app.post("/incidents/{incident_id}/acknowledge")
    def acknowledge(
        request: Request,
        incident_id: str,
        user: User = Depends(authenticate),  # noqa: B008
    ) -> JSONResponse:
        """Record that the signed-in user took the incident (its timeline says who and when; no
        escalation reminder for it at this severity)."""
        store = person_action(request, user, "an acknowledgement")
        return incident_reply(lambda: store.acknowledge(incident_id, user.name, now()), "acknowledged", user)

    @app.post("/incidents/{incident_id}/unacknowledge")
    def unacknowledge(
        request: Request,
        incident_id: str,
        user: User = Depends(authenticate),  # noqa: B008
    ) -> JSONResponse:
        """Withdraw the incident's acknowledgement: its response window and escalation apply again."""
        store = person_action(request, user, "withdrawing an acknowledgement")
        return incident_reply(
            lambda: store.unacknowledge(incident_id, user.name, now()), "acknowledgement withdrawn", user
        )

    @app.post("/incidents/{incident_id}/notes")
    async def add_note(
        request: Request,
        incident_id: str,
        user: User = Depends(authenticate),  # noqa: B008
    ) -> JSONResponse:
        """Put the user's free-text note (JSON `{"text": ...}`) on the incident's timeline."""
        store = person_action(request, user, "a note")
        raw = await request.body()
        if len(raw) > 4 * COMMENT_MAX_CHARS + 100:  # JSON escapes at most quadruple a character
            return JSONResponse({"detail": f"the note is longer than {COMMENT_MAX_CHARS} characters"}, 413)
        try:
            text = json.loads(raw or b"{}").get("text")
        except (ValueError, AttributeError):
            return JSONResponse({"detail": 'the body must be JSON: {"text": "..."}'}, status_code=400)
        if not isinstance(text, str):
            return JSONResponse({"detail": 'the body must be JSON: {"text": "..."}'}, status_code=400)
        return incident_reply(lambda: store.comment(incident_id, user.name, text, now()), "note", user)

    @app.get("/runs.json")
    def runs_json(
        day: str,
        user: User = Depends(authenticate),  # noqa: B008
    ) -> JSONResponse:
        """The remediation runs of a day, for the pages to follow a run's state without a reload:
        one query of Airflow's metadata DB, nothing from the lake."""
        dt = _parse_day(day, "day")
        found = sources.remediation_runs_lookup(str(dt))
        if found is None:
            return JSONResponse({"detail": "Airflow's runs could not be read"}, status_code=503)
        runs = day_view.remediation_runs(found, str(dt), "")
        return JSONResponse(
            {
                "day": str(dt),
                "runs": [
                    {
                        "run_id": r.run_id,
                        "state": r.state,
                        "dry_run": r.dry_run,
                        "days": r.days,
                        "run_after": r.run_after,
                        "awaiting_approval": bool(r.approval_url),
                        "finished": r.state in ("success", "failed"),
                    }
                    for r in runs
                ],
            },
            headers={"Cache-Control": "no-store"},
        )

    app.mount("/static", Assets(directory=STATIC), name="static")  # no login: no data in them
    return app


class Assets(StaticFiles):
    """Starlette's static files (paths kept inside the folder, ETag and Last-Modified, ranges),
    serving only the suffixes of `STATIC_TYPES`, with their content types fixed here rather than
    taken from the machine's MIME table, and a cache lifetime of five minutes."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if Path(path).suffix not in STATIC_TYPES or Path(path).name.startswith("."):
            return "", None  # answered 404
        return super().lookup_path(path)

    def file_response(self, full_path: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().file_response(full_path, *args, **kwargs)
        response.headers["Content-Type"] = STATIC_TYPES[Path(full_path).suffix]
        response.headers["Cache-Control"] = "max-age=300"
        return response


# --- template filters -------------------------------------------------------------------------------
def _weekday(dt: str) -> int:
    return date.fromisoformat(dt).weekday()


def _weekday_letter(dt: str) -> str:
    return "MTWTFSS"[_weekday(dt)]


def _month(dt: str) -> str:
    return f"{date.fromisoformat(dt):%b}"


def _when(moment: str | None) -> str:
    """An ISO-8601 moment as `YYYY-MM-DD HH:MM` (UTC, as recorded)."""
    if not moment:
        return "\u2013"
    text = str(moment).replace("T", " ")
    return text[:16] + (" UTC" if text[19:].startswith(("+00:00", "Z")) or "+00:00" in text else "")


def _short_run(run_id: str) -> str:
    """`manual__2026-11-27T07:25:25.747924+00:00` -> `manual__2026-11-27T07:25:25`."""
    head, sep, rest = run_id.partition("__")
    if sep and len(rest) >= 19 and rest[4] == "-" and rest[10] == "T":
        return f"{head}__{rest[:19]}{'__recheck' if run_id.endswith('__recheck') else ''}"
    return run_id


def _local(url: str, origin: str) -> str:
    """An absolute link to this same site, as a path (so it can open inside the Airflow UI)."""
    if origin and url.startswith(origin + "/"):
        return url[len(origin) :]
    return url


FILTERS: dict[str, Callable[..., Any]] = {
    "weekday": _weekday,
    "weekday_letter": _weekday_letter,
    "month": _month,
    "when": _when,
    "value": data.format_value,
    "short_run": _short_run,
    "local": _local,
    "duration": now_view.duration_text,
}


def _base(request: Request) -> str:
    """Where this app is mounted, as a path (`/flightdq`, or `/<base path>/flightdq`)."""
    return str(request.scope.get("root_path", "")).rstrip("/")


def _ui_root(base: str, mount_prefix: str) -> str:
    """The Airflow UI's path prefix: where the app is mounted, less the app's own prefix."""
    return base[: -len(mount_prefix)] if base.endswith(mount_prefix) else ""


def _next_url(request: Request) -> str:
    """After logging in, come back to the page (as the path the browser asked for)."""
    path = request.url.path
    return path + (f"?{request.url.query}" if request.url.query else "")


def _default_end(last_checked: str | None, today: date) -> date:
    if last_checked:
        return min(date.fromisoformat(last_checked), today)
    return today - timedelta(days=1)


def _source_text(settings: Any) -> str:
    if settings.backend == "local":
        return f"lake {settings.lake}"
    return f"{settings.backend} backend"
