"""Check results as OpenLineage data-quality assertions, for Airflow's OpenLineage provider.

Each check task reports what it judged as a `DataQualityAssertionsDatasetFacet` on the datasets it
judged (`flightdata_raw`, `flightdata_processed`), as input datasets of the task's OpenLineage
event: Marquez or DataHub then show the assertions beside the lineage. `CheckOperator` (in
`operators`) returns them from `get_openlineage_facets_on_complete` and, since a finding fails the
task, from `get_openlineage_facets_on_failure`.

One assertion per result (the check, for its day): `success` is false for a failure, true for a
pass or a warning (nothing to judge yet). A check that could not run (`error`) asserts nothing: it
is about the monitor, never evidence about the data. `schema_validity` adds one assertion per rule
it found broken, with its column; `duplicates` names its column, `flight_id`.

Nothing is emitted unless the provider has a transport configured (`[openlineage] transport`, or
`AIRFLOW__OPENLINEAGE__TRANSPORT`): without one it is disabled, and these methods are never called.

Where a dataset is (OpenLineage's naming): on the embedded lake, namespace `file` and the zone's
folder; on AWS, namespace `s3://<bucket>` and the table's prefix (the raw zone: the bucket's root).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from openlineage.client.event_v2 import InputDataset
from openlineage.client.facet_v2 import data_quality_assertions_dataset as dq

from flightdq.core.contract import (
    DUPLICATES,
    PROCESSED_BUCKET,
    PROCESSED_TABLE,
    RAW_BUCKET,
    RAW_DATASET,
    SCHEMA_VALIDITY,
)
from flightdq.core.results import CheckResult, Status

FACET_KEY = "dataQualityAssertions"  # the facet's name among an input dataset's facets
COLUMNS = {DUPLICATES: "flight_id"}  # checks about one column
TEXT_LIMIT = 500  # an assertion's description, expected and actual values: at most this long


def dataset_location(dataset: str, backend: str, lake: Path | None = None) -> tuple[str, str]:
    """(namespace, name) of a flightdq dataset, after OpenLineage's naming conventions."""
    if backend == "local":
        folder = RAW_BUCKET if dataset == RAW_DATASET else PROCESSED_BUCKET
        return "file", str((lake or Path("lake")) / folder)
    if dataset == RAW_DATASET:
        return f"s3://{RAW_BUCKET}", "/"
    return f"s3://{PROCESSED_BUCKET}", PROCESSED_TABLE


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:TEXT_LIMIT]


def assertions(results: Iterable[CheckResult]) -> dict[str, list[dq.Assertion]]:
    """Per dataset, the assertions its results make (see the module's doc)."""
    found: dict[str, list[dq.Assertion]] = {}
    for result in results:
        if result.status is Status.ERROR:
            continue  # the monitor could not look: nothing is asserted about the data
        success = result.status is not Status.FAIL
        severity = str(result.severity) if result.severity is not None else None
        mine = found.setdefault(result.dataset, [])
        mine.append(
            dq.Assertion(
                assertion=result.check,
                success=success,
                column=COLUMNS.get(result.check),
                severity=severity,
                name=f"{result.check} {result.dt}",
                description=_text(result.message),
                expected=_text(result.expected),
                actual=_text(result.observed),
                params={"dt": result.dt, "status": str(result.status)},
            )
        )
        if result.check == SCHEMA_VALIDITY:
            for rule in result.details.get("worst_rules") or []:
                if not isinstance(rule, Mapping) or not rule.get("rule"):
                    continue
                mine.append(
                    dq.Assertion(
                        assertion=str(rule["rule"]),
                        success=False,
                        column=_text(rule.get("column")),
                        severity=severity,
                        name=f"{SCHEMA_VALIDITY} {result.dt}: {rule['rule']}",
                        actual=_text(f"{rule.get('rows', '?')} rows"),
                        params={"dt": result.dt, "kind": str(rule.get("kind", ""))},
                    )
                )
    return found


def input_datasets(
    results: Iterable[CheckResult], backend: str, lake: Path | None = None
) -> list[InputDataset]:
    """The datasets a check judged, each with its assertions as the data-quality facet."""
    datasets = []
    for dataset, made in sorted(assertions(results).items()):
        namespace, name = dataset_location(dataset, backend, lake)
        facet = dq.DataQualityAssertionsDatasetFacet(assertions=made)
        datasets.append(InputDataset(namespace=namespace, name=name, inputFacets={FACET_KEY: facet}))
    return datasets


def check_lineage(results: Iterable[CheckResult], backend: str, lake: Path | None = None) -> Any:
    """What a check task reports to the OpenLineage provider (its `OperatorLineage`)."""
    from airflow.providers.openlineage.extractors import OperatorLineage

    return OperatorLineage(inputs=input_datasets(results, backend, lake))
