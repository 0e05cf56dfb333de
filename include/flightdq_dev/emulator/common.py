"""What the emulator's parts share: the moto version it is tested with and the AWS constants, the one
emulator in this process, and the error a query fails with."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

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


class QueryFailed(Exception):
    """The emulated query ends FAILED with this message as its StateChangeReason."""


def check_moto_version() -> None:
    """The emulator uses only moto's HTTP API (and `ThreadedMotoServer`), tested with moto
    PINNED_MOTO: another 5.x is allowed, another major version is refused."""
    import moto

    if moto.__version__.split(".")[0] != PINNED_MOTO.split(".")[0]:
        raise RuntimeError(
            f"flightdq_dev.emulator is tested with moto=={PINNED_MOTO}; moto {moto.__version__} is "
            "installed. Re-run tests/emulator before moving the pin."
        )


def claim(emulator: AwsEmulator) -> None:
    """One emulator per process: moto's backends behind ThreadedMotoServer are process-global."""
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
