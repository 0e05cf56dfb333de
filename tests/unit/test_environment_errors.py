"""An error of the environment is never evidence about the data (issue 19): a folder that cannot be
listed, a folder that is not a lake, missing AWS credentials, an alerts path that is a folder, a
locked catalog, a full disk, a policy file that is a bomb. Each is exit 2 with one line naming it,
never a verdict, a P0 or an alert; nothing is written into a folder that is not a lake."""

from __future__ import annotations

import ctypes
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from test_cli import run

from conftest import REPO, SMALL_LAKE_END, valid_rows

FLIGHTDQ = [sys.executable, "-m", "flightdq.cli"]
AS_OF = "2026-11-26T02:00:00Z"
DAY = SMALL_LAKE_END
_PR_CAPBSET_DROP, _CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 24, 1, 2


def _without_dac_override() -> None:
    """In the child, before exec: root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH is held to
    the permission bits like anyone else (its own files stay readable through their owner bits)."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def cli(*args: str, env: dict[str, str], unprivileged: bool = False, timeout: float = 120):
    return subprocess.run(
        [*FLIGHTDQ, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        preexec_fn=_without_dac_override if unprivileged and os.geteuid() == 0 else None,
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> Path:
    from flightdq_dev.generator import generate_lake

    root = tmp_path_factory.mktemp("generated") / "lake"
    generate_lake(root, end=SMALL_LAKE_END, days=3, seed=11, size="small")
    return root


@pytest.fixture
def lake_copy(generated: Path, tmp_path: Path) -> Path:
    root = tmp_path / "lake"
    shutil.copytree(generated, root, symlinks=True)
    return root


@pytest.fixture
def unprivileged_ok() -> None:
    if os.geteuid() == 0:
        try:
            subprocess.run(["true"], preexec_fn=_without_dac_override, check=True)
        except (OSError, subprocess.SubprocessError) as exc:
            pytest.skip(f"cannot drop CAP_DAC_OVERRIDE here ({exc}): root would read a chmod 000 folder")


# --- permission denied -----------------------------------------------------------------------------
def test_an_unreadable_raw_hour_folder_is_an_environment_error_not_data_loss(lake_copy, unprivileged_ok):
    hour = lake_copy / "flightdata-raw/year=2026/month=11/day=25/hour=05"
    assert hour.is_dir()
    hour.chmod(0)
    env = {"FLIGHTDQ_LAKE": str(lake_copy), "FLIGHTDQ_ALERTS_FILE": str(lake_copy.parent / "alerts.jsonl")}
    try:
        checked = cli("validate", "--date", str(DAY), "--as-of", AS_OF, env=env, unprivileged=True)
        repaired = cli("remediate", "--date", str(DAY), "--as-of", AS_OF, env=env, unprivileged=True)
    finally:
        hour.chmod(0o755)
    for done in (checked, repaired):
        assert done.returncode == 2, done.stdout + done.stderr
        assert str(hour) in one_line(done.stderr)
        assert "P0" not in done.stdout
    assert not (lake_copy.parent / "alerts.jsonl").exists()  # no alert went out
    incidents = [p for p in lake_copy.rglob("*") if "incident" in p.name and p.is_file()]
    assert not [p for p in incidents if b'"P0"' in p.read_bytes()]


def test_an_unreadable_processed_partition_folder_is_an_environment_error(lake_copy, unprivileged_ok):
    folder = lake_copy / f"flightdata-processed/flightdata_processed/dt={DAY}"
    assert folder.is_dir()
    folder.chmod(0)
    try:
        done = cli(
            "validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record",
            env={"FLIGHTDQ_LAKE": str(lake_copy)}, unprivileged=True,
        )  # fmt: skip
    finally:
        folder.chmod(0o755)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(folder) in one_line(done.stderr)
    assert "no files" not in done.stdout and "no flights" not in done.stdout


def test_an_unreadable_processed_file_is_an_environment_error_not_a_broken_file(lake_copy, unprivileged_ok):
    folder = lake_copy / f"flightdata-processed/flightdata_processed/dt={DAY}"
    data_file = sorted(folder.glob("*.parquet"))[0]
    data_file.chmod(0)
    try:
        done = cli(
            "validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record",
            env={"FLIGHTDQ_LAKE": str(lake_copy)}, unprivileged=True,
        )  # fmt: skip
    finally:
        data_file.chmod(0o644)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(data_file) in one_line(done.stderr)


def test_an_unreadable_records_folder_is_an_environment_error_not_no_records(
    lake_copy, unprivileged_ok, monkeypatch
):
    from flightdq.backends.local.backend import LocalBackend
    from flightdq.core.config import Settings
    from flightdq.incidents.store import IncidentStore
    from flightdq.recovery.execute import remediate

    monkeypatch.setenv("FLIGHTDQ_LAKE", str(lake_copy))
    monkeypatch.setenv("FLIGHTDQ_ALERTS_FILE", str(lake_copy.parent / "alerts.jsonl"))
    raw_hour = lake_copy / f"flightdata-raw/year={DAY:%Y}/month={DAY:%m}/day={DAY:%d}/hour=04"
    shutil.rmtree(raw_hour)  # data loss: an incident stays open
    backend = LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(lake_copy)}))
    remediate(backend, [DAY], end_of_day(DAY), dry_run=False, run_id="setup")  # leaves records
    assert IncidentStore(backend.blobs).list()
    events = lake_copy / "flightdq-incidents"
    events.chmod(0)
    try:
        done = cli("incident", "list", "--all", env={"FLIGHTDQ_LAKE": str(lake_copy)}, unprivileged=True)
    finally:
        events.chmod(0o755)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(events) in one_line(done.stderr)


def end_of_day(day):
    from conftest import end_of

    return end_of(day)


@pytest.mark.parametrize("raise_errors", [False, True], ids=["cli-and-remediation", "dag-task"])
def test_a_raw_hour_folder_that_cannot_be_listed_ends_the_run_instead_of_judging_the_day(
    lake, backend, raise_errors
):
    """An hour folder that is a symlink loop cannot be listed (ELOOP, a real OS error, where root's
    permissions cannot stand in): the checks raise the environment's error whether confined (the
    CLI, remediation) or not (a DAG's check task, which then fails: monitoring blind). Never a
    result, so never a P0."""
    from conftest import end_of
    from flightdq.checks.runner import run_checks
    from flightdq.core.dates import InputError

    lake.healthy_day(DAY)
    hour = lake.root / f"flightdata-raw/year={DAY:%Y}/month={DAY:%m}/day={DAY:%d}/hour=05"
    shutil.rmtree(hour)
    hour.symlink_to(hour)
    with pytest.raises(InputError, match=str(hour)) as raised:  # the CLI's exit 2
        run_checks(
            [DAY],
            end_of(DAY),
            checks=["partition_presence"],
            backend=backend,
            record=False,
            raise_errors=raise_errors,
        )
    from flightdq.core.errors import EnvironmentFault

    assert isinstance(raised.value, EnvironmentFault)


# --- a lake is recognised, not assumed ---------------------------------------------------------------
@pytest.mark.parametrize("command", [["validate"], ["remediate"], ["catalog", "repair"]])
def test_a_folder_that_is_not_a_lake_is_refused_before_anything_is_made_in_it(tmp_path, command):
    foreign = tmp_path / "not-a-lake"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("somebody's files\n")
    args = [*command, "--date", "2026-11-25"] + (["--as-of", AS_OF] if command[0] != "catalog" else [])
    done = cli(*args, env={"FLIGHTDQ_LAKE": str(foreign)})
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(foreign) in one_line(done.stderr)
    assert sorted(p.name for p in foreign.iterdir()) == ["notes.txt"]
    assert "P0" not in done.stdout


def test_generate_still_makes_a_lake_in_an_empty_folder(tmp_path):
    from flightdq.backends.local.backend import is_lake
    from flightdq_dev.generator import generate_lake

    root = tmp_path / "new"
    root.mkdir()
    generate_lake(root, end=SMALL_LAKE_END, days=1, seed=3, size="small")
    assert is_lake(root)


# --- environment errors exit 2 with one line ---------------------------------------------------------
def test_aws_without_credentials_is_one_line_exit_2(tmp_path):
    empty = tmp_path / "empty-aws"
    empty.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "FLIGHTDQ_BACKEND": "aws",
        "AWS_CONFIG_FILE": str(empty),
        "AWS_SHARED_CREDENTIALS_FILE": str(empty),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    done = subprocess.run(
        [*FLIGHTDQ, "validate", "--date", "2026-11-25", "--as-of", AS_OF, "--no-record"],
        env=env, capture_output=True, text=True, timeout=120, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert "credentials" in done.stderr.strip().splitlines()[-1]


def test_an_alerts_path_that_is_a_folder_is_refused_before_anything_is_repaired(lake_copy, tmp_path):
    shutil.rmtree(lake_copy / f"flightdata-processed/flightdata_processed/dt={DAY}")
    folder = tmp_path / "alerts"
    folder.mkdir()
    env = {"FLIGHTDQ_LAKE": str(lake_copy), "FLIGHTDQ_ALERTS_FILE": str(folder)}
    done = cli("remediate", "--date", str(DAY), "--as-of", AS_OF, env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert str(folder) in one_line(done.stderr)
    assert not (lake_copy / f"flightdata-processed/flightdata_processed/dt={DAY}").exists()


def test_a_locked_catalog_is_said_after_a_bounded_wait(lake):
    from flightdq.backends.local.catalog import CATALOG_FILE, LocalCatalog

    lake.write_partition(DAY, valid_rows(DAY, 5), register=False)
    LocalCatalog(lake.root).registered("flightdata_processed")  # the catalog exists
    holder = sqlite3.connect(lake.root / CATALOG_FILE, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        started = time.monotonic()
        done = cli(
            "catalog",
            "repair",
            env={"FLIGHTDQ_LAKE": str(lake.root), "FLIGHTDQ_CATALOG_TIMEOUT": "1"},
            timeout=25,
        )
        took = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert done.returncode == 2, done.stdout + done.stderr
    assert CATALOG_FILE.split("/")[-1] in one_line(done.stderr)
    assert took < 20


_CLAIM_ON_A_FULL_DISK = """
import os, resource, signal, sys
from flightdq.backends.local.catalog import LocalCatalog
from flightdq.storage.blobstore import StorageError
catalog = LocalCatalog(sys.argv[1])
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal: the file system is full
limit = int(sys.argv[2])
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
try:
    catalog.claim_etl_run("2026-11-25", "run-on-a-full-disk", os.getpid())
except StorageError as exc:
    print("StorageError", exc)
    sys.exit(2)
"""


def test_a_full_disk_inside_the_etl_claim_is_a_storage_error(lake):
    """The claim's write-ahead log cannot grow (RLIMIT_FSIZE: the kernel refuses the write, EFBIG):
    SQLite rolls the transaction back itself, and the claim must say so, not fail its own ROLLBACK."""
    from flightdq.backends.local.catalog import LocalCatalog

    catalog = LocalCatalog(lake.root)
    catalog.registered("flightdata_processed")
    holder = sqlite3.connect(catalog.path, isolation_level=None)  # keeps the log from being reset
    holder.execute("PRAGMA wal_autocheckpoint=0")
    holder.execute("CREATE TABLE filler (x BLOB)")
    holder.execute("INSERT INTO filler VALUES (zeroblob(100000))")
    log_size = Path(f"{catalog.path}-wal").stat().st_size
    try:
        done = subprocess.run(
            [sys.executable, "-c", _CLAIM_ON_A_FULL_DISK, str(lake.root), str(log_size)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    finally:
        holder.close()
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(catalog.path) in done.stdout


BOMB = """\
validation:
  max_range_days: [&a [x, x, x, x, x, x, x, x, x], &b [*a, *a, *a, *a, *a, *a, *a, *a, *a],
    &c [*b, *b, *b, *b, *b, *b, *b, *b, *b], &d [*c, *c, *c, *c, *c, *c, *c, *c, *c],
    &e [*d, *d, *d, *d, *d, *d, *d, *d, *d], &f [*e, *e, *e, *e, *e, *e, *e, *e, *e],
    &g [*f, *f, *f, *f, *f, *f, *f, *f, *f], &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]]
