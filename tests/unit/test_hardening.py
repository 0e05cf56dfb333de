"""Hardening: what a bad policy, an odd argument, a broken environment or a full disk does.

Every case here once ended in a traceback or, worse, a verdict: a `.nan` threshold that let a 36.5%
drop pass, a missing lake created on the spot and reported as P0 data loss, a crash that left an
empty record behind. Now each is bad input (contract section 3): exit 2 and one short line naming
the problem, or HTTP 400 on the page, with nothing written.

What could not be simulated as root: permission bits do not stop root, so "unreadable" and
"read-only" are simulated by answering `os.access` as the kernel would for another user. A real
read-only file system is used too when this process may make a private mount namespace
(`unshare -m`, a bind mount remounted read-only that no other process sees); otherwise that test is
skipped. A full disk is simulated by an `os.fsync` that fails with ENOSPC.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from datetime import date, timedelta
from pathlib import Path

import pytest

from flightdq.cli import main
from flightdq_dev.cli import main as dev_main

DAY = date(2026, 11, 25)
AS_OF = "2026-11-26T02:00:00Z"
REPO = Path(__file__).resolve().parents[2]


def run(capsys, *args: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of `flightdq ARGS`, whether it returns or exits (argparse)."""
    command = dev_main if args[:1] == ("generate",) else main  # `generate` is a dev tool
    try:
        code = command(list(args))
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def assert_usage_error(code: int, out: str, err: str, *names: str) -> None:
    assert code == 2, err[:300]
    assert out == ""
    assert len(err.strip().splitlines()) == 1, err[:300]
    assert len(err) < 400, err[:300]
    for name in names:
        assert name in err, err[:300]


def tree(root: Path) -> list[tuple[str, int, int]]:
    """Everything under `root`, with sizes and modification times: equal lists, nothing written."""
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*"))


def healthy_weeks(lake) -> None:
    for k in range(1, 5):
        lake.healthy_day(DAY - timedelta(weeks=k), 100)
    lake.healthy_day(DAY, 100)


# --- 1. the policy means what it says ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("record_count_drift:\n  drop_fail_ratio: .nan\n", ("record_count_drift.drop_fail_ratio", "nan")),
        ("record_count_drift:\n  drop_severe_ratio: .inf\n", "record_count_drift.drop_severe_ratio"),
        ("record_count_drift:\n  drop_fail_ratio: 0\n", "record_count_drift.drop_fail_ratio"),
        ("record_count_drift:\n  history_weeks: 0\n", ("record_count_drift.history_weeks", "got 0")),
        ("record_count_drift:\n  min_history_days: 0\n", "record_count_drift.min_history_days"),
        ("record_count_drift:\n  min_history_days: 9\n", "record_count_drift.min_history_days"),
        ("validation:\n  max_range_days: 0\n", "validation.max_range_days"),
        ("remediation:\n  max_parallel_etl: 0\n", "remediation.max_parallel_etl"),
        ("schema_validity:\n  row_fail_ratio: .nan\n", "schema_validity.row_fail_ratio"),
        ("schema_validity:\n  worst_rules_reported: 0\n", "schema_validity.worst_rules_reported"),
        ("duplicates:\n  ratio: -.inf\n", "duplicates.ratio"),
        ("freshness:\n  lag_fail_minutes: .nan\n", "freshness.lag_fail_minutes"),
        ("freshness:\n  lag_severe_minutes: 99999999999999999999\n", "freshness.lag_severe_minutes"),
        (
            "partition_presence:\n  processed_grace_minutes: -1\n",
            "partition_presence.processed_grace_minutes",
        ),
        ("incidents:\n  response_minutes:\n    P0: 0\n", "incidents.response_minutes.P0"),
        ("incidents:\n  escalation:\n    P0: [[99999999999, Everyone]]\n", "incidents.escalation.P0"),
    ],
)
def test_every_policy_number_is_finite_and_in_its_range(tmp_path, text, message):
    from flightdq.core.config import ConfigError, load_policy

    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_policy(path)
    for named in (message,) if isinstance(message, str) else message:  # the key, and the bad value
        assert named in str(raised.value)
    assert "\n" not in str(raised.value)


