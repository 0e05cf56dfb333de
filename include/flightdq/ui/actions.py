"""What the pages let people do about a day: dry-run repair, repair, re-check, as Airflow DAG runs.

Airflow 3.3's UI cannot open its trigger form with values filled in from a link (apache/airflow
#54800: Airflow 2's `/trigger?conf=...` is gone; a fix was merged as #59231 and reverted as #59769,
and 3.3.2 has no route for it). So the page triggers through Airflow's own REST API,
`POST <ui root>/api/v2/dags/<dag id>/dagRuns`, from the browser, after a confirmation dialog that
shows the DAG, its conf and what it will do:

- the request carries the user's own Airflow login (the `_token` cookie the UI itself uses), so
  Airflow decides who may trigger (403 otherwise), records who did, and validates the conf against
  the DAG's params (their JSON schema) exactly as its trigger form would (400 otherwise);
- the dialog also links to the DAG's page, for those who want Airflow's form to edit other params.

Plain data here (unit-tested); `static/flightdq.js` opens the dialog and makes the request.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from flightdq.airflow.runs import DAILY_CHECKS_DAG_ID, REMEDIATION_DAG_ID


@dataclass(frozen=True)
class TriggerAction:
    key: str  # dry_run | repair | recheck
    label: str
    dag_id: str
    conf: dict[str, Any]
    explain: str  # what the run will do, for the confirmation dialog
    api_path: str  # Airflow's REST endpoint that creates the run
    dag_path: str  # the DAG's page in the Airflow UI (its own trigger button)
    danger: bool = False  # changes the lake

    @property
    def conf_json(self) -> str:
        return json.dumps(self.conf, sort_keys=True)

    @property
    def note(self) -> str:
        return f"{self.label} of {self.conf.get('date', '')} from the Flight data quality page"


def dag_path(dag_id: str, ui_root: str = "") -> str:
    return f"{ui_root}/dags/{quote(dag_id, safe='')}"


def trigger_api_path(dag_id: str, ui_root: str = "") -> str:
    return f"{ui_root}/api/v2/dags/{quote(dag_id, safe='')}/dagRuns"


def _action(key: str, label: str, dag_id: str, conf: dict, explain: str, ui_root: str, **kw: Any):
    return TriggerAction(
        key, label, dag_id, conf, explain, trigger_api_path(dag_id, ui_root), dag_path(dag_id, ui_root), **kw
    )


def day_actions(
    day: str, ui_root: str = "", *, kind: str = "data", failing: bool = True, repairable: bool = True
) -> list[TriggerAction]:
    """The runs one click away for a day, none that cannot help. A monitor incident (a check could
    not run) is not about the data, and a day with nothing failing has nothing to repair:
    re-checking is the only thing to do for them. A day the latest plan found no ETL run can help
    (`repairable` False: raw data lost, an upstream problem) gets no Repair, only a new plan."""
    recheck = _action(
        "recheck",
        "Re-check",
        DAILY_CHECKS_DAG_ID,
        {"date": day, "trigger_remediation": False},
        f"Run every check on {day} again and record the verdicts (incidents open or resolve from "
        "them). Repairs nothing.",
        ui_root,
    )
    if kind != "data" or not failing:
        return [recheck]
    found = [
        _action(
            "dry_run",
            "Dry-run repair",
            REMEDIATION_DAG_ID,
            {"date": day, "dry_run": True},
            f"Plan the repair of {day}: nothing to do, register the partition, rebuild it from raw "
            "data, or not repairable (raw data lost). Changes no data; the plan is shown on this "
            "page, marked dry run.",
            ui_root,
        ),
        _action(
            "repair",
            "Repair",
            REMEDIATION_DAG_ID,
            {"date": day, "dry_run": False},
            f"Repair {day}: register its partition, or re-run the ETL for it where its raw data is "
            "complete (never over lost raw data), then check it again. The run plans first and "
            "skips a day with nothing to do.",
            ui_root,
            danger=True,
        ),
        recheck,
    ]
    return [a for a in found if repairable or a.key != "repair"]
