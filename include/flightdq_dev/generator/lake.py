"""`generate_lake`: the sizes, and the steps that write a lake: raw snapshots, each day's processed
partition made by the ETL and registered in the local catalog, the planted faults, the manifest."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from flightdq.core.contract import PROCESSED_TABLE, RAW_BUCKET
from flightdq_dev.generator.common import partition_folder, run_etl
from flightdq_dev.generator.faults import validate_faults
from flightdq_dev.generator.manifest import MANIFEST_FILE, LakeManifest
from flightdq_dev.generator.planting import Planter
from flightdq_dev.generator.snapshots import GZIP_MODES, MIN_POLL_SECONDS, Snapshots
from flightdq_dev.generator.traffic import Traffic


@dataclass(frozen=True)
class SizeSpec:
    flights_per_weekday: int
    poll_seconds: int


SIZES: dict[str, SizeSpec] = {
    "small": SizeSpec(60, 600),  # tests
    "demo": SizeSpec(200, 600),  # `make demo`: a 40-day lake in seconds
    "global": SizeSpec(160_000, 300),  # benchmarks: millions of raw states per day
}


def generate_lake(
    root: Path,
    *,
    end: date,
    days: int,
    seed: int = 7,
    size: str = "demo",
    faults: dict[str, date] | None = None,
    poll_seconds: int | None = None,
    gzip: str = "mixed",
) -> LakeManifest:
    """Write a sample lake under `root` (which must be empty or absent) for the `days` UTC days
    ending at `end` inclusive, plant `faults` (fault name -> day), and return the manifest.
    `poll_seconds` (5..3600) overrides the size's poll interval; `gzip` is "mixed" (a seeded half
    of the raw objects gzipped), "all" or "none"."""
    if size not in SIZES:
        raise ValueError(f"size {size!r} is not one of {', '.join(SIZES)}")
    if days < 1:
        raise ValueError(f"days must be at least 1, not {days}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed}")
    poll = SIZES[size].poll_seconds if poll_seconds is None else int(poll_seconds)
    if not MIN_POLL_SECONDS <= poll <= 3600:
        raise ValueError(
            f"poll_seconds must be within {MIN_POLL_SECONDS}..3600 (every hour needs a snapshot), not {poll}"
        )
    if gzip not in GZIP_MODES:
        raise ValueError(f"gzip must be one of {', '.join(GZIP_MODES)}, not {gzip!r}")
    start = end - timedelta(days=days - 1)
    planned = validate_faults(faults or {}, start, end)

    root = Path(root).absolute()  # the catalog keeps absolute partition locations
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty; the generator writes only into a fresh folder")
    root.mkdir(parents=True, exist_ok=True)
    try:
        manifest = _generate(root, start, end, seed, size, poll, planned, gzip)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)  # everything in it is ours: no half-made lake is left
        raise
    path = root / MANIFEST_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(manifest.to_json())
    return manifest


def _generate(
    root: Path,
    start: date,
    end: date,
    seed: int,
    size: str,
    poll: int,
    planned: dict[str, date],
    gzip: str = "mixed",
) -> LakeManifest:
    spec = SIZES[size]
    traffic = Traffic(seed=seed, flights_per_weekday=spec.flights_per_weekday)
    snapshots = Snapshots(seed=seed, poll=poll, gzip=gzip)
    raw_objects = raw_states = 0
    for day in _days(start - timedelta(days=1), end):  # the day before: flights airborne at midnight
        traffic.schedule_day(day)
        if day >= start:
            objects, states = snapshots.write_raw_day(root / RAW_BUCKET, day, traffic)
            raw_objects += objects
            raw_states += states
        traffic.forget_before(day)

    from flightdq.backends.local.catalog import LocalCatalog

    catalog = LocalCatalog(root)
    rows: dict[str, int] = {}
    for day in _days(start, end):
        outcome = run_etl(root, day)
        rows[str(day)] = int(outcome.rows)
        location = partition_folder(root, day).relative_to(root).as_posix()  # portable: relative to the lake
        catalog.register(PROCESSED_TABLE, [(str(day), location)])

    planted = []
    for name, day in sorted(planned.items(), key=lambda item: (item[1], item[0])):
        planter = Planter(root, day, seed, catalog)
        planted.append(planter.plant(name))
        rows[str(day)] = planter.rows_after

    fault_days = {f.dt for f in planted}
    return LakeManifest(
        root=str(root),
        start=str(start),
        end=str(end),
        seed=seed,
        size=size,
        flights_per_weekday=spec.flights_per_weekday,
        healthy_days=[str(d) for d in _days(start, end) if str(d) not in fault_days],
        faults=planted,
        poll_seconds=poll,
        raw_objects=raw_objects,
        raw_states=raw_states,
        processed_rows=rows,
    )


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