"""


def test_a_yaml_alias_bomb_is_refused_fast_in_one_line(tmp_path):
    policy = tmp_path / "bomb.yaml"
    policy.write_text(BOMB)
    started = time.monotonic()
    try:
        done = cli("validate", "--date", "2026-11-25", env={"FLIGHTDQ_POLICY": str(policy)}, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("the policy loader expanded the alias bomb")
    assert done.returncode == 2, done.stderr[-2000:]
    assert str(policy) in one_line(done.stderr)
    assert time.monotonic() - started < 20


def test_an_oversize_policy_file_is_refused(tmp_path):
    from flightdq.core.config import ConfigError, load_policy

    policy = tmp_path / "huge.yaml"
    policy.write_text("# padding\n" * 200_000)
    with pytest.raises(ConfigError, match=str(policy)):
        load_policy(policy)


# --- minor ---------------------------------------------------------------------------------------------
def test_a_check_given_twice_runs_once(lake, capsys):
    lake.healthy_day(DAY)
    _, out, _ = run(
        capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--json", "--no-record",
        "--check", "freshness", "--check", "freshness",
    )  # fmt: skip
    import json

    results = json.loads(out)["results"]
    keys = [(r["dataset"], r["dt"], r["check"]) for r in results]
    assert keys and len(keys) == len(set(keys)), keys


def test_a_check_on_a_dataset_it_does_not_run_on_is_a_usage_error(lake, capsys):
    lake.healthy_day(DAY)
    code, out, err = run(
        capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record",
        "--dataset", "flightdata_raw", "--check", "duplicates",
    )  # fmt: skip
    assert code == 2, out + err
    assert "duplicates" in err and "flightdata_raw" in err


def test_hypothesis_keeps_its_storage_out_of_the_repository_root():
    from hypothesis import settings
    from hypothesis.configuration import storage_directory

    for where in (storage_directory("constants").path, getattr(settings().database, "path", None)):
        if where is not None:
            assert (REPO / ".pytest_cache") in Path(where).resolve().parents, where
    assert ".hypothesis" in (REPO / "Makefile").read_text().split("clean:", 1)[1].split("\n", 2)[1]


def _tmpfs_works() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        script = f"mount --make-rprivate / && mount -t tmpfs -o size=1m tmpfs {folder}"
        try:
            done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0


_FULL_DISK_VALIDATE = """
set -e
mount --make-rprivate /
mount -t tmpfs -o size=30m tmpfs "$DISK"
cp -a "$SOURCE" "$DISK/lake"
mkdir "$DISK/tmp"
avail=$(df -k "$DISK" | tail -1 | awk '{print $4}')
dd if=/dev/zero of="$DISK/filler" bs=1k count=$((avail - 100)) 2>/dev/null
set +e
FLIGHTDQ_LAKE="$DISK/lake" TMPDIR="$DISK/tmp" FLIGHTDQ_SQL_CACHE="$DISK/sql" "$@"
"""


@pytest.mark.skipif(not _tmpfs_works(), reason="no private mount namespace with tmpfs here (needs root)")
def test_a_full_disk_during_validate_is_one_line(generated, tmp_path):
    """A real full disk: a 30 MB tmpfs (in a private mount namespace) with 100 KB left. Writing the
    check history fails part way: one line, not a traceback per check and day."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", _FULL_DISK_VALIDATE, "sh", *FLIGHTDQ, "validate",
         "--date", "2026-11-23", "--to", str(DAY), "--as-of", AS_OF],
        env={**os.environ, "DISK": str(disk), "SOURCE": str(generated)},
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2, done.stdout + done.stderr[-3000:]
    assert str(disk) in one_line(done.stderr)
