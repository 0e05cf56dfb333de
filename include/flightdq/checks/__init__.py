"""The five data-quality checks of the runbook, each `run(ctx) -> list[CheckResult]`: what they read
(`context`), how they run over days and datasets (`runner`), their SQL (`sql/`, `queries`, kept
rendered by `sql_cache`). Each is one set-based statement per checked range on the backend's engine.

Schema validity runs the Great Expectations suite (`suite`: the file, the report, GX's result shape)
with one of two engines: `sql_validation` (the default: the suite compiled to SQL by `suite_sql`,
one statement per range, the files' schemas judged from their footers by `file_schemas`) or
`gx_validation` (GX itself on pandas, a day at a time; the reference the compiler is tested
against). `schema_validity`'s docstring says which runs where and why.

May import: `flightdq.core`, `flightdq.storage`, `flightdq.etl`, `flightdq.backends` (never the
incidents above it: drift's baseline is told the incident days by its caller).
"""

from __future__ import annotations

from collections.abc import Callable

from flightdq.checks import drift, duplicates, freshness, presence, schema_validity
from flightdq.checks.context import CheckContext
from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)
from flightdq.core.results import CheckResult

CHECK_RUNNERS: dict[str, Callable[[CheckContext], list[CheckResult]]] = {
    PARTITION_PRESENCE: presence.run,
    RECORD_COUNT_DRIFT: drift.run,
    SCHEMA_VALIDITY: schema_validity.run,
    DUPLICATES: duplicates.run,
    FRESHNESS: freshness.run,
}

__all__ = ["CHECK_RUNNERS", "CheckContext"]
