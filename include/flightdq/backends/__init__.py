"""Where the lake lives: storage, catalog, SQL engine and the ETL job behind one small interface
(`base.Backend`). `local/` is the embedded lake (a folder, SQLite catalog, DuckDB); `aws/` is S3,
the Glue catalog and job, and Athena. `registry.get_backend` picks one from the settings.

May import: `flightdq.core`, `flightdq.storage`, `flightdq.etl`.
"""
