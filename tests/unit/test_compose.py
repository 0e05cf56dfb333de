"""docker-compose.yaml, its Dockerfile and .env, and scripts/airflow: they parse, and their mounts,
commands, image and environment match the repository.

No Docker is needed: the file is read with PyYAML (merge keys included), the Dockerfile as text, and
the facts that matter are checked on the file as written: the services and their healthchecks, the
variables it reads (each documented in .env.example), which of them are required and which have a
default. Compose's own interpolation is not re-implemented here: when a `docker compose` client is
installed, `docker compose config` must accept the file.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yaml"
DOCKERFILE = REPO / "Dockerfile"
ENV_EXAMPLE = REPO / ".env.example"
RUNTIME_REQUIREMENTS = REPO / "requirements-runtime.txt"
# requirements.txt's pins that only the tests and development use; the image gets none of them
TEST_TOOLS = {"pytest", "pytest-xdist", "hypothesis", "moto", "ruff", "setuptools", "playwright", "pyspark"}
AIRFLOW_HOME = PurePosixPath("/opt/airflow")
COMPONENTS = {  # service -> the Airflow command it runs
    "airflow-apiserver": "api-server",
    "airflow-scheduler": "scheduler",
    "airflow-dag-processor": "dag-processor",
    "airflow-triggerer": "triggerer",
}
RUNTIME_DIRS = (".airflow-docker/logs", ".airflow-docker/config", "lake")  # made at run time, gitignored
# A variable compose reads: ${NAME}, ${NAME:-default}, ${NAME:?error}...; `$${...}` is an escaped
# dollar (the shell's, inside a command), not a variable.
VARIABLE = re.compile(r"(?<!\$)\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def variable(raw: object) -> re.Match:
    """A value that is exactly one `${NAME...}`, as written (its name, `op` and `arg`)."""
    match = VARIABLE.fullmatch(str(raw))
    assert match, f"{raw!r} is not one ${{...}} variable"
    return match


def dotenv(path: Path) -> dict[str, str]:
    """The NAME=value lines of an .env file (comments and blank lines skipped)."""
    found = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, sep, value = line.partition("=")
            assert sep, f"{path.name}: not NAME=value: {line!r}"
            found[name.strip()] = value.strip()
    return found


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
    """A service's environment as written in the file (variables not substituted)."""
    return {k: str(v) for k, v in (service.get("environment") or {}).items()}


def pins(path: Path) -> dict[str, str]:
    """normalized name (no extras) -> version of a requirements file's `name==version` lines."""
    found = {}
    for line in path.read_text().splitlines():
        requirement = line.split("#")[0].strip()
        if not requirement or requirement.startswith("-"):
            continue
        name, sep, version = requirement.partition("==")
        assert sep, f"{path.name}: {requirement!r} is not pinned with =="
        found[re.sub(r"[-_.]+", "-", name.split("[")[0].strip()).lower()] = version.strip()  # PEP 503
    return found


def init_script(compose: dict) -> str:
    command = compose["services"]["airflow-init"]["command"]
    return command if isinstance(command, str) else command[-1]  # bash -c SCRIPT


def compose_variables() -> set[str]:
    """Every variable docker-compose.yaml interpolates (comments included: they quote real ones)."""
    return {m["name"] for m in VARIABLE.finditer(COMPOSE.read_text())}


def requirement_version(package: str) -> str:
    version = pins(REPO / "requirements.txt").get(package)
    assert version, f"{package} is not pinned in requirements.txt"
    return version


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
    assert init["user"] == "0:0"  # to create and chown the mounted folders


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


def test_every_airflow_service_runs_the_one_image_built_from_the_dockerfile(compose):
    images = set()
    for name, svc in airflow_services(compose).items():
        build = svc.get("build")
        assert build, f"{name} does not build the image"
        context, dockerfile = (
            (build, "Dockerfile") if isinstance(build, str) else (build["context"], build["dockerfile"])
        )
        assert (REPO / context / dockerfile).resolve() == DOCKERFILE, name
        images.add(svc["image"])
    (image,) = images  # one image for every service
    default = variable(image)
    assert default["op"] == ":-" and default["arg"], image
    assert not default["arg"].startswith("apache/airflow"), (
        "the built image must not pose as the official one"
    )


