"""KISSandbox itself: credentials, options, several at once, clean stop, process mode."""

from __future__ import annotations

import re
import threading

import httpx
import pytest

from stock_manager.sandbox import KISSandbox, ManualClock, SandboxConfigError, SandboxError


def test_demo_credentials_shape_and_seed() -> None:
    first, second, third = KISSandbox(seed=9), KISSandbox(seed=9), KISSandbox()
    assert re.fullmatch(r"[A-Za-z0-9]{36}", first.app_key)
    assert len(first.app_secret) == 180
    assert re.fullmatch(r"\d{8}-01", first.account_no)
    assert (first.app_key, first.app_secret, first.account_no) == (
        second.app_key,
        second.app_secret,
        second.account_no,
    )
    assert third.app_key != first.app_key
    assert first.app_secret not in repr(first)
    other = first.register_app()
    assert other[0] != first.app_key and other[2] != first.account_no


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"environment": "prod"}, "environment"),
        ({"page_size": 0}, "page_size"),
        ({"token_ttl": 0}, "token_ttl"),
        ({"issue_interval": -1}, "issue_interval"),
        ({"rate_limit": -3}, "rate_limit"),
        ({"host": "0.0.0.0"}, "loopback"),  # noqa: S104 - refused, never bound
        ({"process": True, "clock": ManualClock()}, "child process"),
    ],
)
def test_bad_options(options: dict[str, object], message: str) -> None:
    with pytest.raises(SandboxConfigError, match=message):
        KISSandbox(**options)  # type: ignore[arg-type]


def test_several_sandboxes_and_clean_stop() -> None:
    sandboxes = [KISSandbox("paper"), KISSandbox("real")]
    for sandbox in sandboxes:
        sandbox.start()
    try:
        assert sandboxes[0].base_url != sandboxes[1].base_url
        assert [sandbox.environment for sandbox in sandboxes] == ["paper", "real"]
        for sandbox in sandboxes:
            assert httpx.get(f"{sandbox.base_url}/_sandbox/stats").status_code == 200
        with pytest.raises(SandboxError, match="already running"):
            sandboxes[0].start()
    finally:
        for sandbox in sandboxes:
            sandbox.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("kis-sandbox-")]
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{sandboxes[0].base_url}/_sandbox/stats")


def test_stop_with_an_open_pooled_connection() -> None:
    sandbox = KISSandbox().start()
    client = httpx.Client(base_url=sandbox.base_url)
    assert client.get("/_sandbox/stats").status_code == 200  # connection stays in the pool
    sandbox.stop()
    assert not [t for t in threading.enumerate() if t.name.startswith("kis-sandbox-")]
    client.close()


def test_process_mode() -> None:
    with KISSandbox("real", process=True, seed=4, issue_interval=0, rate_limit=0) as sandbox:
        assert re.fullmatch(r"\d{8}-01", sandbox.account_no)
        assert sandbox.app_key == KISSandbox(seed=4).app_key  # same seed, same credentials
        body = {
            "grant_type": "client_credentials",
            "appkey": sandbox.app_key,
            "appsecret": sandbox.app_secret,
        }
        assert httpx.post(f"{sandbox.base_url}/oauth2/tokenP", json=body).status_code == 200
        assert sandbox.stats()["tokens_issued"] == 1
        _key, secret, account = sandbox.register_app()
        assert len(secret) == 180 and account != sandbox.account_no
        sandbox.set_faults("/oauth2/tokenP", error_rate=1.0)
        assert httpx.post(f"{sandbox.base_url}/oauth2/tokenP", json=body).status_code == 500
        with pytest.raises(ValueError, match="error_rate"):
            sandbox.set_faults(error_rate=3)
        sandbox.clear_faults()
        sandbox.expire_tokens()
        sandbox.reset()
        assert sandbox.stats()["tokens_issued"] == 0
        url = sandbox.base_url
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/_sandbox/stats")


def test_a_manual_clock_moves_only_forward_and_when_told() -> None:
    clock = ManualClock(start=1_000.0)
    assert (clock.monotonic(), clock.time()) == (0.0, 1_000.0)
    clock.advance(2.5)
    clock.sleep(0.5)
    assert (clock.monotonic(), clock.time()) == (3.0, 1_003.0)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)
    assert clock.monotonic() == 3.0
