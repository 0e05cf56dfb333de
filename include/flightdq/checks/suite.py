"""The schema-validity suite, whichever engine runs it: where the suite file is, loading it, the
report both engines give (`SuiteReport`: per rule, counts only), and that report written in Great
Expectations' own validation-result shape (`validation_result`).

The suite is the plain JSON file `expectations/flightdata_processed.json` (a GX 1.x ExpectationSuite).
That top-level folder is where it is edited; installing the project makes it the data package
`flightdq.expectations` (see setup.py), read here with importlib.resources, so a wheel carries it.
Every expectation carries a `meta` with a short rule name, the contract column and its kind:
"schema" (the column set and each column's type) or "row" (a rule every row keeps).

Nothing here imports Great Expectations, pandas or an engine: `gx_validation` runs the suite with GX
on pandas, `sql_validation` runs it compiled to SQL (`suite_sql`) on the backend's engine.
"""

from __future__ import annotations

import importlib.resources
import json
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

SUITE_NAME = "flightdata_processed"
SUITE_FILE = f"{SUITE_NAME}.json"
SUITES_PACKAGE = "flightdq.expectations"
# The suites folder of the source checkout this module runs from, if it does: include/flightdq/checks/ ->
# expectations/. Not there for an installed wheel.
_CHECKOUT_SUITES = Path(__file__).resolve().parents[3] / "expectations"

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


@dataclass(frozen=True)
class RuleOutcome:
    rule: str  # meta rule name
    column: str | None
    expectation_type: str
    success: bool
    unexpected_count: int  # rows breaking this rule (for row rules; 0 for table-level)
    kind: str  # "schema" (columns / types) or "row"
    evaluated: bool = True  # False: not run (its column is missing or retyped, or GX raised)
    element_count: int | None = None  # row rules: the rows judged and left out (GX's element_count)
    missing_count: int | None = None  # row rules: the rows GX leaves out (None: it reports none)
    observed: Any = None  # schema rules: GX's observed_value (column names, a dtype name)


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
        if kind_of(expectation) not in (SCHEMA, ROW):
            raise ValueError(f"{path}: rule {rule!r} has kind {meta.get('kind')!r}, not schema or row")
    return suite


def day_parameters(day: date) -> dict[str, str]:
    """The suite parameters for a partition's UTC day: [day_start, day_end)."""
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return {"day_start": start.isoformat(), "day_end": (start + timedelta(days=1)).isoformat()}


def kind_of(expectation: dict) -> str:
    kind = (expectation.get("meta") or {}).get("kind")
    if kind:
        return kind
    return SCHEMA if expectation.get("type") in _SCHEMA_TYPES else ROW


def rule_of(expectation: dict) -> str:
    return expectation["meta"]["rule"]


def column_of(expectation: dict) -> str | None:
    """The contract column a rule is about (its meta, else its `column` argument)."""
    return (expectation.get("meta") or {}).get("column", expectation.get("kwargs", {}).get("column"))


def columns_of(expectation: dict) -> set[str]:
    """The columns an expectation reads (none for a table-level one)."""
    kwargs = expectation.get("kwargs", {})
    names = [kwargs.get(key) for key in ("column", "column_A", "column_B")]
    names += list(kwargs.get("column_list") or [])
    return {n for n in names if isinstance(n, str)}


# --- Great Expectations' validation-result shape ---------------------------------------------------


def validation_result(suite: dict, report: SuiteReport, day: date, meta: dict[str, Any]) -> dict[str, Any]:
    """`report` as GX's ExpectationSuiteValidationResult JSON (`to_json_dict()`), so GX tooling (and
    people used to it) can read it: per expectation `success`, `result` (element_count,
    unexpected_count, unexpected_percent, and missing_count / missing_percent /
    unexpected_percent_total / unexpected_percent_nonmissing where GX reports them; observed_value
    for schema rules) and `exception_info`. Counts, column names and type names only: never a
    value from the data (`partial_unexpected_list` is always empty)."""
    params = day_parameters(day)
    outcomes = {o.rule: o for o in report.rules}
    results = []
    for expectation in suite["expectations"]:
        outcome = outcomes[rule_of(expectation)]
        config = {
            "type": expectation["type"],
            "kwargs": _bound_kwargs(expectation.get("kwargs") or {}, params),
            "meta": expectation.get("meta") or {},
        }
        message = None if outcome.evaluated else "not evaluated: a column it reads is missing or retyped"
        results.append(
            {
                "success": outcome.success,
                "expectation_config": config,
                "result": _result(outcome) if outcome.evaluated else {},
                "meta": {},
                "exception_info": {
                    "raised_exception": not outcome.evaluated,
                    "exception_traceback": None,
                    "exception_message": message,
                },
            }
        )
    successful = sum(r["success"] for r in results)
    return {
        "success": successful == len(results),
        "results": results,
        "suite_name": report.suite,
        "suite_parameters": params,
        "statistics": {
            "evaluated_expectations": len(results),
            "successful_expectations": successful,
            "unsuccessful_expectations": len(results) - successful,
            "success_percent": 100.0 * successful / len(results) if results else None,
        },
        "meta": dict(meta),
        "id": None,
    }


def _bound_kwargs(kwargs: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
    """The expectation's arguments with its suite parameters replaced by the day's values, as GX
    reports them."""
    bound = {}
    for key, value in kwargs.items():
        if isinstance(value, dict) and "$PARAMETER" in value:
            value = params.get(value["$PARAMETER"], value)
        bound[key] = value
    return bound


def _percent(part: int, whole: int) -> float | None:
    return part / whole * 100 if whole else None


def _result(outcome: RuleOutcome) -> dict[str, Any]:
    if outcome.kind == SCHEMA:
        return {"observed_value": outcome.observed}
    total = outcome.element_count or 0
    unexpected = outcome.unexpected_count
    result: dict[str, Any] = {
        "element_count": total,
        "unexpected_count": unexpected,
        "unexpected_percent": _percent(unexpected, total),
        "partial_unexpected_list": [],
    }
    if outcome.missing_count is not None:  # GX judges the rows it does not leave out
        judged = total - outcome.missing_count
        nonmissing = _percent(unexpected, judged) if total else None
        result |= {
            "unexpected_percent": nonmissing,
            "missing_count": outcome.missing_count,
            "missing_percent": _percent(outcome.missing_count, total),
            "unexpected_percent_total": _percent(unexpected, total),
            "unexpected_percent_nonmissing": nonmissing,
        }
    return result


def rule_success(unexpected: int, judged: int, mostly: float | None) -> bool:
    """GX's verdict on a row rule from its counts: vacuously true with no row judged, else the share
    of judged rows keeping the rule must reach `mostly` (all of them by default)."""
    if judged <= 0 or unexpected == 0:
        return True
    return (judged - unexpected) / judged >= (1.0 if mostly is None else mostly)
