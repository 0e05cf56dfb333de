"""Where flightdq keeps its own records (check history, remediations, incidents, alert receipts):
a key -> bytes store with atomic writes and a create-only write. A folder locally; an S3 prefix on
AWS. Records are small JSON documents, so listing a prefix and reading each is fine.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


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
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)

    def put_if_absent(self, key: str, data: bytes) -> bool:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return True

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def list(self, prefix: str) -> list[str]:
        base = self._path(prefix.rstrip("/")) if prefix.strip("/") else self.root
        if not base.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.root))
            for p in base.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def location(self, key: str) -> str:
        return str(self._path(key))