def test_the_shipped_policy_is_the_defaults_and_keeps_its_types():
    from flightdq.core.config import DriftPolicy, Policy, load_policy

    policy = load_policy()
    assert policy == Policy()
    assert isinstance(policy.record_count_drift.drop_fail_ratio, float)
    assert isinstance(policy.record_count_drift.history_weeks, int)
    assert DriftPolicy(history_weeks=6).history_weeks == 6  # callers still build sections by keyword


@pytest.mark.parametrize(
    ("text", "names"),
    [
        ("record_count_drift:\n  drop_fail_ratio: .nan\n", ["drop_fail_ratio", "nan"]),
        ("record_count_drift:\n  history_weeks: 0\n", ["history_weeks"]),
        ("freshness: [\n  lag_fail_minutes: 3\n", ["not valid YAML", "line"]),
        ("- " + "x" * 5000 + "\n", ["expected a mapping"]),
        pytest.param(  # "billion laughs": nine levels of nine aliases, a few hundred bytes
            'a: &a ["x","x","x","x","x","x","x","x","x"]\n'
            + "".join(
                f"{n}: &{n} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
                for p, n in zip("abcdefgh", "bcdefghi", strict=True)
            )
            + "freshness: {lag_fail_minutes: *i}\n",
            ["not valid YAML", "aliases"],
            id="alias-bomb",
        ),
        pytest.param("# " + "x" * 70_000 + "\n", ["larger than 64 KiB"], id="oversize"),
    ],
)
def test_a_bad_policy_file_is_bad_input(lake, tmp_path, capsys, monkeypatch, text, names):
    """A `.nan` threshold once let a 36.5% drop pass; now nothing is checked with such a policy."""
    healthy_weeks(lake)
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    monkeypatch.setenv("FLIGHTDQ_POLICY", str(path))
    before = tree(lake.root)
    code, out, err = run(capsys, "validate", "--date", str(DAY), "--as-of", AS_OF)
    assert_usage_error(code, out, err, *names)
    assert tree(lake.root) == before


# --- 2. limits and edges ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "names"),
    [
        pytest.param(
            ["validate", "--date", "9999-12-31"], ["9999-12-31", "2000-01-01..2099-12-31"], id="day-9999"
        ),
        pytest.param(
            ["validate", "--date", "2026-11-20", "--to", "9999-12-31"], ["9999-12-31"], id="to-9999"
        ),
        pytest.param(["validate", "--date", "0001-01-01"], ["0001-01-01", "supported"], id="day-0001"),
        pytest.param(["remediate", "--date", "9999-12-31", "--dry-run"], ["supported"], id="remediate-9999"),
        pytest.param(["catalog", "repair", "--date", "9999-12-31"], ["supported"], id="repair-9999"),
        pytest.param(
            ["validate", "--date", "2026-11-25", "--as-of", "0001-01-01T00:00+14:00"],
            ["--as-of", "supported"],
            id="as-of-0001+14",
        ),
        pytest.param(
            ["validate", "--date", "2026-11-25", "--as-of", "9999-12-31T23:59-14:00"],
            ["--as-of", "supported"],
            id="as-of-9999-14",
        ),
        pytest.param(
            ["validate", "--date", "2026-11-25", "--as-of", ""], ["--as-of", "empty"], id="as-of-empty"
        ),
        pytest.param(
            ["validate", "--date", "2026-11-25", "--as-of", "  "], ["--as-of", "empty"], id="as-of-blank"
        ),
        pytest.param(
            ["validate", "--date", "2000-01-01", "--to", "2036-12-01"],
            ["longer than the allowed 31 days", "validation.max_range_days"],
            id="validate-13k-days",
        ),
        pytest.param(
            ["generate", "--days", "100000000"], ["--days", "between 1 and"], id="generate-100M-days"
        ),
        pytest.param(
            ["generate", "--days", "3000", "--end", "2001-01-01"],
            ["--days", "supported"],
            id="generate-before-2000",
        ),
        pytest.param(["generate", "--days", "0"], ["--days"], id="generate-0-days"),
        pytest.param(
            ["incident", "report", "a__2026-11-25/x__b__1"],
            ["incident id", "<YYYY-MM-DD>__<data|monitor>"],
            id="incident-id-slash",
        ),
        pytest.param(
            ["incident", "report", "a__../../../etc__b__1"], ["incident id"], id="incident-id-dotdot"
        ),
        pytest.param(
            ["incident", "report", "2026-13-45__data__1"],
            ["incident day"],
            id="incident-id-bad-day",
        ),
    ],
)
def test_edges_are_bad_input_not_tracebacks(lake, capsys, args, names):
    before = tree(lake.root)
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err, *names)
    assert tree(lake.root) == before


