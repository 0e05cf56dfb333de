"""One bad object stays confined (issue 19): a truncated processed Parquet file is blamed on the
processed data it is, named once with no tracebacks; and the dry run of a partial rebuild predicts
the shrink refusal the real run makes."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime

import pyarrow.parquet as pq
import pytest

from flightdq.checks.runner import run_checks
from flightdq.core.contract import PARTITION_PRESENCE, PROCESSED_DATASET, RAW_DATASET
from flightdq.core.results import Status
from flightdq.incidents.reconcile import findings_by_incident
from flightdq.recovery.execute import Outcome, remediate
from flightdq.recovery.plan import Action

END = date(2026, 11, 25)
AS_OF = datetime(2026, 11, 26, 3, 0, tzinfo=UTC)


def test_a_truncated_parquet_file_is_blamed_on_processed_once_without_tracebacks(small_lake, caplog):
    backend = small_lake
    (part,) = backend.partition_folder(END).glob("*.parquet")
    part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])

    with caplog.at_level("WARNING"):
        results = run_checks([END], AS_OF, backend=backend, settings=backend.settings, record=False)

    by_key = {(r.dataset, r.check): r for r in results}
    assert by_key[(RAW_DATASET, PARTITION_PRESENCE)].status is Status.PASS  # raw is a listing: readable
    (finding,) = findings_by_incident(results)
    assert finding["cause"]["dataset"] == PROCESSED_DATASET
    assert not [r for r in caplog.records if r.exc_info]  # no traceback for a finding about the data


def test_the_dry_run_predicts_the_refusal_the_real_run_makes(small_lake):
    """Raw half gone and rows duplicated: a rebuild from the hours that remain would drop hours the
    partition holds, which the ETL refuses unless forced. The dry run must say what the run does."""
    backend = small_lake
    for hour in range(12):
        shutil.rmtree(backend.raw_root / f"year=2026/month=11/day=25/hour={hour:02d}")
    folder = backend.partition_folder(END)
    pq.write_table(pq.read_table(folder / "part-00000.parquet").slice(0, 10), folder / "part-00001.parquet")

    (dry,) = remediate(backend, [END], AS_OF, dry_run=True, run_id="dry")
    (real,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="real")
    assert (
        (dry.action, dry.outcome)
        == (real.action, real.outcome)
        == (
            Action.NOT_REPAIRABLE,
            Outcome.NOT_REPAIRABLE,
        )
    )
    assert backend.etl_runs(END) == []  # no run started only to be refused

    (forced,) = remediate(backend, [END], AS_OF, dry_run=False, run_id="forced", force=True)
    assert forced.outcome is Outcome.REPAIRED_PARTIALLY


@pytest.mark.aws
def test_the_glue_job_rebuilds_from_the_readable_rest_and_names_the_bad_objects(tmp_path):
    from flightdq.core.contract import RAW_BUCKET
    from flightdq.etl import glue_entry
    from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake
    from flightdq_dev.generator import generate_lake

    root = tmp_path / "lake"
    generate_lake(root, end=END, days=1, seed=11, size="small", faults={})
    with AwsEmulator() as aws:
        seed_from_lake(root, aws.endpoint, etl_script=DUCKDB_SCRIPT)
        s3 = aws.client("s3")

        def hour_keys(hour: int) -> list[str]:
            listed = s3.list_objects_v2(
                Bucket=RAW_BUCKET, Prefix=f"year=2026/month=11/day=25/hour={hour:02d}/"
            )
            return sorted(o["Key"] for o in listed["Contents"])

        bad = [hour_keys(7)[0], *hour_keys(9)]  # one snapshot of 07, all of 09
        for key in bad:
            s3.put_object(Bucket=RAW_BUCKET, Key=key, Body=b"<html>" + b"x" * 394)

        prefix = f"s3://flightdata-processed/flightdata_processed/dt={END}/run=jr_bad/"
        outcome = glue_entry.run_job(END, s3=s3, output_prefix=prefix)
        named = s3.get_object(
            Bucket="flightdata-processed", Key=f"flightdata_processed/dt={END}/run=jr_bad/_SKIPPED.json"
        )["Body"].read()

    assert outcome.skipped == sorted(f"s3://{RAW_BUCKET}/{k}" for k in bad)
    assert outcome.lost_hours == [9] and outcome.rows > 0
    assert json.loads(named) == sorted(bad)  # the job contract: the keys it left out, for the repair
