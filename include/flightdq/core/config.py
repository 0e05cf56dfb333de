"""Configuration: the environment (backend, lake root) and the data-quality policy file.

One place reads `FLIGHTDQ_*` variables; everything else receives a `Settings`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any

from flightdq.core.dates import InputError
from flightdq.core.results import Severity

# Relative: `./lake` of the directory flightdq runs in, unless FLIGHTDQ_LAKE says otherwise.
DEFAULT_LAKE = Path("lake")
DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
BACKENDS = ("local", "aws")
SCHEMA_ENGINES = ("sql", "gx")  # schema_validity.engine: the suite compiled to SQL, or GX on pandas
# Policy keys whose value is one of a few words.
CHOICES: dict[str, tuple[str, ...]] = {"schema_validity.engine": SCHEMA_ENGINES}


class ConfigError(InputError):
    """The environment or the policy file is wrong; the message names the key."""


@dataclass(frozen=True)
class PresencePolicy:
    processed_missing_with_raw: Severity = Severity.P1
    raw_missing: Severity = Severity.P0
    processed_grace_minutes: int = 60


@dataclass(frozen=True)
class DriftPolicy:
    drop_fail_ratio: float = 0.20
    drop_fail_severity: Severity = Severity.P2
    drop_severe_ratio: float = 0.50
    drop_severe_severity: Severity = Severity.P1
    history_weeks: int = 4
    min_history_days: int = 2


@dataclass(frozen=True)
class SchemaPolicy:
    schema_change_severity: Severity = Severity.P1
    row_fail_ratio: float = 0.01
    row_fail_severity: Severity = Severity.P2
    row_severe_ratio: float = 0.05
    row_severe_severity: Severity = Severity.P1
    worst_rules_reported: int = 5
    engine: str = "sql"  # one of SCHEMA_ENGINES


@dataclass(frozen=True)
class DuplicatesPolicy:
    any_severity: Severity = Severity.P3
    ratio: float = 0.01
    ratio_severity: Severity = Severity.P2


@dataclass(frozen=True)
class FreshnessPolicy:
    lag_fail_minutes: int = 60
    lag_fail_severity: Severity = Severity.P2
    lag_severe_minutes: int = 240
    lag_severe_severity: Severity = Severity.P1


@dataclass(frozen=True)
class ValidationPolicy:
    max_range_days: int = 31


@dataclass(frozen=True)
class RemediationPolicy:
    max_parallel_etl: int = 1


@dataclass(frozen=True)
class ResponseMinutes:
    """The runbook's response times: how long an incident of each severity may stay unresolved."""

    P0: int = 15
    P1: int = 60
    P2: int = 240
    P3: int = 1440

    def of(self, severity: Severity | str) -> int:
        return getattr(self, str(severity))


@dataclass(frozen=True)
class EscalationMatrix:
    """The runbook's escalation matrix: (minutes since the incident opened, who is involved from then)."""

    P0: tuple = (
        (0, "On-call engineer"),
        (15, "Senior engineer"),
        (30, "Engineering manager"),
        (60, "Director/VP"),
    )
    P1: tuple = ((0, "On-call engineer"), (30, "Senior engineer"), (60, "Engineering manager"))
    P2: tuple = ((15, "On-call engineer"), (60, "Senior engineer"))
    P3: tuple = ((0, "On-call engineer"),)

    def involved_at(self, severity: Severity | str, minutes: float) -> list[str]:
        """Everyone the matrix involves `minutes` after opening (each row adds to the ones before)."""
        return [who for at, who in getattr(self, str(severity)) if minutes >= at]


@dataclass(frozen=True)
class IncidentPolicy:
    response_minutes: ResponseMinutes = field(default_factory=ResponseMinutes)
    escalation: EscalationMatrix = field(default_factory=EscalationMatrix)
    blind_overdue_severity: Severity = Severity.P1  # a check still unable to run past its response time
    stale_verdict_minutes: int = 180  # no verdict on the current day for this long: "monitoring stopped"
    stopped_severity: Severity = Severity.P1


@dataclass(frozen=True)
class Policy:
    partition_presence: PresencePolicy = field(default_factory=PresencePolicy)
    record_count_drift: DriftPolicy = field(default_factory=DriftPolicy)
    schema_validity: SchemaPolicy = field(default_factory=SchemaPolicy)
    duplicates: DuplicatesPolicy = field(default_factory=DuplicatesPolicy)
    freshness: FreshnessPolicy = field(default_factory=FreshnessPolicy)
    check_error_severity: Severity = Severity.P2
    validation: ValidationPolicy = field(default_factory=ValidationPolicy)
    remediation: RemediationPolicy = field(default_factory=RemediationPolicy)
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)


