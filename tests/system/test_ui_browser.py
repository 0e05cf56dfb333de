"""The "Flight data quality" page in a real Airflow, driven by a real headless Chromium through
Playwright (which waits for what it looks for: no fixed sleeps).

Set-up (once per module, about two minutes): a generated lake with the demo's planted faults; a
temporary AIRFLOW_HOME with this repository's DAGs and plugin, SimpleAuthManager with one user and a
random password; `airflow dags test` of the daily DAG over the last 28 days (the check history,
incidents and DAG runs the page shows), of the remediation DAG for the missing-partition day (a
repaired day) and of its re-validation; then the api-server, scheduler and dag-processor on
127.0.0.1 (LocalExecutor on SQLite), with flightdq_remediation unpaused: what the page triggers
really runs, and the page shows its state change without a reload.

The browser logs in for real (a JWT from the api-server's `/auth/token` for that user and password,
set as the `_token` cookie as Airflow's login page does), opens the page inside the Airflow UI and:
reads the "Now" view (open incidents worst first), acknowledges one and undoes it, puts a note on an
incident, opens the symptoms by keyboard alone, checks the calendar's colours and the badges' AA
contrast (computed from the colours the browser renders, light and dark), opens a day from a cell,
finds no Repair where it cannot help, and dry-runs the repair of a day whose raw data is lost: the
run ends green, its state changes on the page without a reload, and its plan is on the day.
Screenshots of each step go to artifacts/screenshots/ (gitignored); `docs/ui-*.png` are written only
with FLIGHTDQ_UPDATE_DOCS=1. Every process started here is stopped here.

Chromium is Debian's `chromium` package, installed by `make test` (its `browser` target) where it
can be; without it the test skips and says so. Playwright launches it (`executable_path`): no
browser download.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from flightdq.core.dates import utcnow
from flightdq.ui.chart import STATE_COLORS
from flightdq_dev.generator import LakeManifest, default_demo_faults, generate_lake

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
AIRFLOW = str(Path(sys.executable).with_name("airflow"))
SCREENSHOTS = REPO / "artifacts" / "screenshots"
DOCS = REPO / "docs"
UPDATE_DOCS = os.environ.get("FLIGHTDQ_UPDATE_DOCS") == "1"
END = utcnow().date() - timedelta(days=1)
FIRST = END - timedelta(days=27)  # the calendar's default four weeks
USER = "oncall"  # role "user": may read, acknowledge and trigger
ROUTE = "flight-data-quality"
SIMPLE_AUTH_MANAGER = "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
IFRAME = 'iframe[title="Flight data quality"]'
WAIT_MS = 60_000  # Playwright's waits: generous, the machine is shared
RUN_MS = 240_000  # a run the scheduler picks up and carries out
COMPONENTS = {"scheduler": ["scheduler", "--skip-serve-logs"], "dag-processor": ["dag-processor"]}


# --- the Airflow site -----------------------------------------------------------------------------
@dataclass
class Site:
    base: str
    password: str
    lake: Path
    manifest: LakeManifest
    env: dict[str, str]
    repaired_day: str
    daily_run_id: str
    remediation_run_id: str

    def token(self) -> str:
        body = json.dumps({"username": USER, "password": self.password}).encode()
        request = urllib.request.Request(
            f"{self.base}/auth/token", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as reply:
            return json.load(reply)["access_token"]

    def fault_day(self, fault: str) -> str:
        return next(f for f in self.manifest.faults if f.fault == fault).dt


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_airflow(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([AIRFLOW, *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def latest_run_id(dag_id: str, env: dict[str, str]) -> str:
    probe = (
        "from airflow.models import DagRun\n"
        "from airflow.utils.session import create_session\n"
        "with create_session() as s:\n"
        f"    runs = s.query(DagRun).filter(DagRun.dag_id == {dag_id!r}).order_by(DagRun.id).all()\n"
        "    print(runs[-1].run_id)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def http(url: str, *, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """GET without following redirects: (status, headers, body)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(urllib.request.Request(url, headers=headers or {}), timeout=30) as reply:
            return reply.status, dict(reply.headers), reply.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


