"""The Airflow login, checked on every page of the plugin.

Airflow mounts a plugin's FastAPI app as it is: the api-server's authentication does not cover it.
So the app validates the same credential the Airflow UI sends on each request, the JWT that the
auth manager issued at login (the `_token` cookie, or an `Authorization: Bearer` header for API
clients), with the auth manager itself: `get_user_from_token` checks the signature, expiry and
revocation exactly as the core API does. The user must also be allowed to read DAG runs (what the
page shows are the results of DAG runs). Acting from the page (acknowledging an incident) needs the
right to change DAG runs as well (`User.can_act`); triggering a run goes through Airflow's own REST API,
which checks its own permission.

No credential, or a bad or expired one: a browser is sent to the auth manager's login page, any
other client gets 401 (no or expired token) or 403 (invalid token, or not allowed).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from fastapi import Request

log = logging.getLogger(__name__)

COOKIE_NAME = "_token"  # airflow.api_fastapi.auth.managers.base_auth_manager.COOKIE_NAME_JWT_TOKEN


class Refused(Exception):
    """The request may not see the page."""

    def __init__(self, status_code: int, detail: str, *, login: bool = True) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.login = login  # a fresh login could help (False: authenticated but not allowed)


@dataclass
class User:
    name: str
    raw: Any = None
    can_act: bool = False  # may change DAG runs: acknowledge incidents (and, in Airflow, trigger runs)


def request_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()  # an explicit credential wins over the session cookie (as in Airflow)
    return request.cookies.get(COOKIE_NAME) or None


def _auth_manager():
    from airflow.api_fastapi.app import get_auth_manager

    return get_auth_manager()


def _username(user: Any) -> str:
    for attr in ("get_name", "get_id"):
        try:
            value = getattr(user, attr)()
        except Exception:
            continue
        if value:
            return str(value)
    return "unknown user"


async def airflow_user(request: Request) -> User:
    """FastAPI dependency: the Airflow user behind the request, or `Refused`."""
    from jwt import ExpiredSignatureError, InvalidTokenError

    token = request_token(request)
    if not token:
        raise Refused(401, "Not authenticated: log in to Airflow first")
    try:
        manager = _auth_manager()
    except RuntimeError as exc:  # the auth manager is not initialised: not inside an api-server
        log.error("no Airflow auth manager: %s", exc)
        raise Refused(503, "Airflow's auth manager is not available", login=False) from None
    try:
        user = await manager.get_user_from_token(token)
    except ExpiredSignatureError:
        raise Refused(401, "Token expired: log in again") from None
    except InvalidTokenError:
        raise Refused(403, "Invalid token") from None
    if not is_allowed(manager, user):
        raise Refused(403, f"{_username(user)} may not read DAG runs", login=False)
    return User(_username(user), user, can_act=is_allowed(manager, user, method="PUT"))


def is_allowed(manager: Any, user: Any, method: str = "GET") -> bool:
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity

    try:
        return bool(manager.is_authorized_dag(method=method, access_entity=DagAccessEntity.RUN, user=user))
    except Exception:  # an auth manager that cannot answer: not allowed
        log.exception("asking the auth manager whether %s may %s DAG runs failed", _username(user), method)
        return False


ACTION_HEADER = "X-Requested-By"  # what the page's script sends with every action: a form or link
ACTION_HEADER_VALUE = "flightdq"  # from another site cannot (custom headers need CORS consent)


def same_origin(request: Request) -> bool:
    """Whether a state-changing request comes from the page itself, not from another site riding on
    the login cookie: it must carry `ACTION_HEADER`, and whatever `Origin` and `Sec-Fetch-Site` the
    browser sent must name this site."""
    from urllib.parse import urlsplit

    if request.headers.get(ACTION_HEADER, "").strip().lower() != ACTION_HEADER_VALUE:
        return False
    origin = request.headers.get("origin")
    hosts = {request.url.netloc, request.headers.get("host"), request.headers.get("x-forwarded-host")}
    if origin is not None and urlsplit(origin).netloc.lower() not in {h.lower() for h in hosts if h}:
        return False  # includes Origin: null (a sandboxed frame without the same origin)
    return request.headers.get("sec-fetch-site", "same-origin") == "same-origin"


def login_url(next_url: str) -> str | None:
    """The auth manager's login page, coming back to `next_url` afterwards."""
    try:
        return _auth_manager().get_url_login(next_url=next_url)
    except Exception:  # no auth manager, or one without a login page
        return None
