"""The "Flight data quality" page in a real Airflow UI, driven by a real headless Chromium.

Set-up (once per module, about a minute and a half): a generated lake with the demo's planted faults;
a temporary AIRFLOW_HOME with this repository's DAGs and plugin, SimpleAuthManager with one user
and a random password; `airflow dags test` of the daily DAG over the last 28 days (the check
history, incidents and DAG runs the page shows) and of the remediation DAG for the missing-partition
day (a repaired day); then `airflow api-server` on 127.0.0.1 and a free port.

The browser logs in for real (a JWT from the api-server's `/auth/token` for that user and password,
set as the `_token` cookie as Airflow's login page does), opens the page inside the Airflow UI, checks
the colours of the planted faults' cells, opens a day view and follows a run link into the UI.
Screenshots of each page go to artifacts/screenshots/ (gitignored); `docs/ui-calendar.png` is written
only with FLIGHTDQ_UPDATE_DOCS=1 (a test run never writes into the repository). Every process started
here is stopped here.

Chromium is Debian's `chromium` package, installed by `make test` (its `browser` target) where it
can be; without it the test skips and says so. It is driven through the DevTools protocol with the websocket
client `websockets` (already installed with Airflow); no Selenium, no chromedriver.
"""

from __future__ import annotations

import base64
import contextlib
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
DOCS_SCREENSHOT = REPO / "docs" / "ui-calendar.png"
END = utcnow().date() - timedelta(days=1)
FIRST = END - timedelta(days=27)  # the calendar's default four weeks
USER = "oncall"
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

    def screenshot(self, path: Path) -> Path:
        time.sleep(0.5)  # let the last layout and fonts settle
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.send("Page.captureScreenshot", format="png")["data"]))
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
        "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:viewer",
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
    assert status == 200 and "Partition health" in body


def test_the_calendar_and_day_view_inside_the_airflow_ui(site, browser):
    browser.send("Network.setCookie", name="_token", value=site.token(), url=site.base + "/", path="/")
    browser.navigate(f"{site.base}/plugin/{ROUTE}")
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
    calendar = browser.screenshot(SCREENSHOTS / "calendar.png")
    if os.environ.get("FLIGHTDQ_UPDATE_DOCS") == "1":
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(calendar, DOCS_SCREENSHOT)

    # click the red cell: its day view opens in the frame, and the UI's address follows
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
    failing = browser.evaluate(frame("return d.querySelector('p.summary.failing').innerText;"))
    assert f"{lost.check} on {lost.dataset}" in failing
    runs = browser.evaluate(
        frame("return [...d.querySelectorAll('table.runs a.runlink')].map(a => a.dataset.run);")
    )
    assert site.daily_run_id in runs
    browser.evaluate(frame("d.defaultView.scrollTo(0, 0); return true;"))
    browser.screenshot(SCREENSHOTS / "day-view.png")

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
