"""The Airflow assets flightdq produces. A rebuilt or registered partition of `flightdata_processed`
is an event of `FLIGHTDATA_PROCESSED`, with the day in the event's extra (`{"dt": "YYYY-MM-DD"}`),
so the daily checks can re-check a repaired day as soon as it lands."""

from __future__ import annotations

from airflow.sdk import Asset

from flightdq.core.contract import PROCESSED_BUCKET, PROCESSED_PREFIX, PROCESSED_TABLE

# The URI names the S3 prefix under an `x-` scheme: Airflow normalises an `s3://` URI through the
# amazon provider, which imports boto3 while every DAG file that declares the asset is parsed.
FLIGHTDATA_PROCESSED = Asset(
    name=PROCESSED_TABLE,
    uri=f"x-flightdq-s3://{PROCESSED_BUCKET}/{PROCESSED_PREFIX}/",
    group="flightdq",
)
ASSET_EVENT_DAY_KEY = "dt"  # the day of the rebuilt or registered partition, in the event's extra
