"""A local AWS for flightdq: moto's server on 127.0.0.1 behind a thin proxy that computes.

moto in server mode answers the AWS APIs but computes nothing (Athena returns queued answers, Glue job
runs succeed at once), and offers no public hook to change that. So `AwsEmulator` puts a small HTTP
proxy on 127.0.0.1 in front of moto's `ThreadedMotoServer(ip_address="127.0.0.1")`; it answers these
calls itself and forwards every other request unchanged to moto (nothing in moto is patched):

- **Athena** Start/Get/Stop QueryExecution and GetQueryResults. THIS IS NOT TRINO: the Trino text is
  transpiled to DuckDB by sqlglot and run on DuckDB over the Parquet of the table's registered Glue
  partitions the query's partition predicate keeps, each read from its StorageDescriptor.Location in
  moto's S3, with the Glue table's column types. It proves the plumbing (states, typed result pages
  with the header row first, bytes scanned, the CSV in the output location, pruning, the catalog)
  and the dialect translation, not Trino's own semantics.
- **Glue** Start/Get JobRun(s) of `flightdata-etl` and of the jobs a test adds (`glue_jobs`: a
  team's own job, one that misbehaves on purpose; the job definitions stay in moto): MaxConcurrentRuns
  is enforced atomically and the job's code (for `flightdata-etl`, the script its definition names:
  the Spark job on local Spark, or `flightdq.etl.glue_entry`) runs in a thread; pollers see the run
  progress.
- **S3** PUTs are serialised, so the conditional create (`If-None-Match: *`) is atomic, as on S3.
- **Faults** for tests (`emulator.faults`).

One emulator per process (moto's backends are process-global). Modules: `server`, `proxy`, `athena`
with `engine`, `pruning` and `typemap`, `glue`, `faults`, `seed`, `sandbox` (`python -m
flightdq_dev.emulator --seed`), `common`.
"""

from flightdq_dev.emulator.athena import QueryRecord
from flightdq_dev.emulator.common import PINNED_MOTO, check_moto_version
from flightdq_dev.emulator.faults import Faults
from flightdq_dev.emulator.seed import (
    DUCKDB_SCRIPT,
    SPARK_SCRIPT,
    SeedReport,
    etl_job_definition,
    processed_table_input,
    seed_from_lake,
)
from flightdq_dev.emulator.server import AwsEmulator

__all__ = [
    "DUCKDB_SCRIPT",
    "PINNED_MOTO",
    "SPARK_SCRIPT",
    "AwsEmulator",
    "Faults",
    "QueryRecord",
    "SeedReport",
    "check_moto_version",
    "etl_job_definition",
    "processed_table_input",
    "seed_from_lake",
]
