"""The AWS sandbox a user starts with one command (`make sandbox`): a local AWS emulator seeded
with a sample lake, that `flightdq` then talks to exactly as it would to AWS."""

from __future__ import annotations

import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.aws]

FLIGHTDQ = str(Path(sys.executable).with_name("flightdq"))


def test_the_sandbox_starts_with_one_command_and_serves_flightdq(tmp_path):
    """`python -m flightdq_dev.emulator --seed`, then `flightdq validate` with the environment it
    prints, then Ctrl-C."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_", "FLIGHTDQ_"))}
    sandbox = subprocess.Popen(
        [sys.executable, "-m", "flightdq_dev.emulator", "--seed", "--days", "3", "--port", "0"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in sandbox.stdout], daemon=True).start()
    try:
        banner = _read_until(lines, "Ctrl-C stops the emulator", timeout=300)  # a cold first start is slow
        exports = dict(re.findall(r"^  export (\w+)='(.*)'", banner, re.MULTILINE))
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", exports["AWS_ENDPOINT_URL"])
        assert (
            json.loads(exports["AIRFLOW_CONN_AWS_DEFAULT"])["extra"]["endpoint_url"]
            == exports["AWS_ENDPOINT_URL"]
        )
        command = re.search(r"^  (\S*flightdq validate --date (\S+) --json)$", banner, re.MULTILINE)
        day = command.group(2)
        # as printed, in a fresh shell: no venv on the PATH
        fresh = env | exports | {"FLIGHTDQ_LAKE": str(tmp_path), "PATH": "/usr/bin:/bin"}
        checked = subprocess.run(
            ["bash", "-c", command.group(1)], env=fresh, capture_output=True, text=True, timeout=300
        )
        assert checked.returncode == 0, checked.stdout[-2000:] + checked.stderr[-2000:]
        assert not re.search(r"^\S*\s*INFO\b|\bINFO - ", checked.stderr, re.MULTILINE), checked.stderr[-2000:]
        airflow_line = re.search(r"^  (\S*airflow) dags test ", banner, re.MULTILINE).group(1)
        assert Path(airflow_line).is_file()
        results = json.loads(checked.stdout)["results"]  # the contract: stdout is one JSON document
        assert len(results) == 7 and {r["dt"] for r in results} == {day}
        assert all(r["status"] in ("pass", "warn") for r in results)
    finally:
        sandbox.send_signal(signal.SIGINT)
        try:
            sandbox.wait(timeout=60)
        except subprocess.TimeoutExpired:  # never hide the failure that brought us here
            sandbox.kill()
            sandbox.wait()
    assert sandbox.returncode == 0
    assert "emulator stopped" in _read_until(lines, "emulator stopped", timeout=10)


def _read_until(lines: queue.Queue, marker: str, timeout: float) -> str:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen.append(lines.get(timeout=0.5))
        except queue.Empty:
            continue
        if marker in seen[-1]:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout}s; got:\n{''.join(seen)[-3000:]}")
