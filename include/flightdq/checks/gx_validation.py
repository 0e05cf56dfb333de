"""The schema-validity rules as a Great Expectations suite, run on one day's processed rows.

The suite is the plain JSON file `expectations/flightdata_processed.json` (a GX 1.x ExpectationSuite).
That top-level folder is where it is edited; installing the project makes it the data package
`flightdq.expectations` (see setup.py), read here with importlib.resources, so a wheel carries it.
Every expectation carries a `meta` with a short rule name, the contract column and its kind:
"schema" (the column set and each column's type) or "row" (a rule every row keeps).

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
import importlib.resources
import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

    import pandas as pd
    import pyarrow as pa

logger = logging.getLogger(__name__)

SUITE_NAME = "flightdata_processed"
SUITE_FILE = f"{SUITE_NAME}.json"
SUITES_PACKAGE = "flightdq.expectations"
# The suites folder of the source checkout this module runs from, if it does: include/flightdq/checks/ ->
# expectations/. Not there for an installed wheel.
_CHECKOUT_SUITES = Path(__file__).resolve().parents[3] / "expectations"


def suites_folder() -> Traversable:
    """Where the suites are read from.

    From a source checkout (an editable install, or `PYTHONPATH=include` as docker-compose runs it)
    the checkout's own top-level `expectations/` folder: the same folder an editable install maps
    `flightdq.expectations` to, and the right one even when another checkout's editable install
    is on the path. Otherwise (a wheel) the installed data package `flightdq.expectations`.
    """
    if (_CHECKOUT_SUITES / "__init__.py").is_file():
        return _CHECKOUT_SUITES
    return importlib.resources.files(SUITES_PACKAGE)


def default_suite_path() -> Traversable:
    """The schema-validity suite that runs when no path is given."""
    return suites_folder() / SUITE_FILE


DEFAULT_SUITE_PATH = default_suite_path()

SCHEMA = "schema"
ROW = "row"
_SCHEMA_TYPES = frozenset(
    {
        "expect_table_columns_to_match_set",
        "expect_table_columns_to_match_ordered_list",
        "expect_column_to_exist",
        "expect_column_type_to_be",
        "expect_column_values_to_be_of_type",
        "expect_column_values_to_be_in_type_list",
    }
)
# What GX returns per row rule: failing row positions, counts, never the failing values.
_ROW_RESULT_FORMAT = {
    "result_format": "COMPLETE",
    "exclude_unexpected_values": True,
    "return_unexpected_index_query": False,
    "partial_unexpected_count": 0,
}
_SCHEMA_RESULT_FORMAT = {"result_format": "BASIC", "partial_unexpected_count": 0}


@dataclass(frozen=True)
class RuleOutcome:
    rule: str  # meta rule name
    column: str | None
    expectation_type: str
    success: bool
    unexpected_count: int  # rows breaking this rule (for row rules; 0 for table-level)
    kind: str  # "schema" (columns / types) or "row"
    evaluated: bool = True  # False: not run (its column is missing or retyped, or GX raised)


@dataclass(frozen=True)
class SuiteReport:
    suite: str
    total_rows: int
    failing_rows: int  # rows breaking at least one row rule (union over the row rules)
    schema_ok: bool  # every "schema" expectation passed
    rules: list[RuleOutcome]


def load_suite(path: str | os.PathLike[str] | Traversable | None = None) -> dict:
    """The suite as a plain dict (loadable with `gx.ExpectationSuite(**suite)`), its metadata checked.

    `path`: a file path or an importlib.resources Traversable; the packaged suite when None.
    """
    if path is None:
        path = default_suite_path()
    elif isinstance(path, str | os.PathLike):
        path = Path(path)
    try:
        suite = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"expectation suite not found: {path}") from exc
    if not isinstance(suite, dict) or not isinstance(suite.get("expectations"), list):
        raise ValueError(f"{path}: not an expectation suite (no 'expectations' list)")
    seen: set[str] = set()
    for number, expectation in enumerate(suite["expectations"]):
        meta = expectation.get("meta") or {}
        rule = meta.get("rule")
        if not rule:
            raise ValueError(f"{path}: expectation {number} ({expectation.get('type')}) has no meta.rule")
        if rule in seen:
            raise ValueError(f"{path}: rule name {rule!r} is used twice")
        seen.add(rule)
        if _kind(expectation) not in (SCHEMA, ROW):
            raise ValueError(f"{path}: rule {rule!r} has kind {meta.get('kind')!r}, not schema or row")
    return suite


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


def day_parameters(day: date) -> dict[str, str]:
    """The suite parameters for a partition's UTC day: [day_start, day_end)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return {"day_start": start.isoformat(), "day_end": (start + timedelta(days=1)).isoformat()}