def test_a_range_within_the_limit_is_still_checked(lake, capsys):
    code, _, err = run(
        capsys, "validate", "--date", str(DAY - timedelta(days=30)), "--to", str(DAY), "--as-of", AS_OF
    )
    assert code in (0, 1), err


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--date", "x" * 100_000],
        ["validate", "--date", "2026-11-25", "--as-of", "y" * 100_000],
        ["validate", "--date", "2026-11-25", "--check", "c" * 100_000],
        ["validate", "--date", "2026-11-25", "--dataset", "d" * 100_000],
        ["generate", "--days", "9" * 100_000],
        ["generate", "--size", "s" * 100_000],
        ["incident", "report", "i" * 100_000],
        ["validate", "--date", "2026-11-25", "--bogus", "b" * 100_000],
        ["validate", "--date", "2026-11-25\n" + "n" * 100],
    ],
)
def test_echoed_input_is_cut_short(lake, capsys, args):
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err)
    assert len(err) < 300, err[:500]


def test_an_incident_report_into_a_missing_folder_is_bad_input(lake, capsys, tmp_path):
    out_file = tmp_path / "no" / "such" / "folder" / "review.md"
    code, out, err = run(
        capsys,
        "incident",
        "report",
        "2026-11-25__data__1",
        "--out",
        str(out_file),
    )
    assert_usage_error(code, out, err, str(out_file.parent), "does not exist")
    assert not out_file.parent.exists()


def test_an_incident_report_onto_a_folder_is_bad_input(lake, capsys, tmp_path):
    code, out, err = run(
        capsys,
        "incident",
        "report",
        "2026-11-25__data__1",
        "--out",
        str(tmp_path),
    )
    assert_usage_error(code, out, err, "is a folder")


def test_an_id_outside_the_incidents_folder_is_no_incident(lake):
    from flightdq.incidents.store import IncidentStore
    from flightdq.storage.blobstore import LocalBlobStore

    store = IncidentStore(LocalBlobStore(lake.root))
    for bad in ("a__../../x__b__1", "a__2026-11-25/x__b__1", "a__2026-11-25__b/../c__1", "a__b__c__d"):
        assert store.get(bad) is None


@pytest.fixture
def page(lake):
    from fastapi.testclient import TestClient

    from flightdq.core.config import Settings
    from flightdq.ui.app import Sources, create_app
    from flightdq.ui.auth import User

    def settings():
        return Settings.from_env()

    app = create_app(
        sources=Sources(settings_factory=settings, dag_ids_lookup=lambda ids: {}),
        authenticate=lambda: User(name="oncall"),
        today=lambda: DAY,
    )
    return TestClient(app, raise_server_exceptions=False)


