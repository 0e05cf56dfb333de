"""Configuration: the environment (backend, lake root) and the data-quality policy file.

One place reads `FLIGHTDQ_*` variables; everything else receives a `Settings`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)
from pydantic_core import PydanticCustomError

from flightdq.core.dates import echo
from flightdq.core.errors import ConfigError
from flightdq.core.results import Severity

# Relative: `./lake` of the directory flightdq runs in, unless FLIGHTDQ_LAKE says otherwise.
DEFAULT_LAKE = Path("lake")
DEFAULT_POLICY = Path(__file__).with_name("policy.yaml")
BACKENDS = ("local", "aws")
SCHEMA_ENGINES = ("sql", "gx")  # schema_validity.engine: the suite compiled to SQL, or GX on pandas


WEEK_MINUTES = 7 * 24 * 60
YEAR_MINUTES = 365 * 24 * 60

# The policy file's values, checked by pydantic (v2) when a file is loaded (`policy_from`): numbers
# finite and in their range (a whole number stays whole: 1.0 is not a count), words among their
# choices, severities P0..P3, escalation rows [minutes, who] in ascending minutes, and no unknown
# key. The sections are plain frozen dataclasses: code that builds one by keyword is not checked.
_SECTION = ConfigDict(extra="forbid")


def _whole(low: int, high: int) -> Any:
    return Annotated[int, Strict(), Field(ge=low, le=high)]


def _ratio(*, open_low: bool = False) -> Any:
    low = {"gt": 0} if open_low else {"ge": 0}
    return Annotated[float, Strict(), Field(le=1, allow_inf_nan=False, **low)]


def _ascending(steps: tuple[tuple[int, str], ...]) -> tuple[tuple[int, str], ...]:
    if [m for m, _ in steps] != sorted(m for m, _ in steps):
        raise ValueError("minutes must be ascending")
    return steps


Flag = Annotated[bool, Strict()]
Who = Annotated[str, Strict(), StringConstraints(strip_whitespace=True, min_length=1)]
Steps = Annotated[
    tuple[tuple[Annotated[int, Strict(), Field(ge=0, le=YEAR_MINUTES)], Who], ...],
    Field(min_length=1),
    AfterValidator(_ascending),
]


def _not_below(section: Any, low: str, high: str) -> None:
    if getattr(section, low) > getattr(section, high):
        raise PydanticCustomError("order", "must not be below {other}", {"key": high, "other": low})


@dataclass(frozen=True)
class PresencePolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    processed_missing_with_raw: Severity = Severity.P1
    raw_missing: Severity = Severity.P0
    processed_grace_minutes: _whole(0, 24 * 60) = 60


@dataclass(frozen=True)
class DriftPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    drop_fail_ratio: _ratio(open_low=True) = 0.20
    drop_fail_severity: Severity = Severity.P2
    drop_severe_ratio: _ratio(open_low=True) = 0.50
    drop_severe_severity: Severity = Severity.P1
    history_weeks: _whole(1, 52) = 4
    min_history_days: _whole(1, 52) = 2  # and at most history_weeks (one comparable day a week)

    @model_validator(mode="after")
    def _ordered(self) -> DriftPolicy:
        _not_below(self, "drop_fail_ratio", "drop_severe_ratio")
        if self.min_history_days > self.history_weeks:
            raise PydanticCustomError(
                "order",
                "must not be above {other} (one comparable day a week)",
                {"key": "min_history_days", "other": "history_weeks"},
            )
        return self


@dataclass(frozen=True)
class SchemaPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    schema_change_severity: Severity = Severity.P1
    row_fail_ratio: _ratio() = 0.01
    row_fail_severity: Severity = Severity.P2
    row_severe_ratio: _ratio() = 0.05
    row_severe_severity: Severity = Severity.P1
    worst_rules_reported: _whole(1, 100) = 5
    engine: Literal["sql", "gx"] = "sql"  # one of SCHEMA_ENGINES

    @model_validator(mode="after")
    def _ordered(self) -> SchemaPolicy:
        _not_below(self, "row_fail_ratio", "row_severe_ratio")
        return self


@dataclass(frozen=True)
class DuplicatesPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    any_severity: Severity = Severity.P3
    ratio: _ratio() = 0.01
    ratio_severity: Severity = Severity.P2


@dataclass(frozen=True)
class FreshnessPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    lag_fail_minutes: _whole(1, WEEK_MINUTES) = 60
    lag_fail_severity: Severity = Severity.P2
    lag_severe_minutes: _whole(1, WEEK_MINUTES) = 240
    lag_severe_severity: Severity = Severity.P1

    @model_validator(mode="after")
    def _ordered(self) -> FreshnessPolicy:
        _not_below(self, "lag_fail_minutes", "lag_severe_minutes")
        return self


@dataclass(frozen=True)
class ValidationPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    max_range_days: _whole(1, 366) = 31


@dataclass(frozen=True)
class RemediationPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    max_parallel_etl: _whole(1, 64) = 1
    rebuild_partial_raw: Flag = True  # raw hours lost, partition missing/broken: rebuild from the rest
    upstream_margin: _ratio() = 0.10  # processed as far below normal as raw (within it): upstream
    raw_samples: _whole(1, 100) = 6  # raw snapshots read per day to measure how full raw data is
    # a real repair of this many days or more, or any forced repair, waits for a person's approval
    # (Airflow's Required Actions); 0: no repair waits
    approval_from_days: _whole(0, 366) = 2


@dataclass(frozen=True)
class ResponseMinutes:
    """The runbook's response times: how long an incident of each severity may stay unresolved."""

    __pydantic_config__: ClassVar[ConfigDict] = _SECTION

    P0: _whole(1, YEAR_MINUTES) = 15
    P1: _whole(1, YEAR_MINUTES) = 60
    P2: _whole(1, YEAR_MINUTES) = 240
    P3: _whole(1, YEAR_MINUTES) = 1440

    def of(self, severity: Severity | str) -> int:
        return getattr(self, str(severity))


