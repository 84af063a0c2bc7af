"""The sandbox app served over HTTPS from a child process, for the TLS per-call scenario.

KIS is reached over HTTPS only, and a fresh connection per call (the documentation's pattern)
pays a TLS handshake each time: plain-HTTP loopback hides that cost. ``KISSandbox`` serves plain
HTTP, so this module serves the same app (``build_app``) with uvicorn's TLS, from a child process
like ``KISSandbox(process=True)``. A self-signed certificate for 127.0.0.1 is made with the
``openssl`` command line tool.

    with tls_sandbox(workdir) as (server, cafile): ...     # server.base_url is https://...

The child is :mod:`benchmarks.scenarios.tls_child`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

__all__ = ["TLSSandbox", "tls_sandbox", "tls_unavailable"]

STARTUP_TIMEOUT = 15.0  # the child's own start-up wait is shorter


@dataclass(frozen=True)
class TLSSandbox:
    """What the client side needs: the HTTPS base URL and the demo app's credentials."""

    base_url: str
    app_key: str
    app_secret: str
    account_no: str
    environment: str = "real"


def tls_unavailable() -> str | None:
    """Why the TLS sandbox cannot run here, or None."""
    if shutil.which("openssl") is None:
        return "the openssl command line tool is not installed (needed for a test certificate)"
    return None


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed RSA-2048 certificate and key for 127.0.0.1, valid one day."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    openssl = shutil.which("openssl") or "openssl"
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@contextmanager
def tls_sandbox(workdir: Path) -> Iterator[tuple[TLSSandbox, Path]]:
    """Start the HTTPS sandbox child; yields it and the CA file that verifies it."""
    cert, key = make_certificate(workdir / "tls")
    child = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.scenarios.tls_child", str(cert), str(key)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines: list[str] = []
        reader = threading.Thread(
            target=lambda: lines.append(child.stdout.readline() if child.stdout else ""),
            daemon=True,
        )
        reader.start()
        reader.join(STARTUP_TIMEOUT)
        if not lines or not lines[0].strip():
            raise RuntimeError("the TLS sandbox child did not start")
        handshake = json.loads(lines[0])
        yield TLSSandbox(**handshake), cert
    finally:
        if child.stdin is not None:
            child.stdin.close()  # the child serves until its stdin closes
        try:
            child.wait(5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
