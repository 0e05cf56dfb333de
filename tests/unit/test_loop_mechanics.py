"""The detect -> repair -> re-validate loop's own mechanics, without Airflow running: which run is red,
what the remediation plans from, and a "remediation started" step that wins the race with the
incidents step of the checks run that asked for it. (tests/system/test_scheduler_loop.py runs the
loop itself under a real scheduler.)"""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from conftest import SMALL_LAKE_END, end_of
from flightdq.airflow.tasks import (
    needs_a_person,
    remediation_request,
    resolve_remediation_request,
    verdict_text,
)
from flightdq.core.dates import InputError
from flightdq.core.results import CheckResult, Severity, Status
from flightdq.incidents.reconcile import reconcile, record_remediation
from flightdq.incidents.store import EventKind, IncidentStore, State
from flightdq.storage.blobstore import LocalBlobStore

DT = "2026-11-25"
T0 = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
CHECKS_RUN = "scheduled__2026-11-26T02:00:00+00:00"
DAGS = Path(__file__).resolve().parents[2] / "dags"


def missing_partition() -> CheckResult:
    return CheckResult(
        "flightdata_processed", DT, "partition_presence", Status.FAIL, Severity.P1, 0, ">0 rows", "missing"
    )


def finding(dataset: str, check: str, *, monitor: bool = False, dt: str = DT) -> dict:
    return {
        "dataset": dataset,
        "dt": dt,
        "check": check,
        "status": "fail",
        "severity": "P1",
        "monitor": monitor,
    }


# --- a "remediation started" that lands first ----------------------------------------------------


def test_a_remediation_that_wins_the_race_lands_on_the_incident_its_checks_run_opens(tmp_path):
    store = IncidentStore(LocalBlobStore(tmp_path))
    record_remediation(
        store,
        DT,
        EventKind.REMEDIATION_STARTED,
        "rebuild started",
        run_id="manual__repair",
        links={},
        now=T0,
        checked_by=CHECKS_RUN,
    )
    assert store.open([DT]) == []  # nothing is open yet: the checks run has not recorded its findings
    reconcile(store, [missing_partition()], run_id=CHECKS_RUN, now=T0 + timedelta(seconds=3))
    (incident,) = store.open([DT])
    assert [e.event for e in incident.timeline] == ["detected", "remediation_started"]
    assert incident.state is State.REMEDIATING


def test_a_step_of_another_checks_run_or_of_none_stays_off_the_incident(tmp_path):
    store = IncidentStore(LocalBlobStore(tmp_path))
    for checked_by in ("scheduled__2026-11-19T02:00:00+00:00", None):
        record_remediation(
            store,
            DT,
            EventKind.REMEDIATION_STARTED,
            "rebuild",
            run_id="r",
            links={},
            now=T0,
            checked_by=checked_by,
        )
    reconcile(store, [missing_partition()], run_id=CHECKS_RUN, now=T0 + timedelta(seconds=3))
    (incident,) = store.open([DT])
    assert [e.event for e in incident.timeline] == ["detected"]
    assert incident.state is State.OPEN


def test_the_daily_dag_asks_for_the_repair_only_after_its_incidents_step():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(DAGS / "flightdq_daily_checks.py")).dags["flightdq_daily_checks"]
    trigger = dag.get_task("trigger_remediation")
    assert trigger.upstream_task_ids == {"report", "incidents"}
    assert trigger.trigger_rule == "all_done"  # an alert that could not go out holds no repair back
    remediation = DagBag(dag_folder=str(DAGS / "flightdq_remediation.py")).dags["flightdq_remediation"]
    assert "incidents" not in remediation.task_ids  # incidents are reconciled by the checks runs alone


# --- which run is red ----------------------------------------------------------------------------


