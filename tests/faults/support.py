"""Real processes the fault tests stop, hang or kill, each private to its test.

* ``HookProxy``: a small HTTP forwarder in front of the signing service. A hook
  named after a request path runs once, just before that request is forwarded
  (e.g. ``kill -9`` the service between ``authorize`` and ``signHash``). When
  the peer is gone, the proxy drops the connection without an answer, as the
  dead process itself would.
* ``SigningService``: ``python -m remote_signing.service`` (gunicorn master +
  one worker) on a private port, database and key store; ``kill9`` kills the
  whole process tree, ``start`` brings it back on the same port and database.
* ``kill9_tree``: SIGKILL a process and its descendants.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import requests

from remote_signing.testing import ServiceProcess, free_port

HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    for child in children(pid):
        out += [child, *descendants(child)]
    return out


def kill9_tree(pid: int) -> None:
    for target in [pid, *descendants(pid)]:
        try:
            os.kill(target, signal.SIGKILL)
        except ProcessLookupError:
            pass


class HookProxy:
    def __init__(self, target: str) -> None:
        self.target = target.rstrip("/")
        self.hooks: dict[str, Callable[[], None]] = {}
        self.seen: list[str] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802
                self._forward()

            def do_POST(self) -> None:  # noqa: N802
                self._forward()

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                proxy.seen.append(self.path)
                hook = proxy.hooks.pop(self.path, None)
                if hook is not None:
                    hook()
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
                try:
                    answer = requests.request(self.command, proxy.target + self.path, data=body,
                                              headers=headers, timeout=60)
                except requests.RequestException:
                    self.close_connection = True  # the peer died: no answer at all
                    return
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in HOP_HEADERS and key.lower() != "content-encoding":
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

        self._server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self._server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> HookProxy:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def on(self, path: str, hook: Callable[[], None]) -> None:
        self.hooks[path] = hook


class SigningService(ServiceProcess):
    def kill9(self) -> None:
        """SIGKILL the gunicorn master and its worker: no shutdown code runs."""
        proc = self._proc
        assert proc is not None
        kill9_tree(proc.pid)
        proc.wait(10)
        self._proc = None
