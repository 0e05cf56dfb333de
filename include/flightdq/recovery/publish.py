"""Write-audit-publish of a rebuilt day: the repair's, not the job's.

The ETL job only WRITES (the job contract, docs/aws.md "The ETL job contract"): started with `--dt D`
and `--output_prefix <processed>/flightdata_processed/dt=D/run=<run id>/`, it writes Parquet files
with exactly `contract.processed_arrow_schema()` under that prefix, optionally `_SKIPPED.json` (the
raw keys it could not read), then an empty `_SUCCESS` last, and nothing anywhere else.

Once the run ended, the repair (this module) does the rest, whoever's job it was:

1. CONTAIN: every object of the processed table written since the run started that lies outside the
   run's prefix is the job breaking the contract. Those a reader could see (anything of day D outside
   the prefix, a file directly under another day's folder or under its catalog Location, anything
   outside the `dt=` folders) are deleted and the repair fails (`WroteOutsidePrefix`); an object
   the job overwrote in place is deleted too, and named (what it held cannot be restored). A new
   `run=` prefix of another day is left alone: no reader sees it, and it may be that day's own
   repair at work.
2. AUDIT the prefix (`audit_output`): `_SUCCESS` is there and no data was written after it, every
   other object is a top-level Parquet file whose footer reads and whose schema is the contract's,
   no flight_id twice, and the day's coverage (`coverage`: flights and the hours they start in) is
   no less than the partition it replaces (`audit_replacement`; never fewer unless forced).
3. PUBLISH: on S3 the Glue partition's Location is pointed at the prefix in one UpdatePartition call
   (`point_partition_at`: readers see the old files or the new ones, never both); on the embedded
   lake the prefix's files are moved into the day's folder by the atomic local swap (`swap_in`).
4. CLEAN: the old objects go (the flat files, the old Location, other runs' prefixes older than this
   run); unreadable raw snapshots the job named are recorded in the quarantine (presence counts them
   as missing from now on).

Any refusal deletes the run's prefix and leaves the old partition as it was: same files, same bytes,
catalog Location unchanged. Refusals are typed (`RepairRefused` and its kinds): retrying the same job
on the same input gives the same answer, so the repair is not retried.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flightdq.backends.base import BackendError
from flightdq.core import layout
from flightdq.core.contract import PROCESSED_BUCKET, PROCESSED_PREFIX, RAW_BUCKET
from flightdq.core.layout import is_data_file
from flightdq.etl.partitions import RUN_FOLDER, SUCCESS_MARKER
from flightdq.etl.transform import SKIPPED_FILE

if TYPE_CHECKING:
    import pyarrow as pa

    from flightdq.etl.transform import EtlOutcome

log = logging.getLogger(__name__)

# An object of a run's prefix modified more than this after its `_SUCCESS` was written after it
# (S3 stamps objects to the second; the job's uploads may finish out of order within that).
CLOCK_SLACK_SECONDS = 2.0
SWAP_GRACE_SECONDS = 1.0  # how long an old partition swapped out stays readable for readers already in it


# --- typed refusals ----------------------------------------------------------------------------------


class RepairRefused(BackendError):
    """The repair kept the old partition: what the job wrote may not replace it. Retrying the same job
    on the same input gives the same answer. `kind` names the reason for records and outcomes."""

    kind = "refused"


class ShrinkRefused(RepairRefused):
    """The rebuilt partition would hold fewer flights or cover fewer hours than the one it replaces."""

    kind = "shrink_refused"


class JobContractBroken(RepairRefused):
    """The job did not honour the ETL job contract."""

    kind = "contract_broken"


class NoOutput(JobContractBroken):
    """The run wrote no `_SUCCESS`, or no data file, under its prefix (or was given no prefix)."""

    kind = "no_output"


class UnreadableOutput(JobContractBroken):
    """A file under the prefix is no readable Parquet file, or an object there is no data file."""

    kind = "unreadable_output"


class WrongSchema(JobContractBroken):
    """A file under the prefix does not have exactly the contract's processed schema."""

    kind = "wrong_schema"


class DuplicateFlights(JobContractBroken):
    """The prefix holds a flight_id more than once (the job wrote its output twice)."""

    kind = "duplicate_flights"


class WroteAfterSuccess(JobContractBroken):
    """Data was written under the prefix after its `_SUCCESS` marker (the job succeeded twice)."""

    kind = "wrote_after_success"


class WroteOutsidePrefix(JobContractBroken):
    """The job wrote (or overwrote) objects outside its run prefix."""

    kind = "wrote_outside_prefix"


class JobKilled(BaseException):
    """Raised by a test's `pause` hook to stand for the repair dying there: no cleanup runs."""


# --- never make a day worse -------------------------------------------------------------------------


