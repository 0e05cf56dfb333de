"""`make demo`: generate a sample lake with planted faults, run the daily data-quality DAG over its
last days with `airflow dags test`, and show what it found next to what was planted.

Then it runs the remediation the DAG asked for and the re-validation (what a scheduler would start
on the repairs' asset events), and ends with what remains broken, and why. It leaves no queued run
behind for a scheduler started later.

Exit status 0 when every planted fault was found under the right check and severity and every
healthy day passed; 1 otherwise. (The DAG run itself ends red: the lake has faults no repair fixes.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

from flightdq.core.config import Settings
from flightdq.core.dates import utcnow
from flightdq.core.results import CheckResult, Status
from flightdq_dev import PROJECT_ROOT

DAG_ID = "flightdq_daily_checks"
DEMO_DAYS = 40
CHECKED_DAYS = 14  # the generator plants one fault a day on the last 12; two healthy days before


def _airflow(*args: str, log_path: Path) -> int:
    airflow = Path(sys.executable).with_name("airflow")
    with log_path.open("a") as log:
        return subprocess.call([str(airflow), *args], stdout=log, stderr=subprocess.STDOUT, env=os.environ)


def _fresh_lake(lake: Path) -> None:
    if lake.exists():
        if any(lake.iterdir()) and not (lake / "_generator" / "manifest.json").exists():
            raise SystemExit(f"{lake} is not empty and was not written by the generator; not touching it")
        shutil.rmtree(lake)


def main() -> int:
    from flightdq_dev.generator import default_demo_faults, generate_lake

    _demo_policy()
    settings = Settings.from_env()
    lake = settings.lake
    end = utcnow().date() - timedelta(days=1)
    start_checked = end - timedelta(days=CHECKED_DAYS - 1)
    artifacts = PROJECT_ROOT / "artifacts"
    artifacts.mkdir(exist_ok=True)
    log_path = artifacts / "demo-airflow.log"
    log_path.write_text("")

    print(f"1/5 generating a {DEMO_DAYS}-day sample lake ending {end} in {lake} ...", flush=True)
    _fresh_lake(lake)
    with _forced_rebuilds() as forced:
        manifest = generate_lake(lake, end=end, days=DEMO_DAYS, faults=default_demo_faults(end))
    for fault in manifest.faults:
        print(f"    planted {fault.fault:<24} on {fault.dt}")
    if forced:
        print(
            f"    (to plant lost raw hours the generator rebuilt {len(forced)} partition(s) from less raw "
            "data, with the ETL's force: its FORCED warnings, expected here: " + "; ".join(forced) + ")"
        )

    print(
        f"2/5 running the Airflow DAG {DAG_ID} for {start_checked}..{end} (airflow dags test; "
        f"log: {log_path.relative_to(PROJECT_ROOT)}) ...",
        flush=True,
    )
    if _airflow("db", "migrate", log_path=log_path) != 0:
        print(f"airflow db migrate failed; see {log_path}", file=sys.stderr)
        return 1
    conf = json.dumps({"date": str(start_checked), "to": str(end)})
    code = _airflow("dags", "test", DAG_ID, "-c", conf, log_path=log_path)
    print(f"    DAG run finished ({'success' if code == 0 else 'failed: expected, the lake has faults'})")

    print("3/5 what the checks found", flush=True)
    from flightdq.airflow.aws import backend as get_backend  # on AWS, the Airflow connection
    from flightdq.core.dates import iter_days

    days = list(iter_days(start_checked, end))
    latest = get_backend(settings).history.latest(days)
    results = [CheckResult.from_dict(r) for r in latest.values()]
    print("\n".join(findings_by_day(results)))
    lines, ok = compare_with_manifest(manifest, results, {str(d) for d in days})
    print("\n".join(lines))

    conf = _queued_remediation_conf()
    if conf:
        print(
            f"4/5 the DAG asked for remediation of {', '.join(conf['days'])}; running flightdq_remediation "
            "(airflow dags test) ...",
            flush=True,
        )
        _airflow("dags", "test", "flightdq_remediation", "-c", json.dumps(conf), log_path=log_path)
        from flightdq.recovery.execute import DayOutcome, Outcome, outcomes_table

        fields = set(DayOutcome.__dataclass_fields__)  # records carry more (dry_run, reasons, run_key)
        ended = [
            DayOutcome(**({k: v for k, v in r.items() if k in fields} | {"outcome": Outcome(r["outcome"])}))
            for r in get_backend(settings).history.read_remediations(conf["days"])
        ]
        print(outcomes_table(ended))
        print(
            "5/5 the re-validation: the daily checks again over the same days (a scheduler starts it on "
            "the repairs' asset events; the demo has none) ...",
            flush=True,
        )
        recheck = json.dumps({"date": str(start_checked), "to": str(end), "trigger_remediation": False})
        _airflow("dags", "test", DAG_ID, "-c", recheck, log_path=log_path)
    _forget_runs_the_demo_ran()
    print("\n".join(still_broken(settings)))
    return 0 if ok else 1


class _Forced(logging.Handler):
    """Collects the ETL's FORCED warnings while the generator plants faults (shown once, explained)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage().replace("FORCED: ", ""))


@contextlib.contextmanager
def _forced_rebuilds() -> Iterator[list[str]]:
    """While the lake is generated, the ETL's warnings go to a list instead of the terminal."""
    logger = logging.getLogger("flightdq.recovery.publish")  # the audit logs a forced replacement
    handler, propagate = _Forced(), logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield handler.seen
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate


