"""Where things live in the lake, as keys relative to a bucket (contract section 1).

The local lake lays buckets out as folders under one root: `<root>/<bucket>/<key>`.
"""

from __future__ import annotations

import os
import re
from datetime import date
from pathlib import Path

from flightdq.core.contract import PROCESSED_PREFIX
from flightdq.core.errors import UnreadableStorage

RAW_KEY_RE = re.compile(
    r"^year=(?P<year>\d{4})/month=(?P<month>\d{2})/day=(?P<day>\d{2})/hour=(?P<hour>\d{2})/"
    r"states_(?P<unix>\d+)\.json(?P<gz>\.gz)?$"
)


# The smallest body a snapshot can have (`{"time":1700000000,"states":null}` is 34 bytes, gzipped
# more): an object smaller than this is an empty or truncated write, a missing snapshot, not a poll
# that saw no aircraft.
MIN_SNAPSHOT_BYTES = 24


def raw_day_prefix(day: date) -> str:
    return f"year={day:%Y}/month={day:%m}/day={day:%d}/"


def raw_hour_prefix(day: date, hour: int) -> str:
    return f"{raw_day_prefix(day)}hour={hour:02d}/"


def raw_key(day: date, hour: int, unix: int, *, gzip: bool) -> str:
    return f"{raw_hour_prefix(day, hour)}states_{unix}.json{'.gz' if gzip else ''}"


def processed_partition_prefix(day: date | str) -> str:
    return f"{PROCESSED_PREFIX}/dt={day}/"


_PARTITION_VALUE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def is_partition_value(value: str) -> bool:
    return bool(_PARTITION_VALUE_RE.match(value))


def is_data_file(name: str) -> bool:
    """A Parquet file directly in a partition (a name relative to it), as Athena reads them: names
    starting with `_` or `.` are not data."""
    return bool(name) and "/" not in name and name.endswith(".parquet") and not name.startswith(("_", "."))


def data_files(folder: Path) -> list[Path]:
    """The data files of a partition folder, sorted ([] when the folder is not there). A folder
    that cannot be listed, or a data file this process may not read, is UnreadableStorage: an
    engine would report it as a broken file, a fault of the data."""
    files = [p for p in folder_entries(folder) if p.suffix == ".parquet" and is_data_file(p.name)]
    readable = []
    for path in files:
        if os.access(path, os.R_OK):
            readable.append(path)
        elif path.exists():
            raise UnreadableStorage(f"{path} cannot be read: permission denied")
        # else: replaced since the folder was listed (a swap moved it out): not a file of the day now
    return readable


def folder_entries(folder: Path) -> list[Path]:
    """The entries of `folder`, sorted; [] when it is not there. A folder that is there but cannot
    be listed is an UnreadableStorage, never "empty": `Path.glob` would silently find nothing in it."""
    try:
        with os.scandir(folder) as entries:
            return sorted(Path(entry.path) for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return []
    except OSError as exc:
        raise UnreadableStorage(f"{folder} cannot be read: {exc.strerror or type(exc).__name__}") from None


def list_folder(folder: Path) -> list[str]:
    """The names in `folder` ([] when it is not there); an unreadable folder is UnreadableStorage."""
    return [entry.name for entry in folder_entries(folder)]
