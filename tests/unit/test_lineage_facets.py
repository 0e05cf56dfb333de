"""Check results as OpenLineage data-quality assertions (`flightdq.airflow.lineage`), without a run:
which results assert what, and where the datasets are. The whole-DAG test (tests/system/test_lineage.py)
reads the events Airflow's OpenLineage provider emits for a real run."""

from __future__ import annotations

from pathlib import Path

from flightdq.airflow.lineage import FACET_KEY, assertions, dataset_location, input_datasets
from flightdq.core.results import CheckResult

P, R, D = "flightdata_processed", "flightdata_raw", "2026-11-20"


def result(dataset, check, status, severity=None, **details):
    return CheckResult(dataset, D, check, status, severity, 3, 0, f"{check} {status}", details)


def test_a_failure_asserts_false_a_pass_true_and_an_error_nothing():
    found = assertions(
        [
            result(P, "duplicates", "fail", "P3"),
            result(P, "freshness", "pass"),
            result(P, "record_count_drift", "warn"),
            result(P, "schema_validity", "error", "P1"),  # could not run: about the monitor
            result(R, "partition_presence", "fail", "P0"),
        ]
    )
    processed = {(a.assertion, a.success, a.column, a.severity) for a in found[P]}
    assert processed == {
        ("duplicates", False, "flight_id", "P3"),
        ("freshness", True, None, None),
        ("record_count_drift", True, None, None),
    }
    (raw,) = found[R]
    assert (raw.assertion, raw.success, raw.severity, raw.params["dt"]) == (
        "partition_presence",
        False,
        "P0",
        D,
    )


def test_broken_schema_rules_name_their_columns():
    rules = [{"rule": "latitude_in_range", "column": "latitude", "kind": "row", "rows": 12}]
    (check, rule) = assertions([result(P, "schema_validity", "fail", "P2", worst_rules=rules)])[P]
    assert (check.assertion, check.success, check.column) == ("schema_validity", False, None)
    assert (rule.assertion, rule.success, rule.column, rule.actual) == (
        "latitude_in_range",
        False,
        "latitude",
        "12 rows",
    )


def test_datasets_are_named_per_backend_and_carry_the_facet():
    assert dataset_location(P, "local", Path("/data/lake")) == ("file", "/data/lake/flightdata-processed")
    assert dataset_location(R, "local", Path("/data/lake")) == ("file", "/data/lake/flightdata-raw")
    assert dataset_location(P, "aws") == ("s3://flightdata-processed", "flightdata_processed")
    (dataset,) = input_datasets([result(P, "duplicates", "fail", "P3")], "local", Path("/l"))
    facet = dataset.inputFacets[FACET_KEY]
    assert dataset.name == "/l/flightdata-processed" and [a.success for a in facet.assertions] == [False]
