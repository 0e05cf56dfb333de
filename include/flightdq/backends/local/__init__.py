"""The embedded default: a lake folder laid out like the buckets, a SQLite partition catalog (with
the ETL job registry) and DuckDB reading the Parquet files in place.
"""
