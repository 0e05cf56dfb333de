"""A real Airflow for the tests where the scheduler decides: the api-server, scheduler, dag-processor
and triggerer as separate processes on 127.0.0.1, in their own Airflow home with a SQLite metadata DB
and the LocalExecutor, as `make airflow` starts them. Everything it starts it stops, group and all.

The metadata DB is read with sqlite3 directly (read-only, no Airflow import in the test process):
what runs the scheduler made, in which state, with which conf.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
AIRFLOW = str(BIN / "airflow")
COMPONENTS = {
    "api-server": ["api-server", "-H", "127.0.0.1", "-p", "{port}"],
    "scheduler": ["scheduler", "--skip-serve-logs"],
    "dag-processor": ["dag-processor"],
    "triggerer": ["triggerer", "--skip-serve-logs"],
}
T = TypeVar("T")


def free_port() -> int:
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class RealAirflow:
    home: Path
    env: dict[str, str]
    port: int
    started_at: float = field(default_factory=time.monotonic)
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    # --- the CLI -----------------------------------------------------------------------------
    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [AIRFLOW, *args], env=self.env, capture_output=True, text=True, timeout=300, check=False
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"airflow {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
            )
        return done

    def unpause(self, *dag_ids: str) -> None:
        for dag_id in dag_ids:
            self.cli("dags", "unpause", dag_id)
        paused = {d: p for d, p in self.query("select dag_id, is_paused from dag") if d in dag_ids}
        assert paused == dict.fromkeys(dag_ids, 0), paused

    # --- the metadata DB ---------------------------------------------------------------------
    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        uri = f"file:{self.home / 'airflow.db'}?mode=ro"
        with closing(sqlite3.connect(uri, uri=True, timeout=30)) as db:
            return db.execute(sql, params).fetchall()

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        rows = self.query(
            "select run_id, run_type, state, conf, id from dag_run where dag_id = ? order by id", (dag_id,)
        )
        return [
            {"run_id": r[0], "run_type": r[1], "state": r[2], "conf": _conf(r[3]), "id": r[4]} for r in rows
        ]

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        rows = self.query(
            "select task_id, map_index, state from task_instance where dag_id = ? and run_id = ?",
            (dag_id, run_id),
        )
        return {(t if m < 0 else f"{t}[{m}]"): s for t, m, s in rows}

    def consumed_events(self, run_id: str) -> list[dict[str, Any]]:
        """The asset events a run consumed (`dagrun_asset_event`), with their extra."""
        rows = self.query(
            "select e.extra from asset_event e join dagrun_asset_event d on d.event_id = e.id "
            "join dag_run r on r.id = d.dag_run_id where r.run_id = ?",
            (run_id,),
        )
        return [_conf(r[0]) for r in rows]

    # --- waiting -----------------------------------------------------------------------------
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float = 240) -> T:
        """Poll `probe` until it returns something truthy; fail naming `what` and the logs."""
        deadline = time.monotonic() + timeout
        while True:
            self.assert_alive()
            found = probe()
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{self.log_tails()}")
            time.sleep(1)

    def assert_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        if dead:
            raise AssertionError(f"Airflow components exited: {dead}\n{self.log_tails()}")

    def log_tails(self, lines: int = 30) -> str:
        out = []
        for name in self.processes:
            path = self.home / "logs" / f"{name}.log"
            if path.exists():
                tail = path.read_text(errors="replace").splitlines()[-lines:]
                out.append(f"--- {name} ---\n" + "\n".join(tail))
        return "\n".join(out)

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        (self.home / "logs").mkdir(parents=True, exist_ok=True)
        for name, args in COMPONENTS.items():
            log = (self.home / "logs" / f"{name}.log").open("w")
            command = [AIRFLOW, *(a.format(port=self.port) for a in args)]
            self.processes[name] = subprocess.Popen(
                command, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )

    def stop(self) -> None:
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.processes.values():
            with suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # the group too: LocalExecutor's workers, task runs
            process.wait(timeout=30)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with suppress(ProcessLookupError):
        os.killpg(process.pid, sig)


def _conf(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode()
    try:
        return json.loads(value)
    except (TypeError, ValueError):
        return value


def airflow_env(home: Path, port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The environment of every component: this repository's DAGs, no examples, LocalExecutor on
    SQLite, everything on 127.0.0.1, DAGs paused at creation (a test unpauses what it needs)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW", "FLIGHTDQ_"))}
    return (
        base
        | {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "3",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__AUTH_MANAGER": (
                "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager"
            ),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "GX_ANALYTICS_ENABLED": "False",
            "FLIGHTDQ_BACKEND": "local",
            "FLIGHTDQ_TASK_RETRIES": "0",
        }
        | dict(extra)
    )


@contextmanager
def real_airflow(home: Path, extra_env: Mapping[str, str]) -> Iterator[RealAirflow]:
    """A migrated metadata DB with flightdq's DAGs serialized and the ETL pool, then the four
    components running until the block ends."""
    port = free_port()
    env = airflow_env(home, port, extra_env)
    airflow = RealAirflow(home, env, port)
    airflow.cli("db", "migrate")
    airflow.cli("dags", "reserialize")
    pools = subprocess.run(
        [sys.executable, "-m", "flightdq.airflow.pools"], env=env, capture_output=True, text=True, check=False
    )
    assert pools.returncode == 0, pools.stderr[-2000:]
    airflow.started_at = time.monotonic()
    try:
        airflow.start()
        yield airflow
    finally:
        airflow.stop()


def api(airflow: RealAirflow, method: str, path: str, body: Any = None) -> Any:
    """Airflow's REST API as an admin (SimpleAuthManager with every user an admin, as the test site
    is set up): a token from /auth/token, then `method` on /api/v2`path`."""
    import urllib.request

    base = f"http://127.0.0.1:{airflow.port}"
    with urllib.request.urlopen(urllib.request.Request(f"{base}/auth/token"), timeout=30) as reply:
        token = json.loads(reply.read())["access_token"]
    request = urllib.request.Request(
        f"{base}/api/v2{path}",
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        return json.loads(reply.read() or b"null")
