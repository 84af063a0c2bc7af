"""Entry point of a sandbox in a child process (``KISSandbox(process=True)``).

Started as ``python -m stock_manager.sandbox.child '<JSON options>'``. It prints one JSON line
(base URL and demo credentials) and serves until its stdin closes, so it never outlives the
parent that holds the other end of the pipe.
"""

from __future__ import annotations

import json
import sys

from stock_manager.sandbox.limits import ServerLimits
from stock_manager.sandbox.runner import KISSandbox


def main(argv: list[str] | None = None) -> int:
    """Serve until stdin reaches end of file."""
    args = sys.argv[1:] if argv is None else argv
    options = json.loads(args[0]) if args else {}
    if "limits" in options:
        options["limits"] = ServerLimits(**options["limits"])
    sandbox = KISSandbox(**options).start()
    try:
        handshake = {
            "base_url": sandbox.base_url,
            "app_key": sandbox.app_key,
            "app_secret": sandbox.app_secret,
            "account_no": sandbox.account_no,
        }
        sys.stdout.write(json.dumps(handshake) + "\n")
        sys.stdout.flush()
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
