"""A scripted HTTP server in a thread of the test process: it answers each request with the
next scripted (status, body) and records what it was sent (headers, path, JSON body)."""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Sent:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the JSON sent, None without a body


@dataclass
class Scripted:
    """Answers requests with the scripted (status, body) in turn; records what it was sent."""

    answers: list[tuple[int, bytes]]
    requests: list[Sent] = field(default_factory=list)
    url: str = ""
    # Each answer waits for this, 10 s at most (a test clears it to hold the answers back);
    # `released` says, for each, whether it came (True) or the 10 s ran out.
    go: threading.Event = field(default_factory=threading.Event)
    released: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.go.set()


@contextmanager
def scripted_server(tls: ssl.SSLContext | None = None) -> Iterator[Scripted]:
    """A server on loopback (over TLS with `tls`), its URL in `.url`."""
    script = Scripted([])

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self._answer(None)

        def do_POST(self) -> None:
            self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        def _answer(self, body: Any) -> None:
            script.requests.append(Sent(self.command, self.path, dict(self.headers), body))
            script.released.append(script.go.wait(10))
            status, content = script.answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    scheme = "https" if tls is not None else "http"
    script.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    # (polling every 10 ms, not 0.5 s: shutdown() waits for the poll)
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield script
    finally:
        server.shutdown()
        server.server_close()
