"""KISConfig: sources, validation, derived values and secrecy (no network)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from pydantic import ValidationError

from stock_manager.adapters.broker.kis import KISConfig, KISConfigError

SECRET = "S" * 40 + "very-secret-value"


def make(**values: object) -> KISConfig:
    return KISConfig(_env_file=None, **values)


def test_defaults_are_paper_and_need_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KIS_TOKEN_CACHE_DIR")
    config = make()
    assert config.environment == "paper"
    assert config.is_paper
    assert config.custtype == "P"
    assert config.rest_base_url == "https://openapivts.koreainvestment.com:29443"
    assert config.token_store == "file"
    assert config.token_cache_dir is None
    assert config.token_refresh_margin == 600
    assert config.token_max_wait == 90
    assert config.max_retries == 3
    assert config.retry_max_wait == 30
    assert config.requests_per_second == 2
    assert config.kis_app_key is None


def test_real_environment_uses_the_real_domain_and_limit() -> None:
    config = make(environment="REAL")
    assert config.environment == "real"
    assert not config.is_paper
    assert config.rest_base_url == "https://openapi.koreainvestment.com:9443"
    assert config.requests_per_second == 20


def test_environment_variables_feed_every_field(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = {
        "KIS_APP_KEY": "A" * 36,
        "KIS_APP_SECRET": SECRET,
        "KIS_ENVIRONMENT": "real",
        "KIS_CUSTTYPE": "p",
        "KIS_BASE_URL": "http://127.0.0.1:9999/",
        "KIS_ACCOUNT_NO": "12345678-01",
        "KIS_TOKEN_STORE": "memory",
        "KIS_TOKEN_CACHE_DIR": str(tmp_path),
        "KIS_RATE_LIMIT_PER_SECOND": "7.5",
        "KIS_MAX_RETRIES": "5",
        "KIS_REDIS_URL": "redis://:pw@localhost:6379/0",
        "KIS_TIMEOUT": "3",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    config = make()
    assert config.kis_app_key == "A" * 36
    assert config.app_secret == SECRET
    assert config.environment == "real"
    assert config.custtype == "P"
    assert config.base_url == "http://127.0.0.1:9999"
    assert config.rest_base_url == "http://127.0.0.1:9999"
    assert (config.cano, config.acnt_prdt_cd) == ("12345678", "01")
    assert config.token_store == "memory"
    assert config.token_cache_dir == tmp_path
    assert config.requests_per_second == 7.5
    assert config.max_retries == 5
    assert config.redis_url is not None
    assert config.redis_url.get_secret_value().startswith("redis://")
    assert config.timeout == 3


def test_doubled_prefix_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_KIS_APP_KEY", "wrong")
    assert make().kis_app_key is None


def test_keyword_arguments_win_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_APP_KEY", "from-env")
    monkeypatch.setenv("KIS_ENVIRONMENT", "real")
    config = make(kis_app_key="from-kwarg", environment="paper")
    assert config.kis_app_key == "from-kwarg"
    assert config.environment == "paper"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("KIS_APP_KEY=dotenv-key\nKIS_ACCOUNT_NO=8765432102\n", encoding="utf-8")
    config = KISConfig(_env_file=env_file)
    assert config.kis_app_key == "dotenv-key"
    assert config.account_no == "87654321-02"


@pytest.mark.parametrize(
    ("field", "value", "env_name"),
    [
        ("environment", "prod", "KIS_ENVIRONMENT"),
        ("custtype", "X", "KIS_CUSTTYPE"),
        ("account_no", "1234-56", "KIS_ACCOUNT_NO"),
        ("base_url", "ftp://example.com", "KIS_BASE_URL"),
        ("timeout", 0, "KIS_TIMEOUT"),
        ("connect_timeout", -1, "KIS_CONNECT_TIMEOUT"),
        ("max_retries", -1, "KIS_MAX_RETRIES"),
        ("rate_limit_per_second", 0, "KIS_RATE_LIMIT_PER_SECOND"),
        ("token_store", "redis", "KIS_TOKEN_STORE"),
        ("token_refresh_margin", -5, "KIS_TOKEN_REFRESH_MARGIN"),
    ],
)
def test_invalid_values_raise_config_error_naming_field_and_variable(
    field: str, value: object, env_name: str
) -> None:
    with pytest.raises(KISConfigError) as caught:
        make(**{field: value})
    assert not isinstance(caught.value, ValidationError)
    message = str(caught.value)
    assert field in message
    assert env_name in message
    assert "expected" in message


def test_invalid_environment_variable_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KIS_MAX_RETRIES", "many")
    with pytest.raises(KISConfigError, match="KIS_MAX_RETRIES"):
        make()


def test_error_messages_never_echo_a_secret_value() -> None:
    bad_secret = 987654321987654321
    with pytest.raises(KISConfigError) as caught:
        make(kis_app_secret=bad_secret)
    assert str(bad_secret) not in str(caught.value)
    assert "kis_app_secret" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_missing_credentials_fail_on_use_with_the_fix() -> None:
    config = make()
    with pytest.raises(KISConfigError, match="KIS_APP_KEY"):
        _ = config.app_key
    with pytest.raises(KISConfigError, match="KIS_APP_SECRET"):
        _ = config.app_secret
    with pytest.raises(KISConfigError, match="KIS_ACCOUNT_NO"):
        _ = config.cano


def test_account_number_is_split_and_normalised() -> None:
    assert make(account_no="1234567801").account_no == "12345678-01"
    config = make(account_no=" 50001234-22 ")
    assert (config.cano, config.acnt_prdt_cd) == ("50001234", "22")


def test_fingerprint_is_a_short_sha256_never_the_key() -> None:
    key = "PSabcdefghijklmnopqrstuvwxyz01234567"
    config = make(kis_app_key=key)
    assert config.app_key_fingerprint == hashlib.sha256(key.encode()).hexdigest()[:16]
    assert key not in config.app_key_fingerprint


def test_repr_masks_secrets_and_the_key() -> None:
    key = "PSabcdefghijklmnopqrstuvwxyz01234567"
    config = make(
        kis_app_key=key,
        kis_app_secret=SECRET,
        redis_url="redis://:hunter2hunter2@host/0",
    )
    text = repr(config) + str(config)
    assert SECRET not in text
    assert key not in text
    assert "hunter2hunter2" not in text


def test_corporate_customers_need_their_headers() -> None:
    with pytest.raises(KISConfigError) as caught:
        make(environment="real", custtype="B", personalseckey="k" * 20)
    message = str(caught.value)
    for name in ("seq_no", "KIS_SEQ_NO", "phone_number", "ip_addr"):
        assert name in message
    assert "personalseckey (" not in message


def test_corporate_customers_cannot_use_paper() -> None:
    with pytest.raises(KISConfigError, match="EGW00210"):
        make(
            environment="paper",
            custtype="B",
            personalseckey="k" * 20,
            seq_no="001",
            phone_number="01012345678",
            ip_addr="10.0.0.1",
        )


def test_complete_corporate_configuration_is_accepted() -> None:
    config = make(
        environment="real",
        custtype="b",
        personalseckey="k" * 20,
        seq_no="001",
        phone_number="01012345678",
        ip_addr="10.0.0.1",
    )
    assert config.custtype == "B"
    assert "k" * 20 not in repr(config)
