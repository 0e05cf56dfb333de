"""The package's architecture, enforced: layers point one way, and the product never imports the
development tools. Every import counts, including those inside functions and under TYPE_CHECKING."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

INCLUDE = Path(__file__).resolve().parents[2] / "include"

# Lowest first. A module may import its own layer and the layers before it, never one after it.
LAYERS: list[tuple[str, ...]] = [
    ("core",),
    ("storage",),
    ("etl",),
    ("backends",),
    ("incidents",),
    ("checks",),
    ("recovery",),
    ("airflow", "ui", "cli"),
]
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}
# The one exception: `flightdq.etl.transform.run_local_etl`, the name the generator and the bench
# rebuild a local day by (job + the repair's publish), delegates to the repair (inside the function;
# the Glue job never runs it). To go once those callers call `flightdq.recovery.publish.rebuild_local`.
ALLOWED_UPWARD = {("flightdq.etl.transform", "flightdq.recovery.publish")}


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
            if (module, imported) in ALLOWED_UPWARD:
                continue
            if RANK[target] >= RANK[own]:  # above, or a peer at the top (airflow, ui, cli stand apart)
                problems.append(f"{path.name}:{line} {module} ({own}) imports {imported} ({target})")
    return problems


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
    ("source", "expected"),
    [
        ("from flightdq.recovery.plan import plan_days\n", "imports flightdq.recovery.plan"),
        ("def f():\n    from flightdq.airflow import tasks\n", "imports flightdq.airflow"),
        ("import flightdq_dev.generator\n", "imports the dev tools"),
    ],
)
def test_the_layer_test_catches_an_upward_import(tmp_path, source, expected):
    fake = tmp_path / "flightdq" / "checks"
    fake.mkdir(parents=True)
    (fake / "bad.py").write_text(source)
    global INCLUDE
    real, INCLUDE = INCLUDE, tmp_path
    try:
        problems = upward_imports(tmp_path / "flightdq")
    finally:
        INCLUDE = real
    assert len(problems) == 1 and expected in problems[0]