def findings_by_day(results: list[CheckResult]) -> list[str]:
    """The failing checks, one line per day, worst first within the day; passing days in one line."""
    order = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
    failing: dict[str, list[CheckResult]] = {}
    for r in results:
        if r.failed:
            failing.setdefault(r.dt, []).append(r)
    clean = sorted({r.dt for r in results} - set(failing))
    lines = [f"    {len(results)} verdicts on {len({r.dt for r in results})} days; failing:"]
    for dt in sorted(failing):
        found = sorted(failing[dt], key=lambda r: (order.get(str(r.severity), 9), r.dataset, r.check))
        what = ", ".join(
            f"{r.severity} {r.check}"
            + (" (raw)" if r.dataset == "flightdata_raw" else "")
            + (" could not run" if r.status is Status.ERROR else "")
            for r in found
        )
        lines.append(f"    {dt}  {what}")
    if clean:
        lines.append(f"    every check passes on {', '.join(clean)}")
    lines.append(
        "    (each finding in full: `.venv/bin/flightdq validate --date DAY`, or the page's day view)"
    )
    return lines


def _demo_policy() -> None:
    """The demo repairs nine days at once, and nobody is there to approve it in Airflow's Required
    Actions: it runs under a copy of the policy (FLIGHTDQ_POLICY, or the default) with approvals
    off, and says so."""
    import yaml

    from flightdq.core.config import DEFAULT_POLICY

    source = Path(os.environ.get("FLIGHTDQ_POLICY") or DEFAULT_POLICY)
    policy = yaml.safe_load(source.read_text())
    policy.setdefault("remediation", {})["approval_from_days"] = 0
    copy = PROJECT_ROOT / "artifacts" / "demo-policy.yaml"
    copy.parent.mkdir(exist_ok=True)
    copy.write_text(yaml.safe_dump(policy, sort_keys=False))
    os.environ["FLIGHTDQ_POLICY"] = str(copy)
    print(f"    (repairs need no approval in the demo: its policy is {copy.relative_to(PROJECT_ROOT)})")


def still_broken(settings: Settings) -> list[str]:
    """What the demo leaves broken, and why: the open incidents, worst first."""
    from flightdq.airflow.aws import backend as get_backend  # on AWS, the Airflow connection
    from flightdq.incidents.store import IncidentStore, by_severity

    store = IncidentStore(get_backend(settings).blobs)
    incidents = by_severity(store.open())
    if not incidents:
        return ["", "nothing remains broken: every incident is resolved"]
    lines = ["", f"what remains broken: {len(incidents)} open incidents (`.venv/bin/flightdq incident list`)"]
    for incident in incidents:
        why = next(
            (e.detail for e in reversed(incident.timeline) if e.event in ("note", "remediation_finished")),
            "no repair was asked for: look at the day in the page",
        )
        lines.append(f"  {incident.severity}  {incident.dt}  {incident.title}")
        lines.append(f"      why: {why[:160]}")
    return lines


def _forget_runs_the_demo_ran() -> None:
    """The daily DAG queued a remediation run, and the repairs queued an asset-triggered check, for
    a scheduler; the demo ran both itself with `dags test`. Leave neither behind: a scheduler
    started later (`make airflow`) would otherwise repair and re-check the demo's days again."""
    from airflow.models import DagRun
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    with create_session() as session:
        for run in session.query(DagRun).filter(DagRun.state == "queued").all():
            if run.dag_id in ("flightdq_remediation", DAG_ID):
                session.delete(run)
        session.query(AssetDagRunQueue).filter(AssetDagRunQueue.target_dag_id == DAG_ID).delete()


def _queued_remediation_conf() -> dict | None:
    """The conf of the remediation run the daily DAG queued (no scheduler runs it in a demo)."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    with create_session() as session:
        run = (
            session.query(DagRun)
            .filter(DagRun.dag_id == "flightdq_remediation", DagRun.state == "queued")
            .order_by(DagRun.id.desc())
            .first()
        )
        return dict(run.conf) if run and run.conf else None


def compare_with_manifest(manifest, results: list[CheckResult], checked: set[str]) -> tuple[list[str], bool]:
    """Each planted fault next to what the checks said of it, and whether healthy days passed."""
    ok = True
    lines = ["", f"{'':6} {'planted fault':<24} {'day':<10}  {'expected':<38} found"]
    for fault in manifest.faults:
        if fault.dt not in checked:
            continue
        found = [
            r for r in results if r.dt == fault.dt and r.dataset == fault.dataset and r.check == fault.check
        ]
        want = fault.severity
        hit = bool(found) and (
            (want is None and found[0].status in (Status.PASS, Status.WARN))
            or (want is not None and found[0].failed and str(found[0].severity) == want)
        )
        ok &= hit
        got = f"{found[0].status} {found[0].severity or ''}".strip() if found else "no result"
        lines.append(
            f"{'ok' if hit else 'MISSED':<6} {fault.fault:<24} {fault.dt}  "
            f"{fault.check + ' ' + (want or 'pass'):<38} {got}"
        )
    healthy = set(manifest.healthy_days) & checked
    noisy = sorted({r.dt for r in results if r.dt in healthy and r.failed})
    lines.append(f"healthy days checked: {len(healthy)}, with a failing check: {len(noisy)} {noisy or ''}")
    ok &= not noisy
    lines.append("demo: every planted fault found, healthy days pass" if ok else "demo: MISMATCH, see above")
    return lines, ok


if __name__ == "__main__":
    sys.exit(main())