@dataclass(frozen=True)
class EscalationMatrix:
    """The runbook's escalation matrix: (minutes since the incident opened, who is involved from then)."""

    __pydantic_config__: ClassVar[ConfigDict] = _SECTION

    P0: Steps = (
        (0, "On-call engineer"),
        (15, "Senior engineer"),
        (30, "Engineering manager"),
        (60, "Director/VP"),
    )
    P1: Steps = ((0, "On-call engineer"), (30, "Senior engineer"), (60, "Engineering manager"))
    P2: Steps = ((15, "On-call engineer"), (60, "Senior engineer"))
    P3: Steps = ((0, "On-call engineer"),)

    def involved_at(self, severity: Severity | str, minutes: float) -> list[str]:
        """Everyone the matrix involves `minutes` after opening (each row adds to the ones before)."""
        return [who for at, who in getattr(self, str(severity)) if minutes >= at]


@dataclass(frozen=True)
class IncidentPolicy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    response_minutes: ResponseMinutes = field(default_factory=ResponseMinutes)
    escalation: EscalationMatrix = field(default_factory=EscalationMatrix)
    blind_overdue_severity: Severity = Severity.P1  # a check still unable to run past its response time
    stale_verdict_minutes: _whole(15, WEEK_MINUTES) = 180  # no verdict this long: "monitoring stopped"
    stopped_severity: Severity = Severity.P1


@dataclass(frozen=True)
class Policy:
    __pydantic_config__: ClassVar[ConfigDict] = _SECTION
    partition_presence: PresencePolicy = field(default_factory=PresencePolicy)
    record_count_drift: DriftPolicy = field(default_factory=DriftPolicy)
    schema_validity: SchemaPolicy = field(default_factory=SchemaPolicy)
    duplicates: DuplicatesPolicy = field(default_factory=DuplicatesPolicy)
    freshness: FreshnessPolicy = field(default_factory=FreshnessPolicy)
    check_error_severity: Severity = Severity.P2
    validation: ValidationPolicy = field(default_factory=ValidationPolicy)
    remediation: RemediationPolicy = field(default_factory=RemediationPolicy)
    incidents: IncidentPolicy = field(default_factory=IncidentPolicy)


@lru_cache(maxsize=1)
def _policy_adapter() -> TypeAdapter[Policy]:
    """Built on first use: a process that never loads a policy (a DAG file being parsed) pays
    nothing for the validators."""
    return TypeAdapter(Policy)


def policy_from(data: Any) -> Policy:
    """The policy a parsed policy file holds; a bad value is a one-line ConfigError naming its key
    and the value (the first problem pydantic found)."""
    if not isinstance(data, dict):
        raise ConfigError(f"policy key <top>: expected a mapping, got {echo(data)}")
    try:
        return _policy_adapter().validate_python(data)
    except ValidationError as exc:
        raise ConfigError(_one_line(exc.errors(include_url=False)[0])) from None


def _one_line(error: Mapping[str, Any]) -> str:
    """`policy key freshness.lag_fail_minutes: Input should be less than or equal to 10080, got 99999`."""
    path = [str(part) for part in error["loc"] if not isinstance(part, int)]
    context = error.get("ctx") or {}
    if error["type"] == "order":  # a rule between two keys of a section: name both, in full
        key, other = (".".join([*path, context[name]]) for name in ("key", "other"))
        return f"policy key {key}: {error['msg'].replace(context['other'], other)}"
    key = ".".join(path) or "<top>"
    if error["type"] == "unexpected_keyword_argument":
        return f"policy key {echo(key, 80)}: unknown key"
    return f"policy key {key}: {error['msg']}, got {echo(error['input'])}"


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
    return policy_from(data)


DEFAULT_SLACK_CONN_ID = "slack_flightdq"
# Read before Slack went through an Airflow connection; now refused with what to do instead.
RETIRED_SLACK_WEBHOOK_SETTING = "FLIGHTDQ_SLACK_WEBHOOK_URL"


def slack_conn_id(env: Mapping[str, str] | None = None) -> str:
    """The Airflow connection (type `slackwebhook`) Slack alerts go through: FLIGHTDQ_SLACK_CONN_ID."""
    env = os.environ if env is None else env
    return env.get("FLIGHTDQ_SLACK_CONN_ID", "").strip() or DEFAULT_SLACK_CONN_ID


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
