"""The project as a built wheel: installed into a fresh venv, it finds its own expectation suite.

The wheel is built from a copy of the sources in a temporary folder (the build writes build/ and
*.egg-info next to the sources), without build isolation: the venv's own setuptools, pinned in
requirements.txt, so nothing is downloaded. The fresh venv gets the wheel alone; the third-party
packages already installed here are made visible to it by a .pth file naming their site-packages
folders. A .pth line only adds a folder to sys.path: the .pth files inside that folder (such as an
editable install of flightdq) are not processed, so the fresh venv imports the wheel's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from datetime import date
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
# What the build reads: pyproject.toml names README.md; setup.py finds the packages.
BUILD_INPUTS = ["pyproject.toml", "setup.py", "README.md", "include", "expectations"]
END = date(2026, 3, 10)


def _dependency_folders() -> list[str]:
    """The site-packages folders this interpreter imports third-party packages from."""
    paths = sysconfig.get_paths()
    folders = [paths["purelib"], paths["platlib"]]
    folders += [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages")]
    return [f for f in dict.fromkeys(folders) if Path(f).is_dir()]


def _run(args: list, *, cwd: Path, env: dict | None = None, timeout: int = 120):
    done = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, f"{args}\n{done.stdout}\n{done.stderr}"
    return done


def _require_offline_build() -> None:
    import setuptools

    major, minor = (int(p) for p in setuptools.__version__.split(".")[:2])
    # Older ones need the `wheel` package for bdist_wheel; requirements.txt pins a newer one.
    assert (major, minor) >= (70, 1), f"setuptools {setuptools.__version__}: run `make install` first"


def test_the_wheel_ships_the_suite_and_validates_from_a_fresh_venv(tmp_path: Path):
    _require_offline_build()
    source = tmp_path / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in BUILD_INPUTS:
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)

    wheels = tmp_path / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input"]
    _run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], cwd=tmp_path)
    (wheel,) = wheels.glob("flightdq-*.whl")

    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv], cwd=tmp_path)
    python = venv / "bin" / "python"
    _run([*pip, "--python", python, "install", "--no-deps", "--no-index", wheel], cwd=tmp_path)
    site_packages = Path(
        _run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], cwd=tmp_path
        ).stdout.strip()
    )
    (site_packages / "_flightdq_test_dependencies.pth").write_text("\n".join(_dependency_folders()) + "\n")

    work = tmp_path / "cwd"  # not the repository: nothing may be found relative to it
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env.update(GX_ANALYTICS_ENABLED="False", FLIGHTDQ_LAKE=str(tmp_path / "lake"))
    env.pop("FLIGHTDQ_BACKEND", None)
    env.pop("FLIGHTDQ_POLICY", None)

    probe = _run(
        [
            python,
            "-c",
            "import json, flightdq, flightdq.checks.gx_validation as g;"
            "print(json.dumps([flightdq.__file__, str(g.default_suite_path())]))",
        ],
        cwd=work,
        env=env,
    )
    package_file, suite_file = (Path(p) for p in json.loads(probe.stdout))
    assert package_file.is_relative_to(site_packages), package_file
    assert suite_file == site_packages / "flightdq" / "expectations" / "flightdata_processed.json"
    assert suite_file.read_bytes() == (REPO / "expectations" / "flightdata_processed.json").read_bytes()

    flightdq = venv / "bin" / "flightdq"
    generate = ["generate", "--days", 1, "--end", END, "--size", "small", "--no-faults"]
    _run([venv / "bin" / "flightdq-dev", *generate], cwd=work, env=env)
    validate = ["validate", "--date", END, "--json", "--no-record"]
    validate += ["--check", "schema_validity", "--dataset", "flightdata_processed"]
    # Exit 1 with status "error" is what a suite not found gives; the generated lake is healthy.
    done = _run([flightdq, *validate], cwd=work, env=env)
    (result,) = json.loads(done.stdout)["results"]
    assert (result["check"], result["dataset"]) == ("schema_validity", "flightdata_processed")
    assert result["status"] == "pass", result
