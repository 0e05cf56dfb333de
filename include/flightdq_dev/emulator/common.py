"""What the emulator's parts share: the pinned moto version and the AWS constants, the one emulator
active in this process, the moto originals the patches replaced, and the error a query fails with."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flightdq_dev.emulator.server import AwsEmulator

PINNED_MOTO = "5.2.5"
ACCOUNT_ID = "123456789012"  # moto's default account
REGION = "us-east-1"
DUMMY_CREDENTIAL = "testing"
SNS_TOPIC = "flightdata-dq-alerts"
ATHENA_MAX_PAGE = 1000
GLUE_ACTIVE = ("STARTING", "RUNNING", "STOPPING", "WAITING")
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
PARQUET_INPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat"
PARQUET_OUTPUT = "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat"

_ACTIVE: AwsEmulator | None = None
_ACTIVE_LOCK = threading.Lock()
ORIGINALS: dict[tuple[type, str], Any] = {}  # (class, attribute) -> what the patch replaced


class QueryFailed(Exception):
    """The emulated query ends FAILED with this message as its StateChangeReason."""


def check_moto_version() -> None:
    import moto

    if moto.__version__ != PINNED_MOTO:
        raise RuntimeError(
            f"flightdq_dev.emulator patches moto=={PINNED_MOTO} internals; moto {moto.__version__} is "
            "installed. Re-check the patches before moving the pin."
        )


def claim(emulator: AwsEmulator) -> None:
    """Make `emulator` the one the patches serve; one emulator per process (moto's backends are
    process-global)."""
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is not None:
            raise RuntimeError(f"an AWS emulator already runs in this process ({_ACTIVE.endpoint})")
        _ACTIVE = emulator


def release(emulator: AwsEmulator) -> None:
    global _ACTIVE
    with _ACTIVE_LOCK:
        if _ACTIVE is emulator:
            _ACTIVE = None


def active() -> AwsEmulator | None:
    return _ACTIVE


def original(owner_name: str, name: str) -> Any:
    """The moto method the patch on `owner_name.name` replaced."""
    return next(f for (owner, n), f in ORIGINALS.items() if owner.__name__ == owner_name and n == name)
