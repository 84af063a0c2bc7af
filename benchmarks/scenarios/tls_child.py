"""The child process of :mod:`benchmarks.scenarios.tls_sandbox`: the sandbox app over HTTPS.

Started as ``python -m benchmarks.scenarios.tls_child CERT KEY``; prints one JSON line (base URL
and demo credentials) and serves until its stdin closes, like ``KISSandbox(process=True)``.
It builds the app from the sandbox's parts (``KISSandbox`` has no TLS option).
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time

import uvicorn

from stock_manager.sandbox.app import build_app
from stock_manager.sandbox.control import SandboxControl
from stock_manager.sandbox.faults import FaultPlan
from stock_manager.sandbox.state import SandboxState
from stock_manager.sandbox.wire import install_quiet_drops

STARTUP_TIMEOUT = 10.0


def serve(cert: str, key: str) -> int:
    """Serve the sandbox over TLS with ``cert``/``key`` until stdin closes."""
    state = SandboxState(
        "real",
        token_ttl=86400,
        reissue_window=21600,
        issue_interval=1,
        rate_limit=0,
        page_size=20,
        seed=None,
    )
    control = SandboxControl(state, FaultPlan(None))
    demo = state.register_app()
    install_quiet_drops()
    # IPPROTO_TCP so asyncio sets TCP_NODELAY on accepted sockets (as KISSandbox does).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_app(control),
        ssl_certfile=cert,
        ssl_keyfile=key,
        log_level="warning",
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_keep_alive=75,
        server_header=False,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            return 1
        time.sleep(0.01)
    handshake = {
        "base_url": f"https://127.0.0.1:{port}",
        "app_key": demo.app_key,
        "app_secret": demo.app_secret,
        "account_no": demo.account.number,
    }
    sys.stdout.write(json.dumps(handshake) + "\n")
    sys.stdout.flush()
    sys.stdin.read()
    server.should_exit = True
    thread.join(5)
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(serve(sys.argv[1], sys.argv[2]))
