"""The tables people read: the CLI's incidents table (its default) and the per-check table."""

from __future__ import annotations

from flightdq.core.report import incidents_table, results_table, summary_line, summary_of
from flightdq.core.results import CheckResult, Severity, Status
from flightdq.incidents.reconcile import findings_by_incident

RAW, PROCESSED = "flightdata_raw", "flightdata_processed"
LONG = (
    "partition is missing: not in the catalog and no files in storage; raw data is complete: "
    "re-run the ETL for this day, then check it again before closing the incident"
)


def result(dt, dataset, check, status, severity=None, message="ok", **details) -> CheckResult:
    return CheckResult(dataset, dt, check, status, severity, 0, ">0 rows", message, details)


def a_week_of_results() -> list[CheckResult]:
    """Four checks on both datasets for a week, all passing but for three incidents: a missing
    processed partition (P1) with three symptoms, a duplicate (P3), and raw hours lost (P0)."""
    broken = "2026-11-05"
    findings = [
        result(broken, PROCESSED, "partition_presence", Status.FAIL, Severity.P1, LONG),
        result(broken, PROCESSED, "record_count_drift", Status.FAIL, Severity.P1, "no flights at all"),
        result(broken, PROCESSED, "freshness", Status.FAIL, Severity.P1, "no processed last_seen"),
        result(
            broken,
            PROCESSED,
            "duplicates",
            Status.ERROR,
            Severity.P2,
            "no rows to check",
            blocked_by="partition_presence",
        ),
        result("2026-11-06", PROCESSED, "duplicates", Status.FAIL, Severity.P3, "1 flight_id twice"),
        result("2026-11-07", RAW, "partition_presence", Status.FAIL, Severity.P0, "3 raw hours lost"),
    ]
    found = {(r.dt, r.dataset, r.check) for r in findings}
    passes = [
        result(f"2026-11-0{day}", dataset, check, Status.PASS)
        for day in range(1, 8)
        for dataset in (RAW, PROCESSED)
        for check in ("partition_presence", "record_count_drift", "duplicates", "freshness")
        if (f"2026-11-0{day}", dataset, check) not in found
    ]
    return passes + findings


def test_the_incidents_table_shows_one_block_per_root_cause_worst_first_within_the_width():
    results = a_week_of_results()
    table = incidents_table(findings_by_incident(results), results, width=120)
    lines = table.splitlines()
    assert all(len(line) <= 120 for line in lines)
    heads = [line.split()[:2] for line in lines if line[:2] in ("P0", "P1", "P2", "P3")]
    assert heads == [["P0", "2026-11-07"], ["P1", "2026-11-05"], ["P3", "2026-11-06"]]
    # the cause's whole message, wrapped, never cut; the other symptoms folded into one line
    assert " ".join(line.strip() for line in lines).count(LONG) == 1
    (folded,) = [line for line in lines if "symptom(s)" in line]
    assert "+ 3 symptom(s)" in folded and "processed duplicates (blocked)" in folded
    assert "processed freshness (P1)" in folded
    passed = sum(r.status is Status.PASS for r in results)
    assert f"(+ {passed} passing checks not shown" in lines[-1]


def test_the_checks_table_lists_findings_first_wraps_messages_and_folds_passes():
    results = a_week_of_results()
    table = results_table(results, width=120)
    lines = table.splitlines()
    assert all(len(line) <= 120 for line in lines)
    severities = [line[:2] for line in lines[2:] if line[:2] in ("P0", "P1", "P2", "P3")]
    assert severities == sorted(severities) and severities[0] == "P0" and len(severities) == 6
    assert " ".join(line.strip() for line in lines).count(" ".join(LONG.split())) == 1
    assert "passing checks not shown" in lines[-1]
    everything = results_table(results, show_passes=True, width=120)
    assert len([line for line in everything.splitlines() if " PASS " in line]) == sum(
        r.status is Status.PASS for r in results
    )


def test_the_summary_line_counts_incidents_by_severity_and_days():
    results = a_week_of_results()
    summary = summary_of(results, findings_by_incident(results))
    assert summary["incidents"] == 3 and summary["incidents_by_severity"] == {"P0": 1, "P1": 1, "P3": 1}
    passed = sum(r.status is Status.PASS for r in results)
    assert summary_line(summary) == (
        f"3 incident(s): 1 P0, 1 P1, 1 P3 on 3 day(s); {passed} of {len(results)} checks passed"
    )
