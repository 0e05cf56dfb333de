"""The policy file: defaults match the contract, and a bad file is rejected naming the bad key."""

from __future__ import annotations

import pytest

from flightdq.core.config import ConfigError, Settings, load_policy
from flightdq.core.results import Severity


def test_default_policy_matches_the_contract():
    policy = load_policy()
    assert policy.record_count_drift.drop_fail_ratio == 0.20
    assert policy.record_count_drift.drop_severe_severity is Severity.P1
    assert policy.schema_validity.row_fail_ratio == 0.01
    assert policy.freshness.lag_fail_minutes == 60 and policy.freshness.lag_severe_minutes == 240
    assert policy.partition_presence.raw_missing is Severity.P0
    assert policy.duplicates.any_severity is Severity.P3
    assert policy.validation.max_range_days == 31


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("freshness:\n  lag_fail_minuets: 30\n", "freshness.lag_fail_minuets"),
        ("freshness:\n  lag_fail_severity: P9\n", "freshness.lag_fail_severity"),
        ("record_count_drift:\n  drop_fail_ratio: 1.5\n", "record_count_drift.drop_fail_ratio"),
        ("record_count_drift:\n  history_weeks: four\n", "record_count_drift.history_weeks"),
        ("freshness:\n  lag_fail_minutes: 300\n", "freshness.lag_severe_minutes"),
        ("duplicates: 3\n", "duplicates"),
        ("alerting: {}\n", "alerting"),
        ("incidents:\n  response_minutes:\n    P5: 10\n", "incidents.response_minutes.P5"),
        ("incidents:\n  escalation:\n    P1: [[30, Senior], [0, On-call]]\n", "incidents.escalation.P1"),
        ("incidents:\n  escalation:\n    P2: [[15]]\n", "incidents.escalation.P2"),
    ],
)
def test_bad_policy_is_rejected_naming_the_key(tmp_path, text, key):
    path = tmp_path / "policy.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        load_policy(path)


def test_a_threshold_is_a_config_change(tmp_path):
    path = tmp_path / "policy.yaml"
    path.write_text("freshness:\n  lag_fail_minutes: 30\n")
    settings = Settings.from_env({"FLIGHTDQ_POLICY": str(path), "FLIGHTDQ_LAKE": str(tmp_path)})
    assert settings.policy.freshness.lag_fail_minutes == 30
    assert settings.policy.freshness.lag_severe_minutes == 240


def test_unknown_backend_is_rejected():
    with pytest.raises(ConfigError, match="FLIGHTDQ_BACKEND='azure'"):
        Settings.from_env({"FLIGHTDQ_BACKEND": "azure"})
