"""What every emulator test module shares: `aws`, the module's emulator (each module makes its own
`emulator` fixture, seeded with the lake it needs) with this process's AWS connection pointed at it,
no fault armed before the test and none left after it, and no Glue run still going when it ends. A
module that needs more overrides `aws` and requests this one."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from flightdq_dev.emulator import AwsEmulator


@pytest.fixture
def aws(emulator: AwsEmulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[AwsEmulator]:
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    emulator.faults.clear()
    yield emulator
    emulator.wait_for_glue_runs()
    emulator.faults.clear()