def _coerce(key: str, value: Any, default: Any) -> Any:
    if isinstance(default, Severity):
        try:
            return Severity(value)
        except ValueError:
            raise ConfigError(f"policy key {key}: {value!r} is not a severity P0..P3") from None
    if isinstance(default, tuple):
        return _steps(key, value)
    if isinstance(default, str) and key in CHOICES:
        if value not in CHOICES[key]:
            raise ConfigError(f"policy key {key}: {value!r} is not one of {', '.join(CHOICES[key])}")
        return value
    if isinstance(default, bool) or not isinstance(default, int | float):
        raise ConfigError(f"policy key {key}: unsupported value {value!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"policy key {key}: {value!r} is not a number")
    if isinstance(default, int) and not isinstance(value, int):
        raise ConfigError(f"policy key {key}: {value!r} is not a whole number")
    if value < 0 or ((key.endswith("_ratio") or key.endswith(".ratio")) and value > 1):
        raise ConfigError(f"policy key {key}: {value!r} is out of range")
    return value


def _steps(key: str, value: Any) -> tuple:
    """An escalation row list: [[minutes, "who"], ...], minutes ascending."""
    if not isinstance(value, list) or not value:
        raise ConfigError(f"policy key {key}: expected a list of [minutes, who] pairs")
    steps = []
    for item in value:
        ok = (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], int)
            and not isinstance(item[0], bool)
            and item[0] >= 0
            and isinstance(item[1], str)
            and item[1].strip()
        )
        if not ok:
            raise ConfigError(f"policy key {key}: {item!r} is not a [minutes, who] pair")
        steps.append((item[0], item[1].strip()))
    if [m for m, _ in steps] != sorted(m for m, _ in steps):
        raise ConfigError(f"policy key {key}: minutes must be ascending")
    return tuple(steps)


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"policy key {prefix or '<top>'}: expected a mapping, got {data!r}")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"policy key {prefix}{key}: unknown key")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        default = getattr(defaults, f.name)
        key = f"{prefix}{f.name}"
        if hasattr(default, "__dataclass_fields__"):
            values[f.name] = _build(type(default), data[f.name], f"{key}.")
        else:
            values[f.name] = _coerce(key, data[f.name], default)
    built = cls(**values)
    _check_order(built, prefix)
    return built


def _check_order(section: Any, prefix: str) -> None:
    pairs = [
        ("drop_fail_ratio", "drop_severe_ratio"),
        ("row_fail_ratio", "row_severe_ratio"),
        ("lag_fail_minutes", "lag_severe_minutes"),
    ]
    for low, high in pairs:
        if hasattr(section, low) and getattr(section, low) > getattr(section, high):
            raise ConfigError(f"policy key {prefix}{high}: must not be below {prefix}{low}")


def load_policy(path: Path | str | None = None) -> Policy:
    import yaml

    path = Path(path) if path else DEFAULT_POLICY
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except OSError as exc:
        raise ConfigError(f"policy file {path}: cannot be read ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"policy file {path}: not valid YAML ({exc})") from None
    return _build(Policy, data, "")


@dataclass(frozen=True)
class Settings:
    backend: str
    lake: Path
    policy: Policy
    aws_conn_id: str = "aws_default"
    history_uri: str | None = None  # AWS: where flightdq keeps its records (s3://bucket/prefix/)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("FLIGHTDQ_BACKEND", "local").strip().lower() or "local"
        if backend not in BACKENDS:
            raise ConfigError(f"FLIGHTDQ_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
        lake = Path(env.get("FLIGHTDQ_LAKE") or DEFAULT_LAKE).expanduser().resolve()
        policy = _cached_policy(env.get("FLIGHTDQ_POLICY") or str(DEFAULT_POLICY))
        return cls(
            backend=backend,
            lake=lake,
            policy=policy,
            aws_conn_id=env.get("FLIGHTDQ_AWS_CONN_ID", "aws_default"),
            history_uri=env.get("FLIGHTDQ_HISTORY_URI") or None,
        )


@lru_cache(maxsize=8)
def _cached_policy(path: str) -> Policy:
    return load_policy(path)
