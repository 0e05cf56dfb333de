"""The `flightdata-etl` job: one UTC day of raw OpenSky snapshots turned into that day's processed
partition (`transform`), with its two entry points: the local runner (`transform.run_local_etl`,
`python -m flightdq.etl.transform`) and the AWS Glue script (`glue_entry`).

May import: `flightdq.core` only (the Glue job ships this package and `core`; nothing Airflow-side).
"""