def validate_table(
    table: pa.Table, day: date, suite_path: str | os.PathLike[str] | Traversable | None = None
) -> SuiteReport:
    """Run the suite on one partition's rows (`table`, as stored in its files) for UTC day `day`."""
    suite = load_suite(suite_path)
    frame = arrow_to_pandas(table)
    present = set(frame.columns)
    expectations = suite["expectations"]
    schema_exps = [e for e in expectations if _kind(e) == SCHEMA]
    row_exps = [e for e in expectations if _kind(e) == ROW]

    batch = _pandas_batch(frame)
    params = day_parameters(day)

    runnable_schema = [e for e in schema_exps if _columns(e) <= present]
    schema_results = _run(batch, suite, runnable_schema, params, _SCHEMA_RESULT_FORMAT)
    # Columns a row rule cannot be judged on: missing, or not of the contract type.
    unusable = {c for e in schema_exps if _columns(e) for c in _columns(e) if c not in present}
    for exp in runnable_schema:
        result = schema_results[_rule(exp)]
        if exp.get("kwargs", {}).get("column") and not (result.success and not _raised(result)):
            unusable.add(exp["kwargs"]["column"])

    runnable_rows = [e for e in row_exps if _columns(e) <= present and not (_columns(e) & unusable)]
    row_results = _run(batch, suite, runnable_rows, params, _ROW_RESULT_FORMAT)

    import numpy as np

    failing = np.zeros(len(frame), dtype=bool)
    outcomes: list[RuleOutcome] = []
    for exp in expectations:
        rule, kind = _rule(exp), _kind(exp)
        result = (schema_results if kind == SCHEMA else row_results).get(rule)
        column = (exp.get("meta") or {}).get("column", exp.get("kwargs", {}).get("column"))
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
        if kind == ROW:
            unexpected = int(result.result.get("unexpected_count") or 0)
            if unexpected:
                index = result.result.get("unexpected_index_list")
                if index is None or len(index) != unexpected:
                    raise RuntimeError(
                        f"Great Expectations returned {0 if index is None else len(index)} failing row "
                        f"positions for rule {rule} with unexpected_count {unexpected}"
                    )
                failing[np.asarray(index, dtype=np.int64)] = True
        outcomes.append(RuleOutcome(rule, column, exp["type"], bool(result.success), unexpected, kind))

    return SuiteReport(
        suite=suite.get("name", SUITE_NAME),
        total_rows=table.num_rows,
        failing_rows=int(failing.sum()),
        schema_ok=all(o.success for o in outcomes if o.kind == SCHEMA),
        rules=outcomes,
    )


def _kind(expectation: dict) -> str:
    kind = (expectation.get("meta") or {}).get("kind")
    if kind:
        return kind
    return SCHEMA if expectation.get("type") in _SCHEMA_TYPES else ROW


def _rule(expectation: dict) -> str:
    return expectation["meta"]["rule"]


def _columns(expectation: dict) -> set[str]:
    """The columns an expectation reads (none for a table-level one)."""
    kwargs = expectation.get("kwargs", {})
    names = [kwargs.get(key) for key in ("column", "column_A", "column_B")]
    names += list(kwargs.get("column_list") or [])
    return {n for n in names if isinstance(n, str)}


def _raised(result: Any) -> bool:
    info = result.exception_info or {}
    if info.get("raised_exception"):
        return True
    return any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())


def _import_gx() -> Any:
    # GX must not phone home: analytics off before the first import reads the environment.
    os.environ["GX_ANALYTICS_ENABLED"] = "False"
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