def test_a_partition_handed_to_the_remediation_leaves_the_checks_run_green():
    failing = [
        finding("flightdata_processed", "partition_presence"),
        finding("flightdata_processed", "record_count_drift"),
    ]
    summary = {"failing": failing, "remediation": {"days": [DT]}, "missing_checks": []}
    assert needs_a_person(summary) == [] and verdict_text(summary) == ""


@pytest.mark.parametrize(
    "left",
    [
        finding("flightdata_raw", "partition_presence"),  # lost raw hours: no ETL run brings them back
        finding("flightdata_processed", "schema_validity", monitor=True),  # the check could not run
        finding("flightdata_processed", "duplicates", dt="2026-11-24"),  # a day nobody repairs
    ],
)
def test_a_finding_no_repair_was_asked_for_turns_the_run_red(left):
    summary = {
        "failing": [finding("flightdata_processed", "partition_presence"), left],
        "remediation": {"days": [DT]},
        "missing_checks": [],
    }
    assert needs_a_person(summary) == [left]
    assert left["check"] in verdict_text(summary)


def test_without_a_remediation_every_finding_and_every_silent_check_is_red():
    summary = {"failing": [finding("flightdata_processed", "partition_presence")], "remediation": None}
    assert "partition_presence" in verdict_text(summary)
    assert "freshness" in verdict_text({"failing": [], "missing_checks": ["freshness"]})


# --- what the remediation plans from ----------------------------------------------------------------


def test_the_remediation_request_names_the_checks_run_that_asked_for_it():
    plans = [{"dt": DT, "action": "rebuild"}, {"dt": "2026-11-24", "action": "not_repairable"}]
    request = remediation_request(plans, CHECKS_RUN)
    assert request == {"days": [DT], "dry_run": False, "checked_by": CHECKS_RUN}
    resolved = resolve_remediation_request(request, run_after=T0, max_days=31)
    assert resolved["checked_by"] == CHECKS_RUN and resolved["days"] == [DT]
    assert remediation_request([{"dt": DT, "action": "not_repairable"}], CHECKS_RUN) is None


@pytest.mark.parametrize("bad", ["../../etc", "a b", "x" * 251, 7])
def test_a_checked_by_that_is_not_a_run_id_is_refused(bad):
    with pytest.raises(InputError, match="checked_by"):
        resolve_remediation_request({"days": [DT], "checked_by": bad}, run_after=T0, max_days=31)


def test_the_remediation_plans_from_the_results_the_checks_run_recorded(small_lake):
    """Asked by a checks run, the plan judges nothing again: it reads that run's results."""
    from flightdq.airflow.tasks import plan_remediation
    from flightdq.checks.runner import run_checks

    backend, day = small_lake, SMALL_LAKE_END
    shutil.rmtree(backend.settings.lake / "flightdata-processed" / "flightdata_processed" / f"dt={day}")
    run_checks([day], end_of(day), backend=backend, settings=backend.settings, run_id=CHECKS_RUN)
    recorded = len(backend.history.read([day]))
    request = {
        "days": [str(day)],
        "as_of": end_of(day).isoformat(),
        "dry_run": False,
        "force": False,
        "checked_by": CHECKS_RUN,
    }
    (plan,) = plan_remediation(request, "manual__repair")
    assert plan["dt"] == str(day) and plan["action"] == "rebuild"
    assert len(backend.history.read([day])) == recorded  # no second judgement was recorded
    # asked by a person (no checks run named), the plan checks the days itself
    plan_remediation(request | {"checked_by": None}, "manual__by_hand")
    assert backend.history.read_run("manual__by_hand", [day])


# --- approval before big repairs ---------------------------------------------------------------------


def plan_of(dt: str, action: str = "rebuild") -> dict:
    return {"dt": dt, "action": action, "reasons": ["the partition is missing"], "lost_hours": []}


