"""The package's architecture, enforced: layers point one way, the product never imports the
development tools, and the frameworks stay in their layer (Airflow and its providers in
`flightdq.airflow` and the UI plugin, FastAPI/Starlette in the UI, PySpark in the Spark job). Every
import counts, including those inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INCLUDE = Path(__file__).resolve().parents[2] / "include"

# Lowest first. A module may import its own layer and the layers before it, never one after it.
# The entry points stand on top: the CLI and the UI plugin may use the Airflow layer's adapters (the
# notifiers, the AWS connection), which never import them; the CLI and the UI stay apart.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("storage",),
    ("etl",),
    ("backends",),
    ("checks",),  # drift's baseline is told the incident days by its caller
    ("incidents",),
    ("recovery",),
    ("airflow",),
    ("ui", "cli"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def layer_of(module: str) -> str | None:
    """`flightdq.checks.drift` -> `checks`; None for the package root itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def module_name(path: Path) -> str:
    rel = path.relative_to(INCLUDE).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "flightdq":  # `from flightdq import checks`
                found += [(node.lineno, f"flightdq.{alias.name}") for alias in node.names]
            else:
                found.append((node.lineno, node.module))
    return found


def upward_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path)
        own = layer_of(module)
        for line, imported in imports_of(path):
            if imported.startswith("flightdq_dev"):
                problems.append(f"{path.name}:{line} {module} imports the dev tools ({imported})")
                continue
            if not imported.startswith("flightdq.") or own is None:
                continue
            target = layer_of(imported)
            if target not in RANK or target == own:
                continue
            if RANK[target] >= RANK[own]:  # above, or a peer at the top (ui and cli stand apart)
                problems.append(f"{path.name}:{line} {module} ({own}) imports {imported} ({target})")
    return problems


# Which flightdq modules may import each framework (module-name prefixes); `flightdq_dev` (the dev
# tools: the emulator, the demo, the benchmark) and the DAG files may import what they need.
FRAMEWORKS: dict[str, tuple[str, ...]] = {
    "airflow": ("flightdq.airflow", "flightdq.ui"),  # the UI is an Airflow plugin (auth, the runs)
    "fastapi": ("flightdq.ui",),
    "starlette": ("flightdq.ui",),
    "pyspark": ("flightdq.etl.spark_job",),
}
# No exceptions: the AWS backend is given its connection (`AwsConnection`) by the entry point; the
# Airflow layer's (`flightdq.airflow.aws`) reads an Airflow connection through the provider's hooks.


def framework_imports(root: Path) -> list[str]:
    problems = []
    for path in sorted(root.rglob("*.py")):
        module = module_name(path)
        for line, imported in imports_of(path):
            framework = imported.split(".")[0]
            if framework not in FRAMEWORKS or module.startswith("flightdq_dev"):
                continue
            if not any(module == p or module.startswith(p + ".") for p in FRAMEWORKS[framework]):
                problems.append(f"{path.name}:{line} {module} imports {imported}")
    return problems


def test_frameworks_stay_in_their_layer():
    assert framework_imports(INCLUDE) == []


@pytest.mark.parametrize(
    ("module", "source", "caught"),
    [
        ("flightdq/incidents/bad.py", "def f():\n    from airflow.providers.slack.hooks import x\n", True),
        ("flightdq/checks/bad.py", "import airflow\n", True),
        ("flightdq/backends/aws/bad.py", "from airflow.providers.amazon.aws.hooks.s3 import S3Hook\n", True),
        ("flightdq/cli.py", "from airflow.sdk import Connection\n", True),
        ("flightdq/recovery/bad.py", "from fastapi import Request\n", True),
        ("flightdq/etl/transform2.py", "import pyspark.sql\n", True),
        ("flightdq/airflow/good.py", "from airflow.sdk import task\n", False),
        ("flightdq/ui/good.py", "from starlette.staticfiles import StaticFiles\n", False),
        ("flightdq_dev/good.py", "import airflow\n", False),
    ],
)
def test_the_framework_test_catches_a_framework_below_its_layer(tmp_path, module, source, caught):
    path = tmp_path / module
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(source)
    global INCLUDE
    real, INCLUDE = INCLUDE, tmp_path
    try:
        problems = framework_imports(tmp_path)
    finally:
        INCLUDE = real
    assert bool(problems) is caught, problems


def test_every_subpackage_has_a_layer():
    packages = {p.name for p in (INCLUDE / "flightdq").iterdir() if (p / "__init__.py").exists()}
    modules = {p.stem for p in (INCLUDE / "flightdq").glob("*.py") if p.stem != "__init__"}
    assert packages | modules == set(RANK), "add the new subpackage to LAYERS"


def test_layers_point_one_way():
    assert upward_imports(INCLUDE / "flightdq") == []


def test_the_backend_interface_does_not_import_its_implementations():
    imported = {name for _, name in imports_of(INCLUDE / "flightdq" / "backends" / "base.py")}
    assert not {n for n in imported if n.startswith(("flightdq.backends.local", "flightdq.backends.aws"))}


@pytest.mark.parametrize(
    ("package", "source", "expected"),
    [
        ("checks", "from flightdq.recovery.plan import plan_days\n", "imports flightdq.recovery.plan"),
        ("checks", "def f():\n    from flightdq.airflow import tasks\n", "imports flightdq.airflow"),
        ("checks", "import flightdq_dev.generator\n", "imports the dev tools"),
        ("airflow", "from flightdq.cli import main\n", "imports flightdq.cli"),
        ("ui", "from flightdq import cli\n", "imports flightdq.cli"),
        ("cli", "from flightdq.ui.app import create_app\n", "imports flightdq.ui.app"),
    ],
)
def test_the_layer_test_catches_an_upward_import(tmp_path, package, source, expected):
    fake = tmp_path / "flightdq" / package
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(source)
    global INCLUDE
    real, INCLUDE = INCLUDE, tmp_path
    try:
        problems = upward_imports(tmp_path / "flightdq")
    finally:
        INCLUDE = real
    assert len(problems) == 1 and expected in problems[0]
