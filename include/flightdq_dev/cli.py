"""`flightdq-dev`: development commands that are not part of the product's CLI.

- `flightdq-dev generate`: write a sample lake (raw snapshots, processed partitions, catalog) with
  planted faults and a manifest of what each fault should make the checks say.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from flightdq.cli import EXIT_OK, EXIT_USAGE, _day, _Parser
from flightdq.core.dates import FIRST_DAY, SUPPORTED, InputError, echo, utcnow

MAX_GENERATE_DAYS = 3660  # about ten years of sample data


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flightdq-dev", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    generate = sub.add_parser("generate", help="write a sample lake with planted faults")
    generate.add_argument("--lake", type=Path, help="lake root (default: FLIGHTDQ_LAKE)")
    generate.add_argument("--end", type=_day, help="last day (default: yesterday, UTC)")
    generate.add_argument("--days", type=int, default=40)
    generate.add_argument("--seed", type=int, default=7)
    generate.add_argument("--size", default="demo", help="demo, small or global")
    generate.add_argument("--no-faults", action="store_true", help="a healthy lake")
    generate.add_argument(
        "--poll-seconds", type=int, help="seconds between raw snapshots, 5..3600 (default: the size's)"
    )
    generate.add_argument(
        "--gzip", default="mixed", choices=["mixed", "all", "none"], help="which raw objects are gzipped"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.stdout = sys.stdout
    try:
        return _generate(args)
    except InputError as exc:
        print(f"flightdq-dev: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _generate(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from flightdq.core.config import Settings
    from flightdq.storage.blobstore import storage_error
    from flightdq_dev.generator import SIZES, default_demo_faults, generate_lake

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
        manifest = generate_lake(
            lake,
            end=end,
            days=args.days,
            seed=args.seed,
            size=args.size,
            faults=faults,
            poll_seconds=args.poll_seconds,
            gzip=args.gzip,
        )
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
