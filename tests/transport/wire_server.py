"""Loopback servers lower than HTTP, for the transport tests: what a TLS peer, a full accept
queue or a hand-written reply head does to a client can only be shown with raw sockets.

* :class:`ScriptServer` runs ``script(connection, stopping)`` for every connection it accepts
  (each in a daemon thread) and counts them.
* :func:`stalled_port` is a port whose connects never complete: its accept queue is full.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from types import TracebackType

__all__ = ["ScriptServer", "read_head", "stalled_port"]

Script = Callable[[socket.socket, threading.Event], None]


class ScriptServer:
    """Serves ``script`` on a free port of 127.0.0.1 until closed."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(16)
        self.port: int = self._listener.getsockname()[1]
        self.connections = 0
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="script-server", daemon=True)

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}"

    def __enter__(self) -> ScriptServer:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # wake accept() up
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        self._thread.join(5)
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            if self._stopping.is_set():
                connection.close()
                return
            self.connections += 1
            threading.Thread(target=self._run, args=(connection,), daemon=True).start()

    def _run(self, connection: socket.socket) -> None:
        with connection, contextlib.suppress(OSError):  # the client went away: its right
            connection.settimeout(5)
            self._script(connection, self._stopping)


def read_head(connection: socket.socket) -> bytes:
    """The request head (up to the blank line); the body, if any, is left unread."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


@contextlib.contextmanager
def stalled_port() -> Iterator[int]:
    """A loopback port that accepts no connection: a backlog of 0, already taken by one never
    accepted, so the kernel drops further SYNs and a connect waits until its own timeout."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    held = socket.create_connection(("127.0.0.1", port), timeout=1)
    try:
        yield port
    finally:
        held.close()
        listener.close()
