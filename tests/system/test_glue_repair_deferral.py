"""Two remediations of one day at once on the emulated AWS, each in its own Airflow home: the repair
tasks defer to Glue's trigger, Glue holds one run for the day, and both runs end green with it. Its
own file, apart from the loop's, so that pytest-xdist runs the two on different workers."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from airflow_runs import AIRFLOW, END, make_pool, metadata, migrate_with_pool

from flightdq.core.config import Settings
from flightdq_dev.generator import generate_lake

pytestmark = pytest.mark.slow


@pytest.mark.aws
def test_on_glue_the_repair_task_defers_and_two_remediations_of_a_day_share_one_run(
    tmp_path, tmp_path_factory, monkeypatch
):
    """Two remediation runs of one day at once (two Airflow homes, one emulated AWS): each repair
    task starts or attaches to the day's Glue run and defers (the run is waited for by the trigger,
    inline in `dags test`); Glue holds one run for the day, and both runs end green with it."""
    import shutil

    from flightdq.airflow.aws import ProviderAwsConnection
    from flightdq.backends.aws.backend import AwsBackend
    from flightdq_dev.emulator import DUCKDB_SCRIPT, AwsEmulator, seed_from_lake

    root = tmp_path / "lake"
    generate_lake(root, end=END, days=2, seed=5, size="small", poll_seconds=1200)
    with AwsEmulator() as emulator:
        seed_from_lake(root, emulator.endpoint, etl_script=DUCKDB_SCRIPT)  # the wait is tested, not the job
        for key, value in emulator.env().items():
            monkeypatch.setenv(key, value)
        homes = [tmp_path_factory.mktemp("glue-home-a"), tmp_path_factory.mktemp("glue-home-b")]
        envs = [
            emulator.env()
            | {"FLIGHTDQ_LAKE": str(root), "AIRFLOW_HOME": str(home), "FLIGHTDQ_GLUE_POLL_SECONDS": "1"}
            for home in homes
        ]
        migrate_with_pool(envs[0])
        assert "pool flightdq_etl: 3 slot(s)" in make_pool(envs[0], "--slots", "3")
        assert "pool flightdq_etl: 1 slot(s)" in make_pool(envs[0])  # updated back, not duplicated
        pool = metadata(
            envs[0],
            "from airflow.models.pool import Pool\n"
            "with create_session() as s:\n"
            "    p = s.scalar(select(Pool).where(Pool.pool == 'flightdq_etl'))\n"
            "    out = [p.slots, p.include_deferred]",
        )
        assert pool == [1, True]  # a repair deferred on its Glue run keeps its slot
        shutil.copy(homes[0] / "airflow.db", homes[1] / "airflow.db")  # the same migrated DB, twice
        emulator.remove_partition(str(END))
        emulator.faults.glue_run_min_seconds = 20.0  # long enough for both runs to find it going
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "AIRFLOW_CONN_"))}
        conf = json.dumps({"days": [str(END)], "dry_run": False})
        runs = [
            subprocess.Popen(
                [AIRFLOW, "dags", "test", "flightdq_remediation", "-c", conf],
                env=base | {"FLIGHTDQ_TASK_RETRIES": "0"} | env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for env in envs
        ]
        outputs = [run.communicate(timeout=600)[0] for run in runs]
        assert [run.returncode for run in runs] == [0, 0], "\n\n".join(o[-3000:] for o in outputs)

        (glue_run,) = emulator.job_runs(str(END))  # one Glue run for the day, not two
        assert glue_run["JobRunState"] == "SUCCEEDED"
        for output in outputs:  # each repair task deferred, and the trigger watched the run going
            assert "[DAG TEST] running trigger in line" in output
            assert "Status of AWS Glue job is: RUNNING" in output
        repairs = [
            metadata(
                env,
                "from airflow.models.xcom import XComModel\n"
                "with create_session() as s:\n"
                "    out = [x.value for x in s.scalars(select(XComModel).where("
                "XComModel.task_id == 'repair_day', XComModel.key == 'return_value'))]",
            )
            for env in envs
        ]
        results = [json.loads(r[0]) if isinstance(r[0], str) else r[0] for r in repairs]
        assert [r["etl_run_id"] for r in results] == [glue_run["Id"]] * 2
        assert sorted(r["attached"] for r in results) == [False, True]
        settings = Settings.from_env({"FLIGHTDQ_BACKEND": "aws", "FLIGHTDQ_LAKE": str(root)})
        backend = AwsBackend(settings, ProviderAwsConnection(settings.aws_conn_id))
        assert str(END) in backend.registered_partitions(END, END)
        assert [o["outcome"] for o in backend.history.read_remediations([END])] == ["repaired", "repaired"]
