"""What the emulator's parts share: the moto version it is tested with, the AWS constants, and the
error a query fails with."""

from __future__ import annotations

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
