"""Installing the patches on moto's in-process classes, and the S3 one.

THEY RELY ON MOTO INTERNALS OF moto==5.2.5 (`common.PINNED_MOTO`, pinned in requirements.txt):
`moto.athena.responses.AthenaResponse` methods, `moto.glue.models.FakeJob.start_job_run` and
`FakeJobRun`, `moto.s3.responses.S3Response.put_object`, `moto.s3.models.s3_backends`. Starting the
emulator with another moto version raises; re-check every patch before moving the pin.
"""

from __future__ import annotations

import threading
from typing import Any

from flightdq_dev.emulator import athena, glue
from flightdq_dev.emulator.common import ORIGINALS, original

_S3_PUT_LOCK = threading.Lock()


def install_patches() -> None:
    from moto.athena.responses import AthenaResponse
    from moto.glue.models import FakeJob
    from moto.s3.responses import S3Response

    patches = {
        (AthenaResponse, "start_query_execution"): athena.start_query_execution,
        (AthenaResponse, "get_query_execution"): athena.get_query_execution,
        (AthenaResponse, "get_query_results"): athena.get_query_results,
        (AthenaResponse, "stop_query_execution"): athena.stop_query_execution,
        (FakeJob, "start_job_run"): glue.start_job_run,
        (S3Response, "put_object"): _s3_put_object,
    }
    for (owner, name), replacement in patches.items():
        if (owner, name) not in ORIGINALS:
            ORIGINALS[(owner, name)] = owner.__dict__[name]
            setattr(owner, name, replacement)


def uninstall_patches() -> None:
    for (owner, name), orig in list(ORIGINALS.items()):
        setattr(owner, name, orig)
        del ORIGINALS[(owner, name)]


def _s3_put_object(self: Any) -> Any:
    # moto checks If-None-Match and then writes: two steps a concurrent PUT can slip between.
    with _S3_PUT_LOCK:
        return original("S3Response", "put_object")(self)
