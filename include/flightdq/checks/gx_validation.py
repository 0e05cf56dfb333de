"""The `gx` engine of schema_validity: the Great Expectations suite run by GX itself on one day's
processed rows, as a pandas frame (the suite, its loading and the report are `checks.suite`).

It is the reference the SQL engine (`sql_validation`, the default) is tested against, and the
engine to choose (`schema_validity.engine: gx`, `flightdq validate --engine gx`) for an expectation
the SQL compiler refuses. It reads every row of the day into the worker (on AWS: downloads the
partition's objects) and costs seconds per day, GX's import alone being seconds.

How a run goes (`validate_table`):

1. The Parquet rows (a pyarrow Table) become a pandas DataFrame by `arrow_to_pandas`, a fixed mapping
   under which each contract type has exactly one pandas dtype and any other arrow type a dtype that
   matches none of them. The suite's `expect_column_type_to_be` compares whole dtypes (unit and time
   zone included), so a type check on the frame is a type check on the file.
2. The schema expectations run first, in an ephemeral GX context on a pandas datasource. A type
   expectation whose column is missing is not run; it is reported failed.
3. The row expectations run next, but only those whose columns all exist with the contract type:
   a row rule on a missing or retyped column cannot say anything true, so it is reported failed and
   not evaluated (`evaluated=False`, no rows counted) instead of crashing or counting nonsense.
4. Each row rule's failing rows come back as GX's `unexpected_index_list` (result_format COMPLETE with
   `exclude_unexpected_values`, so GX does not even collect the values); `failing_rows` is the size of
   their union.

The report holds rule names, columns and counts only: never a value from the data.
Great Expectations is imported inside the functions (it takes seconds), with its analytics switched
off first and progress bars disabled in the context's configuration.
"""

from __future__ import annotations

import functools
import logging
import os
from datetime import date
from typing import TYPE_CHECKING, Any

from flightdq.checks.suite import (
    DEFAULT_SUITE_PATH,
    ROW,
    SCHEMA,
    SUITE_NAME,
    RuleOutcome,
    SuiteReport,
    column_of,
    columns_of,
    day_parameters,
    default_suite_path,
    kind_of,
    load_suite,
    rule_of,
)
from flightdq.core.arrow import as_parquet_reads

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import pandas as pd
    import pyarrow as pa

# Kept importable from here, where they used to live.
__all__ = [
    "DEFAULT_SUITE_PATH",
    "RuleOutcome",
    "SuiteReport",
    "arrow_to_pandas",
    "day_parameters",
    "default_suite_path",
    "load_suite",
    "validate_table",
]

logger = logging.getLogger(__name__)

# Libraries that log registration chatter and progress at INFO/DEBUG: task logs and the CLI keep only
# their warnings, so a log starts with the table that matters.
NOISY_LOGGERS = ("great_expectations", "great_expectations.expectations.registry", "altair", "numexpr")


def quiet_libraries() -> None:
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


# What GX returns per row rule: failing row positions, counts, never the failing values.
_ROW_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}
_SCHEMA_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


