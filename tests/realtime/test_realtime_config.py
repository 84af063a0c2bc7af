"""The realtime settings (websocket_url, hts_id) and the reconnect policy's pure arithmetic."""

from __future__ import annotations

import logging
import random
from pathlib import Path

import pytest

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError, ReconnectPolicy
from stock_manager.adapters.broker.kis.realtime.backoff import Backoff


def test_the_websocket_defaults_to_kis_of_the_environment() -> None:
    assert KISConfig(_env_file=None).realtime_url == "ws://ops.koreainvestment.com:31000"
    real = KISConfig(_env_file=None, environment="real")
    assert real.realtime_url == "ws://ops.koreainvestment.com:21000"
    mine = KISConfig(_env_file=None, websocket_url="ws://127.0.0.1:9000/")
    assert mine.realtime_url == "ws://127.0.0.1:9000"


def test_websocket_url_and_hts_id_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("KIS_WEBSOCKET_URL", "ws://localhost:31000")
    monkeypatch.setenv("KIS_HTS_ID", "myhts01")
    config = KISConfig(_env_file=None)
    assert (config.websocket_url, config.hts_id) == ("ws://localhost:31000", "myhts01")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1",
        "ws://user:pw@127.0.0.1:1",
        "ws://127.0.0.1:1/?q=1",
        "ws://",
        "ws://a b",
    ],
)
def test_a_bad_websocket_url_is_refused_naming_the_field(url: str) -> None:
    with pytest.raises(KISConfigError, match="KIS_WEBSOCKET_URL") as caught:
        KISConfig(_env_file=None, websocket_url=url)
    assert "pw" not in str(caught.value)


@pytest.mark.parametrize("hts_id", ["has space", "x" * 33, "é"])
def test_a_bad_hts_id_is_refused(hts_id: str) -> None:
    with pytest.raises(KISConfigError, match="KIS_HTS_ID"):
        KISConfig(_env_file=None, hts_id=hts_id)


def test_the_hts_id_is_shown_masked() -> None:
    config = KISConfig(_env_file=None, hts_id="myhts0123")
    assert "myhts0123" not in repr(config)
    assert config.model_dump()["hts_id"] == "myht…"
    assert config.hts_id == "myhts0123"


def test_a_foreign_websocket_is_named_in_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="stock_manager.kis"):
        KISConfig(_env_file=None, websocket_url="ws://example.com:21000")
        KISConfig(_env_file=None, websocket_url="ws://ops.koreainvestment.com:21000")
    assert caplog.text.count("approval key will be sent there") == 1


def test_a_dotenv_may_not_move_the_websocket_of_credentials_from_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = tmp_path / ".env"
    env.write_text("KIS_WEBSOCKET_URL=ws://127.0.0.1:9\n", encoding="utf-8")
    monkeypatch.setenv("KIS_APP_KEY", "PS" + "x" * 34)
    with pytest.raises(KISConfigError, match="websocket_url"):
        KISConfig(_env_file=env)
    env.write_text("KIS_WEBSOCKET_URL=ws://127.0.0.1:9\nKIS_APP_KEY=PSy\n", encoding="utf-8")
    monkeypatch.delenv("KIS_APP_KEY")
    assert KISConfig(_env_file=env).websocket_url == "ws://127.0.0.1:9"


def test_backoff_grows_with_full_jitter_within_floor_and_cap() -> None:
    policy = ReconnectPolicy(base=1.0, cap=8.0, floor=0.5)
    backoff = Backoff(policy, random.Random(1))
    delays = [backoff.next_delay(now=0.0) for _ in range(200)]
    assert all(0.5 <= d <= 8.0 for d in delays)
    assert max(delays[:1]) <= 1.0 and max(delays[10:]) > 4.0  # grows, then stays under the cap
    assert len(set(delays)) > 150  # jittered, not a fixed ladder


def test_backoff_starts_over_only_after_a_stable_session() -> None:
    backoff = Backoff(ReconnectPolicy(stable_after=30.0), random.Random(2))
    for _ in range(5):
        backoff.next_delay(now=0.0)
    backoff.session_started(now=100.0)
    backoff.next_delay(now=101.0)  # dropped at once: the count goes on
    assert backoff.attempt == 6
    backoff.session_started(now=200.0)
    backoff.next_delay(now=260.0)
    assert backoff.attempt == 1


def test_app_key_in_use_gives_up_after_the_policy_attempts() -> None:
    backoff = Backoff(ReconnectPolicy(in_use_attempts=3))
    assert [backoff.app_key_in_use() for _ in range(3)] == [False, False, True]
    backoff.session_confirmed()
    assert backoff.app_key_in_use() is False


@pytest.mark.parametrize(
    "values",
    [{"base": 0}, {"cap": float("inf")}, {"floor": 9, "cap": 1}, {"in_use_attempts": 0}],
)
def test_a_bad_policy_is_a_config_error(values: dict[str, float]) -> None:
    with pytest.raises(KISConfigError):
        ReconnectPolicy(**values)  # type: ignore[arg-type]
