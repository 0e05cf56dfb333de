"""The remediation plan: what each day needs, and why, decided from evidence.

Per day, from a validation of the day (only results that were evaluated count: a check that could
not run is never evidence):

- `nothing`: every check passes (or only warns);
- `register`: the partition's files are in storage and sound; only the catalog does not know them;
- `rebuild`: the ETL can fix it: the partition is missing, empty or has unreadable or broken files;
  rows break the contract; `flight_id`s repeat; or it holds materially fewer flights (or older
  data) than raw does;
- `rebuild`, partial: raw hours are missing *and* the partition is missing or broken: it is rebuilt
  from the hours that remain (`remediation.rebuild_partial_raw`); the lost hours stay a P0 data loss;
- `not_repairable`: raw hours are missing and the partition already holds what remains: data loss,
  no ETL run;
- `upstream`: drift or staleness that raw data shows just the same: the cause is upstream (the data
  source, the ingestion Lambda); no ETL run;
- `cannot_plan`: the evidence the decision needs could not be gathered (a check could not run).

"Materially fewer flights than raw" compares two ratios against the same weekday's normal: the
drift check's processed flights / normal, and raw fullness (the mean number of states in a few
sampled raw snapshots, `evidence.raw_fullness`) / the same for the drift baseline days. Processed
below raw by more than `remediation.upstream_margin` means the ETL lost data: a rebuild can help.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from flightdq.checks.runner import run_checks
from flightdq.core.contract import (
    DUPLICATES,
    FRESHNESS,
    PARTITION_PRESENCE,
    PROCESSED_DATASET,
    RAW_DATASET,
    RECORD_COUNT_DRIFT,
    SCHEMA_VALIDITY,
)
from flightdq.core.results import CheckResult, Status
from flightdq.incidents.store import IncidentStore

if TYPE_CHECKING:
    from flightdq.backends.base import Backend
    from flightdq.core.config import RemediationPolicy


class Action(StrEnum):
    NOTHING = "nothing"
    REGISTER = "register"  # files are in storage, the catalog does not know them
    REBUILD = "rebuild"  # re-run the ETL from raw data (all of it, or the hours that remain)
    NOT_REPAIRABLE = "not_repairable"  # raw data is missing: data loss, no ETL run
    UPSTREAM = "upstream"  # raw data itself is low or late: no ETL run can help
    CANNOT_PLAN = "cannot_plan"  # the evidence could not be gathered


REPAIR_ACTIONS = (Action.REBUILD, Action.REGISTER)

UPSTREAM_STEPS = (
    "check the upstream data source (OpenSky Network API) for the day",
    "check the ingestion Lambda's invocations, errors and throttles, and its ERROR logs",
)


@dataclass
class DayPlan:
    dt: str
    action: Action
    reasons: list[str] = field(default_factory=list)
    lost_hours: list[int] = field(default_factory=list)  # raw hours no rebuild can bring back
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def partial(self) -> bool:
        return self.action is Action.REBUILD and bool(self.lost_hours)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"action": str(self.action)}

    @classmethod
    def from_dict(cls, record: Mapping[str, Any]) -> DayPlan:
        return cls(
            record["dt"],
            Action(record["action"]),
            list(record.get("reasons", [])),
            list(record.get("lost_hours", [])),
            dict(record.get("evidence", {})),
        )


RawFullness = Callable[[str, Sequence[str]], tuple[float | None, str]]  # (raw ratio or None, why)


def _evaluated(result: CheckResult | None) -> bool:
    """A result that says something about the data: evaluated, or blocked by the data itself."""
    return result is not None and (
        result.status is not Status.ERROR or bool(result.details.get("blocked_by"))
    )


def plan_day(
    dt: str, found: Sequence[CheckResult], policy: RemediationPolicy, raw_fullness: RawFullness
) -> DayPlan:
    """One day's plan from its results (see the module docstring for the rules)."""
    by_key = {(r.dataset, r.check): r for r in found}
    raw = by_key.get((RAW_DATASET, PARTITION_PRESENCE))
    processed = by_key.get((PROCESSED_DATASET, PARTITION_PRESENCE))
    blind = [r for r in found if not _evaluated(r)]
    for needed, what in ((raw, "raw partition_presence"), (processed, "processed partition_presence")):
        if not _evaluated(needed):
            why = needed.message if needed else "it did not run"
            return DayPlan(dt, Action.CANNOT_PLAN, [f"cannot plan: {what} could not be evaluated ({why})"])

    broken = _broken_partition(found, by_key)
    lost = sorted(raw.details.get("missing_hours", [])) if raw.failed else []
    if lost:
        kept = int(raw.details.get("hours_due", 24)) - len(lost)
        loss = f"raw hours {_hours(lost)} are missing: data loss no ETL run can undo"
        if kept <= 0:
            return DayPlan(dt, Action.NOT_REPAIRABLE, [f"{loss}; no raw hour remains", *UPSTREAM_STEPS], lost)
        if broken and policy.rebuild_partial_raw:
            return DayPlan(
                dt, Action.REBUILD, [*broken, f"{loss}; rebuilding from the {kept} hours that remain"], lost
            )
        held = "the partition already holds what remains" if not broken else "partial rebuilds are off"
        return DayPlan(dt, Action.NOT_REPAIRABLE, [f"{loss}; {held}", *UPSTREAM_STEPS], lost)

    if processed.failed and processed.details.get("state") == "not_registered" and not _files_broken(by_key):
        return DayPlan(dt, Action.REGISTER, [f"{PARTITION_PRESENCE}: {processed.message}"])
    if broken:
        return DayPlan(dt, Action.REBUILD, broken)

    soft = [
        r
        for r in found
        if r.failed and r.dataset == PROCESSED_DATASET and r.check in (RECORD_COUNT_DRIFT, FRESHNESS)
    ]
    if soft:
        return _judge_upstream(dt, soft, by_key, policy, raw_fullness)
    if blind:
        names = ", ".join(f"{r.check} on {r.dataset}" for r in blind)
        return DayPlan(dt, Action.CANNOT_PLAN, [f"cannot plan: {names} could not run ({blind[0].message})"])
    return DayPlan(dt, Action.NOTHING)