@dataclass(frozen=True)
class Coverage:
    """How much of its day a partition holds: its flights (distinct `flight_id`s, so duplicated rows
    are no loss when a rebuild drops them) and the UTC hours its flights start in."""

    rows: int
    hours: frozenset[int]

    def __str__(self) -> str:
        return f"{self.rows} flights in {len(self.hours)} hours"


def coverage(table: pa.Table) -> Coverage:
    import pyarrow.compute as pc

    flights = (
        len(pc.unique(table.column("flight_id"))) if "flight_id" in table.column_names else table.num_rows
    )
    if table.num_rows == 0 or "first_seen" not in table.column_names:
        return Coverage(flights, frozenset())
    hours = pc.unique(pc.hour(table.column("first_seen").drop_null())).to_pylist()
    return Coverage(flights, frozenset(int(h) for h in hours))


def coverage_of_files(files: Iterable[Any]) -> Coverage | None:
    """The coverage of a stored partition (paths or seekable file objects), or None when it cannot be
    read (a broken partition is no yardstick: replacing it cannot make the day worse)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    parts = []
    try:
        for source in files:
            columns = [c for c in ("flight_id", "first_seen") if c in pq.read_schema(source).names]
            parts.append(pq.read_table(source, columns=columns))
    except (OSError, ValueError, pa.ArrowException):
        return None
    return coverage(pa.concat_tables(parts)) if parts else Coverage(0, frozenset())


def audit_replacement(day: date | str, new: Coverage, old: Coverage | None, *, force: bool) -> str:
    """Refuse (ShrinkRefused) to replace a partition with one that holds fewer rows or covers fewer
    hours, unless `force`. Returns what the replacement is, for the outcome and the logs."""
    if old is None:
        return f"replaced an unreadable or missing partition with {new}"
    lost_hours = sorted(old.hours - new.hours)
    shrinks = new.rows < old.rows or bool(lost_hours)
    if shrinks and not force:
        hours = f"; hours lost: {', '.join(f'{h:02d}' for h in lost_hours)}" if lost_hours else ""
        raise ShrinkRefused(
            f"dt={day}: refused: the rebuilt partition ({new}) holds less than the one it would replace "
            f"({old}){hours}; the old partition is kept (force to replace it anyway)"
        )
    if shrinks:
        log.warning("dt=%s: FORCED: replacing %s with %s", day, old, new)
        return f"FORCED: replaced {old} with {new}"
    return f"replaced {old} with {new}"


@dataclass(frozen=True)
class StoredObject:
    """One object under a run prefix: its name relative to the prefix, size, modification time
    (seconds since the epoch) and how to open it (a path or a seekable file object)."""

    name: str
    size: int
    modified: float
    open: Callable[[], Any]


def audit_output(dt: str, objects: list[StoredObject]) -> tuple[Coverage, int]:
    """What a run wrote under its prefix, read back: `_SUCCESS` there and nothing written after it,
    every other object (but `_`/`.` names) a top-level Parquet file whose footer reads, with exactly
    the contract's schema, no flight_id twice. Returns its coverage and row count; raises the typed
    refusal otherwise."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from flightdq.core.contract import processed_arrow_schema

    marker = next((o for o in objects if o.name == SUCCESS_MARKER), None)
    if marker is None:
        raise NoOutput(f"dt={dt}: the run wrote no {SUCCESS_MARKER} under its prefix: it did not finish")
    data = [o for o in objects if is_data_file(o.name)]
    strays = [o.name for o in objects if o not in data and not o.name.startswith(("_", "."))]
    if strays:
        raise UnreadableOutput(
            f"dt={dt}: the run's prefix holds objects that are no top-level Parquet data file: "
            f"{', '.join(sorted(strays)[:5])}"
        )
    if not data:
        raise NoOutput(f"dt={dt}: the run wrote {SUCCESS_MARKER} but no Parquet file under its prefix")
    late = [o.name for o in data if o.modified > marker.modified + CLOCK_SLACK_SECONDS]
    if late:
        raise WroteAfterSuccess(
            f"dt={dt}: data was written under the run's prefix after its {SUCCESS_MARKER}: "
            f"{', '.join(sorted(late)[:5])}"
        )
    expected = processed_arrow_schema()
    parts = []
    for obj in data:
        try:
            with _opened(obj) as source:
                schema = pq.read_schema(source)
                if not schema.equals(expected):
                    raise WrongSchema(
                        f"dt={dt}: {obj.name} does not have the contract's processed schema: "
                        f"{_schema_difference(schema, expected)}"
                    )
                parts.append(pq.read_table(source, columns=["flight_id", "first_seen"]))
        except (OSError, ValueError, pa.ArrowException) as exc:
            raise UnreadableOutput(f"dt={dt}: {obj.name} cannot be read as Parquet: {exc}") from None
    table = pa.concat_tables(parts)
    found = coverage(table)
    if found.rows != table.num_rows:
        counts = pc.value_counts(table.column("flight_id"))
        twice = [c["values"] for c in counts.to_pylist() if c["counts"] > 1]
        raise DuplicateFlights(
            f"dt={dt}: the run's files hold {table.num_rows - found.rows} row(s) whose flight_id is there "
            f"already ({', '.join(map(str, twice[:3]))}): the job wrote its output more than once"
        )
    return found, table.num_rows


