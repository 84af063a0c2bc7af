"""The control surface of a sandbox running in a child process, driven over ``/_sandbox``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from stock_manager.sandbox.faults import ANY_PATH, FaultConfigError
from stock_manager.sandbox.state import SandboxConfigError

ADMIN_TIMEOUT = 10.0


class RemoteControl:
    """Same methods as :class:`~stock_manager.sandbox.control.SandboxControl`, over HTTP."""

    def __init__(self, base_url: str) -> None:
        self._client = httpx.Client(base_url=base_url, timeout=ADMIN_TIMEOUT)

    def close(self) -> None:
        """Release the admin connection."""
        self._client.close()

    def _post(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self._client.post(f"/_sandbox/{path}", json=payload or {})
        answer: dict[str, Any] = response.json()
        if response.status_code == 400:
            raise FaultConfigError(str(answer.get("error", "bad fault rule")))
        response.raise_for_status()
        return answer

    def register_app(self) -> tuple[str, str, str]:
        """Register another app in the child."""
        answer = self._post("apps")
        return answer["app_key"], answer["app_secret"], answer["account_no"]

    def stats(self) -> dict[str, Any]:
        """The child's counters."""
        response = self._client.get("/_sandbox/stats")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def set_faults(self, path: str = ANY_PATH, **rates: Any) -> None:
        """Add a fault rule in the child."""
        self._post("faults", {"path": path, **rates})

    def clear_faults(self) -> None:
        """Remove the child's fault rules."""
        self._post("faults", {"clear": True})

    def expire_tokens(self) -> None:
        """Expire every token the child issued."""
        self._post("expire")

    def reset(self) -> None:
        """Reset the child's state."""
        self._post("reset")

    def _streams(self, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if payload is None:
            response = self._client.get("/_sandbox/streams")
        else:
            response = self._client.post("/_sandbox/streams", json=payload)
        if response.status_code == 400:
            raise SandboxConfigError(str(response.json().get("error", "bad stream fault")))
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def websocket_url(self) -> str:
        """The child's realtime websocket URL."""
        return str(self._streams()["websocket_url"])

    def drop_websockets(self) -> int:
        """Drop every websocket session of the child."""
        return int(self._streams({"drop": True})["dropped"])

    def set_stream_faults(
        self,
        *,
        silence: bool | None = None,
        invalid_utf8: bool | None = None,
        hold_in_use: float | None = None,
    ) -> None:
        """Set websocket faults in the child."""
        given = {"silence": silence, "invalid_utf8": invalid_utf8, "hold_in_use": hold_in_use}
        self._streams({name: value for name, value in given.items() if value is not None})

    def _market_time(self) -> dict[str, Any]:
        response = self._client.get("/_sandbox/market-time")
        response.raise_for_status()
        answer: dict[str, Any] = response.json()
        return answer

    def market_time(self) -> datetime:
        """The child's market time."""
        return datetime.fromisoformat(self._market_time()["market_time"])

    def describe_market_time(self) -> str:
        """The child's market time and mode."""
        return str(self._market_time()["describe"])

    def set_market_time(self, when: datetime | str) -> None:
        """Move the child's market clock."""
        value = when.isoformat() if isinstance(when, datetime) else when
        response = self._client.post("/_sandbox/market-time", json={"market_time": value})
        if response.status_code == 400:
            raise SandboxConfigError(str(response.json().get("error", "bad market time")))
        response.raise_for_status()
