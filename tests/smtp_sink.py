"""A real SMTP server (aiosmtpd) in a thread, on a free port, keeping what it receives."""

import email
import email.policy
import socket
import threading
import time

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Handler:
    def __init__(self):
        self.messages = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 OK"


class SmtpSink:
    """with SmtpSink() as sink: …; sink.port; sink.messages → [(rcpt_tos, EmailMessage)]."""

    def __init__(self):
        self.handler = _Handler()
        self.port = free_port()
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    @property
    def messages(self) -> list:
        with self.handler.lock:
            return list(self.handler.messages)

    def to(self, address: str) -> list:
        return [m for rcpt, m in self.messages if address in rcpt]

    def wait_for(self, count: int, timeout: float = 60.0) -> list:
        """Poll until `count` messages arrived (or the deadline passed)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.2)
        return self.messages


def use_sink(settings, sink) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", sink.port
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 10


class _CountingHandler:
    """For a sink in its own process: one line per message received (its Message-ID)."""

    def __init__(self, path):
        self.out = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        head = envelope.original_content.split(b"\r\n\r\n", 1)[0]
        ids = [line for line in head.split(b"\r\n") if line.lower().startswith(b"message-id:")]
        self.out.write((ids[0].decode(errors="replace") if ids else "?") + "\n")
        return "250 OK"


def serve(port: int, path: str) -> None:
    """python -m tests.smtp_sink PORT FILE: a sink process (benchmarks), until killed."""
    controller = Controller(_CountingHandler(path), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    import sys

    serve(int(sys.argv[1]), sys.argv[2])