@contextmanager
def _opened(obj: StoredObject) -> Iterator[Any]:
    source = obj.open()
    try:
        yield source
    finally:
        if hasattr(source, "close"):
            source.close()


def _schema_difference(got: pa.Schema, expected: pa.Schema) -> str:
    have = {f.name: f for f in got}
    want = {f.name: f for f in expected}
    problems = [f"missing {n}" for n in want if n not in have]
    problems += [f"unexpected {n}" for n in have if n not in want]
    problems += [
        f"{n} is {have[n].type}{'' if have[n].nullable else ' not null'}, the contract says "
        f"{want[n].type}{'' if want[n].nullable else ' not null'}"
        for n in want
        if n in have and not have[n].equals(want[n])
    ]
    if not problems and got.names != expected.names:
        problems.append("the columns are in another order")
    return "; ".join(problems[:5]) or "its metadata differs"


@dataclass
class Published:
    """What a publish did."""

    dt: str
    rows: int
    location: str  # where readers find the day now
    replaced: str  # what it replaced, and whether that took `force`
    previous_location: str | None = None
    registered: bool = False  # True when the day was not in the catalog before (S3)
    deleted: list[str] = field(default_factory=list)  # old objects removed
    left_behind: list[str] = field(default_factory=list)  # old objects whose deletion failed
    skipped: list[str] = field(default_factory=list)  # raw keys the job could not read (under the raw bucket)


def _skipped_keys(dt: str, body: bytes | None) -> list[str]:
    """The raw keys a run named in `_SKIPPED.json` (a JSON list of keys under the raw bucket)."""
    if body is None:
        return []
    try:
        keys = json.loads(body)
    except ValueError:
        raise UnreadableOutput(f"dt={dt}: {SKIPPED_FILE} is not JSON") from None
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise UnreadableOutput(f"dt={dt}: {SKIPPED_FILE} is not a JSON list of keys")
    return sorted(k.removeprefix(f"{RAW_BUCKET}/") for k in keys)


def _outside_verdict(key: str, run_prefix: str, dt: str, live: Callable[[str], str | None]) -> str:
    """What an object of the processed table written during a run, outside its prefix, is: "visible"
    (a reader can see it, or it is day D's: the job broke the contract), or "unseen" (another day's
    `run=` prefix that is not its Location: no reader sees it, and it may be that day's own repair).
    `key` and `run_prefix` are relative to the processed bucket; `live(dt)` is a day's live prefix."""
    base = f"{PROCESSED_PREFIX}/dt="
    if not key.startswith(base):
        return "visible"
    folder, slash, rest = key[len(base) :].partition("/")
    if not slash or folder == dt or not layout.is_partition_value(folder):
        return "visible"
    run, slash, _ = rest.partition("/")
    if not slash or not run.startswith(RUN_FOLDER):
        return "visible"  # a file directly under another day's folder, or a folder Athena may read
    day_run = f"{PROCESSED_PREFIX}/dt={folder}/{run}/"
    return "visible" if live(folder) == day_run else "unseen"


def _own_day_and_others(keys: list[str], dt: str) -> tuple[list[str], list[str]]:
    """Keys written outside the run's prefix, split into day D's (the repair's alone, one ETL run per
    day: the job's, to delete) and other days' (maybe another writer's: named, never deleted)."""
    own_day = f"{PROCESSED_PREFIX}/dt={dt}/"
    return [k for k in keys if k.startswith(own_day)], [k for k in keys if not k.startswith(own_day)]


def _describe_outside(deleted: list[str], failed: list[str], others: list[str]) -> str:
    parts = []
    if deleted:
        text = (
            f"{len(deleted)} object(s) written since the run started, deleted again: {', '.join(deleted[:5])}"
        )
        if failed:
            text += f"; could not delete: {', '.join(failed[:5])}"
        parts.append(text)
    if others:
        parts.append(
            f"{len(others)} object(s) of other days written since the run started, left in place "
            f"(they may be another writer's; check them): {', '.join(others[:5])}"
        )
    return "; ".join(parts)


# --- a backend's run --------------------------------------------------------------------------------


