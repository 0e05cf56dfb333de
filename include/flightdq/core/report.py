"""Readable output: the results table shown by the CLI and in task logs, and the JSON document.

The table is for people: findings first, worst severity first, then by day; passes folded into one
count line unless asked for; long messages wrap to the terminal's width instead of being cut.
The JSON keeps the results in the order the checks produced them (scripts rely on it).
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
_WIDTHS = (4, 10, 20, 18, 6, 14, 16)  # the message takes what is left


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


def results_table(
    results: Sequence[CheckResult], *, show_passes: bool = False, width: int | None = None
) -> str:
    width = width or shutil.get_terminal_size((120, 24)).columns
    message_width = max(30, width - sum(_WIDTHS) - 2 * len(_WIDTHS))
    shown = [r for r in results if show_passes or r.status is not Status.PASS]
    indent = " " * (sum(_WIDTHS) + 2 * len(_WIDTHS))
    lines = ["  ".join(c.ljust(w) for c, w in zip(_COLUMNS, (*_WIDTHS, 0), strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in (*_WIDTHS, message_width)))
    for r in sorted(shown, key=severity_key):
        cells = (r.severity, r.dt, r.dataset, r.check, str(r.status).upper(), r.observed, r.expected)
        head = "  ".join(_cell(c, w).ljust(w) for c, w in zip(cells, _WIDTHS, strict=True))
        wrapped = textwrap.wrap(r.message or "-", message_width) or ["-"]
        lines.append(f"{head}  {wrapped[0]}")
        lines += [f"{indent}{more}" for more in wrapped[1:]]
    passed = sum(1 for r in results if r.status is Status.PASS)
    if passed and not show_passes:
        lines.append(f"(+ {passed} passing checks not shown; --all shows them)")
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
