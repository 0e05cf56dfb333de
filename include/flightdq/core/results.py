"""The result of one check on one dataset and day: the record the CLI prints, the history keeps
and alerts are made from (contract section 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"
    WARN = "warn"
    FAIL = "fail"
    ERROR = "error"


class Severity(StrEnum):
    P0 = "P0"
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"


@dataclass
class CheckResult:
    dataset: str
    dt: str
    check: str
    status: Status
    severity: Severity | None
    observed: Any
    expected: Any
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.status = Status(self.status)
        self.severity = Severity(self.severity) if self.severity is not None else None
        if self.status is Status.PASS and self.severity is not None:
            raise ValueError("a passing check has no severity")
        if self.status in (Status.FAIL, Status.ERROR) and self.severity is None:
            raise ValueError(f"a check that ends in {self.status} needs a severity")

    @property
    def failed(self) -> bool:
        return self.status in (Status.FAIL, Status.ERROR)

    def to_dict(self) -> dict[str, Any]:
        record = asdict(self)
        record["status"] = str(self.status)
        record["severity"] = str(self.severity) if self.severity is not None else None
        return record

    @classmethod
    def from_dict(cls, record: dict[str, Any]) -> CheckResult:
        known = {k: record[k] for k in cls.__dataclass_fields__ if k in record}
        return cls(**known)