@pytest.mark.parametrize(
    "path",
    ["/day/9999-12-31", "/day/0001-01-01", "/?end=9999-12-31", "/?end=0001-01-01", "/day/" + "9" * 5000],
)
def test_the_page_answers_a_day_outside_the_window_with_400(page, path):
    answer = page.get(path)
    assert answer.status_code in (400, 404), answer.status_code
    assert answer.status_code != 500


def test_the_page_of_a_missing_lake_is_503_and_creates_nothing(page, lake, monkeypatch, tmp_path):
    missing = tmp_path / "gone"
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(missing))
    answer = page.get(f"/day/{DAY}")
    assert answer.status_code == 503
    assert "does not exist" in answer.text
    assert not missing.exists()


# --- 3. environment errors are usage errors ---------------------------------------------------------
COMMANDS = [
    ["validate", "--date", str(DAY), "--as-of", AS_OF],
    ["validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record"],
    ["validate", "--date", str(DAY), "--as-of", AS_OF, "--json"],
    ["remediate", "--date", str(DAY), "--as-of", AS_OF],
    ["remediate", "--date", str(DAY), "--as-of", AS_OF, "--dry-run"],
    ["catalog", "repair"],
    ["incident", "list"],
    ["incident", "report", "2026-11-25__data__1"],
]


@pytest.mark.parametrize("args", COMMANDS)
def test_a_missing_lake_is_bad_input_and_is_not_created(tmp_path, monkeypatch, capsys, args):
    missing = tmp_path / "no-lake"
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(missing))
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err, str(missing), "does not exist")
    assert not missing.exists()
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args", COMMANDS)
@pytest.mark.parametrize("where", ["file", "under-file"])
def test_a_lake_that_is_a_file_is_bad_input(tmp_path, monkeypatch, capsys, args, where):
    a_file = tmp_path / "lake.txt"
    a_file.write_text("not a lake\n")
    path = a_file if where == "file" else a_file / "lake"
    monkeypatch.setenv("FLIGHTDQ_LAKE", str(path))
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err, str(path), "not a folder")
    assert [p.name for p in tmp_path.iterdir()] == ["lake.txt"]
    assert a_file.read_text() == "not a lake\n"


def deny(monkeypatch, root: Path, denied: int) -> None:
    """Answer `os.access` for `root` as the kernel would for a user without the `denied` bits."""
    real = os.access

    def access(path, mode, *args, **kwargs):
        if Path(path) == root and mode & denied:
            return False
        return real(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", access)


@pytest.mark.parametrize("args", COMMANDS)
def test_an_unreadable_lake_is_bad_input(lake, monkeypatch, capsys, args):
    healthy_weeks(lake)
    before = tree(lake.root)
    deny(monkeypatch, lake.root, os.R_OK)
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err, str(lake.root), "not readable")
    assert tree(lake.root) == before


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "--date", str(DAY), "--as-of", AS_OF],
        ["remediate", "--date", str(DAY), "--as-of", AS_OF],
        ["catalog", "repair"],
        ["incident", "report", "2026-11-25__data__1"],
    ],
)
def test_a_read_only_lake_is_bad_input_for_a_command_that_writes(lake, monkeypatch, capsys, args):
    healthy_weeks(lake)
    before = tree(lake.root)
    deny(monkeypatch, lake.root, os.W_OK)
    code, out, err = run(capsys, *args)
    assert_usage_error(code, out, err, str(lake.root), "read-only", "--no-record")
    assert tree(lake.root) == before


