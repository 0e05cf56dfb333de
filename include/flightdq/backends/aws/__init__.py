"""The AWS backend: S3, the Glue Data Catalog and the ETL job (`flightdata-etl`, or FLIGHTDQ_ETL_JOB),
Athena, through boto3 clients from the `AwsConnection` its entry point passes in (no Airflow here).
`backend.AwsBackend` composes one module per concern: `clients` (the connection port, clients,
retried calls, `AwsTuning`), `athena`, `catalog`, `s3` (lake objects and
`S3BlobStore`), `glue_job`, `diagnosis` (the ingestion Lambda's CloudWatch metrics, ERROR classes and
state).
The Glue job itself (`flightdq.etl.glue_entry`) imports none of this.
"""
