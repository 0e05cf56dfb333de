"""`flightdq`: data-quality checks and repairs of the flight-data lake, from a shell: the command
on-call engineers script against (the runbook's validate-data-quality and pipeline-health scripts).

Exit status: 0 every check passed, 1 a check failed, 2 bad usage or bad input (one line on stderr).
Bad input includes the environment (`flightdq.core.errors.EnvironmentFault`): a lake that is missing,
not a lake (neither bucket folder in it), not a folder, unreadable or (for a command that writes)
read-only, a folder of it that cannot be listed, a bad policy file, no space left for flightdq's
records, a locked catalog, missing AWS credentials, an alerts file that is a folder. Days are limited to
the supported window (`flightdq.core.dates`), ranges to the policy's `validation.max_range_days`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import re
import sys
import uuid
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from flightdq.core.config import SCHEMA_ENGINES
from flightdq.core.contract import CHECKS, DATASETS
from flightdq.core.dates import (
    ECHO_LIMIT,
    InputError,
    day_range,
    echo,
    parse_day,
    parse_moment,
    utcnow,
)

if TYPE_CHECKING:
    from flightdq.backends.base import Backend
    from flightdq.core.config import Settings

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
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
    validate.add_argument(
        "--checks",
        action="store_true",
        help="list every failing check on its own row (default: one block per incident, its other "
        "symptoms folded into one line)",
    )
    validate.add_argument("--all", action="store_true", help="list every check, passing ones too")
    validate.add_argument(
        "--engine",
        choices=SCHEMA_ENGINES,
        help="what runs the schema-validity suite: sql (compiled, one query per range; the default "
        "unless the policy says otherwise) or gx (Great Expectations on pandas, a day at a time)",
    )

    remediate = sub.add_parser("remediate", help="re-run the ETL for broken days, then check them again")
    _add_range(remediate)
    remediate.add_argument("--dry-run", action="store_true", help="plan only; change nothing")
    remediate.add_argument(
        "--force",
        action="store_true",
        help="let a rebuild replace a partition with one that holds fewer rows or hours (recorded)",
    )
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
    # The amazon provider's hooks log their connection lookup ("Unable to find AWS Connection ID",
    # "Fallback on boto3 credential strategy") on every command; errors still get through. Airflow
    # sets its loggers' levels from its config when it is first imported, after this.
    if not getattr(args, "verbose", False):
        os.environ.setdefault(
            "AIRFLOW__LOGGING__NAMESPACE_LEVELS", "airflow.task.hooks=ERROR airflow.providers=ERROR"
        )
    # What the command answers goes to the real standard output; anything a library prints there
    # meanwhile (Airflow's logging does, once the AWS hooks are imported) goes to standard error,
    # so `--json` stays one JSON document.
    args.stdout = sys.stdout
    try:
        with contextlib.redirect_stdout(sys.stderr):
            return _dispatch(args)
    except BrokenPipeError:  # `flightdq validate ... | head`: the reader had enough; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # Python's exit flush must not fail
        return EXIT_OK


def _dispatch(args: argparse.Namespace) -> int:
    from flightdq.incidents.outbox import AlertDeliveryError

    try:
        if args.command == "validate":
            return _validate(args)
        if args.command == "remediate":
            return _remediate(args)
        if args.command == "catalog":
            return _catalog_repair(args)
        if args.command == "incident":
            return _incident(args)
    except InputError as exc:
        print(f"flightdq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except AlertDeliveryError as exc:  # a channel is down: everything is recorded, the alert waits
        print(f"flightdq: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:  # the storage refused a call no layer below turned into a StorageError
        from flightdq.storage.blobstore import ENVIRONMENT_ERRNOS, storage_error

        if exc.errno not in ENVIRONMENT_ERRNOS:
            raise
        print(f"flightdq: error: {storage_error(exc, exc.filename or 'the lake')}", file=sys.stderr)
        return EXIT_USAGE
    raise AssertionError(f"unhandled command {args.command}")


def _validate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from flightdq.checks.runner import run_checks, terminal_progress, validate_request
    from flightdq.core.config import Settings
    from flightdq.core.report import incidents_table, results_json, results_table, summary_line, summary_of
    from flightdq.incidents.reconcile import findings_by_incident
    from flightdq.incidents.store import IncidentStore

    as_of = _as_of(args)
    settings = Settings.from_env()
    if args.engine:
        policy = settings.policy
        schema = replace(policy.schema_validity, engine=args.engine)
        settings = replace(settings, policy=replace(policy, schema_validity=schema))
    days = day_range(
        args.date, args.to, max_days=settings.policy.validation.max_range_days, limit_name=RANGE_LIMIT
    )
    validate_request(days, as_of, args.check or CHECKS, args.dataset or DATASETS)
    backend = _backend(settings, writable=not args.no_record)  # checks the lake before anything runs
    results = run_checks(
        days,
        as_of,
        checks=args.check or CHECKS,
        datasets=args.dataset or DATASETS,
        backend=backend,
        settings=settings,
        record=not args.no_record,
        progress=None if args.json else terminal_progress(sys.stderr, len(days)),
        incident_days=IncidentStore(backend.blobs).unresolved_days,
    )
    incidents = findings_by_incident(results)
    summary = summary_of(results, incidents)
    if args.json:
        print(results_json(results, incidents, summary), file=args.stdout)
    else:
        if args.all or args.checks:
            print(results_table(results, show_passes=args.all), file=args.stdout)
        else:
            print(incidents_table(incidents, results), file=args.stdout)
        print(summary_line(summary), file=args.stdout)
    return EXIT_FAILED if any(r.failed for r in results) else EXIT_OK


def _remediate(args: argparse.Namespace) -> int:
    from flightdq.checks.runner import validate_request
    from flightdq.core.config import Settings
    from flightdq.incidents.notifiers import alerts_file, check_alerts_file
    from flightdq.recovery.execute import SETTLED, outcomes_table, remediate

    settings = Settings.from_env()
    as_of = _as_of(args)
    days = day_range(
        args.date, args.to, max_days=settings.policy.validation.max_range_days, limit_name=RANGE_LIMIT
    )
    validate_request(days, as_of, CHECKS, DATASETS)
    backend = _backend(settings, writable=not args.dry_run)  # the lake first: the alerts file may be in it
    if not args.dry_run:  # a real run may alert: where to must work before anything is repaired
        check_alerts_file(alerts_file(settings.lake))
    run_id = f"cli-remediate__{utcnow():%Y%m%dT%H%M%S}__{uuid.uuid4().hex[:8]}"
    notifiers = None
    if not args.dry_run:  # the DAGs' channels: the file, Slack and SNS through Airflow connections
        from flightdq.airflow.notifiers import notifiers_from_env

        notifiers = notifiers_from_env(settings.lake, settings.backend, settings.aws_conn_id)
    ended = remediate(
        backend, days, as_of, dry_run=args.dry_run, run_id=run_id, force=args.force, notifiers=notifiers
    )
    print(outcomes_table(ended), file=args.stdout)
    return EXIT_OK if all(o.outcome in SETTLED for o in ended) else EXIT_FAILED


def _backend(settings: Settings | None = None, *, writable: bool = True) -> Backend:
    """The configured backend, refusing in one line what would make every check an error: on AWS,
    no credentials (the local backend checks its lake root when it is made)."""
    from flightdq.airflow.aws import backend as airflow_backend  # on AWS, the DAGs' Airflow connection

    backend = airflow_backend(settings, writable=writable)
    backend.require_credentials()
    return backend


def _as_of(args: argparse.Namespace) -> datetime:
    """`--as-of`, or now when it was not given (given but empty is an error, not "now")."""
    return parse_moment(args.as_of) if args.as_of is not None else utcnow()


def _incident(args: argparse.Namespace) -> int:
    import json

    from flightdq.core.config import Settings
    from flightdq.incidents.reviews import write_review
    from flightdq.incidents.store import INCIDENT_ID_FORM, IncidentStore, by_severity, is_incident_id

    report = args.incident_command == "report"
    if report:  # what was asked is checked before the lake is opened or anything is written
        if not is_incident_id(args.incident_id):
            raise InputError(
                f"no incident {echo(args.incident_id)}: an incident id has the form {INCIDENT_ID_FORM}"
            )
        parse_day(args.incident_id.split("__")[0], "incident day")
        if args.out:
            _check_out(args.out)
    settings = Settings.from_env()
    backend = _backend(settings, writable=report)  # a listing only reads
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
        _warn_unreadable(store.unreadable)
        return EXIT_OK
    now = utcnow()
    incidents = by_severity(store.list() if args.all else store.open())
    _warn_unreadable(store.unreadable)
    response = settings.policy.incidents.response_minutes
    rows = [
        {
            "id": i.id,
            "title": i.title,
            "cause": f"{i.check} on {i.dataset}",
            "symptoms": [f"{s.check} on {s.dataset}" for s in i.symptoms[1:]],
            "state": str(i.state),
            "severity": i.severity,
            "opened_at": i.opened_at,
            "age_minutes": round(i.age_minutes(now)),
            "response_minutes": response.of(i.severity),
            "respond_within_minutes": max(0, round(response.of(i.severity) - i.age_minutes(now))),
            "overdue": not i.resolved and i.age_minutes(now) > response.of(i.severity),
            "acknowledged_by": i.acknowledged_by,
            "acknowledged_at": i.acknowledged_at,
        }
        for i in incidents
    ]
    if args.json:
        print(json.dumps({"incidents": rows}, indent=2), file=args.stdout)
        return EXIT_OK
    from tabulate import tabulate

    table = []
    for row in rows:
        late = row["age_minutes"] - row["response_minutes"]
        flag = f"OVERDUE by {late}m: " if row["overdue"] else ""
        symptoms = f" (+{len(row['symptoms'])} symptoms)" if row["symptoms"] else ""
        respond = "now" if row["overdue"] else f"{row['respond_within_minutes']}m"
        table.append(
            (
                row["severity"],
                row["id"],
                row["state"],
                f"{row['age_minutes']}m",
                respond,
                row["acknowledged_by"] or "-",
                f"{flag}{row['title']}{symptoms}",
            )
        )
    headers = ("sev", "incident", "state", "age", "respond in", "acknowledged by", "cause")
    aligns = ("left", "left", "left", "right", "right", "left", "left")
    print(
        tabulate(table, headers, tablefmt="plain", colalign=aligns, disable_numparse=True), file=args.stdout
    )
    print(f"{len(rows)} incident(s)" + ("" if args.all else " open"), file=args.stdout)
    return EXIT_OK


def _warn_unreadable(keys: Sequence[str]) -> None:
    """Records skipped as unreadable are the monitor's problem, said once on stderr; never fatal."""
    if keys:
        more = f" and {len(keys) - 3} more" if len(keys) > 3 else ""
        print(
            f"flightdq: warning: skipped {len(keys)} unreadable record file(s): {', '.join(keys[:3])}{more}",
            file=sys.stderr,
        )


