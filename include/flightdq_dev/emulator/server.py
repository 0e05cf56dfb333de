"""`AwsEmulator`: moto's ThreadedMotoServer on 127.0.0.1 behind the thin proxy (`proxy`) that answers
Athena's query calls and the ETL job's runs itself, its life cycle and what a user of it needs (boto3
clients, the environment to point flightdq and Airflow at it, the Glue job runs, breaking a day for a
test)."""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flightdq.core.contract import (
    ETL_JOB_NAME,
    GLUE_DATABASE,
    PROCESSED_BUCKET,
    PROCESSED_PREFIX,
    PROCESSED_TABLE,
)
from flightdq_dev.emulator.athena import EmulatedAthena, QueryRecord, run_query
from flightdq_dev.emulator.common import (
    ACCOUNT_ID,
    DUMMY_CREDENTIAL,
    PINNED_MOTO,
    REGION,
    SNS_TOPIC,
    check_moto_version,
)
from flightdq_dev.emulator.faults import Faults
from flightdq_dev.emulator.glue import EmulatedGlue
from flightdq_dev.emulator.proxy import Proxy

log = logging.getLogger(__name__)
_ONE_PER_PROCESS = threading.Lock()  # moto's backends behind ThreadedMotoServer are process-global


class AwsEmulator:
    """moto's ThreadedMotoServer on 127.0.0.1 behind a proxy on 127.0.0.1:`port` (0: any free port)
    that computes what moto cannot. Use as a context manager, or `start()` / `stop()`."""

    def __init__(self, port: int = 0, *, region: str = REGION) -> None:
        self.port = port
        self.region = region
        self.endpoint = ""
        self.faults = Faults()
        self.queries: dict[str, QueryRecord] = {}
        self._server: Any = None
        self._proxy: Proxy | None = None
        self._moto_endpoint = ""
        self._clients: dict[tuple[str, str, str], Any] = {}
        self._lock = threading.Lock()
        self._athena = EmulatedAthena(self)
        self._glue = EmulatedGlue(self)
        self._executor: ThreadPoolExecutor | None = None
        self._cache: Path | None = None
        self._stopping = threading.Event()
        self._werkzeug_level: int | None = None
        self._claimed = False

    # --- life cycle ----------------------------------------------------------------------------
    def start(self) -> AwsEmulator:
        check_moto_version()
        if not _ONE_PER_PROCESS.acquire(blocking=False):
            raise RuntimeError("an AWS emulator already runs in this process")
        self._claimed = True
        try:
            from moto.server import ThreadedMotoServer

            werkzeug = logging.getLogger("werkzeug")
            self._werkzeug_level = werkzeug.level
            werkzeug.setLevel(logging.ERROR)  # one line per request otherwise
            self._cache = Path(tempfile.mkdtemp(prefix="flightdq-aws-emulator-"))
            self._executor = ThreadPoolExecutor(2, thread_name_prefix="emulated-athena")
            self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            self._server.start()
            upstream = self._server.get_host_and_port()
            self._moto_endpoint = "http://{}:{}".format(*upstream)
            self._reset_moto()
            self._proxy = Proxy(self.port, upstream, self._athena.handlers() | self._glue.handlers())
            self._proxy.start()
            self.endpoint = "http://{}:{}".format(*self._proxy.server_address[:2])
        except BaseException:
            self.stop()
            raise
        log.info("AWS emulator (moto %s) listening on %s", PINNED_MOTO, self.endpoint)
        return self

    def stop(self) -> None:
        self._stopping.set()
        for thread in list(self._glue.threads):
            thread.join(timeout=60)
        spark = sys.modules.get("flightdq_dev.emulator.spark_glue")
        if spark is not None:  # the JVM of emulated Spark job runs, started by a run of this emulator
            spark.stop_session()
        if self._proxy is not None:
            self._proxy.stop()
            self._proxy = None
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        if self._server is not None:
            try:
                self._reset_moto()
            finally:
                self._server.stop()
                self._server = None
        if self._werkzeug_level is not None:
            logging.getLogger("werkzeug").setLevel(self._werkzeug_level)
        if self._cache is not None:
            shutil.rmtree(self._cache, ignore_errors=True)
            self._cache = None
        if self._claimed:
            self._claimed = False
            _ONE_PER_PROCESS.release()

    def __enter__(self) -> AwsEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _reset_moto(self) -> None:
        request = urllib.request.Request(f"{self._moto_endpoint}/moto-api/reset", method="POST", data=b"")
        with urllib.request.urlopen(request, timeout=30) as response:  # our own server on 127.0.0.1
            response.read()

    # --- what a user of the emulator needs ----------------------------------------------------
    def client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client for `service` pointed at the emulator (dummy credentials)."""
        return self._client_at(self.endpoint, service, region)

    def _moto_client(self, service: str, region: str | None = None) -> Any:
        """A boto3 client straight to moto, for the emulator's own reads and writes."""
        return self._client_at(self._moto_endpoint, service, region)

    def _client_at(self, endpoint: str, service: str, region: str | None) -> Any:
        key = (endpoint, service, region or self.region)
        with self._lock:
            if key not in self._clients:
                import boto3
                from botocore.config import Config

                session = boto3.session.Session(
                    aws_access_key_id=DUMMY_CREDENTIAL,
                    aws_secret_access_key=DUMMY_CREDENTIAL,
                    region_name=key[2],
                )
                self._clients[key] = session.client(
                    service,
                    endpoint_url=endpoint,
                    config=Config(retries={"mode": "standard", "max_attempts": 2}),
                )
            return self._clients[key]

    @property
    def glue_jobs(self) -> dict[str, Any]:
        """Glue job name -> the code a run of it runs (`flightdq_dev.emulator.glue.JobCode`): add a
        team's own job, or one that misbehaves on purpose, beside `flightdata-etl`."""
        return self._glue.jobs

    @property
    def sns_topic_arn(self) -> str:
        return f"arn:aws:sns:{self.region}:{ACCOUNT_ID}:{SNS_TOPIC}"

    def airflow_connection(self) -> dict[str, Any]:
        """The Airflow connection (as AIRFLOW_CONN_<ID> JSON) that points the amazon provider here."""
        return {
            "conn_type": "aws",
            "login": DUMMY_CREDENTIAL,
            "password": DUMMY_CREDENTIAL,
            "extra": {"endpoint_url": self.endpoint, "region_name": self.region},
        }

    def env(self, conn_id: str = "aws_default") -> dict[str, str]:
        """Environment for a process (Airflow, the CLI) that should use this emulator as AWS."""
        return {
            "FLIGHTDQ_BACKEND": "aws",
            "FLIGHTDQ_AWS_CONN_ID": conn_id,
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(self.airflow_connection()),
            "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIAL,
            "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIAL,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            "FLIGHTDQ_SNS_TOPIC_ARN": self.sns_topic_arn,
        }

    def job_runs(self, dt: str | None = None, job_name: str = ETL_JOB_NAME) -> list[dict[str, Any]]:
        """The runs of `flightdata-etl` (or `job_name`; for one `--dt`, if given), oldest first."""
        glue = self.client("glue")
        runs: list[dict[str, Any]] = []
        for page in glue.get_paginator("get_job_runs").paginate(JobName=job_name):
            runs += page.get("JobRuns") or []
        if dt is not None:
            runs = [r for r in runs if (r.get("Arguments") or {}).get("--dt") == dt]
        return sorted(runs, key=lambda r: (r["StartedOn"], r["Id"]))

    def remove_partition(self, dt: str, *, objects: bool = True, unregister: bool = True) -> list[str]:
        """Break a day for a test: delete its processed objects and/or its catalog partition.
        Returns the keys deleted."""
        s3, glue = self.client("s3"), self.client("glue")
        prefix = f"{PROCESSED_PREFIX}/dt={dt}/"
        keys = [
            o["Key"] for o in s3.list_objects_v2(Bucket=PROCESSED_BUCKET, Prefix=prefix).get("Contents", [])
        ]
        if objects and keys:
            s3.delete_objects(Bucket=PROCESSED_BUCKET, Delete={"Objects": [{"Key": k} for k in keys]})
        if unregister:
            with contextlib.suppress(glue.exceptions.EntityNotFoundException):
                glue.delete_partition(
                    DatabaseName=GLUE_DATABASE, TableName=PROCESSED_TABLE, PartitionValues=[dt]
                )
        return keys if objects else []

    def wait_for_glue_runs(self, timeout: float = 120.0) -> None:
        """Wait until every emulated job run has ended."""
        deadline = time.monotonic() + timeout
        for thread in list(self._glue.threads):
            thread.join(timeout=max(0.0, deadline - time.monotonic()))

    # --- for the emulated Athena: the query executor and the object cache ---------------------------------
    def _submit_query(self, record: QueryRecord, failure: str | None) -> None:
        self.queries[record.query_id] = record
        assert self._executor is not None
        self._executor.submit(run_query, self, record, failure)

    def _fetch(self, region: str, bucket: str, obj: dict[str, Any]) -> Path:
        """A local copy of one S3 object, cached by key and ETag."""
        assert self._cache is not None
        name = f"{bucket}/{obj['Key']}.{obj['ETag'].strip(chr(34))}"
        path = self._cache / name
        if not path.exists():
            body = self._moto_client("s3", region).get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".part")
            tmp.write_bytes(body)
            tmp.replace(path)
        return path