def test_nothing_is_installed_when_a_container_starts(compose):
    for name, svc in airflow_services(compose).items():
        assert environment(svc).get("_PIP_ADDITIONAL_REQUIREMENTS", "") == "", name
        mounted = mounts(svc)
        for requirements in ("requirements.txt", "constraints.txt", "requirements-runtime.txt"):
            assert requirements not in mounted.values(), f"{name} mounts {requirements}"
        command = svc.get("command") or ""
        command = command if isinstance(command, str) else " ".join(map(str, command))
        assert "pip install" not in command, name


def test_the_dockerfile_is_the_airflow_and_python_of_the_repository():
    lines = [
        line.strip() for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")
    ]
    froms = [line.split()[1] for line in lines if line.upper().startswith("FROM ")]
    assert froms == [f"apache/airflow:{requirement_version('apache-airflow')}-python3.11"]
    assert 'requires-python = ">=3.11,<3.12"' in (REPO / "pyproject.toml").read_text()
    text = " ".join(lines)
    assert re.search(r"pip install [^&]*-r \S*requirements-runtime\.txt -c \S*constraints\.txt", text), text
    assert "pip check" in text
    assert re.search(r"pip install [^&]*--no-deps \S*/src\b", text), "the flightdq package is not installed"
    assert not re.search(r"-r \S*/requirements\.txt", text), "the image must not install the test tools"
    for copied in (
        "requirements-runtime.txt",
        "constraints.txt",
        "include",
        "expectations",
        "dags",
        "plugins",
    ):
        assert copied in text, copied
    for ignored in (".venv", ".env", "lake", ".airflow"):
        assert ignored in (REPO / ".dockerignore").read_text().split(), f".dockerignore lacks {ignored}"


def test_runtime_requirements_are_the_pins_without_the_test_tools():
    runtime, everything = pins(RUNTIME_REQUIREMENTS), pins(REPO / "requirements.txt")
    constraints = pins(REPO / "constraints.txt")
    assert not TEST_TOOLS & set(runtime), f"test tools in the image: {TEST_TOOLS & set(runtime)}"
    for name, version in runtime.items():
        assert everything.get(name) == version, f"{name}=={version} differs from requirements.txt"
        assert constraints.get(name) == version, f"{name}=={version} differs from constraints.txt"
    missing = set(everything) - TEST_TOOLS - set(runtime)
    assert not missing, f"pinned in requirements.txt but not in requirements-runtime.txt: {missing}"
    assert runtime["apache-airflow"] == requirement_version("apache-airflow")


def test_settings_come_from_a_gitignored_env_file(compose):
    for name, svc in airflow_services(compose).items():
        env_files = svc.get("env_file")
        env_files = [env_files] if isinstance(env_files, str | dict) else env_files or []
        paths = [f["path"] if isinstance(f, dict) else f for f in env_files]
        assert ".env" in paths, f"{name} does not read .env"
    assert _ignored_file(".env"), ".env holds secrets and must be gitignored"
    assert not _ignored_file(".env.example")
    assert ENV_EXAMPLE.is_file()


def test_env_example_documents_every_variable_compose_reads():
    documented = dotenv(ENV_EXAMPLE)
    missing = compose_variables() - set(documented)
    assert not missing, f"docker-compose.yaml reads {sorted(missing)}, which .env.example does not set"
    for name in ("AWS_DEFAULT_REGION", "FLIGHTDQ_BACKEND", "AIRFLOW_CONN_AWS_DEFAULT", "AIRFLOW_UID"):
        assert name in documented, name
    text = ENV_EXAMPLE.read_text()
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AIRFLOW_CONN_SLACK_FLIGHTDQ",
    ):
        assert f"# {name}=" in text, f"{name} is not explained (commented out) in .env.example"
    # no secret is committed: the key and the credentials are empty or commented out
    assert documented["AIRFLOW__CORE__FERNET_KEY"] == ""
    assert not re.search(r"^AWS_(SECRET_ACCESS_KEY|ACCESS_KEY_ID|SESSION_TOKEN)=\S", text, re.MULTILINE)


def test_compose_refuses_to_start_without_a_fernet_key(compose):
    """Required (`:?`: unset or empty stops compose, with the message), and not committed: .env.example
    leaves it empty for `make compose-env` to fill."""
    for name, svc in airflow_services(compose).items():
        key = variable(svc["environment"]["AIRFLOW__CORE__FERNET_KEY"])
        assert key["name"] == "AIRFLOW__CORE__FERNET_KEY" and key["op"] == ":?" and key["arg"], name
    assert dotenv(ENV_EXAMPLE)["AIRFLOW__CORE__FERNET_KEY"] == ""


