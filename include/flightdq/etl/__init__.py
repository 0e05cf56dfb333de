"""The `flightdata-etl` job: one UTC day of raw OpenSky snapshots turned into that day's processed
partition (`transform`), with its two entry points: the local job (`transform.run_local_job`,
`python -m flightdq.etl.transform`) and the AWS Glue script (`glue_entry`). Making a job's output the
day's partition is the repair's (`flightdq.recovery.publish`).

May import: `flightdq.core` only (the Glue job ships this package and `core`; nothing Airflow-side).
"""