def _check_out(path: Path) -> None:
    """`--out` names a file that can be written: its folder exists and it is not a folder itself."""
    if path.is_dir():
        raise InputError(f"--out {path} is a folder; give a file name")
    folder = path.parent
    if not folder.is_dir():
        raise InputError(f"--out {path}: the folder {folder} does not exist")


def _write_out(path: Path, text: str) -> None:
    from flightdq.storage.blobstore import storage_error

    try:
        path.write_text(text)
    except OSError as exc:
        raise storage_error(exc, path) from None


def _catalog_repair(args: argparse.Namespace) -> int:
    from flightdq.recovery.catalog_repair import repair_catalog

    if args.to and not args.date:
        raise InputError("--to needs --date")
    if args.date:
        day_range(args.date, args.to)
    added, relocated, skipped = repair_catalog(_backend(), args.date, args.to or args.date)
    print(
        f"registered {len(added)} partition(s)" + (f": {', '.join(added)}" if added else ""), file=args.stdout
    )
    if relocated:
        print(f"fixed the stale location of {len(relocated)}: {', '.join(relocated)}", file=args.stdout)
    if skipped:
        why = ", ".join(f"dt={dt} ({reason})" for dt, reason in skipped.items())  # NNNN-NN-NN names
        print(f"left alone {len(skipped)} folder(s) that are no day's partition: {why}", file=args.stdout)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
