"""`flightdq`: the command line on-call engineers script against (contract section 3).

Exit status: 0 every check passed, 1 a check failed, 2 bad usage or bad input (one line on stderr).
Bad input includes the environment: a lake that is missing, not a folder, unreadable or (for a command
that writes) read-only, a bad policy file, no space left for flightdq's records. Days are limited to
the supported window (`flightdq.dates`), ranges to the policy's `validation.max_range_days`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
import sys
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

from flightdq.contract import CHECKS, DATASETS
from flightdq.dates import (
    ECHO_LIMIT,
    FIRST_DAY,
    SUPPORTED,
    InputError,
    day_range,
    echo,
    parse_day,
    parse_moment,
    utcnow,
)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
MAX_GENERATE_DAYS = 3660  # about ten years of sample data
RANGE_LIMIT = "policy validation.max_range_days"
_LONG_WORD = re.compile(rf"\S{{{ECHO_LIMIT + 21},}}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line naming the problem, not a usage dump
        # argparse quotes what it was given whole ("invalid int value: '...'"): keep it short.
        message = _LONG_WORD.sub(lambda m: f"{m.group()[:ECHO_LIMIT]}...", " ".join(message.split()))
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _day(value: str) -> date:
    try:
        return parse_day(value)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flightdq", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    validate = sub.add_parser("validate", help="run the data-quality checks on a day or a range of days")
    _add_range(validate)
    validate.add_argument("--as-of", help="ISO-8601 moment the checks are evaluated for (default: now)")
    validate.add_argument("--json", action="store_true", help="print the contract's JSON document")
    validate.add_argument("--dataset", action="append", help=f"only this dataset ({', '.join(DATASETS)})")
    validate.add_argument("--check", action="append", help=f"only this check ({', '.join(CHECKS)})")
    validate.add_argument("--no-record", action="store_true", help="do not keep the results in the history")

    remediate = sub.add_parser("remediate", help="re-run the ETL for broken days, then check them again")
    _add_range(remediate)
    remediate.add_argument("--dry-run", action="store_true", help="plan only; change nothing")
    remediate.add_argument("--as-of", help="ISO-8601 moment the days are judged at (default: now)")

    catalog = sub.add_parser("catalog", help="the partition catalog")
    catalog_sub = catalog.add_subparsers(dest="catalog_command", required=True, parser_class=_Parser)
    repair = catalog_sub.add_parser("repair", help="register the partitions found in storage (MSCK REPAIR)")
    repair.add_argument("--date", type=_day)
    repair.add_argument("--to", type=_day)

    incident = sub.add_parser("incident", help="incidents: what is open, and post-incident reviews")
    incident_sub = incident.add_subparsers(dest="incident_command", required=True, parser_class=_Parser)
    listing = incident_sub.add_parser(
        "list", help="open incidents with their age against their response time"
    )
    listing.add_argument("--all", action="store_true", help="resolved ones too")
    listing.add_argument("--json", action="store_true")
    review = incident_sub.add_parser("report", help="write an incident's post-incident review (Markdown)")
    review.add_argument("incident_id", help="as `flightdq incident list` shows it")
    review.add_argument("--out", type=Path, help="write to this file (default: standard output)")

    generate = sub.add_parser("generate", help="write a sample lake with planted faults")
    generate.add_argument("--lake", type=Path, help="lake root (default: FLIGHTDQ_LAKE)")
    generate.add_argument("--end", type=_day, help="last day (default: yesterday, UTC)")
    generate.add_argument("--days", type=int, default=40)
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--size", default="demo", help="demo, small or global")
    generate.add_argument("--no-faults", action="store_true", help="a healthy lake")
    return parser


def _add_range(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--date", type=_day, required=True, help="day YYYY-MM-DD")
    parser.add_argument("--to", type=_day, help="last day of a range, inclusive")
    parser.add_argument("--verbose", action="store_true", help="log what is being done")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # What the command answers goes to the real standard output; anything a library prints there
    # meanwhile (Airflow's logging does, once the AWS hooks are imported) goes to standard error,
    # so `--json` stays one JSON document.
    args.stdout = sys.stdout
    with contextlib.redirect_stdout(sys.stderr):
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "remediate":
            return _remediate(args)
        if args.command == "catalog":
            return _catalog_repair(args)
        if args.command == "incident":
            return _incident(args)
        if args.command == "generate":
            return _generate(args)
    except InputError as exc:
        print(f"flightdq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    raise AssertionError(f"unhandled command {args.command}")


def _validate(args: argparse.Namespace) -> int:
    from flightdq.backends.base import get_backend
    from flightdq.config import Settings
    from flightdq.report import results_json, results_table
    from flightdq.runner import run_checks

    as_of = _as_of(args)
    settings = Settings.from_env()
    days = day_range(
        args.date, args.to, max_days=settings.policy.validation.max_range_days, limit_name=RANGE_LIMIT
    )
    backend = get_backend(settings, writable=not args.no_record)  # checks the lake before anything runs
    results = run_checks(
        days,
        as_of,
        checks=args.check or CHECKS,
        datasets=args.dataset or DATASETS,
        backend=backend,
        settings=settings,
        record=not args.no_record,
    )
    print(results_json(results) if args.json else results_table(results), file=args.stdout)
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def _remediate(args: argparse.Namespace) -> int:
    from flightdq.backends.base import get_backend
    from flightdq.config import Settings
    from flightdq.remediation import Outcome, outcomes_table, remediate
    from flightdq.runner import validate_request

    settings = Settings.from_env()
    as_of = _as_of(args)
    days = day_range(
        args.date, args.to, max_days=settings.policy.validation.max_range_days, limit_name=RANGE_LIMIT
    )
    validate_request(days, as_of, CHECKS, DATASETS)
    backend = get_backend(settings, writable=not args.dry_run)
    run_id = f"cli-remediate__{utcnow():%Y%m%dT%H%M%S}"
    ended = remediate(backend, days, as_of, dry_run=args.dry_run, run_id=run_id)
    print(outcomes_table(ended), file=args.stdout)
    if not args.dry_run:  # the re-checks resolve incidents and announce it, as the DAG does
        from flightdq.orchestration import incidents_step

        incidents_step(
            [str(d) for d in days], run_id, None, results_run_id=f"{run_id}__recheck", settings=settings
        )
    settled = {Outcome.NOTHING_TO_DO, Outcome.REPAIRED, Outcome.PLANNED}
    return EXIT_OK if all(o.outcome in settled for o in ended) else EXIT_FAILED


def _as_of(args: argparse.Namespace) -> datetime:
    """`--as-of`, or now when it was not given (given but empty is an error, not "now")."""
    return parse_moment(args.as_of) if args.as_of is not None else utcnow()


def _incident(args: argparse.Namespace) -> int:
    import json

    from flightdq.alerting import write_review
    from flightdq.backends.base import get_backend
    from flightdq.config import Settings
    from flightdq.incidents import INCIDENT_ID_FORM, IncidentStore, is_incident_id

    report = args.incident_command == "report"
    if report:  # what was asked is checked before the lake is opened or anything is written
        if not is_incident_id(args.incident_id):
            raise InputError(
                f"no incident {echo(args.incident_id)}: an incident id has the form {INCIDENT_ID_FORM}"
            )
        parse_day(args.incident_id.split("__")[1], "incident day")
        if args.out:
            _check_out(args.out)
    settings = Settings.from_env()
    backend = get_backend(settings, writable=report)  # a listing only reads
    store = IncidentStore(backend.blobs)
    if report:
        incident = store.get(args.incident_id)
        if incident is None:
            raise InputError(
                f"no incident {echo(args.incident_id)}; `flightdq incident list --all` lists them"
            )
        location, text = write_review(backend, store, incident.id)
        if args.out:
            _write_out(args.out, text)
            print(f"wrote {args.out} (also kept at {location})", file=args.stdout)
        else:
            print(text, file=args.stdout)
        return EXIT_OK
    now = utcnow()
    incidents = store.list() if args.all else store.open()
    response = settings.policy.incidents.response_minutes
    rows = [
        {
            "id": i.id,
            "state": str(i.state),
            "severity": i.severity,
            "opened_at": i.opened_at,
            "age_minutes": round(i.age_minutes(now)),
            "response_minutes": response.of(i.severity),
            "overdue": not i.resolved and i.age_minutes(now) > response.of(i.severity),
        }
        for i in incidents
    ]
    if args.json:
        print(json.dumps({"incidents": rows}, indent=2), file=args.stdout)
        return EXIT_OK
    print(f"{'incident':<58} {'state':<12} {'sev':<4} {'age':>8} {'respond in':>10}", file=args.stdout)
    for row in rows:
        flag = "  OVERDUE" if row["overdue"] else ""
        print(
            f"{row['id']:<58} {row['state']:<12} {row['severity']:<4} {row['age_minutes']:>6}m "
            f"{row['response_minutes']:>9}m{flag}",
            file=args.stdout,
        )
    print(f"{len(rows)} incident(s)" + ("" if args.all else " open"), file=args.stdout)
    return EXIT_OK


def _check_out(path: Path) -> None:
    """`--out` names a file that can be written: its folder exists and it is not a folder itself."""
    if path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"--out {path}: the folder {folder} does not exist")


def _write_out(path: Path, text: str) -> None:
    from flightdq.blobstore import storage_error

    try:
        path.write_text(text)
    except OSError as exc:
        raise storage_error(exc, path) from None


def _catalog_repair(args: argparse.Namespace) -> int:
    from flightdq.backends.base import get_backend
    from flightdq.catalog import repair_catalog

    if args.to and not args.date:
        raise InputError("--to needs --date")
    if args.date:
        day_range(args.date, args.to)
    added = repair_catalog(get_backend(), args.date, args.to or args.date)
    print(
        f"registered {len(added)} partition(s)" + (f": {', '.join(added)}" if added else ""), file=args.stdout
    )
    return EXIT_OK


def _generate(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from flightdq.blobstore import storage_error
    from flightdq.config import Settings
    from flightdq.generator import SIZES, default_demo_faults, generate_lake

    if args.size not in SIZES:
        raise InputError(f"--size {echo(args.size)} is not one of {', '.join(SIZES)}")
    lake = args.lake or Settings.from_env().lake
    end = args.end or (utcnow().date() - timedelta(days=1))
    if not 1 <= args.days <= MAX_GENERATE_DAYS:
        raise InputError(f"--days {echo(args.days)} must be between 1 and {MAX_GENERATE_DAYS}")
    first = end - timedelta(days=args.days - 1)
    if first < FIRST_DAY:
        raise InputError(f"--days {args.days} ending {end} would start on {first}: {SUPPORTED}")
    faults = None if args.no_faults else default_demo_faults(end)
    try:
        manifest = generate_lake(lake, end=end, days=args.days, seed=args.seed, size=args.size, faults=faults)
    except (ValueError, FileExistsError) as exc:
        raise InputError(str(exc)) from None
    except OSError as exc:  # the lake cannot be made or written: a file in the way, no space
        raise storage_error(exc, lake) from None
    print(f"wrote a {args.size} lake of {args.days} days ending {end} to {lake}", file=args.stdout)
    for fault in manifest.faults:
        print(
            f"  planted {fault.fault} on {fault.dt}: expect {fault.check} on {fault.dataset} "
            f"-> {fault.severity or 'pass'}",
            file=args.stdout,
        )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
