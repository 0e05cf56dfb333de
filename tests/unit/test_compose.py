"""docker-compose.yaml: it parses, and its mounts, commands and environment match the repository.

No Docker is needed: the file is read with PyYAML (merge keys included). When a `docker compose`
client is installed, `docker compose config` must accept the file too.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
AIRFLOW_HOME = PurePosixPath("/opt/airflow")
COMPONENTS = {  # service -> the Airflow command it runs
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
RUNTIME_DIRS = (".airflow-docker/logs", ".airflow-docker/config", "lake")  # made at run time, gitignored
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def interpolate(value: str, env: dict[str, str] | None = None) -> str:
    """Compose's `${NAME:-default}` with an empty environment (what a fresh clone gets)."""
    env = env or {}
    return INTERPOLATION.sub(lambda m: env.get(m["name"]) or (m["default"] or ""), str(value))


def airflow_services(compose: dict) -> dict[str, dict]:
    return {name: svc for name, svc in compose["services"].items() if name.startswith("airflow-")}


def mounts(service: dict) -> dict[str, str]:
    """container path -> host path (relative to the repository) of the bind mounts."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        if source.startswith("./"):
            found[target] = source.removeprefix("./")
    return found


def environment(service: dict) -> dict[str, str]:
    return {k: interpolate(v) for k, v in (service.get("environment") or {}).items()}


def requirement_version(package: str) -> str:
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name.split("[")[0].lower() == package:
            return version
    raise AssertionError(f"{package} is not pinned in requirements.txt")


def test_it_has_the_official_shape(compose):
    services = compose["services"]
    for name in ("postgres", "airflow-init", *COMPONENTS):
        assert name in services, name
    assert "x-airflow-common" in compose
    for name, command in COMPONENTS.items():
        svc = services[name]
        assert svc["command"] == command, name
        assert svc.get("healthcheck"), f"{name} has no healthcheck"
        depends = svc["depends_on"]
        assert depends["postgres"]["condition"] == "service_healthy"
        assert depends["airflow-init"]["condition"] == "service_completed_successfully"
    assert "redis" not in services  # LocalExecutor: no broker, no Celery workers
    init = services["airflow-init"]
    assert environment(init)["_AIRFLOW_DB_MIGRATE"] == "true"
    assert init["user"] == "0:0"


def test_postgres_is_the_metadata_database(compose):
    for name, svc in airflow_services(compose).items():
        conn = environment(svc)["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
        assert conn.startswith("postgresql+psycopg2://"), name
        assert "@postgres/" in conn, name
        assert svc["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_every_mounted_host_path_exists_and_lands_where_the_code_looks(compose):
    for name, svc in airflow_services(compose).items():
        mounted = mounts(svc)
        for source in mounted.values():
            if source in RUNTIME_DIRS:
                assert _ignored(source), f"{name}: {source} is created at run time and must be gitignored"
                continue
            assert (REPO / source).exists(), f"{name} mounts ./{source}, which is not in the repository"
        assert mounted[str(AIRFLOW_HOME / "dags")] == "dags", name
        assert mounted[str(AIRFLOW_HOME / "plugins")] == "plugins", name
        assert mounted[str(AIRFLOW_HOME / "include")] == "include", name
        # flightdq finds the suite and the default lake beside include/ (flightdq.core.config.PROJECT_ROOT)
        project_root = PurePosixPath(AIRFLOW_HOME / "include" / "flightdq" / "config.py").parents[2]
        assert mounted[str(project_root / "expectations")] == "expectations", name
        env = environment(svc)
        assert env["PYTHONPATH"].split(":")[0] == str(AIRFLOW_HOME / "include"), name
        assert mounted[env["FLIGHTDQ_LAKE"]] == "lake", name
        assert PurePosixPath(env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]).parent == (
            AIRFLOW_HOME / "config"
        )
        assert str(AIRFLOW_HOME / "config") in mounted, f"{name}: the login must survive restarts"
    assert (REPO / "plugins" / "flightdq_plugin.py").is_file()
    assert list((REPO / "dags").glob("flightdq_*.py"))


def test_requirements_are_installed_with_their_constraints(compose):
    for name, svc in airflow_services(compose).items():
        mounted = mounts(svc)
        extra = environment(svc)["_PIP_ADDITIONAL_REQUIREMENTS"].split()
        assert extra[:2] == ["-r", str(AIRFLOW_HOME / "requirements.txt")], name
        assert extra[2:4] == ["-c", str(AIRFLOW_HOME / "constraints.txt")], name
        assert mounted[str(AIRFLOW_HOME / "requirements.txt")] == "requirements.txt"
        assert mounted[str(AIRFLOW_HOME / "constraints.txt")] == "constraints.txt"


def test_the_image_is_the_airflow_and_python_of_the_repository(compose):
    image = interpolate(compose["x-airflow-common"]["image"])
    assert image == f"apache/airflow:{requirement_version('apache-airflow')}-python3.11"
    assert 'requires-python = ">=3.11,<3.12"' in (REPO / "pyproject.toml").read_text()


def test_backend_comes_from_the_environment(compose):
    from flightdq.core.config import BACKENDS

    for name, svc in airflow_services(compose).items():
        raw = svc["environment"]["FLIGHTDQ_BACKEND"]
        assert INTERPOLATION.fullmatch(raw) and INTERPOLATION.fullmatch(raw)["name"] == "FLIGHTDQ_BACKEND"
        assert interpolate(raw) == "local", name
        assert interpolate(raw, {"FLIGHTDQ_BACKEND": "aws"}) == "aws"
        assert interpolate(raw) in BACKENDS
        assert environment(svc)["AIRFLOW_CONN_AWS_DEFAULT"].startswith("aws://"), name


def test_login_is_real_and_components_share_one_config(compose):
    for name, svc in airflow_services(compose).items():
        env = environment(svc)
        assert env["AIRFLOW__CORE__AUTH_MANAGER"].endswith("simple_auth_manager.SimpleAuthManager")
        assert env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS"].lower() == "false", name
        assert env["AIRFLOW_CONFIG"] == str(AIRFLOW_HOME / "config" / "airflow.cfg"), name
        assert "AIRFLOW__API_AUTH__JWT_SECRET" not in env  # an empty one would differ per process
        api = env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
        assert api == "http://airflow-apiserver:8080/execution/", name
    script = "\n".join(compose["services"]["airflow-init"]["command"])
    assert "simple_auth_manager_passwords.json" in script
    assert "airflow config list" in script
    assert "flightdq_dev.cli generate" in script  # the sample lake, when ./lake is empty


def test_published_ports_bind_127_0_0_1_only(compose):
    published = []
    for name, svc in compose["services"].items():
        for port in svc.get("ports", []):
            published.append(name)
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond 127.0.0.1"
    assert "airflow-apiserver" in published
    api_port = compose["services"]["airflow-apiserver"]["ports"][0].split(":")
    assert api_port[2] == "8080"


def test_docker_compose_accepts_it():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no `docker compose` plugin")
    done = subprocess.run(
        [docker, "compose", "-f", str(COMPOSE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr


def _ignored(path: str) -> bool:
    """Whether git ignores the folder `path`, even before it exists (a clean clone has no lake/):
    asked with a trailing slash, git matches directory patterns such as `lake/`."""
    done = subprocess.run(
        ["git", "check-ignore", "-q", path.rstrip("/") + "/"],
        cwd=REPO,
        capture_output=True,
        check=False,
        text=True,
    )
    if done.returncode in (0, 1):
        return done.returncode == 0
    patterns = (REPO / ".gitignore").read_text().split()  # not a git checkout: read .gitignore
    return any(path.split("/")[0] + "/" == p or path + "/" == p for p in patterns)
