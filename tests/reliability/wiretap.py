"""A recording TCP relay between a client and a sandbox, on 127.0.0.1.

The secret leak scan must know every credential the server handed out, including those issued
inside CLI runs, where no test code can reach the client. Pointing the client at a
:class:`WireTap` instead of the sandbox relays every byte unchanged and keeps a copy of both
directions, so the scan learns each ``access_token`` and ``approval_key`` from the replies
themselves.

>>> with WireTap(sandbox.base_url) as tap:
...     KISConfig(base_url=tap.base_url, ...)
...     tap.credentials()          # every token and approval key that came back
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from types import TracebackType
from urllib.parse import urlsplit

__all__ = ["WireTap"]

_CREDENTIAL = re.compile(rb'"(access_token|approval_key)"\s*:\s*"([^"]+)"')


class WireTap:
    """Relays connections to ``upstream`` (an ``http://host:port`` URL) and records the bytes."""

    def __init__(self, upstream: str) -> None:
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.base_url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._to_server: list[bytes] = []
        self._to_client: list[bytes] = []
        self._sockets: list[socket.socket] = []
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="wiretap", daemon=True)

    def __enter__(self) -> WireTap:
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
        """Stop relaying and close every connection."""
        self._closing.set()
        # Wake accept() up: closing a listening socket does not, on Linux.
        with contextlib.suppress(OSError):
            socket.create_connection(self._listener.getsockname(), timeout=1).close()
        self._thread.join(5)
        self._listener.close()
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    @property
    def to_server(self) -> bytes:
        """Everything clients sent."""
        with self._lock:
            return b"".join(self._to_server)

    @property
    def to_client(self) -> bytes:
        """Everything the server answered."""
        with self._lock:
            return b"".join(self._to_client)

    def credentials(self) -> dict[str, set[str]]:
        """Every ``access_token`` and ``approval_key`` value seen in a reply, by field name."""
        found: dict[str, set[str]] = {"access_token": set(), "approval_key": set()}
        for name, value in _CREDENTIAL.findall(self.to_client):
            found[name.decode()].add(value.decode("utf-8", "replace"))
        return found

    # -- relaying ------------------------------------------------------------------------------

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._closing.is_set():
                client.close()
                return
            try:
                server = socket.create_connection(self._upstream, timeout=5)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._sockets += [client, server]
            for source, target, log in (
                (client, server, self._to_server),
                (server, client, self._to_client),
            ):
                threading.Thread(target=self._pump, args=(source, target, log), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket, log: list[bytes]) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                with self._lock:
                    log.append(data)
                target.sendall(data)
        except OSError:
            pass
        # Pass the close on, so a dropped reply looks dropped to the client too.
        for sock in (target, source):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
