"""Real local servers for notification tests: an SMTP server (aiosmtpd) and an HTTP receiver
(http.server), each on 127.0.0.1 and a free port, recording everything they receive.

Both can be stopped (connection refused) and started again on the same port, so a test can take a
channel down for one run and bring it back up for the next. Use them directly or through the
function-scoped fixtures ``smtp_server`` and ``http_receiver`` (import them into a conftest or a
test module: ``from tests.sla.servers import http_receiver, smtp_server``).
"""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator, Sequence, TypeVar

import pytest

HOST = "127.0.0.1"
T = TypeVar("T")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _wait_bindable(host: str, port: int, timeout: float = 5.0) -> None:
    """Wait until ``port`` can be bound again (as asyncio/http.server bind it: SO_REUSEADDR)."""
    deadline = time.monotonic() + timeout
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind((host, port))
                return
            except OSError as e:
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"cannot listen on {host}:{port}: {e}") from e
        time.sleep(0.05)


def wait_for(items: Callable[[], Sequence[T]], count: int = 1, timeout: float = 5.0,
             interval: float = 0.02) -> list[T]:
    """Poll ``items()`` until it holds at least ``count`` entries and return them; raise
    AssertionError after ``timeout`` seconds (delivery is asynchronous on the server side)."""
    deadline = time.monotonic() + timeout
    while True:
        got = list(items())
        if len(got) >= count:
            return got
        if time.monotonic() >= deadline:
            raise AssertionError(f"expected {count} message(s) within {timeout}s, got {len(got)}: {got!r}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------------- SMTP

@dataclass(frozen=True)
class Mail:
    """One message received by SmtpServer."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    subject: str
    body: str  # the decoded text/plain part (else text/html), line endings normalised to LF
    content_type: str
    headers: dict[str, str] = field(repr=False)
    raw: bytes = field(repr=False)


class _SmtpHandler:
    def __init__(self, owner: SmtpServer):
        self.owner = owner

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook name)
        raw = envelope.original_content or envelope.content
        if isinstance(raw, str):
            raw = raw.encode("utf-8")
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html")) or msg
        body = part.get_content() if not part.is_multipart() else ""
        body = body.replace("\r\n", "\n")
        self.owner._record(Mail(
            mail_from=envelope.mail_from,
            rcpt_tos=tuple(envelope.rcpt_tos),
            subject=str(msg.get("Subject", "")),
            body=body,
            content_type=part.get_content_type(),
            headers={k: str(v) for k, v in msg.items()},
            raw=raw,
        ))
        return "250 Message accepted for delivery"


class SmtpServer:
    """A real SMTP server (aiosmtpd Controller) on 127.0.0.1, no TLS, no auth.

    ``start()`` / ``stop()`` may be called repeatedly; the port stays the same, so a URL built
    once keeps pointing at this server. ``messages`` is a snapshot of everything received.
    """

    def __init__(self, port: int | None = None):
        self.host = HOST
        self.port = port or free_port()
        self._messages: list[Mail] = []
        self._lock = threading.Lock()
        self._controller = None

    # lifecycle
    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        if self._controller is not None:
            return self
        # A fresh Controller each time: a stopped Controller has closed its event loop. Wait for
        # the port first: a Controller that cannot bind only says so after its ready_timeout.
        _wait_bindable(self.host, self.port)
        controller = Controller(_SmtpHandler(self), hostname=self.host, port=self.port,
                                server_hostname="localhost", ready_timeout=5.0)
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        if self._controller is not None:
            controller, self._controller = self._controller, None
            controller.stop()

    @property
    def running(self) -> bool:
        return self._controller is not None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # received mail
    def _record(self, mail: Mail) -> None:
        with self._lock:
            self._messages.append(mail)

    @property
    def messages(self) -> list[Mail]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Mail]:
        """All messages received once there are at least ``count`` of them."""
        return wait_for(lambda: self.messages, count, timeout)

    # apprise
    def url(self, to: str = "ops@example.com", sender: str = "insurtrack@example.com") -> str:
        """The Apprise URL delivering to this server: plain SMTP (``mode=insecure``: no TLS, no
        STARTTLS) and no login (no user:password in the URL)."""
        return (f"mailto://{self.host}:{self.port}"
                f"?smtp={self.host}&mode=insecure&from={sender}&to={to}")


# --------------------------------------------------------------------------------------------- HTTP

@dataclass(frozen=True)
class Post:
    """One POST received by HttpReceiver."""

    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)
    json: Any = None  # the parsed body, or None if it was not JSON


class _HttpHandler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self):  # noqa: N802 (http.server hook name)
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            parsed = json.loads(body.decode("utf-8")) if body else None
        except (UnicodeDecodeError, ValueError):
            parsed = None
        owner._record(Post(path=self.path, headers={k: v for k, v in self.headers.items()},
                           body=body, json=parsed))
        status = owner.failing_status if owner.failing else 200
        reply = b'{"ok": false}' if owner.failing else b'{"ok": true}'
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: HttpReceiver


class HttpReceiver:
    """An HTTP server on 127.0.0.1 recording every POST (path, headers, parsed JSON body).

    ``failing = True`` makes it answer HTTP ``failing_status`` (500) — the channel is down but
    reachable; ``stop()`` closes the socket (connection refused); ``start()`` listens again on the
    same port.
    """

    def __init__(self, port: int | None = None):
        self.host = HOST
        self.port = port or free_port()
        self.failing = False
        self.failing_status = 500
        self._posts: list[Post] = []
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> HttpReceiver:
        if self._server is not None:
            return self
        last_error: OSError | None = None
        for _ in range(50):
            try:
                server = _Server((self.host, self.port), _HttpHandler)
                break
            except OSError as e:
                last_error = e
                time.sleep(0.05)
        else:
            raise RuntimeError(f"HTTP receiver could not listen on {self.host}:{self.port}: {last_error}")
        server.owner = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name=f"http-receiver-{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            server.shutdown()
            server.server_close()
            if self._thread is not None:
                self._thread.join(timeout=5)
                self._thread = None

    @property
    def running(self) -> bool:
        return self._server is not None

    def __enter__(self) -> HttpReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _record(self, post: Post) -> None:
        with self._lock:
            self._posts.append(post)

    @property
    def posts(self) -> list[Post]:
        with self._lock:
            return list(self._posts)

    def clear(self) -> None:
        with self._lock:
            self._posts.clear()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Post]:
        """All POSTs received once there are at least ``count`` of them."""
        return wait_for(lambda: self.posts, count, timeout)

    def url(self, path: str = "/hook") -> str:
        """The Apprise URL posting JSON to ``path`` on this receiver (plain http)."""
        return f"json://{self.host}:{self.port}/{path.lstrip('/')}"


# ------------------------------------------------------------------------------------- black hole

class BlackHole:
    """A TCP listener on 127.0.0.1 that accepts connections and never says a word: a channel that
    hangs (an SMTP server that sends no greeting, a webhook that never answers)."""

    def __init__(self, port: int | None = None):
        self.host = HOST
        self.port = port or free_port()
        self._sock: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._thread: threading.Thread | None = None

    def start(self) -> BlackHole:
        if self._sock is not None:
            return self
        _wait_bindable(self.host, self.port)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(16)
        sock.settimeout(0.05)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, args=(sock,), daemon=True,
                                        name=f"black-hole-{self.port}")
        self._thread.start()
        return self

    def _accept(self, sock: socket.socket) -> None:
        while self._sock is sock:
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self._held.append(conn)  # keep it open, answer nothing

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        if sock is not None:
            sock.close()
        for conn in self._held:
            conn.close()
        self._held.clear()

    def __enter__(self) -> BlackHole:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def smtp_url(self, to: str = "ops@example.com", sender: str = "insurtrack@example.com") -> str:
        return (f"mailto://{self.host}:{self.port}"
                f"?smtp={self.host}&mode=insecure&from={sender}&to={to}")

    def json_url(self, path: str = "/hook") -> str:
        return f"json://{self.host}:{self.port}/{path.lstrip('/')}"


# ------------------------------------------------------------------------------------------ fixtures

@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    """A running SmtpServer, stopped after the test whatever state the test left it in."""
    server = SmtpServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def black_hole() -> Iterator[BlackHole]:
    """A running BlackHole (accepts, never answers), closed after the test."""
    hole = BlackHole().start()
    try:
        yield hole
    finally:
        hole.stop()


@pytest.fixture
def http_receiver() -> Iterator[HttpReceiver]:
    """A running HttpReceiver, stopped after the test whatever state the test left it in."""
    receiver = HttpReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