@pytest.mark.parametrize("catalog", ["registered", "no catalog yet"])
def test_validate_no_record_reads_a_read_only_lake_and_writes_nothing(lake, monkeypatch, capsys, catalog):
    healthy_weeks(lake)
    if catalog == "no catalog yet":
        shutil.rmtree(lake.root / "_catalog")
    before = tree(lake.root)
    deny(monkeypatch, lake.root, os.W_OK)
    code, out, err = run(capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record", "--json")
    assert code in (0, 1), err
    assert '"results"' in out
    assert tree(lake.root) == before
    for listing in (["incident", "list"], ["remediate", "--date", str(DAY), "--as-of", AS_OF, "--dry-run"]):
        code, _, err = run(capsys, *listing)
        assert code in (0, 1), err
    assert tree(lake.root) == before


def test_validate_no_record_on_a_writable_lake_writes_nothing_either(lake, capsys):
    healthy_weeks(lake)
    before = tree(lake.root)
    code, _, err = run(capsys, "validate", "--date", str(DAY), "--as-of", AS_OF, "--no-record")
    assert code == 0, err
    assert tree(lake.root) == before


def test_a_backend_over_a_missing_lake_cannot_be_made(tmp_path):
    from flightdq.backends.local.backend import LocalBackend, check_lake_root
    from flightdq.core.config import ConfigError, Settings

    with pytest.raises(ConfigError, match="does not exist"):
        LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(tmp_path / "x")}))
    with pytest.raises(ConfigError, match="does not exist"):
        check_lake_root(tmp_path / "x", writable=False)
    # a folder without the lake's layout (an empty one, `/`) is refused before anything is written
    for not_a_lake in (tmp_path, Path("/")):
        with pytest.raises(ConfigError, match="is not a lake"):
            LocalBackend(Settings.from_env({"FLIGHTDQ_LAKE": str(not_a_lake)}))
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "flightdata-processed").mkdir()
    assert check_lake_root(tmp_path, writable=True) == tmp_path


def test_generate_may_make_a_new_lake_but_not_through_a_file(tmp_path, capsys):
    a_file = tmp_path / "f"
    a_file.write_text("")
    code, out, err = run(capsys, "generate", "--lake", str(a_file / "lake"), "--days", "1", "--no-faults")
    assert_usage_error(code, out, err, str(a_file / "lake"))


def private_read_only_mount_works() -> bool:
    if sys.platform != "linux" or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    with tempfile.TemporaryDirectory() as folder:
        script = (
            f"mount --make-rprivate / && mount --bind {folder} {folder} && mount -o remount,bind,ro {folder}"
        )
        try:
            done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, timeout=20)
        except (OSError, subprocess.SubprocessError):
            return False
        return done.returncode == 0


@pytest.mark.skipif(not private_read_only_mount_works(), reason="no private mount namespace here")
def test_on_a_real_read_only_file_system(lake):
    """The lake bind-mounted read-only in a mount namespace of its own: only the child sees it."""
    healthy_weeks(lake)
    before = tree(lake.root)
    cli = f"{sys.executable} -m flightdq.cli"
    script = "\n".join(
        [
            "set -u",
            "mount --make-rprivate /",
            f"mount --bind '{lake.root}' '{lake.root}'",
            f"mount -o remount,bind,ro '{lake.root}'",
            f"{cli} validate --date {DAY} --as-of {AS_OF} --no-record --json > /dev/null; echo no-record=$?",
            f"{cli} validate --date {DAY} --as-of {AS_OF} 2> recording.err; echo record=$?",
            f"{cli} incident list > /dev/null; echo list=$?",
            "cat recording.err",
        ]
    )
    env = dict(os.environ, FLIGHTDQ_LAKE=str(lake.root), PYTHONPATH=str(REPO / "include"))
    with tempfile.TemporaryDirectory() as cwd:
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert [p.name for p in Path(cwd).iterdir()] == ["recording.err"]  # DuckDB spilled nothing here
    lines = done.stdout.splitlines()
    assert "no-record=0" in lines, done.stdout + done.stderr
    assert "record=2" in lines and "list=0" in lines, done.stdout + done.stderr
    assert any("read-only" in line and str(lake.root) in line for line in lines), done.stdout
    assert tree(lake.root) == before


# --- 4. a full disk ---------------------------------------------------------------------------------
def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(".tmp-")]


