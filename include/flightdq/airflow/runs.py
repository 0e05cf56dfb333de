"""What the DAG files, the task bodies and the page share: which checks DAG a target is for, how a
run was triggered, the remediation and daily checks DAGs' ids, and what schedules the daily checks.
A module of its own, light, so a DAG file being parsed imports neither the task bodies
(`flightdq.airflow.tasks`) nor the policy's definitions (`flightdq.core.config`) to learn them."""

from __future__ import annotations

import os
from collections.abc import Mapping

from flightdq.core.dates import echo
from flightdq.core.errors import ConfigError

DAILY, INTRADAY = "daily", "intraday"
ASSET_TRIGGER = "asset"  # a target's "trigger" when asset events named its days
REMEDIATION_DAG_ID = "flightdq_remediation"
DAILY_CHECKS_DAG_ID = "flightdq_daily_checks"  # dags/flightdq_daily_checks.py

# What schedules flightdq_daily_checks: the 02:00 UTC cron, a repaired partition (an event of the
# flightdata_processed asset), or either. Read when the DAG file is parsed, so only from the environment.
DAILY_SCHEDULE_MODES = ("cron", "asset", "cron_or_asset")
DEFAULT_DAILY_SCHEDULE = "cron_or_asset"


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