def publish_run(backend: Any, run: Any, *, force: bool = False) -> Published:
    """Contain, audit and publish what a run that ended SUCCEEDED (`EtlRun`) wrote, on the backend's
    storage (the embedded lake, or S3 and the Glue catalog), and record the raw snapshots it named
    unreadable in the quarantine. Raises a typed RepairRefused (the prefix deleted, the old partition
    untouched), or BackendError."""
    if not run.output_prefix:
        raise NoOutput(
            f"dt={run.dt}: run {run.run_id} was started without --output_prefix (not by a repair): "
            "it has nothing of the job contract to publish"
        )
    day = date.fromisoformat(run.dt)
    if backend.name == "local":
        published = publish_local(
            backend.lake,
            day,
            backend.lake / run.output_prefix,
            started=run.started_at,
            force=force,
            attached=run.attached,
        )
        sizes = {}
        for key in published.skipped:
            with suppress(OSError):
                sizes[key] = (backend.lake / RAW_BUCKET / key).stat().st_size
    else:
        from flightdq.etl.s3_io import list_objects

        s3, glue = backend.publish_clients()
        published = publish_s3(s3, glue, run.dt, run.output_prefix, started=run.started_at, force=force)
        listed = {}
        if published.skipped:  # sizes from the day's listing (the role lists raw keys, never reads them)
            prefix = layout.raw_day_prefix(day)
            listed = {o["Key"]: o["Size"] for o in list_objects(s3, Bucket=RAW_BUCKET, Prefix=prefix)}
        sizes = {key: listed.get(key) for key in published.skipped}
    if sizes:  # raw objects found unreadable: missing snapshots from now on
        backend.history.write_quarantine(run.dt, {k: v for k, v in sizes.items() if v is not None})
    return published


def discard_run(backend: Any, run: Any) -> None:
    """Delete what a run that failed wrote under its prefix (garbage no reader sees)."""
    if not run.output_prefix:
        return
    try:
        if backend.name == "local":
            discard_local(backend.lake / run.output_prefix)
        else:
            s3, _glue = backend.publish_clients()
            discard_s3(s3, run.output_prefix)
    except Exception as exc:  # the run's failure matters more; the next publish deletes the rest
        log.warning(
            "dt=%s: could not delete %s of failed run %s: %s", run.dt, run.output_prefix, run.run_id, exc
        )


# --- S3 and the Glue catalog -------------------------------------------------------------------------


def run_prefix_uri(dt: str, run_id: str, bucket: str = PROCESSED_BUCKET) -> str:
    """The output prefix a run of the day is given: `s3://<bucket>/flightdata_processed/dt=D/run=<id>/`."""
    return f"s3://{bucket}/{layout.processed_partition_prefix(dt)}{RUN_FOLDER}{safe_run_id(run_id)}/"


def safe_run_id(run_id: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_-]", "_", run_id)[:100] or uuid.uuid4().hex


def discard_s3(s3: Any, output_prefix: str) -> None:
    """Delete what a run wrote under its prefix (a failed or refused run): garbage no reader sees."""
    from flightdq.etl.partitions import split_location
    from flightdq.etl.s3_io import delete_keys, list_keys

    bucket, prefix = split_location(output_prefix)
    if _is_run_prefix(prefix):
        delete_keys(s3, bucket, list_keys(s3, bucket, prefix))


def _is_run_prefix(prefix: str) -> bool:
    base = f"{PROCESSED_PREFIX}/dt="
    folder, _, rest = prefix.removeprefix(base).partition("/")
    return (
        prefix.startswith(base)
        and layout.is_partition_value(folder)
        and rest.startswith(RUN_FOLDER)
        and rest.endswith("/")
        and rest.count("/") == 1
    )


