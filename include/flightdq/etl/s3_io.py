"""Plain boto3 S3 calls shared by the Glue job (`glue_entry`) and the Airflow-side AWS backend
(`flightdq.backends.aws`): listing a prefix, downloading keys, deleting them in batches, reading an
object's byte ranges as a seekable file, and reading the code and message of a botocore error.

Clients are passed in; nothing here imports boto3 or Airflow (the Glue job ships only `flightdq.etl`
and `flightdq.core`).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

DOWNLOAD_THREADS = 8
DELETE_BATCH = 1000  # DeleteObjects takes at most 1000 keys


def list_objects(s3: Any, **kwargs: Any) -> Iterator[dict[str, Any]]:
    """Every object ListObjectsV2 gives for `kwargs` (Bucket, Prefix, StartAfter...), page after page."""
    for page in s3.get_paginator("list_objects_v2").paginate(**kwargs):
        yield from page.get("Contents") or []


def list_keys(s3: Any, bucket: str, prefix: str) -> list[str]:
    return [obj["Key"] for obj in list_objects(s3, Bucket=bucket, Prefix=prefix)]


def download(s3: Any, bucket: str, keys: list[str], folder: Path) -> list[Path]:
    """Fetch `keys` into `folder`, keeping their relative paths (names stay unique and ordered)."""

    def fetch(key: str) -> Path:
        path = folder / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
        return path

    with ThreadPoolExecutor(DOWNLOAD_THREADS) as pool:
        return list(pool.map(fetch, keys))


def delete_keys(s3: Any, bucket: str, keys: list[str]) -> list[str]:
    """Delete `keys` with DeleteObjects (in batches); returns the failures as `<key>: <code>`."""
    failed = []
    for first in range(0, len(keys), DELETE_BATCH):
        chunk = keys[first : first + DELETE_BATCH]
        response = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in chunk], "Quiet": True}
        )
        failed += [f"{e.get('Key')}: {e.get('Code')}" for e in response.get("Errors") or []]
    return failed


class S3RangeReader(io.RawIOBase):
    """A read-only, seekable file over one S3 object, read with ranged GETs (a Parquet footer costs
    two small requests instead of the whole object)."""

    def __init__(self, s3: Any, bucket: str, key: str, size: int | None = None) -> None:
        super().__init__()
        self._s3, self._bucket, self._key = s3, bucket, key
        self._size = size if size is not None else s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self._pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def size(self) -> int:
        return self._size

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer) -> int:
        want = min(len(buffer), self._size - self._pos)
        if want <= 0:
            return 0
        last = self._pos + want - 1
        body = self._s3.get_object(Bucket=self._bucket, Key=self._key, Range=f"bytes={self._pos}-{last}")
        data = body["Body"].read()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


def error_code(exc: Exception) -> str:
    """The AWS error code of a botocore ClientError (empty for other exceptions)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


def error_message(exc: Exception) -> str:
    """The AWS error message of a botocore ClientError (the exception's text for other exceptions)."""
    return str(getattr(exc, "response", {}).get("Error", {}).get("Message", exc))
