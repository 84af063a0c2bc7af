"""What the scenarios share: the bench context, a sandbox in its own process, client settings.

The sandbox runs in a child process (``KISSandbox(process=True)``): with client and server in one
interpreter, every per-call figure would include the server's share of one GIL.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from benchmarks.harness import ProgressReporter
from stock_manager.adapters.broker.kis import KISConfig
from stock_manager.sandbox import KISSandbox

__all__ = [
    "ORDER_BODY",
    "PRICE_PARAMS",
    "PRICE_PATH",
    "PRICE_TR_ID",
    "BenchContext",
    "SandboxLike",
    "app_headers",
    "compact",
    "config_for",
    "gateway_headers",
    "process_sandbox",
]

#: The body KIS's own hashkey example signs: a cash order.
ORDER_BODY: dict[str, str] = {
    "CANO": "12345678",
    "ACNT_PRDT_CD": "01",
    "PDNO": "005930",
    "ORD_DVSN": "00",
    "ORD_QTY": "1",
    "ORD_UNPR": "70000",
}
PRICE_PARAMS: dict[str, str] = {"FID_COND_MRKT_DIV_CODE": "J", "FID_INPUT_ISCD": "005930"}
PRICE_PATH = "/uapi/domestic-stock/v1/quotations/inquire-price"
PRICE_TR_ID = "FHKST01010100"
#: Ten times what one client can send over loopback, so its limiter never waits: the point is
#: client overhead. (The limiter keeps one slot per request per second: 1e6 would cost 96 MB.)
UNTHROTTLED_RATE = 10_000.0


class SandboxLike(Protocol):
    """What the client side needs from a running sandbox (``KISSandbox``, ``TLSSandbox``)."""

    @property
    def base_url(self) -> str: ...
    @property
    def app_key(self) -> str: ...
    @property
    def app_secret(self) -> str: ...
    @property
    def account_no(self) -> str: ...
    @property
    def environment(self) -> str: ...


@dataclass
class BenchContext:
    """Run-wide settings handed to every scenario.

    ``rounds``/``calls`` override every per-call scenario's rounds and calls per round (the
    smoke test runs with tiny values); otherwise each scenario picks its quick or full figure.
    """

    quick: bool
    progress: ProgressReporter
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="kis-bench-")))
    rounds_override: int | None = None
    calls_override: int | None = None

    def pick(self, quick: int, full: int) -> int:
        """The quick or the full figure."""
        return quick if self.quick else full

    def rounds(self, quick: int, full: int) -> int:
        """Timed rounds per variant."""
        return self.rounds_override or self.pick(quick, full)

    def calls(self, quick: int, full: int) -> int:
        """Calls per round (or concurrent calls per burst)."""
        return self.calls_override or self.pick(quick, full)


@contextmanager
def process_sandbox(environment: str = "real", **options: Any) -> Iterator[KISSandbox]:
    """A sandbox served from a child process; unlimited rate unless ``rate_limit`` is given."""
    options.setdefault("rate_limit", 0)
    options.setdefault("issue_interval", 1)
    with KISSandbox(environment, process=True, **options) as sandbox:  # type: ignore[arg-type]
        yield sandbox


def config_for(sandbox: SandboxLike, **overrides: Any) -> KISConfig:
    """A client configuration for ``sandbox`` that reads no ``.env`` and no ``KIS_*`` leftovers."""
    values: dict[str, Any] = {
        "kis_app_key": sandbox.app_key,
        "kis_app_secret": sandbox.app_secret,
        "environment": sandbox.environment,
        "base_url": sandbox.base_url,
        "account_no": sandbox.account_no,
        "token_store": "memory",
        "rate_limit_per_second": UNTHROTTLED_RATE,
    }
    values.update(overrides)
    return KISConfig(_env_file=None, **values)


def gateway_headers(sandbox: SandboxLike, token: str, tr_id: str) -> dict[str, str]:
    """The headers a hand-written client sends on a gateway GET (KIS's documented set)."""
    return {
        "content-type": "application/json; charset=utf-8",
        "authorization": f"Bearer {token}",
        "appkey": sandbox.app_key,
        "appsecret": sandbox.app_secret,
        "tr_id": tr_id,
        "custtype": "P",
    }


def app_headers(sandbox: SandboxLike) -> dict[str, str]:
    """The headers of ``POST /uapi/hashkey``: content type and the app credentials."""
    return {
        "content-type": "application/json; charset=utf-8",
        "appkey": sandbox.app_key,
        "appsecret": sandbox.app_secret,
    }


def compact(body: dict[str, str]) -> bytes:
    """The body as the client serialises it (compact, UTF-8), so both send the same bytes."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