def test_a_full_disk_while_recording_is_bad_input_and_leaves_no_temporary_file(lake, monkeypatch, capsys):
    healthy_weeks(lake)
    monkeypatch.setattr(os, "fsync", no_space)
    code, out, err = run(capsys, "validate", "--date", str(DAY), "--as-of", AS_OF)
    assert_usage_error(code, out, err, "no space left on", str(lake.root / "flightdq-history"))
    assert leftovers(lake.root) == []


@pytest.mark.parametrize("method", ["put", "put_if_absent"])
def test_a_full_disk_in_the_store_names_the_record(tmp_path, monkeypatch, method):
    from flightdq.storage.blobstore import LocalBlobStore, StorageError

    store = LocalBlobStore(tmp_path)
    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(StorageError, match=f"no space left on {tmp_path / 'a' / 'b.json'}"):
        getattr(store, method)("a/b.json", b"{}")
    assert leftovers(tmp_path) == []
    assert store.get("a/b.json") is None


def test_the_engine_spills_under_the_system_temporary_folder(backend):
    (spill,) = backend._connection().execute("SELECT current_setting('temp_directory')").fetchone()
    assert Path(spill).is_absolute()
    assert Path(spill).parent == Path(tempfile.gettempdir())  # DuckDB's default: `.tmp` in the cwd


# --- 5. create-only writes are atomic ---------------------------------------------------------------
def test_a_crash_between_create_and_write_leaves_no_empty_record(tmp_path, monkeypatch):
    from flightdq.storage.blobstore import LocalBlobStore

    store = LocalBlobStore(tmp_path)
    real_fdopen = os.fdopen

    def crash(*args, **kwargs):
        raise KeyboardInterrupt("the process dies here")

    monkeypatch.setattr(os, "fdopen", crash)
    with pytest.raises(KeyboardInterrupt):
        store.put_if_absent("alerts/x/sns.try-1", b'{"at": "now"}')
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert store.get("alerts/x/sns.try-1") is None  # no empty record that breaks every later run
    assert store.list("alerts/") == []
    assert store.put_if_absent("alerts/x/sns.try-1", b"first") is True
    assert store.put_if_absent("alerts/x/sns.try-1", b"second") is False
    assert store.get("alerts/x/sns.try-1") == b"first"
    assert leftovers(tmp_path) == []


def test_a_crash_that_skips_the_clean_up_leaves_only_an_unlisted_temporary(tmp_path, monkeypatch):
    """A killed process runs no `finally`: what it leaves is a temporary file nobody lists or reads."""
    from flightdq.storage import blobstore

    store = blobstore.LocalBlobStore(tmp_path)
    monkeypatch.setattr(blobstore, "_discard", lambda tmp: None, raising=False)
    real_fdopen = os.fdopen

    class Dying:
        """A file the process dies writing: created, nothing in it yet."""

        def __init__(self, handle) -> None:
            self.handle = handle

        def __enter__(self) -> Dying:
            return self

        def __exit__(self, *exc) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            raise KeyboardInterrupt("the process dies here")

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **kw: Dying(real_fdopen(fd, *a, **kw)))
    with pytest.raises(KeyboardInterrupt):
        store.put_if_absent("markers/once", b"payload")
    monkeypatch.setattr(os, "fdopen", real_fdopen)
    assert store.get("markers/once") is None
    assert store.list("markers/") == []
    assert store.put_if_absent("markers/once", b"payload") is True
    assert store.put_if_absent("markers/once", b"other") is False
    assert store.get("markers/once") == b"payload"


def test_create_only_has_exactly_one_winner(tmp_path):
    from flightdq.storage.blobstore import LocalBlobStore

    store = LocalBlobStore(tmp_path)
    start = threading.Barrier(8)
    won: list[int] = []

    def claim(i: int) -> None:
        start.wait()
        if store.put_if_absent("claims/one", str(i).encode()):
            won.append(i)

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1
    assert store.get("claims/one") == str(won[0]).encode()
    assert leftovers(tmp_path) == []