def _broken_partition(found: Sequence[CheckResult], by_key: Mapping) -> list[str]:
    """Why the processed partition itself is wrong in a way a rebuild fixes (empty: it is sound)."""
    reasons = []
    processed = by_key.get((PROCESSED_DATASET, PARTITION_PRESENCE))
    if processed.failed and processed.details.get("state") != "not_registered":
        reasons.append(f"{PARTITION_PRESENCE}: {processed.message}")
    for check in (SCHEMA_VALIDITY, DUPLICATES):
        result = by_key.get((PROCESSED_DATASET, check))
        if result is not None and result.status is Status.FAIL:
            reasons.append(f"{check}: {result.message}")
    unreadable = [
        r for r in found if r.status is Status.ERROR and r.details.get("blocked_by") == SCHEMA_VALIDITY
    ]
    if unreadable:
        reasons.append(f"unreadable data: {unreadable[0].message}")
    return reasons


def _files_broken(by_key: Mapping) -> bool:
    schema = by_key.get((PROCESSED_DATASET, SCHEMA_VALIDITY))
    return schema is not None and schema.status is Status.FAIL


def _judge_upstream(
    dt: str,
    soft: Sequence[CheckResult],
    by_key: Mapping,
    policy: RemediationPolicy,
    raw_fullness: RawFullness,
) -> DayPlan:
    """Drift or staleness on a sound partition: a rebuild helps only if raw holds more than processed."""
    reasons, evidence, upstream = [], {}, []
    for result in soft:
        reasons.append(f"{result.check}: {result.message}")
        if result.check == FRESHNESS:
            raw_fresh = by_key.get((RAW_DATASET, FRESHNESS))
            if raw_fresh is not None and raw_fresh.status is Status.FAIL:
                upstream.append(f"raw data is just as late ({raw_fresh.message})")
            elif raw_fresh is None or not _evaluated(raw_fresh):
                return DayPlan(
                    dt, Action.CANNOT_PLAN, [*reasons, "cannot plan: raw freshness was not evaluated"]
                )
            continue
        expected, observed = result.expected, result.observed
        baseline = list((result.details.get("baseline") or {}).keys())
        raw_ratio, why = raw_fullness(dt, baseline)
        if raw_ratio is None or not isinstance(expected, int | float) or not expected:
            return DayPlan(dt, Action.CANNOT_PLAN, [*reasons, f"cannot plan: raw fullness unknown ({why})"])
        processed_ratio = float(observed) / float(expected)
        evidence = {"processed_ratio": round(processed_ratio, 3), "raw_ratio": round(raw_ratio, 3)}
        comparison = f"processed holds {processed_ratio:.0%} of normal, raw {raw_ratio:.0%} ({why})"
        if processed_ratio + policy.upstream_margin >= raw_ratio:
            upstream.append(f"raw data itself is low: {comparison}")
        else:
            reasons.append(f"the ETL lost data: {comparison}")
            return DayPlan(dt, Action.REBUILD, reasons, evidence=evidence)
    if upstream:
        return DayPlan(
            dt,
            Action.UPSTREAM,
            [*reasons, *(f"upstream: {u}" for u in upstream), *UPSTREAM_STEPS],
            evidence=evidence,
        )
    return DayPlan(dt, Action.REBUILD, [*reasons, "raw data is fresh: the ETL is behind"], evidence=evidence)


