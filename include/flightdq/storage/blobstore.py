"""Where flightdq keeps its own records (check history, remediations, incidents, alert receipts):
a key -> bytes store with atomic writes and a create-only write. A folder locally; an S3 prefix on
AWS. Records are small JSON documents, so listing a prefix and reading each is fine.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from pathlib import Path
from typing import Protocol

from flightdq.core.errors import EnvironmentFault

TMP_PREFIX = ".tmp-"  # a write in progress (or one a crash cut short); never listed, never read

_PROBLEMS = {
    errno.ENOSPC: "no space left on {path}",
    errno.EDQUOT: "disk quota exceeded on {path}",
    errno.EROFS: "{path} is on a read-only file system",
    errno.EACCES: "{path}: permission denied",
    errno.EPERM: "{path}: operation not permitted",
    errno.ENOTDIR: "{path}: a part of the path is a file, not a folder",
    errno.EEXIST: "{path}: a file is in the way of its folder",
}


class StorageError(EnvironmentFault):
    """Storage cannot be written or read (no space, read-only, no permission): an error of the
    environment, so bad input to the CLI (exit 2). The message names the path, in one line."""


ENVIRONMENT_ERRNOS = frozenset(_PROBLEMS) - {errno.EEXIST}  # errors of the storage, not of flightdq


def storage_error(exc: OSError, path: Path | str, *, reading: bool = False) -> StorageError:
    """The one-line StorageError for `exc`, raised while writing (or `reading`) `path`."""
    template = _PROBLEMS.get(exc.errno or 0)
    if template:
        return StorageError(template.format(path=path))
    verb = "read" if reading else "write"
    return StorageError(f"cannot {verb} {path}: {exc.strerror or type(exc).__name__}")


class BlobStore(Protocol):
    def put(self, key: str, data: bytes) -> None:
        """Write `key` whole: readers see the old bytes or the new ones, never part of them."""

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Create `key` only if nobody has; True when this call created it. (Exactly-once markers.)"""

    def get(self, key: str) -> bytes | None:
        """The bytes at `key`, or None."""

    def delete(self, key: str) -> None:
        """Remove `key`; nothing happens when it is not there. (For indexes: records are never deleted.)"""

    def list(self, prefix: str) -> list[str]:
        """Every key under `prefix`, sorted."""

    def location(self, key: str) -> str:
        """Where `key` lives, for people (a path or an s3:// URI)."""


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad store key {key!r}")
        return self.root / key

    def put(self, key: str, data: bytes) -> None:
        """Written whole to a temporary file beside it, then renamed over it."""
        path = self._path(key)
        tmp: str | None = None
        try:
            tmp = self._write_temporary(path, data)
            Path(tmp).replace(path)
            tmp = None
            _fsync_folder(path.parent)
        except OSError as exc:
            raise storage_error(exc, path) from exc
        finally:
            _discard(tmp)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        """Written whole to a temporary file beside it, then hard-linked to its name: the link fails
        when the name exists, so exactly one caller creates it, and a reader (or a crash) never
        meets a record that exists but is empty or half written."""
        path = self._path(key)
        if path.exists():
            return False
        tmp: str | None = None
        try:
            tmp = self._write_temporary(path, data)
            try:
                os.link(tmp, path)
            except FileExistsError:
                return False
            _fsync_folder(path.parent)
            return True
        except OSError as exc:
            raise storage_error(exc, path) from exc
        finally:
            _discard(tmp)

    @staticmethod
    def _write_temporary(path: Path, data: bytes) -> str:
        """`data` in a new temporary file in `path`'s folder, flushed to disk; returns its name."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=TMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        except BaseException:
            _discard(tmp)
            raise
        return tmp

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise storage_error(exc, path, reading=True) from None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        try:
            if not base.is_dir():
                return []
        except OSError as exc:
            raise storage_error(exc, base, reading=True) from None

        def unreadable(exc: OSError) -> None:  # rglob would skip the folder: its records would vanish
            raise storage_error(exc, exc.filename or base, reading=True) from None

        found = (
            Path(folder) / name
            for folder, _, names in os.walk(base, onerror=unreadable, followlinks=True)
            for name in names
            if not name.startswith(TMP_PREFIX)
        )
        return sorted(str(p.relative_to(self.root)) for p in found if p.is_file())

    def location(self, key: str) -> str:
        return str(self._path(key))


def _discard(tmp: str | None) -> None:
    if tmp is not None:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()


def _fsync_folder(folder: Path) -> None:
    """Make a new name in `folder` survive a power cut (best effort: not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
