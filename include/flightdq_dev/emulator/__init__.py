"""A local AWS for flightdq: moto's server on 127.0.0.1 behind a thin proxy that computes.

moto in server mode answers the AWS APIs but computes nothing: Athena returns queued answers and Glue
job runs succeed at once without running anything. moto offers no public hook to change that (only
a queue of canned Athena results and timed Glue state transitions), so `AwsEmulator` puts a small
HTTP proxy on 127.0.0.1 in front of moto's `ThreadedMotoServer(ip_address="127.0.0.1")`. The proxy
answers a few calls itself and forwards every other request unchanged to moto:

- **Athena** `StartQueryExecution`, `GetQueryExecution`, `GetQueryResults`, `StopQueryExecution`.
  The Trino text is transpiled to DuckDB by sqlglot and run on DuckDB over the Parquet objects of
  the table's *registered* Glue partitions (read from each partition's StorageDescriptor.Location in
  moto's S3, only the partitions the query's `dt` predicate keeps), with the Glue table's column
  types. THIS IS NOT TRINO: it proves the plumbing (the calls, states, pages, typed results, pruning,
  the catalog) and that the SQL survives sqlglot's Trino -> DuckDB translation, not Trino's own
  semantics (integer division, date_diff, ... differ; see docs). Results come back as Athena sends
  them (strings typed by column, pages of at most 1,000 rows with the header row first), the state
  moves QUEUED -> RUNNING -> SUCCEEDED/FAILED with a `StateChangeReason`,
  `Statistics.DataScannedInBytes` is the size of the objects read (an upper bound: Athena reads only
  the needed columns), the CSV lands in the output location, and a repeated `ClientRequestToken` is
  the same query. Workgroups stay in moto.
- **Glue** `StartJobRun`, `GetJobRun`, `GetJobRuns` of `flightdata-etl` (the job definition stays in
  moto): a start enforces the job's `MaxConcurrentRuns` atomically and runs
  `flightdq.etl.glue_entry` against the emulated buckets in a thread; pollers see the run progress.
- **S3** PUTs are serialised, so the conditional create (`If-None-Match: *`) that moto checks and
  then writes in two steps is atomic, as it is on S3.
- **Faults** for tests (`emulator.faults`).

Nothing in moto is patched: the emulator uses moto's HTTP API and `ThreadedMotoServer` only. One
emulator per process (moto's backends are process-global). Both servers bind 127.0.0.1 only.

Modules: `server` (the emulator), `proxy`, `athena` with `engine`, `pruning` and `typemap` (the
emulated Athena), `glue`, `faults`, `seed` (loading a local lake), `sandbox` (the
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
