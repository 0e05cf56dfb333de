"""The AWS backend: S3, the Glue Data Catalog and job `flightdata-etl`, Athena, through the amazon
provider's hooks.
"""
