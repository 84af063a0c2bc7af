"""A real, throwaway ``redis-server`` for tests: started on a free loopback port, stopped after.

``REDIS_URL`` in the environment wins (a server someone already runs). Without either, Redis tests
skip with the reason, except under ``CI=true`` where a missing Redis is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_until_ready(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"redis-server on port {port} did not answer PING in time")


class RedisServer:
    """One redis-server process; ``stop()``/``start()`` simulate an outage on the same port."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._dir = tempfile.mkdtemp(prefix="sm-redis-")
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise FileNotFoundError("redis-server")
        self._proc = subprocess.Popen(
            [
                binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self._dir,
                "--protected-mode",
                "yes",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_until_ready(self.port, time.monotonic() + 10)

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
            self._proc = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)


@contextmanager
def redis_url_for_tests() -> Iterator[tuple[str, RedisServer | None]]:
    """Yield (url, server or None when REDIS_URL was given); skip or fail as the module says."""
    given = os.environ.get("REDIS_URL")
    if given:
        yield given, None
        return
    if shutil.which("redis-server") is None:
        message = "redis-server is not installed (Debian package redis-server)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}: under CI a missing Redis is a failure", pytrace=False)
        pytest.skip(message)
    server = RedisServer()
    server.start()
    try:
        yield server.url, server
    finally:
        server.cleanup()
