"""Which backend a run uses: `FLIGHTDQ_BACKEND` picks `local` (the default) or `aws`.

The registry is the only module that names the implementations, so the interface in `base` stays
free of them and each implementation imports only when chosen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flightdq.backends.base import Backend, BackendError

if TYPE_CHECKING:
    from flightdq.backends.aws.clients import AwsConnection
    from flightdq.core.config import Settings


def get_backend(
    settings: Settings | None = None, *, writable: bool = True, aws: AwsConnection | None = None
) -> Backend:
    """The configured backend. `writable=False` asks for one that only reads (the local lake may then
    be read-only); the local backend checks its lake root either way before anything is touched.
    `aws`: the AWS backend's connection, which its entry point builds (`flightdq.airflow.aws`); the
    local backend needs none."""
    from flightdq.core.config import Settings

    settings = settings or Settings.from_env()
    if settings.backend == "local":
        from flightdq.backends.local.backend import LocalBackend

        return LocalBackend(settings, writable=writable)
    if settings.backend == "aws":
        from flightdq.backends.aws.backend import AwsBackend

        if aws is None:
            raise BackendError(
                "the AWS backend needs its connection from the entry point (flightdq.airflow.aws)"
            )
        return AwsBackend(settings, aws)
    raise BackendError(f"backend {settings.backend!r} is not available in this version of flightdq")