def test_make_compose_env_writes_a_fresh_fernet_key_and_never_overwrites(tmp_path):
    from cryptography.fernet import Fernet

    for name in ("Makefile", ".env.example"):
        shutil.copy(REPO / name, tmp_path / name)
    make = ["make", "-s", "-C", str(tmp_path), "compose-env", f"PYTHON={sys.executable}"]
    done = subprocess.run(make, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    written = dotenv(tmp_path / ".env")
    key = written["AIRFLOW__CORE__FERNET_KEY"]
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"ok")) == b"ok"
    assert written["AIRFLOW_UID"] == str(os.getuid())
    assert stat.S_IMODE((tmp_path / ".env").stat().st_mode) == 0o600
    assert set(written) == set(dotenv(ENV_EXAMPLE))
    again = subprocess.run(make, capture_output=True, text=True, check=False)
    assert again.returncode == 0, again.stderr
    assert dotenv(tmp_path / ".env")["AIRFLOW__CORE__FERNET_KEY"] == key


def test_init_migrates_once_fails_loudly_then_makes_the_pool(compose):
    init = compose["services"]["airflow-init"]
    script = init_script(compose)
    first = next(line.strip() for line in script.splitlines() if line.strip())
    assert re.fullmatch(r"set -e\S*( -o pipefail)?|set -euo pipefail", first), first
    assert script.count("airflow db migrate") == 1
    assert "|| true" not in script and "|| :" not in script and "set +e" not in script
    # the image's entrypoint wraps the script once (root's PYTHONPATH, waiting for Postgres) and is
    # not called again inside it; and it must not migrate itself (its `migrate || true` hides failures)
    assert "entrypoint" not in init and init["command"][0] == "bash"
    assert "/entrypoint" not in script
    for name, svc in airflow_services(compose).items():
        env = environment(svc)
        assert "_AIRFLOW_DB_MIGRATE" not in env and "_AIRFLOW_DB_UPGRADE" not in env, name
    order = [script.index(step) for step in ("airflow db migrate", "python -m flightdq.airflow.pools")]
    assert order == sorted(order), "the pool is created after the migration"
    assert script.rstrip().splitlines()[-1].strip().startswith("echo")  # reached only when all succeeded


def test_the_pool_command_init_runs_is_a_module_of_the_package():
    import importlib.util

    spec = importlib.util.find_spec("flightdq.airflow.pools")
    assert spec is not None and spec.origin and spec.origin.startswith(str(REPO / "include")), spec


def test_backend_comes_from_the_environment(compose):
    from flightdq.core.config import BACKENDS

    for name, svc in airflow_services(compose).items():
        backend = variable(svc["environment"]["FLIGHTDQ_BACKEND"])
        assert backend["name"] == "FLIGHTDQ_BACKEND" and backend["op"] == ":-", name  # .env may set it
        assert backend["arg"] == "local" and backend["arg"] in BACKENDS, name  # the default
        connection = variable(svc["environment"]["AIRFLOW_CONN_AWS_DEFAULT"])
        assert connection["op"] == ":-" and connection["arg"].startswith("aws://"), name
    assert dotenv(ENV_EXAMPLE)["FLIGHTDQ_BACKEND"] in BACKENDS


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


def test_scripts_airflow_has_the_makefiles_settings():
    wrapper = REPO / "scripts" / "airflow"
    assert os.access(wrapper, os.X_OK), "scripts/airflow is not executable"
    text = wrapper.read_text()
    exported = re.findall(r"^export (\w+)", (REPO / "Makefile").read_text(), re.MULTILINE)
    assert "AIRFLOW_HOME" in exported
    for name in exported:
        assert re.search(rf"^export {name}=", text, re.MULTILINE), f"scripts/airflow does not set {name}"
    assert 'export AIRFLOW_HOME="${AIRFLOW_HOME:-$ROOT/.airflow}"' in text
    assert 'export FLIGHTDQ_LAKE="${FLIGHTDQ_LAKE:-$ROOT/lake}"' in text
    assert 'exec "$AIRFLOW_BIN" "$@"' in text
    assert "db migrate" in text


def _ignored_file(path: str) -> bool:
    done = subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO, capture_output=True, check=False)
    if done.returncode in (0, 1):
        return done.returncode == 0
    return path in (REPO / ".gitignore").read_text().split()  # not a git checkout


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
