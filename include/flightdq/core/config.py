"""Configuration: the environment (backend, lake root) and the data-quality policy file.

One place reads `FLIGHTDQ_*` variables; everything else receives a `Settings`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from flightdq.core.dates import InputError, echo
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


class Bounds(NamedTuple):
    """The range a policy number must lie in: [low, high], or (low, high] when `open_low`."""

    low: float
    high: float
    open_low: bool = False

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return False
        return (self.low < value if self.open_low else self.low <= value) and value <= self.high

    def __str__(self) -> str:
        return f"{'(' if self.open_low else '['}{self.low:g}, {self.high:g}]"


def _bounded(default: float, low: float, high: float, *, open_low: bool = False) -> Any:
    """A policy number with its range: every value the policy file gives for it is checked."""
    return field(default=default, metadata={"bounds": Bounds(low, high, open_low)})


WEEK_MINUTES = 7 * 24 * 60
YEAR_MINUTES = 365 * 24 * 60


@dataclass(frozen=True)
class PresencePolicy:
    processed_missing_with_raw: Severity = Severity.P1
    raw_missing: Severity = Severity.P0
    processed_grace_minutes: int = _bounded(60, 0, 24 * 60)


@dataclass(frozen=True)
class DriftPolicy:
    drop_fail_ratio: float = _bounded(0.20, 0, 1, open_low=True)
    drop_fail_severity: Severity = Severity.P2
    drop_severe_ratio: float = _bounded(0.50, 0, 1, open_low=True)
    drop_severe_severity: Severity = Severity.P1
    history_weeks: int = _bounded(4, 1, 52)
    min_history_days: int = _bounded(2, 1, 52)  # and at most history_weeks (one comparable day a week)


@dataclass(frozen=True)
class SchemaPolicy:
    schema_change_severity: Severity = Severity.P1
    row_fail_ratio: float = _bounded(0.01, 0, 1)
    row_fail_severity: Severity = Severity.P2
    row_severe_ratio: float = _bounded(0.05, 0, 1)
    row_severe_severity: Severity = Severity.P1
    worst_rules_reported: int = _bounded(5, 1, 100)
    engine: str = "sql"  # one of SCHEMA_ENGINES


@dataclass(frozen=True)
class DuplicatesPolicy:
    any_severity: Severity = Severity.P3
    ratio: float = _bounded(0.01, 0, 1)
    ratio_severity: Severity = Severity.P2


@dataclass(frozen=True)
class FreshnessPolicy:
    lag_fail_minutes: int = _bounded(60, 1, WEEK_MINUTES)
    lag_fail_severity: Severity = Severity.P2
    lag_severe_minutes: int = _bounded(240, 1, WEEK_MINUTES)
    lag_severe_severity: Severity = Severity.P1


@dataclass(frozen=True)
class ValidationPolicy:
    max_range_days: int = _bounded(31, 1, 366)


@dataclass(frozen=True)
class RemediationPolicy:
    max_parallel_etl: int = _bounded(1, 1, 64)
    rebuild_partial_raw: bool = True  # raw hours lost, partition missing/broken: rebuild from the rest
    upstream_margin: float = _bounded(
        0.10, 0, 1
    )  # processed as far below normal as raw (within it): upstream
    raw_samples: int = _bounded(6, 1, 100)  # raw snapshots read per day to measure how full raw data is
    # a real repair of this many days or more, or any forced repair, waits for a person's approval
    # (Airflow's Required Actions); 0: no repair waits
    approval_from_days: int = _bounded(2, 0, 366)


@dataclass(frozen=True)
class ResponseMinutes:
    """The runbook's response times: how long an incident of each severity may stay unresolved."""

    P0: int = _bounded(15, 1, YEAR_MINUTES)
    P1: int = _bounded(60, 1, YEAR_MINUTES)
    P2: int = _bounded(240, 1, YEAR_MINUTES)
    P3: int = _bounded(1440, 1, YEAR_MINUTES)

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
    stale_verdict_minutes: int = _bounded(180, 15, WEEK_MINUTES)  # no verdict this long: "monitoring stopped"
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


