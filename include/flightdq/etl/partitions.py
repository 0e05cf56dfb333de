"""Where a processed partition's files are on S3, and the calls of its atomic swap.

Layout. The ETL job writes each rebuild of day D under a prefix of its own (the job contract),
`flightdata_processed/dt=D/run=<run id>/` (the Parquet files, then an empty `_SUCCESS` marker), and
the repair (`flightdq.recovery.publish`) makes it the partition by pointing the Glue partition's
`StorageDescriptor.Location` at it in one UpdatePartition call (CreatePartition when the day was not
registered). Athena reads a
partition's Location, so readers see the old files or the new ones, never both. A partition whose
files sit directly under `dt=D/` (the contract's original layout, a foreign lake, a fault corpus) is
read the same way: its Location is `dt=D/`, and the files directly under it are its data (Athena does
not descend into `run=` folders below it).

Which files are a day's:
- registered: those directly under the catalog Location (`location_prefix`), whatever the prefix;
- not registered (what catalog repair would register, and what a rebuild audits against): the newest
  complete run prefix (one holding `_SUCCESS`; newest by the marker's LastModified, then by name),
  else the data files directly under `dt=D/`, else none (`DayObjects.stored_prefix`).

Plain boto3 clients are passed in; only `flightdq.etl` and `flightdq.core` are imported.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flightdq.core import layout
from flightdq.core.contract import GLUE_DATABASE, PROCESSED_BUCKET, PROCESSED_TABLE
from flightdq.core.layout import is_data_file

SUCCESS_MARKER = "_SUCCESS"
RUN_FOLDER = "run="


def location_uri(prefix: str, bucket: str = PROCESSED_BUCKET) -> str:
    return f"s3://{bucket}/{prefix}"


def split_location(uri: str) -> tuple[str, str]:
    """`s3://bucket/some/prefix` -> (bucket, `some/prefix/`): a Location names a folder."""
    bucket, _, prefix = uri.removeprefix("s3://").removeprefix("s3a://").partition("/")
    return bucket, prefix if not prefix or prefix.endswith("/") else prefix + "/"


def data_objects(objects: list[dict[str, Any]], prefix: str) -> list[dict[str, Any]]:
    """The objects that are data directly under `prefix`, as Athena reads a partition's Location."""
    return [o for o in objects if o["Key"].startswith(prefix) and is_data_file(o["Key"][len(prefix) :])]


@dataclass
class DayObjects:
    """One listing of `flightdata_processed/dt=D/`, sorted into the flat objects (directly under it),
    the `run=` prefixes, and anything else."""

    dt: str
    flat: list[dict[str, Any]] = field(default_factory=list)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # run prefix -> its objects
    other: list[dict[str, Any]] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return layout.processed_partition_prefix(self.dt)

    def add(self, obj: dict[str, Any]) -> None:
        rest = obj["Key"][len(self.prefix) :]
        folder, slash, _ = rest.partition("/")
        if not slash:
            self.flat.append(obj)
        elif folder.startswith(RUN_FOLDER):
            self.runs.setdefault(f"{self.prefix}{folder}/", []).append(obj)
        else:
            self.other.append(obj)

    def complete_runs(self) -> list[str]:
        """The run prefixes holding a `_SUCCESS` marker and data, newest first."""
        done = []
        for run, objects in self.runs.items():
            marker = [o for o in objects if o["Key"] == run + SUCCESS_MARKER]
            if marker and data_objects(objects, run):
                done.append((marker[0].get("LastModified"), run))
        done.sort(key=lambda item: (item[0] is not None, item[0] or 0, item[1]), reverse=True)
        return [run for _, run in done]

    def stored_prefix(self) -> str | None:
        """The prefix that holds the day when the catalog does not say: the newest complete run, else
        `dt=D/` itself when files sit directly under it, else None."""
        runs = self.complete_runs()
        if runs:
            return runs[0]
        return self.prefix if data_objects(self.flat, self.prefix) else None

    def objects_under(self, prefix: str) -> list[dict[str, Any]]:
        """The objects a Location inside this day owns: for `dt=D/` itself only those directly under
        it (never a `run=` folder), for a run prefix all of it."""
        if prefix == self.prefix:
            return list(self.flat)
        if prefix in self.runs:
            return list(self.runs[prefix])
        return [o for o in self.other if o["Key"].startswith(prefix)]


def group_by_day(objects: list[dict[str, Any]], base: str) -> dict[str, DayObjects]:
    """Objects listed under `<base>dt=` -> their days (stray names that are no day are left out)."""
    days: dict[str, DayObjects] = {}
    for obj in objects:
        folder, slash, _ = obj["Key"][len(base) :].partition("/")
        dt = folder.removeprefix("dt=")
        if slash and folder.startswith("dt=") and layout.is_partition_value(dt):
            days.setdefault(dt, DayObjects(dt)).add(obj)
    return days


def catalog_location(
    glue: Any, dt: str, *, database: str = GLUE_DATABASE, table: str = PROCESSED_TABLE
) -> str | None:
    """The registered partition's Location, or None when the day is not registered."""
    try:
        partition = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=[dt])
    except glue.exceptions.EntityNotFoundException:
        return None
    return (partition["Partition"].get("StorageDescriptor") or {}).get("Location") or None


def point_partition_at(
    glue: Any,
    dt: str,
    location: str,
    *,
    database: str = GLUE_DATABASE,
    table: str = PROCESSED_TABLE,
) -> bool:
    """Make `location` the partition's, in ONE catalog call: UpdatePartition when the day is
    registered (its other settings kept), else CreatePartition with the table's StorageDescriptor.
    Returns True when the partition was created."""
    from flightdq.etl.glue_catalog import partition_input

    try:
        current = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=[dt])[
            "Partition"
        ]
    except glue.exceptions.EntityNotFoundException:
        current = None
    if current is None:
        table_sd = glue.get_table(DatabaseName=database, Name=table)["Table"]["StorageDescriptor"]
        try:
            glue.create_partition(
                DatabaseName=database, TableName=table, PartitionInput=partition_input(table_sd, dt, location)
            )
            return True
        except glue.exceptions.AlreadyExistsException:  # registered meanwhile (catalog repair): update it
            current = glue.get_partition(DatabaseName=database, TableName=table, PartitionValues=[dt])[
                "Partition"
            ]
    sd = dict(current.get("StorageDescriptor") or {})
    sd["Location"] = location
    update = {"Values": current["Values"], "StorageDescriptor": sd}
    if current.get("Parameters"):
        update["Parameters"] = current["Parameters"]
    glue.update_partition(
        DatabaseName=database, TableName=table, PartitionValueList=current["Values"], PartitionInput=update
    )
    return False
