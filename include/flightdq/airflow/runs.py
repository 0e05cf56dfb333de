"""The names the DAG files and the task bodies share: which checks DAG a target is for, how a run
was triggered, and the remediation DAG's id. A module of its own, importing nothing, so a DAG file
being parsed does not import the task bodies (`flightdq.airflow.tasks`) to learn them."""

from __future__ import annotations

DAILY, INTRADAY = "daily", "intraday"
ASSET_TRIGGER = "asset"  # a target's "trigger" when asset events named its days
REMEDIATION_DAG_ID = "flightdq_remediation"