def plan_from_results(
    days: Sequence[date],
    results: Iterable[CheckResult],
    policy: RemediationPolicy,
    raw_fullness: RawFullness,
) -> list[DayPlan]:
    """Decide, from a validation of the days, what each day needs."""
    by_day: dict[str, list[CheckResult]] = {}
    for result in results:
        by_day.setdefault(result.dt, []).append(result)
    return [plan_day(str(day), by_day.get(str(day), []), policy, raw_fullness) for day in days]


def plan_days(
    backend: Backend,
    days: Sequence[date],
    as_of: datetime,
    *,
    run_id: str,
    record: bool = True,
    force: bool = False,
) -> list[DayPlan]:
    """Validate the days and plan each. A dry run passes `record=False`: no check history is written.
    A partial rebuild the ETL would refuse (unless `force`) is planned as the refusal it would be."""
    from flightdq.recovery.evidence import raw_fullness_of

    results = run_checks(
        days,
        as_of,
        backend=backend,
        settings=backend.settings,
        run_id=run_id,
        record=record,
        incident_days=IncidentStore(backend.blobs).unresolved_days,
    )
    policy = backend.settings.policy.remediation
    plans = plan_from_results(days, results, policy, raw_fullness_of(backend, policy.raw_samples))
    return plans if force else [_refused_shrink(backend, p) for p in plans]


def _refused_shrink(backend: Backend, plan: DayPlan) -> DayPlan:
    """A partial rebuild over a readable partition that holds flights starting in the lost raw hours
    would cover fewer hours: the repair refuses that unless forced (`publish.audit_replacement`). Say so now,
    so that a dry run predicts what the real run does."""
    if not plan.partial:
        return plan
    from flightdq.checks import queries

    try:
        rows = queries.run(backend, "hourly_flight_counts", start_dt=plan.dt, end_dt=plan.dt)
    except Exception:  # an unreadable partition is no yardstick: the ETL replaces it
        return plan
    held = sorted({int(r["hour"]) for r in rows if r.get("hour") is not None and r.get("flights")})
    dropped = [h for h in plan.lost_hours if h in held]
    if not dropped:
        return plan
    refusal = (
        f"a rebuild from the raw hours that remain would drop hours {_hours(dropped)} the partition "
        "holds now: the ETL refuses to replace a partition with a smaller one unless forced "
        "(remediate with --force to rebuild anyway)"
    )
    loss = f"raw hours {_hours(plan.lost_hours)} are missing: data loss no ETL run can undo"
    reasons = [*plan.reasons[:-1], f"{loss}; {refusal}", *UPSTREAM_STEPS]  # the last said "rebuilding"
    return DayPlan(plan.dt, Action.NOT_REPAIRABLE, reasons, plan.lost_hours, plan.evidence)


def plan_from_history(
    backend: Backend, days: Sequence[date], run_id: str, *, force: bool = False
) -> list[DayPlan] | None:
    """Plan the days from the results the run `run_id` recorded for them (a checks run that found
    them failing), with today's raw evidence: nothing is checked again. None when that run recorded
    nothing for the days (an unknown run id): then they must be checked."""
    records = backend.history.read_run(run_id, [str(d) for d in days])
    if not records:
        return None
    return plan_recorded(backend, days, [CheckResult.from_dict(r) for r in records], force=force)


def plan_recorded(
    backend: Backend, days: Sequence[date], results: Iterable[CheckResult], *, force: bool = False
) -> list[DayPlan]:
    """Plan the days from results already recorded, with today's raw evidence."""
    from flightdq.recovery.evidence import raw_fullness_of

    policy = backend.settings.policy.remediation
    plans = plan_from_results(days, results, policy, raw_fullness_of(backend, policy.raw_samples))
    return plans if force else [_refused_shrink(backend, p) for p in plans]


def plans_table(plans: Sequence[DayPlan]) -> str:
    """The plan as one table for a task log (a dry run's whole result)."""
    from tabulate import tabulate

    rows = [(p.dt, str(p.action), "; ".join(p.reasons) or "-") for p in plans]
    return tabulate(rows, headers=("dt", "action", "why"), tablefmt="simple", disable_numparse=True)


def _hours(hours: Sequence[int]) -> str:
    return ", ".join(f"{h:02d}" for h in hours)