def arrow_to_pandas(table: pa.Table) -> pd.DataFrame:
    """The table as a DataFrame whose dtypes name the arrow types one to one, for the contract's types.

    string -> "str", int64 -> "Int64" (nullable: a null stays a null, not a float),
    double -> "float64", timestamp[us, tz=UTC] -> "datetime64[us, UTC]"; any other arrow type
    (int32, large_string, timestamp[ns], a timestamp without zone, ...) -> pandas' ArrowDtype of it,
    which equals none of the above. Pandas metadata stored in the file is ignored, so a stored index
    stays an ordinary (unexpected) column, and the frame's index is the row position.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    contract_dtypes = {
        pa.string(): pd.StringDtype("pyarrow", na_value=np.nan),
        pa.int64(): pd.Int64Dtype(),
        pa.float64(): None,  # the default conversion: numpy float64, nulls as NaN
        pa.timestamp("us", tz="UTC"): pd.DatetimeTZDtype("us", "UTC"),
    }

    def mapper(arrow_type: pa.DataType) -> Any:
        if arrow_type in contract_dtypes:
            return contract_dtypes[arrow_type]
        return pd.ArrowDtype(arrow_type)

    frame = table.to_pandas(types_mapper=mapper, ignore_metadata=True)
    if not isinstance(frame.index, pd.RangeIndex) or frame.index.start != 0:
        frame = frame.reset_index(drop=True)
    return frame


def validate_table(
    table: pa.Table, day: date, suite_path: str | os.PathLike[str] | Traversable | None = None
) -> SuiteReport:
    """Run the suite on one partition's rows (`table`, as stored in its files) for UTC day `day`."""
    suite = load_suite(suite_path)
    frame = arrow_to_pandas(as_parquet_reads(table))  # the Parquet types, as Athena reads them
    present = set(frame.columns)
    expectations = suite["expectations"]
    schema_exps = [e for e in expectations if kind_of(e) == SCHEMA]
    row_exps = [e for e in expectations if kind_of(e) == ROW]

    batch = _pandas_batch(frame)
    params = day_parameters(day)

    runnable_schema = [e for e in schema_exps if columns_of(e) <= present]
    schema_results = _run(batch, suite, runnable_schema, params, _SCHEMA_RESULT_FORMAT)
    # Columns a row rule cannot be judged on: missing, or not of the contract type.
    unusable = {c for e in schema_exps if columns_of(e) for c in columns_of(e) if c not in present}
    for exp in runnable_schema:
        result = schema_results[rule_of(exp)]
        if exp.get("kwargs", {}).get("column") and not (result.success and not _raised(result)):
            unusable.add(exp["kwargs"]["column"])

    runnable_rows = [e for e in row_exps if columns_of(e) <= present and not (columns_of(e) & unusable)]
    row_results = _run(batch, suite, runnable_rows, params, _ROW_RESULT_FORMAT)

    import numpy as np

    failing = np.zeros(len(frame), dtype=bool)
    outcomes: list[RuleOutcome] = []
    for exp in expectations:
        rule, kind = rule_of(exp), kind_of(exp)
        result = (schema_results if kind == SCHEMA else row_results).get(rule)
        column = column_of(exp)
        if result is None or _raised(result):
            if result is not None:
                logger.warning(
                    "expectation %s (%s) raised inside Great Expectations; reported as failed",
                    rule,
                    exp["type"],
                )
            outcomes.append(RuleOutcome(rule, column, exp["type"], False, 0, kind, evaluated=False))
            continue
        unexpected = 0
        counts: dict[str, Any] = {"observed": result.result.get("observed_value")}
        if kind == ROW:
            unexpected = int(result.result.get("unexpected_count") or 0)
            missing = result.result.get("missing_count")
            counts = {
                "element_count": int(result.result.get("element_count") or 0),
                "missing_count": None if missing is None else int(missing),
            }
            if unexpected:
                index = result.result.get("unexpected_index_list")
                if index is None or len(index) != unexpected:
                    raise RuntimeError(
                        f"Great Expectations returned {0 if index is None else len(index)} failing row "
                        f"positions for rule {rule} with unexpected_count {unexpected}"
                    )
                failing[np.asarray(index, dtype=np.int64)] = True
        outcomes.append(
            RuleOutcome(rule, column, exp["type"], bool(result.success), unexpected, kind, **counts)
        )

    return SuiteReport(
        suite=suite.get("name", SUITE_NAME),
        total_rows=table.num_rows,
        failing_rows=int(failing.sum()),
        schema_ok=all(o.success for o in outcomes if o.kind == SCHEMA),
        rules=outcomes,
    )


def _raised(result: Any) -> bool:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _import_gx() -> Any:
    # GX must not phone home: analytics off before the first import reads the environment.
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
    quiet_libraries()
    import great_expectations as gx

    return gx


def _pandas_batch(frame: pd.DataFrame) -> Any:
    return _batch_definition().get_batch(batch_parameters={"dataframe": frame})


@functools.cache
def _batch_definition() -> Any:
    """One ephemeral context per process: a fresh one per partition costs time and memory that GX
    does not give back (90 partitions grew a process to 2.6 GB)."""
    gx = _import_gx()
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False, metric_calculations=False),
    )
    context = gx.get_context(project_config=config, mode="ephemeral")
    asset = context.data_sources.add_pandas("flightdq").add_dataframe_asset(SUITE_NAME)
    return asset.add_batch_definition_whole_dataframe("partition")


def _run(batch: Any, suite: dict, expectations: list[dict], params: dict, result_format: dict) -> dict:
    """rule name -> ExpectationValidationResult, for `expectations` run as one GX suite on `batch`."""
    if not expectations:
        return {}
    gx = _import_gx()
    part = gx.ExpectationSuite(
        name=suite.get("name", SUITE_NAME),
        expectations=[dict(e) for e in expectations],
        meta=suite.get("meta"),
    )
    validation = batch.validate(part, expectation_parameters=params, result_format=result_format)
    return {r.expectation_config.meta["rule"]: r for r in validation.results}
