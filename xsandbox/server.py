"""Serve the sandbox app from a background thread (tests, the benchmark, `threadbot run`)."""

from __future__ import annotations

import threading
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from xsandbox.app import create_app
from xsandbox.state import SandboxState


class _QuietHandler(WSGIRequestHandler):
    """No access log: a backlog of a thousand mentions would bury everything else."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class SandboxServer:
    """A threaded HTTP server for one ``SandboxState``; use as a context manager."""

    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0):
        self.state = state or SandboxState()
        self._server: BaseWSGIServer = make_server(
            host, port, create_app(self.state), threaded=True, request_handler=_QuietHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self._server.host}:{self._server.port}"

    def start(self) -> SandboxServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