def _coerce(key: str, value: Any, spec: Field) -> Any:
    default = spec.default
    if isinstance(default, Severity):
        try:
            return Severity(value)
        except (TypeError, ValueError):
            raise ConfigError(f"policy key {key}: {echo(value)} is not a severity P0..P3") from None
    if isinstance(default, tuple):
        return _steps(key, value)
    if isinstance(default, str) and key in CHOICES:
        if value not in CHOICES[key]:
            raise ConfigError(f"policy key {key}: {echo(value)} is not one of {', '.join(CHOICES[key])}")
        return value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"policy key {key}: {echo(value)} is not true or false")
        return value
    bounds = spec.metadata.get("bounds")
    if not isinstance(bounds, Bounds):
        raise ConfigError(f"policy key {key}: unsupported value {echo(value)}")
    whole = isinstance(default, int)
    fits = value in bounds and (isinstance(value, int) or not whole)
    if not fits:
        kind = "whole number" if whole else "finite number"
        raise ConfigError(f"policy: {key} must be a {kind} in {bounds}, got {echo(value)}")
    return value if whole else float(value)


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
            and 0 <= item[0] <= YEAR_MINUTES
            and isinstance(item[1], str)
            and item[1].strip()
        )
        if not ok:
            raise ConfigError(
                f"policy key {key}: {echo(item)} is not a [minutes, who] pair with minutes in "
                f"[0, {YEAR_MINUTES}]"
            )
        steps.append((item[0], item[1].strip()))
    if [m for m, _ in steps] != sorted(m for m, _ in steps):
        raise ConfigError(f"policy key {key}: minutes must be ascending")
    return tuple(steps)


def _build(cls: type, data: Any, prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"policy key {prefix or '<top>'}: expected a mapping, got {echo(data)}")
    defaults = cls()
    known = {f.name for f in fields(cls)}
    for key in data:
        if key not in known:
            raise ConfigError(f"policy key {echo(f'{prefix}{key}', 80)}: unknown key")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue
        default = getattr(defaults, f.name)
        key = f"{prefix}{f.name}"
        if hasattr(default, "__dataclass_fields__"):
            values[f.name] = _build(type(default), data[f.name], f"{key}.")
        else:
            values[f.name] = _coerce(key, data[f.name], f)
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
    if hasattr(section, "min_history_days") and section.min_history_days > section.history_weeks:
        raise ConfigError(
            f"policy key {prefix}min_history_days: must not be above {prefix}history_weeks "
            "(one comparable day a week)"
        )


MAX_POLICY_BYTES = 64 * 1024  # a policy is a page of settings; the default is under 4 KiB


def load_policy(path: Path | str | None = None) -> Policy:
    import yaml

    class NoAliasLoader(yaml.SafeLoader):
        """YAML without aliases: a policy never needs `*name`, and aliases nested in aliases expand
        exponentially (a "billion laughs" file of a few hundred bytes fills the memory)."""

        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(None, None, "aliases (*name) are not allowed", mark)
            return super().compose_node(parent, index)

    path = Path(path) if path else DEFAULT_POLICY
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)
    except OSError as exc:
        raise ConfigError(f"policy file {path}: cannot be read ({exc.strerror or exc})") from None
    if len(raw) > MAX_POLICY_BYTES:
        raise ConfigError(f"policy file {path}: larger than {MAX_POLICY_BYTES // 1024} KiB, not a policy")
    try:
        data = yaml.load(raw.decode("utf-8"), Loader=NoAliasLoader) or {}
    except UnicodeDecodeError:
        raise ConfigError(f"policy file {path}: not UTF-8 text") from None
    except ValueError:  # a number YAML reads but Python will not hold (over 4300 digits)
        raise ConfigError(f"policy file {path}: holds a number too long to read") from None
    except yaml.YAMLError as exc:  # its own text spans lines; keep the problem and where it is
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise ConfigError(f"policy file {path}: not valid YAML ({problem}{where})") from None
    return _build(Policy, data, "")


