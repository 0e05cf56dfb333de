"""The Airflow assets flightdq produces. A rebuilt or registered partition of `flightdata_processed`
is an event of `FLIGHTDATA_PROCESSED`, with the day in the event's extra (`{"dt": "YYYY-MM-DD"}`),
so the daily checks can re-check a repaired day as soon as it lands.

The asset is named, not given its `s3://` URI: constructing an asset with a URI makes Airflow load
every provider's URI handlers, and the amazon provider's imports boto3, which no DAG file should pay
for when it is parsed (tests/unit/test_dag_integrity.py). The name is the table's: on AWS the table
is `s3://flightdata-processed/flightdata_processed/`, locally the lake's processed folder.
"""

from __future__ import annotations

from airflow.sdk import Asset

from flightdq.core.contract import PROCESSED_TABLE

FLIGHTDATA_PROCESSED = Asset(name=PROCESSED_TABLE, group="flightdq")
ASSET_EVENT_DAY_KEY = "dt"  # the day of the rebuilt or registered partition, in the event's extra