def stop(proc: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process started in its own session, and everything it started."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=timeout)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # any child left behind in its group


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("ui-site")
    lake, home = root / "lake", root / "airflow-home"
    home.mkdir()
    faults = default_demo_faults(END)
    manifest = generate_lake(lake, end=END, days=40, seed=7, size="small", faults=faults)
    password = secrets.token_urlsafe(12)
    passwords = home / "passwords.json"
    passwords.write_text(json.dumps({USER: password}))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "FLIGHTDQ_", "AWS_"))} | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
        "AIRFLOW__CORE__PARALLELISM": "2",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{base}/execution/",
        "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
        "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "FLIGHTDQ_LAKE": str(lake),
        "FLIGHTDQ_BACKEND": "local",
        "FLIGHTDQ_TASK_RETRIES": "0",
        "GX_ANALYTICS_ENABLED": "False",
    }
    done = run_airflow("db", "migrate", env=env)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    conf = {"date": str(FIRST), "to": str(END), "trigger_remediation": False}
    daily = run_airflow("dags", "test", "flightdq_daily_checks", "-c", json.dumps(conf), env=env)
    assert daily.returncode != 0, "the lake has planted faults: the daily run must be red"
    daily_run_id = latest_run_id("flightdq_daily_checks", env)
    repaired_day = str(faults["missing_partition"])
    conf = {"days": [repaired_day], "dry_run": False}
    repair = run_airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(conf), env=env)
    assert repair.returncode == 0, repair.stdout[-3000:] + repair.stderr[-3000:]
    remediation_run_id = latest_run_id("flightdq_remediation", env)
    # the re-validation a scheduler starts on the repair's asset event (before the scheduler runs)
    conf = {"date": repaired_day, "trigger_remediation": False}
    recheck = run_airflow("dags", "test", "flightdq_daily_checks", "-c", json.dumps(conf), env=env)
    assert recheck.returncode == 0, recheck.stdout[-3000:] + recheck.stderr[-3000:]
    # what the page triggers runs: the remediation DAG is unpaused; the daily checks stay paused
    for args in (("dags", "reserialize"), ("dags", "unpause", "flightdq_remediation")):
        done = run_airflow(*args, env=env)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]

    logs = root / "logs"
    logs.mkdir()
    started: dict[str, subprocess.Popen] = {}
    try:
        for name, args in {
            **COMPONENTS,
            "api-server": ["api-server", "-H", "127.0.0.1", "-p", str(port)],
        }.items():
            started[name] = subprocess.Popen(
                [AIRFLOW, *args],
                env=env,
                stdout=(logs / f"{name}.log").open("wb"),
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while True:
            dead = {n: p.returncode for n, p in started.items() if p.poll() is not None}
            assert not dead, (dead, *((logs / f"{n}.log").read_text()[-2000:] for n in dead))
            assert time.monotonic() < deadline, "the api-server did not come up"
            try:
                if http(f"{base}/api/v2/monitor/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        yield Site(base, password, lake, manifest, env, repaired_day, daily_run_id, remediation_run_id)
    finally:
        for proc in started.values():
            stop(proc)


# --- the browser ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chromium():
    """Debian's `chromium`, launched by Playwright; `make browser` (part of `make test`) installs it.
    The test never installs system packages itself: without a browser it skips, naming the package."""
    executable = shutil.which("chromium")
    if not executable:
        pytest.skip("chromium is not installed: run `make browser` (or `apt-get install -y chromium`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu", "--disable-quic"]
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, site):
    """A fresh context (no cookies, no storage) and page, 1440x1000, logged in."""
    context = chromium.new_context(viewport={"width": 1440, "height": 1000})
    context.set_default_timeout(WAIT_MS)
    context.add_cookies([{"name": "_token", "value": site.token(), "url": site.base + "/"}])
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def shot(page, name: str, docs: str | None = None) -> None:
    """A screenshot under artifacts/; with FLIGHTDQ_UPDATE_DOCS=1 also as docs/<docs>."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / name
    page.screenshot(path=str(path))
    if docs and UPDATE_DOCS:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / docs)


def open_in_ui(page, site: Site, path: str = ""):
    """The plugin's page `path` inside the Airflow UI; returns its frame once its body is there."""
    page.goto(f"{site.base}/plugin/{ROUTE}" + (f"/flightdq/{path.lstrip('/')}" if path else ""))
    frame = page.frame_locator(IFRAME)
    frame.locator("body[data-page]").wait_for()
    return frame


def frame_of(page):
    """The plugin's frame as a Playwright Frame (for JS evaluation)."""
    return page.wait_for_selector(IFRAME).content_frame()


def rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"rgb({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)})"


def luminance(css_rgb: str) -> float:
    """WCAG 2 relative luminance of a computed `rgb(r, g, b)`."""
    channels = [int(c) / 255 for c in re.findall(r"\d+", css_rgb)[:3]]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def incident_list(site: Site) -> dict[str, dict]:
    listing = subprocess.run(
        [sys.executable, "-m", "flightdq.cli", "incident", "list", "--json"],
        env=site.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return {row["id"]: row for row in json.loads(listing.stdout)["incidents"]}


# --- the tests ------------------------------------------------------------------------------------
def test_the_pages_refuse_requests_without_an_airflow_login(site):
    for path in ("/flightdq/", f"/flightdq/day/{END}", f"/flightdq/runs.json?day={END}"):
        status, headers, body = http(site.base + path, headers={"Accept": "application/json"})
        assert status == 401, (path, status, body)
        assert "data-page" not in body
    for path in ("/flightdq/", f"/flightdq/day/{END}"):
        status, headers, _ = http(site.base + path, headers={"Accept": "text/html"})
        assert status == 303 and headers["location"].startswith("/auth/login?next="), (path, status)
    forged = site.token()[:-4] + "AAAA"
    status, _, _ = http(
        site.base + "/flightdq/", headers={"Cookie": f"_token={forged}", "Accept": "application/json"}
    )
    assert status == 403
    wrong = urllib.request.Request(
        f"{site.base}/auth/token",
        data=json.dumps({"username": USER, "password": "not-" + site.password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=30)
    assert refused.value.code == 401  # the login is real: a wrong password gets no token
    status, _, body = http(site.base + "/flightdq/", headers={"Cookie": f"_token={site.token()}"})
    assert status == 200 and 'data-page="now"' in body
    for action in ("acknowledge", "unacknowledge", "notes"):
        request = urllib.request.Request(
            f"{site.base}/flightdq/incidents/{END}__data__1/{action}",
            method="POST",
            data=b'{"text": "x"}',
            headers={"Cookie": f"_token={site.token()}"},  # logged in, but not from the page itself
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=30)
        assert refused.value.code == 403, action


def test_the_now_view_lists_open_incidents_and_an_acknowledgement_can_be_undone(site, page):
    from playwright.sync_api import expect

    frame = open_in_ui(page, site)
    cards = frame.locator("li.now-incident")
    expect(cards.nth(1)).to_be_attached()
    assert frame.locator("nav.tabs a.active").inner_text() == "Now"
    listed = [
        (c.get_attribute("data-incident"), c.get_attribute("data-severity"), c.get_attribute("data-opened"))
        for c in cards.all()
    ]
    severities = [severity for _, severity, _ in listed]
    assert "P0" in severities and "P2" in severities, listed
    assert severities == sorted(severities), listed  # worst first ...
    for (_, a, opened_a), (_, b, opened_b) in itertools.pairwise(listed):
        assert a != b or opened_a <= opened_b, listed  # ... then the oldest first
    lost = site.fault_day("missing_raw_hours")
    p0 = f"{lost}__data__1"
    assert p0 in [i for i, severity, _ in listed if severity == "P0"], listed  # the data loss
    expect(frame.locator("table.hours tr[data-row]")).to_have_count(3)
    # the daily checks stay paused on this site (the page says so); the remediation DAG runs
    paused = frame.locator("[data-paused-dags]").get_attribute("data-paused-dags").split()
    assert "flightdq_daily_checks" in paused and "flightdq_remediation" not in paused, paused
    shot(page, "now.png", docs="ui-now.png")

    # the auto-refresh can be paused, and stays paused
    frame.locator(".refresh-toggle").click()
    expect(frame.locator("[data-refresh]")).to_have_attribute("data-paused", "true")

    # acknowledge the P0: recorded with the user, shown on the page and by the command line
    card = frame.locator(f'li[data-incident="{p0}"]')
    card.locator("button[data-ack]").click()
    expect(card.locator(".ack-by b")).to_have_text(USER)
    expect(card.locator('button[data-ack$="/unacknowledge"]')).to_be_visible()  # taken: only an undo left
    assert card.locator('button[data-ack$="/acknowledge"]').count() == 0
    expect(frame.locator("[data-refresh]")).to_have_attribute("data-paused", "true")
    shot(page, "now-acknowledged.png")
    rows = incident_list(site)
    assert rows[p0]["acknowledged_by"] == USER and rows[p0]["acknowledged_at"]
    assert all(row["acknowledged_by"] is None for i, row in rows.items() if i != p0)

    # ... and undo it: nobody holds it any more, on the page and for the command line
    card.locator('button[data-ack$="/unacknowledge"]').click()
    expect(card.locator(".ack-by.none")).to_be_visible()
    expect(card.locator('button[data-ack$="/acknowledge"]')).to_be_visible()
    assert incident_list(site)[p0]["acknowledged_by"] is None
    frame.locator(".refresh-toggle").click()  # leave the auto-refresh on for the next tests


def test_symptoms_open_with_the_keyboard_alone(site, page):
    from playwright.sync_api import expect

    page.goto(f"{site.base}/flightdq/")
    box = page.locator("li.now-incident details.symptoms").first
    expect(box).to_be_attached()
    listed = box.locator("li")
    expect(listed.first).to_be_hidden()  # closed until asked
    for _ in range(300):  # Tab from the top of the page until the symptoms' summary has the focus
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => document.activeElement && document.activeElement.matches('details.symptoms summary')"
        ):
            break
    else:
        raise AssertionError("Tab never reached the symptoms")
    focused = page.locator("details.symptoms summary:focus")
    page.keyboard.press("Enter")
    opened = focused.locator("xpath=..")
    expect(opened).to_have_attribute("open", "")
    expect(opened.locator("li").first).to_be_visible()
    ranks = [
        {"P0": 0, "P1": 1, "P2": 2, "P3": 3}.get(s, 9)
        for s in opened.locator("li").evaluate_all("items => items.map(li => li.dataset.severity)")
    ]
    assert ranks == sorted(ranks), ranks  # worst first
    shot(page, "now-symptoms-keyboard.png")


def test_a_note_on_an_incident(site, page):
    from playwright.sync_api import expect

    day = site.fault_day("duplicate_flight_ids")
    frame = open_in_ui(page, site, f"day/{day}")
    incident = frame.locator("article.incident").first
    note = "Upstream confirmed a <b>replay</b> of 02:00-03:00; dedup ticket DATA-1234"
    incident.locator("details.note-form summary").click()
    incident.locator("details.note-form textarea").fill(note)
    incident.locator("details.note-form button[type=submit]").click()
    frame = page.frame_locator(IFRAME)
    comment = frame.locator("article.incident ol.timeline li.ev-comment").last
    expect(comment.locator(".detail")).to_have_text(note)  # as typed: markup is text, not HTML
    expect(comment.locator(".by")).to_contain_text(USER)
    assert comment.locator(".detail b").count() == 0
    shot(page, "day-note.png")


def test_the_calendar_and_day_view_inside_the_airflow_ui(site, page):
    from playwright.sync_api import expect

    frame = open_in_ui(page, site, "calendar")
    expect(frame.locator("table.calendar").first).to_be_visible()
    nav = page.locator(f'a[href$="/plugin/{ROUTE}"]').all_inner_texts()
    assert "Flight data quality" in [n.strip() for n in nav], nav  # the nav entry of the Airflow UI
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", frame.locator('input[name="end"]').input_value())

    states = dict(
        frame.locator("a.cell").evaluate_all(
            "cs => cs.map(c => [`${c.dataset.dataset}|${c.dataset.dt}|${c.dataset.check}`, c.dataset.state])"
        )
    )
    for fault in site.manifest.faults:
        if fault.severity is None or fault.dt == site.repaired_day:
            continue
        assert states[f"{fault.dataset}|{fault.dt}|{fault.check}"] == fault.severity, fault
    assert states[f"flightdata_processed|{site.repaired_day}|partition_presence"] == "pass"

    lost = next(f for f in site.manifest.faults if f.fault == "missing_raw_hours")
    selector = f'a.cell[data-dataset="{lost.dataset}"][data-dt="{lost.dt}"][data-check="{lost.check}"]'
    cell = frame.locator(selector)
    assert cell.get_attribute("data-state") == "P0"
    assert cell.evaluate("c => getComputedStyle(c).backgroundColor") == rgb(STATE_COLORS["P0"])
    shot(page, "calendar.png", docs="ui-calendar.png")

    # click the red cell: its day view opens in the frame at that check, and the UI's address follows
    cell.click()
    row = frame.locator(f'tr.check[data-dataset="{lost.dataset}"][data-check="{lost.check}"]')
    expect(row).to_have_attribute("data-state", "P0")
    assert row.get_attribute("data-status") == "fail"
    expect(page).to_have_url(re.compile(rf"/plugin/{ROUTE}/flightdq/day/{lost.dt}"))
    inside = frame_of(page)
    inside.wait_for_function("() => window.scrollY > 0")  # opened at the cell's check
    head, target = inside.evaluate(
        "sel => { const h = document.getElementById('day-head').getBoundingClientRect();"
        " const r = document.querySelector(sel).getBoundingClientRect();"
        " return [[h.top, h.bottom], [r.top, r.bottom, window.innerHeight]]; }",
        f'tr.check[data-dataset="{lost.dataset}"][data-check="{lost.check}"]',
    )
    assert -1 <= head[0] <= 2 and head[1] < target[2], head  # the day's header is still in view ...
    assert head[1] - 1 <= target[0] and target[1] <= target[2], (head, target)  # ... above the check
    shot(page, "day-from-cell.png")
    sections = frame.locator("main > section").evaluate_all("ss => ss.map(s => s.id)")
    assert sections[:4] == ["day-head", "incidents", "remediation", "checks"], sections
    checks = frame.locator("tr.check").evaluate_all("rs => rs.map(r => r.dataset.state)")
    order = ["P0", "P1", "P2", "P3", "warn", "pass", "nodata"]
    assert checks == sorted(checks, key=order.index), checks  # P0 first
    runs = frame.locator("table.runs a.runlink").evaluate_all("as => as.map(a => a.dataset.run)")
    assert site.daily_run_id in runs
    inside.evaluate("() => window.scrollTo(0, 0)")
    shot(page, "day-view.png", docs="ui-day.png")

    # a failing row is tinted by its severity: a milder one is not a P1's red (P3: tests/unit/test_ui.py)
    tint = "r => getComputedStyle(r).backgroundColor"
    frame = open_in_ui(page, site, f"day/{site.fault_day('duplicate_flight_ids')}")
    p2 = frame.locator('tr.check[data-state="P2"]').first.evaluate(tint)
    frame = open_in_ui(page, site, f"day/{site.fault_day('empty_partition')}")
    p1 = frame.locator('tr.check[data-state="P1"]').first.evaluate(tint)
    assert p2 != p1 and "rgba(0, 0, 0, 0)" not in (p1, p2), (p1, p2)

    # the repaired day: its remediation, the incident's timeline, and a link into the UI's run page
    frame = open_in_ui(page, site, f"day/{site.repaired_day}")
    expect(frame.locator("table.remediations tr[data-outcome]").first).to_have_attribute(
        "data-outcome", "repaired"
    )
    events = frame.locator("ol.timeline li .event").all_inner_texts()
    assert "detected" in events and "resolved" in events, events
    shot(page, "day-view-repaired.png")
    frame.locator("table.remediations a.runlink").first.click()
    run_page = f"/dags/flightdq_remediation/runs/{urllib.parse.quote(site.remediation_run_id, safe='')}"
    page.wait_for_url(lambda url: urllib.parse.urlparse(url).path == run_page)
    expect(page.get_by_text("repair_day").first).to_be_visible()
    shot(page, "remediation-run.png")


def test_no_repair_is_offered_where_it_cannot_help(site, page):
    def offered(frame) -> list[str]:
        return frame.locator("#day-head button[data-trigger]").evaluate_all(
            "bs => bs.map(b => b.dataset.trigger)"
        )

    frame = open_in_ui(page, site, f"day/{site.repaired_day}")  # passes again: nothing to repair
    frame.locator("#day-head").wait_for()
    assert offered(frame) == ["recheck"]
    frame = open_in_ui(page, site, f"day/{site.fault_day('duplicate_flight_ids')}")  # a rebuild can help
    frame.locator("#day-head button[data-trigger]").first.wait_for()
    assert offered(frame) == ["dry_run", "repair", "recheck"]


def test_a_dry_run_of_a_lost_day_ends_green_live_and_leaves_its_plan(site, page):
    """The day whose raw hours are lost: the dry run is triggered from the page, the scheduler runs
    it, and its state changes on the page without a reload; it ends green, its plan (no ETL run can
    help) is on the day, and from then on the page offers no Repair for that day, there or on Now."""
    from playwright.sync_api import expect

    day = site.fault_day("missing_raw_hours")
    frame = open_in_ui(page, site, f"day/{day}")
    frame.locator('#day-head button[data-trigger="dry_run"]').click()
    dialog = frame.locator("#trigger-dialog")
    expect(dialog).to_be_visible()
    assert dialog.locator("[data-field=dag]").inner_text() == "flightdq_remediation"
    assert json.loads(dialog.locator("[data-field=conf]").inner_text()) == {"date": day, "dry_run": True}
    shot(page, "trigger-dialog.png")
    inside = frame_of(page)
    inside.evaluate("() => { window.__notReloaded = true; }")  # gone if the page reloads
    dialog.locator("[data-confirm]").click()
    link = dialog.locator(".result.ok a.runlink")
    expect(link).to_be_attached()
    run_id = link.get_attribute("data-run")
    dialog.locator("[data-cancel]").click()
    url = f"{site.base}/api/v2/dags/flightdq_remediation/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    status, _, body = http(url, headers={"Authorization": f"Bearer {site.token()}"})
    assert status == 200, body
    run = json.loads(body)
    assert run["conf"] == {"date": day, "dry_run": True} and run["run_type"] == "manual"
    assert run["triggering_user_name"] == USER and run["note"].startswith(f"Dry-run repair of {day}")

    # the run's row appears and follows the run to its end, without a reload
    row = frame.locator(f'table.remediation-runs tr[data-run="{run_id}"]')
    expect(row).to_be_attached()
    seen = {row.get_attribute("data-state")}
    deadline = time.monotonic() + RUN_MS / 1000
    while row.get_attribute("data-state") not in ("success", "failed") and time.monotonic() < deadline:
        seen.add(row.get_attribute("data-state"))
        page.wait_for_timeout(500)
    final = row.get_attribute("data-state")
    assert final == "success", (final, seen)  # a dry run ends green, whatever its plan says
    assert inside.evaluate("() => window.__notReloaded === true"), "the page reloaded"
    assert seen - {"success"}, seen  # it was seen unfinished first: the state changed live
    expect(row.locator(".runstate")).to_have_text("success")
    expect(row.locator(".drymark")).to_be_visible()
    shot(page, "dry-run-live.png")

    # its plan on the day: a readable run id linking to the run, marked as a dry run; no Repair now
    frame = open_in_ui(page, site, f"day/{day}")
    planned = frame.locator(f'table.remediations tr[data-run="{run_id}"]')
    expect(planned).to_have_attribute("data-dry-run", "true")
    assert planned.get_attribute("data-outcome") == "not_repairable"  # what the plan found, marked dry run
    assert planned.locator(".drymark").is_visible()
    assert "not_repairable" in planned.inner_text() or "not repairable" in planned.inner_text()
    shown = planned.locator("a.runlink code").inner_text()
    assert re.fullmatch(r"manual__\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}", shown), shown
    assert frame.locator("#day-head [data-advice=upstream]").is_visible()
    offered = frame.locator("#day-head button[data-trigger]").evaluate_all(
        "bs => bs.map(b => b.dataset.trigger)"
    )
    assert "repair" not in offered and "recheck" in offered, offered
    shot(page, "day-not-repairable.png")
    frame = open_in_ui(page, site)
    card = frame.locator(f'li[data-incident="{day}__data__1"]')
    expect(card.locator("[data-advice=upstream]")).to_be_visible()
    assert card.locator('button[data-trigger="repair"]').count() == 0


def test_ninety_one_days_open_on_the_latest_and_the_chart_fits(site, page):
    frame = open_in_ui(page, site, f"calendar?end={END}&days=91")
    frame.locator("svg.chart").wait_for()
    inside = frame_of(page)
    inside.wait_for_function(
        "() => [...document.querySelectorAll('[data-scroll-end]')]"
        ".every(b => b.scrollLeft + b.clientWidth >= b.scrollWidth - 2)"
    )
    boxes = inside.evaluate(
        "() => [...document.querySelectorAll('[data-scroll-end]')].map(b => [b.scrollLeft, b.clientWidth,"
        " b.scrollWidth])"
    )
    assert boxes and all(width > seen for _, seen, width in boxes), boxes  # 91 days do not fit ...
    last = inside.evaluate(
        "() => { const a = [...document.querySelectorAll('table.calendar th.dayhead a')].pop()"
        ".getBoundingClientRect(); return [a.left, a.right, document.documentElement.clientWidth]; }"
    )
    assert last[0] >= 0 and last[1] <= last[2], last  # the latest day is in view
    chart, labels = inside.evaluate(
        "() => { const c = document.querySelector('svg.chart').getBoundingClientRect();"
        " const ls = [...document.querySelectorAll('svg.chart text.xlabel')].map(t => {"
        " const r = t.getBoundingClientRect(); return [r.left, r.right]; });"
        " return [[c.left, c.right, document.documentElement.clientWidth], ls]; }"
    )
    assert chart[0] >= 0 and chart[1] <= chart[2], chart  # the chart fits the page's width
    assert len(labels) >= 5
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(labels)), labels  # no overlap
    shot(page, "calendar-91-days.png")


BADGES = ".badge, .daychip, a.cell, span.cell, .chip"


def test_badges_have_aa_contrast_light_and_dark(site, page):
    """Every state badge with text, on the pages that show them, in both themes: the contrast of
    the colours the browser renders, computed (WCAG 2 relative luminance), at least 4.5:1."""
    pages = ("", "calendar", f"day/{site.fault_day('duplicate_flight_ids')}")
    measured = []
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for path in pages:
            page.goto(f"{site.base}/flightdq/{path}")
            page.wait_for_function(f"() => document.documentElement.dataset.theme === '{scheme}'")
            found = page.locator(BADGES).evaluate_all(
                "els => els.filter(e => e.textContent.trim()).map(e => { const s = getComputedStyle(e);"
                " return [e.className, s.backgroundColor, s.color, e.textContent.trim()]; })"
            )
            assert found, (scheme, path)
            for classes, background, colour, text in found:
                if background in ("rgba(0, 0, 0, 0)", "transparent"):
                    continue  # on the page's own background: the text colour of the page
                ratio = contrast(background, colour)
                measured.append(ratio)
                assert ratio >= 4.5, (scheme, path, classes, text, background, colour, round(ratio, 2))
    assert len(measured) > 50, len(measured)


def test_the_page_follows_airflows_dark_mode(site, page):
    from playwright.sync_api import expect

    dark_bg, light_bg = "rgb(11, 17, 32)", "rgb(255, 255, 255)"

    def theme_of_page(frame) -> tuple[str, str]:
        return frame.locator("html").evaluate(
            "h => [h.dataset.theme, getComputedStyle(h.ownerDocument.body).backgroundColor]"
        )

    # Airflow's stored choice: dark. The UI turns dark, and so does the page in its frame
    page.goto(f"{site.base}/auth/login")
    page.evaluate("() => localStorage.setItem('theme', 'dark')")
    frame = open_in_ui(page, site)
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert "dark" in (page.locator("html").get_attribute("class") or "").split()
    assert theme_of_page(frame) == ["dark", dark_bg]
    shot(page, "now-dark.png")
    frame = open_in_ui(page, site, f"day/{site.repaired_day}")
    expect(frame.locator("html")).to_have_attribute("data-theme", "dark")
    assert theme_of_page(frame) == ["dark", dark_bg]
    shot(page, "day-dark.png")

    # the UI switches to light while the page is open: the page follows at once
    page.evaluate("() => document.documentElement.classList.replace('dark', 'light')")
    expect(frame.locator("html")).to_have_attribute("data-theme", "light")
    assert theme_of_page(frame)[1] == light_bg

    # "system": the browser's preference decides, for the UI and for the page on its own
    page.evaluate("() => localStorage.setItem('theme', 'system')")
    page.emulate_media(color_scheme="dark")
    page.goto(f"{site.base}/flightdq/")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    shot(page, "now-standalone-dark.png")
    page.emulate_media(color_scheme="light")
    page.goto(f"{site.base}/flightdq/")
    expect(page.locator("html")).to_have_attribute("data-theme", "light")
    assert page.evaluate("() => getComputedStyle(document.body).backgroundColor") == light_bg
    shot(page, "now-light.png")


def test_a_browser_without_a_login_is_sent_to_the_login_page(site, chromium):
    context = chromium.new_context()
    try:
        page = context.new_page()
        page.goto(f"{site.base}/flightdq/")
        page.wait_for_url(re.compile(r"/auth/login\?.*next="), timeout=WAIT_MS)
        page.locator("input").nth(1).wait_for()
        assert page.locator("body[data-page]").count() == 0
        shot(page, "not-logged-in.png")
    finally:
        context.close()


def test_check_and_repair_tasks_link_to_the_day_view(site):
    token = site.token()

    def task_links(dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict:
        url = (
            f"{site.base}/api/v2/dags/{dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
            f"/taskInstances/{task_id}/links" + (f"?map_index={map_index}" if map_index >= 0 else "")
        )
        status, _, body = http(url, headers={"Authorization": f"Bearer {token}"})
        assert status == 200, body
        return {k: v for k, v in json.loads(body)["extra_links"].items() if v}

    check = task_links("flightdq_daily_checks", site.daily_run_id, "check_partition_presence")
    assert set(check) == {"Data quality: day view"}, check  # the local backend has no console links
    view = check["Data quality: day view"]
    # the run's days (from `resolve_target`), or the first failing day once the task publishes its links
    days = {str(FIRST + timedelta(days=i)) for i in range(28)}
    assert view == f"/plugin/{ROUTE}/flightdq/?end={END}&days=28" or (
        view.startswith(f"/plugin/{ROUTE}/flightdq/day/") and view.rsplit("/", 1)[1] in days
    ), view
    repair = task_links("flightdq_remediation", site.remediation_run_id, "repair_day", 0)
    assert repair == {"Data quality: day view": f"/plugin/{ROUTE}/flightdq/day/{site.repaired_day}"}