DEFAULT_SLACK_CONN_ID = "slack_flightdq"
# Read before Slack went through an Airflow connection; now refused with what to do instead.
RETIRED_SLACK_WEBHOOK_SETTING = "FLIGHTDQ_SLACK_WEBHOOK_URL"
# What schedules flightdq_daily_checks: the 02:00 UTC cron, a repaired partition (an event of the
# flightdata_processed asset), or either. Read when the DAG file is parsed, so only from the environment.
DAILY_SCHEDULE_MODES = ("cron", "asset", "cron_or_asset")
DEFAULT_DAILY_SCHEDULE = "cron_or_asset"


def slack_conn_id(env: Mapping[str, str] | None = None) -> str:
    """The Airflow connection (type `slackwebhook`) Slack alerts go through: FLIGHTDQ_SLACK_CONN_ID."""
    env = os.environ if env is None else env
    return env.get("FLIGHTDQ_SLACK_CONN_ID", "").strip() or DEFAULT_SLACK_CONN_ID


def daily_schedule_mode(env: Mapping[str, str] | None = None) -> str:
    """FLIGHTDQ_DAILY_SCHEDULE, one of DAILY_SCHEDULE_MODES (default cron_or_asset). Cheap: the
    environment only, no policy file."""
    env = os.environ if env is None else env
    mode = env.get("FLIGHTDQ_DAILY_SCHEDULE", "").strip().lower() or DEFAULT_DAILY_SCHEDULE
    if mode not in DAILY_SCHEDULE_MODES:
        raise ConfigError(
            f"FLIGHTDQ_DAILY_SCHEDULE={echo(mode, 40)} is not one of {', '.join(DAILY_SCHEDULE_MODES)}"
        )
    return mode


@dataclass(frozen=True)
class Settings:
    backend: str
    lake: Path
    policy: Policy
    aws_conn_id: str = "aws_default"
    history_uri: str | None = None  # AWS: where flightdq keeps its records (s3://bucket/prefix/)
    ingestion_function: str = "flightdata-processor"  # AWS: the ingestion Lambda the diagnosis looks at
    slack_conn_id: str = DEFAULT_SLACK_CONN_ID  # the Airflow connection Slack alerts use, when it exists
    # The ETL job a repair runs (FLIGHTDQ_ETL_JOB; docs/aws.md "The ETL job contract"): on AWS the
    # Glue job's name (default `flightdata-etl`); on the embedded lake `module:function` (called
    # in-process with the job's arguments) or a command line (run with them appended). None: ours.
    etl_job: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        backend = env.get("FLIGHTDQ_BACKEND", "local").strip().lower() or "local"
        if backend not in BACKENDS:
            raise ConfigError(f"FLIGHTDQ_BACKEND={backend!r} is not one of {', '.join(BACKENDS)}")
        try:
            lake = Path(env.get("FLIGHTDQ_LAKE") or DEFAULT_LAKE).expanduser().resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # ~nobody/..., a NUL byte, a symlink loop
            raise ConfigError(
                f"FLIGHTDQ_LAKE {echo(env.get('FLIGHTDQ_LAKE'), 80)}: not a usable path ({exc})"
            ) from None
        policy = _cached_policy(env.get("FLIGHTDQ_POLICY") or str(DEFAULT_POLICY))
        return cls(
            backend=backend,
            lake=lake,
            policy=policy,
            aws_conn_id=env.get("FLIGHTDQ_AWS_CONN_ID", "aws_default"),
            history_uri=env.get("FLIGHTDQ_HISTORY_URI") or None,
            ingestion_function=env.get("FLIGHTDQ_INGESTION_FUNCTION", "").strip() or "flightdata-processor",
            slack_conn_id=slack_conn_id(env),
            etl_job=env.get("FLIGHTDQ_ETL_JOB", "").strip() or None,
        )


@lru_cache(maxsize=8)
def _cached_policy(path: str) -> Policy:
    return load_policy(path)
