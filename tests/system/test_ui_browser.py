"""The "Flight data quality" page in a real Airflow UI, driven by a real headless Chromium.

Set-up (once per module, about a minute and a half): a generated lake with the demo's planted faults;
a temporary AIRFLOW_HOME with this repository's DAGs and plugin, SimpleAuthManager with one user
and a random password; `airflow dags test` of the daily DAG over the last 28 days (the check
history, incidents and DAG runs the page shows) and of the remediation DAG for the missing-partition
day (a repaired day); then `airflow api-server` on 127.0.0.1 and a free port.

The browser logs in for real (a JWT from the api-server's `/auth/token` for that user and password,
set as the `_token` cookie as Airflow's login page does), opens the page inside the Airflow UI and:
reads the "Now" view (open incidents worst first), acknowledges one (and finds it in `flightdq incident
list`), checks the calendar's colours, opens a day from a cell (its header stays in view), triggers a
dry-run repair from the day view through the confirmation dialog (and finds the run, with the day
filled in, in Airflow), and follows Airflow's dark mode. Screenshots of each step go to
artifacts/screenshots/ (gitignored); `docs/ui-now.png`, `docs/ui-day.png` and `docs/ui-calendar.png`
are written only with FLIGHTDQ_UPDATE_DOCS=1 (a test run never writes into the repository). Every
process started here is stopped here.

Chromium is Debian's `chromium` package, installed by `make test` (its `browser` target) where it
can be; without it the test skips and says so. It is driven through the DevTools protocol with the websocket
client `websockets` (already installed with Airflow); no Selenium, no chromedriver.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
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
FRAME = "document.querySelector('iframe[title=\"Flight data quality\"]')"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    "--remote-debugging-port=0",  # DevTools on 127.0.0.1, on a port chromium picks
)


# --- the browser ----------------------------------------------------------------------------------
def find_chromium() -> str:
    """Debian's `chromium`; `make browser` (part of `make test`) installs it. The test never installs
    system packages itself: without a browser it skips, naming the missing package."""
    found = shutil.which("chromium")
    if not found:
        pytest.skip("chromium is not installed: run `make browser` (or `apt-get install -y chromium`)")
    return found


class Browser:
    """Headless Chromium driven through the DevTools protocol (one page, one websocket)."""

    def __init__(self, binary: str, profile: Path, *, width: int = 1440, height: int = 1000) -> None:
        from websockets.sync.client import connect

        profile.mkdir(parents=True, exist_ok=True)
        self.log = (profile / "chromium.log").open("wb")
        self.proc = subprocess.Popen(
            [
                binary,
                *CHROMIUM_FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            port_file = profile / "DevToolsActivePort"
            deadline = time.monotonic() + 60
            while not (port_file.exists() and port_file.read_text().strip()):
                assert self.proc.poll() is None, (
                    f"chromium exited: {(profile / 'chromium.log').read_text()[-2000:]}"
                )
                assert time.monotonic() < deadline, "chromium did not open its DevTools port"
                time.sleep(0.1)
            port = int(port_file.read_text().split()[0])
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
                page = next(t for t in json.load(reply) if t["type"] == "page")
            self.ws = connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=10)
            self.next_id = 0
            for method in ("Page.enable", "Runtime.enable", "Network.enable"):
                self.send(method)
            self.send(
                "Emulation.setDeviceMetricsOverride",
                width=width,
                height=height,
                deviceScaleFactor=1,
                mobile=False,
            )
        except BaseException:
            self.close()
            raise

    def send(self, method: str, timeout: float = 30, **params) -> dict:
        self.next_id += 1
        mine = self.next_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        deadline = time.monotonic() + timeout
        while True:
            message = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if message.get("id") == mine:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:100]}: {result['exceptionDetails'].get('text')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 45):
        """Poll `expression` until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                last = self.evaluate(expression)
            except RuntimeError as exc:
                last = exc
            if last and not isinstance(last, Exception):
                return last
            time.sleep(0.25)
        raise AssertionError(f"timed out waiting for {what}; last: {last!r}")

    def navigate(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def dark(self, on: bool) -> None:
        """The system's colour preference, as the page's `prefers-color-scheme` sees it."""
        features = [{"name": "prefers-color-scheme", "value": "dark" if on else "light"}]
        self.send("Emulation.setEmulatedMedia", features=features)

    def screenshot(self, path: Path, docs: str | None = None) -> Path:
        """Save a screenshot under artifacts/; with FLIGHTDQ_UPDATE_DOCS=1 also as docs/<docs>."""
        time.sleep(0.5)  # let the last layout and fonts settle
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
        if docs and UPDATE_DOCS:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS / docs)
        return path

    def close(self) -> None:
        ws = getattr(self, "ws", None)
        if ws is not None:
            with contextlib.suppress(Exception):
                self.send("Browser.close", timeout=5)
            ws.close()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)
        self.log.close()


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
def site(tmp_path_factory) -> Site:
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
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW__", "FLIGHTDQ_"))} | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "dags"),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(REPO / "plugins"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__CORE__PARALLELISM": "4",
        "AIRFLOW__CORE__AUTH_MANAGER": SIMPLE_AUTH_MANAGER,
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:user",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "False",
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
        "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(48),
        "AIRFLOW__API__HOST": "127.0.0.1",
        "AIRFLOW__API__PORT": str(port),
        "AIRFLOW__API__BASE_URL": base,
        "AIRFLOW__CORE__LAZY_LOAD_PLUGINS": "False",
        "FLIGHTDQ_LAKE": str(lake),
        "FLIGHTDQ_BACKEND": "local",
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
    # the re-validation a scheduler starts on the repair's asset event (no scheduler runs here)
    conf = {"date": repaired_day, "trigger_remediation": False}
    recheck = run_airflow("dags", "test", "flightdq_daily_checks", "-c", json.dumps(conf), env=env)
    assert recheck.returncode == 0, recheck.stdout[-3000:] + recheck.stderr[-3000:]

    log = (root / "api-server.log").open("wb")
    server = subprocess.Popen(
        [AIRFLOW, "api-server", "-H", "127.0.0.1", "-p", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert server.poll() is None, (root / "api-server.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the api-server did not come up"
            try:
                if http(f"{base}/api/v2/monitor/health")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(1)
        yield Site(base, password, lake, manifest, env, repaired_day, daily_run_id, remediation_run_id)
    finally:
        stop(server)
        log.close()


@pytest.fixture
def browser(tmp_path):
    chromium = Browser(find_chromium(), tmp_path / "chromium-profile")
    try:
        yield chromium
    finally:
        chromium.close()


def rgb(hex_colour: str) -> str:
    h = hex_colour.lstrip("#")
    return f"rgb({int(h[0:2], 16)}, {int(h[2:4], 16)}, {int(h[4:6], 16)})"


def frame(expression: str) -> str:
    """A JS expression evaluated on the plugin's document inside the UI's frame (null until loaded)."""
    return (
        f"(() => {{ const f = {FRAME}; const d = f && f.contentDocument; "
        f"if (!d || !d.body) return null; {expression} }})()"
    )


# --- the tests ------------------------------------------------------------------------------------
def test_the_pages_refuse_requests_without_an_airflow_login(site):
    for path in ("/flightdq/", f"/flightdq/day/{END}"):
        status, headers, body = http(site.base + path, headers={"Accept": "application/json"})
        assert status == 401, (path, status, body)
        assert "Partition health" not in body
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
    assert status == 200 and "Open incidents" in body
    acknowledge = urllib.request.Request(
        f"{site.base}/flightdq/incidents/{END}__data__1/acknowledge",
        method="POST",
        headers={"Cookie": f"_token={site.token()}"},  # logged in, but not from the page itself
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(acknowledge, timeout=30)
    assert refused.value.code == 403


def login(browser: Browser, site: Site) -> None:
    browser.send("Network.setCookie", name="_token", value=site.token(), url=site.base + "/", path="/")


def open_page(browser: Browser, site: Site, path: str, ready: str, what: str):
    """Open a page of the plugin inside the Airflow UI and wait until `ready` (JS on its document)."""
    browser.navigate(f"{site.base}/plugin/{ROUTE}/flightdq/{path.lstrip('/')}")
    return browser.wait_for(frame(ready), what)


def test_the_now_view_lists_open_incidents_worst_first_and_takes_an_acknowledgement(site, browser):
    login(browser, site)
    browser.navigate(f"{site.base}/plugin/{ROUTE}")  # the landing tab
    browser.wait_for(frame("return d.querySelectorAll('li.now-incident').length > 1;"), "the open incidents")
    tab = browser.evaluate(frame("return d.querySelector('nav.tabs a.active').textContent;"))
    assert tab == "Now"
    listed = browser.evaluate(
        frame(
            "return [...d.querySelectorAll('li.now-incident')].map(li => [li.dataset.incident,"
            " li.dataset.severity, li.dataset.opened, li.querySelector('.clock-text').textContent]);"
        )
    )
    severities = [severity for _, severity, _, _ in listed]
    assert "P0" in severities and "P2" in severities, listed
    assert severities == sorted(severities), listed  # worst first ...
    for (_, a, opened_a, _), (_, b, opened_b, _) in itertools.pairwise(listed):
        assert a != b or opened_a <= opened_b, listed  # ... then the oldest first
    assert all(text.endswith("left") or text.startswith("overdue by") for *_, text in listed), listed
    lost = next(f for f in site.manifest.faults if f.fault == "missing_raw_hours")
    p0s = [i for i, severity, _, _ in listed if severity == "P0"]
    assert f"{lost.dt}__data__1" in p0s, listed  # the data loss
    p0 = p0s[0]
    hours = browser.evaluate(frame("return d.querySelectorAll('table.hours tr[data-row]').length;"))
    assert hours == 3
    browser.screenshot(SCREENSHOTS / "now.png", docs="ui-now.png")

    # the auto-refresh can be paused, and stays paused
    browser.evaluate(frame("d.querySelector('.refresh-toggle').click(); return true;"))
    assert browser.evaluate(frame("return d.querySelector('[data-refresh]').dataset.paused;")) == "true"
    assert (
        browser.evaluate(frame("return d.defaultView.localStorage.getItem('flightdq-refresh-paused');"))
        == "1"
    )

    # acknowledge the P0: recorded with the user, shown on the page and by the command line
    browser.evaluate(
        frame(f"d.querySelector('li[data-incident=\"{p0}\"] button[data-ack]').click(); return true;")
    )
    who = browser.wait_for(
        frame(
            f"const li = d.querySelector('li[data-incident=\"{p0}\"]');"
            " return li && li.querySelector('.ack-by b') && li.querySelector('.ack-by b').textContent;"
        ),
        "the acknowledgement on the page",
    )
    assert who == USER
    escalation = browser.evaluate(
        frame(f"return d.querySelector('li[data-incident=\"{p0}\"] .escalation').textContent;")
    )
    assert "no escalation" in escalation
    assert browser.evaluate(frame("return d.querySelector('[data-refresh]').dataset.paused;")) == "true"
    browser.screenshot(SCREENSHOTS / "now-acknowledged.png")
    listing = subprocess.run(
        [sys.executable, "-m", "flightdq.cli", "incident", "list", "--json"],
        env=site.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = {row["id"]: row for row in json.loads(listing.stdout)["incidents"]}
    assert rows[p0]["acknowledged_by"] == USER and rows[p0]["acknowledged_at"]
    assert all(row["acknowledged_by"] is None for i, row in rows.items() if i != p0)
    browser.evaluate(frame("d.defaultView.localStorage.removeItem('flightdq-refresh-paused'); return true;"))


def test_the_calendar_and_day_view_inside_the_airflow_ui(site, browser):
    login(browser, site)
    browser.navigate(f"{site.base}/plugin/{ROUTE}/flightdq/calendar")
    browser.wait_for(frame("return !!d.querySelector('table.calendar');"), "the calendar inside the UI")
    nav = browser.evaluate(
        f"[...document.querySelectorAll('a[href$=\"/plugin/{ROUTE}\"]')].map(a => a.textContent.trim())"
    )
    assert "Flight data quality" in nav, nav  # the nav entry of the Airflow UI

    states = browser.evaluate(
        frame(
            "return Object.fromEntries([...d.querySelectorAll('a.cell')]"
            ".map(c => [`${c.dataset.dataset}|${c.dataset.dt}|${c.dataset.check}`, c.dataset.state]));"
        )
    )
    for fault in site.manifest.faults:
        if fault.severity is None or fault.dt == site.repaired_day:
            continue
        assert states[f"{fault.dataset}|{fault.dt}|{fault.check}"] == fault.severity, fault
    assert states[f"flightdata_processed|{site.repaired_day}|partition_presence"] == "pass"

    lost = next(f for f in site.manifest.faults if f.fault == "missing_raw_hours")
    selector = f'a.cell[data-dataset="{lost.dataset}"][data-dt="{lost.dt}"][data-check="{lost.check}"]'
    cell = browser.evaluate(
        frame(
            f"const c = d.querySelector('{selector}');"
            " return [c.dataset.state, getComputedStyle(c).backgroundColor];"
        )
    )
    assert cell == ["P0", rgb(STATE_COLORS["P0"])], cell  # data loss: dark red
    browser.screenshot(SCREENSHOTS / "calendar.png", docs="ui-calendar.png")

    # click the red cell: its day view opens in the frame at that check, and the UI's address follows
    browser.evaluate(frame(f"d.querySelector('{selector}').click(); return true;"))
    row = browser.wait_for(
        frame(
            f'const r = d.querySelector(\'tr.check[data-dataset="{lost.dataset}"]'
            f'[data-check="{lost.check}"]\');'
            " return r && [r.dataset.status, r.dataset.state, r.innerText];"
        ),
        "the day view's failing check",
    )
    assert row[0] == "fail" and row[1] == "P0" and "missing" in row[2], row
    assert browser.evaluate("location.pathname") == f"/plugin/{ROUTE}/flightdq/day/{lost.dt}"
    time.sleep(0.5)  # the scroll to the cell's check
    head, target, scrolled = browser.evaluate(
        frame(
            "const h = d.getElementById('day-head').getBoundingClientRect();"
            f' const r = d.querySelector(\'tr.check[data-dataset="{lost.dataset}"]'
            f'[data-check="{lost.check}"]\').getBoundingClientRect(); const w = d.defaultView;'
            " return [[h.top, h.bottom], [r.top, r.bottom, w.innerHeight], w.scrollY];"
        )
    )
    assert scrolled > 0, "the day view opened at the cell's check"
    assert -1 <= head[0] <= 2 and head[1] < target[2], head  # the day's header is still in view ...
    assert head[1] - 1 <= target[0] and target[1] <= target[2], (head, target)  # ... above the check
    browser.screenshot(SCREENSHOTS / "day-from-cell.png")
    sections = browser.evaluate(frame("return [...d.querySelectorAll('main > section')].map(s => s.id);"))
    assert sections[:4] == ["day-head", "incidents", "remediation", "checks"], sections
    checks = browser.evaluate(frame("return [...d.querySelectorAll('tr.check')].map(r => r.dataset.state);"))
    order = ["P0", "P1", "P2", "P3", "warn", "pass", "nodata"]
    assert checks == sorted(checks, key=order.index), checks  # P0 first
    failing = browser.evaluate(frame("return d.querySelector('p.summary.failing').innerText;"))
    assert f"{lost.check} on {lost.dataset}" in failing
    runs = browser.evaluate(
        frame("return [...d.querySelectorAll('table.runs a.runlink')].map(a => a.dataset.run);")
    )
    assert site.daily_run_id in runs
    browser.evaluate(frame("d.defaultView.scrollTo(0, 0); return true;"))
    browser.screenshot(SCREENSHOTS / "day-view.png", docs="ui-day.png")

    # the repaired day: its remediation, the incident's timeline, and a link into the UI's run page
    browser.navigate(f"{site.base}/plugin/{ROUTE}/flightdq/day/{site.repaired_day}")
    outcome = browser.wait_for(
        frame(
            "const r = d.querySelector('table.remediations tr[data-outcome]'); return r && r.dataset.outcome;"
        ),
        "the remediation of the repaired day",
    )
    assert outcome == "repaired"
    events = browser.evaluate(
        frame("return [...d.querySelectorAll('ol.timeline li .event')].map(e => e.innerText);")
    )
    assert "detected" in events and "resolved" in events, events
    browser.screenshot(SCREENSHOTS / "day-view-repaired.png")
    browser.evaluate(frame("d.querySelector('table.remediations a.runlink').click(); return true;"))
    run_page = f"/dags/flightdq_remediation/runs/{urllib.parse.quote(site.remediation_run_id, safe='')}"
    path = browser.wait_for(
        f"location.pathname === '{run_page}' && location.pathname", "the Airflow run page"
    )
    assert path == run_page
    browser.wait_for("document.body.innerText.includes('repair_day')", "the run's task list")
    browser.screenshot(SCREENSHOTS / "remediation-run.png")


def test_ninety_one_days_open_on_the_latest_and_the_chart_fits(site, browser):
    login(browser, site)
    open_page(
        browser, site, f"calendar?end={END}&days=91", "return !!d.querySelector('svg.chart');", "91 days"
    )
    time.sleep(0.3)
    boxes = browser.evaluate(
        frame(
            "return [...d.querySelectorAll('[data-scroll-end]')].map(b => [b.scrollLeft, b.clientWidth,"
            " b.scrollWidth]);"
        )
    )
    assert boxes and all(width > seen for _, seen, width in boxes), boxes  # 91 days do not fit ...
    assert all(left + seen >= width - 2 for left, seen, width in boxes), boxes  # ... it opens at the end
    last = browser.evaluate(
        frame(
            "const a = [...d.querySelectorAll('table.calendar th.dayhead a')].pop().getBoundingClientRect();"
            " return [a.left, a.right, d.documentElement.clientWidth];"
        )
    )
    assert last[0] >= 0 and last[1] <= last[2], last  # the latest day is in view
    chart, labels = browser.evaluate(
        frame(
            "const c = d.querySelector('svg.chart').getBoundingClientRect();"
            " const ls = [...d.querySelectorAll('svg.chart text.xlabel')].map(t => {"
            " const r = t.getBoundingClientRect(); return [r.left, r.right]; });"
            " return [[c.left, c.right, d.documentElement.clientWidth], ls];"
        )
    )
    assert chart[0] >= 0 and chart[1] <= chart[2], chart  # the chart fits the page's width
    assert len(labels) >= 5
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(labels)), labels  # no overlap
    browser.screenshot(SCREENSHOTS / "calendar-91-days.png")


def test_a_dry_run_repair_is_triggered_from_the_day_view_with_the_day_filled_in(site, browser):
    login(browser, site)
    day = next(f for f in site.manifest.faults if f.fault == "duplicate_flight_ids").dt
    open_page(
        browser,
        site,
        f"day/{day}",
        "return !!d.querySelector('button[data-trigger=\"dry_run\"]');",
        "the day's actions",
    )
    buttons = browser.evaluate(
        frame("return [...d.querySelectorAll('#day-head button[data-trigger]')].map(b => b.textContent);")
    )
    assert buttons == ["Dry-run repair", "Repair", "Re-check"], buttons
    browser.evaluate(
        frame("d.querySelector('#day-head button[data-trigger=\"dry_run\"]').click(); return true;")
    )
    shown = browser.wait_for(
        frame(
            "const g = d.getElementById('trigger-dialog');"
            " return g.open && [g.querySelector('[data-field=dag]').textContent,"
            " g.querySelector('[data-field=conf]').textContent];"
        ),
        "the confirmation dialog",
    )
    assert shown[0] == "flightdq_remediation" and json.loads(shown[1]) == {"date": day, "dry_run": True}
    browser.screenshot(SCREENSHOTS / "trigger-dialog.png")
    browser.evaluate(frame("d.querySelector('#trigger-dialog [data-confirm]').click(); return true;"))
    run_id = browser.wait_for(
        frame(
            "const a = d.querySelector('#trigger-dialog .result.ok a.runlink'); return a && a.dataset.run;"
        ),
        "the triggered run",
    )
    browser.screenshot(SCREENSHOTS / "trigger-done.png")
    # this site's DAGs stay paused (no scheduler runs here): the page says so, and so does the result
    said = browser.evaluate(
        frame(
            "return [!!d.querySelector('[data-paused-dags~=flightdq_remediation]'),"
            " d.querySelector('#trigger-dialog .result').textContent];"
        )
    )
    assert said[0] and "flightdq_remediation is paused" in said[1], said
    url = f"{site.base}/api/v2/dags/flightdq_remediation/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    status, _, body = http(url, headers={"Authorization": f"Bearer {site.token()}"})
    assert status == 200, body
    run = json.loads(body)
    assert run["conf"] == {"date": day, "dry_run": True} and run["run_type"] == "manual"
    assert run["triggering_user_name"] == USER and run["note"].startswith(f"Dry-run repair of {day}")

    # the day view lists it among the remediation runs, dry runs included, and links into the UI
    open_page(
        browser, site, f"day/{day}", "return !!d.querySelector('table.remediation-runs');", "the run list"
    )
    listed = browser.evaluate(
        frame(
            "return [...d.querySelectorAll('table.remediation-runs tr[data-run]')]"
            ".map(r => [r.dataset.run, r.dataset.dryRun]);"
        )
    )
    assert [run_id, "true"] in listed, listed
    browser.evaluate(frame(f"d.querySelector('tr[data-run=\"{run_id}\"] a.runlink').click(); return true;"))
    path = f"/dags/flightdq_remediation/runs/{urllib.parse.quote(run_id, safe='')}"
    assert browser.wait_for(f"location.pathname === '{path}' && location.pathname", "the run page") == path

    # what the form's JSON schema can say, Airflow refuses at the trigger (a range is the first task's)
    too_many = [str(FIRST + timedelta(days=i)) for i in range(32)]
    request = urllib.request.Request(
        f"{site.base}/api/v2/dags/flightdq_remediation/dagRuns",
        data=json.dumps({"logical_date": None, "conf": {"days": too_many}}).encode(),
        headers={"Authorization": f"Bearer {site.token()}", "Content-Type": "application/json"},
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 400 and "days" in refused.value.read().decode()


def test_the_page_follows_airflows_dark_mode(site, browser):
    login(browser, site)
    dark_bg, light_bg = "rgb(11, 17, 32)", "rgb(255, 255, 255)"
    ready = "return d.documentElement.dataset.theme && getComputedStyle(d.body).backgroundColor;"

    def theme_of_page() -> tuple[str, str, str]:
        return browser.evaluate(
            frame(
                "return [d.documentElement.dataset.theme, getComputedStyle(d.body).backgroundColor,"
                " document.documentElement.className];"
            )
        )

    # Airflow's stored choice: dark. The UI turns dark, and so does the page in its frame
    browser.navigate(f"{site.base}/auth/login")
    browser.wait_for("document.readyState === 'complete'", "a page of the site")
    browser.evaluate("localStorage.setItem('theme', 'dark'); true")
    browser.navigate(f"{site.base}/plugin/{ROUTE}")
    browser.wait_for(frame("return d.querySelectorAll('li.now-incident').length > 0;"), "the Now view")
    browser.wait_for(frame(ready), "the page's theme")
    theme, background, ui_classes = theme_of_page()
    assert "dark" in ui_classes.split() and theme == "dark" and background == dark_bg
    browser.screenshot(SCREENSHOTS / "now-dark.png")
    open_page(
        browser, site, f"day/{site.repaired_day}", "return !!d.querySelector('article.incident');", "a day"
    )
    assert theme_of_page()[:2] == ["dark", dark_bg]
    browser.screenshot(SCREENSHOTS / "day-dark.png")

    # the UI switches to light while the page is open: the page follows at once
    browser.evaluate("document.documentElement.classList.replace('dark', 'light'); true")
    assert browser.wait_for(frame("return d.documentElement.dataset.theme === 'light';"), "the switch")
    assert theme_of_page()[1] == light_bg

    # "system": the browser's preference decides, for the UI and for the page on its own
    browser.evaluate("localStorage.setItem('theme', 'system'); true")
    browser.dark(True)
    browser.navigate(f"{site.base}/flightdq/")
    browser.wait_for("document.documentElement.dataset.theme === 'dark'", "prefers-color-scheme: dark")
    browser.screenshot(SCREENSHOTS / "now-standalone-dark.png")
    browser.dark(False)
    browser.navigate(f"{site.base}/flightdq/")
    browser.wait_for("document.documentElement.dataset.theme === 'light'", "prefers-color-scheme: light")
    assert browser.evaluate("getComputedStyle(document.body).backgroundColor") == light_bg
    browser.screenshot(SCREENSHOTS / "now-light.png")


def test_a_browser_without_a_login_is_sent_to_the_login_page(site, browser):
    browser.navigate(f"{site.base}/flightdq/")
    url = browser.wait_for("location.pathname.startsWith('/auth/login') && location.href", "the login page")
    assert "next=" in url
    browser.wait_for("document.querySelectorAll('input').length >= 2", "the login form")
    assert "Partition health" not in browser.evaluate("document.body.innerText")
    browser.screenshot(SCREENSHOTS / "not-logged-in.png")


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
