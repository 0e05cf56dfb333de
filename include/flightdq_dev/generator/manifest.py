"""The manifest a generated lake carries (`<root>/_generator/manifest.json`): what was generated and,
per planted fault, which check should catch it with which severity."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

MANIFEST_FILE = "_generator/manifest.json"


@dataclass(frozen=True)
class PlantedFault:
    fault: str
    dt: str
    dataset: str
    check: str
    severity: str | None = None  # None: the check is expected to pass (a control)
    detail: str = ""

    @property
    def expected_status(self) -> str:
        return "pass" if self.severity is None else "fail"


@dataclass(frozen=True)
class LakeManifest:
    root: str
    start: str
    end: str
    seed: int
    size: str
    flights_per_weekday: int
    healthy_days: list[str]
    faults: list[PlantedFault]
    poll_seconds: int = 600
    raw_objects: int = 0
    raw_states: int = 0
    processed_rows: dict[str, int] = field(default_factory=dict)  # dt -> rows after faults

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> LakeManifest:
        data = json.loads(text)
        data["faults"] = [PlantedFault(**f) for f in data.get("faults", [])]
        return cls(**data)

    @classmethod
    def load(cls, root: Path) -> LakeManifest:
        return cls.from_json((Path(root) / MANIFEST_FILE).read_text())

    def fault_on(self, dt: str) -> PlantedFault | None:
        return next((f for f in self.faults if f.dt == dt), None)
