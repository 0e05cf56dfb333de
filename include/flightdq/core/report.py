"""Readable output: the results table shown by the CLI and in task logs."""

from __future__ import annotations

import json
from collections.abc import Sequence

from flightdq.core.results import CheckResult, Status

_ORDER = {Status.ERROR: 0, Status.FAIL: 1, Status.WARN: 2, Status.PASS: 3}
_COLUMNS = ("dt", "dataset", "check", "status", "sev", "observed", "expected", "message")


def _cell(value: object, width: int) -> str:
    text = "-" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def results_table(results: Sequence[CheckResult], *, message_width: int = 90) -> str:
    rows = [
        (r.dt, r.dataset, r.check, str(r.status).upper(), r.severity, r.observed, r.expected, r.message)
        for r in sorted(results, key=lambda r: (r.dt, r.dataset, r.check))
    ]
    widths = [10, 20, 18, 6, 4, 12, 16, message_width]
    lines = ["  ".join(_cell(c, w).ljust(w) for c, w in zip(_COLUMNS, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in rows:
        lines.append("  ".join(_cell(c, w).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    failing = sum(1 for r in results if r.failed)
    lines.append(
        f"{len(results)} results: {failing} failing, "
        f"{sum(1 for r in results if r.status is Status.WARN)} warning, "
        f"{sum(1 for r in results if r.status is Status.PASS)} passing"
    )
    return "\n".join(lines)


def results_json(results: Sequence[CheckResult]) -> str:
    return json.dumps({"results": [r.to_dict() for r in results]}, indent=2, default=str)