def publish_s3(
    s3: Any,
    glue: Any,
    dt: str,
    output_prefix: str,
    *,
    started: float | None,
    force: bool = False,
    pause: Callable[[str], None] | None = None,
) -> Published:
    """Contain, audit and publish what a run wrote under `output_prefix` (an s3:// URI of the day's
    `run=` prefix; see the module's doc). `started`: when the run started (seconds since the epoch;
    None: unknown, then nothing outside the prefix is judged). Any refusal deletes the prefix and
    raises; AWS errors raise BackendError (readers keep the old partition unless the swap happened).

    Test hook: `pause(stage)` is called at "audited" (prefix audited, partition not switched yet) and
    "switched" (partition switched, old objects not deleted yet); raising JobKilled there stands for
    the repair dying at that point (nothing is cleaned up).
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from flightdq.core.errors import describe_error
    from flightdq.etl.partitions import (
        DayObjects,
        catalog_location,
        group_by_day,
        location_uri,
        point_partition_at,
        split_location,
    )
    from flightdq.etl.s3_io import S3RangeReader, delete_keys, list_objects

    bucket, run_prefix = split_location(output_prefix)
    day_prefix = layout.processed_partition_prefix(dt)
    if bucket != PROCESSED_BUCKET or not _is_run_prefix(run_prefix) or not run_prefix.startswith(day_prefix):
        raise NoOutput(f"dt={dt}: {output_prefix!r} is not a run prefix of the day: nothing to publish")
    try:
        try:
            listed = list(list_objects(s3, Bucket=bucket, Prefix=f"{PROCESSED_PREFIX}/"))
            stored = group_by_day(listed, f"{PROCESSED_PREFIX}/").get(dt) or DayObjects(dt)
            registered_at = catalog_location(glue, dt)
            if started is not None:
                _contain_s3(s3, glue, bucket, dt, run_prefix, listed, started, registered_at)
            ours = stored.runs.get(run_prefix, [])
            objects = [
                StoredObject(
                    o["Key"][len(run_prefix) :],
                    o["Size"],
                    _epoch(o.get("LastModified")),
                    lambda o=o: S3RangeReader(s3, bucket, o["Key"], o["Size"]),
                )
                for o in ours
            ]
            new, rows = audit_output(dt, objects)
            skipped_body = next(
                (
                    s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                    for o in ours
                    if o["Key"] == run_prefix + SKIPPED_FILE
                ),
                None,
            )
            skipped = _skipped_keys(dt, skipped_body)
            if registered_at is not None:
                old_bucket, old_prefix = split_location(registered_at)
            else:
                old_bucket, old_prefix = bucket, stored.stored_prefix()
            if old_prefix == run_prefix and old_bucket == bucket:
                old_prefix = None  # never audit the run against itself
            old_data = _old_data(s3, stored, bucket, old_bucket, old_prefix)
            before = coverage_of_files([S3RangeReader(s3, old_bucket, o["Key"], o["Size"]) for o in old_data])
            replaced = audit_replacement(dt, new, before if old_data else None, force=force)
        except RepairRefused:
            log.error("dt=%s: removing the run's prefix %s; the old partition stays", dt, run_prefix)
            discard_s3(s3, output_prefix)
            raise
        if pause is not None:
            pause("audited")
        new_location = location_uri(run_prefix, bucket)
        # THE SWAP. A failure here leaves the new prefix as garbage (the call may have been applied
        # even if its answer was lost: deleting the prefix could take the day from readers).
        created = point_partition_at(glue, dt, new_location)
        if pause is not None:
            pause("switched")
        # Garbage now, all as listed before the swap: the objects directly under dt=D/ (the old flat
        # layout, or what a repair that died after its swap left) and every other run= prefix last
        # written before this run started (the old Location, leftovers of runs that died before their
        # swap; a prefix written since may be a later run's, at work). Never a deeper folder that is
        # no run= prefix, never a Location outside dt=D/.
        garbage = [o["Key"] for o in stored.flat]
        for run, run_objects in stored.runs.items():
            newest = max(_epoch(o.get("LastModified")) for o in run_objects)
            if run != run_prefix and (started is None or newest < started or run == old_prefix):
                garbage += [o["Key"] for o in run_objects]
        failed = delete_keys(s3, bucket, garbage)
    except (BotoCoreError, ClientError) as exc:
        raise BackendError(
            f"dt={dt}: publishing {output_prefix}: AWS call failed: {describe_error(exc)}"
        ) from exc
    if failed:
        log.warning(
            "dt=%s: %d old object(s) could not be deleted (no reader sees them; the next repair "
            "deletes them): %s",
            dt,
            len(failed),
            "; ".join(failed[:5]),
        )
    failed_keys = {f.rsplit(": ", 1)[0] for f in failed}
    log.info("dt=%s: published %s (%s)", dt, new_location, replaced)
    return Published(
        dt=dt,
        rows=rows,
        location=new_location,
        replaced=replaced,
        previous_location=registered_at or (location_uri(old_prefix, old_bucket) if old_prefix else None),
        registered=created,
        deleted=[f"s3://{bucket}/{k}" for k in garbage if k not in failed_keys],
        left_behind=[f"s3://{bucket}/{k}" for k in sorted(failed_keys)],
        skipped=skipped,
    )


def _contain_s3(
    s3: Any,
    glue: Any,
    bucket: str,
    dt: str,
    run_prefix: str,
    listed: list[dict[str, Any]],
    started: float,
    registered_at: str | None,
) -> None:
    """Step 1 on S3 (the module's doc): delete what the run created outside its prefix where a
    reader could see it, and refuse."""
    from flightdq.etl.partitions import catalog_location, split_location
    from flightdq.etl.s3_io import delete_keys

    # S3 lists LastModified to the second (truncated). An object stamped in the second the run started
    # may be older than the run (a writer a moment before it), and a job writes nothing in its first
    # second (a Glue run takes seconds to start), so only later seconds count as the run's.
    since = math.floor(started) + 1
    written = [
        o for o in listed if not o["Key"].startswith(run_prefix) and _epoch(o.get("LastModified")) >= since
    ]
    if not written:
        return
    locations: dict[str, str | None] = {dt: registered_at}

    def live(day: str) -> str | None:
        if day not in locations:
            location = catalog_location(glue, day)
            locations[day] = split_location(location)[1] if location else None
        return locations[day]

    visible = [o["Key"] for o in written if _outside_verdict(o["Key"], run_prefix, dt, live) == "visible"]
    if not visible:
        log.info("dt=%s: %d new object(s) under other days' run prefixes left alone", dt, len(written))
        return
    deletable, others = _own_day_and_others(visible, dt)
    failed = delete_keys(s3, bucket, deletable)
    discard_s3(s3, location_of(bucket, run_prefix))
    text = _describe_outside(
        [location_of(bucket, k) for k in deletable], failed, [location_of(bucket, k) for k in others]
    )
    raise WroteOutsidePrefix(f"dt={dt}: the job wrote outside its prefix {run_prefix}: {text}")


def location_of(bucket: str, prefix: str) -> str:
    return f"s3://{bucket}/{prefix}"


def _old_data(
    s3: Any, stored: Any, processed_bucket: str, bucket: str, prefix: str | None
) -> list[dict[str, Any]]:
    """The data objects readers see now: from the day's listing when the prefix is inside it, else
    listed (a Location elsewhere: a foreign bucket or prefix)."""
    from flightdq.etl.partitions import data_objects
    from flightdq.etl.s3_io import list_objects

    if prefix is None:
        return []
    if bucket == processed_bucket and prefix.startswith(stored.prefix):
        return data_objects(stored.objects_under(prefix), prefix)
    return data_objects(list(list_objects(s3, Bucket=bucket, Prefix=prefix)), prefix)


def _epoch(moment: Any) -> float:
    if isinstance(moment, datetime):
        return moment.timestamp()
    return float(moment or 0)


# --- the embedded lake -------------------------------------------------------------------------------


def run_folder(lake_root: Path, dt: date | str, run_id: str) -> Path:
    """The output prefix a local run of the day is given: `<lake>/flightdata-processed/
    flightdata_processed/dt=D/run=<id>/` (the S3 key layout under the lake folder). Make it before the
    job starts and take its modification time as the run's start (`start_local_run`)."""
    return (
        Path(lake_root)
        / PROCESSED_BUCKET
        / layout.processed_partition_prefix(dt)
        / f"{RUN_FOLDER}{safe_run_id(run_id)}"
    )


def start_local_run(folder: Path) -> float:
    """Make a run's folder (empty) and return its modification time: the run's start on the file
    system's clock, which publish compares the files' times with."""
    folder.mkdir(parents=True)
    return folder.stat().st_mtime


def discard_local(folder: Path) -> None:
    """Delete a run's folder (a failed or refused run)."""
    if folder.name.startswith(RUN_FOLDER):
        shutil.rmtree(folder, ignore_errors=True)
        with suppress(OSError):  # a day's folder made only to hold the run's: not a partition
            folder.parent.rmdir()


def publish_local(
    lake_root: Path,
    day: date,
    output_prefix: Path,
    *,
    started: float | None,
    force: bool = False,
    attached: bool = False,
    mark: bool = True,
) -> Published:
    """Contain, audit and publish what a local run wrote into `output_prefix` (the day's `run=`
    folder; see the module's doc). The day's files are replaced whole by the atomic local swap
    (`swap_in`), under the day's lock; a crash mid-swap is repaired by the next publish.
    `attached`: the caller waited for a run another repair started, which publishes it too: a folder
    already published by it is a success, one it refused a refusal (`mark`: note the run folder
    published beside the day, hidden, for such callers; no job registry, no such callers: False)."""
    lake_root = Path(lake_root)
    dt = str(day)
    partition = lake_root / PROCESSED_BUCKET / layout.processed_partition_prefix(dt)
    output_prefix = Path(output_prefix)
    parent = partition.parent
    if output_prefix.parent != partition or not output_prefix.name.startswith(RUN_FOLDER):
        raise NoOutput(f"dt={dt}: {output_prefix} is not a run folder of the day: nothing to publish")
    try:
        with day_lock(parent, dt):
            recover(parent, dt)
            if attached and not output_prefix.exists():
                return _published_already(lake_root, partition, output_prefix)
            try:
                if started is not None:
                    _contain_local(lake_root, dt, output_prefix, started)
                objects = _local_objects(output_prefix)
                new, rows = audit_output(dt, objects)
                skipped_file = output_prefix / SKIPPED_FILE
                skipped = _skipped_keys(dt, skipped_file.read_bytes() if skipped_file.is_file() else None)
                old_files = layout.data_files(partition)
                old = coverage_of_files(old_files) if old_files else None
                replaced = audit_replacement(dt, new, old, force=force)
            except RepairRefused:
                log.error("dt=%s: removing the run's folder %s; the old partition stays", dt, output_prefix)
                discard_local(output_prefix)
                raise
            staging = parent / f".dt={dt}.staging-{uuid.uuid4().hex}"
            try:
                output_prefix.rename(staging)  # out of the day's folder, so the swap can exchange it
                for marker in (SUCCESS_MARKER, SKIPPED_FILE):  # the run's, not the partition's
                    (staging / marker).unlink(missing_ok=True)
                swap_in(staging, partition, dt)
                if mark:
                    published_marker(parent, dt).write_text(output_prefix.name)
            finally:
                shutil.rmtree(staging, ignore_errors=True)  # gone already after a successful swap
            stale = [
                run
                for run in partition.iterdir()
                if run.is_dir()
                and run.name.startswith(RUN_FOLDER)
                and (started is None or _newest(run) < started)
            ]
            for run in stale:
                shutil.rmtree(run, ignore_errors=True)
    except OSError as exc:
        raise BackendError(f"dt={dt}: file system error while publishing: {exc}") from exc
    return Published(
        dt=dt,
        rows=rows,
        location=partition.relative_to(lake_root).as_posix(),
        replaced=replaced,
        previous_location=partition.relative_to(lake_root).as_posix() if old_files else None,
        deleted=[p.relative_to(lake_root).as_posix() for p in stale],
        skipped=skipped,
    )


def published_marker(parent: Path, dt: str) -> Path:
    """Beside a local day's folder (hidden, as its lock): the name of the run folder it was last
    published from."""
    return parent / f".dt={dt}.published"


def rebuild_local(
    lake_root: Path, day: date, *, force: bool = False, fail_after_write: bool = False
) -> EtlOutcome:
    """Rebuild the day's processed partition in a local lake, job and repair in one call (the
    generator's and the bench's): our local job writes into a run folder of the day
    (`flightdq.etl.transform.run_local_job`), then
    `publish_local` audits it against the partition it replaces (never fewer flights or hours unless
    `force`: `ShrinkRefused`) and swaps it in atomically. A failure leaves the old partition
    untouched. The catalog is not touched; no job registry is involved (the backend's `run_etl` is).

    `fail_after_write=True` is a FAULT-INJECTION HOOK for tests only: it raises EtlError after the
    job wrote its folder, before the publish.
    """
    import dataclasses

    from flightdq.etl.transform import PART_FILE, EtlError, run_local_job

    lake_root = Path(lake_root)
    folder = run_folder(lake_root, day, f"local-{uuid.uuid4().hex[:16]}")
    try:
        started = start_local_run(folder)
        outcome = run_local_job(lake_root, day, folder)
        if fail_after_write:
            raise EtlError(
                f"dt={day}: fault injected after the run folder was written (fail_after_write=True)"
            )
    except BaseException:
        discard_local(folder)
        raise
    try:
        published = publish_local(lake_root, day, folder, started=started, force=force, mark=False)
    finally:
        discard_local(folder)  # gone already once published or refused
    partition = lake_root / PROCESSED_BUCKET / layout.processed_partition_prefix(day)
    return dataclasses.replace(
        outcome,
        files=[(partition / PART_FILE).relative_to(lake_root).as_posix()],
        replaced=published.replaced,
    )


def _published_already(lake_root: Path, partition: Path, output_prefix: Path) -> Published:
    """A run folder that is gone: published by the run's owner (a caller that attached to the run
    publishes it too), or discarded by it (refused)."""
    dt = partition.name.removeprefix("dt=")
    marker = published_marker(partition.parent, dt)
    if not marker.is_file() or marker.read_text().strip() != output_prefix.name:
        raise NoOutput(
            f"dt={dt}: {output_prefix.name} is gone and was not published: the repair that ran it "
            "refused it or it was never written (see that repair's outcome)"
        )
    import pyarrow.parquet as pq

    rows = sum(pq.read_metadata(p).num_rows for p in layout.data_files(partition))
    location = partition.relative_to(lake_root).as_posix()
    return Published(dt, rows, location, f"published already by the run's owner ({output_prefix.name})")


def _newest(folder: Path) -> float:
    times = [folder.stat().st_mtime] + [p.stat().st_mtime for p in folder.rglob("*")]
    return max(times)


def _local_objects(folder: Path) -> list[StoredObject]:
    if not folder.is_dir():
        return []
    return [
        StoredObject(
            path.relative_to(folder).as_posix(),
            path.stat().st_size,
            path.stat().st_mtime,
            lambda path=path: str(path),
        )
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    ]


def _contain_local(lake_root: Path, dt: str, output_prefix: Path, started: float) -> None:
    """Step 1 on the embedded lake (the module's doc). `started` is the run folder's modification
    time when it was made, just before the job started (the file system's clock, as the files')."""
    root = lake_root / PROCESSED_BUCKET
    run_prefix = output_prefix.relative_to(root).as_posix() + "/"
    written = []
    for path in root.rglob("*"):
        key = path.relative_to(root).as_posix()
        if key.startswith(run_prefix) or not path.is_file() or _machinery(key):
            continue
        if path.stat().st_mtime <= started:  # the file system's clock on both sides: no slack needed
            continue
        # the local catalog's Location of a day is its folder: no run= folder is ever live
        if _outside_verdict(key, run_prefix, dt, lambda day: None) == "visible":
            written.append(key)
    if not written:
        return
    # A file the job overwrote in place cannot be told from one it made (both are deleted in day D).
    deletable, others = _own_day_and_others(written, dt)
    failed = []
    for key in deletable:
        try:
            (root / key).unlink()
        except OSError as exc:
            failed.append(f"{key}: {exc.strerror}")
    discard_local(output_prefix)
    text = _describe_outside(deletable, failed, others)
    raise WroteOutsidePrefix(f"dt={dt}: the job wrote outside its folder {output_prefix}: {text}")


def _machinery(key: str) -> bool:
    """The publish's own files beside the days: locks, staging folders, old copies mid-swap."""
    first = key.split("/", 2)
    return len(first) > 1 and first[1].startswith(".dt=")


LOCK_WAIT_SECONDS = 600.0  # how long a publish waits for another one of the same day


@contextmanager
def day_lock(parent: Path, day: date | str, wait_seconds: float | None = None) -> Iterator[None]:
    """One publish per day at a time in this lake (recovery deletes leftovers a concurrent one would
    own): wait for the other one (at most `wait_seconds`, default `LOCK_WAIT_SECONDS`)."""
    import fcntl

    wait_seconds = LOCK_WAIT_SECONDS if wait_seconds is None else wait_seconds
    deadline = time.monotonic() + wait_seconds
    with (parent / f".dt={day}.lock").open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise BackendError(
                        f"dt={day}: another repair of this day is still publishing after {wait_seconds:.0f}s"
                    ) from None
                time.sleep(0.1)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def recover(parent: Path, day: date | str) -> None:
    """Repair what a crashed publish left: restore the old partition if it was moved away and the new
    one never moved in; delete old copies and staging folders that are no longer needed."""
    partition = parent / f"dt={day}"
    olds = sorted(parent.glob(f".dt={day}.old-*"), key=lambda p: p.stat().st_mtime)
    # The day's folder may be there without data: a run folder made in it since the crash.
    if olds and not (partition.exists() and layout.data_files(partition)):
        restored = olds.pop()
        if partition.exists():
            _move_files_in(layout.data_files(restored), partition)
            shutil.rmtree(restored, ignore_errors=True)
        else:
            restored.rename(partition)
        _fsync_dir(parent)
        log.warning(
            "dt=%s: restored the previous partition from %s (a repair crashed mid-swap)", day, restored
        )
    for leftover in [*olds, *parent.glob(f".dt={day}.staging-*")]:
        log.warning("dt=%s: removing leftover %s", day, leftover)
        shutil.rmtree(leftover, ignore_errors=True)


def swap_in(staging: Path, partition: Path, day: date | str) -> None:
    """Put the new partition in place of the old one so that a reader listing the folder always finds
    the old partition's files or the new one's, never none.

    The folder stays: when the new files have the old ones' names (every rebuild by our job), each
    replaces its namesake by a rename over it, which is atomic. An old partition of other file names
    is traded for the new folder in one step where the file system can (Linux's renameat2
    RENAME_EXCHANGE) and deleted after `SWAP_GRACE_SECONDS`, so a reader that opened the old folder
    just before finishes listing it; elsewhere the new files move in first and the old ones go
    after (a reader may then see both sets for a moment, never none)."""
    parent = partition.parent
    new = layout.data_files(staging)
    if not partition.exists():
        staging.rename(partition)
    elif {p.name for p in layout.data_files(partition)} <= {p.name for p in new}:
        _move_files_in(new, partition)
    elif _exchange(staging, partition):
        old = parent / f".dt={day}.old-{uuid.uuid4().hex}"
        staging.rename(old)  # a leftover is removed by the next publish's recovery
        _fsync_dir(parent)
        time.sleep(SWAP_GRACE_SECONDS)
        shutil.rmtree(old, ignore_errors=True)
    else:
        _move_files_in(new, partition)
    _fsync_dir(parent)


def _move_files_in(new: list[Path], partition: Path) -> None:
    """Rename each new data file over its namesake in `partition`, then delete the data files there
    that the new partition does not hold."""
    for path in new:
        path.replace(partition / path.name)
    _fsync_dir(partition)
    kept = {path.name for path in new}
    for path in layout.data_files(partition):
        if path.name not in kept:
            path.unlink(missing_ok=True)


_RENAME_EXCHANGE = 2  # linux/fs.h


def _exchange(a: Path, b: Path) -> bool:
    """Swap the folders `a` and `b` atomically (renameat2 with RENAME_EXCHANGE). False where the
    system or file system cannot; other errors raise."""
    import ctypes
    import errno

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd = -100
    done = renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), _RENAME_EXCHANGE)
    if done == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), str(b))


def _fsync_dir(path: Path) -> None:
    # Some file systems cannot fsync a directory; the renames have happened all the same.
    with suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
