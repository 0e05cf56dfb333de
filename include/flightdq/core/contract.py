"""Names, layouts and schemas fixed by the product contract (shared/product/contract.md, section 1).

Everything the pipeline around us owns is spelled here once; the rest of the package imports it.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_BUCKET = "flightdata-raw"
PROCESSED_BUCKET = "flightdata-processed"
QUERY_RESULTS_BUCKET = "flightdata-query-results"
GLUE_DATABASE = "flightdata"
PROCESSED_TABLE = "flightdata_processed"
PROCESSED_PREFIX = "flightdata_processed"
ETL_JOB_NAME = "flightdata-etl"
ATHENA_WORKGROUP = "primary"
METRICS_TABLE = "flightdata-metrics"

RAW_DATASET = "flightdata_raw"
PROCESSED_DATASET = PROCESSED_TABLE
DATASETS = (RAW_DATASET, PROCESSED_DATASET)

PARTITION_PRESENCE = "partition_presence"
RECORD_COUNT_DRIFT = "record_count_drift"
SCHEMA_VALIDITY = "schema_validity"
DUPLICATES = "duplicates"
FRESHNESS = "freshness"
CHECKS = (PARTITION_PRESENCE, RECORD_COUNT_DRIFT, SCHEMA_VALIDITY, DUPLICATES, FRESHNESS)

# The ordered fields of one OpenSky state vector (17, or 18 with `category`).
STATE_FIELDS = (
    "icao24",
    "callsign",
    "origin_country",
    "time_position",
    "last_contact",
    "longitude",
    "latitude",
    "baro_altitude",
    "on_ground",
    "velocity",
    "true_track",
    "vertical_rate",
    "sensors",
    "geo_altitude",
    "squawk",
    "spi",
    "position_source",
    "category",
)


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # Athena / Glue catalog type
    arrow_type: str  # str() of the pyarrow type the Parquet files must carry
    nullable: bool


PROCESSED_COLUMNS: tuple[Column, ...] = (
    Column("flight_id", "string", "string", False),
    Column("icao24", "string", "string", False),
    Column("callsign", "string", "string", True),
    Column("origin_country", "string", "string", False),
    Column("first_seen", "timestamp", "timestamp[us, tz=UTC]", False),
    Column("last_seen", "timestamp", "timestamp[us, tz=UTC]", False),
    Column("position_count", "bigint", "int64", False),
    Column("first_latitude", "double", "double", True),
    Column("first_longitude", "double", "double", True),
    Column("last_latitude", "double", "double", True),
    Column("last_longitude", "double", "double", True),
    Column("max_baro_altitude", "double", "double", True),
    Column("max_velocity", "double", "double", True),
    Column("squawk", "string", "string", True),
)
PROCESSED_COLUMN_NAMES = tuple(c.name for c in PROCESSED_COLUMNS)
PARTITION_KEY = "dt"


def processed_arrow_schema():  # -> pyarrow.Schema (imported lazily: pyarrow is heavy)
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "double": pa.float64(),
        "timestamp[us, tz=UTC]": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([pa.field(c.name, types[c.arrow_type], nullable=c.nullable) for c in PROCESSED_COLUMNS])