@pytest.mark.parametrize(
    ("dry_run", "force", "plans", "from_days", "waits"),
    [
        (False, False, [plan_of(DT)], 2, False),  # one day, unforced: what the daily DAG asks for
        (False, False, [plan_of(DT), plan_of("2026-11-24")], 2, True),  # two days
        (False, True, [plan_of(DT)], 2, True),  # any forced repair
        (True, True, [plan_of(DT), plan_of("2026-11-24")], 2, False),  # a dry run changes nothing
        (False, False, [plan_of(DT), plan_of("2026-11-24", "not_repairable")], 2, False),  # one acts
        (False, True, [plan_of(DT), plan_of("2026-11-24")], 0, False),  # approvals off
    ],
)
def test_which_repairs_wait_for_a_person(dry_run, force, plans, from_days, waits):
    from flightdq.airflow.tasks import approval_needed

    assert approval_needed({"dry_run": dry_run, "force": force}, plans, from_days) is waits


def test_the_approval_shows_the_plan_of_every_day():
    from flightdq.airflow.tasks import approval_text

    plans = [plan_of(DT), plan_of("2026-11-24", "not_repairable") | {"reasons": ["raw hours 03 | 04 lost"]}]
    subject, body = approval_text({"dry_run": False, "force": True}, plans)
    assert subject.startswith("Repair 1 day(s)") and "FORCED" in subject
    assert DT in body and "2026-11-24" in body and "not_repairable" in body
    assert "03 / 04" in body  # a `|` in a reason does not break the Markdown table


def test_a_rejected_repair_changes_nothing_and_says_who(small_lake):
    from flightdq.recovery.execute import SETTLED, Outcome, finish
    from flightdq.recovery.plan import Action, DayPlan

    plans = [DayPlan(str(SMALL_LAKE_END), Action.REBUILD, ["missing"])]
    ended = finish(
        small_lake,
        plans,
        {},
        end_of(SMALL_LAKE_END),
        dry_run=False,
        run_id="r",
        recheck=False,
        rejected_by="ana",
    )
    assert [o.outcome for o in ended] == [Outcome.REJECTED] and "rejected by ana" in ended[0].message
    assert Outcome.REJECTED in SETTLED and small_lake.etl_runs(SMALL_LAKE_END) == []


def test_html_in_a_users_name_is_shown_not_rendered_in_the_review(tmp_path):
    from flightdq.incidents.reviews import review_markdown

    store = IncidentStore(LocalBlobStore(tmp_path))
    reconcile(store, [missing_partition()], run_id=CHECKS_RUN, now=T0)
    (incident,) = store.open([DT])
    store.acknowledge(incident.id, "<img src=x onerror=alert(1)>|x", now=T0 + timedelta(minutes=1))
    text = review_markdown(store.get(incident.id), [], [], now=T0 + timedelta(hours=1))
    assert "<img" not in text and "&lt;img src=x onerror=alert(1)&gt;\\|x" in text


def test_the_trigger_starts_the_remediation_with_the_days_or_skips_when_none_need_it():
    """What the daily DAG's last task does when the scheduler runs it: Airflow 3's trigger (the task
    runner acts on DagRunTriggerException) with the report's request, or a skip without one."""
    from airflow.sdk.exceptions import AirflowSkipException, DagRunTriggerException

    from flightdq.airflow.dag_factory import TriggerRemediation

    nothing = TriggerRemediation(
        task_id="trigger_remediation", trigger_dag_id="flightdq_remediation", conf=None
    )
    with pytest.raises(AirflowSkipException):
        nothing.execute({})
    request = {"days": [str(DT)], "dry_run": False, "checked_by": CHECKS_RUN}
    repair = TriggerRemediation(
        task_id="trigger_remediation", trigger_dag_id="flightdq_remediation", conf=request
    )
    with pytest.raises(DagRunTriggerException) as raised:
        repair.execute({})
    assert raised.value.trigger_dag_id == "flightdq_remediation" and raised.value.conf == request
    assert not raised.value.wait_for_completion
    assert repair.trigger_run_id and repair.trigger_run_id.startswith("manual__")
