"""Shared fixtures: a lake folder per test, and small hand-built partitions and raw snapshots whose
every number the test controls."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import tempfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Airflow reads its configuration when first imported: point it at a throwaway home and this
# repository's DAGs before any test imports it.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="flightdq-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(REPO / "dags")
os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = str(REPO / "plugins")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["GX_ANALYTICS_ENABLED"] = "False"
for _inherited in ("FLIGHTDQ_LAKE", "FLIGHTDQ_BACKEND", "FLIGHTDQ_POLICY"):
    os.environ.pop(_inherited, None)
# Rendered SQL is cached on disk (flightdq.checks.sql_cache): one throwaway folder per test session.
_SQL_CACHE = tempfile.mkdtemp(prefix="flightdq-sql-cache-")
os.environ["FLIGHTDQ_SQL_CACHE"] = _SQL_CACHE


# Hypothesis keeps what it stores (its example database, its constants cache) under .pytest_cache,
# which `make clean` removes, not in a `.hypothesis/` folder of the working directory.
os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(REPO / ".pytest_cache" / "hypothesis"))


# The three layers are folders: unit/ (plain logic), emulator/ (AWS API calls against moto on
# 127.0.0.1) and system/ (real Airflow runs, a real browser). The folder gives the mark.
LAYER_MARKS = {"emulator": "aws", "system": "slow"}


# `make test` hands whole files to its workers in collection order (`--dist loadfile
# --no-loadscope-reorder`): the files that take minutes (real schedulers, whole DAG runs, a browser)
# go first, longest first, so that no worker is left running one of them alone at the end while the
# others idle. Seconds per file, measured (a stale figure only changes the order, never a result).
LONGEST_FILES = {
    "test_scheduler_loop.py": 310,
    "test_remediation_loop.py": 270,
    "test_dag_runs.py": 240,
    "test_ui_browser.py": 215,
    "test_glue_repair_deferral.py": 80,
    "test_readme_commands.py": 75,
    "test_demo.py": 73,
    "test_aws_backend.py": 70,
    "test_atomic_swap.py": 50,
    "test_lineage.py": 48,
}
LAYER_ORDER = {"system": 0, "emulator": 1, "unit": 2}


def pytest_collection_modifyitems(config, items):
    for item in items:
        layer = Path(str(item.path)).relative_to(REPO / "tests").parts[0]
        if layer in LAYER_MARKS:
            item.add_marker(LAYER_MARKS[layer])

    def longest_first(item: pytest.Item) -> tuple[int, int]:
        path = Path(str(item.path))
        layer = path.relative_to(REPO / "tests").parts[0]
        return (-LONGEST_FILES.get(path.name, 0), LAYER_ORDER.get(layer, len(LAYER_ORDER)))

    items.sort(key=longest_first)  # stable: a file's tests keep their order


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(_AIRFLOW_HOME, ignore_errors=True)
    shutil.rmtree(_SQL_CACHE, ignore_errors=True)


@pytest.fixture
def aws(emulator, monkeypatch: pytest.MonkeyPatch):
    """For the emulator tests (tests/emulator/): the module's emulator (each module makes its own
    `emulator` fixture, seeded with the lake it needs) with this process's AWS connection pointed at
    it, no fault armed before the test and none left after it, and no Glue run still going when it
    ends. A module that needs more overrides `aws` and requests this one. Here, not in a
    tests/emulator/conftest.py: the unit tests import this module as `conftest`."""
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    emulator.faults.clear()
    yield emulator
    emulator.wait_for_glue_runs()
    emulator.faults.clear()


def valid_rows(day: date, n: int, *, start: int = 0, hours: range = range(24)) -> list[dict]:
    """n valid processed rows for `day`, spread over `hours` (first_seen hour = hours[i % len])."""
    rows = []
    base = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    hour_list = list(hours)
    for i in range(start, start + n):
        first = base + timedelta(hours=hour_list[i % len(hour_list)], minutes=(i * 7) % 50, seconds=i % 60)
        icao = f"{0xA00000 + i:06x}"
        rows.append(
            {
                "flight_id": f"{icao}-{int(first.timestamp())}",
                "icao24": icao,
                "callsign": f"DLH{i % 1000:03d}",
                "origin_country": "Germany",
                "first_seen": first,
                "last_seen": first + timedelta(minutes=9),
                "position_count": 10 + i % 5,
                "first_latitude": 50.0,
                "first_longitude": 8.5,
                "last_latitude": 51.0,
                "last_longitude": 9.5,
                "max_baro_altitude": 11000.0,
                "max_velocity": 230.0,
                "squawk": "1000",
            }
        )
    return rows


class LakeBuilder:
    def __init__(self, root: Path) -> None:
        from flightdq.backends.local.catalog import LocalCatalog

        self.root = root
        self.catalog = LocalCatalog(root)

    def partition_dir(self, day: date) -> Path:
        return self.root / "flightdata-processed" / "flightdata_processed" / f"dt={day}"

    def write_partition(self, day: date, rows: list[dict], *, register: bool = True, schema=None) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        from flightdq.core.contract import processed_arrow_schema

        schema = schema or processed_arrow_schema()
        folder = self.partition_dir(day)
        folder.mkdir(parents=True, exist_ok=True)
        table = pa.Table.from_pylist(rows, schema=schema)
        pq.write_table(table, folder / "part-00000.parquet")
        if register:
            self.catalog.register(
                "flightdata_processed", [(str(day), folder.relative_to(self.root).as_posix())]
            )
        return folder

    def write_raw(
        self,
        day: date,
        hours: range = range(24),
        *,
        per_hour: int = 2,
        gz: bool = False,
        until: datetime | None = None,
    ) -> None:
        from flightdq.core.layout import raw_key

        base = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
        for hour in hours:
            for k in range(per_hour):
                moment = base + timedelta(hours=hour, seconds=(3600 // per_hour) * k + 30)
                if until and moment > until:
                    return
                unix = int(moment.timestamp())
                path = self.root / "flightdata-raw" / raw_key(day, hour, unix, gzip=gz)
                path.parent.mkdir(parents=True, exist_ok=True)
                body = json.dumps({"time": unix, "states": []}).encode()
                path.write_bytes(gzip.compress(body) if gz else body)

    def healthy_day(self, day: date, n: int = 100) -> None:
        self.write_raw(day)
        self.write_partition(day, valid_rows(day, n))


@pytest.fixture
def lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LakeBuilder:
    root = tmp_path / "lake"
    (root / "flightdata-raw").mkdir(parents=True)  # the layout that makes a folder a lake
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(root))
    monkeypatch.setenv("FLIGHTDQ_BACKEND", "local")
    return LakeBuilder(root)


@pytest.fixture
def settings(lake: LakeBuilder):
    from flightdq.core.config import Settings

    return Settings.from_env()


@pytest.fixture
def backend(settings):
    from flightdq.backends.local.backend import LocalBackend

    return LocalBackend(settings)


SMALL_LAKE_END = date(2026, 11, 25)


@pytest.fixture
def small_lake(tmp_path, monkeypatch):
    """Three healthy generated small days ending SMALL_LAKE_END; faults are made by each test."""
    from flightdq.backends.local.backend import LocalBackend
    from flightdq.core.config import Settings
    from flightdq_dev.generator import generate_lake

    root = tmp_path / "lake"
    generate_lake(root, end=SMALL_LAKE_END, days=3, seed=11, size="small")
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(root))
    return LocalBackend(Settings.from_env())


def end_of(day: date) -> datetime:
    return datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
