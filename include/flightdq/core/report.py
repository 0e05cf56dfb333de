"""Readable output: the incidents table (the CLI's default), the results table (task logs,
`--checks`, `--all`) and the JSON document.

Both tables are for people: worst severity first, then by day; passes folded into one count line
unless asked for; long messages wrap to the terminal's width instead of being cut. The incidents
table shows one block per root cause (what broke, what it says, and its other symptoms on one line),
so a range of days with a dozen faults fits on one screen. The JSON keeps the results in the order
the checks produced them (scripts rely on it).
"""

from __future__ import annotations

import json
import shutil
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from flightdq.core.results import CheckResult, Status

SEVERITY_ORDER = {"P0": 0, "P1": 1, "P2": 2, "P3": 3}
_STATUS_ORDER = {Status.FAIL: 0, Status.ERROR: 1, Status.WARN: 2, Status.PASS: 3}
_COLUMNS = ("sev", "dt", "dataset", "check", "status", "observed", "expected", "message")
_DATASET_SHORT = {"flightdata_raw": "raw", "flightdata_processed": "processed"}
_WIDTHS = (3, 10, 9, 18, 6, 14, 16)  # the message takes what is left


def severity_key(result: CheckResult) -> tuple:
    return (
        SEVERITY_ORDER.get(str(result.severity), 9),
        _STATUS_ORDER[result.status],
        result.dt,
        result.dataset,
        result.check,
    )


def _cell(value: object, width: int) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(
    rows: Sequence[Sequence[object]], headers: Sequence[str], widths: Sequence[int | None]
) -> list[str]:
    """The rows under their headers, columns aligned by tabulate (two spaces apart, a dashed rule):
    a cell longer than its column's width is cut with "…"; a column whose width is None (free text,
    wrapped by the caller into lines) is kept whole, its lines stacked in the row."""
    from tabulate import tabulate

    cut = [
        [_cell(c, w) if w else ("-" if c is None else str(c)) for c, w in zip(row, widths, strict=True)]
        for row in rows
    ]
    text = tabulate(cut, headers=list(headers), tablefmt="simple", disable_numparse=True, missingval="-")
    return [line.rstrip() for line in text.splitlines()]


def results_table(
    results: Sequence[CheckResult], *, show_passes: bool = False, width: int | None = None
) -> str:
    width = width or shutil.get_terminal_size((120, 24)).columns
    message_width = max(30, width - sum(_WIDTHS) - 2 * len(_WIDTHS))
    shown = sorted((r for r in results if show_passes or r.status is not Status.PASS), key=severity_key)
    rows = [
        (
            r.severity,
            r.dt,
            _DATASET_SHORT.get(r.dataset, r.dataset),
            r.check,
            str(r.status).upper(),
            r.observed,
            r.expected,
            "\n".join(textwrap.wrap(r.message or "-", message_width)) or "-",
        )
        for r in shown
    ]
    lines = _table(rows, _COLUMNS, (*_WIDTHS, None))
    passed = sum(1 for r in results if r.status is Status.PASS)
    if passed and not show_passes:
        lines.append(f"(+ {passed} passing checks not shown; --all shows them)")
    return "\n".join(lines)


_INCIDENT_COLUMNS = ("sev", "dt", "cause", "observed", "expected")
_INCIDENT_WIDTHS = (3, 10, 32, 26, 20)


def incidents_table(
    incidents: Sequence[Mapping[str, Any]], results: Sequence[CheckResult], *, width: int | None = None
) -> str:
    """One block per incident (as `findings_by_incident` groups them): its cause with observed and
    expected (a tabulate row), the cause's message wrapped under it, and its other symptoms folded
    into one line (the text under a row is a block of prose, not a column: it takes the width)."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    by_check = {(r.dt, r.dataset, r.check): r for r in results}
    rows, texts = [], []
    for incident in incidents:
        cause = incident["cause"]
        found = by_check.get((incident["dt"], cause["dataset"], cause["check"]))
        label = f"{_DATASET_SHORT.get(cause['dataset'], cause['dataset'])} {cause['check']}"
        if incident["kind"] != "data":
            label = f"{incident['kind']}: {label}"
        rows.append(
            (
                incident["severity"],
                incident["dt"],
                label,
                found.observed if found else None,
                found.expected if found else None,
            )
        )
        symptoms = incident.get("symptoms") or []
        folded = ", ".join(
            f"{_DATASET_SHORT.get(s['dataset'], s['dataset'])} {s['check']} "
            f"({'blocked' if s.get('status') == str(Status.ERROR) else s['severity']})"
            for s in symptoms
        )
        texts.append(
            (incident["message"] or "-", f"+ {len(symptoms)} symptom(s): {folded}" if symptoms else "")
        )
    head, rule, *row_lines = _table(rows, _INCIDENT_COLUMNS, _INCIDENT_WIDTHS)
    indent = " " * head.index("dt")  # the text under a row starts under its day
    text_width = max(40, width - len(indent))
    lines = [head, rule]
    for row, (message, also) in zip(row_lines, texts, strict=True):
        lines += [row, *(indent + line for line in textwrap.wrap(message, text_width))]
        lines += [indent + line for line in textwrap.wrap(also, text_width, subsequent_indent="  ")]
    passed = sum(1 for r in results if r.status is Status.PASS)
    if passed:
        lines.append(
            f"(+ {passed} passing checks not shown; --checks lists every finding, --all every check)"
        )
    return "\n".join(lines)


def summary_of(results: Sequence[CheckResult], incidents: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    by_severity: dict[str, int] = {}
    for incident in incidents:
        by_severity[incident["severity"]] = by_severity.get(incident["severity"], 0) + 1
    return {
        "incidents": len(incidents),
        "incidents_by_severity": dict(sorted(by_severity.items())),
        "days_with_incidents": len({i["dt"] for i in incidents}),
        "checks": len(results),
        "passed": sum(1 for r in results if r.status is Status.PASS),
        "warned": sum(1 for r in results if r.status is Status.WARN),
        "failed": sum(1 for r in results if r.status is Status.FAIL),
        "errors": sum(1 for r in results if r.status is Status.ERROR),
    }


def summary_line(summary: Mapping[str, Any]) -> str:
    """`3 incidents: 1 P0, 2 P1 on 2 days; 66 checks passed, 2 warned`."""
    if summary["incidents"]:
        counts = ", ".join(f"{n} {sev}" for sev, n in summary["incidents_by_severity"].items())
        days = summary["days_with_incidents"]
        head = f"{summary['incidents']} incident(s): {counts} on {days} day(s)"
    else:
        head = "no incidents"
    tail = f"{summary['passed']} of {summary['checks']} checks passed"
    if summary["warned"]:
        tail += f", {summary['warned']} warned"
    return f"{head}; {tail}"


def results_json(
    results: Sequence[CheckResult],
    incidents: Sequence[Mapping[str, Any]] | None = None,
    summary: Mapping[str, Any] | None = None,
) -> str:
    document: dict[str, Any] = {"results": [r.to_dict() for r in results]}
    if incidents is not None:
        document["incidents"] = list(incidents)
    if summary is not None:
        document["summary"] = dict(summary)
    return json.dumps(document, indent=2, default=str)
