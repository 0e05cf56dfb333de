"""A local AWS for flightdq: moto's server on 127.0.0.1, made to compute.

moto in server mode answers the AWS APIs but computes nothing: Athena returns queued answers and Glue
job runs succeed at once without running anything. `AwsEmulator` patches moto's in-process backends
so that the AWS backend's proof is real:

- **Athena** `StartQueryExecution` really runs the SQL: the Trino text is transpiled to DuckDB by
  sqlglot and run over the Parquet objects of the table's *registered* Glue partitions in the emulated
  S3 (the partitions the query's `dt` predicate selects, as Athena prunes them), with the Glue table's
  column types. Results come back from GetQueryResults typed by column (strings, as Athena sends
  them), in pages of at most 1,000 rows with the header row first, the query's state moves
  QUEUED -> RUNNING -> SUCCEEDED/FAILED with a `StateChangeReason`, `Statistics.DataScannedInBytes`
  is the size of the objects read (an upper bound: real Athena reads only the needed columns), and the
  CSV lands in the output location.
- **Glue** `StartJobRun` of `flightdata-etl` really runs `flightdq.etl.glue_entry` against the emulated
  buckets, in a thread, and the job's `MaxConcurrentRuns` is enforced atomically.
- **S3** `PutObject` is serialised, so the conditional create (`If-None-Match: *`) that moto checks
  and then writes in two steps is atomic, as it is on S3.
- **Faults** for tests (`emulator.faults`).

The patches rely on moto internals of the pinned moto (see `patches`). One emulator per process
(moto's backends are process-global). The server binds 127.0.0.1 only.

Modules: `server` (the emulator), `athena` with `engine`, `pruning` and `typemap` (the emulated
Athena), `glue`, `patches`, `faults`, `seed` (loading a local lake), `sandbox` (the
`python -m flightdq_dev.emulator --seed` CLI), `common` (what they share).
"""

from flightdq_dev.emulator.athena import QueryRecord
from flightdq_dev.emulator.common import PINNED_MOTO, check_moto_version
from flightdq_dev.emulator.faults import Faults
from flightdq_dev.emulator.seed import SeedReport, etl_job_definition, processed_table_input, seed_from_lake
from flightdq_dev.emulator.server import AwsEmulator

__all__ = [
    "PINNED_MOTO",
    "AwsEmulator",
    "Faults",
    "QueryRecord",
    "SeedReport",
    "check_moto_version",
    "etl_job_definition",
    "processed_table_input",
    "seed_from_lake",
]
