"""A tiny HTTP/1.1 server on 127.0.0.1 that answers with whatever bytes a test wants.

The sandbox plays KIS faithfully; some replies (an HTML page with a token path, a JSON reply
nested 100,000 deep, a 302 to another host, a body cut off mid-way) only a server that does not
try to be KIS can send. :class:`RawServer` serves a table of canned replies per path, one request
per connection (``connection: close``), and records every request it got, so a test can check
what was (or was not) sent.

>>> with RawServer({"/oauth2/tokenP": Reply.json(200, {...})}) as server:
...     server.base_url, server.requests
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

__all__ = ["RawServer", "Recorded", "Reply", "token_reply"]

_READ_TIMEOUT = 5.0
# A misbehaving reply (trickled, endless) stops after this long even if the client never gives up.
_MISBEHAVE_FOR = 10.0
_FILLER = b"x" * 65536


@dataclass(frozen=True)
class Reply:
    """What to answer: a status line, headers and body bytes, and how to deliver them.

    ``cut_after`` sends only that many body bytes (after promising the whole body) and closes
    the connection; ``hang`` never answers (the client's read timeout fires).

    Replies that would hold a client without a deadline or a size cap (each stops after
    ``_MISBEHAVE_FOR`` seconds or when the client goes): ``trickle`` sends the reply one byte
    every ``trickle`` seconds; ``continue_every`` sends ``100 Continue`` every that many seconds
    and never the reply; ``endless`` follows the head with body bytes that never end
    (``"close"``: no length, ``"chunked"``: chunk after chunk); ``content_length`` announces
    that length whatever the body.
    """

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json; charset=utf-8"),)
    cut_after: int | None = None
    hang: bool = False
    trickle: float | None = None
    continue_every: float | None = None
    endless: str | None = None
    content_length: int | None = None

    @classmethod
    def json(cls, status: int, document: Any, **headers: str) -> Reply:
        """A JSON reply (any JSON value, objects or not); ``headers`` as named (``tr_cont=``)."""
        body = json.dumps(document, ensure_ascii=False).encode("utf-8")
        extra = tuple(headers.items())
        return cls(status, body, (("content-type", "application/json; charset=utf-8"), *extra))

    @classmethod
    def raw(cls, status: int, body: bytes, content_type: str = "application/json") -> Reply:
        """A reply with exactly ``body``."""
        return cls(status, body, (("content-type", content_type),))


def token_reply(value: str = "raw-server-token-" + "t" * 40) -> Reply:
    """A well-formed ``/oauth2/tokenP`` answer."""
    return Reply.json(
        200,
        {
            "access_token": value,
            "access_token_token_expired": "2099-12-31 23:59:59",
            "token_type": "Bearer",
            "expires_in": 86400,
        },
    )


@dataclass(frozen=True)
class Recorded:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = field(repr=False)


class RawServer:
    """Serves ``replies`` (path -> :class:`Reply`) on a free loopback port, in a daemon thread.

    Paths without a reply get 404 with an empty JSON object. ``requests`` lists what came in.
    """

    def __init__(self, replies: Mapping[str, Reply] | None = None) -> None:
        self.replies: dict[str, Reply] = dict(replies or {})
        self.requests: list[Recorded] = []
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = self._listener.getsockname()[1]
        self.base_url = f"http://127.0.0.1:{self.port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="raw-server", daemon=True)

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop accepting and release the port."""
        self._stopping.set()
        with contextlib.suppress(OSError):  # wake accept() up
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        self._thread.join(5)
        self._listener.close()

    def count(self, path: str | None = None) -> int:
        """How many requests arrived (for ``path``, or in all)."""
        with self._lock:
            return sum(1 for r in self.requests if path is None or r.path == path)

    # -- serving -------------------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                connection.close()
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(_READ_TIMEOUT)
            try:
                request = _read_request(connection)
            except (OSError, ValueError):
                return
            if request is None:
                return
            with self._lock:
                self.requests.append(request)
            reply = self.replies.get(request.path, Reply.json(404, {}))
            if reply.hang:
                self._stopping.wait(_READ_TIMEOUT)
                return
            with contextlib.suppress(OSError):  # the client went away: that is its right
                self._deliver(connection, reply)

    def _deliver(self, connection: socket.socket, reply: Reply) -> None:
        until = time.monotonic() + _MISBEHAVE_FOR
        if reply.continue_every is not None:
            while time.monotonic() < until and not self._stopping.is_set():
                connection.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
                self._stopping.wait(reply.continue_every)
            return
        head = [f"HTTP/1.1 {reply.status} X"]
        if reply.endless == "chunked":
            head.append("transfer-encoding: chunked")
        elif reply.endless is None:
            length = len(reply.body) if reply.content_length is None else reply.content_length
            head.append(f"content-length: {length}")
        head += [f"{name}: {value}" for name, value in reply.headers]
        head.append("connection: close")
        body = reply.body if reply.cut_after is None else reply.body[: reply.cut_after]
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        if reply.trickle is not None:
            for index in range(len(data)):
                if time.monotonic() >= until or self._stopping.is_set():
                    return
                connection.sendall(data[index : index + 1])
                self._stopping.wait(reply.trickle)
            return
        connection.sendall(data)
        chunk = _FILLER if reply.endless != "chunked" else b"%x\r\n%s\r\n" % (len(_FILLER), _FILLER)
        while reply.endless is not None and time.monotonic() < until:
            if self._stopping.is_set():
                return
            connection.sendall(chunk)


def _read_request(connection: socket.socket) -> Recorded | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = connection.recv(65536)
        if not chunk:
            break
        body += chunk
    return Recorded(method, target.split("?", 1)[0], headers, body)
