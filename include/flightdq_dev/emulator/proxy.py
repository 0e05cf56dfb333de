"""The thin proxy in front of moto: an HTTP server on 127.0.0.1 that answers the few calls moto cannot
compute (Athena's query calls, the runs of Glue jobs) itself and forwards every other request, bytes
unchanged, to moto's server. No moto internals: only moto's HTTP API."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A handler gets the JSON body and the request's region; it returns the JSON answer, or None to let moto
# answer; it raises AwsError to refuse.
Handler = Callable[[dict[str, Any], str], "dict[str, Any] | None"]
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "expect", "proxy-connection", "upgrade"}
_SCOPE = re.compile(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, and `Expect: 100-continue` answered
    server: Proxy

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            parts = []
            while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            while self.rfile.readline() not in (b"\r\n", b"\n", b""):  # trailers
                pass
            return b"".join(parts)
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _serve(self) -> None:
        body = self._body()
        scope = _SCOPE.search(self.headers.get("Authorization") or "")
        region, service = scope.groups() if scope else ("us-east-1", "")
        handler = self.server.handlers.get(self.headers.get("X-Amz-Target") or "")
        if handler is not None and self.command == "POST":
            try:
                answer, status = handler(json.loads(body or b"{}"), region), 200
            except AwsError as exc:
                answer, status = {"__type": exc.args[0], "Message": exc.args[1]}, 400
            if answer is not None:
                data = json.dumps(answer).encode()
                self._reply(status, [("Content-Type", "application/x-amz-json-1.1")], data)
                return
        if service == "s3" and self.command == "PUT":
            # moto checks `If-None-Match: *` and then writes, two steps: serialised, the
            # conditional create is atomic, as on S3.
            with self.server.s3_put_lock:
                self._forward(body)
        else:
            self._forward(body)

    def _forward(self, body: bytes) -> None:
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        headers["Content-Length"] = str(len(body))
        for attempt in (1, 2):  # a kept-alive connection moto closed: once more on a new one
            connection = self.server.upstream()
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                response = connection.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.server.drop_upstream()
                if attempt == 2:
                    raise
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in _HOP_BY_HOP]
        self._reply(response.status, kept, data, head=self.command == "HEAD")

    def _reply(self, status: int, headers: list[tuple[str, str]], data: bytes, *, head: bool = False) -> None:
        self.send_response_only(status)
        for key, value in headers:
            if key.lower() not in ("content-length", "date", "server"):
                self.send_header(key, value)
        length = next((v for k, v in headers if k.lower() == "content-length"), None)
        self.send_header("Content-Length", length if head and length else str(len(data)))
        self.end_headers()
        if not head:
            self.wfile.write(data)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = do_PATCH = _serve


class Proxy(ThreadingHTTPServer):
    """The proxy on 127.0.0.1:`port` (0: any free port) in front of moto at `upstream`."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, upstream: tuple[str, int], handlers: dict[str, Handler]) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.handlers = handlers
        self.s3_put_lock = threading.Lock()
        self._upstream = upstream
        self._local = threading.local()

    def start(self) -> None:
        threading.Thread(target=self.serve_forever, name="aws-emulator", daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()

    def upstream(self) -> http.client.HTTPConnection:
        if getattr(self._local, "connection", None) is None:
            self._local.connection = http.client.HTTPConnection(*self._upstream, timeout=300)
        return self._local.connection

    def drop_upstream(self) -> None:
        connection = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
        self._local.connection = None


class AwsError(Exception):
    """AwsError(code, message): the JSON-protocol error a handler answers with (HTTP 400)."""
