"""A local HTTP receiver that records webhook posts, for the tests and the benchmark.

Binds 127.0.0.1 on a free port, keeps connections alive (HTTP/1.1), and answers from a
script: ``Receiver(statuses=[500, 200])`` answers 500 to the first post and 200 to the rest;
``delay`` makes it slow, to exercise the time-out.
"""

from __future__ import annotations

import ssl
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes


class _Server(ThreadingHTTPServer):
    # socketserver's default backlog of 5 refuses connections when two senders open eight
    # each at once; a real endpoint queues them.
    request_queue_size = 128
    receiver: Receiver


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without this, Nagle's algorithm and the
    # client's delayed ACK stall every keep-alive answer by ~40 ms.
    disable_nagle_algorithm = True

    def do_POST(self):  # noqa: N802 (http.server's naming)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        receiver: Receiver = self.server.receiver
        status = receiver.record(Received(self.path, dict(self.headers.items()), body))
        if receiver.delay:
            time.sleep(receiver.delay)
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format, *args):  # silence the per-request log line
        pass


class Receiver:
    def __init__(
        self,
        statuses=(),
        default: int = 200,
        delay: float = 0.0,
        keep: bool = True,
        tls: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
    ):
        self.host = host
        self.scheme = "https" if tls else "http"
        self.statuses = list(statuses)
        self.default = default
        self.delay = delay
        self.keep = keep
        self.received: list[Received] = []
        self.count = 0
        self._lock = threading.Lock()
        self.server = _Server(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.receiver = self
        if tls:  # (certificate file, key file)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.server.server_address[1]}/hook"

    def record(self, request: Received) -> int:
        with self._lock:
            self.count += 1
            if self.keep:
                self.received.append(request)
            return self.statuses.pop(0) if self.statuses else self.default

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while self.count < count and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.received

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
