"""Errors from engines and libraries, made safe to store and send.

A DuckDB, Arrow or AWS error message can quote the data it choked on (a callsign, an icao24). What
flightdq records (check results, remediation records, incident timelines, alerts, reviews) keeps
only the error's class and the files, columns or rules it names, never its free text.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from flightdq.core.dates import InputError

_FILE = re.compile(r"[^\s'\"()\[\],]+\.parquet\b")
_COLUMN = re.compile(r"""\bcolumn ["'`]?([A-Za-z_][A-Za-z0-9_]{0,63})["'`]?""", re.IGNORECASE)


class ConfigError(InputError):
    """The environment or the policy file is wrong; the message names the key."""


class EnvironmentFault(InputError):
    """An error of the environment flightdq runs in, never evidence about the data: permission
    denied, an unreadable folder, a folder that is not a lake, missing credentials, a locked
    catalog, a full disk, an alerts path that is a folder. The CLI exits 2 with its one line; a
    check that meets one does not judge the day (inside a DAG the task fails: monitoring blind)."""


class UnreadableStorage(EnvironmentFault):
    """A folder or data file of the lake is there but cannot be listed or read (permission denied,
    an I/O error): an error of the environment, not a missing or empty partition."""


class DataFault(Exception):
    """A read the data itself blocked: a data file of a partition that cannot be decoded, a value
    that does not convert to its column's type. A finding about that day's data (schema validity
    names the file), never about the monitor. Raised where the file is read, carrying the files
    (`files`, as the engine named them); the runner and the checks tell it from a blind monitor by
    this type, never by a message's wording."""

    def __init__(self, message: str, *, files: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.files = files


def data_files_named(text: str) -> tuple[str, ...]:
    """The data files (`.parquet` paths or URIs) an engine's or library's own error text names.
    Only the adapters of those engines call this, where the error happens, to raise a typed
    `DataFault` carrying the files: DuckDB, Arrow and Athena say which file they choked on only
    in their message."""
    return tuple(sorted(set(_FILE.findall(text))))


def describe_error(exc: BaseException) -> str:
    """`ConversionException in dt=2026-11-25/part-00001.parquet (column last_seen)`: the class,
    then the data files (their partition folder and name) and the columns the message names."""
    text = str(exc)
    files = sorted({"/".join(PurePosixPath(f).parts[-2:]) for f in _FILE.findall(text)})
    columns = sorted(set(_COLUMN.findall(text)))
    described = type(exc).__name__
    if files:
        described += f" in {', '.join(files[:3])}" + (f" and {len(files) - 3} more" if len(files) > 3 else "")
    if columns:
        described += f" (column {', '.join(columns[:3])})"
    return described


def error_class(exc: BaseException) -> str:
    return type(exc).__name__
